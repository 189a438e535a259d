"""Every trial of a session draws its own condition order; orders balance across sessions.

Issue 13.1: the plan used to give every trial of a session the same Williams row when
everyone heard every track, so one letter named one version for the whole session. The
sessions here are planned through ``Session.build_trials`` (the platform's own path)
on a prepared study whose tracks all have the same versions, so "the same order" is
well defined: the same version kind behind every letter.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, ClassVar

from scipy import stats

from listening.models import Session, Study
from listening.participant import flow
from listening.participant.randomisation import williams_square
from tests.listening.participant_fixtures import ParticipantTestCase

NO_SCREENING = {"tests": []}


def kind(condition: Any) -> tuple[str, str, float | None]:
    """What a condition is, the same for every track: role, system and anchor cut-off."""
    stimulus = condition.stimulus
    return (condition.role, stimulus.system, stimulus.anchor_cutoff_hz)


def plan_sessions(study: Study, n: int) -> list[Session]:
    sessions = []
    for _ in range(n):
        session = Session.objects.create(study=study, state=Session.State.CALIBRATION)
        flow.start_training(session)
        sessions.append(session)
    return sessions


def orders(session: Session) -> list[tuple[Any, ...]]:
    """Each rated trial's version kinds in presentation order (open reference left out)."""
    return [
        tuple(kind(c) for c in trial.conditions.select_related("stimulus") if c.is_rated)
        for trial in session.rated_trials().order_by("position")
    ]


class OrderTestMixin:
    open_study: Study
    sessions = 60

    def set_balancing(self, balancing: str) -> None:
        Study.objects.filter(pk=self.open_study.pk).update(balancing=balancing)
        self.open_study.refresh_from_db()

    def share_with_one_order(self, chance: float, versions: int) -> None:
        sessions = plan_sessions(self.open_study, self.sessions)
        if self.open_study.balancing == "balanced":
            # Listeners of a Williams block share its square (the last one takes the row
            # left), so sessions of a block are not independent draws; blocks are. Every
            # session hears every track here, so blocks start at the same sessions on
            # every track: count the first session of each block.
            rows = len(williams_square(versions))
            sessions = [s for s in sessions if s.plan["participant_index"] % rows == 0]
        same = sum(len(set(orders(s))) == 1 for s in sessions)
        # The old planner gave every trial of these sessions one order: all of them.
        test = stats.binomtest(same, len(sessions), chance)
        assert test.pvalue > 0.001, (same, len(sessions), chance)


class MushraOrderTestCase(OrderTestMixin, ParticipantTestCase):
    """Mix as reference (a hidden copy), two masters, two anchors: five rated items."""

    study_options: ClassVar[dict[str, Any]] = {"screening": NO_SCREENING}

    def test_trials_of_a_session_share_one_order_only_by_chance(self) -> None:
        for balancing in ("balanced", "random"):
            with self.subTest(balancing=balancing):
                self.set_balancing(balancing)
                # Two trials of five items, each order uniform over the 5! orders.
                self.share_with_one_order(1 / math.factorial(5), 5)
                Session.objects.all().delete()

    def test_balanced_orders_put_each_version_in_each_place_equally_often(self) -> None:
        self.set_balancing("balanced")
        # Five items: a Williams square and its mirror, 10 rows a block.
        sessions = plan_sessions(self.open_study, 10)
        for session in sessions:
            assert session.plan["balancing"] == "balanced"
        per_track: dict[int, Counter[tuple[Any, int]]] = {}
        for session in sessions:
            for trial in session.rated_trials():
                rated = [c for c in trial.conditions.select_related("stimulus") if c.is_rated]
                counts = per_track.setdefault(trial.track_id, Counter())
                counts.update((kind(c), place) for place, c in enumerate(rated))
        assert len(per_track) == 2
        for counts in per_track.values():
            assert len(counts) == 25
            assert set(counts.values()) == {2}

    def test_random_balancing_draws_uniform_orders(self) -> None:
        self.set_balancing("random")
        sessions = plan_sessions(self.open_study, 10)
        exact = True
        for session in sessions:
            assert session.plan["balancing"] == "random"
            assert "squares" not in session.plan
        per_track: dict[int, Counter[tuple[Any, int]]] = {}
        for session in sessions:
            for trial in session.rated_trials():
                rated = [c for c in trial.conditions.select_related("stimulus") if c.is_rated]
                counts = per_track.setdefault(trial.track_id, Counter())
                counts.update((kind(c), place) for place, c in enumerate(rated))
        for counts in per_track.values():
            exact = exact and len(counts) == 25 and set(counts.values()) == {2}
        # Exact balance of 10 uniform orders of 5 items, on both tracks: odds below 1e-9.
        assert not exact

    def test_a_resumed_session_replays_its_orders(self) -> None:
        p = self.participant()
        p.to_training()
        before = orders(p.session)
        plan = dict(p.session.plan)
        first = p.trial_data("training")
        flow.build_trials(p.session)  # a second call (a retried request) draws nothing new
        p.refresh()
        assert orders(p.session) == before
        assert p.session.plan == plan
        again = p.trial_data("training")
        assert again["conditions"] == first["conditions"]
        assert again["reference"] == first["reference"]


class AbSideTestCase(OrderTestMixin, ParticipantTestCase):
    """One AI and one human master per track: AI is "A" or "B" in each of two trials."""

    study_options: ClassVar[dict[str, Any]] = {
        "paradigm": "ab",
        "reference_mode": "none",
        "anchors": False,
        "screening": NO_SCREENING,
    }

    def ai_sides(self, session: Session) -> list[int]:
        sides = []
        for trial in session.rated_trials().order_by("position"):
            rated = list(trial.conditions.select_related("stimulus"))
            sides.append(next(i for i, c in enumerate(rated) if c.stimulus.system == "ai"))
        return sides

    def test_ai_is_on_one_side_in_every_trial_only_by_chance(self) -> None:
        for balancing in ("balanced", "random"):
            with self.subTest(balancing=balancing):
                self.set_balancing(balancing)
                self.share_with_one_order(1 / 2, 2)
                Session.objects.all().delete()

    def test_ai_is_a_as_often_as_b_across_sessions(self) -> None:
        self.set_balancing("balanced")
        sessions = plan_sessions(self.open_study, 8)
        per_track: dict[int, Counter[int]] = {}
        for session in sessions:
            for trial, side in zip(
                session.rated_trials().order_by("position"), self.ai_sides(session), strict=True
            ):
                per_track.setdefault(trial.track_id, Counter())[side] += 1
        # Williams blocks of two listeners per track: exactly half each, per track.
        assert len(per_track) == 2
        assert all(c == {0: 4, 1: 4} for c in per_track.values())


class AbxSideTestCase(OrderTestMixin, ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {
        "paradigm": "abx",
        "reference_mode": "none",
        "anchors": False,
        "screening": NO_SCREENING,
        "abx_repetitions": 3,
    }

    def test_ai_is_a_as_often_as_b_across_sessions(self) -> None:
        sessions = plan_sessions(self.open_study, 8)
        counts: Counter[int] = Counter()
        within: set[tuple[int, ...]] = set()
        for session in sessions:
            sides = []
            for trial in session.rated_trials().order_by("position"):
                a = trial.conditions.select_related("stimulus").get(position=0)
                sides.append(0 if a.stimulus.system == "ai" else 1)
            counts.update(sides)
            within.add(tuple(sides))
        # Three repetitions per pair: sides alternate (2 + 1), the odd one balanced across
        # sessions in blocks of two: 8 sessions x 2 tracks x 3 = 48 trials, 24 each.
        assert counts == {0: 24, 1: 24}
        assert all(len(set(s)) == 2 for s in within)  # never one side all session
