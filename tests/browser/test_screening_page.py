"""The headphone-screening page in Chromium: one clip at a time, each played once.

A real media element fetches each clip from the Django app (Range requests and all):
a single honest play of every clip must work under the server's once-per-session rule
(no 410 for any of them), no two clips may sound at once, and a second fetch of a clip
played is refused by the server.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread

from listening.models import Session
from tests.listening.participant_fixtures import build_study

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class SerialWSGIServer(WSGIServer):  # one request at a time on the in-memory database
    def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


LiveServerThread.server_class = SerialWSGIServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Counts the media elements sounding at once (kept by the page's own events).
TRACK_PLAYING = """
window.__playing = 0; window.__mostAtOnce = 0;
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  if (!this.__tracked) {
    this.__tracked = true;
    let on = false;
    this.addEventListener('playing', () => {
      if (!on) { on = true; window.__playing += 1; }
      window.__mostAtOnce = Math.max(window.__mostAtOnce, window.__playing);
    });
    const off = () => { if (on) { on = false; window.__playing -= 1; } };
    this.addEventListener('pause', off);
    this.addEventListener('ended', off);
    this.addEventListener('error', off);
  }
  return play.call(this);
};
"""


@pytest.fixture(autouse=True)
def _django(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DEBUG = True  # the signed cookie must not be Secure over plain http


def wait_until(page: Any, expression: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"Boolean({expression})"):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)


def to_screening(page: Any, live_server: Any) -> Session:
    owner = User.objects.create_user("owner-screening", password="pw")
    study = build_study(owner, screening={"tests": ["antiphase"], "trials_per_test": 3})
    page.goto(f"{live_server.url}{study.participant_path()}")
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="I agree").click()
    page.get_by_label("25-34").check()
    page.get_by_label("I play or produce music").check()
    page.get_by_label("Which headphones").fill("Studio cans")
    page.locator(".question-4").get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("I have set a comfortable volume").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("button.play-once")
    return Session.objects.get(study=study)


def test_one_clip_at_a_time_each_played_once(page: Any, live_server: Any) -> None:
    page.add_init_script(TRACK_PLAYING)
    audio: list[tuple[str, int]] = []
    page.on("response", lambda r: "/a/" in r.url and audio.append((r.url, r.status)))
    session = to_screening(page, live_server)
    buttons = page.locator("button.play-once")
    assert buttons.count() == 3

    buttons.nth(0).click()
    wait_until(page, "window.__playing === 1")
    # While it sounds, the others cannot start: disabled, and a click does nothing.
    assert buttons.nth(1).is_disabled()
    assert buttons.nth(2).is_disabled()
    page.evaluate("document.querySelectorAll('button.play-once')[1].click()")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__playing") == 1
    assert len({url for url, _ in audio}) == 1  # only the first clip was fetched

    wait_until(page, "document.querySelectorAll('button.play-once')[0].textContent === 'Played'")
    assert buttons.nth(0).is_disabled()  # once
    for i in (1, 2):
        assert buttons.nth(i).is_enabled()
        buttons.nth(i).click()
        wait_until(
            page, f"document.querySelectorAll('button.play-once')[{i}].textContent === 'Played'"
        )
    assert page.evaluate("window.__mostAtOnce") == 1
    # One honest play of each clip: no request refused, each clip sent whole, once.
    assert audio
    assert all(status in (200, 206) for _, status in audio), audio
    session.refresh_from_db()
    items = session.screening["attempts"][-1]["tests"][0]["items"]
    first = items[0]
    assert all(item["served"] for item in items)
    assert {url.rsplit("/", 1)[1] for url, _ in audio} == {item["key"] for item in items}

    # Asking the server again (say, from the console) is refused.
    again = page.evaluate(f"fetch('/a/{first['key']}').then(r => r.status)")
    assert again == 410
    ranged = page.evaluate(
        f"fetch('/a/{first['key']}', {{headers: {{Range: 'bytes=0-'}}}}).then(r => r.status)"
    )
    assert ranged == 410

    # A reload shows the clips as played, with nothing left to fetch.
    page.reload()
    page.wait_for_selector("button.play-once")
    assert page.locator("button.play-once[data-src]").count() == 0
    assert page.locator("button.play-once:disabled").count() == 3
