"""Workspace routes of the monitor area (included by listening.workspace.urls)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
