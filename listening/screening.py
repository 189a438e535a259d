"""Headphone screening and volume calibration on the server (METRICS.md §9).

The clips are generated per session from a recorded seed (analysis.screening) and
served by opaque keys through ``/a/<key>``, like the trial audio. Which interval is
correct stays in the session's ``screening`` record on the server; the page only
ever sends back the interval the participant chose, and it is scored here.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import OperationalError, transaction

if TYPE_CHECKING:
    from listening.models import Session

#: Questions the participant reads, per test.
QUESTIONS = {
    "antiphase": "In each sound, which of its three tones was the quietest?",
    "huggins": "In each sound, which of its three noises contained a faint hidden tone?",
}
CALIBRATION_SECONDS = 10.0
#: Seeds a screening block is drawn from. Generating and encoding a block costs about a
#: second of CPU, so a study reuses a small pool (cached per process) instead of making new
#: clips for every participant; each session still gets its own keys and its own order of
#: the trials, so participants who compare notes ("sound 3 was part 2") learn nothing.
SEED_POOL = 8


def _key() -> str:
    return secrets.token_urlsafe(24)


def _encode(blocks: list[Any], rate: int) -> tuple[bytes, ...]:
    """Encode clips as 24-bit FLAC padded to one size (so sizes say nothing)."""
    from analysis.io import write_audio
    from listening.preparation import pad_flac_files

    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, audio in enumerate(blocks):
            path = Path(folder) / f"{i}.flac"
            write_audio(path, audio, rate, subtype="PCM_24", format="FLAC")
            paths.append(path)
        pad_flac_files(paths)
        return tuple(p.read_bytes() for p in paths)


@lru_cache(maxsize=2 * SEED_POOL * 4)  # both tests, a few studies per process
def _block(kind: str, n: int, seed: int, rate: int, target: float) -> tuple[bytes, ...]:
    from analysis.screening import screening_trials

    trials = screening_trials(kind, n, seed=seed, rate=rate, target_lufs=target)  # type: ignore[arg-type]
    return _encode([t.audio for t in trials], rate)


@lru_cache(maxsize=8)
def _calibration(rate: int, target: float, ceiling: float) -> bytes:
    from analysis.errors import InvalidInputError
    from analysis.screening import calibration_signal

    for lower in range(0, 40, 3):  # a hot target would clip the noise: lower it, never limit
        try:
            audio = calibration_signal(
                rate,
                target_lufs=target - lower,
                duration_s=CALIBRATION_SECONDS,
                seed=0,
                ceiling_dbtp=ceiling,
            )
        except InvalidInputError:
            continue
        return _encode([audio], rate)[0]
    raise ValueError(f"no calibration level below {target} LUFS fits a {ceiling} dBTP ceiling")


@lru_cache(maxsize=64)
def _correct(kind: str, n: int, seed: int, rate: int) -> tuple[int, ...]:
    from analysis.screening import screening_trials

    trials = screening_trials(kind, n, seed=seed, rate=rate)  # type: ignore[arg-type]
    return tuple(t.correct for t in trials)


def calibration_key(session: Session) -> str:
    """The opaque key of this session's calibration signal (created on first use)."""
    record = session.screening
    if "calibration" not in record:
        record["calibration"] = _key()
        session.save(update_fields=["screening"])
    return str(record["calibration"])


def new_attempt(session: Session) -> dict[str, Any]:
    """Draw a new screening attempt: a seed per test, and an opaque key per clip."""
    config = session.study.screening_config()
    rate = session.study.sample_rate
    n = config["trials_per_test"]
    tests = []
    for kind in config["tests"]:
        seed = secrets.randbelow(SEED_POOL)
        items = [
            {"key": _key(), "index": i, "correct": c, "served": False}
            for i, c in enumerate(_correct(kind, n, seed, rate))
        ]
        secrets.SystemRandom().shuffle(items)  # this session's own order of the trials
        tests.append({"kind": kind, "seed": seed, "items": items})
    attempt: dict[str, Any] = {"tests": tests, "answers": {}, "scores": {}, "passed": None}
    session.screening.setdefault("attempts", []).append(attempt)
    return attempt


def current_attempt(session: Session) -> dict[str, Any]:
    """The attempt the participant is taking (a new one when none is open)."""
    attempts = session.screening.get("attempts") or []
    if attempts and attempts[-1]["passed"] is None:
        return dict(attempts[-1])
    attempt = new_attempt(session)
    session.save(update_fields=["screening"])
    return attempt


def attempts_left(session: Session) -> int:
    used = len(session.screening.get("attempts") or [])
    return max(0, int(session.study.screening_config()["attempts"]) - used)


def clip(session: Session, key: str) -> bytes | None:
    """Return the audio of one of this session's screening or calibration clips, if any.

    A screening clip is marked as served, so answers about clips never heard are refused.
    """
    study = session.study
    if session.screening.get("calibration") == key:
        return _calibration(
            study.sample_rate, study.loudness_target_lufs, study.true_peak_ceiling_dbtp
        )
    attempts = session.screening.get("attempts") or []
    if not attempts or attempts[-1]["passed"] is not None:
        return None
    for test in attempts[-1]["tests"]:
        for index, item in enumerate(test["items"]):
            if item["key"] != key:
                continue
            data = _block(
                test["kind"],
                len(test["items"]),
                test["seed"],
                study.sample_rate,
                study.loudness_target_lufs,
            )[int(item.get("index", index))]
            if not item["served"]:
                _mark_served(session, key)
            return data
    return None


def _mark_served(session: Session, key: str) -> None:
    from listening.models import Session

    # A media element fetches a clip with several concurrent range requests; a writer that
    # finds the database busy (SQLite) tries again shortly instead of failing the audio.
    for attempt in range(20):
        try:
            with transaction.atomic():
                locked = Session.objects.select_for_update().get(pk=session.pk)
                for test in locked.screening["attempts"][-1]["tests"]:
                    for item in test["items"]:
                        if item["key"] == key:
                            item["served"] = True
                locked.save(update_fields=["screening"])
            return
        except OperationalError:
            if attempt == 19:
                raise
            time.sleep(0.05)


def score(session: Session, answers: dict[str, int]) -> bool:
    """Score the open attempt from {clip key: chosen interval}; record and apply the outcome.

    Return whether the participant passed. A failed attempt opens the next one while
    attempts remain; otherwise the session ends as screened out.
    """
    from analysis.screening import score_screening

    config = session.study.screening_config()
    attempt = session.screening["attempts"][-1]
    passed = True
    for test in attempt["tests"]:
        keys = [item["key"] for item in test["items"]]
        result = score_screening(
            [answers[k] for k in keys],
            [item["correct"] for item in test["items"]],
            config["pass_marks"][test["kind"]],
        )
        attempt["scores"][test["kind"]] = {
            "correct": result.correct,
            "total": result.total,
            "pass_mark": config["pass_marks"][test["kind"]],
            "passed": result.passed,
        }
        passed = passed and result.passed
    attempt["answers"] = answers
    attempt["passed"] = passed
    session.screening["passed"] = passed
    left = attempts_left(session)
    if not passed and left > 0:
        new_attempt(session)
    session.screened(passed, left)
    return passed
