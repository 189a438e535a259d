"""Workspace routes of the stimuli area (included by listening.workspace.urls)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
