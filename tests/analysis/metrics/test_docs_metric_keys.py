"""docs/metrics.md names every key of a measurement row (one place for the column docs)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from analysis.metrics.measure import measure
from analysis.metrics.penalty import PLATFORMS

DOC = Path(__file__).resolve().parents[3] / "docs" / "metrics.md"


def test_every_key_of_a_row_is_named_in_the_docs() -> None:
    rng = np.random.default_rng(3)
    rate = 48000
    mix = 0.1 * rng.standard_normal((rate * 20, 2))
    master = np.tanh(3 * mix) / 3
    row = measure(master, mix, rate, tonal_target=None).as_dict()
    text = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z0-9_]+)`", text))
    platform_key = re.compile(r"lp_(?P<platform>[a-z0-9_]+?)(?:_gain|_reference)?")
    missing = []
    for key in row:
        if key in named:
            continue
        match = platform_key.fullmatch(key)
        if match and match["platform"] in PLATFORMS and f"`{match['platform']}`" in text:
            continue  # lp_<platform>: the platform is a row of the documented table
        missing.append(key)
    assert len(row) > 90
    assert missing == []
