from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """Show what the platform is; participants arrive through study links instead."""
    return render(request, "home.html")
