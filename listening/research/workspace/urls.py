"""Routes of the researcher's workspace, mounted at /workspace/ by config.urls."""

from django.urls import include, path

app_name = "workspace"
urlpatterns = [
    path("", include("listening.research.workspace.builder_urls")),
    path("", include("listening.research.workspace.stimuli_urls")),
    path("", include("listening.research.workspace.monitor_urls")),
]
