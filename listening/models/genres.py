"""Genres as data: one spelling per genre within a study, and a length every database enforces.

Tracks are grouped by genre in the analysis (the system x genre model, per-genre tables),
so "Hip-hop", "hip-hop " and "Hip-Hop" must be one genre. A genre is normalised (spaces
collapsed, ends trimmed) and, when another track of the study already has the same genre
in another case, takes that track's spelling. A longer genre than the column holds is
refused with a message everywhere (import, API, admin), not truncated or, on SQLite,
stored over-long.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from listening.models import Study

GENRE_MAX_LENGTH = 50


def normalise_genre(value: str | None) -> str:
    """Collapse runs of white space to one space and trim the ends."""
    return " ".join(str(value or "").split())


def validate_genre(value: str) -> None:
    """Refuse a genre longer than the column or with control characters."""
    text = normalise_genre(value)
    if len(text) > GENRE_MAX_LENGTH:
        raise ValidationError(
            f"genre {text[:20]!r}... has {len(text)} characters; at most {GENRE_MAX_LENGTH} "
            "are allowed",
            code="genre_too_long",
        )
    if any(not ch.isprintable() for ch in text):
        raise ValidationError("genre contains control characters", code="genre_invalid")


def canonical_genre(
    value: str | None, study: Study | None, *, known: list[str] | None = None
) -> str:
    """Return the normalised genre, spelled as another track of ``study`` spells it (or a
    genre in ``known``) when they differ only in case; raise ValidationError if too long."""
    text = normalise_genre(value)
    validate_genre(text)
    if not text:
        return text
    spellings = list(known or [])
    if study is not None and study.pk is not None:
        spellings += list(study.tracks.exclude(genre="").values_list("genre", flat=True))
    folded = text.casefold()
    return next((g for g in spellings if g.casefold() == folded), text)
