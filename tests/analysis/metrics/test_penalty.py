"""Loudness penalty per platform (docs/metrics.md), checked against the platforms' own rules."""

from __future__ import annotations

import dataclasses

import pytest

from analysis.errors import InvalidInputError
from analysis.metrics.penalty import (
    PLATFORM_TABLE_DATE,
    PLATFORM_TABLE_VERSION,
    PLATFORMS,
    loudness_penalties,
    loudness_penalty,
)


def test_spotifys_worked_example() -> None:
    # support.spotify.com "Loudness normalization": a -20 LUFS track with a -5 dBTP peak
    # is lifted only to -16 LUFS, keeping its peak at -1 dBTP.
    p = loudness_penalty(-20.0, -5.0, "spotify")
    assert p.reference == -14.0
    assert p.gain == pytest.approx(4.0, abs=1e-12)
    assert p.penalty == 0.0


@pytest.mark.parametrize("key", sorted(PLATFORMS))
def test_loud_tracks_are_turned_down_to_the_reference_everywhere(key: str) -> None:
    platform = PLATFORMS[key]
    p = loudness_penalty(-6.0, 0.5, key)
    if platform.reference is None:  # SoundCloud by default: no normalisation
        assert (p.gain, p.penalty) == (0.0, 0.0)
    else:
        assert p.gain == pytest.approx(platform.reference + 6.0, abs=1e-12)
        assert p.penalty == p.gain < 0


@pytest.mark.parametrize("key", [k for k, p in PLATFORMS.items() if p.mode == "down_only"])
def test_down_only_platforms_never_turn_up(key: str) -> None:
    for integrated in (-30.0, -20.0, -15.5):  # quieter than every reference
        p = loudness_penalty(integrated, -10.0, key)
        assert (p.gain, p.penalty) == (0.0, 0.0)


def test_headroom_limited_gain_stops_at_the_peak_ceiling() -> None:
    # Apple Music: reference -16 LUFS, ceiling -1 dBTP.
    assert loudness_penalty(-20.0, -8.0, "apple_music").gain == pytest.approx(4.0)  # full lift
    assert loudness_penalty(-20.0, -3.0, "apple_music").gain == pytest.approx(2.0)  # to -1 dBTP
    assert loudness_penalty(-20.0, 0.5, "apple_music").gain == 0.0  # already over the ceiling


def test_the_limiter_mode_turns_up_fully_regardless_of_peaks() -> None:
    p = loudness_penalty(-20.0, -0.1, "spotify_loud")  # reference -11 LUFS
    assert p.gain == pytest.approx(9.0, abs=1e-12)
    assert p.penalty == 0.0


def test_penalties_cover_every_platform_and_keep_the_reference() -> None:
    result = loudness_penalties(-8.0, -0.2)
    assert list(result) == list(PLATFORMS)
    assert result["youtube"].penalty == pytest.approx(-6.0)
    assert result["deezer"].penalty == pytest.approx(-7.0)
    assert result["spotify_quiet"].reference == -19.0
    assert result["soundcloud"].reference is None
    assert PLATFORM_TABLE_VERSION == "2025-06"
    assert PLATFORM_TABLE_DATE


def test_soundcloud_normalisation_is_configurable() -> None:
    table = {
        **PLATFORMS,
        "soundcloud": dataclasses.replace(PLATFORMS["soundcloud"], reference=-14.0),
    }
    p = loudness_penalties(-9.0, -0.3, ["soundcloud"], table=table)["soundcloud"]
    assert p.reference == -14.0
    assert p.penalty == pytest.approx(-5.0)


def test_unknown_platforms_and_bad_levels_are_named() -> None:
    with pytest.raises(InvalidInputError, match=r"platform='napster' is unknown; known .*spotify"):
        loudness_penalty(-9.0, -1.0, "napster")
    with pytest.raises(InvalidInputError, match="napster"):
        loudness_penalties(-9.0, -1.0, ["spotify", "napster"])
    with pytest.raises(InvalidInputError, match="integrated=-inf"):
        loudness_penalty(float("-inf"), -1.0, "spotify")
