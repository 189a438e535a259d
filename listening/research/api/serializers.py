"""Serializers of the researcher API; every rule a request must meet is checked here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from listening.models import Stimulus, Study, Track
from listening.models.genres import canonical_genre
from listening.models.spans import excerpt_problems
from listening.models.study import default_attributes
from listening.models.study_settings import (
    StructuredSettingsMixin,
    check_descriptions_match,
    translation_problems,
)
from listening.research.researchers import NOT_A_COLLABORATOR, USERNAME, researcher_users

#: What may not change once a study has opened (checked in StudySerializer.validate).
LOCKED_AFTER_OPENING = (*Study.PREPARATION_FIELDS, "paradigm", "attributes")


#: What participants meet besides the public title and description: the pages' texts and
#: languages, the questionnaire, the headphone screening and the completion (the API's
#: fields and the admin's "Participants" section).
PARTICIPANT_FIELDS = (
    "consent_text",
    "instructions",
    "languages",
    "translations",
    "questionnaire",
    "screening",
    "completion_code",
    "redirect_url",
)


def visible_studies(context: Mapping[str, Any]) -> Any:
    """The studies the request's researcher may see (none without a signed-in request)."""
    user = getattr(context.get("request"), "user", None)
    return Study.objects.for_user(user) if user is not None else Study.objects.none()


class CollaboratorField(serializers.SlugRelatedField):  # type: ignore[type-arg]
    """A researcher named by exact username; one neutral error for every other name."""

    default_error_messages = {"invalid": "Give each collaborator's username as text."}  # noqa: RUF012

    def get_queryset(self) -> Any:
        return researcher_users()

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            if not USERNAME.fullmatch(data):  # never looked up (PostgreSQL refuses a NUL)
                raise ObjectDoesNotExist
            return self.get_queryset().get(username=data)
        except ObjectDoesNotExist:
            raise serializers.ValidationError(
                NOT_A_COLLABORATOR.format(name=data), code="does_not_exist"
            ) from None


class StudySerializer(StructuredSettingsMixin, serializers.ModelSerializer[Study]):
    owner = serializers.CharField(source="owner.get_username", read_only=True)
    collaborators = CollaboratorField(
        many=True, slug_field="username", required=False, help_text="Researchers' usernames."
    )
    participant_path = serializers.CharField(read_only=True)
    track_count = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = (
            "id",
            "title",
            "description",
            "public_title",
            "public_description",
            "is_demo",
            "owner",
            "collaborators",
            "status",
            "participant_path",
            "paradigm",
            "attributes",
            "attribute_descriptions",
            *Study.PREPARATION_FIELDS,
            *Study.TRIAL_FIELDS,
            *PARTICIPANT_FIELDS,
            "participant_target",
            "track_count",
            "created_at",
            "updated_at",
            "opened_at",
            "closed_at",
        )
        read_only_fields = (
            "is_demo",
            "status",
            "created_at",
            "updated_at",
            "opened_at",
            "closed_at",
        )
        # Numeric ranges come from the model's validators; the structured settings are
        # checked by the schema in listening.models.study_settings (StructuredSettingsMixin).

    def get_track_count(self, study: Study) -> int:
        return study.tracks.count()

    def validate_sample_rate(self, value: int) -> int:
        allowed = settings.LISTENING_SAMPLE_RATES
        if value not in allowed:
            raise serializers.ValidationError(
                f"{value} Hz is not an allowed playback rate; use one of "
                f"{', '.join(map(str, allowed))}"
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        study = self.instance
        if study is not None and not study.is_draft:
            locked = [
                name
                for name in LOCKED_AFTER_OPENING
                if name in attrs and attrs[name] != getattr(study, name)
            ]
            if locked:
                raise serializers.ValidationError(
                    dict.fromkeys(
                        locked, f"cannot change once the study has opened ({study.status})"
                    )
                )
        if "attribute_descriptions" in attrs or "attributes" in attrs:
            descriptions = attrs.get(
                "attribute_descriptions", study.attribute_descriptions if study else {}
            )
            names = attrs.get("attributes", study.attributes if study else default_attributes())
            try:
                check_descriptions_match(descriptions, names)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"attribute_descriptions": exc.messages}) from exc
        request = self.context.get("request")
        if (
            "collaborators" in attrs
            and study is not None
            and request is not None
            and study.owner_id != request.user.pk
        ):
            raise serializers.ValidationError(
                {"collaborators": "only the study's owner may change its collaborators"}
            )
        if "translations" in attrs or "attributes" in attrs:
            attributes = attrs.get("attributes", study.attributes if study else None)
            translations = attrs.get("translations", study.translations if study else {})
            problems = translation_problems(attributes or default_attributes(), translations)
            if problems:
                raise serializers.ValidationError({"translations": problems})
        fade = attrs.get("fade_ms", study.fade_ms if study else 20.0)
        length = attrs.get("excerpt_length", study.excerpt_length if study else 10.0)
        start = attrs.get("excerpt_start", study.excerpt_start if study else 30.0)
        if study is not None and ("excerpt_start" in attrs or "excerpt_length" in attrs):
            problems = excerpt_problems(study, start, length)
            if problems:
                raise serializers.ValidationError({"excerpt_start": problems})
        if 2 * fade / 1000.0 >= length:
            raise serializers.ValidationError(
                {
                    "fade_ms": (
                        f"fades of {fade:g} ms in and out do not fit an excerpt of {length:g} s"
                    )
                }
            )
        return attrs


class StimulusSummarySerializer(serializers.ModelSerializer[Stimulus]):
    class Meta:
        model = Stimulus
        fields = ("id", "role", "system", "provider", "anchor_cutoff_hz", "status", "error")


class TrackSerializer(serializers.ModelSerializer[Track]):
    stimuli = StimulusSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Track
        fields = (
            "id",
            "study",
            "title",
            "genre",
            "position",
            "reference_master",
            "playback_loudness_lufs",
            "stimuli",
        )
        read_only_fields = ("playback_loudness_lufs",)
        # Unique titles are checked in validate(), with a clear message.
        validators: tuple[Any, ...] = ()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        studies = visible_studies(self.context)
        fields["study"].queryset = studies  # type: ignore[attr-defined]
        fields["reference_master"].queryset = Stimulus.objects.filter(  # type: ignore[attr-defined]
            track__study__in=studies, role=Stimulus.Role.MASTER
        )
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        study = attrs.get("study") or (self.instance.study if self.instance else None)
        if self.instance is not None and "study" in attrs and attrs["study"] != self.instance.study:
            raise serializers.ValidationError({"study": "a track cannot move to another study"})
        if study is not None and not study.is_draft:
            raise serializers.ValidationError(
                {"study": f"the study is {study.status}; its tracks can no longer change"}
            )
        reference = attrs.get("reference_master")
        if reference is not None and (
            self.instance is None or reference.track_id != self.instance.pk
        ):
            raise serializers.ValidationError(
                {"reference_master": "the reference must be a master of this track"}
            )
        if "genre" in attrs:
            try:
                attrs["genre"] = canonical_genre(attrs["genre"], study)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"genre": exc.messages}) from exc
        title = attrs.get("title")
        if study is not None and title is not None:
            clash = Track.objects.filter(study=study, title=title)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {"title": f"the study already has a track called {title!r}"}
                )
        return attrs
