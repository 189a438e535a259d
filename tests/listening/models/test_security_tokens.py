"""Participant tokens and audio keys: long, random, from a URL-safe alphabet, not enumerable."""

from __future__ import annotations

import math
import re
import secrets

from django.core.cache import cache
from django.test import Client

from listening.models import Condition, Session
from listening.models.session import new_session_token
from listening.models.study import new_public_token
from listening.models.trial import new_condition_key
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def bits(token: str) -> float:
    """Entropy of a token_urlsafe value: 6 bits per base64url character."""
    return len(token) * math.log2(64)


class TokenTestCase(ParticipantTestCase):
    study_options = {"screening": {"tests": []}}  # noqa: RUF012

    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def test_generated_tokens_carry_at_least_128_bits(self) -> None:
        for make in (new_session_token, new_condition_key, new_public_token):
            tokens = {make() for _ in range(1000)}
            assert len(tokens) == 1000, make
            for token in tokens:
                assert URLSAFE.match(token), token
                assert bits(token) >= 128, (make, token)

    def test_session_tokens_never_start_with_a_dash(self) -> None:
        # A leading "-" reads as an option on a command line (manage.py participant_data).
        # Old: 1 token in 64; 5,000 draws would hold one with probability 1 - 1e-34.
        first = {new_session_token()[0] for _ in range(5000)}
        assert "-" not in first
        assert first == set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")

    def test_stored_tokens_are_the_generated_kind(self) -> None:
        Participant(self.open_study, self.client).to_training()
        session = Session.objects.get()
        assert bits(session.token) >= 256
        assert URLSAFE.match(session.token)
        assert bits(self.open_study.public_token) >= 128
        keys = list(Condition.objects.values_list("key", flat=True))
        assert keys
        assert all(bits(k) >= 192 and URLSAFE.match(k) for k in keys)

    def test_participant_urls_never_use_sequential_ids(self) -> None:
        participant = Participant(self.open_study, self.client)
        response = participant.start()
        session = participant.refresh()
        assert response["Location"] == f"/p/{session.token}/consent"
        assert str(session.pk) not in response["Location"].split("/")
        assert str(self.open_study.pk) not in self.open_study.participant_path().split("/")

    def test_random_well_formed_tokens_all_give_404(self) -> None:
        Participant(self.open_study, Client()).to_training()  # a real session exists
        client = Client()
        statuses = set()
        for _ in range(1000):
            token = secrets.token_urlsafe(32)
            statuses.add(client.get(f"/p/{token}/").status_code)
        for _ in range(200):
            statuses.add(client.get(f"/a/{secrets.token_urlsafe(24)}").status_code)
            statuses.add(client.get(f"/s/{secrets.token_urlsafe(16)}/").status_code)
            statuses.add(
                client.post(
                    f"/p/{secrets.token_urlsafe(32)}/answers", "{}", content_type="application/json"
                ).status_code
            )
        assert statuses == {404}

    def test_audio_keys_need_the_owning_session(self) -> None:
        victim = Participant(self.open_study, Client())
        victim.to_training()
        key = victim.trial_data("training")["conditions"][0]["key"]
        assert victim.client.get(f"/a/{key}").status_code == 200
        attacker = Participant(self.open_study, Client())
        attacker.start()
        assert attacker.client.get(f"/a/{key}").status_code == 404
        assert Client().get(f"/a/{key}").status_code == 404
