"""Every participant page: an axe-core audit, and a phone's touch screen (390 x 844).

axe-core comes pinned in the axe-playwright-python package (requirements-dev.txt), so
the audit runs offline. Each whole session (MUSHRA, ABX and AB) is walked on a desktop
window and on an emulated phone (Playwright device emulation: 390 x 844 CSS pixels,
device scale 3, isMobile, hasTouch), and axe audits every page the participant
receives, with its error states: the landing page, consent, the questionnaire (also
with its errors), calibration, the headphone check, training, the trials (also with
the problems "Next" lists), the final questionnaire, the completion page and the
message pages (an invalid link, a declined consent). No violation of impact "serious"
or "critical" is allowed.

On the phone every page must fit the width (no sideways scrolling) and be operated by
touch only: taps on the buttons and choices, rating sliders set by a tap on the track
(and by the keyboard, for a connected keyboard). Blinding is checked on every page as in
test_e2e_participant.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from listening.models import Rating
from tests.browser.test_e2e_participant import (
    Recorder,
    db,
    make_study,
    next_page,
    session_of,
    wait_ready,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Axe()
BLOCKING = {"serious", "critical"}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 720}}
NEXT = re.compile("^(Next|Finish)$")


@pytest.fixture(autouse=True)
def _django(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DEBUG = True  # the signed cookie must not be Secure over plain http


class Audit:
    """Runs axe on each page it is shown, checks the phone layout, and keeps the findings."""

    def __init__(self, page, phone: bool):
        self.page = page
        self.phone = phone
        self.rec = Recorder(page)
        self.audited: list[str] = []
        self.problems: list[str] = []

    def _run_axe(self) -> Any:
        for attempt in range(50):
            self.page.wait_for_load_state("load")
            try:
                self.rec.snapshot()
                return AXE.run(self.page)
            except Exception as error:  # a navigation started by the last tap replaced the page
                if "context was destroyed" not in str(error) or attempt == 49:
                    raise
                self.page.wait_for_timeout(100)
        return None

    def __call__(self, name: str) -> None:
        results = self._run_axe()
        for violation in results.response["violations"]:
            if violation["impact"] in BLOCKING:
                targets = [", ".join(n["target"]) for n in violation["nodes"]][:5]
                self.problems.append(f"{name}: {violation['id']} ({violation['impact']}) {targets}")
        if self.phone:
            overflow = self.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                self.problems.append(f"{name}: {overflow} px wider than the phone's screen")
        self.audited.append(name)

    def tap(self, locator) -> None:
        """A tap on a phone, a click on the desktop."""
        if self.phone:
            locator.tap()
        else:
            locator.click()

    def check(self, locator) -> None:
        self.tap(locator)
        assert locator.is_checked()

    def finish(self) -> None:
        assert self.problems == [], "\n".join(self.problems)
        self.rec.assert_names_nothing()


def press_continue(audit: Audit, name: Any = "Continue", *, navigates: bool = True) -> None:
    button = audit.page.get_by_role("button", name=name)
    if not navigates:
        audit.tap(button)
        return
    with audit.page.expect_navigation():
        audit.tap(button)


def walk_to_training(audit: Audit, live_server: Any, study: Any) -> None:
    page = audit.page
    page.goto(f"{live_server.url}{study.participant_path()}")
    audit("landing")
    press_continue(audit, "Start")
    audit("consent")
    press_continue(audit, "I agree")
    press_continue(audit)  # nothing answered: the questions show their errors
    assert page.get_by_role("alert").first.is_visible()
    audit("questionnaire with errors")
    audit.check(page.get_by_label("25-34"))
    audit.check(page.get_by_label("I play or produce music"))
    field = page.get_by_label("Which headphones")
    audit.tap(field)
    field.fill("Studio cans")
    audit.check(page.locator(".question-4").get_by_label("No", exact=True))
    audit("questionnaire")
    press_continue(audit)
    audit("calibration")
    audit.check(page.get_by_label("I have set a comfortable volume"))
    press_continue(audit)
    page.wait_for_selector("button.play-once")
    audit("screening")
    session = session_of(study)
    buttons = page.locator("button.play-once")
    for i in range(buttons.count()):
        audit.tap(buttons.nth(i))
    for _ in range(100):
        db(session.refresh_from_db)
        items = [i for t in session.screening["attempts"][-1]["tests"] for i in t["items"]]
        if all(item["served"] for item in items):
            break
        page.wait_for_timeout(50)
    for item in items:
        radio = page.locator(f'input[name="clip_{item["key"]}"][value="{item["correct"]}"]')
        audit.tap(page.locator("label.option", has=radio))
        assert radio.is_checked()
    press_continue(audit)
    wait_ready(page)


def rate_by_touch(audit: Audit, slider, fraction: float) -> int:
    """Tap (or click) a slider's track at a fraction of its width; return the value shown."""
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    x = box["width"] - 2 if fraction == 1 else box["width"] * fraction  # 1: the very end, 100
    position = {"x": x, "y": box["height"] / 2}
    if audit.phone:
        slider.tap(position=position)
    else:
        slider.click(position=position)
    return int(slider.input_value())


def mushra_trial(audit: Audit, session: Any, number: int) -> None:
    page = audit.page
    data = page.evaluate("window.participantTrial.data")
    press_continue(audit, NEXT, navigates=False)  # nothing done yet: "Next" lists what is missing
    assert page.locator(".problems li").count() >= 2
    audit(f"trial {number} with problems")
    for i in range(len(data["conditions"])):
        audit.tap(page.locator("button.condition").nth(i + 1))  # after the reference
        page.wait_for_timeout(300)
    audit.tap(page.get_by_role("button", name=re.compile("^Reference")))
    page.wait_for_timeout(300)
    sliders = page.locator(".mushra-grid input[type=range]")
    for i in range(sliders.count()):
        top = i < len(data["attributes"])  # the first version: 100 on every attribute
        value = rate_by_touch(audit, sliders.nth(i), 1 if top else 0.25)
        assert value == 100 if top else 15 <= value <= 35, value
        assert sliders.nth(i).get_attribute("aria-valuetext") != "not rated yet"
    # A connected keyboard moves a focused slider too.
    last = sliders.nth(sliders.count() - 1)
    before = int(last.input_value())
    last.focus()
    page.keyboard.press("ArrowRight")
    assert int(last.input_value()) == before + 1
    trial = data["trial"]["id"]
    expected = sliders.count()
    saved = Rating.objects.filter(trial__session=session, trial__position=trial)
    for _ in range(200):
        if db(saved.count) == expected and db(saved.filter(score=before + 1).exists):
            break
        page.wait_for_timeout(50)
    else:
        raise AssertionError("the touch ratings were not all saved")
    audit(f"trial {number}")


def pair_trial(audit: Audit, paradigm: str, number: int) -> None:
    page = audit.page
    data = page.evaluate("window.participantTrial.data")
    press_continue(audit, NEXT, navigates=False)
    assert page.locator(".problems li").count() >= 1
    audit(f"trial {number} with problems")
    for i in range(len(data["conditions"])):
        audit.tap(page.locator("button.condition").nth(i))
        page.wait_for_timeout(300)
    if paradigm == "abx":
        choice = page.get_by_role("button", name="X is B")
        audit.tap(choice)
        assert choice.get_attribute("aria-pressed") == "true"
    else:
        for group in page.locator("fieldset.preference").all():
            option = group.locator("label.option").first
            audit.tap(option)
            assert option.locator("input").is_checked()
    audit(f"trial {number}")


def walk(page, live_server, paradigm: str, phone: bool) -> Audit:
    study = make_study(paradigm, trials_per_participant=2)
    audit = Audit(page, phone)
    walk_to_training(audit, live_server, study)
    session = session_of(study)
    audit("training")
    if paradigm != "mushra":
        pair_trial(audit, paradigm, 0)
    next_page(page, audit.rec)
    total = db(session.rated_trials().count)
    for number in range(1, total + 1):
        wait_ready(page)
        if paradigm == "mushra":
            mushra_trial(audit, session, number)
        else:
            pair_trial(audit, paradigm, number)
        next_page(page, audit.rec)
    audit("final questionnaire")
    audit.check(page.get_by_label("Yes", exact=True))
    press_continue(audit, "Finish")
    assert page.locator(".completion-code").inner_text() == "C0DE42"
    audit("done")
    # The message pages: an invalid link, and the end of a session without consent.
    page.goto(f"{live_server.url}/p/no-such-session/")
    audit("message: invalid link")
    page.context.clear_cookies()  # a new participant of the same study
    page.goto(f"{live_server.url}{study.participant_path()}")
    press_continue(audit, "Start")
    press_continue(audit, "I do not agree")
    page.wait_for_selector("text=You chose not to take part")
    audit("done: declined")
    return audit


@pytest.mark.parametrize("paradigm", ["mushra", "abx", "ab"])
def test_every_page_on_a_phone(browser, live_server, paradigm):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    audit = walk(page, live_server, paradigm, phone=True)
    assert len(audit.audited) >= 12
    audit.finish()
    context.close()


@pytest.mark.parametrize("paradigm", ["mushra", "abx", "ab"])
def test_every_page_on_a_desktop(browser, live_server, paradigm):
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    audit = walk(page, live_server, paradigm, phone=False)
    audit.finish()
    context.close()


def test_the_audit_finds_what_it_must(browser, live_server):
    """The audit itself works: an unlabelled slider and low contrast are reported."""
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/p/no-such-session/")
    page.evaluate(
        """() => { const main = document.querySelector('main');
                   const input = document.createElement('input'); input.type = 'range';
                   const faint = document.createElement('p'); faint.textContent = 'faint';
                   faint.style.color = '#eeeeee'; main.append(input, faint); }"""
    )
    found = {v["id"]: v["impact"] for v in AXE.run(page).response["violations"]}
    assert found.get("label") == "critical"
    assert found.get("color-contrast") == "serious"
    context.close()


def test_wait_until_is_usable_here(browser, live_server):
    """wait_until polls through the DevTools protocol (the pages' policy forbids eval)."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/p/no-such-session/")
    wait_until(page, "document.readyState === 'complete'")
    context.close()
