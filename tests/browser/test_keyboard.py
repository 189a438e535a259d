"""Every key of every paradigm's keyboard map, in headless Chromium.

The map (static/participant/trial.js, keyMap) is: Space play/pause, L loop on/off,
[ and ] loop start/end at the playhead, arrows on the focused slider or waveform, in
every paradigm; MUSHRA selects by digit (R or 0 the reference, only when there is one);
ABX and AB select by the version's letter or digit. Each key is pressed and the player's
state compared with what the key must do, and every other key of the map is shown to do
nothing on a page where it does not apply. The "Keyboard shortcuts" list must match.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.test_trial_pages import AB, ABX, MUSHRA, open_trial, player_state, trial

pytestmark = pytest.mark.browser

MUSHRA_NO_REFERENCE = trial(
    MUSHRA, reference=None, rules={"require_100": False, "must_play_all": False}
)
LOOP_HELP = [
    ("L", "loop on / off"),
    ("[ and ]", "set the loop start / end at the playhead"),
]
EVERY_KEY = ["1", "2", "3", "4", "9", "0", "r", "a", "b", "x", "l", "[", "]"]


def shortcut_rows(page) -> list[tuple[str, str]]:
    terms = page.locator(".shortcuts dt").all_text_contents()
    meanings = page.locator(".shortcuts dd").all_text_contents()
    return list(zip(terms, meanings, strict=True))


def paused_at(page, seconds: float) -> None:
    page.evaluate(
        f"() => {{ const p = window.participantTrial.player; p.pause(); p.seek({seconds}); }}"
    )


def selection(page) -> dict:
    state = player_state(page)
    return {"active": state["active"], "playing": state["playing"], "loop": state["loop"]}


def assert_selects(page, key: str, index: int) -> None:
    """The key makes player index `index` audible and starts playback; the loop is untouched."""
    page.evaluate("window.participantTrial.player.pause()")
    other = 1 if index != 1 else 2
    page.evaluate(f"window.participantTrial.player.switchTo({other})")
    before = selection(page)
    page.keyboard.press(key)
    after = selection(page)
    assert after["active"] == index, (key, after)
    assert after["playing"], key
    assert after["loop"] == before["loop"], key


def assert_does_nothing(page, key: str) -> None:
    paused_at(page, 0.8)
    before = {**selection(page), "position": player_state(page)["position"]}
    page.keyboard.press(key)
    after = {**selection(page), "position": player_state(page)["position"]}
    assert after == before, key


def assert_transport_keys(page) -> None:
    """Space, L, [ and ]: the same on every page."""
    paused_at(page, 0.5)
    page.keyboard.press("Space")
    assert player_state(page)["playing"]
    page.keyboard.press("Space")
    assert not player_state(page)["playing"]
    assert player_state(page)["loop"]["on"] is True  # trials start looping the whole excerpt
    page.keyboard.press("l")
    assert player_state(page)["loop"]["on"] is False
    page.keyboard.press("L")
    assert player_state(page)["loop"]["on"] is True
    paused_at(page, 0.75)
    page.keyboard.press("[")
    assert player_state(page)["loop"]["a"] == pytest.approx(0.75, abs=1e-3)
    paused_at(page, 2.25)
    page.keyboard.press("]")
    loop = player_state(page)["loop"]
    assert (loop["a"], loop["b"]) == (pytest.approx(0.75, abs=1e-3), pytest.approx(2.25, abs=1e-3))
    assert loop["on"] is True
    assert not player_state(page)["playing"]  # setting loop points does not start playback


def assert_waveform_keys(page) -> None:
    """Arrows, PageUp/PageDown, Home and End on the focused waveform move the playhead."""
    page.evaluate("window.participantTrial.player.setLoop({on: false})")
    paused_at(page, 1.0)
    page.locator("canvas.waveform").focus()
    steps = [
        ("ArrowRight", 2.0),
        ("ArrowLeft", 1.0),
        ("ArrowUp", 2.0),
        ("ArrowDown", 1.0),
        ("Home", 0.0),
        ("PageUp", 0.3),
        ("PageDown", 0.0),
        ("End", 2.0),  # a second before the end of the 3 s excerpt
        ("Shift+ArrowLeft", 0.0),  # 5 s back, stopped at the start
    ]
    for key, expected in steps:
        page.keyboard.press(key)
        assert player_state(page)["position"] == pytest.approx(expected, abs=0.01), key


def test_mushra_with_a_reference(page, server, console):
    open_trial(page, server, MUSHRA)
    assert shortcut_rows(page) == [
        ("Space", "play / pause"),
        ("1 … 3", "listen to A … C"),
        ("R or 0", "listen to the reference"),
        *LOOP_HELP,
        ("← →", "move the focused rating slider (or the playhead, on the waveform)"),
    ]
    for key, index in {"1": 1, "2": 2, "3": 3, "r": 0, "R": 0, "0": 0}.items():
        assert_selects(page, key, index)
    for key in ["4", "9", "a", "b", "x"]:
        assert_does_nothing(page, key)
    assert_transport_keys(page)
    assert_waveform_keys(page)
    # (A version's name gains ", played" once it has been listened to long enough.)
    shortcuts = {
        name: page.get_by_role("button", name=re.compile(f"^{name}(, played)?$")).get_attribute(
            "aria-keyshortcuts"
        )
        for name in ["Reference", "Condition A", "Condition C", "Set loop start", "Set loop end"]
    }
    assert shortcuts == {
        "Reference": "R 0",
        "Condition A": "1",
        "Condition C": "3",
        "Set loop start": "[",
        "Set loop end": "]",
    }
    # The rating sliders take the arrows, PageUp/PageDown, Home and End themselves.
    slider = page.get_by_role("slider", name="Condition B, Clarity")
    slider.focus()
    for key, value in [
        ("ArrowRight", "51"),
        ("ArrowUp", "52"),
        ("ArrowLeft", "51"),
        ("ArrowDown", "50"),
        ("PageUp", "60"),
        ("PageDown", "50"),
        ("End", "100"),
        ("Home", "0"),
    ]:
        page.keyboard.press(key)
        assert slider.input_value() == value, key
    assert console == []


def test_mushra_without_a_reference(page, server):
    open_trial(page, server, MUSHRA_NO_REFERENCE)
    rows = shortcut_rows(page)
    assert ("1 … 3", "listen to A … C") in rows
    assert not any("reference" in meaning for _, meaning in rows)
    assert page.locator(".shortcuts").get_by_text("R or 0").count() == 0
    for key, index in {"1": 0, "2": 1, "3": 2}.items():
        assert_selects(page, key, index)
    for key in ["r", "0", "4", "a", "b", "x"]:
        assert_does_nothing(page, key)
    assert_transport_keys(page)
    button = page.get_by_role("button", name=re.compile("^Condition A(, played)?$"))
    assert button.get_attribute("aria-keyshortcuts") == "1"


def test_abx_letters_select_and_never_touch_the_loop(page, server):
    open_trial(page, server, ABX)
    assert shortcut_rows(page) == [
        ("Space", "play / pause"),
        ("A or 1", "listen to A"),
        ("B or 2", "listen to B"),
        ("X or 3", "listen to X"),
        *LOOP_HELP,
        ("← →", "move the playhead (on the waveform) or the focused choice"),
    ]
    # The reported defect: "b" set a 0-1.2 s loop and left A playing.
    page.keyboard.press("1")
    page.wait_for_timeout(300)
    loop = player_state(page)["loop"]
    page.keyboard.press("b")
    state = player_state(page)
    assert state["active"] == 1
    assert state["loop"] == loop
    for key, index in {"a": 0, "b": 1, "x": 2, "A": 0, "X": 2, "1": 0, "2": 1, "3": 2}.items():
        assert_selects(page, key, index)
    for key in ["r", "0", "4", "9"]:
        assert_does_nothing(page, key)
    assert_transport_keys(page)
    assert_waveform_keys(page)
    for label, keys in {"A": "A 1", "B": "B 2", "X": "X 3"}.items():
        button = page.locator("button.condition", has_text=label)
        assert button.get_attribute("aria-keyshortcuts") == keys


def test_ab_letters_select(page, server):
    open_trial(page, server, AB)
    assert shortcut_rows(page)[:3] == [
        ("Space", "play / pause"),
        ("A or 1", "listen to A"),
        ("B or 2", "listen to B"),
    ]
    assert ("R or 0", "listen to the reference") not in shortcut_rows(page)
    for key, index in {"a": 0, "b": 1, "1": 0, "2": 1}.items():
        assert_selects(page, key, index)
    for key in ["x", "3", "r", "0"]:
        assert_does_nothing(page, key)
    assert_transport_keys(page)
    # The preference radios keep their own arrow keys.
    group = page.get_by_role("group", name="Which do you prefer for Clarity?")
    group.get_by_role("radio", name="A").check()
    page.keyboard.press("ArrowRight")
    assert group.get_by_role("radio", name="B").is_checked()


def test_training_labels_that_are_not_letters_are_selected_by_digit(page, server):
    data = trial(
        AB,
        mode="training",
        conditions=[{"key": "k3a7", "label": "Version 1"}, {"key": "k5c1", "label": "Version 2"}],
    )
    open_trial(page, server, data)
    assert shortcut_rows(page)[1:3] == [("1", "listen to Version 1"), ("2", "listen to Version 2")]
    assert_selects(page, "2", 1)
    for key in ["a", "b", "v"]:
        assert_does_nothing(page, key)


@pytest.mark.parametrize("data", [MUSHRA, ABX, AB], ids=["mushra", "abx", "ab"])
def test_keys_typed_into_a_text_field_do_nothing(page, server, data):
    open_trial(page, server, data)
    page.evaluate(
        """() => { const input = document.createElement('input'); input.id = 'typing';
                   input.setAttribute('aria-label', 'typing'); document.body.append(input); }"""
    )
    page.locator("#typing").focus()
    paused_at(page, 0.8)
    page.locator("#typing").focus()
    before = selection(page)
    for key in EVERY_KEY:
        page.keyboard.press(key)
    assert selection(page) == before
    assert page.locator("#typing").input_value() == "".join(EVERY_KEY)
