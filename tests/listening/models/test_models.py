"""Model rules: access, database constraints, fingerprints and progress."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from listening.models import Condition, Rating, Session, Stimulus, Study, Trial
from listening.models.paradigm_kinds import PARADIGM_CHOICES
from listening.participant.paradigms import PARADIGMS
from tests.listening.base import BaseTestCase


class StudyModelTestCase(BaseTestCase):
    def test_it_scopes_studies_to_owner_and_collaborators(self) -> None:
        Study.objects.create(owner=self.outsider, title="Other")
        assert list(Study.objects.for_user(self.researcher)) == [self.study]
        assert list(Study.objects.for_user(self.collaborator)) == [self.study]
        assert [s.title for s in Study.objects.for_user(self.outsider)] == ["Other"]

    def test_it_derives_paradigm_choices_from_the_registry(self) -> None:
        field = Study._meta.get_field("paradigm")
        assert [c[0] for c in field.choices] == list(PARADIGMS)
        assert PARADIGM_CHOICES[0][0] == "mushra"

    def test_it_gives_every_study_an_unguessable_participant_token(self) -> None:
        other = Study.objects.create(owner=self.researcher, title="Other")
        assert other.public_token != self.study.public_token
        assert len(other.public_token) >= 22  # 128 bits, URL-safe
        assert other.participant_path() == f"/s/{other.public_token}/"

    def test_it_enforces_study_ranges_in_the_database(self) -> None:
        for field, value in (
            ("loudness_target_lufs", 5.0),
            ("excerpt_length", 0.0),
            ("abx_repetitions", 0),
            ("true_peak_ceiling_dbtp", 1.0),
        ):
            with self.subTest(field=field), transaction.atomic(), pytest.raises(IntegrityError):
                Study.objects.filter(pk=self.study.pk).update(**{field: value})

    def test_it_changes_the_fingerprint_with_every_preparation_setting(self) -> None:
        track = self.add_track()
        seen = {track.fingerprint()}
        for field, value in (
            ("loudness_target_lufs", -16.0),
            ("true_peak_ceiling_dbtp", -2.0),
            ("sample_rate", 44100),
            ("excerpt_start", 1.0),
            ("excerpt_length", 8.0),
            ("fade_ms", 5.0),
            ("anchors", False),
        ):
            setattr(track.study, field, value)
            seen.add(track.fingerprint())
        assert len(seen) == 8
        track.study.instructions = "Instructions do not change the audio."
        assert track.fingerprint() in seen


class StimulusModelTestCase(BaseTestCase):
    def test_it_allows_one_mix_per_track(self) -> None:
        track = self.add_track()
        Stimulus.objects.create(track=track, role="mix", system="none")
        with pytest.raises(IntegrityError):
            Stimulus.objects.create(track=track, role="mix", system="none")

    def test_it_matches_role_and_system(self) -> None:
        track = self.add_track()
        for role, system in (("mix", "ai"), ("master", "none"), ("anchor", "none")):
            with self.subTest(role=role), transaction.atomic(), pytest.raises(IntegrityError):
                Stimulus.objects.create(track=track, role=role, system=system)

    def test_it_stores_a_file_once_per_track(self) -> None:
        track = self.add_track()
        Stimulus.objects.create(track=track, role="mix", system="none", original_sha256="a" * 64)
        with pytest.raises(IntegrityError):
            Stimulus.objects.create(
                track=track, role="master", system="ai", original_sha256="a" * 64
            )


class ResponseModelTestCase(BaseTestCase):
    def test_it_keeps_scores_in_0_to_100_and_one_rating_per_attribute(self) -> None:
        track = self.add_track()
        stimulus = Stimulus.objects.create(track=track, role="mix", system="none")
        session = Session.objects.create(study=self.study)
        trial = Trial.objects.create(session=session, position=0, track=track, kind="mushra")
        condition = Condition.objects.create(trial=trial, stimulus=stimulus, position=0)
        assert len(condition.key) >= 32
        assert len(session.token) >= 43
        Rating.objects.create(trial=trial, condition=condition, attribute="clarity", score=100)
        with transaction.atomic(), pytest.raises(IntegrityError):
            Rating.objects.create(trial=trial, condition=condition, attribute="clarity", score=50)
        with transaction.atomic(), pytest.raises(IntegrityError):
            Rating.objects.create(trial=trial, condition=condition, attribute="loudness", score=101)
