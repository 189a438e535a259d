"""The registry of test paradigms: one module each.

Their names and labels (the model field's choices) are in listening.models.paradigm_kinds.
"""

from __future__ import annotations

from listening.participant.paradigms.ab import AbPreference
from listening.participant.paradigms.abx import Abx
from listening.participant.paradigms.base import Paradigm
from listening.participant.paradigms.mushra import Mushra

PARADIGMS: dict[str, type[Paradigm]] = {
    Mushra.kind: Mushra,
    Abx.kind: Abx,
    AbPreference.kind: AbPreference,
}


def get_paradigm(kind: str) -> Paradigm:
    """Return the handler of a paradigm kind (``"mushra"``, ``"abx"``, ``"ab"``)."""
    try:
        return PARADIGMS[kind]()
    except KeyError:
        raise ValueError(f"paradigm={kind!r} must be one of {sorted(PARADIGMS)}") from None


__all__ = ["PARADIGMS", "Paradigm", "get_paradigm"]
