"""The researcher's admin: studies with their tracks, stimuli with preparation state and metrics.

The admin needs staff status (Django's door to it) and researcher rights
(:func:`listening.models.rights.is_researcher`, the same rule as the API and the results
pages). Researchers who are not superusers see only the studies they own or collaborate
on, and the tracks, stimuli and sessions of those studies; everything else is 404.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.contenttypes import views as contenttype_views
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.html import format_html, format_html_join

from listening.models import Session, Stimulus, Study, Track
from listening.models.rights import is_researcher
from listening.models.stimulus import ORIGINAL_FIELDS, PLAYBACK_FIELDS
from listening.platform.authentication import ThrottledAdminAuthenticationForm
from listening.research.exports import bundle_response
from listening.research.opening import open_study, problems_before_opening
from listening.research.researchers import NOT_A_COLLABORATOR, find_collaborators
from listening.stimuli.admission import admit_upload
from listening.stimuli.originals import (
    uploaded_path,
)
from listening.stimuli.tasks import enqueue_preparation, enqueue_track

# Failed logins are counted per username and address (listening.platform.throttling).
admin.site.login_form = ThrottledAdminAuthenticationForm


def _view_on_site(request: HttpRequest, content_type_id: str, object_id: str) -> HttpResponse:
    """The admin's "view on site" shortcut, with 404 for an id its model cannot read.

    Django's own answers 500 when the id is not of the primary key's type (the task
    results' keys are UUIDs: /admin/r/<their type>/2/ raised ValidationError).
    """
    try:
        return contenttype_views.shortcut(request, content_type_id, object_id)
    except ValidationError as exc:
        raise Http404("no such object") from exc


#: Routed before the admin's own (config/urls.py), for staff only like the rest of the admin.
view_on_site = admin.site.admin_view(_view_on_site, cacheable=True)


def _studies(request: HttpRequest) -> QuerySet[Study]:
    if request.user.is_superuser:
        return Study.objects.all()
    return Study.objects.for_user(request.user)


class StudyScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Give staff researchers their own studies' objects without per-model permissions."""

    study_path = "study"

    def scoped(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.study_path}__in": _studies(request)})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scoped(request, super().get_queryset(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_staff and is_researcher(request.user))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "study":
            kwargs["queryset"] = _studies(request)
        elif db_field.name == "track":
            kwargs["queryset"] = Track.objects.filter(study__in=_studies(request))
        elif db_field.related_model is Stimulus:
            # e.g. a track's reference master: never list another researcher's files.
            stimuli = Stimulus.objects.filter(track__study__in=_studies(request))
            if db_field.name == "reference_master":
                stimuli = stimuli.filter(role=Stimulus.Role.MASTER)
            kwargs["queryset"] = stimuli.select_related("track")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TrackInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Track
    extra = 0
    fields = (
        "title",
        "genre",
        "position",
        "reference_master",
        "playback_loudness_lufs",
        "versions",
    )
    readonly_fields = ("playback_loudness_lufs", "versions")
    show_change_link = True

    @admin.display(description="Versions (status)")
    def versions(self, track: Track) -> str:
        if track.pk is None:
            return "-"
        return ", ".join(f"{s.role}/{s.system}: {s.status}" for s in track.stimuli.all()) or "-"

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "reference_master":
            kwargs["queryset"] = Stimulus.objects.filter(
                role=Stimulus.Role.MASTER, track__study__in=_studies(request)
            ).select_related("track")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # Tracks change only while the study is a draft; obj is the study being edited.
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or obj.is_draft

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or obj.is_draft

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or obj.is_draft

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True


class CollaboratorsField(forms.Field):
    """Researchers named by exact username, typed in (a list of accounts would show them all)."""

    widget = forms.TextInput(attrs={"size": 60, "autocomplete": "off"})

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str) or value is None:
            return value or ""
        return ", ".join(u.get_username() if hasattr(u, "get_username") else str(u) for u in value)

    def to_python(self, value: Any) -> list[Any]:
        names = list(dict.fromkeys(str(value or "").replace(",", " ").split()))
        users, unknown = find_collaborators(names)
        if unknown:
            raise ValidationError(
                [NOT_A_COLLABORATOR.format(name=name) for name in unknown], code="unknown"
            )
        return users


def _https_urls(field: models.Field[Any, Any], **kwargs: Any) -> Any:
    # Recruiters' return links are https (the admin's formfield_overrides say the same).
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class StudyForm(forms.ModelForm):  # type: ignore[type-arg]
    collaborators = CollaboratorsField(
        required=False,
        help_text="Usernames of the researchers who may work on this study, separated by "
        "commas or spaces. Only the owner changes them.",
    )

    class Meta:
        model = Study
        fields = ("collaborators",)  # the admin's fieldsets add the others
        formfield_callback = _https_urls


@admin.register(Study)
class StudyAdmin(StudyScopedAdmin):
    form = StudyForm
    list_display = ("title", "owner", "paradigm", "status", "is_demo", "preparation", "created_at")
    list_filter = ("status", "paradigm", "is_demo")
    search_fields = ("title", "description")
    inlines = (TrackInline,)
    # Recruiters' return links are https; say so now rather than rely on Django 6's default.
    formfield_overrides: ClassVar[dict[Any, dict[str, Any]]] = {
        models.URLField: {"assume_scheme": "https"}
    }
    readonly_fields = (
        "owner",
        "status",
        "participant_link",
        "preparation",
        "open_check",
        "opened_at",
        "closed_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ["title", "description", "is_demo", "owner", "collaborators"]}),
        (
            "Status",
            {
                "fields": [
                    "status",
                    "participant_link",
                    "preparation",
                    "open_check",
                    "opened_at",
                    "closed_at",
                ]
            },
        ),
        (
            "Paradigm",
            {
                "fields": [
                    "paradigm",
                    "attributes",
                    "attribute_descriptions",
                    "reference_mode",
                    "anchors",
                    "trials_per_participant",
                    "balancing",
                    "abx_repetitions",
                    "ab_allow_no_preference",
                ]
            },
        ),
        (
            "Checks before a participant may go on",
            {
                "fields": [
                    "must_play_all",
                    "must_move_all",
                    "require_100",
                    "min_listen_seconds",
                ]
            },
        ),
        (
            "Playback preparation (changing these re-prepares the stimuli)",
            {
                "fields": [
                    "loudness_target_lufs",
                    "true_peak_ceiling_dbtp",
                    "sample_rate",
                    "excerpt_start",
                    "excerpt_length",
                    "fade_ms",
                    "playback_bit_depth",
                    "accept_mono",
                    "accept_lossy",
                ]
            },
        ),
        (
            "Participants",
            {
                "fields": [
                    "public_title",
                    "public_description",
                    "consent_text",
                    "instructions",
                    "languages",
                    "translations",
                    "questionnaire",
                    "screening",
                    "completion_code",
                    "redirect_url",
                ]
            },
        ),
    )
    actions = (
        "prepare_stimuli",
        "reprepare_stimuli",
        "open_studies",
        "close_studies",
        "download_results_bundle",
    )
    study_path = "pk"

    def scoped(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset if request.user.is_superuser else queryset.filter(pk__in=_studies(request))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # As in the API: collaborators work on a study; only its owner may delete it.
        if not super().has_delete_permission(request, obj):
            return False
        if obj is not None and obj.status == Study.Status.OPEN:
            return False  # as in the API: participants may be mid-session; close it first
        return obj is None or request.user.is_superuser or obj.owner_id == request.user.pk

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.is_draft:
            fields += [*Study.PREPARATION_FIELDS, "paradigm", "attributes"]
        if obj is not None and not request.user.is_superuser and obj.owner_id != request.user.pk:
            fields.append("collaborators")  # as in the API: only the owner shares a study
        return fields

    @admin.display(description="Participant link")
    def participant_link(self, study: Study) -> str:
        return study.participant_path() if study.pk else "-"

    @admin.display(description="Preparation")
    def preparation(self, study: Study) -> str:
        if study.pk is None:
            return "-"
        p = study.progress()
        summary = (
            f"{p['ready']}/{p['total']} ready, {p['processing']} processing, "
            f"{p['pending']} pending, {p['failed']} failed"
        )
        if p["state"] == "failed":
            return f"Stopped with failures: {summary} (see the stimuli's errors)"
        return f"Finished: {summary}" if p["finished"] else summary

    @admin.display(description="Ready to open?")
    def open_check(self, study: Study) -> str:
        if study.pk is None:
            return "-"
        problems = problems_before_opening(study)
        if not problems:
            return "Yes: every check passes."
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((p,) for p in problems))
        )

    def save_model(self, request: HttpRequest, obj: Study, form: Any, change: bool) -> None:
        if not change:
            obj.owner = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        queued = enqueue_preparation(form.instance)
        if queued:
            self.message_user(request, f"Preparing {queued} track(s) in the background.")

    @admin.action(description="Download results bundle")
    def download_results_bundle(
        self, request: HttpRequest, queryset: QuerySet[Study]
    ) -> HttpResponseBase | None:
        # One zip per download: the browser saves one file per response.
        if queryset.count() != 1:
            self.message_user(
                request, "Select exactly one study to download its results.", messages.ERROR
            )
            return None
        return bundle_response(queryset.get())

    @admin.action(description="Prepare stimuli that are missing or outdated")
    def prepare_stimuli(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        self._prepare(request, queryset, force=False)

    @admin.action(description="Re-prepare every stimulus (and re-measure)")
    def reprepare_stimuli(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        self._prepare(request, queryset, force=True)

    def _prepare(self, request: HttpRequest, queryset: QuerySet[Study], *, force: bool) -> None:
        for study in queryset:
            if not study.is_draft:
                self.message_user(
                    request, f"{study}: {study.status}; its files are locked.", messages.WARNING
                )
                continue
            with transaction.atomic():
                queued = enqueue_preparation(study, force=force)
            self.message_user(request, f"{study}: {queued} track(s) queued for preparation.")

    @admin.action(description="Open to participants (after every check)")
    def open_studies(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        for study in queryset:
            try:
                open_study(study)
            except ValidationError as exc:
                self.message_user(
                    request,
                    format_html(
                        "{} cannot open:<ul>{}</ul>",
                        study,
                        format_html_join("", "<li>{}</li>", ((m,) for m in exc.messages)),
                    ),
                    messages.ERROR,
                )
            else:
                self.message_user(request, f"{study} is open: {study.participant_path()}")

    @admin.action(description="Close to participants")
    def close_studies(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        for study in queryset.filter(status=Study.Status.OPEN):
            study.close()
            self.message_user(request, f"{study} is closed.")


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


#: The metrics detail, grouped as docs/metrics.md groups them; the first matching prefix wins.
METRIC_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Loudness (BS.1770-4, EBU Tech 3342)",
        ("integrated", "true_peak", "sample_peak", "loudness_range", "max_", "plr", "psr"),
    ),
    ("Dynamic range (DR meter)", ("dr",)),
    ("Loudness penalty per platform", ("lp_",)),
    (
        "Distortion (DM, HFD)",
        ("dm", "median_csdr", "mean_unexplained", "hfd", "segments", "valid_segments"),
    ),
    ("Intelligibility (ESTOI, STOI)", ("it", "estoi", "stoi")),
    ("Spectral balance and bass", ("wsc", "centroid", "tilt", "ber", "tbd")),
    ("Mix (the reference)", ("mix_",)),
    ("Alignment to the mix", ("align_", "excluded_share")),
    ("Files and definitions", ("",)),
)


def _rounded(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else ("yes" if value else "no")
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def grouped_metrics(metrics: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The metrics in :data:`METRIC_GROUPS` order, rounded to two decimals for reading."""
    groups: dict[str, list[tuple[str, str]]] = {name: [] for name, _ in METRIC_GROUPS}
    for key, value in metrics.items():
        group = next(
            name
            for name, prefixes in METRIC_GROUPS
            if (key.startswith("mix_") and "mix_" in prefixes)
            or (not key.startswith("mix_") and key.startswith(prefixes))
        )
        groups[group].append((key, _rounded(value)))
    return [(name, rows) for name, rows in groups.items() if rows]


def key_metrics(metrics: dict[str, Any]) -> str:
    """Integrated loudness, true peak, DR, DM and HFD in one line."""

    def part(label: str, key: str, unit: str, digits: int = 1) -> str:
        value = metrics.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return f"{label} -"
        return f"{label} {value:.{digits}f}{unit}"

    hfd = part("HFD", "hfd", " %") if metrics.get("hfd_valid", True) else "HFD n/a"
    return " · ".join(
        [
            part("I", "integrated", " LUFS"),
            part("TP", "true_peak", " dBTP"),
            part("DR", "dr", "", 0),
            part("DM", "dm", " %", 0),
            hfd,
        ]
    )


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

    @admin.display(description="Listen")
    def listen_links(self, stimulus: Stimulus) -> str:
        links = [
            (self.audio_url(stimulus, kind), label)
            for kind, label, stored in (
                ("original", "original", stimulus.original),
                ("prepared", "prepared", stimulus.prepared),
            )
            if stored
        ]
        if not links:
            return "-"
        return format_html_join(" · ", '<a href="{}" target="_blank">{}</a>', links)

    @admin.display(description="Listen")
    def listen(self, stimulus: Stimulus) -> str:
        players = [
            (label, self.audio_url(stimulus, kind))
            for kind, label, stored in (
                ("original", "Original upload", stimulus.original),
                ("prepared", "Prepared playback file (as participants hear it)", stimulus.prepared),
            )
            if stored
        ]
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


@admin.register(Session)
class SessionAdmin(StudyScopedAdmin):
    list_display = (
        "pk",
        "study",
        "state",
        "prolific_pid",
        "simulated",
        "started_at",
        "completed_at",
    )
    list_filter = ("state", "simulated", ("study", admin.RelatedOnlyFieldListFilter))
    readonly_fields = tuple(f.name for f in Session._meta.fields if f.name != "token")
    exclude = ("token",)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
