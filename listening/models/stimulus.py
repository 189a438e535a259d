"""Stimuli: one audio version of a track, its original upload and its prepared excerpt."""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver

#: Extensions kept on stored originals (libsndfile sniffs the format from the bytes anyway).
ORIGINAL_EXTENSIONS = {".wav", ".flac", ".aif", ".aiff", ".ogg", ".oga", ".opus", ".mp3", ".caf"}


def original_upload_to(instance: Stimulus, filename: str) -> str:
    # A random name: the researcher's file name is kept in a field, never in a path.
    ext = PurePath(filename).suffix.lower()
    return f"originals/{uuid.uuid4().hex}{ext if ext in ORIGINAL_EXTENSIONS else ''}"


def prepared_upload_to(instance: Stimulus, filename: str) -> str:
    return f"prepared/{uuid.uuid4().hex}.flac"


#: What the platform read off an uploaded original (shown to researchers, never to participants).
ORIGINAL_FIELDS = (
    "original_filename",
    "original_sha256",
    "original_format",
    "original_subtype",
    "original_rate",
    "original_channels",
    "original_duration",
    "original_lossy",
    "original_size",
)
#: What preparation measured and did to make the playback file.
PLAYBACK_FIELDS = (
    "prepared_rate",
    "prepared_frames",
    "prepared_channels",
    "prepared_size",
    "excerpt_loudness_lufs",
    "gain_db",
    "true_peak_dbtp",
    "playback_loudness_lufs",
    "true_peak_oversampled_dbtp",
    "mono_source",
    "lossy_source",
    "alignment_lag",
    "alignment_polarity",
    "alignment_correlation",
    "alignment",
)


class Stimulus(models.Model):
    class Role(models.TextChoices):
        MIX = "mix", "Mix (unmastered)"
        MASTER = "master", "Master"
        ANCHOR = "anchor", "Low-pass anchor"

    class System(models.TextChoices):
        AI = "ai", "AI mastering"
        HUMAN = "human", "Human engineer"
        NONE = "none", "None (mix or anchor)"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for preparation"
        PROCESSING = "processing", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    track = models.ForeignKey("listening.Track", models.CASCADE, related_name="stimuli")
    # The track's study, kept on the row (set on save) so the database can refuse one file
    # twice in a study (stimulus_file_once_per_study), whichever tracks two uploads race to.
    study = models.ForeignKey(
        "listening.Study", models.CASCADE, related_name="stimuli", editable=False
    )
    role = models.CharField(max_length=8, choices=Role.choices)
    system = models.CharField(max_length=8, choices=System.choices, default=System.NONE)
    provider = models.CharField(
        max_length=100, blank=True, help_text='Who made it, e.g. "LANDR" or "Engineer 1".'
    )

    # The upload, stored unchanged. Nothing below is ever sent to participants.
    original = models.FileField(upload_to=original_upload_to, blank=True, max_length=200)
    original_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    original_filename = models.CharField(max_length=255, blank=True)
    original_format = models.CharField(max_length=16, blank=True)
    original_subtype = models.CharField(max_length=32, blank=True)
    original_rate = models.PositiveIntegerField(null=True, blank=True)
    original_channels = models.PositiveSmallIntegerField(null=True, blank=True)
    original_duration = models.FloatField(null=True, blank=True, help_text="Seconds.")
    original_lossy = models.BooleanField(default=False)
    original_size = models.PositiveBigIntegerField(null=True, blank=True, help_text="Bytes.")

    derived_from = models.ForeignKey(
        "self", models.CASCADE, null=True, blank=True, related_name="derived"
    )
    anchor_cutoff_hz = models.FloatField(null=True, blank=True)

    # The prepared playback excerpt (FLAC, 24 bit, study rate) and how it was made.
    prepared = models.FileField(upload_to=prepared_upload_to, blank=True, max_length=200)
    # The same audio with an independent, inaudible dither at the 24-bit LSB, padded to the same
    # size: served where a trial plays one version twice (ABX's X, MUSHRA's hidden reference),
    # so no two files of a trial share their bytes.
    prepared_variant = models.FileField(upload_to=prepared_upload_to, blank=True, max_length=200)
    prepared_rate = models.PositiveIntegerField(null=True, blank=True)
    prepared_frames = models.PositiveIntegerField(null=True, blank=True)
    prepared_channels = models.PositiveSmallIntegerField(null=True, blank=True)
    prepared_size = models.PositiveBigIntegerField(null=True, blank=True, help_text="Bytes.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    excerpt_loudness_lufs = models.FloatField(
        null=True, blank=True, help_text="Integrated loudness of the excerpt before gain."
    )
    gain_db = models.FloatField(null=True, blank=True, help_text="Gain applied to the excerpt.")
    true_peak_dbtp = models.FloatField(
        null=True,
        blank=True,
        help_text="True peak of the prepared file (BS.1770-4, 4x oversampling), dBTP.",
    )
    true_peak_oversampled_dbtp = models.FloatField(
        null=True, blank=True, help_text="True peak of the prepared file at 32x oversampling, dBTP."
    )
    # Independently TPDF-dithered copies of the prepared file, all of one size: each session
    # is served one (listening.stimuli.playback_variants), so no two sessions share a file's bytes.
    prepared_pool = models.JSONField(default=list, blank=True)
    mono_source = models.BooleanField(
        default=False, help_text="Made from a mono upload: plays as dual mono."
    )
    lossy_source = models.BooleanField(
        default=False, help_text="Made from a lossy-coded upload (MP3, Ogg, Opus)."
    )
    playback_loudness_lufs = models.FloatField(
        null=True, blank=True, help_text="Integrated loudness of the prepared file."
    )
    alignment_lag = models.IntegerField(
        null=True,
        blank=True,
        help_text="Samples at the master's own rate: master[n + lag] = mix[n].",
    )
    alignment_polarity = models.SmallIntegerField(null=True, blank=True)
    alignment_correlation = models.FloatField(null=True, blank=True)
    alignment = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    prepared_at = models.DateTimeField(null=True, blank=True)

    # Objective metrics of a master against its mix, on the full as-delivered audio.
    metrics = models.JSONField(default=dict, blank=True)
    metrics_version = models.CharField(max_length=20, blank=True)
    metrics_mix_sha256 = models.CharField(max_length=64, blank=True)
    metrics_error = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "stimuli"
        ordering = ("track", "role", "pk")
        constraints = (
            models.UniqueConstraint(
                fields=["track"],
                condition=Q(role="mix"),
                name="stimulus_one_mix_per_track",
                violation_error_message="The track already has a mix.",
            ),
            models.UniqueConstraint(
                fields=["study", "original_sha256"],
                condition=~Q(original_sha256=""),
                name="stimulus_file_once_per_study",
                violation_error_message="The same file is already in this study.",
            ),
            models.UniqueConstraint(
                fields=["track", "anchor_cutoff_hz"],
                condition=Q(role="anchor"),
                name="stimulus_one_anchor_per_cutoff",
            ),
            models.CheckConstraint(
                condition=(Q(role="mix") & Q(system="none"))
                | (Q(role="master") & Q(system__in=["ai", "human"]))
                | (Q(role="anchor") & Q(system="none") & Q(anchor_cutoff_hz__isnull=False)),
                name="stimulus_role_matches_system",
            ),
        )

    def __str__(self) -> str:
        return self.describe()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.track_id is not None:
            self.study_id = self.track.study_id
        super().save(*args, **kwargs)

    def describe(self) -> str:
        """Name the stimulus for researchers (never shown to participants)."""
        if self.role == self.Role.ANCHOR:
            what = f"{(self.anchor_cutoff_hz or 0) / 1000:g} kHz anchor"
        elif self.role == self.Role.MIX:
            what = "mix"
        else:
            what = f"{self.get_system_display()} master"
            if self.provider:
                what += f" ({self.provider})"
        return f"{self.track.title}: {what}"

    def prepared_file_names(self) -> list[str]:
        """Storage names of every prepared file: the playback file, its variant and its pool."""
        names = [f.name for f in (self.prepared, self.prepared_variant) if f and f.name]
        return list(dict.fromkeys([*names, *(self.prepared_pool or [])]))

    @property
    def source_flags(self) -> list[str]:
        """What researchers must know about the material: mono (dual mono), lossy source."""
        return [
            name
            for name, on in (("mono source", self.mono_source), ("lossy source", self.lossy_source))
            if on
        ]

    def effective_status(self, track_fingerprint: str) -> str:
        """Return the status, counting a version prepared with old settings as pending."""
        if self.status in (self.Status.READY, self.Status.FAILED) and (
            self.fingerprint != track_fingerprint
        ):
            return self.Status.PENDING
        return self.status


@receiver(post_delete, sender=Stimulus, dispatch_uid="listening.stimulus_files")
def _delete_files(sender: type[Stimulus], instance: Stimulus, **kwargs: Any) -> None:
    """A deleted stimulus takes its files along, once the deletion is committed.

    One place for every way a row goes: the API, the admin, a track's or a study's
    cascade, preparation replacing an anchor. Files of a rolled-back deletion stay.
    """
    original = [instance.original.name] if instance.original and instance.original.name else []
    names: list[str] = [*original, *instance.prepared_file_names()]
    storage = Stimulus.prepared.field.storage

    def delete() -> None:
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete)
