"""The MUSHRA, ABX and AB page controllers in headless Chromium.

tests/browser/trial_harness.html stands in for the Django template: it puts the trial
description (base64 in the query string) into <script id="trial-data"> and loads
/static/participant/boot.js, which mounts the page. The test server records every
POST, so these tests check what a real participant's browser sends.
"""

from __future__ import annotations

import base64
import copy
import json
import re

import pytest

pytestmark = pytest.mark.browser

KEYS = {"reference": "k9f2", "A": "k3a7", "B": "k5c1", "C": "k8e4"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

MUSHRA = {
    "paradigm": "mushra",
    "trial": {"id": 17, "position": 2, "total": 5},
    "conditions": [{"key": KEYS[label], "label": label} for label in "ABC"],
    "reference": {"key": KEYS["reference"]},
    "attributes": [
        {"id": "overall", "label": "Overall quality"},
        {"id": "clarity", "label": "Clarity"},
    ],
    "rules": {
        "must_play_all": True,
        "must_move_all": True,
        "require_100": True,
        "min_listen_seconds": 0.3,
    },
    "audio_url_template": "/a/{key}.flac",
    "save_url": "/save",
    "events_url": "/events",
}
ABX = {
    "paradigm": "abx",
    "trial": {"id": 31, "position": 1, "total": 16},
    "conditions": [
        {"key": "k3a7", "label": "A"},
        {"key": "k5c1", "label": "B"},
        {"key": "k1d6", "label": "X"},
    ],
    "reference": None,
    "attributes": [],
    "rules": {"must_play_all": True, "min_listen_seconds": 0.2},
    "audio_url_template": "/a/{key}.flac",
    "save_url": "/save",
    "events_url": "/events",
}
AB = {
    "paradigm": "ab",
    "trial": {"id": 44, "position": 3, "total": 3},
    "conditions": [{"key": "k3a7", "label": "A"}, {"key": "k5c1", "label": "B"}],
    "reference": None,
    "attributes": [
        {"id": "overall", "label": "Overall quality"},
        {"id": "clarity", "label": "Clarity"},
    ],
    "rules": {"allow_no_preference": True},
    "audio_url_template": "/a/{key}.flac",
    "save_url": "/save",
    "events_url": "/events",
}


def trial(base, **changes):
    data = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return data


def open_trial(page, server, data, *, wait=True):
    encoded = base64.b64encode(json.dumps(data).encode()).decode()
    page.goto(f"{server.url}/tests/browser/trial_harness.html?data={encoded}")
    if wait:
        wait_ready(page)


def wait_ready(page):
    page.wait_for_function("window.participantTrial && window.participantTrial.player.ready")
    page.wait_for_function("document.querySelector('.trial-body').inert === false")


def player_state(page):
    return page.evaluate("window.participantTrial.player.state")


def saved(server, path="/save"):
    return [p["body"] for p in server.answers(path)]


def wait_for_post(page, server, predicate, path="/save", timeout=5000):
    for _ in range(timeout // 50):
        if any(predicate(p) for p in server.answers(path)):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"no matching POST to {path}: {server.answers(path)}")


# ---------------------------------------------------------------------------- MUSHRA


def test_mushra_renders_blind_labelled_accessible_controls(page, server, console):
    open_trial(page, server, MUSHRA)
    for name in ["Reference", "Condition A", "Condition B", "Condition C"]:
        assert page.get_by_role("button", name=name, exact=True).count() == 1
    sliders = page.get_by_role("slider")
    assert sliders.count() == 6 + 1  # 3 conditions x 2 attributes, plus the waveform
    slider = page.get_by_role("slider", name="Condition B, Clarity")
    assert slider.input_value() == "50"
    assert slider.get_attribute("aria-valuetext") == "not rated yet"
    assert page.locator(".rating[data-state=unrated]").count() == 6
    assert page.locator(".mushra-grid").get_by_text("not rated yet").count() == 6
    header = page.locator(".mushra-grid thead").inner_text()
    for label in ["Excellent", "Good", "Fair", "Poor", "Bad"]:
        assert label in header
    progress = page.get_by_role("progressbar", name="Progress through the test")
    assert progress.get_attribute("aria-valuenow") == "2"
    assert progress.get_attribute("aria-valuemax") == "5"
    assert page.get_by_role("progressbar", name="Loading audio").is_hidden()
    # Blinding: the rendered page holds labels only, never keys or file names.
    html = page.locator("#trial-root").evaluate("el => el.outerHTML")
    for secret in [*KEYS.values(), "sine", ".flac", "440"]:
        assert secret not in html
    assert console == []


def test_loading_indicator_and_trial_progress_show_while_fetching(page, server):
    open_trial(page, server, trial(MUSHRA, audio_url_template="/slow/{key}.flac"), wait=False)
    loading = page.get_by_role("progressbar", name="Loading audio")
    loading.wait_for(state="visible")
    # Progress and the inert body read in the page at one moment, while loading (reads from
    # here could straddle the end of the load on a busy machine).
    during = page.wait_for_function(
        """() => { const bar = document.querySelector('.loading');
                   const now = Number(bar.getAttribute('aria-valuenow'));
                   return now > 0 && now < 100
                     && {now, inert: document.querySelector('.trial-body').inert}; }"""
    ).json_value()
    assert 0 < during["now"] < 100
    assert during["inert"]
    wait_ready(page)
    assert loading.is_hidden()
    assert page.locator(".loading").get_attribute("aria-valuenow") == "100"


def test_keyboard_switches_conditions_and_toggles_playback(page, server):
    open_trial(page, server, MUSHRA)
    page.keyboard.press("2")  # condition B: player index 2 (the reference is 0)
    page.wait_for_timeout(300)
    first = player_state(page)
    assert first["playing"]
    assert first["active"] == 2
    assert (
        page.get_by_role("button", name=re.compile(r"^Condition B")).get_attribute("aria-pressed")
        == "true"
    )
    # Read the playhead just before and just after the key is handled, in the page.
    page.evaluate(
        """() => {
            const p = window.participantTrial.player;
            window.keyLog = [];
            document.addEventListener('keydown', () => keyLog.push(p.position), true);
            p.addEventListener('switch', () => keyLog.push(p.position));
        }"""
    )
    page.keyboard.press("1")
    before, after = page.evaluate("window.keyLog")
    assert abs(after - before) < 0.05
    assert player_state(page)["active"] == 1
    page.keyboard.press("Space")
    assert not player_state(page)["playing"]
    page.keyboard.press("Space")
    assert player_state(page)["playing"]
    page.keyboard.press("r")
    assert player_state(page)["active"] == 0
    page.keyboard.press("l")
    assert player_state(page)["loop"]["on"] is False
    page.keyboard.press("l")
    assert player_state(page)["loop"]["on"] is True
    page.keyboard.press("Space")
    page.evaluate("window.participantTrial.player.seek(1.0)")
    page.keyboard.press("[")  # the loop start (a and b are not loop keys: see test_keyboard.py)
    assert player_state(page)["loop"]["a"] == pytest.approx(1.0)
    # Space on a focused slider is still play/pause, and Tab reaches every control.
    page.get_by_role("slider", name="Condition A, Overall quality").focus()
    page.keyboard.press("Space")
    assert player_state(page)["playing"]
    page.keyboard.press("Space")
    names = []
    page.locator("body").focus()
    for _ in range(16):
        page.keyboard.press("Tab")
        names.append(
            page.evaluate(
                "document.activeElement.getAttribute('aria-label') || "
                "document.activeElement.textContent.trim()"
            )
        )
    for expected in ["Reference", "Condition A", "Condition C, Clarity", "Next"]:
        assert any(n.startswith(expected) for n in names), names


def test_slider_changes_are_saved_with_an_idempotency_key_and_csrf_token(page, server):
    open_trial(page, server, MUSHRA)
    slider = page.get_by_role("slider", name="Condition A, Overall quality")
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert slider.get_attribute("aria-valuetext") == "53, Fair"
    wait_for_post(page, server, lambda p: p["body"].get("score") == 53)
    posts = [p for p in server.answers() if p["body"]["type"] == "rating"]
    last = posts[-1]
    assert last["body"] == {
        "trial": 17,
        "type": "rating",
        "condition": KEYS["A"],
        "attribute": "overall",
        "score": 53,
    }
    assert UUID.match(last["headers"]["Idempotency-Key"])
    assert last["headers"]["X-CSRFToken"] == "test-csrf-token"
    assert last["headers"]["Content-Type"] == "application/json"
    keys = [p["headers"]["Idempotency-Key"] for p in posts]
    assert len(set(keys)) == len(keys)  # a new value gets a new key
    page.wait_for_function("document.querySelector('.save-status').dataset.status === 'saved'")
    assert page.locator(".save-status").inner_text() == "All answers saved"

    # A click on the track rates too; clicking without moving still counts.
    other = page.get_by_role("slider", name="Condition C, Clarity")
    box = other.bounding_box()
    page.mouse.click(box["x"] + 0.9 * box["width"], box["y"] + box["height"] / 2)
    wait_for_post(page, server, lambda p: p["body"].get("condition") == KEYS["C"])
    score = [b for b in saved(server) if b.get("condition") == KEYS["C"]][-1]["score"]
    assert 85 <= score <= 95


def test_a_failed_save_is_retried_with_the_same_key(page, server):
    open_trial(page, server, trial(MUSHRA, save_url="/save-flaky"))
    statuses = []
    page.expose_function("recordStatus", lambda status: statuses.append(status))
    page.evaluate(
        """() => window.participantTrial.saver.addEventListener('status',
              (e) => window.recordStatus(e.detail.status))"""
    )
    page.get_by_role("slider", name="Condition A, Clarity").focus()
    page.keyboard.press("End")
    wait_for_post(page, server, lambda p: True, path="/save-flaky")
    page.wait_for_function(
        "document.querySelector('.save-status').dataset.status === 'saved'", timeout=10000
    )
    posts = server.answers("/save-flaky")
    assert len(posts) == 3  # 503, 503, then 200
    assert len({p["headers"]["Idempotency-Key"] for p in posts}) == 1
    assert all(p["body"]["score"] == 100 for p in posts)
    assert "retrying" in statuses
    assert statuses[-1] == "saved"


def test_a_reload_resends_unsent_answers_and_restores_them(page, server):
    open_trial(page, server, MUSHRA)
    page.route("**/save", lambda route: route.abort())
    page.get_by_role("slider", name="Condition B, Overall quality").focus()
    page.keyboard.press("Home")
    page.wait_for_function(
        "(localStorage.getItem('participant-queue:/save') || '').includes('k5c1')"
    )
    queued = json.loads(page.evaluate("localStorage.getItem('participant-queue:/save')"))
    assert [e["body"]["score"] for e in queued] == [0]
    page.unroute("**/save")
    page.reload()
    wait_ready(page)
    wait_for_post(page, server, lambda p: p["headers"]["Idempotency-Key"] == queued[0]["id"])
    restored = page.get_by_role("slider", name="Condition B, Overall quality")
    assert restored.input_value() == "0"
    assert restored.get_attribute("aria-valuetext") == "0, Bad"
    page.wait_for_function("localStorage.getItem('participant-queue:/save') === null")


def test_resume_shows_answers_already_saved_on_the_server(page, server):
    answers = {"ratings": {KEYS["A"]: {"overall": 81}, KEYS["C"]: {"clarity": 12}}}
    open_trial(page, server, trial(MUSHRA, answers=answers, played=[KEYS["A"]]))
    assert page.get_by_role("slider", name="Condition A, Overall quality").input_value() == "81"
    assert (
        page.get_by_role("slider", name="Condition C, Clarity").get_attribute("aria-valuetext")
        == "12, Bad"
    )
    assert page.locator(".rating[data-state=unrated]").count() == 4
    assert page.get_by_role("button", name="Condition A, played").count() == 1


def test_a_rejected_answer_is_shown(page, server):
    open_trial(page, server, trial(MUSHRA, save_url="/save-reject"))
    page.get_by_role("slider", name="Condition A, Clarity").focus()
    page.keyboard.press("ArrowUp")
    page.wait_for_function("document.querySelector('.save-status').dataset.status === 'error'")
    assert "score must be an integer in 0..100" in page.locator(".save-status").inner_text()


def test_next_enforces_the_rules_then_submits(page, server):
    open_trial(page, server, MUSHRA)
    page.get_by_role("button", name="Next").click()
    problems = page.get_by_role("alert").filter(has_text="Listen").inner_text()
    assert "not played yet: A, B, C" in problems
    assert "Rate every condition" in problems
    assert "rate at least one version 100: one of them is identical to the Reference" in problems
    for key in "123":
        page.keyboard.press(key)
        page.wait_for_timeout(450)
    page.keyboard.press("Space")
    for label in "ABC":
        for attribute in ["Overall quality", "Clarity"]:
            page.get_by_role("slider", name=f"Condition {label}, {attribute}").focus()
            page.keyboard.press("End" if label == "B" else "PageDown")
    page.locator("body").focus()
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**done=1")
    bodies = saved(server)
    assert bodies[-1] == {"type": "submit", "trial": 17}
    ratings = {
        (b["condition"], b["attribute"]): b["score"] for b in bodies if b["type"] == "rating"
    }
    assert len(ratings) == 6
    assert ratings[(KEYS["B"], "clarity")] == 100


def test_listening_events_are_logged_with_positions(page, server):
    open_trial(page, server, MUSHRA)
    page.keyboard.press("1")
    page.wait_for_timeout(250)
    page.keyboard.press("2")
    page.wait_for_timeout(100)
    page.keyboard.press("Space")
    page.evaluate("window.participantTrial.events.flush()")
    wait_for_post(page, server, lambda p: True, path="/events")
    events = [e for b in saved(server, "/events") for e in b["events"]]
    types = [e["type"] for e in events]
    assert "play" in types
    assert "pause" in types
    switch = [e for e in events if e["type"] == "switch"][-1]
    assert switch["from"] == KEYS["A"]
    assert switch["to"] == KEYS["B"]
    assert switch["position"] > 0.1
    assert saved(server, "/events")[0]["trial"] == 17


# ---------------------------------------------------------------------------- ABX and AB


def test_abx_page_saves_the_answer_as_an_opaque_key(page, server, console):
    open_trial(page, server, ABX)
    for name in ["Condition A", "Condition B", "Condition X"]:
        assert page.get_by_role("button", name=name, exact=True).count() == 1
    page.keyboard.press("x")
    assert player_state(page)["active"] == 2
    page.get_by_role("button", name="Next").click()
    assert "Say whether X is A or X is B" in page.locator(".problems").inner_text()
    choice = page.get_by_role("button", name="X is B")
    choice.click()
    assert choice.get_attribute("aria-pressed") == "true"
    wait_for_post(page, server, lambda p: p["body"].get("type") == "abx")
    assert saved(server)[-1] == {"trial": 31, "type": "abx", "condition": "k5c1"}
    assert "k1d6" not in page.locator("#trial-root").evaluate("el => el.outerHTML")
    assert console == []


def test_ab_page_saves_preferences_and_no_preference(page, server):
    open_trial(page, server, AB)
    groups = page.get_by_role("group", name="Which do you prefer for Clarity?")
    groups.get_by_role("radio", name="No preference").check()
    page.get_by_role("group", name="Which do you prefer for Overall quality?").get_by_role(
        "radio", name="B"
    ).check()
    wait_for_post(page, server, lambda p: p["body"].get("attribute") == "overall")
    bodies = [b for b in saved(server) if b["type"] == "preference"]
    assert {"trial": 44, "type": "preference", "attribute": "clarity", "condition": None} in bodies
    assert {
        "trial": 44,
        "type": "preference",
        "attribute": "overall",
        "condition": "k5c1",
    } in bodies
    assert page.get_by_role("button", name="Finish").count() == 1  # the last trial


def test_space_on_a_focused_button_plays_instead_of_clicking_it(page, server):
    open_trial(page, server, MUSHRA)
    page.get_by_role("button", name="Next").focus()
    page.keyboard.press("Space")
    assert player_state(page)["playing"]
    assert page.locator(".problems").inner_text() == ""  # Next was not pressed
    page.keyboard.press("Enter")  # Enter still activates the focused button
    page.wait_for_function("document.querySelector('.problems').textContent.length > 0")
