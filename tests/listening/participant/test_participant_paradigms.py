"""Trials built per paradigm from the plan: ABX drawn and checked on the server, AB, balance."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from django.core.cache import cache

from listening.models import AbxAnswer, PreferenceAnswer, Study
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

NO_SCREENING = {"tests": []}


class AbxTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {
        "paradigm": "abx",
        "reference_mode": "none",
        "anchors": False,
        "screening": NO_SCREENING,
    }

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.p = self.participant()
        self.p.to_training()

    def test_each_repetition_is_a_trial_with_x_drawn_on_the_server(self) -> None:
        trials = list(self.p.session.rated_trials())
        assert len(trials) == 2 * 2  # 2 tracks x 1 pair x 2 repetitions
        for track in {t.track_id for t in trials}:
            answers = AbxAnswer.objects.filter(trial__track_id=track, trial__session=self.p.session)
            sides = Counter(a.x_is.position for a in answers)
            assert sides == {0: 1, 1: 1}  # X is A as often as B
            firsts = {a.trial.conditions.get(position=0).stimulus_id for a in answers}
            assert len(firsts) == 2  # A and B swap sides between repetitions
        for trial in trials:
            roles = [c.role for c in trial.conditions.all()]
            assert roles == ["test", "test", "x"]
            x = trial.conditions.get(role="x")
            assert x.stimulus_id == trial.abx_answers.get().x_is.stimulus_id

    def test_the_answer_is_checked_on_the_server_and_may_change(self) -> None:
        self.p.save({"trial": 0, "type": "submit"})
        data = self.p.trial_data()
        assert [c["label"] for c in data["conditions"]] == ["A", "B", "X"]
        assert data["attributes"] == []
        assert data["reference"] is None
        record = AbxAnswer.objects.get(trial__session=self.p.session, trial__position=1)
        a, b = data["conditions"][0]["key"], data["conditions"][1]["key"]
        wrong = b if record.x_is.key == a else a
        self.p.save({"trial": 1, "type": "abx", "condition": wrong})
        record.refresh_from_db()
        assert record.correct is False
        assert record.answer.key == wrong
        self.p.save({"trial": 1, "type": "abx", "condition": record.x_is.key})
        record.refresh_from_db()
        assert record.correct is True
        assert record.response_ms is not None
        assert self.p.trial_data()["answers"] == {"choice": record.x_is.key}
        x = data["conditions"][2]["key"]
        response = self.p.save({"trial": 1, "type": "abx", "condition": x})
        assert response.status_code == 400

    def test_submit_needs_an_answer_and_every_sound_played(self) -> None:
        self.p.save({"trial": 0, "type": "submit"})
        data = self.p.trial_data()
        response = self.p.save({"trial": 1, "type": "submit"})
        assert "not played yet: A, B, X" in response.json()["detail"]
        assert "Say whether X is A or X is B" in response.json()["detail"]
        self.p.play_all(data)
        self.p.save({"trial": 1, "type": "abx", "condition": data["conditions"][0]["key"]})
        assert self.p.save({"trial": 1, "type": "submit"}).status_code == 200


class AbTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {
        "paradigm": "ab",
        "reference_mode": "none",
        "anchors": False,
        "screening": NO_SCREENING,
    }

    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def test_it_asks_per_attribute_with_an_optional_no_preference(self) -> None:
        p = self.participant()
        p.to_training()
        p.save({"trial": 0, "type": "submit"})
        data = p.trial_data()
        assert [c["label"] for c in data["conditions"]] == ["A", "B"]
        assert data["rules"]["allow_no_preference"] is True
        a = data["conditions"][0]["key"]
        p.save({"trial": 1, "type": "preference", "attribute": "clarity", "condition": a})
        p.save(
            {"trial": 1, "type": "preference", "attribute": "overall-quality", "condition": None}
        )
        stored = {x.attribute: x for x in PreferenceAnswer.objects.all()}
        assert stored["clarity"].choice.key == a
        assert not stored["clarity"].no_preference
        assert stored["overall quality"].no_preference
        assert stored["overall quality"].choice is None
        assert p.trial_data()["answers"] == {"preferences": {"clarity": a, "overall-quality": None}}

    def test_no_preference_is_refused_when_the_study_forbids_it(self) -> None:
        Study.objects.filter(pk=self.open_study.pk).update(ab_allow_no_preference=False)
        p = self.participant()
        p.to_training()
        p.save({"trial": 0, "type": "submit"})
        response = p.save({"trial": 1, "type": "preference", "attribute": "clarity"})
        assert response.status_code == 400
        assert not PreferenceAnswer.objects.exists()

    def test_sides_are_counterbalanced_across_participants(self) -> None:
        first_sides = []
        for _ in range(4):
            p = Participant(self.open_study)
            p.to_training()
            for trial in p.session.rated_trials():
                first_sides.append((trial.track_id, trial.conditions.get(position=0).stimulus_id))
        counts = Counter(first_sides)
        assert len(counts) == 4
        assert set(counts.values()) == {2}


class BalancingTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {
        "screening": NO_SCREENING,
        "trials_per_participant": 1,
    }

    def test_each_participant_hears_the_least_heard_track(self) -> None:
        cache.clear()
        heard = []
        for _ in range(4):
            p = Participant(self.open_study)
            p.to_training()
            trials = list(p.session.rated_trials())
            assert len(trials) == 1
            heard.append(trials[0].track_id)
        assert set(Counter(heard).values()) == {2}
