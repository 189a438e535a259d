"""The stimulus admin in headless Chromium: a researcher signs in, reads and listens.

A tiny study is prepared and measured through the real pipeline; the researcher signs
in through the admin's login form, sees the key metrics in the stimulus list, opens a
master, finds its metrics grouped and rounded, and plays both the original and the
prepared file in the page's players (the browser decodes them, through Range requests,
from the authenticated admin URLs). Signed out, the same URLs give no audio.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread

from listening.models import Stimulus
from listening.research.researchers import grant_researcher
from listening.stimuli.measurement import measure_track

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class SerialWSGIServer(WSGIServer):
    # One request at a time: the in-memory SQLite test database has one connection.
    def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


LiveServerThread.server_class = SerialWSGIServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _django(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DEBUG = True


def test_a_researcher_reads_metrics_and_listens_in_the_admin(live_server, page) -> None:
    from django.contrib.auth.models import User

    from tests.listening.participant_fixtures import build_study

    owner = User.objects.create_user("admin-researcher", password="pw-listen", is_staff=True)
    grant_researcher(owner)  # staff opens the admin; the researcher right shows the studies
    study = build_study(owner, tracks=1, anchors=False)
    for track in study.tracks.all():
        measure_track(track.pk)
    master = Stimulus.objects.filter(role="master").order_by("pk").first()
    assert master is not None
    assert master.metrics

    page.goto(f"{live_server.url}/admin/login/?next=/admin/listening/stimulus/")
    page.fill("#id_username", "admin-researcher")
    page.fill("#id_password", "pw-listen")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/listening/stimulus/")
    listing = page.inner_text("#result_list")
    assert f"I {master.metrics['integrated']:.1f} LUFS" in listing
    assert f"TP {master.metrics['true_peak']:.1f} dBTP" in listing

    page.goto(f"{live_server.url}/admin/listening/stimulus/{master.pk}/change/")
    # The admin's stylesheet shows captions in capitals; compare the text itself.
    captions = page.locator("table.metrics caption").evaluate_all(
        "nodes => nodes.map(n => n.textContent)"
    )
    assert captions[0] == "Loudness (BS.1770-4, EBU Tech 3342)"
    assert "Distortion (DM, HFD)" in captions
    integrated = page.locator("table.metrics tr", has_text="integrated").first.inner_text()
    assert integrated.split()[-1] == f"{master.metrics['integrated']:.2f}".rstrip("0").rstrip(".")

    players = page.locator("audio")
    assert players.count() == 2
    for i in range(2):
        # Decode enough to play, start playing, and check time advances.
        state = page.evaluate(
            """async (i) => {
                const audio = document.querySelectorAll('audio')[i];
                audio.muted = true;
                if (audio.readyState < 1) {
                    await new Promise((ok, fail) => {
                        audio.addEventListener('loadedmetadata', ok, {once: true});
                        audio.addEventListener('error', () => fail(audio.error), {once: true});
                        audio.load();
                    });
                }
                await audio.play();
                await new Promise(ok => setTimeout(ok, 400));
                audio.currentTime = 2.0;  // a seek: a Range request for a later part
                await new Promise(ok => audio.addEventListener('seeked', ok, {once: true}));
                return {duration: audio.duration, time: audio.currentTime, error: audio.error};
            }""",
            i,
        )
        assert state["error"] is None
        assert state["duration"] > 2.5
        assert state["time"] >= 2.0

    # Signed out, the audio URLs send the browser to the login page, not audio.
    src = players.first.get_attribute("src")
    page.context.clear_cookies()
    response = page.goto(f"{live_server.url}{src}")
    assert response is not None
    assert "/admin/login/" in page.url
    assert "audio" not in (response.headers.get("content-type") or "")
