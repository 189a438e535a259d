"""A served worker is warm: a participant's whole visit imports no module of its own.

gunicorn imports config.wsgi before a worker accepts connections; whatever a request
imports later is paid for inside some participant's request (1-2 s for the analysis
package's numpy and scipy), with the import lock stalling the worker's other threads.
Here a fresh process of a real deployment imports config.wsgi as gunicorn does, then
walks a participant through every step (landing, consent, questionnaire, calibration,
the headphone screening with its clips, training, a trial page, audio, a rating) with
the test client, and lists the modules the walk imported. The control run skips the
warm-up and must import the heavy modules, so the check can fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live.deployment import SUITE_ON_POSTGRES, Deployment

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        SUITE_ON_POSTGRES, reason="imports do not depend on the database: run once, on SQLite"
    ),
]

WATCHED = (
    "analysis", "listening", "config", "rest_framework", "drf_spectacular",
    "numpy", "scipy", "soundfile", "soxr", "pyloudnorm", "pandas", "matplotlib",
)  # fmt: skip

WALK = """
import json, sys, uuid
WARM
from django.test import Client
from tests.live.participant_http import CSRF_META, TRIAL_DATA, form_of
before = set(sys.modules)
client = Client(HTTP_HOST="127.0.0.1")
landing = LANDING
client.get(landing)
base = "/p/" + client.post(landing)["Location"].split("/")[2]
for step, fields in [
    ("consent", {"decision": "agree"}), ("questionnaire", {}), ("calibration", {"confirmed": "on"})
]:
    page = client.get(f"{base}/{step}")
    client.post(f"{base}/{step}", {**form_of(page.content), **fields})
from listening.models import Session
session = Session.objects.get(token=base.split("/")[2])
assert session.state == "screening", session.state
client.get(f"{base}/screening")
session.refresh_from_db()
answers = {}
for test in session.screening["attempts"][-1]["tests"]:
    for item in test["items"]:
        b"".join(client.get(f"/a/{item['key']}", HTTP_RANGE="bytes=0-").streaming_content)
        answers[f"clip_{item['key']}"] = str(item["correct"])
client.post(f"{base}/screening", answers)
session.refresh_from_db()
assert session.state == "training", session.state

def page(step):
    html = client.get(f"{base}/{step}").content
    return json.loads(TRIAL_DATA.search(html).group(1)), CSRF_META.search(html).group(1).decode()

def post(body, csrf):
    reply = client.post(
        f"{base}/answers", json.dumps(body), content_type="application/json",
        headers={"Idempotency-Key": str(uuid.uuid4()), "X-CSRFToken": csrf},
    )
    assert reply.status_code == 200, reply.content

training, csrf = page("training")
post({"trial": training["trial"]["id"], "type": "submit"}, csrf)
trial, csrf = page("trial")
for condition in trial["conditions"]:
    b"".join(client.get(f"/a/{condition['key']}", HTTP_RANGE="bytes=0-").streaming_content)
post({"trial": trial["trial"]["id"], "type": "rating", "condition": trial["conditions"][0]["key"],
      "attribute": trial["attributes"][0]["id"], "score": 50}, csrf)
result = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in WATCHED)
"""


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    live = Deployment(tmp_path_factory.mktemp("warm"), LISTENING_SESSION_STARTS_PER_HOUR="100000")
    try:
        live.prepare(tracks=5, seconds=12, screening=True)
        yield live
    finally:
        live.close()


def walk(live: Deployment, *, warm: bool) -> list[str]:
    code = (
        WALK.replace("WARM", "import config.wsgi" if warm else "")
        .replace("LANDING", repr(live.landing))
        .replace("WATCHED", repr(WATCHED))
    )
    imported: list[str] = live.query(code)
    return imported


def test_a_participants_visit_imports_nothing_after_the_wsgi_warm_up(
    deployment: Deployment,
) -> None:
    assert walk(deployment, warm=True) == []


def test_without_the_warm_up_the_visit_imports_the_heavy_modules(deployment: Deployment) -> None:
    imported = walk(deployment, warm=False)
    heavy = ("config.urls", "listening.participant.pages", "analysis.stimuli.screening", "scipy")
    for name in heavy:
        assert name in imported
