"""POST /p/<token>/answers and /events: autosave, idempotency, server-side rules, bad input."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from django.core.cache import cache
from django.test import Client

from listening.models import IdempotencyKey, ListenEvent, Rating, Session
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

ATTRIBUTES = ("overall-quality", "clarity")


class AnswersTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {"screening": {"tests": []}}

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.start_at_first_trial()

    def rate(self, condition: str, score: Any = 70, attribute: str = "clarity", **kw: Any) -> Any:
        body = {"trial": self.trial_id, "type": "rating", "condition": condition}
        body.update(attribute=attribute, score=score)
        return self.p.save(body, **kw)

    def rate_all(self, score: int = 100) -> None:
        for key in self.keys:
            for attribute in ATTRIBUTES:
                assert self.rate(key, score, attribute).status_code == 200

    def assert_refused(self, response: Any, status: int, words: str) -> None:
        assert response.status_code == status, response.content
        assert words in response.json()["detail"], response.json()

    def test_it_upserts_a_rating_at_every_change(self) -> None:
        assert self.rate(self.keys[0], 40).json() == {"saved": True}
        assert self.rate(self.keys[0], 73).status_code == 200
        rating = Rating.objects.get()
        assert (rating.score, rating.changes, rating.attribute) == (73, 2, "clarity")

    def test_a_condition_no_key_can_be_is_refused_without_a_lookup(self) -> None:
        # PostgreSQL cannot compare a NUL: such a key answered 500 there.
        for key in ("a\x00b", "\x00", "x" * 65, "a b"):
            self.assert_refused(self.rate(key), 400, "must be a condition key of this trial")
        assert not Rating.objects.exists()

    def test_a_repeated_idempotency_key_changes_nothing_twice(self) -> None:
        self.rate(self.keys[0], 40, key="k-1")
        self.rate(self.keys[0], 50, key="k-2")
        again = self.rate(self.keys[0], 40, key="k-1")  # a late retry of the first value
        assert again.status_code == 200
        rating = Rating.objects.get()
        assert (rating.score, rating.changes) == (50, 2)
        assert IdempotencyKey.objects.filter(key__startswith="k-").count() == 2

    def test_a_reload_resumes_with_the_answers_and_what_was_played(self) -> None:
        self.rate(self.keys[1], 64, attribute="overall-quality")
        self.p.play_all(self.data)
        data = self.p.trial_data()
        assert data["trial"] == self.data["trial"]
        assert [c["key"] for c in data["conditions"]] == self.keys
        assert data["answers"] == {"ratings": {self.keys[1]: {"overall-quality": 64}}}
        assert sorted(data["played"]) == sorted(self.keys)

    def test_it_refuses_bad_scores(self) -> None:
        for score in (101, -1, "70", 7.5, None, True):
            self.assert_refused(self.rate(self.keys[0], score), 400, "whole number from 0 to 100")
        assert not Rating.objects.exists()

    def test_it_refuses_unknown_attributes_and_conditions(self) -> None:
        self.assert_refused(self.rate(self.keys[0], attribute="loudness"), 400, "not rated here")
        self.assert_refused(self.rate("no-such-key"), 400, "not one of this trial's")
        reference = self.data["reference"]["key"]
        self.assert_refused(self.rate(reference), 400, "not one of this trial's")
        bad_type = self.p.save({"trial": self.trial_id, "type": "abx", "condition": self.keys[0]})
        self.assert_refused(bad_type, 400, "is not an answer of this trial")
        self.assert_refused(self.p.save(["not", "an", "object"]), 400, "JSON object")
        self.assert_refused(self.p.save({"trial": "1", "type": "rating"}), 400, "whole number")
        not_json = self.p.client.post(
            self.p.url("answers"), data="{", content_type="application/json"
        )
        self.assert_refused(not_json, 400, "not valid JSON")
        assert not Rating.objects.exists()

    def test_it_refuses_a_condition_of_another_trial(self) -> None:
        other = self.p.session.rated_trials().exclude(position=self.trial_id).get()
        key = other.conditions.exclude(role="reference").first().key
        self.assert_refused(self.rate(key), 400, "not one of this trial's")
        later = self.p.save(
            {"trial": other.position, "type": "rating", "condition": key, "attribute": "clarity"}
            | {"score": 5}
        )
        self.assert_refused(later, 409, "not the current trial")
        self.assert_refused(self.p.save({"trial": 99, "type": "submit"}), 400, "not a trial")
        assert not Rating.objects.exists()

    def test_it_refuses_another_sessions_trial(self) -> None:
        other = Participant(self.open_study)
        other.to_training()
        # Session 2's key, sent to session 1's endpoint under a trial id both have.
        key = other.session.training_trial().conditions.first().key
        self.assert_refused(self.rate(key), 400, "not one of this trial's")
        # And session 1's key is nothing to session 2.
        response = other.save({"trial": 0, "type": "submit"} | {"condition": self.keys[0]}, key="x")
        assert response.status_code == 200  # its own training submit, unaffected
        assert other.client.get(f"/a/{self.keys[0]}").status_code == 404

    def test_submit_checks_the_rules_on_the_server(self) -> None:
        submit = {"trial": self.trial_id, "type": "submit"}
        self.assert_refused(self.p.save(submit), 400, "Listen to every condition first")
        self.p.play_all(self.data)
        self.assert_refused(self.p.save(submit), 400, "Rate every version")
        self.rate_all(score=80)
        self.assert_refused(self.p.save(submit), 400, "rate at least one version 100")
        for attribute in ATTRIBUTES:
            self.rate(self.keys[2], 100, attribute)
        response = self.p.save(submit)
        assert response.status_code == 200
        assert response.json() == {"next_url": self.p.url("trial")}
        assert self.p.refresh().current_trial().position == self.trial_id + 1

    def test_a_submitted_trial_and_a_finished_session_cannot_change(self) -> None:
        self.p.play_all(self.data)
        self.rate_all()
        self.p.save({"trial": self.trial_id, "type": "submit"})
        self.assert_refused(self.rate(self.keys[0], 3), 409, "already submitted")
        assert not Rating.objects.filter(score=3).exists()
        Session.objects.filter(pk=self.p.session.pk).update(state="complete")
        self.assert_refused(self.rate(self.keys[0], 3), 409, "session is finished")
        events = self.p.post("events", {"trial": self.trial_id, "events": []})
        self.assert_refused(events, 409, "session is finished")

    def test_two_tabs_of_one_session_do_not_corrupt_it(self) -> None:
        second_tab = Participant(self.open_study, Client())
        second_tab.session = self.p.session
        self.p.play_all(self.data)
        self.rate_all()
        assert self.p.save({"trial": self.trial_id, "type": "submit"}).status_code == 200
        stale = second_tab.save({"trial": self.trial_id, "type": "submit"})
        self.assert_refused(stale, 409, "already submitted")
        assert self.p.refresh().rated_trials().filter(state="done").count() == 1

    def test_it_stores_listening_events(self) -> None:
        key = self.keys[0]
        events = [
            {"type": "play", "position": 0.0, "condition": key, "at": "2025-01-01T10:00:00Z"},
            {"type": "switch", "from": key, "to": self.keys[1], "position": 1.25},
            {"type": "seek", "from": 1.3, "to": 0.5},
            {"type": "loop", "on": True, "a": 0.5, "b": 2.0, "position": 0.7},
            {"type": "loop", "on": False, "a": 0.0, "b": 3.0, "position": 0.9},
            {"type": "pause", "position": 1.0, "condition": self.keys[1], "reason": "user"},
        ]
        response = self.p.post("events", {"trial": self.trial_id, "events": events})
        assert response.json() == {"stored": 6}
        stored = list(ListenEvent.objects.order_by("pk"))
        assert [e.kind for e in stored] == ["play", "switch", "seek", "loop", "loop_off", "pause"]
        assert stored[1].condition.key == self.keys[1]
        assert stored[1].position == 1.25
        assert stored[2].position == 0.5
        assert stored[3].loop_end == 2.0
        assert stored[0].client_time_ms == 1735725600000.0

    def test_it_refuses_bad_events(self) -> None:
        for events in (
            [{"type": "explode"}],
            [{"type": "play", "condition": "nope"}],
            "play",
        ):
            response = self.p.post("events", {"trial": self.trial_id, "events": events})
            assert response.status_code == 400, events
        assert not ListenEvent.objects.exists()

    def test_it_refuses_a_missing_csrf_token(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.cookies = self.p.client.cookies
        response = client.post(
            self.p.url("answers"),
            data=json.dumps({"trial": self.trial_id, "type": "rating"}),
            content_type="application/json",
        )
        assert response.status_code == 403
        assert "CSRF" in response.json()["detail"]
        page = client.post(self.p.url("final"), {})
        assert page.status_code == 403
        assert not Rating.objects.exists()
