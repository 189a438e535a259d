"""simulate_participants: flagged sessions through the platform's planning, seeded answers."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Avg

from listening.models import AbxAnswer, PreferenceAnswer, Rating, Session, Study, Trial
from tests.listening.base import BaseTestCase
from tests.listening.results_fixtures import ATTRIBUTES, ready_study, simulate


def scores(study: Study) -> list[tuple[int, str, str, str, int]]:
    """Scores keyed by participant number, track, stimulus role/system and attribute."""
    order = {
        pk: i for i, pk in enumerate(study.sessions.order_by("pk").values_list("pk", flat=True))
    }
    rows = Rating.objects.filter(trial__session__study=study).values_list(
        "trial__session_id",
        "trial__track__title",
        "condition__stimulus__role",
        "condition__stimulus__system",
        "condition__stimulus__anchor_cutoff_hz",
        "attribute",
        "score",
    )
    return sorted((order[s], t, r, f"{y}{c}", a, v) for s, t, r, y, c, a, v in rows)  # type: ignore[misc]


class SimulateParticipantsTestCase(BaseTestCase):
    def test_it_creates_flagged_complete_sessions(self) -> None:
        study = ready_study(self.researcher, n_tracks=3)
        output = simulate(study, 4, seed=2)
        assert "simulated=True" in output
        sessions = Session.objects.filter(study=study)
        assert sessions.count() == 4
        assert all(s.simulated and s.state == Session.State.COMPLETE for s in sessions)
        assert all(s.plan.get("trials") == 3 for s in sessions)
        assert (
            not Trial.objects.filter(session__study=study, is_training=False)
            .exclude(state=Trial.State.DONE)
            .exists()
        )
        # 5 rated versions (mix as hidden reference, 2 masters, 2 anchors) x 2 attributes.
        assert Rating.objects.filter(trial__session__study=study).count() == 4 * 3 * 5 * 2
        assert not Rating.objects.filter(trial__is_training=True).exists()

    def test_ratings_are_reproducible_from_the_seed(self) -> None:
        first = ready_study(self.researcher, n_tracks=2, title="one")
        second = ready_study(self.researcher, n_tracks=2, title="two")
        simulate(first, 3, seed=7)
        simulate(second, 3, seed=7)
        assert scores(first) == scores(second)
        third = ready_study(self.researcher, n_tracks=2, title="three")
        simulate(third, 3, seed=8)
        assert scores(third) != scores(first)

    def test_the_rating_model_has_the_requested_ai_effect(self) -> None:
        study = ready_study(self.researcher, n_tracks=4)
        call_command("simulate_participants", str(study.pk), n=10, seed=1, ai_effect=-30.0)
        means = dict(
            Rating.objects.filter(trial__session__study=study, condition__stimulus__role="master")
            .values_list("condition__stimulus__system")
            .annotate(mean=Avg("score"))
            .order_by()
        )
        assert means["human"] - means["ai"] == pytest.approx(30.0, abs=8.0)
        reference = Rating.objects.filter(
            trial__session__study=study, condition__role="hidden_reference"
        ).aggregate(mean=Avg("score"))["mean"]
        assert reference > 90

    def test_it_answers_abx_and_ab_trials(self) -> None:
        abx = ready_study(self.researcher, paradigm="abx", n_tracks=2, title="abx")
        call_command("simulate_participants", str(abx.pk), n=5, seed=1, hit_rate=1.0)
        answers = AbxAnswer.objects.filter(trial__session__study=abx)
        assert answers.count() == 5 * 2 * 2
        assert all(a.correct and a.answer_id == a.x_is_id for a in answers)
        ab = ready_study(self.researcher, paradigm="ab", n_tracks=2, title="ab")
        simulate(ab, 5, seed=1)
        prefs = PreferenceAnswer.objects.filter(trial__session__study=ab)
        assert prefs.count() == 5 * 2 * len(ATTRIBUTES)
        assert all((p.choice_id is None) == p.no_preference for p in prefs)

    def test_it_refuses_unprepared_or_missing_studies(self) -> None:
        study = ready_study(self.researcher, n_tracks=1)
        study.tracks.get().stimuli.update(status="pending")
        with pytest.raises(CommandError, match="no prepared stimuli"):
            simulate(study, 1)
        assert not Session.objects.filter(study=study).exists()
        with pytest.raises(CommandError, match="does not exist"):
            call_command("simulate_participants", "999999")
