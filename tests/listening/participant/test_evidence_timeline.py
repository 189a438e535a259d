"""listening.participant.evidence on its own: byte coverage and the listening timeline.

No database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from listening.models import ListenEvent, Trial
from listening.participant.evidence import covers, listening, server_times

PAGE = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)  # when the server served the trial page


def event(
    kind: str, condition: int | None, client_s: float | None, arrived_s: float
) -> ListenEvent:
    """An event the browser timed ``client_s`` (its clock) and the server got ``arrived_s``
    after the page (seconds)."""
    client = None if client_s is None else (PAGE.timestamp() + client_s) * 1000.0
    return ListenEvent(
        kind=kind,
        condition_id=condition,
        client_time_ms=client,
        created_at=PAGE + timedelta(seconds=arrived_s),
    )


def heard(*events: ListenEvent) -> tuple[dict[int, float], set[int]]:
    return listening(Trial(started_at=PAGE), list(events))


@pytest.mark.parametrize(
    ("ranges", "size", "expected"),
    [
        ([(0, 100)], 100, True),
        ([(0, 60), (40, 100)], 100, True),
        ([(50, 100), (0, 50)], 100, True),
        ([(0, 50), (51, 100)], 100, False),
        ([(0, 99)], 100, False),
        ([(1, 100)], 100, False),
        ([], 100, False),
    ],
)
def test_covers(ranges: list[tuple[int, int]], size: int, expected: bool) -> None:
    assert covers(ranges, size) is expected


def test_play_switch_pause_credit_each_condition() -> None:
    seconds, touched = heard(
        event("play", 1, 2.0, 9.0),
        event("switch", 2, 3.5, 9.0),
        event("seek", None, 4.0, 9.0),
        event("switch", 3, 5.0, 9.0),
        event("pause", 3, 8.0, 9.0),
    )
    assert seconds == pytest.approx({1: 1.5, 2: 1.5, 3: 3.0})
    assert touched == {1, 2, 3}


def test_a_switch_while_paused_earns_nothing_until_play() -> None:
    seconds, _ = heard(
        event("switch", 1, 1.0, 9.0),
        event("switch", 2, 3.0, 9.0),
        event("play", 2, 4.0, 9.0),
        event("pause", 2, 5.0, 9.0),
    )
    assert seconds == pytest.approx({2: 1.0})


def test_an_unfinished_play_and_a_play_while_playing_earn_nothing() -> None:
    # A reload mid-play: the first play's end is unknown; the last one is still open.
    seconds, _ = heard(
        event("play", 1, 1.0, 9.0),
        event("play", 1, 6.0, 9.0),
        event("switch", 2, 7.0, 9.0),
    )
    assert seconds == pytest.approx({1: 1.0})


def test_events_are_placed_on_the_servers_clock() -> None:
    # The browser's clock is 2 hours behind; the batch arrived 0.1 s after its last event.
    skew = -7200.0
    events = [
        event("play", 1, skew + 3.0, 6.1),
        event("pause", 1, skew + 6.0, 6.1),
    ]
    assert [t / 1000 - PAGE.timestamp() for t in server_times(events)] == pytest.approx([3.1, 6.1])
    assert heard(*events)[0] == pytest.approx({1: 3.0})


def test_nothing_before_the_page_counts() -> None:
    # Listening claimed for 10 s, arriving 2 s after the page was served: 2 s at most.
    seconds, _ = heard(event("play", 1, 0.0, 2.0), event("pause", 1, 10.0, 2.0))
    assert seconds == pytest.approx({1: 2.0})
    # Future times are moved back too: the batch cannot have been sent before it happened.
    seconds, _ = heard(event("play", 1, 100.0, 2.0), event("pause", 1, 110.0, 2.0))
    assert seconds == pytest.approx({1: 2.0})


def test_untimed_events_take_their_arrival() -> None:
    seconds, touched = heard(
        event("play", 1, None, 1.0), event("switch", 2, None, 1.0), event("pause", 2, None, 4.0)
    )
    assert seconds == pytest.approx({2: 3.0})
    assert touched == {1, 2}


def test_a_trial_never_shown_has_no_listening() -> None:
    events = [event("play", 1, 0.0, 1.0), event("pause", 1, 1.0, 1.0)]
    assert listening(Trial(started_at=None), events) == ({}, set())
