"""Participant-side speed: trial loading in Chromium, on loopback and on a home connection,
and rating saves.

Builds a MUSHRA study in a temporary SQLite database through the real preparation
pipeline (synthetic 40 s tracks, a 30 s excerpt at 48 kHz: the mix as hidden reference,
two masters, two anchors, plus the open reference = 6 stereo FLAC files per trial),
serves it with ``manage.py runserver`` over loopback and drives headless Chromium
(Debian's /usr/bin/chromium through Playwright):

1. Loopback: the trial page from navigation to "every condition decoded, ready to play"
   and the bytes transferred (``--loads`` fresh loads).
2. Home connection (``--network-runs`` participants, each in a fresh browser context
   throttled with the DevTools protocol's Network.emulateNetworkConditions: 20 Mbit/s
   down, 5 Mbit/s up, 40 ms added latency): the first audio page after consent (the
   training, nothing fetched before it) from navigation to ready; then, for the first
   rated trial (prefetched during the training) and every later one, the time from the
   press on "Next" to ready-to-play, with the participant pressing "Next" once the
   page's prefetch has finished (the time that took after the page was ready is shown:
   a participant rating six 30 s versions takes longer than that). The floors of the
   same run: the raw transfer of the training's bytes through the same throttled
   connection (parallel fetches, no decoding) and a request's round trip (the state
   URL). For comparison, the same trial page loaded without prefetch (a reload).
   The study's "listen to all / move every slider / one 100" rules are off: they gate
   "Next", not loading.
3. 500 rating saves through the Django test client on the same SQLite file.

    .venv/bin/python benchmarks/bench_participant.py [--loads 5] [--network-runs 3]
        [--tracks 4] [--excerpt 30] [--saves 500]
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
from typing import Any

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


def build_study(tracks: int, excerpt: float) -> Any:
    """Create the study and prepare it through the real pipeline."""
    from django.contrib.auth.models import User

    from tests.listening.participant_fixtures import build_study

    owner = User.objects.create_user(f"bench-{uuid.uuid4().hex[:6]}", password="pw")
    started = time.perf_counter()
    study = build_study(
        owner,
        tracks=tracks,
        seconds=40.0,
        excerpt_length=excerpt,
        screening={"tests": []},
        must_play_all=False,
        must_move_all=False,
        require_100=False,
    )
    print(f"{tracks} tracks prepared through the pipeline in {time.perf_counter() - started:.1f} s")
    return study


def new_participant(study: Any) -> str:
    """Walk a new participant (Django test client) to the training; return the token."""
    from django.test import Client

    from tests.listening.participant_fixtures import Participant

    participant = Participant(study, Client())
    participant.to_training()
    return participant.token


def build_session(study: Any) -> tuple[str, int]:
    """Walk one participant to the first rated trial."""
    import json

    from django.test import Client

    from tests.listening.participant_fixtures import Participant

    participant = Participant(study, Client())
    participant.to_training()
    participant.save({"trial": 0, "type": "submit"})
    data = participant.trial_data()
    assert len(data["conditions"]) + 1 == 6, json.dumps(data)[:200]
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
            sizes: list[tuple[str, int]] = []
            page.on(
                "response",
                lambda r, sizes=sizes: sizes.append(
                    (r.url, int(r.headers.get("content-length") or 0))
                ),
            )
            t0 = time.perf_counter()
            page.goto(f"{base}/p/{token}/trial")
            # Polled through the DevTools protocol: wait_for_function evaluates a string in
            # the page, which the pages' Content-Security-Policy (no 'unsafe-eval') refuses.
            poll(page, "window.participantTrial && window.participantTrial.player.ready", 0.005)
            wall = time.perf_counter() - t0
            # The page's own responses: once ready it also prefetches the next trial's audio.
            ahead = set(page.evaluate("window.participantTrial.data.prefetch"))
            transferred = sum(n for url, n in sizes if url.rsplit("/", 1)[-1] not in ahead)
            in_page = page.evaluate("performance.now()") / 1000.0
            results.append((wall, in_page, transferred))
            context.close()
        browser.close()
    return results


#: The home connection: 20 Mbit/s down, 5 Mbit/s up, 40 ms added latency (bytes per second).
HOME = {
    "offline": False,
    "latency": 40,
    "downloadThroughput": 20e6 / 8,
    "uploadThroughput": 5e6 / 8,
}

PREFETCH_DONE = """() => { const t = window.participantTrial;
  if (!t || !t.prefetcher) return true;
  const urls = (t.data.prefetch || []).map((k) => t.data.audio_url_template.replace('{key}', k));
  return urls.every((u) => ['decoded', 'fetched', 'failed'].includes(t.prefetcher.status[u])); }"""

TRANSFER_FLOOR = """async (urls) => {
  const t0 = performance.now();
  const one = async (u) => {
    const response = await fetch(u, { credentials: 'same-origin', cache: 'no-store' });
    return (await response.arrayBuffer()).byteLength;
  };
  const sizes = await Promise.all(urls.map(one));
  return { seconds: (performance.now() - t0) / 1000, bytes: sizes.reduce((a, b) => a + b, 0) };
}"""

ROUND_TRIP = """async (url) => {
  const times = [];
  for (let i = 0; i < 5; i += 1) {
    const t0 = performance.now();
    await (await fetch(url, { credentials: 'same-origin', cache: 'no-store' })).json();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[2];
}"""


def poll(page: Any, expression: str, every: float = 0.02, timeout: float = 120.0) -> None:
    """Poll a page expression through the DevTools protocol (the pages' CSP forbids eval)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        time.sleep(every)


#: Where the time from "Next" to ready went, per press (performance marks of the page).
BREAKDOWN: list[dict[str, float]] = []


def press_next_and_time(page: Any) -> float:
    """Press Next; return seconds from the press to the next trial's ready-to-play."""
    page.evaluate(
        """() => { window.__benchBefore = window.participantTrial;
                   const next = document.querySelector('button.next');
                   // The press itself (the click event), not Playwright's way to it.
                   const note = () => { window.__benchPressed = performance.now(); };
                   next.addEventListener('click', note, { capture: true, once: true }); }"""
    )
    page.get_by_role("button", name="Next").click()
    poll(
        page,
        "window.participantTrial !== window.__benchBefore && "
        "window.participantTrial.readyAt !== undefined",
    )
    marks = page.evaluate(
        """() => { const since = window.__benchPressed; const out = {};
                   for (const m of performance.getEntriesByType('mark'))
                     if (m.startTime >= since) out[m.name] = (m.startTime - since) / 1000;
                   performance.clearMarks(); return out; }"""
    )
    BREAKDOWN.append(marks)
    return page.evaluate("(window.participantTrial.readyAt - window.__benchPressed) / 1000")


def time_home_connection(base: str, study: Any, runs: int) -> dict[str, list[float]]:
    """Each run: a new participant in a throttled browser context, through every trial."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {
        k: []
        for k in (
            "cold",
            "floor_transfer",
            "floor_bytes",
            "rtt",
            "first",
            "later",
            "prefetch_after_ready",
            "no_prefetch",
        )
    }
    # Django's ORM refuses to run inside Playwright's event loop: the sessions come first.
    tokens = [new_participant(study) for _ in range(runs)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
        )
        for token in tokens:
            context = browser.new_context()
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", HOME)
            # A same-origin document that loads no audio (and sets the session's cookie).
            page.goto(f"{base}/p/{token}/current")
            state = page.evaluate("JSON.parse(document.body.innerText)")
            training = state["trial"]
            keys = [c["key"] for c in training["conditions"]] + [training["reference"]["key"]]
            floor = page.evaluate(TRANSFER_FLOOR, [f"/a/{k}" for k in keys])
            out["floor_transfer"].append(floor["seconds"])
            out["floor_bytes"].append(floor["bytes"])
            out["rtt"].append(page.evaluate(ROUND_TRIP, f"/p/{token}/current"))

            page.goto(f"{base}/p/{token}/training")
            poll(page, "window.participantTrial && window.participantTrial.readyAt !== undefined")
            out["cold"].append(page.evaluate("window.participantTrial.readyAt / 1000"))
            first = True
            while True:
                ready_at = page.evaluate("performance.now()")
                poll(page, PREFETCH_DONE)
                waited = (page.evaluate("performance.now()") - ready_at) / 1000
                data = page.evaluate("window.participantTrial.data")
                if not data["prefetch"]:
                    break  # the last trial: "Finish" leads to the final questionnaire
                out["prefetch_after_ready"].append(waited)
                out["first" if first else "later"].append(press_next_and_time(page))
                first = False
            # The same trial without prefetch: what "Next" cost when each trial was a new page.
            page.reload()
            poll(page, "window.participantTrial && window.participantTrial.readyAt !== undefined")
            out["no_prefetch"].append(page.evaluate("window.participantTrial.readyAt / 1000"))
            context.close()
        browser.close()
    return out


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
    parser.add_argument("--network-runs", type=int, default=3)
    parser.add_argument("--tracks", type=int, default=4)
    parser.add_argument("--excerpt", type=float, default=30.0, help="Excerpt length (s).")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-participant-") as tmp:
        folder = Path(tmp)
        setup_django(folder)
        study = build_study(args.tracks, args.excerpt)
        token, trial = build_session(study)
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
            home = time_home_connection(base, study, args.network_runs)
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
        f"| trial page to ready-to-play, wall clock (6 x {args.excerpt:g} s stereo 48 kHz FLAC, "
        f"{len(loads)} "
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
    print()
    print(
        "Home connection (20 Mbit/s down, 5 up, 40 ms latency), "
        f"{args.network_runs} participants x {args.tracks} trials:"
    )
    print()
    print("| measurement | median | min | max | n |")
    print("|---|---|---|---|---|")
    rows = [
        ("first audio page after consent (training, cold): navigation to ready", "cold", "s"),
        (
            "floor: raw transfer of the same bytes (parallel fetches, no decoding)",
            "floor_transfer",
            "s",
        ),
        ("bytes of one trial's audio", "floor_bytes", "MB"),
        ("floor: one request's round trip (state URL)", "rtt", "s"),
        ("first rated trial (prefetched during training): Next to ready", "first", "s"),
        ("trials 2+ (prefetched while rating): Next to ready", "later", "s"),
        ("prefetch finished, after the current trial was ready", "prefetch_after_ready", "s"),
        ("same trial without prefetch (page reload): navigation to ready", "no_prefetch", "s"),
    ]
    if BREAKDOWN:
        print()
        print("Where the time after Next went (seconds after the press, median over presses):")
        names = ["next:pressed", "next:flushed", "next:submitted", "next:state"]
        names += ["trial:loaded", "trial:ready"]
        for name in names:
            values = [b[name] for b in BREAKDOWN if name in b]
            if values:
                each = ", ".join(f"{v:.3f}" for v in values)
                print(f"- {name}: median {statistics.median(values):.3f} s ({each})")
        print()
    for label, key, unit in rows:
        values = sorted(home[key])
        if not values:
            continue

        def fmt(v: float, unit: str = unit) -> str:
            return f"{v / 1e6:.2f} MB" if unit == "MB" else f"{v:.3f} s"

        print(
            f"| {label} | {fmt(statistics.median(values))} | {fmt(values[0])} | "
            f"{fmt(values[-1])} | {len(values)} |"
        )


if __name__ == "__main__":
    main()
