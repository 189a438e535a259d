"""The live dashboard in headless Chromium: it updates in place, and axe finds nothing serious.

A researcher opens the dashboard of a study with simulated sessions; the test then adds
completed sessions in the database, and the page, polling its JSON every 15 s, shows the
new counts, a redrawn progress chart and a polite "2 new completions", without a reload.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.servers.basehttp import WSGIServer
from django.test import Client
from django.test.testcases import LiveServerThread
from playwright.sync_api import expect

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class SerialWSGIServer(WSGIServer):
    # One request at a time: the in-memory SQLite test database has one connection.
    def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


LiveServerThread.server_class = SerialWSGIServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BLOCKING = {"serious", "critical"}


@pytest.fixture(autouse=True)
def _django(settings):
    settings.DEBUG = True  # the session cookie must not be Secure over plain http


def sign_in(page, live_server, user) -> None:
    """Put a signed-in session's cookie into the browser (the login form is not under test)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


def test_the_dashboard_updates_in_place(live_server, page) -> None:
    from django.contrib.auth.models import User

    from listening.research.researchers import grant_researcher
    from tests.listening.results_fixtures import ready_study, simulate

    owner = User.objects.create_user("monitor-researcher", password="pw-monitor-1")
    grant_researcher(owner)
    study = ready_study(User.objects.get(pk=owner.pk), n_tracks=2)
    simulate(study, 3, seed=1)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server, owner)

    page.goto(f"{live_server.url}/workspace/studies/{study.pk}/dashboard/")
    completed = page.locator("[data-number=completed]")
    assert completed.inner_text() == "3"
    expect(page.locator("#monitor")).to_have_attribute("data-polling", "on")
    chart = page.locator("#section-progress svg.chart")
    before = chart.inner_html()
    assert "3" in chart.locator("text").all_text_contents()  # the y axis tops at the count
    page.evaluate("() => { window.__notReloaded = true; }")

    violations = Axe().run(page).response["violations"]
    blocking = [f"{v['id']} ({v['impact']})" for v in violations if v["impact"] in BLOCKING]
    assert blocking == []

    simulate(study, 2, seed=7)  # two more participants complete
    # The page polls every 15 s; its counts change without a navigation.
    expect(completed).to_have_text("5", timeout=45_000)
    assert page.evaluate("() => window.__notReloaded") is True
    assert page.locator("[data-number=started]").inner_text() == "5"
    assert "2 new completions" in page.locator("#monitor-live").inner_text()
    live = page.locator("#monitor-live")
    assert live.get_attribute("aria-live") == "polite"
    assert chart.inner_html() != before
    assert "5" in chart.locator("text").all_text_contents()
    # The chart's data table moved with it.
    last_row = page.locator("#section-progress tbody tr").last.locator("td").last
    assert last_row.text_content() == "5"
    assert errors == []

    # A hidden tab stops polling; showing it again asks at once.
    polls: list[str] = []
    page.on(
        "request", lambda request: polls.append(request.url) if "data.json" in request.url else None
    )
    visibility = """hidden => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    page.evaluate(visibility, True)
    simulate(study, 1, seed=11)
    page.wait_for_timeout(17_000)  # longer than one polling interval
    assert polls == []
    assert completed.inner_text() == "5"
    page.evaluate(visibility, False)
    expect(completed).to_have_text("6", timeout=5_000)
    assert len(polls) == 1
    assert "1 new completion" in page.locator("#monitor-live").inner_text()
