"""Listening the server can vouch for (issue 13.2), at the HTTP level.

The exploit of the issue: a script finished every MUSHRA trial and got the completion
code without fetching any audio, because "played" and the minimum listening time were
decided from the page's own events. The server now records the bytes it sent of every
condition file and times the events on its own clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from django.core.cache import cache
from django.utils import timezone

from listening.models import AudioDelivery, ListenEvent, Study, Trial
from listening.stimuli.playback_variants import session_variant
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

ATTRIBUTES = ("overall-quality", "clarity")


def iso(moment: Any) -> str:
    return moment.isoformat()


class EvidenceTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {"screening": {"tests": []}}

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.start_at_first_trial()
        self.trial = Trial.objects.get(session=self.p.session, position=self.trial_id)

    def rate_all(self, p: Participant, data: dict[str, Any]) -> None:
        for c in data["conditions"]:
            for attribute in ATTRIBUTES:
                body = {"trial": data["trial"]["id"], "type": "rating", "condition": c["key"]}
                response = p.save(body | {"attribute": attribute, "score": 100})
                assert response.status_code == 200, response.json()

    def submit(self, p: Participant | None = None, data: dict[str, Any] | None = None) -> Any:
        p, data = p or self.p, data or self.data
        return p.save({"trial": data["trial"]["id"], "type": "submit"})

    def events(self, *events: dict[str, Any], trial: int | None = None) -> Any:
        return self.p.post("events", {"trial": trial or self.trial_id, "events": list(events)})

    def backdate(self, seconds: float) -> None:
        """The trial's page was served ``seconds`` ago (instead of waiting in the test)."""
        start = timezone.now() - timedelta(seconds=seconds)
        Trial.objects.filter(pk=self.trial.pk).update(started_at=start)

    def timed_plays(self, each: float, *, end: Any = None) -> list[dict[str, Any]]:
        """Play every condition ``each`` seconds in turn, ending at ``end`` (default now)."""
        end = end or timezone.now()
        start = end - timedelta(seconds=each * len(self.keys))
        events = [{"type": "play", "condition": self.keys[0], "at": iso(start)}]
        for i, key in enumerate(self.keys[1:], start=1):
            at = start + timedelta(seconds=each * i)
            events.append({"type": "switch", "to": key, "at": iso(at)})
        events.append({"type": "pause", "condition": self.keys[-1], "at": iso(end)})
        return events

    # -- the exploit ---------------------------------------------------------------------------

    def test_a_script_that_never_fetches_audio_cannot_complete(self) -> None:
        p, data = self.p, self.data
        # What the script sent: a switch to every condition, then every rating.
        events = [{"type": "switch", "to": key, "position": 0.5} for key in self.keys]
        assert self.events(*events).status_code == 200
        self.rate_all(p, data)
        response = self.submit()
        assert response.status_code == 400
        assert "has not been loaded completely" in response.json()["detail"]
        assert "not played yet" in response.json()["detail"]
        # Nor with listening times claimed over a page served long ago.
        self.backdate(3600)
        assert self.events(*self.timed_plays(5.0)).status_code == 200
        response = self.submit()
        assert response.status_code == 400
        assert "has not been loaded completely" in response.json()["detail"]
        # Stuck on the first trial: no completion code.
        assert p.refresh().state == "trials"
        assert p.session.current_trial().position == self.trial_id
        assert not AudioDelivery.objects.filter(session=p.session).exists()
        assert "C0DE42" not in p.client.get(p.url("done"), follow=True).content.decode()

    def test_an_honest_session_completes(self) -> None:
        p = self.p
        while p.refresh().step == "trial":
            data = p.trial_data()
            p.play_all(data)
            self.rate_all(p, data)
            assert self.submit(p, data).status_code == 200
        p.client.post(p.url("final"), {"same_volume": "Yes"})
        assert p.refresh().state == "complete"
        page = p.client.get(p.url("done")).content.decode()
        assert "C0DE42" in page

    # -- the listening time --------------------------------------------------------------------

    def test_zero_second_plays_do_not_count(self) -> None:
        self.p.fetch_audio(self.data)
        self.rate_all(self.p, self.data)
        self.backdate(60)
        now = iso(timezone.now())
        events = []
        for key in self.keys:
            events += [
                {"type": "play", "condition": key, "at": now},
                {"type": "pause", "condition": key, "at": now},
            ]
        assert self.events(*events).status_code == 200
        assert self.p.trial_data()["played"] == []
        response = self.submit()
        assert response.status_code == 400
        assert "not played yet: A, B, C, D, E" in response.json()["detail"]
        assert "loaded" not in response.json()["detail"]

    def test_listening_cannot_claim_more_time_than_passed_on_the_server(self) -> None:
        self.p.fetch_audio(self.data)
        self.rate_all(self.p, self.data)
        # The page was served a moment ago; events claim 1.1 s per condition anyway,
        # with the browser's clock before the page, then after it (both a lie).
        self.backdate(1.0)
        early = timezone.now() - timedelta(minutes=10)
        assert self.events(*self.timed_plays(1.1, end=early)).status_code == 200
        late = timezone.now() + timedelta(minutes=10)
        assert self.events(*self.timed_plays(1.1, end=late)).status_code == 200
        played = self.p.trial_data()["played"]
        assert len(played) <= 1  # at most one second fits: one condition, once
        assert self.submit().status_code == 400
        # Once the time has passed on the server's clock, the same listening counts.
        self.backdate(10.0)
        assert self.events(*self.timed_plays(1.1)).status_code == 200
        assert sorted(self.p.trial_data()["played"]) == sorted(self.keys)
        assert self.submit().status_code == 200

    def test_a_browser_clock_far_off_still_counts_honest_listening(self) -> None:
        self.p.fetch_audio(self.data)
        self.rate_all(self.p, self.data)
        self.backdate(10.0)
        skewed = timezone.now() - timedelta(hours=3, minutes=7)  # the browser's clock
        assert self.events(*self.timed_plays(1.1, end=skewed)).status_code == 200
        assert sorted(self.p.trial_data()["played"]) == sorted(self.keys)
        assert self.submit().status_code == 200

    def test_the_minimum_follows_the_study(self) -> None:
        self.p.fetch_audio(self.data)
        self.rate_all(self.p, self.data)
        self.backdate(30.0)
        assert self.events(*self.timed_plays(1.1)).status_code == 200
        assert len(self.p.trial_data()["played"]) == 5
        Study.objects.filter(pk=self.open_study.pk).update(min_listen_seconds=1.2)
        assert self.p.trial_data()["played"] == []
        # Excerpts are 3 s: the page never asks for more than half of one.
        Study.objects.filter(pk=self.open_study.pk).update(min_listen_seconds=30)
        ListenEvent.objects.all().delete()  # listen again, from the start of the page
        assert self.events(*self.timed_plays(1.6)).status_code == 200
        assert len(self.p.trial_data()["played"]) == 5

    # -- the delivery --------------------------------------------------------------------------

    def test_a_partly_fetched_file_does_not_count(self) -> None:
        self.backdate(30.0)
        self.p.fetch_audio(self.data)
        first = self.trial.conditions.get(key=self.keys[0])
        AudioDelivery.objects.filter(condition=first).delete()
        size = session_variant(first).size
        half = self.p.client.get(f"/a/{self.keys[0]}", HTTP_RANGE=f"bytes=0-{size // 2}")
        b"".join(half.streaming_content)
        assert self.events(*self.timed_plays(1.1)).status_code == 200
        self.rate_all(self.p, self.data)
        response = self.submit()
        assert response.status_code == 400
        assert "not loaded: A" in response.json()["detail"]
        rest = self.p.client.get(f"/a/{self.keys[0]}", HTTP_RANGE=f"bytes={size // 2 + 1}-")
        b"".join(rest.streaming_content)
        assert self.submit().status_code == 200
        rows = AudioDelivery.objects.filter(condition=first).order_by("first_byte")
        assert [(r.first_byte, r.bytes_sent, r.file_size) for r in rows] == [
            (0, size // 2 + 1, size),
            (size // 2 + 1, size - size // 2 - 1, size),
        ]

    def test_audio_of_the_next_trial_is_served_but_counts_for_that_trial_only(self) -> None:
        following = self.p.session.rated_trials().get(position=self.trial_id + 1)
        for condition in following.conditions.all():
            response = self.p.client.get(f"/a/{condition.key}")
            assert response.status_code == 200  # fetched ahead, while this trial is open
            b"".join(response.streaming_content)
        assert AudioDelivery.objects.filter(condition__trial=following).count() == 6
        assert not AudioDelivery.objects.filter(condition__trial=self.trial).exists()
        self.rate_all(self.p, self.data)
        assert "not loaded" in self.submit().json()["detail"]
        self.p.play_all(self.data)
        assert self.submit().status_code == 200
        # On the next trial the files fetched ahead count as delivered; its listening
        # counts only from its own page.
        data = self.p.trial_data()
        keys = [c["key"] for c in data["conditions"]]
        deliveries = AudioDelivery.objects.count()
        self.rate_all(self.p, data)
        response = self.submit(self.p, data)
        assert "loaded" not in response.json()["detail"]
        assert "not played yet" in response.json()["detail"]
        self.p.play_all(data)  # fetches again (a page does) and listens
        assert sorted(self.p.trial_data()["played"]) == sorted(keys)
        assert AudioDelivery.objects.count() == deliveries + 6

    # -- which trial -----------------------------------------------------------------------------

    def test_events_for_a_trial_not_reached_are_refused(self) -> None:
        following = self.trial_id + 1
        other = self.p.session.rated_trials().get(position=following)
        key = other.conditions.exclude(role="reference").first().key
        response = self.events({"type": "play", "condition": key}, trial=following)
        assert response.status_code == 409
        assert "has not been reached yet" in response.json()["detail"]
        assert not ListenEvent.objects.exists()

    def test_events_for_a_submitted_trial_are_refused(self) -> None:
        self.p.play_all(self.data)
        self.rate_all(self.p, self.data)
        assert self.submit().status_code == 200
        stored = ListenEvent.objects.count()
        response = self.events({"type": "play", "condition": self.keys[0]}, trial=self.trial_id)
        assert response.status_code == 409
        assert "already submitted" in response.json()["detail"]
        assert ListenEvent.objects.count() == stored
