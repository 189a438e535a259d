"""Two tabs of one session (two pages of one browser context) against the real Django app.

A tab that regains focus re-reads the trial's saved state from the server
(/p/<token>/current) and shows what the other tab saved, while keeping its own answers
that the server has not acknowledged yet and any control touched after the request
left. When the other tab has submitted the trial, the tab follows the session.

Headless Chromium keeps every page of a context visible and focused, so the test
dispatches the window's "focus" event itself, as a real browser does when the
participant comes back to the tab.
"""

from __future__ import annotations

import re
import time

import pytest

from listening.models import Rating
from tests.browser.test_e2e_participant import (
    db,
    evaluate_settled,
    listen_to_all,
    make_study,
    next_page,
    session_of,
    wait_ready,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tabs(browser):
    """Both tabs' browser context, closed before the live server's database is flushed
    (a tab still saving would otherwise hold the in-memory database's table lock)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()
    time.sleep(1.0)  # the live server's threads finish what the closed tabs left running


@pytest.fixture(autouse=True)
def _django(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DEBUG = True  # the signed cookie must not be Secure over plain http


class Nobody:
    """A Recorder that records nothing (next_page snapshots through it)."""

    def snapshot(self) -> None:
        pass


def to_first_trial(page, live_server, study) -> None:
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
    wait_ready(page)  # the training
    next_page(page, Nobody())
    wait_ready(page)


def slider(page, label: str):
    return page.get_by_role("slider", name=f"Condition {label}, Clarity")


def value_of(label: str) -> str:
    """A JavaScript expression: the value of a condition's clarity slider."""
    return f"document.querySelector('input[aria-label=\"Condition {label}, Clarity\"]').value"


def set_slider(page, label: str, keys: list[str]) -> None:
    slider(page, label).focus()
    for key in keys:
        page.keyboard.press(key)


def score(session, label_key: str) -> int | None:
    rating = db(
        lambda: Rating.objects.filter(
            trial__session=session, condition__key=label_key, attribute="clarity"
        ).first()
    )
    return rating.score if rating else None


def wait_for_score(page, session, key: str, expected: int) -> None:
    for _ in range(200):
        if score(session, key) == expected:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"the server holds {score(session, key)}, not {expected}")


def regain_focus(page) -> None:
    page.bring_to_front()
    # A tab that follows the session to its next trial may be navigating meanwhile.
    evaluate_settled(page, "window.dispatchEvent(new Event('focus'))")


def test_a_tab_that_regains_focus_shows_what_the_other_tab_saved(tabs, live_server):
    study = make_study("mushra", screening={"tests": []}, trials_per_participant=2)
    one = tabs.new_page()
    to_first_trial(one, live_server, study)
    session = session_of(study)
    two = tabs.new_page()
    two.goto(one.url)
    wait_ready(two)
    keys = {c["label"]: c["key"] for c in one.evaluate("window.participantTrial.data.conditions")}

    # The reported case: one tab kept showing 10 for a slider the other had saved as 90.
    set_slider(one, "A", ["Home", "PageUp"])
    wait_for_score(one, session, keys["A"], 10)
    set_slider(two, "A", ["End", "PageDown"])
    wait_for_score(two, session, keys["A"], 90)
    assert slider(one, "A").input_value() == "10"
    regain_focus(one)
    wait_until(one, f"{value_of('A')} === '90'")
    assert slider(one, "A").get_attribute("aria-valuetext") == "90, Excellent"

    # An answer this tab has not got acknowledged is kept over the server's value.
    set_slider(two, "B", ["End"])
    set_slider(two, "C", ["Home", "PageUp", "PageUp", "PageUp"])
    wait_for_score(two, session, keys["B"], 100)
    wait_for_score(two, session, keys["C"], 30)
    # Both tabs offline now (the other tab would otherwise send this tab's queued answer).
    for page in (one, two):
        page.route(re.compile(r".*/answers$"), lambda route: route.abort())
    set_slider(one, "B", ["Home"])
    wait_until(
        one,
        "(localStorage.getItem(Object.keys(localStorage).find(k => "
        "k.startsWith('participant-queue:'))) || '').includes('\"score\":0')",
    )
    regain_focus(one)
    wait_until(one, f"{value_of('C')} === '30'")
    assert slider(one, "C").input_value() == "30"  # from the server
    assert slider(one, "B").input_value() == "0"  # this tab's unsent answer, kept
    assert score(session, keys["B"]) == 100
    for page in (one, two):
        page.unroute(re.compile(r".*/answers$"))
    regain_focus(one)  # online again: the queue drains
    wait_for_score(one, session, keys["B"], 0)
    one.wait_for_timeout(300)
    assert slider(one, "B").input_value() == "0"

    # A slider moved while the request is on its way keeps the participant's value.
    held = []
    one.route(re.compile(r".*/current$"), lambda route: held.append(route))
    set_slider(two, "A", ["Home", "PageUp", "PageUp"])
    wait_for_score(two, session, keys["A"], 20)
    regain_focus(one)
    wait_until(one, "true")
    for _ in range(100):
        if held:
            break
        one.wait_for_timeout(50)
    assert held, "the focus did not ask the server"
    set_slider(one, "A", ["End", "PageDown", "PageDown", "PageDown"])  # 70, while waiting
    wait_for_score(one, session, keys["A"], 70)
    held[0].continue_()  # the answer may say 20 or 70: the slider was touched since
    one.wait_for_timeout(500)
    assert slider(one, "A").input_value() == "70"
    one.unroute(re.compile(r".*/current$"))

    # The other tab submits the trial: this tab follows the session to the next one.
    listen_to_all(two, len(keys), extra="r")
    for label in keys:
        for attribute in ["Overall quality", "Clarity"]:
            two.get_by_role("slider", name=f"Condition {label}, {attribute}").focus()
            two.keyboard.press("End")
    next_page(two, Nobody())
    wait_ready(two)
    assert two.locator(".trial-title").inner_text() == "Trial 2 of 2"
    regain_focus(one)
    wait_until(
        one,
        "document.querySelector('.trial-title') && "
        "document.querySelector('.trial-title').textContent === 'Trial 2 of 2'",
    )
    wait_ready(one)


def test_a_value_one_tab_replaced_is_never_sent_by_the_other(tabs, live_server):
    """Tab one queues 90, 80, 70 behind a request in flight; 90 and 80 are replaced before
    they leave. The other tab sees the shared queue in localStorage but must not send the
    replaced values: sent late, 80 would overwrite the participant's 70 on the server."""
    study = make_study("mushra", screening={"tests": []}, trials_per_participant=1)
    one = tabs.new_page()
    to_first_trial(one, live_server, study)
    session = session_of(study)
    two = tabs.new_page()
    two.goto(one.url)
    wait_ready(two)
    keys = {c["label"]: c["key"] for c in one.evaluate("window.participantTrial.data.conditions")}
    sent_by_two: list[str] = []
    two.on(
        "request",
        lambda request: sent_by_two.append(request.post_data or "")
        if request.url.endswith("/answers")
        else None,
    )
    held = []
    one.route(
        re.compile(r".*/answers$"),
        lambda route: route.continue_() if held else held.append(route),
    )
    set_slider(one, "A", ["End"])  # 100: in flight, held
    for _ in range(100):
        if held:
            break
        one.wait_for_timeout(50)
    assert held, "the first value did not leave"
    set_slider(one, "A", ["PageDown", "PageDown", "PageDown"])  # 90, 80, 70 queued
    one.wait_for_timeout(1000)  # time for the other tab to act on the storage events
    held[0].continue_()
    wait_for_score(one, session, keys["A"], 70)
    two.wait_for_timeout(1000)
    assert score(session, keys["A"]) == 70
    replaced = [body for body in sent_by_two if '"score":80' in body or '"score":90' in body]
    assert replaced == [], f"the other tab sent values this tab had replaced: {replaced}"
