"""manage.py participant_data: a participant's data exported in full, then erased completely."""

from __future__ import annotations

import io
import json
from typing import Any, ClassVar

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client

from listening.models import Session, Stimulus
from listening.research.participant_data import PARTICIPANT_TABLES, participant_counts
from tests.listening.participant_fixtures import Participant, ParticipantTestCase


class ParticipantDataTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {"screening": {"tests": []}}

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.alice = self.take_part("?PROLIFIC_PID=alice-pid")
        self.bob = self.take_part("?PROLIFIC_PID=bob-pid")

    def take_part(self, query: str) -> Participant:
        """Consent, answer the questionnaire, train, then rate and play a first trial."""
        p = Participant(self.open_study, Client())
        p.to_training(query)
        p.save({"trial": 0, "type": "submit"})
        data = p.trial_data()
        for condition in data["conditions"]:
            body = {"trial": data["trial"]["id"], "type": "rating", "condition": condition["key"]}
            assert p.save(body | {"attribute": "clarity", "score": 55}).status_code == 200
        assert p.play_all(data).status_code == 200
        return p

    def all_counts(self) -> dict[str, int]:
        return {m._meta.label: m._default_manager.count() for m in PARTICIPANT_TABLES}

    def export(self, *args: str) -> dict[str, Any]:
        path = self.media_root / "export.json"
        call_command("participant_data", *args, "--export", str(path), stderr=None)
        return json.loads(path.read_text())

    def test_it_exports_everything_stored_about_one_participant(self) -> None:
        data = self.export(self.alice.token)
        [record] = data["sessions"]
        session = record["session"]
        assert session["token"] == self.alice.token
        assert session["prolific_pid"] == "alice-pid"
        assert session["questionnaire"]["headphone_model"] == "Studio cans"
        assert session["consent_at"] is not None
        counts = participant_counts(self.alice.refresh().pk)
        for label, rows in record["tables"].items():
            assert len(rows) == counts[label], label
        for label in ("listening.Trial", "listening.Condition", "listening.Rating"):
            assert record["tables"][label], label
        assert record["tables"]["listening.ListenEvent"]
        assert record["tables"]["listening.IdempotencyKey"]
        # Only Alice's rows: Bob's session id appears nowhere.
        bob = self.bob.refresh().pk
        assert all(row["session"] != bob for row in record["tables"]["listening.Trial"])

    def test_it_finds_a_participant_by_prolific_id(self) -> None:
        data = self.export("--prolific-pid", "bob-pid")
        assert [s["session"]["token"] for s in data["sessions"]] == [self.bob.token]

    def test_it_writes_to_stdout(self) -> None:
        out = io.StringIO()
        call_command("participant_data", self.bob.token, "--export", "-", stdout=out)
        assert json.loads(out.getvalue())["sessions"][0]["session"]["prolific_pid"] == "bob-pid"

    def test_it_deletes_everything_and_nothing_of_anyone_else(self) -> None:
        alice = self.alice.refresh().pk
        bob_before = participant_counts(self.bob.refresh().pk)
        before = self.all_counts()
        mine = participant_counts(alice)
        assert all(mine[label] > 0 for label in ("listening.Session", "listening.Rating"))
        stimuli = Stimulus.objects.count()

        call_command("participant_data", self.alice.token, "--delete", stdout=io.StringIO())

        assert all(n == 0 for n in participant_counts(alice).values())
        after = self.all_counts()
        assert after == {label: before[label] - mine[label] for label in before}
        assert participant_counts(self.bob.session.pk) == bob_before
        assert Stimulus.objects.count() == stimuli
        assert not Session.objects.filter(prolific_pid="alice-pid").exists()
        # The erased participant's links are dead.
        assert self.alice.client.get(self.alice.url("trial")).status_code == 404

    def test_a_token_that_starts_with_a_dash_is_read_after_double_dash(self) -> None:
        # Tokens drawn before new_session_token skipped a leading "-" may start with one.
        session = self.bob.refresh()
        Session.objects.filter(pk=session.pk).update(token="-" + session.token[1:])
        out = io.StringIO()
        call_command("participant_data", "--export", "-", "--", "-" + session.token[1:], stdout=out)
        assert json.loads(out.getvalue())["sessions"][0]["session"]["prolific_pid"] == "bob-pid"

    def test_it_refuses_unclear_requests(self) -> None:
        with pytest.raises(CommandError, match="exactly one"):
            call_command("participant_data", "--delete")
        with pytest.raises(CommandError, match="exactly one"):
            call_command("participant_data", self.bob.token, "--prolific-pid", "x", "--delete")
        with pytest.raises(CommandError, match="no participant"):
            call_command("participant_data", "no-such-token", "--delete")
        assert Session.objects.count() == 2


def test_every_table_that_points_at_participant_data_is_covered() -> None:
    """A new model holding participant data must join PARTICIPANT_TABLES (export and erase)."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.many_to_one and field.related_model in PARTICIPANT_TABLES:
                assert model in PARTICIPANT_TABLES, f"{model._meta.label}.{field.name}"
