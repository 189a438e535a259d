"""A researcher in Chromium: sign in, build a study from scratch, launch, copy the Prolific
URL, try to open it; and an axe audit of each builder page."""

from __future__ import annotations

import os
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from listening.models import Study
from listening.research.opening import problems_before_opening
from listening.research.researchers import grant_researcher
from tests.browser.test_e2e_participant import SerialWSGIServer  # noqa: F401  (one thread)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Axe()
BLOCKING = {"serious", "critical"}


@pytest.fixture(autouse=True)
def _django(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DEBUG = True  # cookies must not be Secure over plain http


def audit(page: Any, name: str, problems: list[str]) -> None:
    results = AXE.run(page)
    for violation in results.response["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [", ".join(n["target"]) for n in violation["nodes"]][:5]
            problems.append(f"{name}: {violation['id']} ({violation['impact']}) {targets}")


def test_a_researcher_builds_launches_and_copies_the_prolific_url(
    live_server: Any, browser: Any
) -> None:
    from django.contrib.auth.models import User

    user = User.objects.create_user("builder", password="pw-builder-1")
    grant_researcher(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    problems: list[str] = []

    page.goto(f"{live_server.url}/")
    audit(page, "home", problems)
    page.get_by_role("link", name="Researchers: sign in").click()
    page.wait_for_url("**/workspace/login/")
    audit(page, "login", problems)
    page.get_by_label("Username").fill("builder")
    page.get_by_label("Password").fill("pw-builder-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workspace/")
    audit(page, "study list", problems)

    page.get_by_role("link", name="New study").click()
    page.wait_for_url("**/workspace/studies/new/")
    audit(page, "builder", problems)
    page.get_by_label("Title", exact=True).fill("Browser-built study")
    # Start from two attributes of our own: remove the four defaults, add two.
    rows = page.locator('fieldset[data-formset="attributes"] [data-row]')
    for i in range(4):
        rows.nth(i).get_by_label("Remove").check()
    page.get_by_label("Attribute 1: name").fill("clarity")  # the blank row, renumbered
    page.get_by_role("button", name="Add attribute").click()
    page.get_by_label("Attribute 2: name").fill("punch")
    assert page.locator("[data-row]:visible [data-key]").nth(1).inner_text() == "punch"
    page.get_by_role("button", name="Move attribute 2 up").click()
    assert page.get_by_label("Attribute 1: name").input_value() == "punch"
    # One question, an integer with a range; a wrong pass mark to see the errors.
    page.get_by_label("Key (export column)").fill("age")
    page.get_by_label("Question", exact=True).fill("Your age")
    page.get_by_label("Type").select_option("integer")
    page.get_by_label("Minimum").fill("18")
    page.get_by_label("Maximum").fill("12")
    page.get_by_label("Pass mark (trials right)").fill("9")
    page.get_by_role("button", name="Create study").click()
    summary = page.get_by_role("alert")
    summary.wait_for()
    text = summary.inner_text()
    assert "Question 1: min (18) is above max (12)" in text
    assert "Screening: pass_mark (9) is above trials_per_test (6)" in text
    audit(page, "builder with errors", problems)
    assert not Study.objects.exists()

    # The rows keep their order and values after the refused post.
    assert page.get_by_label("Attribute 1: name").input_value() == "punch"
    page.get_by_label("Maximum").fill("99")
    page.get_by_label("Pass mark (trials right)").fill("5")
    page.get_by_label("Completion code").fill("PROLIFIC1")
    page.get_by_role("button", name="Create study").click()
    page.wait_for_url("**/workspace/studies/*/")
    study = Study.objects.get()
    assert study.title == "Browser-built study"
    assert study.attributes == ["punch", "clarity"]
    assert study.questionnaire == [
        {
            "name": "age",
            "label": "Your age",
            "type": "integer",
            "min": 18,
            "max": 99,
            "required": True,
        }
    ]

    page.get_by_role("link", name="Launch").first.click()
    page.wait_for_url("**/launch/")
    audit(page, "launch", problems)
    page.get_by_role("button", name="Copy Prolific URL").click()
    page.locator("#copy-status").filter(has_text="Copied").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == (
        f"{live_server.url}/s/{study.public_token}/"
        "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
    )

    page.get_by_role("button", name="Open the study").click()
    page.get_by_role("heading", name="The study cannot open yet").wait_for()
    missing = page.locator("#problems li").all_inner_texts()
    assert missing  # a study without audio cannot open, and says why
    assert problems_before_opening(study) == missing
    audit(page, "launch with missing items", problems)
    assert Study.objects.get().status == Study.Status.DRAFT
    assert errors == []
    assert problems == [], "\n".join(problems)
    context.close()


def test_participants_read_the_attribute_descriptions(page: Any, live_server: Any) -> None:
    from tests.browser.test_e2e_participant import (
        Recorder,
        make_study,
        start_and_screen,
        wait_ready,
    )

    described = "How clearly each instrument stands apart."
    study = make_study("mushra", attribute_descriptions={"clarity": described})
    rec = Recorder(page)
    start_and_screen(page, live_server, study, rec)
    wait_ready(page)
    header = page.locator("th", has=page.locator(".attribute-name", has_text="Clarity"))
    assert header.locator(".attribute-description").inner_text() == described
    others = page.locator("th", has=page.locator(".attribute-name", has_text="Overall quality"))
    assert others.locator(".attribute-description").count() == 0
    rec.snapshot()
    rec.assert_names_nothing()
