"""Views: the home page, the participant pages and the participant's JSON endpoints."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from listening.views import answers, participant


def home(request: HttpRequest) -> HttpResponse:
    """Show what the platform is; participants arrive through study links instead."""
    return render(request, "home.html")


__all__ = ["answers", "home", "participant"]
