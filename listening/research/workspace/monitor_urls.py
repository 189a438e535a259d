"""Workspace routes of the monitor area (included by listening.research.workspace.urls)."""

from django.urls import path

from listening.research.workspace import monitor_views

urlpatterns = [
    path("studies/<int:pk>/dashboard/", monitor_views.dashboard, name="monitor"),
    path("studies/<int:pk>/dashboard/data.json", monitor_views.dashboard_data, name="monitor-data"),
]
