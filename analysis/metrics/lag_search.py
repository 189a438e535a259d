"""Lag search in windows and the drift check of the alignment (docs/metrics.md steps 2-3).

:class:`LagSearch` estimates the lag of a window of the mix in the master (a whitened
8 kHz search, then GCC-PHAT at full rate with its sub-sample peak);
:class:`DriftCheck` re-estimates the lag in windows at 10 %, 50 % and 90 % of the
overlap and tells agreement, a clock drift (lags on a line, removed by resampling)
and an edit apart. :func:`analysis.metrics.alignment.align` runs both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.audio import Audio, Signal
from analysis.metrics.correlation import (
    SILENT_POWER,
    correlation_peak,
    downmix,
    mono_padded,
    ncc,
    padded,
    phat_peak,
    tapered,
    undrift,
    whitened_xcorr,
)

#: Rate of the coarse GCC-PHAT search, in Hz (docs/metrics.md, alignment).
COARSE_RATE = 8000
#: Where the drift windows sit, as fractions of the overlapping span.
DRIFT_POSITIONS = (0.1, 0.5, 0.9)
#: Shortest drift window and length of the drift probes, in seconds; pairs that
#: overlap by less than five of these are not drift-checked.
MIN_DRIFT_WINDOW_SECONDS = 2.0
#: Largest clock drift searched for (relative): 0.1 % covers NTSC pull-up/down and
#: is far beyond real clock errors (a 44.1 kHz file labelled 44.11 kHz is 0.023 %).
MAX_DRIFT = 1e-3
#: Window lags that differ by more than this many samples indicate drift.
DRIFT_TOLERANCE_SAMPLES = 2
#: Residual lags that scatter by more than this indicate an edited master, in s.
EDIT_TOLERANCE_SECONDS = 0.005

_DRIFT_ITERATIONS = 4
# Largest fit residual, as a fraction of the spread, of probe lags taken as a drift.
_STRAIGHTNESS = 0.1


@dataclass(frozen=True)
class LagEstimate:
    """A lag estimate: sub-sample lag and signed normalised correlation (NaN: silence)."""

    lag: float
    correlation: float

    @property
    def heard(self) -> bool:
        """Whether the window had signal (its correlation is finite)."""
        return math.isfinite(self.correlation)


@dataclass(frozen=True)
class LagSearch:
    """Mix and master at full rate and mono at 8 kHz, and the lag search on them."""

    mix: Audio
    master: Audio  # or the drift-corrected mono downmix, as (samples, 1)
    x8: Signal
    y8: Signal | None  # None: search only at full rate (a drift-corrected master)
    rate: int

    @property
    def fine_search(self) -> int:
        """``W = 2·fs/8000 + 2``: the accuracy of an 8 kHz lag, with a margin."""
        return math.ceil(2 * self.rate / COARSE_RATE) + 2

    def undrifted(self, drift: float) -> LagSearch:
        """Return the same search on the master resampled by ``1 + drift``."""
        master = undrift(downmix(self.master), drift)[:, np.newaxis]
        return LagSearch(self.mix, master, self.x8, None, self.rate)

    def estimate(self, start: int, length: int, lag: int, allowance: int) -> LagEstimate:
        """Lag of ``x[start : start + length]`` in ``y`` within ``lag ± allowance``.

        A whitened search at 8 kHz over the allowance when it is wider than ``W``,
        then the normalised plain cross-correlation at full rate over ``±W``.
        """
        xs = downmix(self.mix[start : start + length])
        if float(xs @ xs) <= SILENT_POWER * length:
            return LagEstimate(float(lag), math.nan)
        search = self.fine_search
        if allowance <= search or self.y8 is None:
            search += allowance
        else:
            scale = COARSE_RATE / self.rate
            start8, stop8 = round(start * scale), round((start + length) * scale)
            lag8, search8 = round(lag * scale), math.ceil(allowance * scale) + 1
            x8 = self.x8[start8:stop8]
            if x8.size and float(x8 @ x8) > 0:
                y8 = padded(self.y8, start8 + lag8 - search8, stop8 + lag8 + search8)
                r8 = whitened_xcorr(tapered(x8, COARSE_RATE), y8)
                lag = round((lag8 - search8 + correlation_peak(r8)[0]) / scale)
        ys = mono_padded(self.master, start + lag - search, start + length + lag + search)
        index, offset = phat_peak(tapered(xs, self.rate), ys)
        return LagEstimate(lag - search + index + offset, ncc(xs, ys, index))


@dataclass(frozen=True)
class LagLine:
    """A straight line through lag estimates, and how well they agree."""

    matched: bool  # every heard window correlates at least min_correlation
    spread: float  # max - min of the heard lags
    slope: float
    intercept: float
    residual: float  # largest distance of a heard lag from the line

    @classmethod
    def fit(
        cls, estimates: list[LagEstimate], centres: list[float], min_correlation: float
    ) -> LagLine:
        """Fit a line through the heard estimates at their window centres."""
        heard = [(c, e) for c, e in zip(centres, estimates, strict=True) if e.heard]
        matched = all(abs(e.correlation) >= min_correlation for _, e in heard)
        if len(heard) < 2:
            return cls(matched, 0.0, 0.0, heard[0][1].lag if heard else 0.0, 0.0)
        t = np.array([c for c, _ in heard])
        lags = np.array([e.lag for _, e in heard])
        slope, intercept = np.polyfit(t, lags, 1)
        residual = float(np.max(np.abs(lags - (intercept + slope * t))))
        return cls(matched, float(np.ptp(lags)), float(slope), float(intercept), residual)


@dataclass(frozen=True)
class DriftCheck:
    """The drift check on windows at 10 %, 50 % and 90 % of the overlap."""

    search: LagSearch
    start: int
    stop: int
    window: int
    excerpt: int  # start of the central fine-alignment excerpt
    length: int  # its length
    min_correlation: float

    def run(self, central: LagEstimate) -> tuple[float, LagEstimate, tuple[int, ...], bool]:
        """Check the windows, correct drift if they lie on a line, and detect edits.

        Returns the drift, the central estimate (after any correction), the window
        lags before correction, and whether the master was edited.
        """
        rate = self.search.rate
        edit_tolerance = EDIT_TOLERANCE_SECONDS * rate
        lag = round(central.lag)
        windows = self._measure(self.search, self.window, lag, central, drifting=True)
        window_lags = tuple(round(e.lag) for e in windows)
        line = LagLine.fit(windows, self._centres(self.window), self.min_correlation)
        if line.matched and line.spread <= DRIFT_TOLERANCE_SAMPLES:
            return 0.0, central, window_lags, False

        # Drift smears long windows; short probes tell a drift (a line) from an edit.
        probe = round(MIN_DRIFT_WINDOW_SECONDS * rate)
        probes = self._measure(self.search, probe, lag, None, drifting=True)
        trend = LagLine.fit(probes, self._centres(probe), self.min_correlation)
        # Three lags on a line leave residuals far below their spread; a step (an
        # edit between two windows) leaves a third of it, scatter about as much.
        straight = trend.residual <= max(DRIFT_TOLERANCE_SAMPLES, _STRAIGHTNESS * trend.spread)
        if not (
            trend.matched
            and trend.spread > DRIFT_TOLERANCE_SAMPLES
            and straight
            and trend.residual <= edit_tolerance
            and abs(trend.slope) <= 2 * MAX_DRIFT  # estimates near the limit scatter
        ):
            return 0.0, central, window_lags, not line.matched or line.spread > edit_tolerance

        # Resample the master and re-measure on the long windows until the lags are flat.
        drift = 0.0
        margin = math.ceil(trend.residual + MAX_DRIFT * probe) + DRIFT_TOLERANCE_SAMPLES
        for _ in range(_DRIFT_ITERATIONS):
            drift = (1.0 + drift) * (1.0 + trend.slope) - 1.0
            predicted = round(trend.intercept / (1.0 + trend.slope))
            corrected = self.search.undrifted(drift)
            central = corrected.estimate(self.excerpt, self.length, predicted, margin)
            windows = self._measure(corrected, self.window, predicted, central, margin=margin)
            trend = LagLine.fit(windows, self._centres(self.window), self.min_correlation)
            margin = math.ceil(trend.spread) + DRIFT_TOLERANCE_SAMPLES
            if not trend.matched or abs(trend.slope) * (self.stop - self.start) < 0.5:
                break
        edited = not trend.matched or trend.spread > edit_tolerance
        return drift, central, window_lags, edited

    def _starts(self, window: int) -> list[int]:
        span = self.stop - self.start
        return [self.start + round(p * (span - window)) for p in DRIFT_POSITIONS]

    def _centres(self, window: int) -> list[float]:
        return [s + window / 2 for s in self._starts(window)]

    def _measure(
        self,
        search: LagSearch,
        window: int,
        lag: int,
        central: LagEstimate | None,
        *,
        drifting: bool = False,
        margin: int = 0,
    ) -> list[LagEstimate]:
        """Estimate the lag on each window; reuse the central estimate when it is one."""
        middle = self.excerpt + self.length / 2
        out = []
        for start, centre in zip(self._starts(window), self._centres(window), strict=True):
            if central is not None and start == self.excerpt and window == self.length:
                out.append(central)
                continue
            allowance = margin
            if drifting:  # the lag may wander by MAX_DRIFT away from the central excerpt
                allowance = math.ceil(MAX_DRIFT * (abs(centre - middle) + self.length / 2))
            out.append(search.estimate(start, window, lag, allowance))
        return out
