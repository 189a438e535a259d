"""Tracks in the admin: the track form (draft studies only) with its stimuli inline."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from listening.models import Stimulus, Track
from listening.research.admin.scoping import StudyScopedAdmin
from listening.stimuli.tasks import enqueue_track


class StimulusInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Stimulus
    fk_name = "track"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = (
        "role",
        "system",
        "provider",
        "status",
        "error",
        "excerpt_loudness_lufs",
        "gain_db",
        "true_peak_dbtp",
        "playback_loudness_lufs",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True


class TrackForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Track
        fields = ("study", "title", "genre", "position", "reference_master")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        study = data.get("study")
        if study is not None and not study.is_draft:
            raise ValidationError(f"The study is {study.status}; its tracks can no longer change.")
        reference = data.get("reference_master")
        if reference is not None and reference.track_id != self.instance.pk:
            self.add_error("reference_master", "The reference must be a master of this track.")
        return data


@admin.register(Track)
class TrackAdmin(StudyScopedAdmin):
    form = TrackForm
    list_display = ("title", "study", "genre", "position", "playback_loudness_lufs")
    list_filter = ("genre", ("study", admin.RelatedOnlyFieldListFilter))
    search_fields = ("title",)
    inlines = (StimulusInline,)
    readonly_fields = ("playback_loudness_lufs",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A track stays in its study (its stimuli's rows name the study, as in the API).
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "study"] if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: Track, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        enqueue_track(obj)
