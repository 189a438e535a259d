"""Faults against a real deployment: gunicorn and a real database in their own processes.

Each test drives participants over HTTP the way the pages do (one Idempotency-Key per
answer, kept for every retry; network errors, 429 and 5xx retried), breaks something
in the middle, and then checks in the deployment's database that every acknowledged
answer is stored exactly once and nothing else is, and that every session resumes on
its trial with its answers. The database is the suite's kind: SQLite in the default
run, PostgreSQL (a server of its own, so stopping it disturbs no other test) when
DATABASE_URL names PostgreSQL.
"""

from __future__ import annotations

import random
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live.deployment import HOST, SUITE_ON_POSTGRES, Deployment, postgres_available
from tests.live.participant_http import HttpParticipant, Save

POSTGRES = SUITE_ON_POSTGRES
pytestmark = pytest.mark.slow

DUMP = """
from listening.models import ListenEvent, Rating
from listening.participant.paradigms import get_paradigm
rows = []
for r in Rating.objects.select_related("trial__session__study", "condition"):
    ids = get_paradigm(r.trial.kind).attribute_ids(r.trial.session.study)
    rows.append([r.trial.session.token, r.condition.key, ids[r.attribute], r.score, r.changes])
events = {}
for token in ListenEvent.objects.values_list("session__token", flat=True):
    events[token] = events.get(token, 0) + 1
result = {"ratings": rows, "events": events}
"""


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if POSTGRES and not postgres_available():
        pytest.skip("PostgreSQL server binaries are not installed")
    folder = tmp_path_factory.mktemp("live")
    live = Deployment(
        folder,
        postgres=POSTGRES,
        # The participants all come from 127.0.0.1; a short busy timeout makes a locked
        # SQLite database fail fast (503) instead of holding requests for 20 s.
        LISTENING_SESSION_STARTS_PER_HOUR="100000",
        PG_DURABLE="1",  # the server is crashed on purpose: committed must mean stored
        SQLITE_BUSY_TIMEOUT="0.5",
    )
    try:
        live.prepare(tracks=5, seconds=12, screening=False)
        live.start_server(workers=2, threads=2)
        yield live
    finally:
        live.close()


def participants(live: Deployment, count: int) -> list[HttpParticipant]:
    people = []
    for _ in range(count):
        person = HttpParticipant(live.port, live.landing)
        person.walk_to_trial()
        assert person.play_all().acknowledged
        people.append(person)
    return people


def rate_in_threads(
    people: list[HttpParticipant], saves: int, pause: float = 0.01
) -> list[threading.Thread]:
    def rate(person: HttpParticipant, seed: int) -> None:
        rng = random.Random(seed)
        conditions = [c["key"] for c in person.trial["conditions"]]
        attributes = [a["id"] for a in person.trial["attributes"]]
        for _ in range(saves):
            person.rate(rng.choice(conditions), rng.choice(attributes), rng.randint(0, 100))
            time.sleep(pause)

    threads = [threading.Thread(target=rate, args=(p, i)) for i, p in enumerate(people)]
    for thread in threads:
        thread.start()
    return threads


def exactly_once(live: Deployment, people: list[HttpParticipant]) -> dict[str, Any]:
    """Assert the database holds every acknowledged rating once and nothing unacknowledged."""
    dump = live.query(DUMP)
    stored = {(t, key, attr): (score, changes) for t, key, attr, score, changes in dump["ratings"]}
    expected: dict[tuple[str, str, str], list[Save]] = {}
    tokens = {p.token for p in people}
    for person in people:
        for save in person.saves:
            assert save.status != 0, f"never answered after {save.attempts}"
            if save.body.get("type") == "rating" and save.acknowledged:
                target = (person.token, save.body["condition"], save.body["attribute"])
                expected.setdefault(target, []).append(save)
        acked_events = sum(
            len(s.body["events"]) for s in person.saves if "events" in s.body and s.acknowledged
        )
        assert dump["events"].get(person.token, 0) == acked_events
    mine = {target: value for target, value in stored.items() if target[0] in tokens}
    assert set(mine) == set(expected), "a rating is missing, or one was never acknowledged"
    for target, acked in expected.items():
        score, changes = mine[target]
        assert score == acked[-1].body["score"], f"{target}: not the last acknowledged score"
        assert changes == len({s.key for s in acked}), f"{target}: applied more or less than once"
    return dump


def resumes(person: HttpParticipant) -> None:
    """A reload lands on the trial, showing exactly the acknowledged answers."""
    entry = person.browser.get(f"{person.base}/")
    assert entry.status == 302
    assert entry.headers["location"] == f"{person.base}/trial"
    data = person.trial_page("trial")
    last: dict[str, dict[str, int]] = {}
    for save in person.saves:
        if save.body.get("type") == "rating" and save.acknowledged:
            last.setdefault(save.body["condition"], {})[save.body["attribute"]] = save.body["score"]
    assert data["answers"]["ratings"] == last


def attempts(people: list[HttpParticipant]) -> list[str]:
    return [a for p in people for s in p.saves for a in s.attempts]


def test_the_server_killed_and_restarted_in_the_middle_of_sessions(deployment: Deployment) -> None:
    people = participants(deployment, 4)
    threads = rate_in_threads(people, saves=40)
    time.sleep(0.4)
    deployment.kill_server()  # SIGKILL: requests in flight die with the workers
    time.sleep(1.0)
    deployment.start_server(workers=2, threads=2)
    for thread in threads:
        thread.join(120)
    seen = attempts(people)
    assert any(a.endswith("Error") for a in seen), "the outage hit no request"
    assert "500" not in seen
    exactly_once(deployment, people)
    for person in people:
        resumes(person)
        person.close()


def test_the_database_briefly_unavailable(deployment: Deployment) -> None:
    people = participants(deployment, 3)
    threads = rate_in_threads(people, saves=40, pause=0.03)
    time.sleep(0.3)
    if POSTGRES:
        deployment.pause_database()
        time.sleep(2.0)
        deployment.resume_database()
    else:
        # Another process holds SQLite's write lock longer than the busy timeout.
        url = deployment.env["DATABASE_URL"].removeprefix("sqlite:///")
        blocker = sqlite3.connect(url, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        time.sleep(2.0)
        blocker.execute("ROLLBACK")
        blocker.close()
    for thread in threads:
        thread.join(120)
    seen = attempts(people)
    assert "503" in seen, "no request met the outage"
    assert "500" not in seen, "an outage must answer 503 (retry), not a server error"
    exactly_once(deployment, people)
    for person in people:
        resumes(person)
        person.close()


def raw_post_then_hang_up(live: Deployment, person: HttpParticipant, body: bytes, key: str) -> None:
    """Send a complete request and close the connection without reading the answer."""
    cookie = "; ".join(f"{k}={v}" for k, v in person.browser.cookies.items())
    head = (
        f"POST {person.base}/answers HTTP/1.1\r\nHost: {HOST}:{live.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Idempotency-Key: {key}\r\nX-CSRFToken: {person.csrf}\r\n"
        f"Origin: http://{HOST}:{live.port}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((HOST, live.port)) as s:
        s.sendall(head.encode() + body)


def test_a_retry_after_a_timeout_whose_first_request_succeeded(deployment: Deployment) -> None:
    import json

    (person,) = participants(deployment, 1)
    condition = person.trial["conditions"][0]["key"]
    attribute = person.trial["attributes"][0]["id"]
    body = {"trial": person.trial["trial"]["id"], "type": "rating", "condition": condition,
            "attribute": attribute, "score": 37}  # fmt: skip
    key = str(uuid.uuid4())
    raw_post_then_hang_up(deployment, person, json.dumps(body).encode(), key)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the first request went through on the server
        if person.trial_page()["answers"]["ratings"].get(condition):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the hung-up request was not stored")
    retry = person.send(body, key=key)  # the browser's retry, same key
    assert retry.status == 200
    assert retry.response == {"saved": True}
    # Two copies of a new answer racing on two connections: one is applied.
    racing = {**body, "score": 64}
    twin_key, replies = str(uuid.uuid4()), []
    twin = HttpParticipant(deployment.port, deployment.landing)
    twin.browser.cookies, twin.token, twin.csrf = (
        dict(person.browser.cookies),
        person.token,
        person.csrf,
    )
    threads = [
        threading.Thread(target=lambda p=p: replies.append(p.send(racing, key=twin_key)))
        for p in (person, twin)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status for r in replies] == [200, 200]
    dump = exactly_once(deployment, [person])
    assert [row[3:] for row in dump["ratings"] if row[0] == person.token] == [[64, 2]]
    resumes(person)
    person.close()
    twin.close()


def test_two_tabs_of_one_session(deployment: Deployment) -> None:
    (first,) = participants(deployment, 1)
    second = HttpParticipant(deployment.port, deployment.landing)
    second.browser.cookies = dict(first.browser.cookies)
    second.token, second.csrf, second.trial = first.token, first.csrf, first.trial
    threads = rate_in_threads([first, second], saves=30, pause=0.005)
    for thread in threads:
        thread.join(120)
    # The first tab completes the trial (every version rated, on every quality) and
    # submits it while the second tab is still saving.
    conditions = [c["key"] for c in first.trial["conditions"]]
    attributes = [a["id"] for a in first.trial["attributes"]]
    for condition in conditions:
        for attribute in attributes:
            assert first.rate(condition, attribute, 100).acknowledged
    # The server needs its own evidence of the listening: every file fetched, and the
    # study's minimum listening time (1 s) passed on its clock for each version.
    assert first.play_all(seconds=1.1).acknowledged
    late = rate_in_threads([second], saves=20, pause=0.005)
    submitted = first.send({"trial": first.trial["trial"]["id"], "type": "submit"})
    assert submitted.status == 200, submitted.response
    for thread in late:
        thread.join(120)
    after = second.rate(conditions[0], attributes[0], 1)
    assert after.status == 409
    assert "another tab" in after.response["detail"]
    exactly_once_two_tabs(deployment, first, second)
    resumes_either = first.browser.get(f"{first.base}/")
    assert resumes_either.headers["location"] == f"{first.base}/trial"  # the next trial
    for tab in (first, second):
        tab.close()


def exactly_once_two_tabs(
    live: Deployment, first: HttpParticipant, second: HttpParticipant
) -> None:
    """Two tabs interleave, so only counts are checked per target: each acknowledged key
    applied once, every refused one (409) never, and the final score one of the tabs' last."""
    dump = live.query(DUMP)
    stored = {(key, attr): (score, changes) for t, key, attr, score, changes in dump["ratings"]
              if t == first.token}  # fmt: skip
    acked: dict[tuple[str, str], set[str]] = {}
    finals: dict[tuple[str, str], set[int]] = {}
    for tab in (first, second):
        last: dict[tuple[str, str], int] = {}
        for save in tab.saves:
            assert save.status != 0, f"never answered after {save.attempts}"
            if save.body.get("type") != "rating" or not save.acknowledged:
                continue
            target = (save.body["condition"], save.body["attribute"])
            acked.setdefault(target, set()).add(save.key)
            last[target] = save.body["score"]
        for target, score in last.items():
            finals.setdefault(target, set()).add(score)
    assert set(stored) == set(acked)
    for target, keys in acked.items():
        score, changes = stored[target]
        assert changes == len(keys), f"{target}: applied more or less than once"
        assert score in finals[target]


def test_audio_through_gunicorn_is_the_stored_file(deployment: Deployment) -> None:
    """Ranges to the end go out with sendfile under gunicorn, others through Python: the
    bytes are the stored file's either way, and nothing names the file."""
    (person,) = participants(deployment, 1)
    key = person.trial["conditions"][0]["key"]
    stored_path = deployment.query(
        "from listening.models import Condition\n"
        "from listening.stimuli.playback_variants import session_variant\n"
        f"result = session_variant(Condition.objects.get(key={key!r})).path\n"
    )
    stored = Path(stored_path).read_bytes()
    whole = person.browser.get(f"/a/{key}")
    assert whole.status == 200
    assert whole.body == stored
    assert whole.headers["content-length"] == str(len(stored))
    for header, expected in (
        ("bytes=100-", stored[100:]),
        (f"bytes={len(stored) - 10}-", stored[-10:]),
        ("bytes=5-20", stored[5:21]),
        ("bytes=-7", stored[-7:]),
    ):
        part = person.browser.get(f"/a/{key}", headers={"Range": header})
        assert part.status == 206, header
        assert part.body == expected, header
        assert part.headers["content-length"] == str(len(expected))
    for reply in (whole, part):
        assert "content-disposition" not in reply.headers
        assert reply.headers["cache-control"] == "private, no-store"
    person.close()


def test_the_audio_sent_through_gunicorn_is_recorded(deployment: Deployment) -> None:
    """The listening evidence counts the bytes gunicorn sent, with sendfile or through
    Python: one row per response, when the response ends."""
    (person,) = participants(deployment, 1)  # the page's fetch of every file: one row each
    key = person.trial["conditions"][0]["key"]
    assert person.browser.get(f"/a/{key}", headers={"Range": "bytes=100-"}).status == 206
    assert person.browser.get(f"/a/{key}", headers={"Range": "bytes=5-20"}).status == 206
    assert person.browser.request("HEAD", f"/a/{key}").status == 200  # sends no bytes
    rows = deployment.query(
        "from listening.models import AudioDelivery\n"
        f"rows = AudioDelivery.objects.filter(condition__key={key!r}).order_by('id')\n"
        "result = [list(r) for r in rows.values_list('first_byte', 'bytes_sent', 'file_size')]\n"
    )
    size = rows[0][2]
    assert rows == [[0, size, size], [100, size - 100, size], [5, 16, size]]
    person.close()
