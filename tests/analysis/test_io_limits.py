"""Decode bombs: read_audio bounds what decoding costs from the header, before any allocation.

The files are small valid ones whose headers were rewritten to state a rate, a channel
count or a length that would make decoding allocate gigabytes (tests/crafted_audio.py).
Every one is refused with AudioTooLargeError naming the limit, and the refusal costs
kilobytes of memory, measured with tracemalloc (numpy reports its buffers to it).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.errors import (
    AudioTooLargeError,
    ChannelCountError,
    InvalidInputError,
    UnreadableAudioError,
)
from analysis.io import DecodeLimits, read_audio, read_header
from tests import crafted_audio as crafted

LIMITS = DecodeLimits(max_rate=192_000, max_seconds=1800, max_bytes=2**30)
#: The attack's file: 655,350 Hz stereo for 1,790 s (17.5 GiB as float64).
ATTACK_FRAMES = 1790 * 655_350


def refused(tmp_path: Path, name: str, data: bytes, limits: DecodeLimits = LIMITS) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLargeError) as raised:
            read_audio(path, limits=limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"{name}: {peak} bytes allocated before refusing"
    message = str(raised.value)
    assert message.startswith(f"{name}: "), message
    return message


CASES: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("rate.wav", lambda: crafted.wav(rate=655_350), "rate", "655350 Hz"),
    ("rate.flac", lambda: crafted.flac(rate=655_350, frames=ATTACK_FRAMES), "rate", "655350 Hz"),
    ("rate.ogg", lambda: crafted.ogg(rate=655_350), "rate", "655350 Hz"),
    ("rate.aiff", lambda: crafted.aiff(rate=655_350), "rate", "655350 Hz"),
    ("slow.wav", lambda: crafted.wav(rate=1), "rate", "1 Hz"),
    ("long.flac", lambda: crafted.flac(frames=2**35), "seconds", "minutes of audio"),
    ("long.ogg", lambda: crafted.ogg(frames=2**40), "seconds", "minutes of audio"),
    ("long.mp3", lambda: crafted.mp3(frames=2**30), "seconds", "minutes of audio"),
]


@pytest.mark.parametrize(("name", "make", "limit", "fragment"), CASES)
def test_a_lying_header_is_refused_before_decoding(
    tmp_path: Path, name: str, make: Callable[[], bytes], limit: str, fragment: str
) -> None:
    data = make()
    message = refused(tmp_path, name, data)
    assert fragment in message
    with pytest.raises(AudioTooLargeError) as raised:
        read_audio(tmp_path / name, limits=LIMITS)
    assert raised.value.limit == limit


def test_the_decoded_size_is_bounded_by_frames_times_channels(tmp_path: Path) -> None:
    # 30 minutes at 192 kHz stereo pass the rate and the duration: 2.6 GiB as float64.
    data = crafted.flac(rate=192_000, frames=1799 * 192_000)
    message = refused(tmp_path, "big.flac", data)
    assert "decode to 5.15 GiB" in message
    assert "limit of 1.00 GiB" in message
    # The same header within a larger budget is decoded (it holds one second of audio).
    header = read_header(tmp_path / "big.flac")
    assert (header.rate, header.channels, header.frames) == (192_000, 2, 1799 * 192_000)
    assert header.decoded_bytes == 1799 * 192_000 * 2 * 8


def test_a_stream_that_states_no_length_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "unknown.flac"
    path.write_bytes(crafted.flac(frames=0))  # STREAMINFO: 0 = length not stated
    assert read_header(path).frames is None
    for limits in (LIMITS, None):  # a whole read would allocate for 2**63 frames
        tracemalloc.start()
        try:
            with pytest.raises(UnreadableAudioError, match="does not state its length"):
                read_audio(path, limits=limits)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 2_000_000


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("cut.flac", lambda: crafted.flac()[:5000]),
        ("cut.ogg", lambda: crafted.ogg()[:5000]),
        ("cut.mp3", lambda: crafted.mp3()[:3000]),
        ("cut.wav", lambda: crafted.wav()[:3000]),
        ("cut.aiff", lambda: crafted.aiff()[:3000]),
        ("lying.wav", lambda: crafted.wav(data_bytes=0xFFFFFFF0)),
        ("lying.aiff", lambda: crafted.aiff(frames=2**31)),
    ],
)
def test_truncated_files_decode_what_they_hold_or_are_refused(
    tmp_path: Path, name: str, make: Callable[[], Any]
) -> None:
    path = tmp_path / name
    path.write_bytes(make())
    tracemalloc.start()
    try:
        try:
            audio = read_audio(path, limits=LIMITS)
        except InvalidInputError:  # unreadable, or no samples left
            audio = None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, f"{name}: {peak} bytes"
    if audio is not None:
        assert audio.samples.shape[0] <= 48000
        assert np.all(np.isfinite(audio.samples))


@pytest.mark.parametrize(
    ("name", "make", "channels"),
    [
        ("channels.wav", lambda: crafted.wav(channels=64), 64),
        ("channels.flac", lambda: crafted.flac(channels=8), 8),
        ("channels.aiff", lambda: crafted.aiff(channels=64), 64),
    ],
)
def test_channels_are_checked_from_the_header_with_or_without_limits(
    tmp_path: Path, name: str, make: Callable[[], bytes], channels: int
) -> None:
    path = tmp_path / name
    path.write_bytes(make())
    for limits in (LIMITS, None):
        tracemalloc.start()
        try:
            with pytest.raises(ChannelCountError, match=f"{channels} channels; only mono and"):
                read_audio(path, limits=limits)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 2_000_000
