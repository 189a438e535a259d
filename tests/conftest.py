"""Shared fixtures: a seeded random generator and a temporary media root."""

from __future__ import annotations

import os

import numpy as np
import pytest

# Playwright's sync API keeps an asyncio loop running in the worker that ran a browser test;
# Django would then refuse database calls of later tests in that worker as "async unsafe".
# The tests call the ORM synchronously only, so the guard is safely off here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded per test so every generated signal is reproducible."""
    return np.random.default_rng(20251128)


@pytest.fixture(autouse=True)
def _fresh_participant_rates() -> None:
    """Each test starts with full request buckets (the limiter lives in process memory)."""
    from listening.platform.throttling import session_rate_limiter

    session_rate_limiter.clear()
