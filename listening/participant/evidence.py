"""What the server can vouch for about a participant's listening (issue 13.2).

The page reports what it plays (``ListenEvent``: play, pause, switch, ... with the
browser's clock), and a page, or a script posing as one, can report anything. Two
things it cannot make up:

* which condition files the server sent to the session, and how many bytes of each
  (``AudioDelivery``, one row per audio response, written when the response ends);
* how much time passed on the server's clock since it served the trial's page
  (``Trial.started_at``) and when each batch of events arrived (``created_at``).

So a trial can be submitted only when every one of its files (the reference too) was
delivered completely, and a condition counts as played when its file was delivered and
the events give it the minimum listening time, measured on the server's clock: the
browser's event times are shifted onto it by the largest offset that has no event
arriving before it happened (``min(arrival - browser time)``), and listening before
the trial's page was served does not count. A script must therefore download the
audio and let the listening time pass in real time; what the server cannot know is
whether any sound came out of a loudspeaker or reached an ear.

Audio fetched ahead (the next trial's, while the current one is open) is recorded
against the next trial's conditions: it proves the delivery, never listening to the
current trial, and the next trial's listening counts only from its own page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from listening.models import Condition, ListenEvent, Stimulus, Study, Trial

logger = logging.getLogger(__name__)

#: Seconds of rounding allowed between the page's count and the server's (the page
#: times the same events with the same clock; its ISO timestamps carry milliseconds).
TOLERANCE = 0.05


def record_delivery(
    session_id: int, condition_id: int, first_byte: int, bytes_sent: int, file_size: int
) -> None:
    """Store that ``bytes_sent`` bytes of a condition's file from ``first_byte`` went out."""
    from listening.models import AudioDelivery

    try:
        AudioDelivery.objects.create(
            session_id=session_id,
            condition_id=condition_id,
            first_byte=first_byte,
            bytes_sent=bytes_sent,
            file_size=file_size,
            sent_at=timezone.now(),
        )
    except Exception:  # the response has gone out already: log, never fail it now
        logger.exception("could not record an audio delivery of condition %s", condition_id)


def covers(ranges: Iterable[tuple[int, int]], size: int) -> bool:
    """Whether the byte ranges ``[first, end)`` together cover ``[0, size)``."""
    reach = 0
    for first, end in sorted(ranges):
        if first > reach:
            return False
        reach = max(reach, end)
    return reach >= size


def delivered(trial: Trial) -> set[int]:
    """Ids of the trial's conditions whose whole file was sent to the session."""
    from listening.models import AudioDelivery

    ranges: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for condition_id, first, sent, size in AudioDelivery.objects.filter(
        condition__trial=trial
    ).values_list("condition_id", "first_byte", "bytes_sent", "file_size"):
        ranges.setdefault((condition_id, size), []).append((first, first + sent))
    return {cid for (cid, size), spans in ranges.items() if size > 0 and covers(spans, size)}


def _ms(moment: datetime) -> float:
    return moment.timestamp() * 1000.0


def server_times(events: Sequence[ListenEvent]) -> list[float]:
    """Each event's time on the server's clock, in ms.

    An event with the browser's time is shifted by the largest offset under which no
    event arrived before it happened; one without it takes its arrival time.
    """
    offsets = [_ms(e.created_at) - e.client_time_ms for e in events if e.client_time_ms is not None]
    shift = min(offsets) if offsets else 0.0
    return [
        e.client_time_ms + shift if e.client_time_ms is not None else _ms(e.created_at)
        for e in events
    ]


def _events(trial: Trial) -> list[ListenEvent]:
    from listening.models import ListenEvent

    fields = ("kind", "condition_id", "client_time_ms", "created_at")
    return list(ListenEvent.objects.filter(trial=trial).only(*fields))


def listening(
    trial: Trial, events: Sequence[ListenEvent] | None = None
) -> tuple[dict[int, float], set[int]]:
    """Seconds each condition of ``trial`` was heard, from its events on the server's
    clock, and the conditions a play or switch named at all.

    Play starts the active condition, switch moves to another one, pause, stop and
    ended stop; a play while playing (a reload mid-play) restarts the count, and a
    condition still playing at the last event has not been credited yet. Nothing
    before the trial's page was served counts.
    """
    from listening.models import ListenEvent

    if trial.started_at is None:
        return {}, set()
    if events is None:
        events = _events(trial)
    start = _ms(trial.started_at)
    timeline = sorted(zip(server_times(events), range(len(events)), events, strict=True))
    heard: dict[int, float] = {}
    touched: set[int] = set()
    active: int | None = None
    since: float | None = None  # when the active condition started playing

    def credit(until: float) -> None:
        if active is not None and since is not None:
            begun = max(since, start)
            if until > begun:
                heard[active] = heard.get(active, 0.0) + (until - begun) / 1000.0

    for at, _, event in timeline:
        kind = event.kind
        named = kind in (ListenEvent.Kind.PLAY, ListenEvent.Kind.SWITCH)
        if named and at >= start and event.condition_id is not None:
            touched.add(event.condition_id)
        if kind == ListenEvent.Kind.PLAY:
            # A play while playing: the earlier play's end is unknown, so it earns nothing.
            active = event.condition_id or active
            since = at
        elif kind == ListenEvent.Kind.SWITCH:
            if since is not None:
                credit(at)
                since = at
            active = event.condition_id
        elif kind in (ListenEvent.Kind.PAUSE, ListenEvent.Kind.STOP, ListenEvent.Kind.ENDED):
            credit(at)
            since = None
    return heard, touched


def required_seconds(stimulus: Stimulus, study: Study) -> float:
    """The listening time that counts a condition as played, as the page computes it:
    the study's ``min_listen_seconds``, at most half the excerpt."""
    if stimulus.prepared_frames and stimulus.prepared_rate:
        duration = stimulus.prepared_frames / stimulus.prepared_rate
    else:
        duration = study.excerpt_length
    return min(float(study.min_listen_seconds), duration / 2)


def played(trial: Trial, conditions: Sequence[Condition], study: Study) -> set[int]:
    """Ids of ``conditions`` (of ``trial``, their stimuli loaded) whose file was delivered
    and that were heard for their required time (named by a play or switch, when the
    study requires no time)."""
    heard, touched = listening(trial)
    complete = delivered(trial)
    result = set()
    for condition in conditions:
        if condition.pk not in complete:
            continue
        need = required_seconds(condition.stimulus, study)
        if need <= 0:
            ok = condition.pk in touched
        else:
            ok = heard.get(condition.pk, 0.0) >= need - TOLERANCE
        if ok:
            result.add(condition.pk)
    return result
