"""What every test paradigm provides: a kind, a label and the study checks it needs.

Trial generation and response validation live on the same classes (participant side).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from listening.models import Study, Track


class Paradigm:
    """Base class of a listening-test paradigm (one module per paradigm)."""

    kind: ClassVar[str]
    label: ClassVar[str]

    def validate(self, study: Study) -> list[str]:
        """Return every reason the study's material cannot run this paradigm."""
        problems = self.validate_study(study)
        tracks = list(study.tracks.prefetch_related("stimuli"))
        if not tracks:
            problems.append("the study has no tracks")
        for track in tracks:
            problems.extend(
                f"track {track.title!r}: {p}" for p in self.validate_track(study, track)
            )
        return problems

    def validate_study(self, study: Study) -> list[str]:
        """Check the study-wide settings this paradigm depends on."""
        return []

    def validate_track(self, study: Study, track: Track) -> list[str]:
        """Check that one track has every version this paradigm plays."""
        problems = []
        if track.mix is None:
            problems.append("has no mix (every track needs its unmastered mix)")
        return problems


def count_systems(track: Track) -> dict[str, int]:
    """Count the masters of a track per system (ai, human)."""
    counts: dict[str, int] = {}
    for stimulus in track.masters:
        counts[stimulus.system] = counts.get(stimulus.system, 0) + 1
    return counts
