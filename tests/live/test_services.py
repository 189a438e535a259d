"""The shared services of a multi-server deployment, switched on by settings alone.

- ``MEDIA_STORAGE=s3``: a whole deployment (import, preparation, gunicorn serving the
  participants' audio) against an S3-compatible server (moto's, on loopback), with
  nothing written to the local media folder.
- ``TASKS_BACKEND=rq``: the objective metrics queued by the demo study go through a
  real Redis server (Debian's redis-server, on a unix socket) and are computed by
  ``manage.py rqworker``.
- ``CACHE_URL``: the rate limits are shared between processes (two gunicorn workers),
  and parallel session starts from one address are each counted (the database cache's
  increment is atomic).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live.deployment import HOST, REPO, SUITE_ON_POSTGRES, Deployment, free_port
from tests.live.participant_http import HttpParticipant, form_of

pytestmark = pytest.mark.slow


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[dict[str, str]]:
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    env = {
        "MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "listening-media",
        "AWS_S3_ENDPOINT_URL": f"http://{HOST}:{port}",
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
    }
    client = boto3.client(
        "s3",
        endpoint_url=env["AWS_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )
    client.create_bucket(Bucket="listening-media")
    env["_client"] = client  # type: ignore[assignment]
    try:
        yield env
    finally:
        server.stop()


def test_media_on_s3_compatible_storage(tmp_path: Path, s3: dict[str, str]) -> None:
    client = s3.pop("_client")
    live = Deployment(
        tmp_path,
        postgres=SUITE_ON_POSTGRES,
        PG_DURABLE="1",
        LISTENING_SESSION_STARTS_PER_HOUR="1000",
        **s3,
    )
    try:
        live.prepare(screening=False)
        keys = [
            item["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket="listening-media")  # type: ignore[attr-defined]
            for item in page.get("Contents", [])
        ]
        assert any("/originals/" in k or "original" in k for k in keys), keys[:5]
        assert sum(k.endswith(".flac") for k in keys) >= 10
        local = tmp_path / "media"
        assert not local.exists() or not any(p.is_file() for p in local.rglob("*"))
        live.start_server(workers=1, threads=2)
        person = HttpParticipant(live.port, live.landing)
        person.walk_to_trial()
        key = person.trial["conditions"][0]["key"]
        whole = person.browser.get(f"/a/{key}")
        assert whole.status == 200
        assert whole.body[:4] == b"fLaC"
        part = person.browser.get(f"/a/{key}", headers={"Range": "bytes=4-99"})
        assert part.status == 206
        assert part.body == whole.body[4:100]
        name = live.query(
            "from listening.models import Condition\n"
            "from listening.stimuli.playback_variants import session_variant\n"
            f"result = session_variant(Condition.objects.get(key={key!r})).name\n"
        )
        stored = client.get_object(Bucket="listening-media", Key=f"media/{name}")  # type: ignore[attr-defined]
        assert stored["Body"].read() == whole.body
        person.close()
    finally:
        live.close()


def test_background_tasks_through_redis_and_an_rq_worker(tmp_path: Path, redis_url: str) -> None:
    live = Deployment(
        tmp_path,
        postgres=SUITE_ON_POSTGRES,
        PG_DURABLE="1",
        TASKS_BACKEND="rq",
        REDIS_URL=redis_url,
    )
    try:
        live.prepare(screening=False)  # playback files now; the metrics go to the queue
        count = (
            "from listening.models import Stimulus\n"
            "result = Stimulus.objects.filter(role='master', metrics__isnull=False)"
            ".exclude(metrics={}).count()\n"
        )
        assert live.query(count) == 0, "nothing may run before a worker takes the jobs"
        done = subprocess.run(
            [sys.executable, "manage.py", "rqworker", "--burst", "--job-class",
             "django_tasks_rq.Job", "default"],
            cwd=REPO, env=live.env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        masters = live.query(
            "from listening.models import Stimulus\n"
            "result = Stimulus.objects.filter(role='master').count()\n"
        )
        assert masters >= 10
        assert live.query(count) == masters
    finally:
        live.close()


def test_rate_limits_are_shared_by_every_worker_process(tmp_path: Path) -> None:
    """Counted in one process, enforced in another: the limit on new sessions per address
    survives a restart of every worker (a per-process cache would forget it)."""
    live = Deployment(tmp_path, postgres=SUITE_ON_POSTGRES, LISTENING_SESSION_STARTS_PER_HOUR="6")

    def start_sessions(times: int) -> list[int]:
        statuses = []
        for _ in range(times):
            person = HttpParticipant(live.port, live.landing)
            page = person.browser.get(live.landing)
            statuses.append(person.browser.post_form(live.landing, form_of(page.body)).status)
            person.close()
        return statuses

    try:
        live.prepare(screening=False)
        live.start_server(workers=1, threads=1)
        assert start_sessions(4) == [302] * 4
        live.kill_server()
        live.start_server(workers=2, threads=1)
        assert start_sessions(4) == [302, 302, 429, 429]
    finally:
        live.close()


def test_parallel_session_starts_from_one_address_are_each_counted(tmp_path: Path) -> None:
    """40 session starts at the same moment from one address, limit 10: exactly 10 get a
    session. (Django's own database cache reads and writes the count in two statements,
    so parallel requests could each read the same count and all pass.)"""
    live = Deployment(tmp_path, postgres=SUITE_ON_POSTGRES, LISTENING_SESSION_STARTS_PER_HOUR="10")
    people: list[HttpParticipant] = []
    try:
        live.prepare(screening=False)
        live.start_server(workers=4, threads=4)
        people = [HttpParticipant(live.port, live.landing) for _ in range(40)]
        forms = [form_of(p.browser.get(live.landing).body) for p in people]  # GETs count nothing
        ready, statuses = threading.Barrier(len(people)), [0] * len(people)

        def start(i: int) -> None:
            ready.wait(30)
            statuses[i] = people[i].browser.post_form(live.landing, forms[i]).status

        threads = [threading.Thread(target=start, args=(i,)) for i in range(len(people))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(statuses) == [302] * 10 + [429] * 30
        sessions = live.query(
            "from listening.models import Session\nresult = Session.objects.count()"
        )
        assert sessions == 10
    finally:
        for person in people:
            person.close()
        live.close()


def test_screening_blocks_are_kept_in_s3_compatible_storage(
    s3: dict[str, str], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block generated once is stored in the bucket and read back by another process."""
    from listening.participant import screening

    options = {
        "bucket_name": s3["AWS_STORAGE_BUCKET_NAME"],
        "location": "media",
        "file_overwrite": False,
        "default_acl": None,
        "endpoint_url": s3["AWS_S3_ENDPOINT_URL"],
        "region_name": s3["AWS_S3_REGION_NAME"],
        "access_key": s3["AWS_ACCESS_KEY_ID"],
        "secret_key": s3["AWS_SECRET_ACCESS_KEY"],
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }
    args = ("huggins", 6, 2, 48000, -23.0)
    screening._block.cache_clear()
    first = screening._block(*args)
    client: Any = s3["_client"]
    listed = client.list_objects_v2(Bucket="listening-media", Prefix=f"media/{screening.STORE}/")
    names = sorted(item["Key"].rsplit("/", 1)[1] for item in listed["Contents"])
    assert names == [*(f"{i}.flac" for i in range(6)), "correct.json"]

    def must_not_generate(*args: Any) -> None:
        raise AssertionError("generated again instead of read from the bucket")

    screening._block.cache_clear()  # as another process or server
    with monkeypatch.context() as patch:
        patch.setattr(screening, "_generate", must_not_generate)
        assert screening._block(*args) == first
    # A block whose answers are missing (cut short) is made again, under the same names.
    answers = next(item["Key"] for item in listed["Contents"] if item["Key"].endswith(".json"))
    client.delete_object(Bucket="listening-media", Key=answers)
    screening._block.cache_clear()
    assert screening._block(*args) == first
    again = client.list_objects_v2(Bucket="listening-media", Prefix=f"media/{screening.STORE}/")
    assert sorted(item["Key"] for item in again["Contents"]) == sorted(
        item["Key"] for item in listed["Contents"]
    )
    screening._block.cache_clear()
