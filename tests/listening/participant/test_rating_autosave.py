"""The rating autosave's short path answers exactly as the general path, in three statements.

``listening.participant.autosave`` handles a well-formed rating on the current trial and hands
everything else to ``Session.answer``. Two participants of one study get the same
seeded random sequences of requests (good ratings, bad ones, replays, submits, idle
minutes, a closed study), one with the short path and one without it; their answers and
their rows must match. The rest pins what the short path is for: how many statements a
save runs, that it is the path a plain save takes, and the rating's change time.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any, ClassVar
from unittest import mock

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from listening.models import IdempotencyKey, Rating, Session, Study, Trial
from listening.participant import autosave
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

ATTRIBUTES = ("overall-quality", "clarity", "loudness", 5)
SCORES = (0, 37, 64, 100, 101, -1, "50", True, 7.5, None)
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def statements(context: CaptureQueriesContext) -> list[str]:
    """The statements a request ran, without transaction control."""
    return [
        q["sql"].split()[0].upper()
        for q in context.captured_queries
        if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
    ]


class Twin:
    """One participant and what the page knows: the current trial's condition keys."""

    def __init__(self, participant: Participant, *, short_path: bool) -> None:
        self.p = participant
        self.short_path = short_path
        self.shortcuts = 0

    def page(self) -> dict[str, Any] | None:
        """The trial page's data, None when the page shows something else."""
        response = self.p.client.get(self.p.url("trial"))
        if response.status_code != 200:
            return None
        return response.context["trial"]  # type: ignore[no-any-return]

    def send(self, body: Any, key: str | None) -> tuple[int, Any]:
        """POST an answer; the other twin's condition keys become their positions."""
        real = autosave.save

        def counted(*args: Any) -> Any:
            answered = real(*args)
            self.shortcuts += answered is not None
            return answered

        replacement = counted if self.short_path else (lambda *args: None)
        headers = {} if key is None else {"key": key}
        with mock.patch.object(autosave, "save", replacement):
            if key is None:
                response = self.p.client.post(
                    self.p.url("answers"), data=body, content_type="application/json"
                )
            else:
                response = self.p.save(body, **headers)
        return response.status_code, response.json()

    def rows(self) -> dict[str, Any]:
        """Everything the requests stored, named by positions instead of random keys."""
        session = self.p.refresh()
        ratings = sorted(
            Rating.objects.filter(trial__session=session).values_list(
                "trial__position", "condition__position", "attribute", "score", "changes"
            )
        )
        keys = Counter(
            (
                k.key if k.key.startswith("key-") else "a random key",
                k.endpoint,
                k.status_code,
                str(k.response).replace(session.token, "TOKEN"),
            )
            for k in IdempotencyKey.objects.filter(session=session)
        )
        trials = list(
            session.trials.order_by("position").values_list("position", "state", "answer_count")
        )
        return {
            "state": session.state,
            "ratings": ratings,
            "keys": keys,
            "trials": trials,
            "last seen": session.last_seen_at,
        }


class ShortPathTests(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {
        "screening": {"tests": []},
        "tracks": 3,
        "must_play_all": False,
    }

    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def in_trials(self) -> Participant:
        participant = Participant(self.open_study, self.client_class())
        participant.to_training()
        assert participant.save({"trial": 0, "type": "submit"}).status_code == 200
        return participant

    def rating(self, data: dict[str, Any], score: int = 50, index: int = 0) -> dict[str, Any]:
        return {
            "trial": data["trial"]["id"],
            "type": "rating",
            "condition": data["conditions"][index]["key"],
            "attribute": "clarity",
            "score": score,
        }

    # -- the same answers and rows as the general path ---------------------------------------

    def test_both_paths_answer_random_sequences_alike(self) -> None:
        taken = 0
        for seed in range(4):
            with self.subTest(seed=seed):
                taken += self.compare(random.Random(seed), steps=45)
        # The comparison means something only if the short path answered a good share.
        assert taken >= 40, taken

    def compare(self, rng: random.Random, steps: int) -> int:
        short = Twin(self.in_trials(), short_path=True)
        general = Twin(self.in_trials(), short_path=False)
        keys: list[str] = []
        for step in range(steps):
            action = rng.choices(
                ["rate", "submit", "replay", "idle", "close", "odd"], [14, 2, 3, 1, 1, 2]
            )[0]
            if action == "idle":
                ago = timezone.now() - timedelta(minutes=rng.choice([2, 5]))
                Session.objects.filter(token__in=[short.p.token, general.p.token]).update(
                    last_seen_at=ago
                )
                continue
            choice = rng.random()
            key = (
                rng.choice(keys)
                if action == "replay" and keys
                else None
                if choice < 0.05
                else "k" * 65
                if choice < 0.08
                else f"key-{step}"
            )
            if key is not None and len(key) <= 64:
                keys.append(key)
            draw = self.draw(rng, action)
            answers = []
            bodies = [draw(twin.page()) for twin in (short, general)]
            if action == "close":  # a good rating, sent just after the study closed
                Study.objects.filter(pk=self.open_study.pk).update(status=Study.Status.CLOSED)
            for twin, body in zip((short, general), bodies, strict=True):
                answers.append(twin.send(body, key))
            Study.objects.filter(pk=self.open_study.pk).update(status=Study.Status.OPEN)
            short_keys = self.keys_of(short)
            general_keys = self.keys_of(general)
            assert self.named(answers[0], short_keys) == self.named(answers[1], general_keys), (
                step,
                action,
                answers,
            )
        assert short.rows()["last seen"] is not None
        short_rows, general_rows = short.rows(), general.rows()
        for rows in (short_rows, general_rows):
            seen = rows.pop("last seen")
            rows["seen recently"] = timezone.now() - seen < timedelta(minutes=1)
        assert short_rows == general_rows
        assert general.shortcuts == 0
        return short.shortcuts

    def keys_of(self, twin: Twin) -> dict[str, str]:
        return {
            key: f"condition {position} of trial {trial}"
            for key, position, trial in twin.p.refresh()
            .trials.values_list("conditions__key", "conditions__position", "position")
            .order_by("position")
        }

    @staticmethod
    def named(answer: tuple[int, Any], keys: dict[str, str]) -> tuple[int, str]:
        status, payload = answer
        text = str(payload)
        for key, name in keys.items():
            text = text.replace(key, name)
        return status, text

    @staticmethod
    def draw(rng: random.Random, action: str) -> Any:
        """A request drawn once and built for each twin from what its page shows."""
        if action == "submit":
            return lambda data: {"trial": data["trial"]["id"] if data else 1, "type": "submit"}
        if action == "odd":
            odd = rng.choice([["a", "list"], {"type": "rating"}, "text", {"trial": 1}, None])
            return lambda data: odd
        # Mostly good ratings, so that the short path answers a good share of them.
        offset = rng.choices([0, -1, 1], [18, 1, 1])[0]
        index = rng.choices([0, 1, 2, 3, "reference", "unknown", ""], [5, 5, 5, 5, 2, 1, 1])[0]
        attribute = rng.choices(ATTRIBUTES, [10, 10, 1, 1])[0]
        score = rng.choices(SCORES, [5, 5, 5, 5, 1, 1, 1, 1, 1, 1])[0]
        trial_as_bool = rng.random() < 0.03

        def build(data: dict[str, Any] | None) -> Any:
            if data is None:
                trial: Any = 1
                condition: Any = "no-page"
            else:
                trial = data["trial"]["id"] + offset
                conditions = [c["key"] for c in data["conditions"]]
                if index == "reference":
                    reference = data["reference"]
                    condition = reference["key"] if reference else "none"
                elif isinstance(index, int):
                    condition = conditions[index % len(conditions)]
                else:
                    condition = index
            if trial_as_bool:
                trial = True
            return {
                "trial": trial,
                "type": "rating",
                "condition": condition,
                "attribute": attribute,
                "score": score,
            }

        return build

    # -- what the short path is for ---------------------------------------------------------

    def test_a_save_runs_one_select_and_its_writes(self) -> None:
        participant = self.in_trials()
        data = participant.trial_data()
        with CaptureQueriesContext(connection) as first:
            assert participant.save(self.rating(data, 40)).json() == {"saved": True}
        with CaptureQueriesContext(connection) as second:
            assert participant.save(self.rating(data, 41)).json() == {"saved": True}
        # The first save finds no rating to update and inserts it; every save counts
        # against the trial's cap of answers (UPDATE of its count) and keeps its key.
        assert statements(first) == ["SELECT", "UPDATE", "INSERT", "UPDATE", "INSERT"]
        assert statements(second) == ["SELECT", "UPDATE", "UPDATE", "INSERT"]
        check = next(q["sql"] for q in second.captured_queries if "SELECT" in q["sql"])
        # On PostgreSQL the check locks the session's row, as the general path does, so
        # that two tabs of a session take turns; SQLite's writers take turns anyway.
        assert ("FOR UPDATE" in check) == connection.features.has_select_for_update_of
        rating = Rating.objects.get()
        assert (rating.score, rating.changes) == (41, 2)
        assert participant.session.rated_trials().get(position=1).answer_count == 2

    def test_without_a_key_nothing_is_remembered(self) -> None:
        participant = self.in_trials()
        data = participant.trial_data()
        before = IdempotencyKey.objects.count()
        twin = Twin(participant, short_path=True)
        assert twin.send(self.rating(data), None) == (200, {"saved": True})
        assert twin.shortcuts == 1
        assert IdempotencyKey.objects.count() == before
        assert Rating.objects.get().score == 50

    def test_the_change_time_moves_on_every_save_on_both_paths(self) -> None:
        # QuerySet.update() leaves auto_now fields alone: the export's rated_at was the
        # time of the first save until both paths set it.
        for short_path in (True, False):
            with self.subTest(short_path=short_path):
                Rating.objects.all().delete()
                twin = Twin(self.in_trials(), short_path=short_path)
                data = twin.p.trial_data()
                assert twin.send(self.rating(data, 10), "first")[0] == 200
                first = Rating.objects.get()
                assert first.updated_at >= first.created_at
                assert twin.send(self.rating(data, 90), "second")[0] == 200
                second = Rating.objects.get()
                assert second.created_at == first.created_at
                assert second.updated_at > first.updated_at
                assert twin.shortcuts == (2 if short_path else 0)

    def test_a_session_due_for_its_activity_record_takes_the_general_path(self) -> None:
        participant = self.in_trials()
        data = participant.trial_data()
        ago = timezone.now() - timedelta(minutes=3)
        Session.objects.filter(token=participant.token).update(last_seen_at=ago)
        twin = Twin(participant, short_path=True)
        assert twin.send(self.rating(data), "k") == (200, {"saved": True})
        assert twin.shortcuts == 0
        seen = participant.refresh().last_seen_at
        assert seen is not None
        assert timezone.now() - seen < timedelta(seconds=30)
        assert twin.send(self.rating(data, 60), "k2") == (200, {"saved": True})
        assert twin.shortcuts == 1

    def test_an_idle_limit_under_a_minute_still_expires_the_session(self) -> None:
        participant = self.in_trials()
        data = participant.trial_data()
        ago = timezone.now() - timedelta(seconds=40)
        Session.objects.filter(token=participant.token).update(last_seen_at=ago)
        twin = Twin(participant, short_path=True)
        with self.settings(LISTENING_SESSION_IDLE_MINUTES=0.5):
            status, payload = twin.send(self.rating(data), "k")
        assert status == 410, payload
        assert "expired" in payload["detail"]
        assert not Rating.objects.exists()

    def test_a_rating_for_an_ab_trial_goes_the_general_way(self) -> None:
        participant = self.in_trials()
        data = participant.trial_data()
        Trial.objects.filter(session__token=participant.token).update(kind="ab")
        twin = Twin(participant, short_path=True)
        status, payload = twin.send(self.rating(data), "k")
        assert status == 400
        assert "is not an answer of this trial" in payload["detail"]
        assert twin.shortcuts == 0
        assert not Rating.objects.exists()


def test_well_formed_accepts_only_complete_in_range_ratings() -> None:
    good = {"trial": 1, "type": "rating", "condition": "abc", "attribute": "x", "score": 0}
    assert autosave.well_formed(good)
    assert autosave.well_formed({**good, "score": 100})
    for change in (
        {"type": "abx"},
        {"trial": True},
        {"trial": 1.0},
        {"trial": "1"},
        {"condition": ""},
        {"condition": 3},
        {"attribute": None},
        {"score": 101},
        {"score": -1},
        {"score": False},
        {"score": 50.0},
    ):
        assert not autosave.well_formed({**good, **change}), change
    assert not autosave.well_formed([good])
    assert not autosave.well_formed({k: v for k, v in good.items() if k != "score"})
