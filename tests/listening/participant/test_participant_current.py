"""GET /p/<token>/current: where the session is and its current trial, for the trial page.

The page reads it to show answers saved in another tab when it regains focus and to
move to the next trial without a reload; each trial page also names the next trial's
audio keys so it can fetch them ahead (prefetch).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.cache import cache
from django.test import Client

from listening.models import Trial
from tests.listening.participant_fixtures import Participant, ParticipantTestCase


class CurrentTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {"screening": {"tests": []}}

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.p = self.participant()
        self.p.to_training()

    def current(self, p: Participant | None = None) -> dict[str, Any]:
        response = (p or self.p).client.get((p or self.p).url("current"))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response["Cache-Control"] == "private, no-store"
        return response.json()

    def rate(self, trial: int, key: str, score: int) -> None:
        body = {"trial": trial, "type": "rating", "condition": key}
        response = self.p.save(body | {"attribute": "clarity", "score": score})
        assert response.status_code == 200, response.json()

    def test_it_describes_the_current_trial_as_the_page_does(self) -> None:
        state = self.current()
        assert state["url"] == self.p.url("training")
        assert state["trial"] == self.p.trial_data("training")
        assert state["trial"]["state_url"] == self.p.url("current")

    def test_it_shows_answers_saved_since_the_page_was_loaded(self) -> None:
        self.p.save({"trial": 0, "type": "submit"})
        data = self.p.trial_data()
        key = data["conditions"][1]["key"]
        self.rate(1, key, 10)
        self.rate(1, key, 90)  # another tab moved the slider
        state = self.current()
        assert state["trial"]["trial"]["id"] == 1
        assert state["trial"]["answers"]["ratings"][key] == {"clarity": 90}

    def test_it_marks_the_trial_started_and_follows_the_session_to_the_next_one(self) -> None:
        self.p.save({"trial": 0, "type": "submit"})
        trial = self.p.refresh().trials.get(position=1)
        assert trial.state == Trial.State.PENDING
        state = self.current()  # the next trial, shown in place by the page
        assert state["url"] == self.p.url("trial")
        assert state["trial"]["trial"]["id"] == 1
        assert state["trial"]["mode"] == "trial"
        trial.refresh_from_db()
        assert trial.state == Trial.State.ACTIVE
        assert trial.started_at is not None

    def test_it_names_no_trial_outside_the_trials(self) -> None:
        other = Participant(self.open_study, Client())  # another browser
        other.start()
        assert self.current(other) == {"url": other.url("consent"), "trial": None}

    def test_it_answers_nothing_for_an_unknown_token_and_refuses_writes(self) -> None:
        assert self.client.get("/p/not-a-token/current").status_code == 404
        assert self.p.client.post(self.p.url("current")).status_code == 405

    def test_each_page_names_the_next_trials_audio_sorted_by_key(self) -> None:
        session = self.p.refresh()
        training = self.p.trial_data("training")
        first = session.trials.get(position=1)
        keys = sorted(first.conditions.values_list("key", flat=True))
        assert training["prefetch"] == keys  # the first trial's audio, during the training
        own = {c["key"] for c in training["conditions"]} | {training["reference"]["key"]}
        assert own.isdisjoint(keys)
        self.p.save({"trial": 0, "type": "submit"})
        positions = sorted(session.rated_trials().values_list("position", flat=True))
        for position in positions:
            data = self.current()["trial"]
            assert data["trial"]["id"] == position
            following = session.trials.filter(position=position + 1).first()
            expected = (
                sorted(following.conditions.values_list("key", flat=True)) if following else []
            )
            assert data["prefetch"] == expected
            self.p.play_all(data)
            for c in data["conditions"]:
                for attribute in ("overall-quality", "clarity"):
                    body = {"trial": position, "type": "rating", "condition": c["key"]}
                    self.p.save(body | {"attribute": attribute, "score": 100})
            assert self.p.save({"trial": position, "type": "submit"}).status_code == 200
        assert self.current() == {"url": self.p.url("final"), "trial": None}
