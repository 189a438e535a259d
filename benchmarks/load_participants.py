"""Participant load: N simulated participants taking one study at once through gunicorn.

Prepares a temporary database (SQLite in a temporary APP_VAR_DIR, or a throwaway
PostgreSQL server from scripts/pg_test_server.sh with ``--postgres``), migrates, builds a
small open demo study (``make_demo_study``, metrics skipped through the dummy task
backend), collects static files and starts gunicorn on 127.0.0.1 with a free port, in
production settings (DEBUG off). Then N participants, each on one keep-alive HTTP
connection, start a session on the landing page, pass consent, questionnaire,
calibration, the headphone screening (its correct answers read from the database: the
benchmark may, a participant may not), submit the training, fetch the trial page and
every condition's audio (``Range: bytes=0-`` like a browser), and save a rating every
second (JSON with ``Idempotency-Key`` and ``X-CSRFToken``, as save.js does). Every
tenth save is deliberately sent again with the same key, half of them at the same time
on a second connection (a timeout retry racing the first request), and some of the
retries carry a different score (which must change nothing).

Before the crowd arrives, one participant saves ratings back to back on the idle server:
the floor of the same run, against which the latency under load is given as a ratio
(this machine's speed drifts by half over tens of minutes, so absolute times of runs
made at different moments do not compare). Afterwards it reports throughput and
p50/p95/p99 latency per request type, the time inside gunicorn, the latency per
10-second window beside the machine's CPU, and verifies
in the database that every acknowledged save is stored exactly once: each Rating row
holds the last acknowledged score of its (trial, condition, attribute), its ``changes``
count equals the number of distinct acknowledged keys, no rating exists that was never
acknowledged, and every retry got the first response back.

With ``--flood N``, N more sessions flood the server once everyone rates: each sends
listening-event batches and rating saves back to back from ``--flood-connections``
connections (issue 14.3); the report then says what they sent, what the server answered
and stored, and the honest saves' latency per window shows what the flood cost them.

    .venv/bin/python benchmarks/load_participants.py [--participants 200] [--seconds 30]
        [--ramp 10] [--workers 4] [--threads 2] [--postgres] [--flood 1]

Loopback only; the whole run is bounded (``--deadline``), and gunicorn and PostgreSQL
are stopped at the end, also on error.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.live import participant_http  # noqa: E402
from tests.live.deployment import Deployment  # noqa: E402
from tests.live.participant_http import CSRF_META, TRIAL_DATA, form_of  # noqa: E402

HOST = "127.0.0.1"


# -- measurements ----------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []
        self.bytes = 0
        #: (finished at, seconds) of every rating save, for the latency over time.
        self.saves: list[tuple[float, float]] = []

    def record(self, kind: str, seconds: float, ok: bool, note: str = "") -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            if kind == "rating save":
                self.saves.append((time.monotonic(), seconds))
            if not ok:
                self.errors[kind] += 1
                if len(self.error_samples) < 20:
                    self.error_samples.append(f"{kind}: {note}")


class Probes(threading.Thread):
    """What the machine is doing while the participants run, sampled every ``tick`` s.

    * the machine's CPU (``/proc/stat``): the share of both cores busy, and stolen by the
      hypervisor;
    * the client's own lag: how late a thread of this process wakes from a short sleep
      (waiting for the CPU *and* for this process's GIL, which 200 participant threads
      share);
    * a lone process's lag: the same, in a process with nothing else to do, i.e. waiting
      for the CPU only. Client-side latency includes both kinds of wait, so a save's time
      as the client measures it is only the server's time when these are small.
    """

    SLEEP = 0.005

    def __init__(self, tick: float = 1.0) -> None:
        super().__init__(daemon=True, name="probes")
        self.tick = tick
        self.stop = threading.Event()
        self.cpu: list[tuple[float, float, float]] = []  # (time, busy share, steal share)
        self.client_lag: list[tuple[float, float]] = []
        self.lone = subprocess.Popen(
            [sys.executable, "-c", LONE_PROBE, str(self.SLEEP)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.started_at = time.monotonic()

    @staticmethod
    def _stat() -> list[int]:
        with open("/proc/stat") as f:
            return [int(v) for v in f.readline().split()[1:9]]

    def run(self) -> None:
        last, last_at = self._stat(), time.monotonic()
        while not self.stop.is_set():
            woke = time.monotonic()
            time.sleep(self.SLEEP)
            now = time.monotonic()
            self.client_lag.append((now, now - woke - self.SLEEP))
            if now - last_at >= self.tick:
                stat = self._stat()
                delta = [b - a for a, b in zip(last, stat, strict=True)]
                total = sum(delta) or 1
                idle = delta[3] + delta[4]  # idle + iowait
                self.cpu.append((now, 1 - idle / total, delta[7] / total))
                last, last_at = stat, now

    def finish(self) -> list[tuple[float, float]]:
        """Stop both probes; return the lone process's (time, lag) samples."""
        self.stop.set()
        self.join(5)
        self.lone.send_signal(signal.SIGTERM)
        out, _ = self.lone.communicate(timeout=10)
        samples = []
        for line in out.splitlines():
            at, lag = line.split()
            samples.append((float(at), float(lag)))
        return samples


#: The lone probe: sleep, note how late it woke, print all on SIGTERM (monotonic clock,
#: which is shared by the processes of one machine).
LONE_PROBE = """
import signal, sys, time
sleep, lags, stop = float(sys.argv[1]), [], []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
while not stop:
    woke = time.monotonic()
    time.sleep(sleep)
    now = time.monotonic()
    lags.append((now, now - woke - sleep))
print("\\n".join(f"{a:.4f} {b:.6f}" for a, b in lags))
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


# -- a tiny browser --------------------------------------------------------------------------


class Browser(participant_http.Browser):
    """The tests' keep-alive browser (tests/live/participant_http.py), with every request
    timed and counted under a name, and network errors reported as status 0."""

    def __init__(self, port: int, stats: Stats) -> None:
        super().__init__(port)
        self.stats = stats

    def timed(
        self, kind: str, send: Any, *, expect: tuple[int, ...] = (200,)
    ) -> tuple[int, dict[str, str], bytes]:
        started = time.perf_counter()
        try:
            reply = send()
        except participant_http.NETWORK_ERRORS as error:
            self.stats.record(kind, time.perf_counter() - started, False, repr(error))
            return 0, {}, b""
        ok = reply.status in expect
        note = f"{kind} -> {reply.status} {reply.body[:120]!r}"
        self.stats.record(kind, time.perf_counter() - started, ok, note)
        with self.stats.lock:
            self.stats.bytes += len(reply.body)
        return reply.status, reply.headers, reply.body

    def get(  # type: ignore[override]
        self,
        kind: str,
        path: str,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> tuple[int, dict[str, str], bytes]:
        return self.timed(kind, lambda: super(Browser, self).get(path, headers), expect=expect)

    def post_form(self, kind: str, path: str, fields: dict[str, str]) -> tuple[int, str]:  # type: ignore[override]
        status, headers, _ = self.timed(
            kind, lambda: super(Browser, self).post_form(path, fields), expect=(302,)
        )
        return status, headers.get("location", "")

    def post_json(  # type: ignore[override]
        self, kind: str, path: str, payload: Any, key: str, csrf: str
    ) -> tuple[int, bytes]:
        status, _, data = self.timed(
            kind, lambda: super(Browser, self).post_json(path, payload, key, csrf)
        )
        return status, data


# -- one participant ---------------------------------------------------------------------------


class Participant(threading.Thread):
    def __init__(
        self,
        number: int,
        port: int,
        landing: str,
        stats: Stats,
        start_at: float,
        rating_until: float,
        seconds: float,
        db_lock: threading.Lock,
        seed: int,
    ) -> None:
        super().__init__(daemon=True, name=f"participant-{number}")
        self.number = number
        self.port = port
        self.landing = landing
        self.stats = stats
        self.start_at = start_at
        self.rating_until = rating_until
        self.seconds = seconds
        self.db_lock = db_lock
        self.rng = random.Random(seed)
        self.token = ""
        self.trial_id: int | None = None
        #: Every rating save in send order: (key, target, score, status, response, retry_of).
        self.saves: list[dict[str, Any]] = []
        self.failed = ""
        #: Seconds between saves, and whether every tenth is sent again (see the module doc).
        self.pace, self.retries = 1.0, True

    def run(self) -> None:
        browser = Browser(self.port, self.stats)
        try:
            time.sleep(max(0.0, self.start_at - time.monotonic()))
            self._walk(browser)
        except Exception as error:
            self.failed = f"{type(error).__name__}: {error}"
        finally:
            browser.close()

    def _step(self, browser: Browser, kind: str, path: str, fields: dict[str, str] | None = None):
        status, _, html = browser.get(f"{kind} page", path)
        if status != 200:
            raise RuntimeError(f"GET {path} -> {status}")
        data = form_of(html)
        data.update(fields or {})
        status, location = browser.post_form(f"{kind} post", path, data)
        if status != 302:
            raise RuntimeError(f"POST {path} -> {status}")
        return location

    def _walk(self, b: Browser) -> None:
        status, _, html = b.get("landing page", self.landing)
        status, location = b.post_form("landing start", self.landing, form_of(html))
        if status != 302:
            raise RuntimeError(f"landing start -> {status}")
        self.token = location.split("/")[2]
        base = f"/p/{self.token}"
        self._step(b, "consent", f"{base}/consent", {"decision": "agree"})
        self._step(b, "questionnaire", f"{base}/questionnaire")
        location = self._step(b, "calibration", f"{base}/calibration", {"confirmed": "on"})
        if location.endswith("/screening"):
            self._screen(b, base)
        self._train_and_rate(b, base)

    def _screen(self, b: Browser, base: str) -> None:
        # Screening: the page (which draws the attempt), play each clip once, answer correctly.
        _status, _, html = b.get("screening page", f"{base}/screening")
        fields = form_of(html)
        answers = self._screening_answers()
        for key in answers:
            b.get("audio", f"/a/{key}", headers={"Range": "bytes=0-"}, expect=(200, 206))
        fields.update({f"clip_{k}": str(v) for k, v in answers.items()})
        _status, _location = b.post_form("screening post", f"{base}/screening", fields)

    def _train_and_rate(self, b: Browser, base: str) -> None:
        # Training: the page, then submit it (answers in training are not recorded).
        data, csrf = self._trial_page(b, f"{base}/training", "training page")
        status, _ = b.post_json(
            "submit training",
            f"{base}/answers",
            {"trial": data["trial"]["id"], "type": "submit"},
            str(uuid.uuid4()),
            csrf,
        )
        if status != 200:
            raise RuntimeError(f"training submit -> {status}")
        data, csrf = self._trial_page(b, f"{base}/trial", "trial page")
        self.trial_id = data["trial"]["id"]
        keys = [c["key"] for c in data["conditions"]]
        if data.get("reference"):
            keys.append(data["reference"]["key"])
        for key in keys:
            b.get("audio", f"/a/{key}", headers={"Range": "bytes=0-"}, expect=(200, 206))
        events = [{"type": "switch", "to": k, "from": None, "position": 0.5} for k in keys]
        b.post_json(
            "events",
            f"{base}/events",
            {"trial": self.trial_id, "events": events},
            str(uuid.uuid4()),
            csrf,
        )
        self._rate(
            b,
            base,
            csrf,
            [c["key"] for c in data["conditions"]],
            [a["id"] for a in data["attributes"]],
        )

    def _trial_page(self, b: Browser, path: str, kind: str) -> tuple[dict[str, Any], str]:
        status, _, html = b.get(kind, path)
        found, meta = TRIAL_DATA.search(html), CSRF_META.search(html)
        if status != 200 or not found or not meta:
            raise RuntimeError(f"GET {path} -> {status}, no trial data")
        return json.loads(found.group(1)), meta.group(1).decode()

    def _screening_answers(self) -> dict[str, int]:
        from django.db import connection

        from listening.models import Session

        with self.db_lock:
            try:
                screening = Session.objects.get(token=self.token).screening
            finally:
                connection.close()
        return {
            item["key"]: item["correct"]
            for test in screening["attempts"][-1]["tests"]
            for item in test["items"]
        }

    def _rate(self, b: Browser, base: str, csrf: str, conditions: list[str], attrs: list[str]):
        url = f"{base}/answers"
        until = min(self.rating_until, time.monotonic() + self.seconds)
        second = 0
        next_at = time.monotonic()
        while time.monotonic() < until:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += self.pace
            second += 1
            target = (self.rng.choice(conditions), self.rng.choice(attrs))
            score = self.rng.randint(0, 100)
            key = str(uuid.uuid4())
            body = {
                "trial": self.trial_id,
                "type": "rating",
                "condition": target[0],
                "attribute": target[1],
                "score": score,
            }
            retry = self.retries and second % 10 == (self.number % 10)
            if retry and self.number % 2:
                # A timeout retry racing the first request: the same key on a second connection.
                other = Browser(self.port, self.stats)
                other.cookies = dict(b.cookies)
                results: dict[str, Any] = {}
                racer = threading.Thread(
                    target=lambda o=other, r=results, u=url, bd=body, k=key: r.update(
                        r=o.post_json("rating save (retry)", u, bd, k, csrf)
                    )
                )
                racer.start()
                status, data = b.post_json("rating save", url, body, key, csrf)
                racer.join(35)
                other.close()
                self._log(key, target, score, status, data, None)
                if "r" in results:
                    self._log(key, target, score, *results["r"], retry_of=key)
                continue
            status, data = b.post_json("rating save", url, body, key, csrf)
            self._log(key, target, score, status, data, None)
            if retry:
                # A retry after the answer was lost; half of them with a changed score.
                again = dict(body, score=(score + 37) % 101) if self.number % 4 == 0 else body
                status, data = b.post_json("rating save (retry)", url, again, key, csrf)
                self._log(key, target, again["score"], status, data, retry_of=key)

    def _log(self, key, target, score, status, data, retry_of) -> None:
        self.saves.append(
            {
                "key": key,
                "target": target,
                "score": score,
                "status": status,
                "response": data,
                "retry_of": retry_of,
            }
        )


#: The tests' own POST (untimed; the benchmark's Browser overrides it with a timed one).
PLAIN_POST = participant_http.Browser.post_json


class Flooder(Participant):
    """A session that floods the server (issue 14.3): it walks to its first trial like a
    participant, then from ``connections`` connections at once sends listening-event
    batches (``batch`` events each) and rating saves back to back, without pause, for
    ``seconds`` from ``start_flood``. What the server answered is counted per status."""

    def __init__(self, *args: Any, connections: int = 3, batch: int = 200, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.name = f"flooder-{self.number}"
        self.connections, self.batch = connections, batch
        self.statuses: dict[str, int] = defaultdict(int)
        self.count_lock = threading.Lock()
        self.start_flood = 0.0

    def _train_and_rate(self, b: Browser, base: str) -> None:
        data, csrf = self._trial_page(b, f"{base}/training", "flood setup")
        b.post_json(
            "flood setup",
            f"{base}/answers",
            {"trial": data["trial"]["id"], "type": "submit"},
            str(uuid.uuid4()),
            csrf,
        )
        data, csrf = self._trial_page(b, f"{base}/trial", "flood setup")
        self.trial_id = data["trial"]["id"]
        keys = [c["key"] for c in data["conditions"]]
        attrs = [a["id"] for a in data["attributes"]]
        time.sleep(max(0.0, self.start_flood - time.monotonic()))
        threads = [
            threading.Thread(target=self._flood, args=(b.cookies, base, csrf, keys, attrs, i))
            for i in range(self.connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _flood(self, cookies, base, csrf, keys, attrs, lane: int) -> None:
        b = Browser(self.port, self.stats)
        b.cookies = dict(cookies)
        events = [{"type": "seek", "from": 0.0, "to": 1.0}] * self.batch
        until = self.start_flood + self.seconds
        sent = 0
        try:
            while time.monotonic() < until:
                if (sent + lane) % 2:
                    kind, url = "flood events", f"{base}/events"
                    body: dict[str, Any] = {"trial": self.trial_id, "events": events}
                else:
                    kind, url = "flood answers", f"{base}/answers"
                    body = {
                        "trial": self.trial_id,
                        "type": "rating",
                        "condition": self.rng.choice(keys),
                        "attribute": self.rng.choice(attrs),
                        "score": self.rng.randint(0, 100),
                    }
                status, _, _ = b.timed(
                    kind,
                    lambda u=url, bd=body: PLAIN_POST(b, u, bd, str(uuid.uuid4()), csrf),
                    expect=(200, 413, 429),
                )
                with self.count_lock:
                    self.statuses[f"{kind} {status}"] += 1
                sent += 1
        finally:
            b.close()


# -- setup and teardown ------------------------------------------------------------------------


def cpu_seconds(match) -> float:
    """CPU time (user + system) of the live processes whose /proc stat fields match, with
    that of their children that have exited (PostgreSQL's backends end with their
    connection; the postmaster, which waits for them, carries their time)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if match(name, int(fields[2])):  # fields[2] is the process group
            total += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
    return total


def cpu_split(gunicorn_pgid: int) -> dict[str, float]:
    """CPU seconds so far of this client, the gunicorn workers and any PostgreSQL server."""
    own = os.times()
    return {
        "client": own.user + own.system,
        "gunicorn": cpu_seconds(lambda name, pgrp: pgrp == gunicorn_pgid),
        "postgres": cpu_seconds(lambda name, pgrp: name.startswith("postgres")),
    }


def isolated_saves(port: int, landing: str, seconds: float = 3.0) -> list[float]:
    """The floor, measured in the same run on the idle server: one participant saving
    ratings back to back through gunicorn (the same requests, nobody else about)."""
    stats = Stats()
    alone = Participant(
        -1, port, landing, stats, 0.0, time.monotonic() + 600, seconds, threading.Lock(), 1
    )
    alone.pace, alone.retries = 0.0, False
    alone.run()
    if alone.failed:
        raise RuntimeError(f"the isolated participant failed: {alone.failed}")
    return stats.latency["rating save"]


# -- verification ------------------------------------------------------------------------------


def verify(participants: list[Participant]) -> tuple[bool, list[str], dict[str, int]]:
    from django.db.models import Count

    from listening.models import IdempotencyKey, Rating, Session

    problems: list[str] = []
    counts = defaultdict(int)
    duplicates = (
        Rating.objects.values("trial", "condition", "attribute")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    if duplicates:
        problems.append(f"{duplicates} (trial, condition, attribute) with more than one Rating")
    for p in participants:
        if not p.token or p.trial_id is None:
            continue
        session = Session.objects.get(token=p.token)
        trial = session.trials.get(position=p.trial_id)
        stored = {
            (key, attr_id): (score, changes) for key, attr_id, score, changes in _ratings(trial)
        }
        expected: dict[tuple[str, str], dict[str, Any]] = {}
        first_response: dict[str, tuple[int, bytes]] = {}
        for save in p.saves:
            counts["saves sent"] += 1
            acked = 200 <= save["status"] < 300
            if save["retry_of"] is None:
                first_response[save["key"]] = (save["status"], save["response"])
                entry = expected.setdefault(
                    save["target"], {"last": None, "keys": set(), "unknown": []}
                )
                if acked:
                    counts["acknowledged"] += 1
                    entry["last"], entry["unknown"] = save["score"], []
                    entry["keys"].add(save["key"])
                else:
                    entry["unknown"].append(save["score"])
            else:
                counts["retries"] += 1
                first = first_response.get(save["key"])
                if acked and first is not None and 200 <= first[0] < 300:
                    if json.loads(save["response"]) != json.loads(first[1]):
                        problems.append(f"retry of {save['key']} answered differently")
                elif acked and first is not None:
                    # The first attempt failed on the client's side but the retry was acked.
                    expected[save["target"]]["keys"].add(save["key"])
                    expected[save["target"]]["last"] = None  # score of first or retry body
        for target, entry in expected.items():
            got = stored.get(target)
            if got is None:
                if entry["keys"]:
                    problems.append(f"session {p.token[:8]} {target}: acknowledged, not stored")
                    counts["lost"] += 1
                continue
            score, changes = got
            allowed = {entry["last"], *entry["unknown"]} - {None}
            if entry["unknown"]:
                counts["ambiguous (unacknowledged save)"] += 1
            if allowed and score not in allowed:
                problems.append(
                    f"session {p.token[:8]} {target}: stored {score}, last acknowledged "
                    f"{entry['last']}"
                )
                counts["wrong value"] += 1
            if not entry["unknown"] and changes != len(entry["keys"]):
                problems.append(
                    f"session {p.token[:8]} {target}: changes={changes} for "
                    f"{len(entry['keys'])} acknowledged keys"
                )
                counts["double-applied"] += 1
        for target in set(stored) - set(expected):
            problems.append(f"session {p.token[:8]} {target}: stored but never sent")
        keys_stored = IdempotencyKey.objects.filter(session=session, endpoint="answers").count()
        keys_sent = len({s["key"] for s in p.saves}) + 1  # + the training submit
        if keys_stored > keys_sent:
            problems.append(f"session {p.token[:8]}: {keys_stored} keys stored for {keys_sent}")
    counts["rating rows"] = Rating.objects.count()
    return not problems, problems, dict(counts)


def _ratings(trial: Any) -> list[tuple[str, str, int, int]]:
    from listening.participant.paradigms import get_paradigm

    ids = get_paradigm(trial.kind).attribute_ids(trial.session.study)
    return [
        (key, ids[attribute], score, changes)
        for key, attribute, score, changes in trial.ratings.values_list(
            "condition__key", "attribute", "score", "changes"
        )
    ]


# -- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0, help="Rating phase length.")
    parser.add_argument("--ramp", type=float, default=10.0, help="Arrivals spread over this.")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--worker-connections",
        type=int,
        default=1000,
        help="gunicorn's cap on connections per worker (its default: 1000).",
    )
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--deadline", type=float, default=600.0, help="Hard cap, whole run.")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--no-screening", action="store_true", help="Open the study without a headphone check."
    )
    parser.add_argument(
        "--flood",
        type=int,
        default=0,
        help="Sessions that flood the server with events and answers once everyone is rating.",
    )
    parser.add_argument("--flood-connections", type=int, default=3, help="Per flooding session.")
    parser.add_argument("--flood-batch", type=int, default=200, help="Events per flood request.")
    args = parser.parse_args()
    t0 = time.monotonic()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("deadline")))
    signal.alarm(int(args.deadline))

    folder = Path(tempfile.mkdtemp(prefix="load-participants-"))
    # The benchmark's participants all come from 127.0.0.1: lift the per-address limit.
    live = Deployment(folder, postgres=args.postgres, LISTENING_SESSION_STARTS_PER_HOUR="1000000")
    try:
        t = time.monotonic()
        landing = live.prepare(screening=not args.no_screening)
        if args.postgres:
            backend = "PostgreSQL (scripts/pg_test_server.sh: unix socket, fsync off)"
        else:
            backend = "SQLite (WAL, busy timeout 20 s, immediate transactions)"
        print(f"setup (migrate, static, study) {time.monotonic() - t:.1f} s; {backend}")
        # The check afterwards reads the deployment's database from this process.
        os.environ.update(live.env)
        import django

        django.setup()
        live.start_server(
            workers=args.workers,
            threads=args.threads,
            connections=args.worker_connections,
            log=str(folder / "access.log"),
        )
        port = live.port
        assert live.server is not None
        gunicorn = live.server

        floor = isolated_saves(port, landing)
        stats = Stats()
        db_lock = threading.Lock()
        begin = time.monotonic() + 0.5
        # Each rates for --seconds once on the trial page; nobody rates past this cap.
        rating_until = begin + args.ramp + 60 + args.seconds
        people = []
        for i in range(args.participants):
            start_at = begin + args.ramp * i / max(1, args.participants)
            people.append(
                Participant(
                    i,
                    port,
                    landing,
                    stats,
                    start_at,
                    rating_until,
                    args.seconds,
                    db_lock,
                    args.seed * 100003 + i,
                )
            )
        flooders = []
        for i in range(args.flood):
            flooder = Flooder(
                10_000 + i,
                port,
                landing,
                stats,
                begin,
                rating_until,
                args.seconds,
                db_lock,
                args.seed * 7919 + i,
                connections=args.flood_connections,
                batch=args.flood_batch,
            )
            # The flood starts once everyone has arrived and rates, and lasts --seconds:
            # it meets the steady state (everyone rates for --seconds after arriving).
            flooder.start_flood = begin + args.ramp + 5
            flooders.append(flooder)
        probes = Probes()
        probes.start()
        wall = wall_started = time.monotonic()
        cpu_before = cpu_split(gunicorn.pid)
        for p in [*people, *flooders]:
            p.start()
        for p in [*people, *flooders]:
            p.join(max(1.0, rating_until + 60 - time.monotonic()))
        wall = time.monotonic() - wall
        cpu = {k: v - cpu_before[k] for k, v in cpu_split(gunicorn.pid).items()}
        hung = [p for p in people if p.is_alive()]
        lone_lag = probes.finish()

        report(args, backend, stats, people, wall, hung)
        saves = stats.latency.get("rating save", [])
        print(
            f"\nfloor, same run: one participant alone saving back to back through gunicorn, "
            f"{len(floor)} saves: p50 {percentile(floor, 50) * 1000:.1f} ms, p95 "
            f"{percentile(floor, 95) * 1000:.1f} ms; under load the p50 is "
            f"{percentile(saves, 50) / percentile(floor, 50):.1f}x and the p95 "
            f"{percentile(saves, 95) / percentile(floor, 50):.1f}x the floor's p50"
        )
        server_side(folder / "access.log")
        over_time(stats.saves, wall_started, probes, lone_lag)
        if flooders:
            flood_report(flooders, wall_started)
        cores = os.cpu_count() or 1
        print(
            f"\nCPU during the run ({cores} cores, {wall * cores:.0f} core-seconds available): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in cpu.items())
        )
        ok, problems, counts = verify(people)
        print("\nverification in the database:")
        for name, value in counts.items():
            print(f"  {name}: {value}")
        for line in problems[:20]:
            print("  PROBLEM", line)
        errors = sum(stats.errors.values())
        failed = [p for p in people if p.failed]
        for p in failed[:5]:
            print("  participant failed:", p.number, p.failed)
        for note in stats.error_samples[:10]:
            print("  error:", note)
        passed = ok and not errors and not failed and not hung
        print(
            f"\n{'PASS' if passed else 'FAIL'}: {errors} request errors, {len(failed)} "
            f"participants failed, {len(hung)} hung, {len(problems)} storage problems "
            f"(total run {time.monotonic() - t0:.0f} s)"
        )
        return 0 if passed else 1
    finally:
        signal.alarm(0)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        live.close()  # gunicorn, and the PostgreSQL server if any
        shutil.rmtree(folder, ignore_errors=True)


def flood_report(flooders: list[Flooder], started: float) -> None:
    """What the flooding sessions sent, what the server answered, and what it stored."""
    from listening.models import IdempotencyKey, ListenEvent, Session

    print(
        "\nflooding sessions (from "
        f"{flooders[0].start_flood - started:.0f} s; honest saves in the windows after it):"
    )
    for f in flooders:
        total = sum(f.statuses.values())
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(f.statuses.items()))
        session = Session.objects.filter(token=f.token).first()
        if session is None:
            print(f"  flooder {f.number}: no session ({f.failed})")
            continue
        events = ListenEvent.objects.filter(session=session).count()
        keys = IdempotencyKey.objects.filter(session=session).count()
        print(
            f"  flooder {f.number}: {total} requests on {f.connections} connections "
            f"({answers}); stored {events} events, {keys} idempotency keys"
            + (f"; FAILED {f.failed}" if f.failed else "")
        )


def over_time(
    saves: list[tuple[float, float]],
    started: float,
    probes: Probes,
    lone_lag: list[tuple[float, float]],
    step: float = 10.0,
) -> None:
    """Rating-save latency in windows of the run (the ramp: arrivals, onboarding, audio
    downloads, against the steady state when everyone only rates), beside the machine's
    CPU and how late the client's threads and a lone process wake (see :class:`Probes`)."""

    def by_window(samples):
        windows: dict[int, list[float]] = defaultdict(list)
        for at, value in samples:
            windows[int((at - started) // step)].append(value)
        return windows

    latency, cpu = by_window(saves), by_window((at, busy) for at, busy, _ in probes.cpu)
    steal = by_window((at, stolen) for at, _, stolen in probes.cpu)
    client, lone = by_window(probes.client_lag), by_window(lone_lag)
    print(
        "\nrating saves over time, with the machine's CPU (busy, stolen) and wake-up lag "
        "(p95) of a client thread and of a lone process:"
    )
    print(
        "| window s | saves | p50 ms | p95 ms | p99 ms | CPU busy | stolen | client lag ms "
        "| lone lag ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    for index in sorted(latency):
        values = latency[index]
        print(
            f"| {index * step:.0f}-{(index + 1) * step:.0f} | {len(values)} | "
            f"{percentile(values, 50) * 1000:.1f} | {percentile(values, 95) * 1000:.1f} | "
            f"{percentile(values, 99) * 1000:.1f} | {mean(cpu[index]) * 100:.0f} % | "
            f"{mean(steal[index]) * 100:.0f} % | "
            f"{percentile(client[index], 95) * 1000:.1f} | "
            f"{percentile(lone[index], 95) * 1000:.1f} |"
        )


def server_side(log: Path) -> None:
    """Time inside gunicorn per request type (from its access log), to set against the
    client's figures: the difference is waiting before a worker thread took the request."""
    times: dict[str, list[float]] = defaultdict(list)
    pattern = re.compile(r'server_us=(\d+) pid=<?(\d+)>? "(\w+) (\S+)')
    per_worker: dict[str, int] = defaultdict(int)
    for line in log.read_text().splitlines():
        found = pattern.search(line)
        if found is None:
            continue
        micros, pid, method, path = found.groups()
        per_worker[pid] += 1
        page = "audio" if "/a/" in path else "page"
        kind = path.rsplit("/", 1)[-1] if method == "POST" else page
        times[f"{method} {kind}"].append(int(micros) / 1e6)
    print("\nserver side (gunicorn access log, request handling only):")
    print("| request | count | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for kind, values in sorted(times.items()):
        print(
            f"| {kind} | {len(values)} | {percentile(values, 50) * 1000:.1f} | "
            f"{percentile(values, 95) * 1000:.1f} | {percentile(values, 99) * 1000:.1f} |"
        )
    print("requests per gunicorn worker:", sorted(per_worker.values(), reverse=True))


def report(args, backend, stats: Stats, people, wall: float, hung) -> None:
    total = sum(len(v) for v in stats.latency.values())
    saves = stats.latency.get("rating save", [])
    print(
        f"\n{args.participants} participants, {backend}, gunicorn {args.workers} workers x "
        f"{args.threads} threads, rating phase ~{args.seconds:.0f} s each, arrivals over "
        f"{args.ramp:.0f} s" + (", no headphone screening" if args.no_screening else "")
    )
    print(
        f"wall {wall:.1f} s, {total} requests ({total / wall:.0f} req/s), "
        f"{stats.bytes / 1e6:.0f} MB received, rating saves {len(saves)} "
        f"({len(saves) / wall:.0f}/s overall)"
    )
    print("\n| request | count | errors | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|")
    order = sorted(stats.latency, key=lambda k: (k != "rating save", k))
    for kind in order:
        values = stats.latency[kind]
        print(
            f"| {kind} | {len(values)} | {stats.errors.get(kind, 0)} | "
            f"{percentile(values, 50) * 1000:.1f} | {percentile(values, 95) * 1000:.1f} | "
            f"{percentile(values, 99) * 1000:.1f} | {max(values) * 1000:.1f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
