"""MUSHRA (ITU-R BS.1534-3), with or without a reference (BS.2132 style)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from listening.paradigms.base import Paradigm

if TYPE_CHECKING:
    from listening.models import Study, Track

#: BS.1534-3 advises few items per screen to limit fatigue (hidden reference and anchors count).
MAX_ITEMS_PER_PAGE = 12


class Mushra(Paradigm):
    kind = "mushra"
    label = "MUSHRA (multi-stimulus rating, ITU-R BS.1534-3 / BS.2132)"

    def validate_study(self, study: Study) -> list[str]:
        problems = []
        attributes = study.attributes
        if not isinstance(attributes, list) or not attributes:
            problems.append("MUSHRA needs at least one attribute to rate")
        return problems

    def validate_track(self, study: Study, track: Track) -> list[str]:
        problems = super().validate_track(study, track)
        masters = track.masters
        if not masters:
            problems.append("has no master to rate")
        if study.reference_mode != study.ReferenceMode.NONE and track.reference is None:
            if study.reference_mode == study.ReferenceMode.MASTER:
                problems.append(
                    "the study uses a master as reference: choose the reference master of this "
                    "track (it has no single human master to use by default)"
                )
            else:
                problems.append("the study uses the mix as reference, but the track has no mix")
        items = len(masters) + (1 if track.mix is not None else 0)
        if study.anchors:
            items += len(study.anchor_cutoffs)
        if items > MAX_ITEMS_PER_PAGE:
            problems.append(
                f"would show {items} items on one page; BS.1534-3 advises at most "
                f"{MAX_ITEMS_PER_PAGE} (hidden reference and anchors included)"
            )
        if items < 2:
            problems.append("needs at least two items to rate")
        return problems
