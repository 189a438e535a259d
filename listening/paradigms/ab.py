"""AB preference between an AI and a human master, optionally with "no preference"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from listening.paradigms.abx import needs_ai_and_human
from listening.paradigms.base import Paradigm

if TYPE_CHECKING:
    from listening.models import Study, Track


class AbPreference(Paradigm):
    kind = "ab"
    label = "AB preference (which master do listeners prefer?)"

    def validate_track(self, study: Study, track: Track) -> list[str]:
        return super().validate_track(study, track) + needs_ai_and_human(track)
