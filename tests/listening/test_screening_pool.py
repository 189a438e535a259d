"""Screening blocks come from a small cached pool; each session has its own keys and order."""

from __future__ import annotations

from django.test import Client

from listening import screening
from tests.listening.participant_fixtures import Participant, ParticipantTestCase


class ScreeningPoolTestCase(ParticipantTestCase):
    def screened_participant(self) -> Participant:
        p = Participant(self.open_study, Client())
        p.start()
        p.consent()
        p.questionnaire()
        p.calibrate()
        self.client.get(p.url("screening"))
        return p

    def test_sessions_share_clips_but_not_keys_or_order(self) -> None:
        participants = [self.screened_participant() for _ in range(5)]
        attempts = [p.screening_attempt() for p in participants]
        orders: dict[tuple[str, int], set[tuple[int, ...]]] = {}
        keys: set[str] = set()
        for attempt in attempts:
            for test in attempt["tests"]:
                assert 0 <= test["seed"] < screening.SEED_POOL
                indices = tuple(item["index"] for item in test["items"])
                assert sorted(indices) == list(range(len(indices)))  # every trial once
                orders.setdefault((test["kind"], test["seed"]), set()).add(indices)
                keys.update(item["key"] for item in test["items"])
        assert len(keys) == sum(len(t["items"]) for a in attempts for t in a["tests"])
        # Five sessions: the chance that every shuffle of six trials agrees is (1/720)^4.
        all_orders = {o for group in orders.values() for o in group}
        assert len(all_orders) > 1

    def test_each_key_serves_its_trial_and_is_scored_by_that_trial(self) -> None:
        p = self.screened_participant()
        study = self.open_study
        for test in p.screening_attempt()["tests"]:
            block = screening._block(
                test["kind"], len(test["items"]), test["seed"], study.sample_rate,
                study.loudness_target_lufs,
            )  # fmt: skip
            answers = screening._correct(
                test["kind"], len(test["items"]), test["seed"], study.sample_rate
            )
            for item in test["items"]:
                response = p.client.get(f"/a/{item['key']}")
                assert b"".join(response.streaming_content) == block[item["index"]]
                assert item["correct"] == answers[item["index"]]
