"""Whole participant sessions in headless Chromium against the real Django app.

Each test builds a tiny study (generated audio, 2 tracks, 3 s excerpts) through the
real preparation pipeline, then takes it as a participant would: consent,
questionnaire, calibration, headphone screening (the correct answers are read from
the database, never from the page), training, the trials with the keyboard and the
mouse, a reload in the middle, and the completion code. Every page and every response
header is checked for names of conditions.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pytest
from django.core.servers.basehttp import WSGIServer
from django.db import OperationalError
from django.test.testcases import LiveServerThread

from listening.models import Rating, Session, Study
from listening.participant import evidence

# Playwright's sync API runs an event loop in the test thread, and Django refuses ORM calls
# from a thread with a running loop; the calls here are plain synchronous test code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# With the in-memory SQLite test database every request thread of the live server shares
# one connection, so concurrent requests interleave their transactions ("database table
# is locked"). A single-threaded server (it closes each connection after its response)
# keeps requests apart; a real deployment has a connection per thread or process.
class SerialWSGIServer(WSGIServer):
    def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # requests run in the server thread, which has them


LiveServerThread.server_class = SerialWSGIServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRETS = (
    "landr-secret",
    "mastering engineer secret",
    "track title secret",
    "researcher study title secret",
    "_secret.wav",
)
WORDS = re.compile(
    r"(?<![a-z0-9_-])(human|ai|anchor|mix|master|hidden|provider|system)(?![a-z0-9_-])"
)
TOKENS = re.compile(r"[A-Za-z0-9_-]{20,}")


@pytest.fixture(autouse=True)
def _django(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DEBUG = True  # the signed cookie must not be Secure over plain http


def make_study(paradigm: str, **options: Any) -> Study:
    from django.contrib.auth.models import User

    from tests.listening.participant_fixtures import build_study

    owner = User.objects.create_user("owner-e2e", password="pw")
    # Three screening clips, not six: they play one after another, each in full.
    defaults: dict[str, Any] = {
        "reference_mode": "mix",
        "anchors": True,
        "screening": {"tests": ["antiphase"], "trials_per_test": 3},
    }
    if paradigm != "mushra":
        defaults.update(reference_mode="none", anchors=False)
    return build_study(owner, paradigm=paradigm, min_listen_seconds=0.2, **{**defaults, **options})


class Recorder:
    """What the browser received: every response's URL and headers, and every page's DOM."""

    def __init__(self, page):
        self.page = page
        self.responses: list[str] = []
        self.console: list[str] = []
        self.pages: list[str] = []
        page.on("response", lambda r: self.responses.append(f"{r.url}\n{r.headers}"))
        page.on("console", lambda m: self.console.append(m.text))

    def snapshot(self) -> None:
        self.pages.append(self.page.content())

    def assert_names_nothing(self) -> None:
        # The pages run under the strict Content-Security-Policy: nothing may be refused.
        refused = [t for t in self.console if "Content Security Policy" in t]
        assert refused == [], refused
        for text in [*self.responses, *self.pages, *self.console]:
            lowered = text.lower()
            for secret in SECRETS:
                assert secret not in lowered, secret
            # HTML's own hidden attribute and hidden CSRF input are not names of conditions.
            words = TOKENS.sub(" ", lowered).replace('type="hidden"', "").replace(' hidden=""', "")
            found = WORDS.search(words)
            assert found is None, (
                found.group(0),
                words[max(0, found.start() - 80) : found.end() + 80],
            )


def db(read: Any) -> Any:
    """Run a read, retrying while the live server's thread holds the in-memory test database."""
    for attempt in range(100):
        try:
            return read()
        except OperationalError:
            if attempt == 99:
                raise
            time.sleep(0.05)


def session_of(study: Study) -> Session:
    return db(lambda: Session.objects.filter(study=study).latest("started_at"))


def start_and_screen(page, live_server, study: Study, rec: Recorder, *, correct=True) -> Session:
    page.goto(f"{live_server.url}{study.participant_path()}?PROLIFIC_PID=e2e-{study.paradigm}")
    rec.snapshot()
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="I agree").click()
    page.get_by_label("25-34").check()
    page.get_by_label("I play or produce music").check()
    page.get_by_label("Which headphones").fill("Studio cans")
    page.locator(".question-4").get_by_label("No", exact=True).check()
    rec.snapshot()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("audio.calibration", state="attached")
    assert page.locator("audio.calibration").count() == 1
    rec.snapshot()
    page.get_by_label("I have set a comfortable volume").check()
    page.get_by_role("button", name="Continue").click()
    for _attempt in range(2 if not correct else 1):
        page.wait_for_selector("button.play-once")
        rec.snapshot()
        buttons = page.locator("button.play-once")
        for i in range(buttons.count()):
            buttons.nth(i).click()
            assert buttons.nth(i).is_disabled()  # each clip plays once
        session = session_of(study)
        for _ in range(100):
            db(session.refresh_from_db)
            items = [i for t in session.screening["attempts"][-1]["tests"] for i in t["items"]]
            if all(item["served"] for item in items):
                break
            page.wait_for_timeout(50)
        for item in items:
            answer = item["correct"] if correct else (item["correct"] + 1) % 3
            page.locator(f'input[name="clip_{item["key"]}"][value="{answer}"]').check()
        page.get_by_role("button", name="Continue").click()
    return session_of(study)


def wait_until(page, expression: str, timeout: float = 30.0) -> None:
    """Poll a JavaScript expression until it is true.

    Not page.wait_for_function: Playwright evaluates its predicate with eval() inside the
    page, which the app's Content-Security-Policy (no 'unsafe-eval') rightly refuses;
    page.evaluate goes through the DevTools protocol and is not subject to the policy.
    A navigation while polling (a page that follows the session) is waited out.
    """
    deadline = time.monotonic() + timeout
    while not evaluate_settled(page, f"Boolean({expression})"):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)


def wait_ready(page) -> None:
    wait_until(page, "window.participantTrial && window.participantTrial.player.ready")
    wait_until(page, "document.querySelector('.trial-body').inert === false")


def listen_to_all(page, count: int, *, extra: str = "") -> None:
    for i in range(count):
        page.keyboard.press(str(i + 1))
        page.wait_for_timeout(300)
    if extra:
        page.keyboard.press(extra)
        page.wait_for_timeout(300)


def evaluate_settled(page, expression: str) -> Any:
    """Evaluate in the page, retrying while a navigation replaces its document."""
    for attempt in range(100):
        try:
            return page.evaluate(expression)
        except Exception as error:  # the execution context went away mid-navigation
            if "context was destroyed" not in str(error) and "navigat" not in str(error):
                raise
            if attempt == 99:
                raise
            page.wait_for_timeout(50)
    return None


def next_page(page, rec: Recorder) -> None:
    """Press Next (or Finish) and wait for what follows: the next trial mounted in the same
    page (boot.js, its audio prefetched) or, after the last trial, the next page."""
    rec.snapshot()
    page.evaluate("window.__trialBefore = window.participantTrial || null")
    page.get_by_role("button", name=re.compile("^(Next|Finish)$")).click()
    deadline = time.monotonic() + 15
    while not evaluate_settled(
        page,
        "document.readyState === 'complete' && (!('__trialBefore' in window) "
        "|| window.participantTrial !== window.__trialBefore)",
    ):
        assert time.monotonic() < deadline, "neither a new trial nor a new page"
        page.wait_for_timeout(50)


def answer_pair(page, paradigm: str) -> None:
    if paradigm == "abx":
        page.get_by_role("button", name="X is B").click()
    else:
        page.get_by_label("No preference").first.check()
        page.locator("fieldset.preference").nth(1).locator("input[type=radio]").first.check()


def train(page, rec: Recorder, paradigm: str = "mushra") -> None:
    wait_ready(page)
    assert page.locator(".trial-title").inner_text() == "Training"
    if paradigm != "mushra":
        answer_pair(page, paradigm)  # the page asks for an answer; the server records none
    next_page(page, rec)


def test_mushra_session_with_keyboard_mouse_and_a_reload(page, live_server):
    study = make_study("mushra")
    rec = Recorder(page)
    loading_seen: list[bool] = []
    page.on(
        "framenavigated",
        lambda frame: loading_seen.append(True),
    )
    session = start_and_screen(page, live_server, study, rec)
    assert session.state == "training"
    train(page, rec)

    for number in (1, 2):
        assert page.locator(".loading").count() == 1  # the loading indicator is on the page
        wait_ready(page)
        assert page.locator(".loading").is_hidden()
        progress = page.get_by_role("progressbar", name="Progress through the test")
        assert progress.get_attribute("aria-valuetext") == f"Trial {number} of 2"
        data = page.evaluate("window.participantTrial.data")
        conditions = data["conditions"]
        assert len(conditions) == 5  # mix (hidden reference), 2 masters, 2 anchors

        # Switching keeps the playback position.
        page.keyboard.press("Space")
        page.wait_for_timeout(400)
        switch = page.evaluate(
            """() => { const p = window.participantTrial.player;
                       const before = p.position; window.participantTrial.select(2);
                       return {before, after: p.position, active: p.active}; }"""
        )
        assert switch["before"] > 0.2
        assert abs(switch["after"] - switch["before"]) < 0.05
        listen_to_all(page, len(conditions), extra="r")

        # Rate: the first attribute with the keyboard, the second with the mouse.
        attributes = [a["label"] for a in data["attributes"]]
        for i, condition in enumerate(conditions):
            slider = page.get_by_role(
                "slider", name=f"Condition {condition['label']}, {attributes[0]}"
            )
            slider.focus()
            page.keyboard.press("End" if i == 0 else "ArrowLeft")
        trial = db(lambda n=number: session.trials.get(position=n))
        if number == 1:  # reload in the middle: nothing is lost
            for _ in range(100):
                if db(Rating.objects.filter(trial=trial).count) == len(conditions):
                    break
                page.wait_for_timeout(50)
            page.reload()
            wait_ready(page)
            for i, condition in enumerate(conditions):
                slider = page.get_by_role(
                    "slider", name=f"Condition {condition['label']}, {attributes[0]}"
                )
                assert slider.input_value() == ("100" if i == 0 else "49")
            assert page.locator("button.condition.played").count() == len(conditions) + 1
        for i, condition in enumerate(conditions):
            slider = page.get_by_role(
                "slider", name=f"Condition {condition['label']}, {attributes[1]}"
            )
            box = slider.bounding_box()
            x = box["width"] - 2 if i == 1 else box["width"] * 0.3
            slider.click(position={"x": x, "y": box["height"] / 2})
        page.get_by_role(
            "slider", name=f"Condition {conditions[1]['label']}, {attributes[1]}"
        ).press("End")
        next_page(page, rec)

    ratings = Rating.objects.filter(trial__session=session)
    assert ratings.count() == 2 * 5 * 2
    assert ratings.filter(score=100).count() >= 4
    page.get_by_label("Yes", exact=True).check()
    rec.snapshot()
    page.get_by_role("button", name="Finish").click()
    assert page.locator(".completion-code").inner_text() == "C0DE42"
    rec.snapshot()
    db(session.refresh_from_db)
    assert session.state == "complete"
    assert session.prolific_pid == "e2e-mushra"
    assert session.events.filter(kind="switch").exists()
    # The server's own evidence: it sent every file of every trial whole to this session.
    for trial in db(lambda: list(session.rated_trials())):
        every = db(lambda t=trial: set(t.conditions.values_list("pk", flat=True)))
        assert db(lambda t=trial: evidence.delivered(t)) == every
    rec.assert_names_nothing()


@pytest.mark.parametrize("paradigm", ["abx", "ab"])
def test_pairwise_session(page, live_server, paradigm):
    study = make_study(paradigm, trials_per_participant=1)
    rec = Recorder(page)
    session = start_and_screen(page, live_server, study, rec)
    train(page, rec, paradigm)
    total = db(session.rated_trials().count)
    for number in range(1, total + 1):
        wait_ready(page)
        assert (
            page.get_by_role("progressbar", name="Progress through the test").get_attribute(
                "aria-valuetext"
            )
            == f"Trial {number} of {total}"
        )
        data = page.evaluate("window.participantTrial.data")
        listen_to_all(page, len(data["conditions"]))
        answer_pair(page, paradigm)
        next_page(page, rec)
    page.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Finish").click()
    assert page.locator(".completion-code").inner_text() == "C0DE42"
    db(session.refresh_from_db)
    assert session.state == "complete"
    if paradigm == "abx":
        answers = [t.abx_answers.get() for t in session.rated_trials()]
        assert all(a.answer is not None and a.correct is not None for a in answers)
    else:
        assert session.rated_trials().first().preference_answers.count() == 2
    rec.assert_names_nothing()


def test_failing_the_screening_ends_with_thanks(page, live_server):
    study = make_study(
        "mushra", screening={"tests": ["antiphase"], "attempts": 2, "trials_per_test": 3}
    )
    rec = Recorder(page)
    start_and_screen(page, live_server, study, rec, correct=False)
    page.wait_for_selector("text=headphone check did not succeed")
    session = session_of(study)
    assert session.state == "screened_out"
    assert len(session.screening["attempts"]) == 2
    assert not session.trials.exists()
    rec.assert_names_nothing()
