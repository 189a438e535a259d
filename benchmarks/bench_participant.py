"""Participant-side speed: trial page load to ready-to-play in Chromium, and rating saves.

Builds a MUSHRA study in a temporary SQLite database through the real preparation
pipeline (one 40 s synthetic track, a 30 s excerpt at 48 kHz: the mix as hidden
reference, two masters, two anchors, plus the open reference = 6 stereo FLAC files),
serves it with ``manage.py runserver`` over loopback and opens the trial page in
headless Chromium (Debian's /usr/bin/chromium through Playwright): the time from
navigation to "every condition decoded, ready to play" and the bytes transferred.
Then it times 500 rating saves through the Django test client on the same SQLite
file (median and p95).

    .venv/bin/python benchmarks/bench_participant.py [--loads 5] [--saves 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def setup_django(folder: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["DJANGO_MEDIA_ROOT"] = str(folder / "media")
    os.environ["APP_VAR_DIR"] = str(folder)
    os.environ["TASKS_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
    os.environ["LOG_LEVEL"] = "WARNING"
    # One session saves back to back here: the per-session limits (a real participant's
    # pace) would refuse most of it. These benchmarks time the save, not the limiter.
    os.environ["LISTENING_PARTICIPANT_RATE"] = "1000000"
    os.environ["LISTENING_PARTICIPANT_BURST"] = "1000000"
    os.environ["LISTENING_ANSWERS_PER_TRIAL"] = "100000000"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client then records template contexts

    call_command("migrate", verbosity=0)


def build_session() -> tuple[str, int]:
    """Create the study, prepare it, and walk one participant to the first trial."""
    import json

    from django.contrib.auth.models import User
    from django.test import Client

    from tests.listening.participant_fixtures import Participant, build_study

    owner = User.objects.create_user(f"bench-{uuid.uuid4().hex[:6]}", password="pw")
    started = time.perf_counter()
    study = build_study(
        owner,
        tracks=1,
        seconds=40.0,
        excerpt_length=30.0,
        screening={"tests": []},
    )
    prepared = time.perf_counter() - started
    participant = Participant(study, Client())
    participant.to_training()
    participant.save({"trial": 0, "type": "submit"})
    data = participant.trial_data()
    assert len(data["conditions"]) + 1 == 6, json.dumps(data)[:200]
    print(f"study prepared through the pipeline in {prepared:.1f} s")
    return participant.token, data["trial"]["id"]


def time_page_loads(base: str, token: str, loads: int) -> list[tuple[float, float, int]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
        )
        for _ in range(loads):
            context = browser.new_context()
            page = context.new_page()
            # The signed cookie the audio needs, without loading the trial page twice.
            page.request.get(f"{base}/p/{token}/consent", max_redirects=0)
            sizes: list[int] = []
            page.on(
                "response",
                lambda r, sizes=sizes: sizes.append(int(r.headers.get("content-length") or 0)),
            )
            t0 = time.perf_counter()
            page.goto(f"{base}/p/{token}/trial")
            page.wait_for_function(
                "window.participantTrial && window.participantTrial.player.ready", timeout=60000
            )
            wall = time.perf_counter() - t0
            in_page = page.evaluate("performance.now()") / 1000.0
            results.append((wall, in_page, sum(sizes)))
            context.close()
        browser.close()
    return results


def saver(token: str, trial: int) -> Callable[[int], None]:
    """A function that saves rating ``i`` (conditions and attributes in turn) and checks it."""
    import json

    from django.test import Client

    from listening.models import Session

    client = Client()
    current = Session.objects.get(token=token).current_trial()
    assert current is not None
    keys = list(current.conditions.exclude(role="reference").values_list("key", flat=True))

    def save(i: int) -> None:
        body = {
            "trial": trial,
            "type": "rating",
            "condition": keys[i % len(keys)],
            "attribute": ("overall-quality", "clarity")[i % 2],
            "score": i % 101,
        }
        response = client.post(
            f"/p/{token}/answers",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 200, response.content

    return save


def time_saves(token: str, trial: int, saves: int) -> list[float]:
    save = saver(token, trial)
    times = []
    for i in range(saves):
        t0 = time.perf_counter()
        save(i)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--saves", type=int, default=500)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-participant-") as tmp:
        folder = Path(tmp)
        setup_django(folder)
        token, trial = build_session()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{args.port}"],
            cwd=REPO,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{args.port}"
            import urllib.request

            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{base}/", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            loads = time_page_loads(base, token, args.loads)
        finally:
            server.terminate()
            server.wait(timeout=10)
        saves = time_saves(token, trial, args.saves)

    walls = sorted(w for w, _, _ in loads)
    pages = sorted(p for _, p, _ in loads)
    size = statistics.median(b for _, _, b in loads)
    ms = sorted(1000 * t for t in saves)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print()
    print("| measurement | median | min | max |")
    print("|---|---|---|---|")
    print(
        f"| trial page to ready-to-play, wall clock (6 x 30 s stereo 48 kHz FLAC, {len(loads)} "
        f"loads) | {statistics.median(walls):.3f} s | {walls[0]:.3f} s | {walls[-1]:.3f} s |"
    )
    print(
        f"| same, from navigation start (performance.now) | {statistics.median(pages):.3f} s | "
        f"{pages[0]:.3f} s | {pages[-1]:.3f} s |"
    )
    print(f"| bytes transferred per trial page load | {size / 1e6:.2f} MB | | |")
    print(
        f"| rating save, Django test client, SQLite file ({len(ms)} saves) | "
        f"{statistics.median(ms):.2f} ms (p95 {p95:.2f} ms) | {ms[0]:.2f} ms | {ms[-1]:.2f} ms |"
    )


if __name__ == "__main__":
    main()
