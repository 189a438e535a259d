"""The study validation each paradigm needs before a study may open."""

from __future__ import annotations

from listening.models import Stimulus, Study, Track
from listening.participant.paradigms import get_paradigm
from tests.listening.base import BaseTestCase


class ParadigmValidationTestCase(BaseTestCase):
    def make_track(self, *systems: str, mix: bool = True) -> Track:
        track = self.add_track(f"Track {Track.objects.count() + 1}")
        if mix:
            Stimulus.objects.create(track=track, role="mix", system="none")
        for system in systems:
            Stimulus.objects.create(track=track, role="master", system=system)
        return track

    def problems(self, paradigm: str, **settings: object) -> list[str]:
        for name, value in settings.items():
            setattr(self.study, name, value)
        self.study.paradigm = paradigm
        return get_paradigm(paradigm).validate(self.study)

    def test_it_needs_tracks(self) -> None:
        assert self.problems("mushra") == ["the study has no tracks"]

    def test_it_needs_a_mix_on_every_track(self) -> None:
        self.make_track("ai", "human", mix=False)
        for paradigm in ("mushra", "abx", "ab"):
            assert (
                "track 'Track 1': has no mix (every track needs its unmastered mix)"
                in self.problems(paradigm)
            )

    def test_it_needs_an_ai_and_a_human_master_for_pairwise_paradigms(self) -> None:
        self.make_track("ai", "ai")
        for paradigm in ("abx", "ab"):
            assert self.problems(paradigm) == [
                "track 'Track 1': has no human master (pairs compare an AI master with a human one)"
            ]
        assert self.problems("mushra") == []

    def test_it_resolves_a_mushra_master_reference(self) -> None:
        track = self.make_track("ai", "human")
        assert self.problems("mushra", reference_mode=Study.ReferenceMode.MASTER) == []
        track = self.study.tracks.get(pk=track.pk)
        assert track.reference == track.masters[1]  # the single human master
        Stimulus.objects.create(track=track, role="master", system="human")
        problems = self.problems("mushra", reference_mode=Study.ReferenceMode.MASTER)
        assert "choose the reference master" in problems[0]
        track.reference_master = track.masters[0]
        track.save()
        assert self.problems("mushra", reference_mode=Study.ReferenceMode.MASTER) == []

    def test_it_limits_items_on_a_mushra_page(self) -> None:
        self.make_track(*["ai"] * 10)  # mix + 10 masters + 2 anchors = 13
        problems = self.problems("mushra")
        assert len(problems) == 1
        assert "would show 13 items on one page" in problems[0]
        assert self.problems("mushra", anchors=False) == []

    def test_it_needs_attributes_for_mushra(self) -> None:
        self.make_track("ai", "human")
        assert self.problems("mushra", attributes=[]) == [
            "MUSHRA needs at least one attribute to rate"
        ]


def test_the_registry_offers_exactly_the_kinds_the_models_accept() -> None:
    from listening.models.paradigm_kinds import PARADIGM_CHOICES, PARADIGM_LABELS
    from listening.participant.paradigms import PARADIGMS

    assert list(PARADIGMS) == list(PARADIGM_LABELS)
    assert [(kind, cls.label) for kind, cls in PARADIGMS.items()] == PARADIGM_CHOICES
