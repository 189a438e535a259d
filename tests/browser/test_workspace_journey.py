"""The issue's whole journey in Chromium, with no admin, API or shell: a new researcher
signs in, builds a study, uploads its audio, watches it prepare, previews a trial,
copies the Prolific URL and opens the study; a participant then takes it in another
browser, and the researcher's dashboard shows the completion."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from listening.models import Session, Study
from listening.research.researchers import grant_researcher
from tests.browser.test_e2e_participant import (
    Recorder,
    db,
    listen_to_all,
    next_page,
    start_and_screen,
    train,
    wait_ready,
    wait_until,
)
from tests.listening.base import versions, wav_bytes

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _django(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DEBUG = True  # cookies must not be Secure over plain http


def accepted(page: Any, count: int) -> None:
    wait_until(
        page,
        f"document.querySelectorAll('#upload-results li[data-result=accepted]').length === {count}",
        timeout=60,
    )


def take_the_study(browser: Any, live_server: Any, study: Study) -> Session:
    """A participant in a browser of their own: every page to the completion code."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    rec = Recorder(page)
    session = start_and_screen(page, live_server, study, rec)
    train(page, rec)
    for _trial in range(db(lambda: session.trials.filter(is_training=False).count())):
        wait_ready(page)
        data = page.evaluate("window.participantTrial.data")
        listen_to_all(page, len(data["conditions"]), extra="r")
        for condition in data["conditions"]:
            for attribute in data["attributes"]:
                page.get_by_role(
                    "slider", name=f"Condition {condition['label']}, {attribute['label']}"
                ).focus()
                page.keyboard.press("End")
        next_page(page, rec)
    page.get_by_label("Yes", exact=True).check()  # the volume was kept
    page.get_by_role("button", name="Finish").click()
    expect(page.locator(".completion-code")).to_have_text("C0DE-JOURNEY", timeout=30_000)
    context.close()
    return db(lambda: Session.objects.get(pk=session.pk))


def test_from_sign_in_to_an_open_study_and_a_first_participant(
    live_server: Any, browser: Any, tmp_path: Any
) -> None:
    from django.contrib.auth.models import User

    grant_researcher(User.objects.create_user("newcomer", password="pw-newcomer-1"))
    audio = versions("pop", 5, 6.0)
    files = {}
    for name in ("mix", "ai", "human"):
        files[name] = tmp_path / f"{name}.wav"
        files[name].write_bytes(wav_bytes(audio[name]))

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # Sign in from the home page.
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Researchers: sign in").click()
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password").fill("pw-newcomer-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workspace/")

    # Build: a title, a 3 s excerpt from 1 s, a short screening, a completion code.
    page.get_by_role("link", name="New study").click()
    page.get_by_label("Title", exact=True).fill("Journey study")
    page.get_by_label("Excerpt start (s, in the mix's timeline)").fill("1")
    page.get_by_label("Excerpt length (s)").fill("3")
    page.get_by_label("Completion code").fill("C0DE-JOURNEY")
    page.get_by_label("Listening time that counts as played (s)").fill("0.2")
    page.get_by_label("Trials per test").fill("3")  # short clips, each played in full
    page.get_by_role("button", name="Create study").click()
    page.wait_for_url(re.compile(r".*/workspace/studies/\d+/$"))
    study = db(lambda: Study.objects.get(title="Journey study"))

    # Upload a mix and two masters; preparation reaches "ready" without a reload.
    page.get_by_role("link", name="Audio").first.click()
    page.fill("#track-title", "Song")
    page.fill("#track-genre", "pop")
    page.get_by_role("button", name="Add track").click()
    wait_until(page, "document.getElementById('track-message').textContent.includes('Added')")
    page.select_option("#upload-role", "mix")
    page.set_input_files("#upload-files", str(files["mix"]))
    accepted(page, 1)
    page.select_option("#upload-role", "master")
    for system, provider, count in (("ai", "An AI service", 2), ("human", "An engineer", 3)):
        page.select_option("#upload-system", system)
        page.fill("#upload-provider", provider)
        page.set_input_files("#upload-files", str(files[system]))
        accepted(page, count)
    wait_until(
        page,
        "document.querySelectorAll('[data-state]').length >= 3 && [...document."
        "querySelectorAll('[data-state]')].every((n) => n.dataset.state === 'ready')",
        timeout=90,
    )

    # Preview the trial with the participants' player, and reveal the letters.
    page.get_by_role("link", name="Preview").first.click()
    page.get_by_role("link", name="Song").click()
    wait_ready(page)
    page.keyboard.press("1")
    page.wait_for_timeout(500)
    assert page.evaluate("window.participantTrial.player.position") > 0.1
    page.get_by_role("button", name="Reveal conditions").click()
    assert "An AI service" in page.inner_text("#reveal-table")
    assert db(Session.objects.count) == 0  # a preview counts no session

    # Launch: copy the Prolific URL, then open.
    page.get_by_role("link", name="Back to the trials").click()
    page.get_by_role("link", name="Launch").first.click()
    page.get_by_role("button", name="Copy Prolific URL").click()
    page.locator("#copy-status").filter(has_text="Copied").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"{live_server.url}/s/{study.public_token}/?PROLIFIC_PID=")
    page.get_by_role("button", name="Open the study").click()
    wait_until(page, "true")
    assert db(lambda: Study.objects.get(pk=study.pk).status) == Study.Status.OPEN

    # A participant takes it; the dashboard counts the completion.
    study = db(lambda: Study.objects.get(pk=study.pk))
    session = take_the_study(browser, live_server, study)
    assert session.state == Session.State.COMPLETE
    page.get_by_role("link", name="Dashboard").first.click()
    expect(page.locator("[data-number=completed]")).to_have_text("1", timeout=30_000)
    assert errors == []
    context.close()
