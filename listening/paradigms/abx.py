"""ABX discrimination between an AI and a human master (X drawn on the server)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from listening.paradigms.base import Paradigm, count_systems

if TYPE_CHECKING:
    from listening.models import Study, Track


class Abx(Paradigm):
    kind = "abx"
    label = "ABX (can listeners tell the AI master from the human master?)"

    def validate_study(self, study: Study) -> list[str]:
        if study.abx_repetitions < 1:
            return [f"ABX repetitions per pair is {study.abx_repetitions}; it must be at least 1"]
        return []

    def validate_track(self, study: Study, track: Track) -> list[str]:
        return super().validate_track(study, track) + needs_ai_and_human(track)


def needs_ai_and_human(track: Track) -> list[str]:
    """Pairwise paradigms compare an AI master with a human master of the same track."""
    counts = count_systems(track)
    problems = []
    if not counts.get("ai"):
        problems.append("has no AI master (pairs compare an AI master with a human one)")
    if not counts.get("human"):
        problems.append("has no human master (pairs compare an AI master with a human one)")
    return problems
