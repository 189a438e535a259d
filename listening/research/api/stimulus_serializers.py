"""Serializers of the researcher API for stimuli: uploads, their rows and their preparation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from listening.models import Stimulus, Track
from listening.models.stimulus import ORIGINAL_FIELDS, PLAYBACK_FIELDS
from listening.research.api.serializers import visible_studies
from listening.stimuli.admission import admit_upload
from listening.stimuli.originals import (
    OriginalInfo,
    safe_filename,
    uploaded_path,
)


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
        fields["track"].queryset = Track.objects.filter(  # type: ignore[attr-defined]
            study__in=visible_studies(self.context)
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
