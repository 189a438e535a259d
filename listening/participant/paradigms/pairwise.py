"""What the pairwise paradigms (AB preference, ABX) share: an AI master against a human one.

Each pair is an AI master and a human master of the same track, its sides in the plan's
order; a track without both cannot run a pairwise paradigm.
"""

from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING, Any, ClassVar

from listening.participant.paradigms.base import Paradigm, count_systems, ready_stimuli

if TYPE_CHECKING:
    from collections.abc import Sequence
    from random import Random

    from listening.models import Stimulus, Study, Track, Trial


class Pairwise(Paradigm):
    """A paradigm whose trials compare one AI master with one human master of a track."""

    #: What the page says above a rated trial and above the training trial.
    trial_instructions: ClassVar[Any]
    training_instructions: ClassVar[Any]

    def validate_track(self, study: Study, track: Track) -> list[str]:
        return super().validate_track(study, track) + needs_ai_and_human(track)

    def plan_items(self, study: Study, track: Track) -> list[int]:
        return [s.pk for s in ready_stimuli(track) if s.role == "master"]

    def training_pair(
        self, track: Track, items: Sequence[int], rng: Random
    ) -> tuple[Stimulus, Stimulus]:
        """The training trial's pair: the plan's first, its sides drawn at random."""
        a, b = pairs(track, items)[0]
        return (b, a) if rng.random() < 0.5 else (a, b)

    def instructions(self, trial: Trial) -> str:
        return str(self.training_instructions if trial.is_training else self.trial_instructions)


def pairs(track: Track, order: Sequence[int]) -> list[tuple[Stimulus, Stimulus]]:
    """Each AI master with each human master of the track, sides in the plan's order."""
    stimuli = {s.pk: s for s in ready_stimuli(track)}
    rank = {pk: i for i, pk in enumerate(order)}
    chosen = [stimuli[pk] for pk in order if pk in stimuli]
    ais = [s for s in chosen if s.system == "ai"]
    humans = [s for s in chosen if s.system == "human"]
    result = []
    for ai, human in product(ais, humans):
        first, second = sorted((ai, human), key=lambda s: rank[s.pk])
        result.append((first, second))
    return result


def needs_ai_and_human(track: Track) -> list[str]:
    """Pairwise paradigms compare an AI master with a human master of the same track."""
    counts = count_systems(track)
    problems = []
    if not counts.get("ai"):
        problems.append("has no AI master (pairs compare an AI master with a human one)")
    if not counts.get("human"):
        problems.append("has no human master (pairs compare an AI master with a human one)")
    return problems
