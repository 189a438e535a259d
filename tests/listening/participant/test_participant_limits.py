"""Limits on what a participant session may write (issue 14.3).

One session stored 89,000 events in 10 s and slowed everyone's saves. Now: a rate of
requests per session (429 with Retry-After, before the database is touched), events per
request, per trial and per session, and answers per trial (413); a refused request
stores nothing and changes nothing else.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.cache import cache
from django.test import override_settings

from listening.models import IdempotencyKey, ListenEvent, Rating, Trial
from listening.platform.throttling import SessionRateLimiter, session_rate_limiter
from tests.listening.participant_fixtures import Participant, ParticipantTestCase


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@override_settings(LISTENING_PARTICIPANT_RATE=2.0, LISTENING_PARTICIPANT_BURST=3)
def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = SessionRateLimiter(clock)
    assert [limiter.wait("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait("a") == 0.5  # one request refills in 1/rate seconds
    assert limiter.wait("b") == 0.0  # another session has its own bucket
    clock.now += 0.5
    assert limiter.wait("a") == 0.0
    assert limiter.wait("a") == 0.5
    clock.now += 60
    assert [limiter.wait("a") for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]  # never over the burst


@override_settings(LISTENING_PARTICIPANT_RATE=1.0, LISTENING_PARTICIPANT_BURST=2)
def test_the_bucket_forgets_idle_sessions_first() -> None:
    clock = Clock()
    limiter = SessionRateLimiter(clock)
    limiter.MAX_SESSIONS = 3
    for token in ("a", "b", "c"):
        limiter.wait(token)
    clock.now += 10  # all full again
    limiter.wait("c")
    limiter.wait("d")
    assert set(limiter._buckets) == {"c", "d"}


class LimitsTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {"screening": {"tests": []}}

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.start_at_first_trial()

    def rate(self, score: int, p: Participant | None = None, **kwargs: Any) -> Any:
        body = {"trial": self.trial_id, "type": "rating", "condition": self.keys[0]}
        return (p or self.p).save(body | {"attribute": "clarity", "score": score}, **kwargs)

    def events(self, count: int) -> Any:
        events = [{"type": "seek", "from": 0.0, "to": 1.0}] * count
        return self.p.post("events", {"trial": self.trial_id, "events": events})

    def assert_refused(self, response: Any, status: int, words: str) -> None:
        assert response.status_code == status, response.content
        assert words in response.json()["detail"], response.json()

    @override_settings(LISTENING_PARTICIPANT_RATE=1.0, LISTENING_PARTICIPANT_BURST=3)
    def test_a_session_over_its_rate_gets_429_and_nothing_changes(self) -> None:
        clock = Clock()
        session_rate_limiter.clock = clock
        self.addCleanup(setattr, session_rate_limiter, "clock", SessionRateLimiter().clock)
        session_rate_limiter.clear()
        for score in (10, 20, 30):
            assert self.rate(score).status_code == 200
        keys = IdempotencyKey.objects.count()
        refused = self.rate(40, key="over")
        self.assert_refused(refused, 429, "Too many requests from this session")
        assert refused["Retry-After"] == "1"
        self.assert_refused(self.events(1), 429, "Too many requests")
        rating = Rating.objects.get()
        assert (rating.score, rating.changes) == (30, 3)
        assert IdempotencyKey.objects.count() == keys  # the refusal is not remembered
        # Another participant is not held up by this one.
        other = Participant(self.open_study)
        other.to_training()
        assert other.save({"trial": 0, "type": "submit"}).status_code == 200
        clock.now += 1.0
        again = self.rate(40, key="over")  # the same answer, retried: now stored
        assert again.status_code == 200
        rating.refresh_from_db()
        assert (rating.score, rating.changes) == (40, 4)

    @override_settings(LISTENING_EVENTS_PER_REQUEST=20)
    def test_too_many_events_in_one_request(self) -> None:
        self.assert_refused(self.events(21), 413, "21 events in one request; at most 20")
        assert not ListenEvent.objects.exists()
        assert self.events(20).json() == {"stored": 20}

    @override_settings(LISTENING_EVENTS_PER_TRIAL=10)
    def test_events_per_trial(self) -> None:
        assert self.events(8).json() == {"stored": 8}
        self.assert_refused(self.events(3), 413, f"trial={self.trial_id} has reached its limit")
        assert ListenEvent.objects.count() == 8
        assert self.events(2).json() == {"stored": 2}
        self.assert_refused(self.events(1), 413, "limit of 10 listening events")
        trial = Trial.objects.get(session=self.p.session, position=self.trial_id)
        assert trial.event_count == ListenEvent.objects.filter(trial=trial).count() == 10

    @override_settings(LISTENING_EVENTS_PER_SESSION=12)
    def test_events_per_session(self) -> None:
        self.p.play_all(self.data)  # 6 events: play, four switches, pause
        for key in self.keys:
            for attribute in ("overall-quality", "clarity"):
                body = {"trial": self.trial_id, "type": "rating", "condition": key}
                assert self.p.save(body | {"attribute": attribute, "score": 100}).status_code == 200
        assert self.p.save({"trial": self.trial_id, "type": "submit"}).status_code == 200
        self.trial_id += 1  # the next trial: its own count, the session's goes on
        assert self.events(6).json() == {"stored": 6}
        self.assert_refused(self.events(1), 413, "this session has reached its limit of 12")
        assert self.p.refresh().event_count == ListenEvent.objects.count() == 12

    @override_settings(LISTENING_ANSWERS_PER_TRIAL=4)
    def test_answers_per_trial_on_both_paths(self) -> None:
        for score in (1, 2, 3):
            assert self.rate(score).status_code == 200  # the short path
        assert self.p.save({"trial": self.trial_id, "type": "rating"}).status_code == 400
        ab = {"trial": self.trial_id, "type": "rating", "condition": self.keys[1]}
        assert self.p.save(ab | {"attribute": "overall-quality", "score": 9}).status_code == 200
        self.assert_refused(self.rate(5), 413, "limit of 4 saved answers")
        self.assert_refused(self.rate(6, key="k-refused"), 413, "nothing more is stored")
        assert sorted(Rating.objects.values_list("score", "changes")) == [(3, 3), (9, 1)]
        # A refusal is remembered under its key like any answer: a retry gets it again.
        self.assert_refused(self.rate(6, key="k-refused"), 413, "limit of 4")
        trial = Trial.objects.get(session=self.p.session, position=self.trial_id)
        assert trial.answer_count == 4
        # Submitting is not an answer: a trial at its cap can still be finished.
        self.p.play_all(self.data)
        response = self.p.save({"trial": self.trial_id, "type": "submit"})
        assert "limit" not in response.json()["detail"]
