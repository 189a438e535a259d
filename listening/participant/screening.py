"""Headphone screening and volume calibration on the server (docs/stimuli.md, Headphone screening).

The clips are generated per session from a recorded seed (analysis.stimuli.screening) and
served by opaque keys through ``/a/<key>``, like the trial audio, each once per session
(every byte of a clip at most once: :func:`grant`). Which interval is
correct stays in the session's ``screening`` record on the server; the page only
ever sends back the interval the participant chose, and it is scored here.

A block of clips is generated once per deployment, not once per process: the first
process that needs it generates it (the others on its machine wait for it rather than
generate it too) and keeps the FLAC files and the correct answers in media storage,
where every process and server finds them. Each process then holds the blocks it serves
in memory. Generating them per process cost the load run's four workers 30-40 CPU-s
while 200 participants arrived (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError, transaction
from django.utils.translation import gettext_lazy as _

from listening.participant import flow

if TYPE_CHECKING:
    from listening.models import Session

#: Questions the participant reads, per test.
QUESTIONS = {
    "antiphase": _("In each sound, which of its three tones was the quietest?"),
    "huggins": _("In each sound, which of its three noises contained a faint hidden tone?"),
}
CALIBRATION_SECONDS = 10.0
#: Seeds a screening block is drawn from. Generating and encoding a block costs about a
#: second of CPU, so a study reuses a small pool (cached per process) instead of making new
#: clips for every participant; each session still gets its own keys and its own order of
#: the trials, so participants who compare notes ("sound 3 was part 2") learn nothing.
SEED_POOL = 8
#: The folder of media storage that keeps generated blocks (bump the version when the
#: clips' generation changes, so that older blocks are no longer used).
STORE = "screening-blocks/v1"


def _key() -> str:
    return secrets.token_urlsafe(24)


def _encode(blocks: list[Any], rate: int) -> tuple[bytes, ...]:
    """Encode clips as 24-bit FLAC padded to one size (so sizes say nothing)."""
    from analysis.io import write_audio
    from listening.stimuli.flac_padding import pad_flac_files

    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, audio in enumerate(blocks):
            path = Path(folder) / f"{i}.flac"
            write_audio(path, audio, rate, subtype="PCM_24", format="FLAC")
            paths.append(path)
        pad_flac_files(paths)
        return tuple(p.read_bytes() for p in paths)


@dataclass(frozen=True)
class Block:
    """One seed's screening trials: each trial's clip (FLAC) and its correct interval."""

    clips: tuple[bytes, ...]
    correct: tuple[int, ...]


@lru_cache(maxsize=2 * SEED_POOL * 4)  # both tests, a few studies per process
def _block(kind: str, n: int, seed: int, rate: int, target: float) -> Block:
    """The block of this seed: from media storage, or generated (once per machine) and kept."""
    folder = f"{STORE}/{kind}-{n}-trials-seed-{seed}-{rate}-hz-{target:g}-lufs"
    block = _stored(folder, n)
    if block is not None:
        return block
    with _generating(folder):
        block = _stored(folder, n)  # another process of this machine made it meanwhile
        if block is None:
            block = _generate(kind, n, seed, rate, target)
            _store(folder, block)
    return block


def _generate(kind: str, n: int, seed: int, rate: int, target: float) -> Block:
    from analysis.stimuli.screening import screening_trials

    trials = screening_trials(kind, n, seed=seed, rate=rate, target_lufs=target)  # type: ignore[arg-type]
    return Block(_encode([t.audio for t in trials], rate), tuple(t.correct for t in trials))


def _stored(folder: str, n: int) -> Block | None:
    """The block kept in ``folder``, None when it is not (completely) there."""
    try:
        with default_storage.open(f"{folder}/correct.json") as answers:
            correct = tuple(int(c) for c in json.loads(answers.read()))
        clips = []
        for i in range(n):
            with default_storage.open(f"{folder}/{i}.flac") as clip:
                clips.append(clip.read())
    except (FileNotFoundError, OSError, ValueError):
        return None
    if len(correct) != n:
        return None
    return Block(tuple(clips), correct)


def _store(folder: str, block: Block) -> None:
    """Keep ``block`` in ``folder``; the answers go last, so a found block is complete."""
    answers = json.dumps(list(block.correct)).encode()
    files = [(f"{folder}/{i}.flac", data) for i, data in enumerate(block.clips)]
    for name, data in [*files, (f"{folder}/correct.json", answers)]:
        if default_storage.exists(name):
            # Another server stored it (a seed gives the same bytes), or an interrupted
            # run left it, perhaps cut short: keep it only if it is whole.
            with default_storage.open(name) as kept:
                if kept.read() == data:
                    continue
            default_storage.delete(name)
        default_storage.save(name, ContentFile(data))


@contextmanager
def _generating(folder: str) -> Iterator[None]:
    """Hold this machine's lock on generating ``folder`` (other processes wait for it)."""
    where = f"{default_storage.__class__}{getattr(default_storage, 'location', '')}{folder}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:24]
    path = Path(tempfile.gettempdir()) / f"listening-screening-{digest}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@lru_cache(maxsize=8)
def _calibration(rate: int, target: float, ceiling: float) -> bytes:
    from analysis.errors import InvalidInputError
    from analysis.stimuli.calibration import calibration_signal

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


def calibration_key(session: Session) -> str:
    """The opaque key of this session's calibration signal (created on first use)."""
    record = session.screening
    if "calibration" not in record:
        record["calibration"] = _key()
        session.save(update_fields=["screening"])
    return str(record["calibration"])


def new_attempt(session: Session) -> dict[str, Any]:
    """Draw a new screening attempt: a seed per test, and an opaque key per clip."""
    study = session.study
    config = study.screening_config()
    n = config["trials_per_test"]
    tests = []
    for kind in config["tests"]:
        seed = secrets.randbelow(SEED_POOL)
        block = _block(kind, n, seed, study.sample_rate, study.loudness_target_lufs)
        items = [
            {"key": _key(), "index": i, "correct": c, "served": False}
            for i, c in enumerate(block.correct)
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


def clip(session: Session, key: str) -> tuple[bytes, bool] | None:
    """Return the audio of one of this session's screening or calibration clips, if any,
    and whether it plays once (screening clips; the calibration signal loops)."""
    study = session.study
    if session.screening.get("calibration") == key:
        audio = _calibration(
            study.sample_rate, study.loudness_target_lufs, study.true_peak_ceiling_dbtp
        )
        return audio, False
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
            ).clips[int(item.get("index", index))]
            return data, True
    return None


def grant(sent: list[list[int]], first: int, last: int, ranged: bool) -> tuple[int, int] | None:
    """The part of bytes ``first..last`` of a clip that may still go out, given the
    ``[start, end)`` spans already sent; None when the request starts in bytes sent.

    A clip goes out once: each byte at most once. A browser that plays a clip asks for
    it from byte 0 (``Range: bytes=0-``) and may ask for the rest where a response broke
    off; a request that starts in bytes already sent is a second play (or a copy). Without
    a Range header only an unplayed clip is sent (whole). A range running into bytes sent
    is cut short before them, which a Range request allows (206, Content-Range).
    """
    if not ranged and sent:
        return None
    if any(start <= first < end for start, end in sent):
        return None
    end = min([start for start, _ in sent if start > first] + [last + 1])
    return first, end - 1


def reserve(
    session: Session, key: str, first: int, last: int, ranged: bool
) -> tuple[int, int] | None:
    """Grant and record (under the session's row lock) the bytes of a screening clip that
    may go out for this request (see :func:`grant`); None: refuse it, it was played.

    Recording marks the clip as served, so answers about clips never heard are refused.
    """
    from listening.models import Session

    # A writer that finds the database busy (SQLite) tries again shortly instead of
    # failing the audio.
    for attempt in range(20):
        try:
            with transaction.atomic():
                locked = Session.objects.select_for_update().get(pk=session.pk)
                attempts = locked.screening.get("attempts") or []
                items = [i for t in attempts[-1]["tests"] for i in t["items"]] if attempts else []
                item = next((i for i in items if i["key"] == key), None)
                if item is None:
                    return None
                sent = item.setdefault("sent", [])
                granted = grant(sent, first, last, ranged)
                if granted is not None:
                    sent.append([granted[0], granted[1] + 1])
                    sent.sort()
                    item["served"] = True
                    locked.save(update_fields=["screening"])
            return granted
        except OperationalError:
            if attempt == 19:
                raise
            time.sleep(0.05)
    return None


def score(session: Session, answers: dict[str, int]) -> bool:
    """Score the open attempt from {clip key: chosen interval}; record and apply the outcome.

    Return whether the participant passed. A failed attempt opens the next one while
    attempts remain; otherwise the session ends as screened out.
    """
    from analysis.stimuli.screening import score_screening

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
    flow.screened(session, passed, left)
    return passed
