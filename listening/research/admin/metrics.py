"""A master's objective metrics as the admin shows them: grouped and rounded for reading."""

from __future__ import annotations

from typing import Any

METRIC_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Loudness (BS.1770-4, EBU Tech 3342)",
        ("integrated", "true_peak", "sample_peak", "loudness_range", "max_", "plr", "psr"),
    ),
    ("Dynamic range (DR meter)", ("dr",)),
    ("Loudness penalty per platform", ("lp_",)),
    (
        "Distortion (DM, HFD)",
        ("dm", "median_csdr", "mean_unexplained", "hfd", "segments", "valid_segments"),
    ),
    ("Intelligibility (ESTOI, STOI)", ("it", "estoi", "stoi")),
    ("Spectral balance and bass", ("wsc", "centroid", "tilt", "ber", "tbd")),
    ("Mix (the reference)", ("mix_",)),
    ("Alignment to the mix", ("align_", "excluded_share")),
    ("Files and definitions", ("",)),
)


def _rounded(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else ("yes" if value else "no")
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def grouped_metrics(metrics: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The metrics in :data:`METRIC_GROUPS` order, rounded to two decimals for reading."""
    groups: dict[str, list[tuple[str, str]]] = {name: [] for name, _ in METRIC_GROUPS}
    for key, value in metrics.items():
        group = next(
            name
            for name, prefixes in METRIC_GROUPS
            if (key.startswith("mix_") and "mix_" in prefixes)
            or (not key.startswith("mix_") and key.startswith(prefixes))
        )
        groups[group].append((key, _rounded(value)))
    return [(name, rows) for name, rows in groups.items() if rows]


def key_metrics(metrics: dict[str, Any]) -> str:
    """Integrated loudness, true peak, DR, DM and HFD in one line."""

    def part(label: str, key: str, unit: str, digits: int = 1) -> str:
        value = metrics.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return f"{label} -"
        return f"{label} {value:.{digits}f}{unit}"

    hfd = part("HFD", "hfd", " %") if metrics.get("hfd_valid", True) else "HFD n/a"
    return " · ".join(
        [
            part("I", "integrated", " LUFS"),
            part("TP", "true_peak", " dBTP"),
            part("DR", "dr", "", 0),
            part("DM", "dm", " %", 0),
            hfd,
        ]
    )
