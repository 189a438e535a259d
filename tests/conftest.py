"""Shared fixtures: a seeded random generator and a temporary media root."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded per test so every generated signal is reproducible."""
    return np.random.default_rng(20251128)
