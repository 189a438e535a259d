"""Measure every master of a track against its mix, after preparation.

The metrics are computed by :mod:`analysis.metrics.measure` on the full, as-delivered
audio (not the excerpt) and stored on the master with the metrics version and the mix's
sha256, so a master is measured again only when either changes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from listening.models import Stimulus, Track
from listening.stimuli.originals import read_original
from listening.stimuli.preparation import error_text, step_label

if TYPE_CHECKING:
    from analysis.io import AudioFile

logger = logging.getLogger(__name__)


def measure_track(track_id: int, *, force: bool = False) -> dict[str, Any]:
    """Measure every master of a track against its mix on the full, as-delivered audio.

    Kept apart from :func:`listening.stimuli.preparation.prepare_track` because it is
    slower and the study can open without it. Masters measured with the current metrics
    version against the same mix are skipped unless ``force`` is set; a failure is
    recorded in ``metrics_error``.
    """
    from analysis.errors import AnalysisError

    try:
        track = Track.objects.select_related("study").get(pk=track_id)
    except Track.DoesNotExist:
        return {"track": track_id, "skipped": "the track no longer exists"}
    mix = track.mix
    if mix is None or not mix.original:
        return {"track": track_id, "skipped": "the track has no mix"}
    mix_audio: AudioFile | None = None
    measured = {}
    for master in track.masters:
        if not master.original or (not force and _metrics_current(master, mix)):
            continue
        step = f"measure {master.describe()}"
        logger.info("%s", step_label(track, step))
        try:
            if mix_audio is None:
                mix_audio = read_original(mix)
            held = mix_audio.samples.nbytes  # one master at a time beside the mix
            _measure(master, read_original(master, held=held), mix, mix_audio)
        except (AnalysisError, OSError, ValidationError) as exc:
            _save_metrics(master, mix, {}, error_text(exc))
        measured[master.pk] = master.metrics_error or "ok"
        if master.metrics_error:
            logger.warning("%s: %s", step_label(track, step), master.metrics_error)
    return {"track": track_id, "measured": measured}


def _metrics_current(master: Stimulus, mix: Stimulus) -> bool:
    from analysis import METRICS_VERSION

    return bool(
        master.metrics
        and master.metrics_version == METRICS_VERSION
        and master.metrics_mix_sha256 == mix.original_sha256
    )


def _measure(
    master: Stimulus, master_audio: AudioFile, mix: Stimulus, mix_audio: AudioFile
) -> None:
    from analysis.errors import AnalysisError
    from analysis.metrics.measure import measure_decoded

    try:
        result = measure_decoded(master_audio, mix_audio)
    except AnalysisError as exc:
        _save_metrics(master, mix, {}, str(exc))
    else:
        _save_metrics(master, mix, result.as_dict(), "")


def _save_metrics(master: Stimulus, mix: Stimulus, metrics: dict[str, Any], error: str) -> None:
    from analysis import METRICS_VERSION

    master.metrics, master.metrics_error = metrics, error
    master.metrics_version = METRICS_VERSION
    master.metrics_mix_sha256 = mix.original_sha256
    master.save(
        update_fields=[
            "metrics",
            "metrics_error",
            "metrics_version",
            "metrics_mix_sha256",
            "updated_at",
        ]
    )
