"""The Audio and Preview tabs in headless Chromium: upload, watch preparation, preview.

A researcher (signed in with a session cookie) adds a track, uploads a generated mix
with the file picker, drops an AI master on the drop zone (a DataTransfer built in the
page), picks a human master and a mono file (refused, with its reason), watches every
version become ready without a reload, then previews the trial with the participants'
player, plays it and reveals which letter is which. axe finds no serious or critical
violation on either page, and nothing of the preview is recorded.
"""

from __future__ import annotations

import base64
import os
import time
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings
from django.core.servers.basehttp import WSGIServer
from django.test import Client
from django.test.testcases import LiveServerThread

from listening.models import Session, Study
from listening.research.researchers import grant_researcher
from tests.listening.base import versions, wav_bytes

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class SerialWSGIServer(WSGIServer):
    # One request at a time: the in-memory SQLite test database has one connection.
    def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


LiveServerThread.server_class = SerialWSGIServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Axe()
BLOCKING = {"serious", "critical"}


@pytest.fixture(autouse=True)
def _django(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DEBUG = True


def wait_until(page, expression: str, timeout: float = 60.0) -> None:
    """Poll an expression (page.evaluate: the CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"Boolean({expression})"):
        if time.monotonic() > deadline:
            body = page.inner_text("main")
            raise AssertionError(f"timed out waiting for {expression}; the page says {body}")
        page.wait_for_timeout(100)


def audit(page, name: str) -> list[str]:
    results = AXE.run(page)
    return [
        f"{name}: {v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


DROP = """async ([name, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: 'audio/wav' }));
  const zone = document.getElementById('drop-zone');
  for (const type of ['dragover', 'drop']) {
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    zone.dispatchEvent(new DragEvent(type, init));
  }
}"""


def test_a_researcher_uploads_watches_preparation_and_previews(
    live_server, page, console, tmp_path
) -> None:
    from django.contrib.auth.models import User

    user = User.objects.create_user("uploader", password="pw-upload-123")
    grant_researcher(user)
    study = Study.objects.create(
        owner=user, title="Browser study", excerpt_start=1.0, excerpt_length=3.0
    )
    audio = versions("rock", 7, 6.0)
    files = {}
    for name, samples in (
        ("mix.wav", audio["mix"]),
        ("ai.wav", audio["ai"]),
        ("human.wav", audio["human"]),
        ("mono.wav", audio["human"][:, :1]),
    ):
        files[name] = tmp_path / name
        files[name].write_bytes(wav_bytes(samples))

    sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/workspace/studies/{study.pk}/audio/")
    page.evaluate("window.__sameDocument = true")
    problems = audit(page, "audio (empty)")

    page.fill("#track-title", "Song")
    page.fill("#track-genre", "rock")
    page.get_by_role("button", name="Add track").click()
    wait_until(page, "document.getElementById('track-message').textContent.includes('Added')")

    def results(state: str) -> int:
        return page.locator(f"#upload-results li[data-result={state}]").count()

    def wait_results(state: str, count: int) -> None:
        selector = f"#upload-results li[data-result={state}]"
        wait_until(page, f"document.querySelectorAll('{selector}').length === {count}")

    page.select_option("#upload-role", "mix")
    page.set_input_files("#upload-files", str(files["mix.wav"]))
    wait_until(
        page, "document.querySelectorAll('#upload-results li[data-result=accepted]').length === 1"
    )

    page.select_option("#upload-role", "master")
    page.select_option("#upload-system", "ai")
    page.fill("#upload-provider", "LANDR")
    page.evaluate(DROP, ["ai.wav", base64.b64encode(files["ai.wav"].read_bytes()).decode()])
    wait_until(
        page, "document.querySelectorAll('#upload-results li[data-result=accepted]').length === 2"
    )

    page.select_option("#upload-system", "human")
    page.fill("#upload-provider", "Engineer")
    page.set_input_files("#upload-files", [str(files["human.wav"]), str(files["mono.wav"])])
    wait_until(
        page, "document.querySelectorAll('#upload-results li[data-result=refused]').length === 1"
    )
    assert results("accepted") == 3
    refused = page.locator("#upload-results li[data-result=refused]").inner_text()
    assert "mono.wav" in refused
    assert "the file is mono" in refused

    # Preparation reaches "ready" for every version, in this same document.
    wait_until(
        page,
        "document.querySelectorAll('[data-state]').length >= 3 && "
        "[...document.querySelectorAll('[data-state]')].every((n) => n.dataset.state === 'ready')",
    )
    assert page.evaluate("window.__sameDocument === true")
    assert "ready" in page.inner_text("#overall")
    problems += audit(page, "audio (uploaded)")

    # Preview: the participants' player, played; Reveal names the versions.
    page.get_by_role("link", name="Preview").click()
    page.get_by_role("link", name="Song").click()
    wait_until(page, "window.participantTrial && window.participantTrial.player.ready")
    wait_until(page, "document.querySelector('.trial-body').inert === false")
    page.keyboard.press("1")
    page.wait_for_timeout(600)
    assert page.evaluate("window.participantTrial.player.position") > 0.1
    assert page.locator("#reveal-table").is_hidden()
    page.get_by_role("button", name="Reveal conditions").click()
    reveal = page.inner_text("#reveal-table")
    assert "LANDR" in reveal
    assert "Engineer" in reveal
    problems += audit(page, "preview")
    assert problems == []
    assert Session.objects.count() == 0
    assert not [m for m in console if m.startswith("pageerror")], console
