"""Serializers of the researcher API; every rule a request must meet is checked here."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from listening.models import Stimulus, Study, Track
from listening.models.genres import canonical_genre
from listening.models.spans import excerpt_problems
from listening.models.stimulus import ORIGINAL_FIELDS, PLAYBACK_FIELDS
from listening.models.study import default_attributes
from listening.models.study_settings import (
    StructuredSettingsMixin,
    check_descriptions_match,
    translation_problems,
)
from listening.research.researchers import NOT_A_COLLABORATOR, USERNAME, researcher_users
from listening.stimuli.admission import admit_upload
from listening.stimuli.originals import (
    OriginalInfo,
    safe_filename,
    uploaded_path,
)


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
            "consent_text",
            "instructions",
            "languages",
            "translations",
            "questionnaire",
            "screening",
            "completion_code",
            "redirect_url",
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
                for name in (*Study.PREPARATION_FIELDS, "paradigm", "attributes")
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
        request = self.context.get("request")
        user = getattr(request, "user", None)
        studies = Study.objects.for_user(user) if user is not None else Study.objects.none()
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


class StimulusSerializer(serializers.ModelSerializer[Stimulus]):
    """A stimulus as the researcher sees it (its file name included; never for participants)."""

    class Meta:
        model = Stimulus
        fields = (
            "id",
            "track",
            "role",
            "system",
            "provider",
            "status",
            "error",
            *ORIGINAL_FIELDS,
            "derived_from",
            "anchor_cutoff_hz",
            *PLAYBACK_FIELDS,
            "metrics",
            "metrics_version",
            "metrics_error",
            "prepared_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = tuple(f for f in fields if f not in ("provider", "system"))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        stimulus = self.instance
        if stimulus is None:
            return attrs
        if not stimulus.track.study.is_draft:
            raise serializers.ValidationError(
                f"the study is {stimulus.track.study.status}; its stimuli can no longer change"
            )
        system = attrs.get("system", stimulus.system)
        _check_role_system(stimulus.role, system)
        return attrs


class StimulusUploadSerializer(serializers.ModelSerializer[Stimulus]):
    """Create a mix or a master from an uploaded audio file (multipart)."""

    file = serializers.FileField(write_only=True, help_text="WAV, FLAC, AIFF, OGG, MP3 or CAF.")
    role = serializers.ChoiceField(
        choices=[(Stimulus.Role.MIX, "Mix"), (Stimulus.Role.MASTER, "Master")]
    )

    class Meta:
        model = Stimulus
        fields = ("id", "track", "role", "system", "provider", "file")
        # The one-mix rule is checked in validate(), with a clear message.
        validators: tuple[Any, ...] = ()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        studies = Study.objects.for_user(user) if user is not None else Study.objects.none()
        fields["track"].queryset = Track.objects.filter(  # type: ignore[attr-defined]
            study__in=studies
        )
        return fields

    def validate_file(self, upload: Any) -> Any:
        # The name is only shown back to the researcher (files are stored under a random
        # name): keep its last path part, without control characters, which some databases
        # cannot store.
        upload.name = safe_filename(upload.name)
        limit = settings.AUDIO_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise serializers.ValidationError(
                f"{upload.name}: {upload.size / 1e6:.1f} MB is above the upload limit of "
                f"{limit / 1e6:.1f} MB"
            )
        return upload

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        track: Track = attrs["track"]
        study = track.study
        role = attrs["role"]
        system = attrs.get("system") or (Stimulus.System.NONE if role == Stimulus.Role.MIX else "")
        attrs["system"] = system
        if not study.is_draft:
            raise serializers.ValidationError(
                {"track": f"the study is {study.status}; it no longer takes uploads"}
            )
        _check_role_system(role, system)
        if role == Stimulus.Role.MIX and track.stimuli.filter(role=Stimulus.Role.MIX).exists():
            raise serializers.ValidationError(
                {"role": f"track {track.title!r} already has a mix; delete it first"}
            )
        upload = attrs["file"]
        # Decode-validate before anything is stored.
        with uploaded_path(upload) as path:
            try:
                admitted = admit_upload(track, role, path, upload.name)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"file": exc.messages}) from exc
        attrs["info"] = admitted.info
        attrs["alignment"], attrs["master_updates"] = admitted.alignment, admitted.master_updates
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Stimulus:
        from listening.stimuli.originals import store_original

        upload = validated_data.pop("file")
        info: OriginalInfo = validated_data.pop("info")
        alignment = validated_data.pop("alignment", {})
        updates = validated_data.pop("master_updates", {})
        stimulus = Stimulus(**validated_data, **alignment)
        with uploaded_path(upload) as path:
            try:
                store_original(stimulus, path, info)
            except DjangoValidationError as exc:
                # Another upload of this file (or mix) was stored since validation: the same
                # answer as when it is found there.
                raise serializers.ValidationError({"file": exc.messages}) from exc
        for pk, fields in updates.items():
            Stimulus.objects.filter(pk=pk).update(**fields)
        return stimulus

    def to_representation(self, instance: Stimulus) -> dict[str, Any]:
        return StimulusSerializer(instance, context=self.context).data


def _check_role_system(role: str, system: str) -> None:
    if role == Stimulus.Role.MIX and system != Stimulus.System.NONE:
        raise serializers.ValidationError({"system": "a mix has no mastering system (use none)"})
    if role == Stimulus.Role.MASTER and system not in (Stimulus.System.AI, Stimulus.System.HUMAN):
        raise serializers.ValidationError(
            {"system": f"a master needs system ai or human, got {system!r}"}
        )


class ProgressStimulusSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    track = serializers.IntegerField()
    track_title = serializers.CharField()
    role = serializers.CharField()
    system = serializers.CharField()
    provider = serializers.CharField()
    status = serializers.CharField()
    error = serializers.CharField()


class ProgressSerializer(serializers.Serializer[dict[str, Any]]):
    total = serializers.IntegerField()
    pending = serializers.IntegerField()
    processing = serializers.IntegerField()
    ready = serializers.IntegerField()
    failed = serializers.IntegerField()
    percent = serializers.FloatField(help_text="Share of stimuli processed (ready or failed).")
    finished = serializers.BooleanField(help_text="Every stimulus is ready (never with failures).")
    state = serializers.ChoiceField(
        choices=["empty", "preparing", "ready", "failed"],
        help_text="failed: the work has stopped and some stimuli failed (see failed).",
    )
    stimuli = ProgressStimulusSerializer(many=True)


class PrepareSerializer(serializers.Serializer[dict[str, Any]]):
    force = serializers.BooleanField(
        default=False, help_text="Re-prepare every track, even those already up to date."
    )


class QueuedSerializer(serializers.Serializer[dict[str, Any]]):
    queued_tracks = serializers.IntegerField()
