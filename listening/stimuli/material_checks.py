"""What preparation needs from a track's material, checked before anything is stored.

Preparation cuts one excerpt, in the mix's timeline, from every version of a track, so
each master must be a master of that mix (it aligns with enough correlation), and every
version must cover the excerpt once aligned. The importer, the API and the admin run the
same checks on uploads, so a file that preparation would refuse is refused with its row
or its name, not stored to fail later.

Spans are in seconds of the mix's timeline: a master aligned with lag ``L`` at its own
rate ``r`` (``master[n + L]`` lines up with ``mix[n]``) covers ``[-L/r, duration - L/r]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from listening.models.spans import (
    Span,
    fix_for,
    master_span,
    track_span,
)

if TYPE_CHECKING:
    from analysis.io import AudioFile
    from listening.models import Study, Track

#: Smallest alignment correlation taken as "a master of this mix" (as preparation uses).
MIN_CORRELATION = 0.3


@dataclass(frozen=True)
class MasterMatch:
    """How an uploaded master lines up with its track's mix."""

    lag: int
    polarity: int
    correlation: float
    rate: int
    span: Span

    def fields(self) -> dict[str, Any]:
        """The alignment fields to store on the stimulus (preparation measures them again)."""
        return {
            "alignment_lag": self.lag,
            "alignment_polarity": self.polarity,
            "alignment_correlation": self.correlation,
        }


def match_master(master: AudioFile, mix: AudioFile, *, name: str, mix_name: str) -> MasterMatch:
    """Align a master to its mix as preparation will; raise ValidationError if it is not one.

    The mix is resampled to the master's rate (preparation aligns on the master's clock).
    """
    from analysis.audio import resample
    from analysis.errors import AnalysisError
    from analysis.metrics.alignment import align

    reference = mix.samples
    if mix.rate != master.rate:
        reference = resample(mix.samples, mix.rate, master.rate)
    try:
        alignment = align(master.samples, reference, master.rate, min_correlation=MIN_CORRELATION)
    except AnalysisError as exc:
        raise ValidationError(
            f"{name} does not match the mix {mix_name}: {exc}", code="no_match"
        ) from exc
    return MasterMatch(
        lag=alignment.lag,
        polarity=alignment.polarity,
        correlation=alignment.correlation,
        rate=master.rate,
        span=master_span(master.duration, alignment.lag, master.rate),
    )


def check_upload(
    track: Track, role: str, path: Any, filename: str
) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """Check an upload against its track (the API's and the admin's path).

    A master must match the track's mix; a mix must match every master already there;
    and all of them must cover the study's excerpt. Return the alignment fields of the
    upload and of the masters a new mix was checked against; raise ValidationError.
    """
    from analysis.errors import AnalysisError
    from analysis.io import read_audio
    from listening.stimuli.originals import local_copy

    study = track.study
    masters = [m for m in track.masters if m.original]
    mix = track.mix if track.mix is not None and track.mix.original else None
    if (role == "master" and mix is None) or (role == "mix" and not masters):
        # Nothing to align with yet: the length still has to cover the excerpt.
        duration = _duration(path, filename)
        span = track_span(track, extra=Span(0.0, duration))
        _require_excerpt(study, span, filename)
        return {}, {}
    try:
        audio = read_audio(path)
        if role == "master" and mix is not None:
            with local_copy(mix.original) as mix_path:
                mix_audio = read_audio(mix_path)
            match = match_master(
                audio, mix_audio, name=filename, mix_name=f"{mix.original_filename} (the mix)"
            )
            _require_excerpt(study, track_span(track, extra=match.span), filename)
            return match.fields(), {}
        updates: dict[int, dict[str, Any]] = {}
        span = Span(0.0, audio.duration)
        for master in masters:
            with local_copy(master.original) as master_path:
                master_audio = read_audio(master_path)
            match = match_master(
                master_audio,
                audio,
                name=f"the master {master.original_filename} ({master.describe()})",
                mix_name=f"{filename} (this mix)",
            )
            span = span & match.span
            updates[master.pk] = match.fields()
        _require_excerpt(study, span, filename)
        return {}, updates
    except AnalysisError as exc:
        raise ValidationError(f"{filename}: {exc}", code="unreadable") from exc


def _duration(path: Any, filename: str) -> float:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ValidationError(f"{filename}: not a readable audio file", code="unreadable") from exc
    return float(info.frames) / float(info.samplerate)


def _require_excerpt(study: Study, span: Span, filename: str) -> None:
    start, length = study.excerpt_start, study.excerpt_length
    if not span.covers(start, length):
        raise ValidationError(
            f"{filename}: the study's excerpt ({start:g}-{start + length:g} s of the mix) does "
            f"not fit: with this file the track's versions share only {span.describe()} of "
            f"the mix's timeline; {fix_for(span, start, length)} (the study's excerpt_start "
            "and excerpt_length)",
            code="excerpt",
        )
