"""The public home page: researchers go to their workspace, everyone else sees the welcome."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from listening.models.rights import is_researcher


def home(request: HttpRequest) -> HttpResponse:
    """Send researchers to their workspace; participants arrive through study links."""
    if is_researcher(request.user):
        return redirect("workspace:home")
    return render(request, "home.html")
