"""Write a track's playback files and record each version's outcome on its stimulus row.

The second half of :func:`listening.stimuli.preparation.prepare_track`: once every version's
excerpt is cut, faded and measured, :func:`encode_versions` writes the equal-size FLAC files
at the matched gains and :func:`save_versions` stores the outcome in one transaction.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from listening.models import Stimulus, Study, Track
from listening.stimuli.flac_padding import pad_flac_files

if TYPE_CHECKING:
    from analysis.audio import Audio


@dataclass
class PreparedVersion:
    """One version of a track while it is being prepared."""

    stimulus: Stimulus
    excerpt: Audio | None = None
    level: Any = None
    error: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


def encode_versions(
    playing: list[PreparedVersion],
    gains: tuple[float, ...],
    study: Study,
    rate: int,
    new_files: list[str],
) -> float:
    """Write each version's playback file and its pool of dithered copies, all one size.

    Every file is quantised here (:func:`analysis.stimuli.levels.quantize`), so its samples
    are exactly what a decoder returns, and its true peak is checked at 4x and 32x after
    encoding: the exact reading for the version's own file, and for each dithered copy
    that reading plus the most the dither can move an interpolated sample (the
    interpolator's gain times the largest sample difference). Return how far above the
    ceiling the highest file reads (<= 0 when every file is within it).
    """
    import numpy as np

    from analysis.io import write_audio
    from analysis.metrics.loudness import integrated_loudness
    from analysis.metrics.threads import pmap
    from analysis.metrics.true_peak import interpolation_gain, true_peak
    from analysis.stimuli.levels import STRICT_OVERSAMPLING, apply_gain, quantize

    bits = study.playback_bit_depth
    pool_size = settings.LISTENING_PLAYBACK_VARIANTS
    subtype = f"PCM_{bits}"
    worst = float("-inf")
    with tempfile.TemporaryDirectory() as folder:
        files: list[tuple[PreparedVersion, str, Path]] = []
        for i, (version, gain) in enumerate(zip(playing, gains, strict=True)):
            if version.excerpt is None:
                raise ValueError("only versions with an excerpt are encoded")
            audio = apply_gain(version.excerpt, gain)
            seed = version.stimulus.pk
            # 24-bit: plain rounding (the LSB is 138 dB below full scale); 16-bit needs dither.
            own = quantize(audio, bits, rng=np.random.default_rng([seed, 0]) if bits < 24 else None)
            peaks = [true_peak(own, rate), true_peak(own, rate, oversampling=STRICT_OVERSAMPLING)]
            path = Path(folder) / f"{i}.flac"
            write_audio(path, own, rate, subtype=subtype, format="FLAC")
            files.append((version, "prepared", path))
            # The copies are independent (each its own seed): encode them on a few threads
            # (libsndfile's FLAC encoder releases the GIL); the files do not depend on it.
            copies = pmap(
                partial(_dithered_copy, audio, own, bits, seed, rate, Path(folder) / str(i)),
                range(pool_size),
            )
            spread = max((difference for difference, _ in copies), default=0.0)
            files.extend((version, "pool", path) for _, path in copies)
            gain_bound = max(
                interpolation_gain(rate), interpolation_gain(rate, STRICT_OVERSAMPLING)
            )
            highest = 20 * math.log10(10 ** (max(peaks) / 20) + gain_bound * spread)
            worst = max(worst, highest - study.true_peak_ceiling_dbtp)
            version.fields.update(
                excerpt_loudness_lufs=version.level.loudness_lufs,
                gain_db=gain,
                true_peak_dbtp=peaks[0],
                true_peak_oversampled_dbtp=peaks[1],
                playback_loudness_lufs=integrated_loudness(own, rate),
                prepared_rate=rate,
                prepared_frames=own.shape[0],
                prepared_channels=own.shape[1],
            )
        size = pad_flac_files([path for _, _, path in files])
        storage = Stimulus.prepared.field.storage
        for version, kind, path in files:
            name = Stimulus.prepared.field.generate_filename(version.stimulus, "x.flac")
            with open(path, "rb") as f:
                name = storage.save(name, File(f), max_length=200)
            new_files.append(name)
            if kind == "prepared":
                version.fields["prepared"] = name
                version.fields["prepared_pool"] = []
            else:
                version.fields["prepared_pool"].append(name)
        for version in playing:
            # The older single variant (hidden reference, ABX's X) is the pool's first copy.
            version.fields["prepared_variant"] = version.fields["prepared_pool"][0]
            version.fields["prepared_size"] = size
    return worst


def _dithered_copy(
    audio: Audio, own: Audio, bits: int, seed: int, rate: int, stem: Path, k: int
) -> tuple[float, Path]:
    """Write dithered copy ``k``; return its largest distance from ``own`` and its path."""
    import numpy as np

    from analysis.io import write_audio
    from analysis.stimuli.levels import quantize

    copy = quantize(audio, bits, rng=np.random.default_rng([seed, 1 + k]))
    path = stem.with_name(f"{stem.name}-{k}.flac")
    write_audio(path, copy, rate, subtype=f"PCM_{bits}", format="FLAC")
    return float(np.max(np.abs(copy - own))), path


_PREPARED_FIELDS = (
    "excerpt_loudness_lufs",
    "gain_db",
    "true_peak_dbtp",
    "true_peak_oversampled_dbtp",
    "playback_loudness_lufs",
    "prepared_rate",
    "prepared_frames",
    "prepared_channels",
    "prepared_size",
    "alignment_lag",
    "alignment_polarity",
    "alignment_correlation",
)


def save_versions(track: Track, versions: dict[int, PreparedVersion], fingerprint: str) -> None:
    """Record every version's outcome in one transaction, then drop superseded files."""
    old_files = []
    now = timezone.now()
    with transaction.atomic():
        track.save(update_fields=["playback_loudness_lufs"])
        for version in versions.values():
            stimulus = version.stimulus
            old_files.extend(stimulus.prepared_file_names())
            for name in _PREPARED_FIELDS:
                setattr(stimulus, name, None)
            stimulus.mono_source = stimulus.lossy_source = False
            stimulus.alignment = {}
            stimulus.prepared = version.fields.pop("prepared", "")
            stimulus.prepared_variant = version.fields.pop("prepared_variant", "")
            stimulus.prepared_pool = version.fields.pop("prepared_pool", [])
            for name, value in version.fields.items():
                setattr(stimulus, name, value)
            stimulus.status = Stimulus.Status.FAILED if version.error else Stimulus.Status.READY
            stimulus.error = version.error
            stimulus.fingerprint = fingerprint
            stimulus.prepared_at = now
            stimulus.save()
    storage = Stimulus.prepared.field.storage
    for name in set(old_files):
        storage.delete(name)
