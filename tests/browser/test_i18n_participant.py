"""A German participant in headless Chromium: pages and the player's script texts in German.

The browser context's locale is de-DE (Chromium then sends Accept-Language: de-DE), the
study offers English and German; the session runs from the landing page through the
headphone check and the training to the first trial, and every text checked on the way
is the German one, the player's too (static/participant/strings.js).
"""

from __future__ import annotations

import json

import pytest

from listening.models import Session
from tests.browser.test_accessibility import AXE, BLOCKING
from tests.browser.test_e2e_participant import (
    Recorder,
    db,
    evaluate_settled,
    make_study,
    session_of,
    wait_ready,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _django(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DEBUG = True  # the signed cookie must not be Secure over plain http


DESCRIBED = "Wie deutlich einzelne Instrumente zu hören sind"


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page (as test_accessibility)."""
    found = AXE.run(page).response["violations"]
    return [f"{v['id']} ({v['impact']})" for v in found if v["impact"] in BLOCKING]


@pytest.fixture
def german_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="de-DE")
    page = context.new_page()
    yield page
    context.close()


def test_a_german_session_reaches_the_first_trial_in_german(german_page, live_server):
    page = german_page
    study = make_study(
        "mushra",
        languages=["en", "de"],
        translations={
            "de": {"attributes": {"clarity": {"name": "Klarheit", "description": DESCRIBED}}}
        },
    )
    rec = Recorder(page)
    page.goto(f"{live_server.url}{study.participant_path()}")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("h1").inner_text() == "Hörstudie"
    rec.snapshot()
    page.get_by_role("button", name="Beginnen").click()
    assert db(lambda: session_of(study).language) == "de"
    page.get_by_role("button", name="Ich stimme zu", exact=True).click()
    page.get_by_label("25-34").check()
    page.get_by_label("Ich spiele oder produziere Musik").check()
    page.get_by_label("Welchen Kopfhörer").fill("Studiokopfhörer")
    page.locator(".question-4").get_by_label("Nein", exact=True).check()
    page.get_by_role("button", name="Weiter").click()
    page.get_by_label("Ich habe eine angenehme Lautstärke eingestellt").check()
    rec.snapshot()
    page.get_by_role("button", name="Weiter").click()

    # The headphone check: its script's texts are German.
    page.wait_for_selector("button.play-once")
    assert page.locator("h1").inner_text() == "Kopfhörerprüfung"
    buttons = page.locator("button.play-once")
    assert buttons.first.inner_text() == "Klang 1 abspielen"
    for i in range(buttons.count()):
        buttons.nth(i).click()
        text = buttons.nth(i).inner_text()
        assert text in ("Wird abgespielt …", "Abgespielt"), text
    session = session_of(study)
    for _ in range(100):
        db(session.refresh_from_db)
        items = [i for t in session.screening["attempts"][-1]["tests"] for i in t["items"]]
        if all(item["served"] for item in items):
            break
        page.wait_for_timeout(50)
    for item in items:
        page.locator(f'input[name="clip_{item["key"]}"][value="{item["correct"]}"]').check()
    rec.snapshot()
    page.get_by_role("button", name="Weiter").click()

    # Training: the player, the keyboard help, the sliders and the save status.
    wait_ready(page)
    assert db(lambda: session_of(study).state) == Session.State.TRAINING
    assert page.locator(".trial-title").inner_text() == "Übung"
    assert page.title() == "Übung"
    assert page.locator("button.play").inner_text() == "Abspielen"
    assert page.get_by_role("button", name="Schleifenanfang setzen").count() == 1
    assert page.locator("summary").inner_text() == "Tastenkürzel"
    help_texts = page.locator("details dd").all_text_contents()  # (inside closed <details>)
    assert "Abspielen / Pause" in help_texts
    assert "die Referenz anhören" in help_texts
    assert page.locator("details dt").first.text_content() == "Leertaste"
    assert "noch nicht bewertet" in page.locator(".mushra-grid .value").first.inner_text()
    assert "Referenz (wird nicht bewertet)" in page.locator(".reference-note").inner_text()
    bands = page.locator(".mushra-grid thead .scale").first.inner_text()
    # The researcher's translation of an attribute, with its description under the name.
    names = page.locator(".mushra-grid thead .attribute-name").all_inner_texts()
    assert names == ["Overall quality", "Klarheit"]
    assert page.locator(".mushra-grid thead .attribute-description").inner_text() == DESCRIBED
    assert serious_violations(page) == []
    assert "Ausgezeichnet" in bands
    assert "Schlecht" in bands
    assert page.get_by_role("button", name="Weiter").count() == 1
    page.keyboard.press("Space")
    wait_until(page, "window.participantTrial.player.playing")
    assert page.locator("button.play").inner_text() == "Anhalten"
    page.keyboard.press("Space")
    rec.snapshot()

    # The first graded trial, mounted by the same page: still German.
    page.get_by_role("button", name="Weiter").click()
    deadline = 0
    while "Durchgang" not in (
        evaluate_settled(page, "document.querySelector('.trial-title')?.textContent") or ""
    ):
        deadline += 1
        assert deadline < 300, "the first trial never appeared"
        page.wait_for_timeout(50)
    wait_ready(page)
    assert page.locator(".trial-title").inner_text().startswith("Durchgang 1 von ")
    assert page.title() == "Hörtest"
    assert page.locator(".trial-progress").get_attribute("aria-label") == "Fortschritt im Test"
    # Next without listening: the page's own check, in German.
    page.get_by_role("button", name="Weiter").click()
    problems = page.locator(".problems").inner_text()
    assert "Hören Sie zuerst jede Bedingung an" in problems
    assert serious_violations(page) == []
    strings = json.loads(page.locator("#participant-strings").text_content())
    assert strings["Keyboard shortcuts"] == "Tastenkürzel"
    rec.snapshot()
    rec.assert_names_nothing()
    # Leave the trial page, so its last listening events are not sent while the test
    # database is being emptied.
    page.goto("about:blank")
    page.wait_for_timeout(500)
