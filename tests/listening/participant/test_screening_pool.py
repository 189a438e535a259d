"""Screening blocks come from a small cached pool; each session has its own keys and order."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from unittest import mock

from django.conf import settings
from django.test import Client

from listening.participant import screening
from tests.listening.base import BaseTestCase
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
            # Generated afresh, not through the pool: what the pool serves must be this.
            block = screening._generate(
                test["kind"], len(test["items"]), test["seed"], study.sample_rate,
                study.loudness_target_lufs,
            )  # fmt: skip
            for item in test["items"]:
                response = p.client.get(f"/a/{item['key']}")
                assert b"".join(response.streaming_content) == block.clips[item["index"]]
                assert item["correct"] == block.correct[item["index"]]


class BlockStoreTestCase(BaseTestCase):
    """A block is generated once per deployment and kept in media storage."""

    ARGS = ("antiphase", 6, 5, 48000, -23.0)

    def setUp(self) -> None:
        super().setUp()
        screening._block.cache_clear()  # what other tests left in this process's memory
        self.addCleanup(screening._block.cache_clear)
        self.generated: list[tuple[Any, ...]] = []
        real = screening._generate

        def counted(*args: Any) -> screening.Block:
            self.generated.append(args)
            return real(*args)

        patcher = mock.patch.object(screening, "_generate", counted)
        patcher.start()
        self.addCleanup(patcher.stop)

    def folder(self) -> Path:
        (folder,) = (Path(settings.MEDIA_ROOT) / screening.STORE).iterdir()
        return folder

    def test_a_block_is_generated_once_and_then_read_from_storage(self) -> None:
        first = screening._block(*self.ARGS)
        assert len(self.generated) == 1
        files = sorted(p.name for p in self.folder().iterdir())
        assert files == [*(f"{i}.flac" for i in range(6)), "correct.json"]
        screening._block.cache_clear()  # as another process, or after a restart
        again = screening._block(*self.ARGS)
        assert len(self.generated) == 1
        assert again == first
        assert screening._generate(*self.ARGS) == first  # what was kept is what it makes

    def test_processes_wait_for_the_one_that_generates(self) -> None:
        results: list[screening.Block] = []
        threads = [
            threading.Thread(
                target=lambda: results.append(screening._block.__wrapped__(*self.ARGS))
            )
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(results) == 4
        assert len(self.generated) == 1
        assert all(result == results[0] for result in results)

    def test_an_incomplete_or_damaged_block_is_made_again(self) -> None:
        first = screening._block(*self.ARGS)
        folder = self.folder()
        (folder / "correct.json").unlink()  # cut short before its answers were written
        (folder / "2.flac").write_bytes(first.clips[2][:1000])  # and a clip half written
        screening._block.cache_clear()
        again = screening._block(*self.ARGS)
        assert len(self.generated) == 2
        assert again == first
        assert (folder / "2.flac").read_bytes() == first.clips[2]
        assert json.loads((folder / "correct.json").read_text()) == list(first.correct)
        assert sorted(p.name for p in folder.iterdir()) == [
            *(f"{i}.flac" for i in range(6)),
            "correct.json",
        ]
