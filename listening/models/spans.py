"""Where a track's versions have audio on the mix's timeline, and whether an excerpt fits.

Spans are in seconds of the mix's timeline: a master aligned with lag ``L`` at its own
rate ``r`` (``master[n + L]`` lines up with ``mix[n]``) covers ``[-L/r, duration - L/r]``.
A rule on stored tracks (the study's excerpt must fit every track), so it lives with the
models; the upload checks that measure new files are in ``listening.stimuli.material_checks``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from listening.models import Stimulus, Study, Track

#: Shortest excerpt the importer will choose when the default does not fit.
MIN_EXCERPT_SECONDS = 3.0
#: Room kept at each end of the shared span when the importer places a default excerpt.
EDGE_SECONDS = 0.5


@dataclass(frozen=True)
class Span:
    """Where a version (or every version of a track) has audio, in the mix's timeline."""

    start: float
    stop: float

    @property
    def length(self) -> float:
        return max(0.0, self.stop - self.start)

    def __and__(self, other: Span) -> Span:
        return Span(max(self.start, other.start), min(self.stop, other.stop))

    def covers(self, start: float, length: float) -> bool:
        # A sample's worth of rounding must not refuse an excerpt that fits exactly.
        return start >= self.start - 1e-6 and start + length <= self.stop + 1e-6

    def describe(self) -> str:
        return f"{self.start:.2f}-{self.stop:.2f} s"


def master_span(duration: float, lag: int | None, rate: int | None) -> Span:
    """The span of a master of ``duration`` seconds aligned with ``lag`` samples at ``rate``."""
    shift = lag / rate if lag is not None and rate else 0.0
    return Span(-shift, duration - shift)


def stimulus_span(stimulus: Stimulus) -> Span | None:
    """The span of a stored mix or master (None when its duration is unknown)."""
    if stimulus.original_duration is None:
        return None
    if stimulus.role == "mix":
        return Span(0.0, stimulus.original_duration)
    return master_span(stimulus.original_duration, stimulus.alignment_lag, stimulus.original_rate)


def track_span(track: Track, *, extra: Span | None = None, without: int | None = None) -> Span:
    """The span every source of a track shares (plus ``extra``; ``without`` a stimulus id)."""
    span = Span(0.0, math.inf)
    for stimulus in track.sources:
        if stimulus.pk == without:
            continue
        own = stimulus_span(stimulus)
        if own is not None:
            span = span & own
    return span & extra if extra is not None else span


def excerpt_problems(study: Study, start: float, length: float) -> list[str]:
    """Every track whose sources do not all cover ``start .. start + length`` of the mix."""
    problems = []
    for track in study.tracks.prefetch_related("stimuli"):
        if not track.sources:
            continue
        span = track_span(track)
        if not span.covers(start, length):
            problems.append(
                f"the excerpt {start:g}-{start + length:g} s does not fit track "
                f"{track.title!r}: its versions share only {span.describe()} of the mix's "
                f"timeline; {fix_for(span, start, length)}"
            )
    return problems


def fix_for(span: Span, start: float, length: float) -> str:
    """Name the change that makes an excerpt fit ``span``."""
    if span.length < length:
        return f"choose an excerpt of at most {math.floor(span.length * 10) / 10:g} s"
    latest = math.floor((span.stop - length) * 10) / 10
    earliest = math.ceil(max(span.start, 0.0) * 10) / 10
    return f"choose an excerpt start between {earliest:g} and {latest:g} s for {length:g} s"


def fitted_excerpt(
    span: Span,
    start: float,
    length: float,
    *,
    keep_start: bool = False,
    keep_length: bool = False,
) -> tuple[float, float] | None:
    """An excerpt inside ``span``: the requested one if it fits; otherwise the start and
    length not marked "keep" are changed (a length is shortened to the span less its
    edges, a start centres the excerpt in the span). None when nothing fits, or the
    excerpt would be shorter than :data:`MIN_EXCERPT_SECONDS`."""
    if span.covers(start, length):
        return start, length
    lo = max(span.start, 0.0)
    if keep_start and keep_length:
        return None
    if keep_start:
        fitted = math.floor((span.stop - start - EDGE_SECONDS) * 10) / 10
        fitted = min(length, fitted)
        ok = fitted >= MIN_EXCERPT_SECONDS and span.covers(start, fitted)
        return (start, fitted) if ok else None
    if not keep_length:
        room = span.stop - lo - 2 * EDGE_SECONDS
        length = min(length, math.floor(room * 10) / 10)
        if length < MIN_EXCERPT_SECONDS:
            return None
    if span.stop - lo < length:
        return None
    middle = math.floor((lo + (span.stop - lo - length) / 2) * 10) / 10
    return (middle, length) if span.covers(middle, length) else None
