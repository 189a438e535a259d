"""The measure() entry point: one flat, typed row per master, checked against direct calls."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyloudnorm as pyln
import pytest
import soundfile as sf
from pystoi import stoi

from analysis import METRICS_VERSION
from analysis.audio import resample
from analysis.errors import (
    AlignmentError,
    ChannelCountError,
    EmptyAudioError,
    SilentAudioError,
    UnreadableAudioError,
)
from analysis.metrics.measure import measure, measure_files
from analysis.stimuli.synthesis import ai_style_master, engineer_style_master, synthetic_mix

RATE = 44100


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    mix = synthetic_mix(20.0, RATE, genre="rock", seed=11)
    return engineer_style_master(mix, RATE), mix


@pytest.fixture(scope="module")
def result_row(pair: tuple[np.ndarray, np.ndarray]) -> dict[str, object]:
    master, mix = pair
    delayed = np.concatenate([np.zeros((RATE // 2, 2)), master])  # 0.5 s of added lead-in
    return measure(delayed, mix, RATE).as_dict()


def test_it_returns_one_flat_row_of_plain_values(result_row: dict[str, object]) -> None:
    for key in (
        "integrated", "true_peak", "loudness_range", "plr", "psr", "dr", "dr_value",
        "lp_spotify", "dm", "median_csdr", "hfd", "it", "stoi", "wsc", "centroid_hz",
        "tilt_db_per_octave", "ber", "ber_db", "align_lag", "align_polarity",
        "excluded_share", "metrics_version", "mix_integrated",
    ):  # fmt: skip
        assert key in result_row, key
    for key, value in result_row.items():
        assert value is None or isinstance(value, (int, float, str, bool)), key
    assert result_row["metrics_version"] == METRICS_VERSION


def test_it_recovers_the_added_lead_in(result_row: dict[str, object]) -> None:
    assert result_row["align_lag"] == RATE // 2
    assert result_row["align_polarity"] == 1


def test_it_agrees_with_outside_references(
    pair: tuple[np.ndarray, np.ndarray], result_row: dict[str, object]
) -> None:
    master, mix = pair
    # BS.1770 integrated loudness: pyloudnorm's exact-filter class is the outside reference.
    reference = pyln.Meter(RATE, filter_class="DeMan").integrated_loudness(master)
    assert result_row["integrated"] == pytest.approx(reference, abs=0.02)
    # ESTOI of the mid channels, by pystoi directly on the aligned pair (no delay here).
    estoi = stoi(mix.mean(axis=1), master.mean(axis=1), RATE, extended=True)
    assert result_row["it"] == pytest.approx(estoi, abs=1e-3)
    # PLR is true peak minus integrated loudness by definition.
    plr = float(result_row["true_peak"]) - float(result_row["integrated"])  # type: ignore[arg-type]
    assert result_row["plr"] == pytest.approx(plr, abs=1e-9)


def test_the_ai_style_master_is_louder_and_less_dynamic(
    pair: tuple[np.ndarray, np.ndarray],
) -> None:
    _, mix = pair
    ai = measure(ai_style_master(mix, RATE), mix, RATE).as_dict()
    human = measure(engineer_style_master(mix, RATE), mix, RATE).as_dict()
    assert ai["integrated"] > human["integrated"] + 3  # type: ignore[operator]
    assert ai["dr_value"] < human["dr_value"]  # type: ignore[operator]
    assert ai["lp_spotify"] < human["lp_spotify"] <= 0  # type: ignore[operator]
    assert ai["ber"] > human["ber"]  # type: ignore[operator]


def test_it_is_invariant_to_gain_and_polarity_of_the_master(
    pair: tuple[np.ndarray, np.ndarray],
) -> None:
    master, mix = pair
    base = measure(master, mix, RATE).as_dict()
    flipped = measure(-0.5 * master, mix, RATE).as_dict()
    assert flipped["align_polarity"] == -1
    for key in ("dm", "median_csdr", "hfd", "it", "stoi", "ber", "wsc"):
        assert flipped[key] == pytest.approx(base[key], rel=1e-6, abs=1e-6), key
    assert flipped["integrated"] == pytest.approx(base["integrated"] - 6.0206, abs=1e-3)


def test_it_measures_a_master_delivered_at_another_rate(
    pair: tuple[np.ndarray, np.ndarray],
) -> None:
    master, mix = pair
    master48 = resample(master, RATE, 48000)
    row = measure(master48, mix, 48000, mix_rate=RATE).as_dict()
    assert row["rate"] == RATE
    assert abs(int(row["align_lag"])) <= 1  # type: ignore[call-overload]
    assert row["dm"] == 0.0


def test_lossy_input_invalidates_hfd(tmp_path: Path, pair: tuple[np.ndarray, np.ndarray]) -> None:
    master, mix = pair
    sf.write(tmp_path / "master.mp3", master, RATE, format="MP3")
    sf.write(tmp_path / "mix.wav", mix, RATE, subtype="PCM_24")
    row = measure_files(tmp_path / "master.mp3", tmp_path / "mix.wav").as_dict()
    assert row["master_lossy"] is True
    assert row["hfd_valid"] is False
    assert row["hfd"] is None
    assert row["dm"] is not None


def test_a_silent_master_is_refused_with_a_clear_message(
    pair: tuple[np.ndarray, np.ndarray],
) -> None:
    _, mix = pair
    with pytest.raises(SilentAudioError, match="master is digital silence"):
        measure(np.zeros_like(mix), mix, RATE)


def test_an_unrelated_master_is_refused(pair: tuple[np.ndarray, np.ndarray]) -> None:
    _, mix = pair
    other = synthetic_mix(20.0, RATE, genre="jazz", seed=99)
    with pytest.raises(AlignmentError, match="correlation"):
        measure(other, mix, RATE)


def test_bad_files_are_named(tmp_path: Path, pair: tuple[np.ndarray, np.ndarray]) -> None:
    _, mix = pair
    sf.write(tmp_path / "mix.wav", mix, RATE)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("these are not samples")
    sf.write(tmp_path / "surround.wav", np.zeros((RATE, 3)) + 0.1, RATE)
    with pytest.raises(EmptyAudioError, match=r"empty\.wav"):
        measure_files(tmp_path / "empty.wav", tmp_path / "mix.wav")
    with pytest.raises(UnreadableAudioError, match=r"notes\.wav: not a readable audio file"):
        measure_files(tmp_path / "notes.wav", tmp_path / "mix.wav")
    with pytest.raises(ChannelCountError, match="3 channels"):
        measure_files(tmp_path / "surround.wav", tmp_path / "mix.wav")
    with pytest.raises(UnreadableAudioError, match="no such file"):
        measure_files(tmp_path / "missing.wav", tmp_path / "mix.wav")


def test_short_files_leave_dr_undefined_not_wrong() -> None:
    mix = synthetic_mix(10.0, RATE, seed=3)
    row = measure(engineer_style_master(mix, RATE), mix, RATE).as_dict()
    assert row["dr"] is None
    assert row["dr_value"] is None
    assert row["integrated"] is not None
    assert math.isfinite(float(row["integrated"]))
