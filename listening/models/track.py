"""Tracks: one piece of music in a study, with its mix and masters."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

from listening.models.genres import GENRE_MAX_LENGTH, validate_genre

if TYPE_CHECKING:
    from listening.models.stimulus import Stimulus

#: Bump when the preparation pipeline changes what it writes; every track is then re-prepared.
PIPELINE_VERSION = "3"  # 3: per-session variant pools; 32x true-peak ceiling; PHAT alignment
#: Every version of a track must play within this many LU of the track's target.
LOUDNESS_TOLERANCE_LU = 0.1


class Track(models.Model):
    study = models.ForeignKey("listening.Study", models.CASCADE, related_name="tracks")
    title = models.CharField(max_length=200)
    genre = models.CharField(
        max_length=GENRE_MAX_LENGTH,
        blank=True,
        validators=[validate_genre],
        help_text="Normalised: spaces collapsed, and the spelling of another track of the "
        "study when they differ only in case.",
    )
    position = models.PositiveIntegerField(default=0)
    reference_master = models.ForeignKey(
        "listening.Stimulus",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The reference when the study uses a chosen master as reference.",
    )
    playback_loudness_lufs = models.FloatField(
        null=True,
        blank=True,
        help_text="Loudness every version plays at: the study target, lowered if a true "
        "peak would exceed the ceiling.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("study", "position", "pk")
        constraints = (
            models.UniqueConstraint(fields=["study", "title"], name="track_title_unique_in_study"),
            # SQLite does not enforce a CharField's max_length; this holds on every database.
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("genre"), GENRE_MAX_LENGTH),
                name="track_genre_max_length",
            ),
        )

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        """Normalise the genre (see listening.models.genres) and check its length."""
        from listening.models.genres import canonical_genre

        self.genre = canonical_genre(self.genre, self.study if self.study_id else None)

    # These read the prefetched stimuli when there are any, so a list page costs one query.
    def _stimuli(self) -> list[Stimulus]:
        return list(self.stimuli.all())

    @property
    def mix(self) -> Stimulus | None:
        return next((s for s in self._stimuli() if s.role == "mix"), None)

    @property
    def masters(self) -> list[Stimulus]:
        return [s for s in self._stimuli() if s.role == "master"]

    @property
    def sources(self) -> list[Stimulus]:
        """The uploaded versions (mix and masters), not the derived anchors."""
        return [s for s in self._stimuli() if s.role != "anchor"]

    @property
    def anchors(self) -> list[Stimulus]:
        return [s for s in self._stimuli() if s.role == "anchor"]

    @property
    def reference(self) -> Stimulus | None:
        """The version the study uses as (hidden) reference and to derive anchors from."""
        mode = self.study.reference_mode
        if mode == "mix":
            return self.mix
        if mode == "master":
            if self.reference_master_id is not None:
                return next((s for s in self.masters if s.pk == self.reference_master_id), None)
            human = [s for s in self.masters if s.system == "human"]
            return human[0] if len(human) == 1 else None
        return None

    @property
    def anchor_source(self) -> Stimulus | None:
        """Anchors are derived from the reference, or from the mix when there is none."""
        return self.reference if self.study.reference_mode != "none" else self.mix

    def fingerprint(self) -> str:
        """Hash everything the prepared files of this track depend on."""
        study = self.study
        source = self.anchor_source
        payload = {
            "pipeline": PIPELINE_VERSION,
            "rate": study.sample_rate,
            "start": study.excerpt_start,
            "length": study.excerpt_length,
            "fade_ms": study.fade_ms,
            "target": study.loudness_target_lufs,
            "ceiling": study.true_peak_ceiling_dbtp,
            "anchors": list(study.anchor_cutoffs),
            "bits": study.playback_bit_depth,
            "pool": settings.LISTENING_PLAYBACK_VARIANTS,
            "accept": [study.accept_mono, study.accept_lossy],
            "anchor_source": source.pk if source is not None and study.anchors else None,
            "sources": sorted((s.pk, s.role, s.original_sha256) for s in self.sources),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def needs_preparation(self) -> bool:
        """Tell whether any version is missing, stale or not yet prepared."""
        fingerprint = self.fingerprint()
        stimuli = self._stimuli()
        expected_anchors = len(self.study.anchor_cutoffs) if self.anchor_source else 0
        if len(self.anchors) != expected_anchors:
            return True
        return any(s.effective_status(fingerprint) in ("pending", "processing") for s in stimuli)

    def blinding_problems(self) -> list[str]:
        """Check the prepared versions cannot be told apart by anything but their sound."""
        ready = [s for s in self._stimuli() if s.status == "ready"]
        problems = []
        shapes = {(s.prepared_rate, s.prepared_frames, s.prepared_channels) for s in ready}
        if len(shapes) > 1:
            problems.append(
                "prepared versions differ in rate, length or channels: "
                + ", ".join(f"{r} Hz/{n} frames/{c} ch" for r, n, c in sorted(shapes))
            )
        sizes = {s.prepared_size or 0 for s in ready}
        if len(sizes) > 1:
            problems.append(f"prepared files differ in size ({min(sizes)}-{max(sizes)} bytes)")
        target = self.playback_loudness_lufs
        for s in ready:
            loud = s.playback_loudness_lufs
            if target is None or loud is None or abs(loud - target) > LOUDNESS_TOLERANCE_LU:
                problems.append(
                    f"{s.describe()} plays at {loud} LUFS, not within "
                    f"{LOUDNESS_TOLERANCE_LU} LU of the track's {target} LUFS"
                )
        return problems
