"""Studies in the admin: the study form (collaborators, https links), tracks inline, actions."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.utils.html import format_html, format_html_join

from listening.models import Stimulus, Study, Track
from listening.research.admin.scoping import StudyScopedAdmin, visible_studies
from listening.research.api.serializers import PARTICIPANT_FIELDS
from listening.research.exports import bundle_response
from listening.research.opening import open_study, problems_before_opening
from listening.research.researchers import NOT_A_COLLABORATOR, find_collaborators
from listening.stimuli.tasks import enqueue_preparation


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
                role=Stimulus.Role.MASTER, track__study__in=visible_studies(request)
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


#: The study's state, shown read-only in its own section.
_STATUS_FIELDS = (
    "status",
    "participant_link",
    "preparation",
    "open_check",
    "opened_at",
    "closed_at",
)


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
    readonly_fields = ("owner", *_STATUS_FIELDS, "created_at", "updated_at")
    fieldsets = (
        (
            None,
            {
                "fields": [
                    "title",
                    "description",
                    "is_demo",
                    "owner",
                    "collaborators",
                    "participant_target",
                ]
            },
        ),
        (
            "Status",
            {"fields": list(_STATUS_FIELDS)},
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
            # The model's list, less the two the Paradigm section shows.
            {
                "fields": [
                    f for f in Study.PREPARATION_FIELDS if f not in ("reference_mode", "anchors")
                ]
            },
        ),
        (
            "Participants",
            {
                "fields": [
                    "public_title",
                    "public_description",
                    *PARTICIPANT_FIELDS,
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
        return (
            queryset
            if request.user.is_superuser
            else queryset.filter(pk__in=visible_studies(request))
        )

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
