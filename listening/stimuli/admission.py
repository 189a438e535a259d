"""Admit an uploaded mix or master: the checks the API, the admin and the workspace share.

One function, so the three ways in cannot drift apart: the file decodes and is long
enough (``inspect_original``), is not already in the study, meets the study's source
policy (rate, mono, lossy) and lines up with its track (``check_upload``). Nothing is
stored here; each caller adds its own form checks (role, system, draft) and stores the
file when every check passed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from listening.stimuli.material_checks import check_upload
from listening.stimuli.originals import (
    OriginalInfo,
    check_not_duplicate,
    check_source_policy,
    inspect_original,
    lock_study,
)

if TYPE_CHECKING:
    from listening.models import Track


@dataclass(frozen=True)
class Admitted:
    """What the checks found: the file's facts and the alignments to store."""

    info: OriginalInfo
    #: Alignment fields of the upload (a master aligned to the track's mix).
    alignment: dict[str, Any]
    #: Alignment fields of the track's masters, by pk (a new mix aligned to them).
    master_updates: dict[int, dict[str, Any]]


def admit_upload(track: Track, role: str, path: str | os.PathLike[str], filename: str) -> Admitted:
    """Check an upload for ``track`` before anything is stored; raise ValidationError."""
    study = track.study
    info = inspect_original(path, filename=filename, min_duration=study.excerpt_length)
    # Inside a transaction (the admin's form view) the study's row is held until the
    # row is saved, so the duplicate check stays true; elsewhere save_original_row re-checks.
    lock_study(study.pk)
    check_not_duplicate(study, info)
    check_source_policy(study, info.channels, info.lossy, filename, info.rate)
    alignment, updates = check_upload(track, role, path, filename)
    return Admitted(info=info, alignment=alignment, master_updates=updates)
