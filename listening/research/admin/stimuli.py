"""Stimuli in the admin: the upload form (admitted as by the API), listening links, metrics."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from listening.models import Stimulus
from listening.models.stimulus import ORIGINAL_FIELDS, PLAYBACK_FIELDS
from listening.research.admin.metrics import grouped_metrics, key_metrics
from listening.research.admin.scoping import StudyScopedAdmin
from listening.stimuli.admission import admit_upload
from listening.stimuli.originals import uploaded_path
from listening.stimuli.tasks import enqueue_track


def _number(value: float | None, unit: str, *, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:{'+' if sign else ''}.2f} {unit}"


class StimulusForm(forms.ModelForm):  # type: ignore[type-arg]
    """Add a mix or master by uploading its file; validated like the API and the importer."""

    class Meta:
        model = Stimulus
        fields = ("track", "role", "system", "provider", "original")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is not None:
            return data
        track, role, system = data.get("track"), data.get("role"), data.get("system")
        upload = data.get("original")
        if track is None or role is None or upload is None:
            if upload is None and "original" not in self.errors:
                self.add_error("original", "Upload the audio file.")
            return data
        if role == Stimulus.Role.ANCHOR:
            self.add_error(
                "role", "Anchors are derived from the reference; turn them on in the study."
            )
        elif role == Stimulus.Role.MIX and system != Stimulus.System.NONE:
            self.add_error("system", "A mix has no mastering system (choose none).")
        elif role == Stimulus.Role.MASTER and system not in ("ai", "human"):
            self.add_error("system", "A master needs system AI or human.")
        if not track.study.is_draft:
            self.add_error(
                "track", f"The study is {track.study.status}; it no longer takes uploads."
            )
        if role == Stimulus.Role.MIX and track.stimuli.filter(role="mix").exists():
            self.add_error("role", f"Track {track.title!r} already has a mix.")
        if self.errors:
            return data
        with uploaded_path(upload) as path:
            try:
                # The admin's form view is one transaction: the study stays locked until saved.
                admitted = admit_upload(track, role, path, upload.name)
            except ValidationError as exc:
                self.add_error("original", exc)
                return data
        self.master_updates = admitted.master_updates
        admitted.info.apply_to(self.instance)
        for name, value in admitted.alignment.items():
            setattr(self.instance, name, value)
        return data


@admin.register(Stimulus)
class StimulusAdmin(StudyScopedAdmin):
    form = StimulusForm
    study_path = "track__study"
    list_display = (
        "__str__",
        "status",
        "short_error",
        "listen_links",
        "excerpt_loudness",
        "gain",
        "true_peak",
        "playback_loudness",
        "aligned",
        "flags",
        "metrics_state",
    )
    list_filter = ("status", "role", "system", ("track__study", admin.RelatedOnlyFieldListFilter))
    search_fields = ("track__title", "provider", "original_filename")
    list_select_related = ("track__study",)
    actions = ("reprepare",)
    computed = (
        "status",
        "error",
        "listen",
        *ORIGINAL_FIELDS,
        "derived_from",
        "anchor_cutoff_hz",
        "prepared",
        *PLAYBACK_FIELDS,
        "fingerprint",
        "prepared_at",
        "metrics_table",
        "metrics_version",
        "metrics_error",
    )

    def get_urls(self) -> list[Any]:
        from django.urls import path

        from listening.research.admin.audio import stimulus_audio

        view = self.admin_site.admin_view(stimulus_audio)
        return [
            *(
                path(
                    f"<int:pk>/audio/{kind}/",
                    view,
                    {"kind": kind},
                    name=f"listening_stimulus_audio_{kind}",
                )
                for kind in ("original", "prepared")
            ),
            *super().get_urls(),
        ]

    def audio_url(self, stimulus: Stimulus, kind: str) -> str:
        from django.urls import reverse

        return reverse(f"admin:listening_stimulus_audio_{kind}", args=[stimulus.pk])

    def stored_audio(self, stimulus: Stimulus, *, original: str, prepared: str) -> list[Any]:
        """(label, URL) of each file the stimulus has stored: its upload, its playback file."""
        return [
            (label, self.audio_url(stimulus, kind))
            for kind, label, stored in (
                ("original", original, stimulus.original),
                ("prepared", prepared, stimulus.prepared),
            )
            if stored
        ]

    @admin.display(description="Listen")
    def listen_links(self, stimulus: Stimulus) -> str:
        stored = self.stored_audio(stimulus, original="original", prepared="prepared")
        links = [(url, label) for label, url in stored]
        if not links:
            return "-"
        return format_html_join(" · ", '<a href="{}" target="_blank">{}</a>', links)

    @admin.display(description="Listen")
    def listen(self, stimulus: Stimulus) -> str:
        players = self.stored_audio(
            stimulus,
            original="Original upload",
            prepared="Prepared playback file (as participants hear it)",
        )
        if not players:
            return "-"
        return format_html_join(
            "",
            '<div class="listen"><div>{}</div><audio controls preload="metadata" src="{}">'
            "</audio></div>",
            players,
        )

    @admin.display(description="Flags")
    def flags(self, stimulus: Stimulus) -> str:
        return ", ".join(stimulus.source_flags) or "-"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["track", "role", "system", "provider", "original"]
        return ["track", "role", "system", "provider", "original", *self.computed]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["track", "role", "original", *self.computed]

    @admin.display(description="Excerpt loudness", ordering="excerpt_loudness_lufs")
    def excerpt_loudness(self, stimulus: Stimulus) -> str:
        return _number(stimulus.excerpt_loudness_lufs, "LUFS")

    @admin.display(description="Gain", ordering="gain_db")
    def gain(self, stimulus: Stimulus) -> str:
        return _number(stimulus.gain_db, "dB", sign=True)

    @admin.display(description="True peak after gain", ordering="true_peak_dbtp")
    def true_peak(self, stimulus: Stimulus) -> str:
        return _number(stimulus.true_peak_dbtp, "dBTP")

    @admin.display(description="Plays at", ordering="playback_loudness_lufs")
    def playback_loudness(self, stimulus: Stimulus) -> str:
        return _number(stimulus.playback_loudness_lufs, "LUFS")

    @admin.display(description="Alignment")
    def aligned(self, stimulus: Stimulus) -> str:
        if stimulus.alignment_lag is None:
            return "-"
        polarity = ", inverted" if stimulus.alignment_polarity == -1 else ""
        return (
            f"{stimulus.alignment_lag:+d} samples{polarity} "
            f"(r = {stimulus.alignment_correlation or 0:.3f})"
        )

    @admin.display(description="Metrics (I, TP, DR, DM, HFD)")
    def metrics_state(self, stimulus: Stimulus) -> str:
        if stimulus.role != Stimulus.Role.MASTER:
            return "-"
        if stimulus.metrics_error:
            return f"failed: {stimulus.metrics_error[:60]}"
        if not stimulus.metrics:
            return "pending"
        return key_metrics(stimulus.metrics)

    @admin.display(description="Error")
    def short_error(self, stimulus: Stimulus) -> str:
        return stimulus.error[:80] + ("..." if len(stimulus.error) > 80 else "")

    @admin.display(description="Objective metrics (full, as-delivered audio)")
    def metrics_table(self, stimulus: Stimulus) -> str:
        if not stimulus.metrics:
            return "-"
        return format_html_join(
            "",
            '<table class="metrics"><caption>{}</caption>{}</table>',
            (
                (
                    group,
                    format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
                )
                for group, rows in grouped_metrics(stimulus.metrics)
            ),
        )

    def save_model(self, request: HttpRequest, obj: Stimulus, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            # A new mix was aligned with the masters already there: keep their lags.
            for pk, fields in getattr(form, "master_updates", {}).items():
                Stimulus.objects.filter(pk=pk).update(**fields)
            enqueue_track(obj.track)

    def delete_model(self, request: HttpRequest, obj: Stimulus) -> None:
        track = obj.track
        super().delete_model(request, obj)
        enqueue_track(track)

    @admin.action(description="Re-prepare the tracks of the selected stimuli")
    def reprepare(self, request: HttpRequest, queryset: QuerySet[Stimulus]) -> None:
        tracks = {s.track for s in queryset.select_related("track__study")}
        queued = sum(enqueue_track(track, force=True) for track in tracks)
        self.message_user(request, f"{queued} track(s) queued for re-preparation.")

    def view_on_site(self, obj: Stimulus) -> str | None:
        return None
