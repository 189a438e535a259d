"""Workspace routes of the stimuli area (included by listening.research.workspace.urls)."""

from django.urls import URLPattern, path

from listening.research.workspace import preview, stimuli

urlpatterns: list[URLPattern] = [
    path("studies/<int:pk>/audio/", stimuli.audio, name="audio"),
    path("studies/<int:pk>/audio/tracks/", stimuli.add_track, name="audio-track"),
    path("studies/<int:pk>/audio/upload/", stimuli.upload, name="audio-upload"),
    path("studies/<int:pk>/audio/manifest/", stimuli.manifest, name="audio-manifest"),
    path("studies/<int:pk>/audio/progress/", stimuli.progress, name="audio-progress"),
    path("studies/<int:pk>/audio/prepare/", stimuli.prepare, name="audio-prepare"),
    path("studies/<int:pk>/audio/tracks/<int:track_pk>/retry/", stimuli.retry, name="audio-retry"),
    path("studies/<int:pk>/preview/", preview.trials, name="preview"),
    path("studies/<int:pk>/preview/<int:track_pk>/", preview.trial, name="preview-trial"),
    path("studies/<int:pk>/preview/audio/<str:key>", preview.audio, name="preview-audio"),
    path("studies/<int:pk>/preview/answers", preview.discard, name="preview-answers"),
]
