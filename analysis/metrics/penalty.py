"""Loudness penalty: the gain a streaming platform applies with normalisation on.

After loudnesspenalty.com (Meter Plugs / Ian Shepherd). For a track with integrated
loudness ``I`` and true peak ``TP`` the platform's gain is ``G = R_p - I`` for loud
tracks; quiet tracks are turned up fully (``limiter``), up to a peak ceiling
(``headroom_limited``) or not at all (``down_only``). The penalty is ``min(0, G)``.
Platforms change their policies, so the table is versioned and dated, and every
result carries the reference level it was computed against. See
docs/metrics.md (Loudness penalty per platform).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from analysis.errors import InvalidInputError

__all__ = [
    "PLATFORMS",
    "PLATFORM_TABLE_DATE",
    "PLATFORM_TABLE_VERSION",
    "Penalty",
    "Platform",
    "loudness_penalties",
    "loudness_penalty",
]

Mode = Literal["down_only", "headroom_limited", "limiter"]

PLATFORM_TABLE_VERSION = "2025-06"
"""Version of :data:`PLATFORMS`; store it with every penalty."""
PLATFORM_TABLE_DATE = "2025-06"
"""When the policies in :data:`PLATFORMS` were last checked against their sources."""


@dataclass(frozen=True)
class Platform:
    """One platform's loudness-normalisation policy.

    Attributes
    ----------
    key : str
        Identifier used in results (``"spotify"``, ``"apple_music"`` ...).
    name : str
        Display name.
    reference : float or None
        Playback reference level ``R_p`` in LUFS; None when the platform does not
        normalise (the gain is then 0).
    mode : {"down_only", "headroom_limited", "limiter"}
        How quiet tracks are treated: never turned up; turned up no further than
        ``peak_ceiling`` allows; turned up fully with a limiter after the gain.
    peak_ceiling : float or None
        ``H_p`` in dBTP for ``headroom_limited`` (for ``limiter``, the limiter's
        threshold, for information only).
    confidence : str
        ``"official"``, ``"secondary"`` or ``"low"``: how well the policy is sourced.
    source : str
        Where the policy comes from.
    """

    key: str
    name: str
    reference: float | None
    mode: Mode
    peak_ceiling: float | None
    confidence: str
    source: str


_SPOTIFY = "https://support.spotify.com/us/artists/article/loudness-normalization"

PLATFORMS: Mapping[str, Platform] = {
    p.key: p
    for p in (
        Platform(
            "spotify", "Spotify (Normal)", -14.0, "headroom_limited", -1.0, "official", _SPOTIFY
        ),
        Platform("spotify_loud", "Spotify (Loud)", -11.0, "limiter", -1.0, "official", _SPOTIFY),
        Platform(
            "spotify_quiet",
            "Spotify (Quiet)",
            -19.0,
            "headroom_limited",  # the level is official; the turn-up rule is assumed
            -1.0,
            "official",
            _SPOTIFY,
        ),
        Platform(
            "youtube",
            "YouTube",
            -14.0,
            "down_only",
            None,
            "secondary",
            "https://tuberlife.com/youtube-and-reference-loudness-level",
        ),
        Platform(
            "apple_music",
            "Apple Music (Sound Check)",
            -16.0,
            "headroom_limited",
            -1.0,
            "secondary",
            "Production Expert, 'Apple choose -16 LUFS' (Sound Check is not BS.1770)",
        ),
        Platform(
            "tidal",
            "TIDAL",
            -14.0,
            "down_only",
            None,
            "secondary",
            "https://meterplugs.com/blog/2016/10/07/tidal-adds-loudness-normalization.html",
        ),
        Platform(
            "amazon_music",
            "Amazon Music",
            -14.0,
            "down_only",
            None,
            "low",
            "secondary blogs (Production Expert; wavedisco)",
        ),
        Platform("deezer", "Deezer", -15.0, "down_only", None, "low", "Production Expert"),
        Platform(
            "soundcloud",
            "SoundCloud",
            None,  # no normalisation historically; later blogs say -14: configure it
            "down_only",
            None,
            "low",
            "masteringedm.com (2016): SoundCloud does not normalise",
        ),
        Platform(
            "pandora",
            "Pandora",
            -14.0,  # approximately; proprietary
            "down_only",  # turn-up policy unknown: assume none
            None,
            "low",
            "aranlavi.com chart after loudnesspenalty.com",
        ),
    )
}
"""The platform table of docs/metrics.md, version :data:`PLATFORM_TABLE_VERSION`.

To model SoundCloud normalising to -14 LUFS, pass a modified table, e.g.
``{**PLATFORMS, "soundcloud": dataclasses.replace(PLATFORMS["soundcloud"], reference=-14.0)}``.
"""


@dataclass(frozen=True)
class Penalty:
    """The normalisation gain one platform applies to a track.

    Attributes
    ----------
    platform : str
        Platform key.
    reference : float or None
        The reference level ``R_p`` used, LUFS (None: the platform does not normalise).
    gain : float
        Gain applied at playback, dB (positive: turned up).
    penalty : float
        ``min(0, gain)``, LU; stored unclamped (clamp only for display).
    """

    platform: str
    reference: float | None
    gain: float
    penalty: float


def _finite(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise InvalidInputError(f"{name}={value!r} must be a finite number")
    return value


def _platform(key: str, table: Mapping[str, Platform]) -> Platform:
    try:
        return table[key]
    except KeyError:
        raise InvalidInputError(
            f"platform={key!r} is unknown; known platforms: {', '.join(sorted(table))}"
        ) from None


def _penalty(integrated: float, true_peak: float, platform: Platform) -> Penalty:
    if platform.reference is None:
        return Penalty(platform.key, None, 0.0, 0.0)
    raw = platform.reference - integrated
    if raw <= 0.0 or platform.mode == "limiter":
        gain = raw  # every platform turns loud tracks down; a limiter allows any turn-up
    elif platform.mode == "down_only":
        gain = 0.0
    else:  # headroom_limited
        ceiling = platform.peak_ceiling if platform.peak_ceiling is not None else 0.0
        gain = max(0.0, min(raw, ceiling - true_peak))
    return Penalty(platform.key, platform.reference, gain, min(0.0, gain))


def loudness_penalty(
    integrated: float,
    true_peak: float,
    platform: str,
    *,
    table: Mapping[str, Platform] = PLATFORMS,
) -> Penalty:
    """Compute the loudness-normalisation gain and penalty of one platform.

    ``G_raw = R_p - I``. Loud tracks (``G_raw <= 0``) are turned down by ``G_raw``
    everywhere. Quiet ones are left alone (``down_only``), turned up by
    ``max(0, min(G_raw, H_p - TP))`` (``headroom_limited``), or turned up by
    ``G_raw`` with a limiter after the gain (``limiter``). The penalty is
    ``min(0, G)``.

    Parameters
    ----------
    integrated : float
        Integrated loudness of the whole track, LUFS (BS.1770).
    true_peak : float
        True peak of the whole track, dBTP.
    platform : str
        A key of ``table``.
    table : mapping of str to Platform
        Platform policies; :data:`PLATFORMS` by default.

    Returns
    -------
    Penalty
        The gain, the penalty and the reference level used.

    Raises
    ------
    InvalidInputError
        If the platform is unknown or a level is not finite.

    References
    ----------
    .. [1] Meter Plugs / I. Shepherd, loudnesspenalty.com.
    .. [2] Spotify for Artists, "Loudness normalization" (worked example:
       I = -20 LUFS, TP = -5 dBTP is lifted only to -16 LUFS).

    Examples
    --------
    >>> loudness_penalty(-20.0, -5.0, "spotify").gain
    4.0
    >>> loudness_penalty(-8.0, -0.3, "youtube").penalty
    -6.0
    """
    integrated = _finite(integrated, "integrated")
    true_peak = _finite(true_peak, "true_peak")
    return _penalty(integrated, true_peak, _platform(platform, table))


def loudness_penalties(
    integrated: float,
    true_peak: float,
    platforms: Iterable[str] | None = None,
    *,
    table: Mapping[str, Platform] = PLATFORMS,
) -> dict[str, Penalty]:
    """Compute the loudness penalty on several platforms.

    Parameters
    ----------
    integrated : float
        Integrated loudness of the whole track, LUFS.
    true_peak : float
        True peak of the whole track, dBTP.
    platforms : iterable of str, optional
        Platform keys; every platform of ``table`` by default.
    table : mapping of str to Platform
        Platform policies; :data:`PLATFORMS` by default.

    Returns
    -------
    dict of str to Penalty
        One entry per platform, in the order asked for.

    Raises
    ------
    InvalidInputError
        If a platform is unknown or a level is not finite.

    References
    ----------
    .. [1] docs/metrics.md (Loudness penalty per platform) (formula and platform table).

    Examples
    --------
    >>> loudness_penalties(-9.0, -0.5, ["spotify", "deezer"])["deezer"].penalty
    -6.0
    """
    integrated = _finite(integrated, "integrated")
    true_peak = _finite(true_peak, "true_peak")
    keys = list(table) if platforms is None else list(platforms)
    return {key: _penalty(integrated, true_peak, _platform(key, table)) for key in keys}
