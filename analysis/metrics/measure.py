"""One entry point for every objective metric of a master against its mix.

:func:`measure` takes arrays, :func:`measure_files` takes paths. Both return a
:class:`MeasureResult` whose :meth:`MeasureResult.as_dict` is one flat row: the
metrics of docs/metrics.md, the alignment found, the excluded share, the parameters and
the metrics version, ready for a CSV or a JSON field.

Loudness, true peak, LRA, PLR/PSR, DR, loudness penalty and the spectral shape are
measured on the full, as-delivered master (and, prefixed ``mix_``, on the mix). The
reference-based metrics (DM, HFD, IT) are measured on the time-aligned, rate-matched
pair (docs/metrics.md, Alignment of a master to its mix). BER compares the two
long-term spectra, each measured on its own full file, so it needs no alignment.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from analysis import METRICS_VERSION
from analysis.audio import Audio, as_audio, check_rate, require_signal
from analysis.io import AudioFile, read_audio
from analysis.metrics.alignment import Alignment, align, aligned_pair, match_rates
from analysis.metrics.distortion import Distortion, distortion
from analysis.metrics.dynamic_range import DynamicRange, dynamic_range
from analysis.metrics.intelligibility import Intelligibility, intelligibility
from analysis.metrics.local_alignment import local_alignment
from analysis.metrics.loudness import LoudnessStats, measure_loudness_and_gate
from analysis.metrics.penalty import PLATFORM_TABLE_VERSION, Penalty, loudness_penalties
from analysis.metrics.spectral import Spectrum, measure_spectrum
from analysis.metrics.tonal_balance import (
    BassExcitation,
    TonalBalance,
    TonalTarget,
    bass_excitation_ratio,
    tonal_balance_deviation,
)

Scalar = float | int | str | bool | None


@dataclass(frozen=True)
class MeasureResult:
    """Every objective metric of one master against its mix.

    Attributes
    ----------
    rate : int
        Sample rate the pair was compared at, in Hz.
    master_duration, mix_duration : float
        Durations in seconds, as delivered.
    alignment : Alignment
        How the master was aligned to the mix (lag, polarity, drift, correlation).
    master, mix : LoudnessStats
        BS.1770 / EBU loudness statistics of the full, as-delivered files.
    master_dr, mix_dr : DynamicRange
        DR meter values (``dr`` is None when the file is shorter than 15 s).
    penalties : dict of str to Penalty
        Loudness penalty of the master per platform.
    distortion : Distortion
        DM and HFD by multiple coherence.
    intelligibility : Intelligibility
        IT (ESTOI) and STOI on the mid channel.
    master_spectrum, mix_spectrum : Spectrum
        Gated long-term spectra, WSC, centroid and tilt.
    bass : BassExcitation
        Bass excitation ratio of the master relative to its mix.
    tonal_balance : TonalBalance or None
        Deviation from a tonal target, when one was given.
    master_lossy, mix_lossy : bool
        Whether either input came from a lossy codec; HFD is then invalid.
    """

    rate: int
    master_duration: float
    mix_duration: float
    alignment: Alignment
    master: LoudnessStats
    mix: LoudnessStats
    master_dr: DynamicRange
    mix_dr: DynamicRange
    penalties: dict[str, Penalty]
    distortion: Distortion
    intelligibility: Intelligibility
    master_spectrum: Spectrum
    mix_spectrum: Spectrum
    bass: BassExcitation
    tonal_balance: TonalBalance | None
    master_lossy: bool = False
    mix_lossy: bool = False
    metrics_version: str = METRICS_VERSION
    parameters: dict[str, Scalar] = field(default_factory=dict)

    @property
    def hfd_valid(self) -> bool:
        """Whether HFD applies: a lossless pair whose mix has energy in an HFD band."""
        return not (self.master_lossy or self.mix_lossy) and self.distortion.hfd is not None

    @property
    def hfd_note(self) -> str:
        """Why HFD or some of its bands is not applicable (empty when all of it is)."""
        notes = []
        if self.master_lossy or self.mix_lossy:
            which = " and ".join(
                name
                for name, lossy in (("master", self.master_lossy), ("mix", self.mix_lossy))
                if lossy
            )
            notes.append(f"the {which} came from a lossy codec")
        if self.distortion.hfd_note:
            notes.append(self.distortion.hfd_note)
        if self.distortion.hfd is None and not notes:
            notes.append("no HFD band could be measured at this sample rate")
        return "; ".join(notes)

    def as_dict(self) -> dict[str, Scalar]:
        """Return one flat row of every metric, the alignment and the parameters.

        Returns
        -------
        dict
            Keys are documented in the README ("Metric keys"); values are plain
            floats, ints, strings, booleans or None (for undefined values).
        """
        row: dict[str, Scalar] = {
            "metrics_version": self.metrics_version,
            "rate": self.rate,
            "master_duration": self.master_duration,
            "mix_duration": self.mix_duration,
            "master_lossy": self.master_lossy,
            "mix_lossy": self.mix_lossy,
        }
        for prefix, stats in (("", self.master), ("mix_", self.mix)):
            row.update({f"{prefix}{key}": value for key, value in stats.as_dict().items()})
        for prefix, dr in (("", self.master_dr), ("mix_", self.mix_dr)):
            row[f"{prefix}dr"] = dr.dr
            row[f"{prefix}dr_value"] = dr.value
        for key, penalty in self.penalties.items():
            row[f"lp_{key}"] = penalty.penalty
            row[f"lp_{key}_gain"] = penalty.gain
            row[f"lp_{key}_reference"] = penalty.reference
        row["lp_table_version"] = PLATFORM_TABLE_VERSION
        row.update(self.distortion.as_dict())
        row["hfd_valid"] = self.hfd_valid
        row["hfd_note"] = self.hfd_note
        if not self.hfd_valid:
            for key in list(row):
                if key.startswith("hfd") and key not in ("hfd_valid", "hfd_note"):
                    row[key] = None
        row["it"] = self.intelligibility.estoi
        row["estoi"] = self.intelligibility.estoi
        row["stoi"] = self.intelligibility.stoi
        row["it_channel"] = self.intelligibility.channel
        for prefix, spec in (("", self.master_spectrum), ("mix_", self.mix_spectrum)):
            row[f"{prefix}wsc"] = spec.wsc
            row[f"{prefix}centroid_hz"] = spec.centroid_hz
            row[f"{prefix}tilt_db_per_octave"] = spec.tilt
        row["ber"] = self.bass.ratio
        row["ber_db"] = self.bass.db
        row["ber_250"] = self.bass.ratio_250
        row["ber_250_db"] = self.bass.db_250
        if self.tonal_balance is not None:
            row["tbd"] = self.tonal_balance.tbd
            row.update({f"tbd_{band}": v for band, v in self.tonal_balance.broad.items()})
        row.update({f"align_{key}": v for key, v in self.alignment.as_dict().items()})
        row["excluded_share"] = self.distortion.excluded_share
        row.update({f"param_{key}": v for key, v in self.parameters.items()})
        return {k: _plain(v) for k, v in row.items()}


def _plain(value: Scalar | np.generic) -> Scalar:
    """Turn numpy scalars into Python ones and non-finite floats into None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value  # type: ignore[return-value]


def measure(
    master: Audio,
    mix: Audio,
    rate: int,
    *,
    mix_rate: int | None = None,
    master_lossy: bool = False,
    mix_lossy: bool = False,
    tonal_target: TonalTarget | None = None,
    platforms: Sequence[str] | None = None,
    max_lag_seconds: float = 10.0,
    local_alignment_check: bool = True,
) -> MeasureResult:
    """Measure every objective metric of a master against its mix.

    Parameters
    ----------
    master : numpy.ndarray
        ``(samples, channels)`` audio of the master, as delivered.
    mix : numpy.ndarray
        ``(samples, channels)`` audio of the unmastered mix.
    rate : int
        Sample rate of ``master`` in Hz (and of ``mix`` unless ``mix_rate`` is given).
    mix_rate : int, optional
        Sample rate of ``mix`` when it differs; the master is then resampled to it.
    master_lossy, mix_lossy : bool
        Whether the inputs were decoded from lossy codecs (HFD is then invalid).
    tonal_target : TonalTarget, optional
        Target curve for the tonal-balance deviation (docs/metrics.md, Spectral balance).
    platforms : sequence of str, optional
        Platform keys for the loudness penalty; all known platforms by default.
    max_lag_seconds : float
        Largest offset between master and mix searched by the alignment.
    local_alignment_check : bool
        Exclude segments that do not align locally (edited masters, docs/metrics.md step 5).

    Returns
    -------
    MeasureResult
        All metrics; ``as_dict()`` gives one flat row.

    Raises
    ------
    InvalidInputError
        For empty, silent, too short or over-2-channel audio (the message names it).
    AlignmentError
        When the master cannot be aligned to its mix.

    References
    ----------
    .. [1] ITU-R BS.1770-4; EBU Tech 3341 and 3342 (loudness, true peak, LRA).
    .. [2] Pleasurize Music Foundation, "Measuring DR ENv3" (DR).
    .. [3] Jensen & Taal (2016), ESTOI; Taal et al. (2011), STOI.
    .. [4] Bendat & Piersol, multiple coherence (DM, HFD); see docs/metrics.md.

    Examples
    --------
    >>> from analysis.stimuli.synthesis import synthetic_mix, engineer_style_master
    >>> mix = synthetic_mix(30.0, 44100, seed=1)
    >>> result = measure(engineer_style_master(mix, 44100), mix, 44100)  # doctest: +SKIP
    >>> result.as_dict()["dm"]  # doctest: +SKIP
    0.0
    """
    master_rate = check_rate(rate, name="rate")
    mix_rate = check_rate(mix_rate if mix_rate is not None else rate, name="mix_rate")
    master = as_audio(master, name="master")
    mix = as_audio(mix, name="mix")
    require_signal(master, name="master", metric="measurement")
    require_signal(mix, name="mix", metric="measurement")

    with ThreadPoolExecutor(max_workers=2) as pool:
        # The single-file metrics of the delivered master and mix run beside the pair work.
        master_single = pool.submit(_single_file, master, master_rate)
        mix_single = pool.submit(_single_file, mix, mix_rate)

        m, x, common = match_rates(master, master_rate, mix, mix_rate)
        alignment = align(m, x, common, max_lag_seconds=max_lag_seconds)
        m, x = aligned_pair(m, x, alignment)
        exclude = None
        if local_alignment_check and alignment.edited:
            exclude = local_alignment(m, x, common).unaligned
        it_future = pool.submit(intelligibility, m, x, common)
        dist = distortion(m, x, common, exclude=exclude)
        intel = it_future.result()
        master_loud, master_dr, master_spec = master_single.result()
        mix_loud, mix_dr, mix_spec = mix_single.result()

    return MeasureResult(
        rate=common,
        master_duration=master.shape[0] / master_rate,
        mix_duration=mix.shape[0] / mix_rate,
        alignment=alignment,
        master=master_loud,
        mix=mix_loud,
        master_dr=master_dr,
        mix_dr=mix_dr,
        penalties=loudness_penalties(master_loud.integrated, master_loud.true_peak, platforms),
        distortion=dist,
        intelligibility=intel,
        master_spectrum=master_spec,
        mix_spectrum=mix_spec,
        bass=bass_excitation_ratio(master_spec, mix_spec),
        tonal_balance=(
            tonal_balance_deviation(master_spec, tonal_target) if tonal_target is not None else None
        ),
        master_lossy=master_lossy,
        mix_lossy=mix_lossy,
        parameters={
            "dm_threshold_db": 10.0,
            "segment_seconds": 2.0,
            "hop_seconds": 1.0,
            "it_method": "ESTOI, mid channel",
            "dr_block_rule": "132480 at 44.1 kHz, else 3*fs",
            "local_alignment": bool(exclude is not None),
        },
    )


def _single_file(x: Audio, rate: int) -> tuple[LoudnessStats, DynamicRange, Spectrum]:
    """Measure what needs only one file: loudness statistics, DR and spectrum."""
    loudness, gate = measure_loudness_and_gate(x, rate)
    return loudness, _dr_or_undefined(x, rate), measure_spectrum(x, rate, gate=gate)


def _dr_or_undefined(x: Audio, rate: int) -> DynamicRange:
    """DR is undefined (None) for files shorter than 15 s rather than an error."""
    from analysis.errors import TooShortError

    try:
        return dynamic_range(x, rate)
    except TooShortError:
        return DynamicRange(dr=None, value=None, per_channel=())


def measure_files(
    master_path: str | os.PathLike[str],
    mix_path: str | os.PathLike[str],
    **options: object,
) -> MeasureResult:
    """Read a master and its mix from files and :func:`measure` them.

    Parameters
    ----------
    master_path, mix_path : str or os.PathLike
        Audio files in any format :func:`analysis.io.read_audio` accepts.
    **options
        Passed to :func:`measure` (e.g. ``tonal_target``, ``platforms``).

    Returns
    -------
    MeasureResult
        All metrics, with the lossy flags set from the files' codecs.
    """
    return measure_decoded(read_audio(master_path), read_audio(mix_path), **options)


def measure_decoded(master: AudioFile, mix: AudioFile, **options: object) -> MeasureResult:
    """Run :func:`measure` on a decoded master and mix (:class:`analysis.io.AudioFile`).

    Each keeps its own sample rate, the lossy flags come from their codecs, and
    ``options`` go to :func:`measure`, as for :func:`measure_files` (which reads the
    files and calls this).
    """
    return measure(
        master.samples,
        mix.samples,
        master.rate,
        mix_rate=mix.rate,
        master_lossy=master.lossy,
        mix_lossy=mix.lossy,
        **options,  # type: ignore[arg-type]
    )
