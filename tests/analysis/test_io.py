"""The file edge: every container soundfile reads, lossy flags, and named errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis.errors import (
    ChannelCountError,
    EmptyAudioError,
    InvalidInputError,
    UnreadableAudioError,
)
from analysis.io import read_audio, write_audio

RATE = 44100


@pytest.fixture
def tone() -> np.ndarray:
    t = np.arange(RATE) / RATE
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([left, 0.5 * left], axis=1)


@pytest.mark.parametrize(
    ("name", "options", "lossy", "tolerance"),
    [
        ("x.wav", {"subtype": "PCM_24"}, False, 2**-22),
        ("x.flac", {"subtype": "PCM_24"}, False, 2**-22),
        ("x.aiff", {"subtype": "PCM_16"}, False, 2**-14),
        ("x.ogg", {"format": "OGG", "subtype": "VORBIS"}, True, None),
        ("x.mp3", {"format": "MP3"}, True, None),
    ],
)
def test_it_reads_every_supported_container(
    tmp_path: Path,
    tone: np.ndarray,
    name: str,
    options: dict[str, str],
    lossy: bool,
    tolerance: float | None,
) -> None:
    sf.write(tmp_path / name, tone, RATE, **options)
    audio = read_audio(tmp_path / name)
    assert audio.rate == RATE
    assert audio.channels == 2
    assert audio.samples.dtype == np.float64
    assert audio.lossy is lossy
    if tolerance is not None:  # lossless: the samples themselves, to the quantisation step
        np.testing.assert_allclose(audio.samples, tone, atol=tolerance)
    else:  # lossy codecs add delay and padding; the level is still the tone's
        rms = np.sqrt(np.mean(audio.samples[RATE // 4 : RATE // 2, 0] ** 2))
        assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


def test_mono_files_are_samples_by_one(tmp_path: Path, tone: np.ndarray) -> None:
    sf.write(tmp_path / "mono.wav", tone[:, 0], RATE)
    assert read_audio(tmp_path / "mono.wav").samples.shape == (RATE, 1)


def test_it_names_an_unsupported_container(tmp_path: Path, tone: np.ndarray) -> None:
    sf.write(tmp_path / "x.au", tone, RATE, format="AU")
    with pytest.raises(UnreadableAudioError, match=r"x\.au: unsupported audio format 'AU'"):
        read_audio(tmp_path / "x.au")


def test_it_names_a_truncated_file(tmp_path: Path, tone: np.ndarray) -> None:
    sf.write(tmp_path / "x.flac", tone, RATE)
    blob = (tmp_path / "x.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(blob[:40])  # the header, and no stream info
    with pytest.raises(UnreadableAudioError, match=r"cut\.flac"):
        read_audio(tmp_path / "cut.flac")


def test_it_names_empty_and_sample_less_files(tmp_path: Path) -> None:
    (tmp_path / "zero.wav").write_bytes(b"")
    sf.write(tmp_path / "none.wav", np.zeros((0, 2)), RATE)
    with pytest.raises(EmptyAudioError, match=r"zero\.wav: the file is empty"):
        read_audio(tmp_path / "zero.wav")
    with pytest.raises(EmptyAudioError, match=r"none\.wav: the file holds no samples"):
        read_audio(tmp_path / "none.wav")


def test_it_refuses_more_than_two_channels(tmp_path: Path) -> None:
    sf.write(tmp_path / "six.wav", np.full((RATE, 6), 0.1), RATE)
    with pytest.raises(ChannelCountError, match="6 channels; only mono and stereo"):
        read_audio(tmp_path / "six.wav")


def test_a_text_file_with_an_audio_name_is_not_audio(tmp_path: Path) -> None:
    (tmp_path / "song.mp3").write_text("<html>not found</html>" * 20)
    with pytest.raises(UnreadableAudioError, match=r"song\.mp3: not a readable audio file"):
        read_audio(tmp_path / "song.mp3")


def test_write_audio_refuses_to_clip(tmp_path: Path, tone: np.ndarray) -> None:
    with pytest.raises(InvalidInputError, match="would clip"):
        write_audio(tmp_path / "loud.flac", tone * 3, RATE)
    write_audio(tmp_path / "ok.flac", tone, RATE)
    assert sf.info(str(tmp_path / "ok.flac")).subtype == "PCM_24"
