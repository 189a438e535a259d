"""Views: the home page, the participant pages and the participant's JSON endpoints."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from listening.researchers import is_researcher
from listening.views import answers, participant


def home(request: HttpRequest) -> HttpResponse:
    """Send researchers to their workspace; participants arrive through study links."""
    if is_researcher(request.user):
        return redirect("workspace:home")
    return render(request, "home.html")


__all__ = ["answers", "home", "participant"]
