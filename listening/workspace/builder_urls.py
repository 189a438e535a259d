"""Workspace routes of the builder area (included by listening.workspace.urls)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
