"""The checks of a folder import (``manage.py import_study``) before anything is stored.

Every row of the manifest is checked for everything preparation will need: the file, its
role and system, the audio (format, silence, one or two channels, mono and lossy sources
only where the study accepts them), duplicates, the genre, tracks without a mix, each
master's match to its mix (alignment correlation and lag), and that every version covers
the excerpt once aligned. Each problem names its row.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from tqdm import tqdm

from listening.models import Study
from listening.models.genres import canonical_genre
from listening.models.spans import Span, fitted_excerpt, fix_for
from listening.stimuli.manifest import ManifestError, ManifestRow, read_manifest
from listening.stimuli.material_checks import MasterMatch, match_master
from listening.stimuli.originals import OriginalInfo, check_source_policy, inspect_original

ROLES = {"mix", "master"}
SYSTEMS = {"ai", "human"}


@dataclass
class ImportRow(ManifestRow):
    """A manifest row with what its checks found: the file, its audio, its match to the mix."""

    path: Path | None = None
    info: OriginalInfo | None = None
    match: MasterMatch | None = None


def read_rows(manifest: Path, folder: Path) -> list[ImportRow]:
    """The manifest's rows, each file relative to ``folder``; raise ManifestError."""
    with open(manifest, newline="", encoding="utf-8-sig") as f:
        parsed = read_manifest(f, name=str(manifest))
    rows = [ImportRow(**dataclasses.asdict(row)) for row in parsed]
    for row in rows:
        if row.file:
            path = Path(row.file)
            row.path = path if path.is_absolute() else folder / path
    return rows


def check_rows(rows: list[ImportRow], study: Study, *, quiet: bool) -> list[str]:
    """Every problem of the rows, as "row N: ..." in row order (empty: all can be imported)."""
    problems: list[tuple[int, str]] = []
    for row in tqdm(rows, desc="Checking files", unit="file", disable=quiet):
        problems.extend((row.number, p) for p in _check_row(row, study))
    by_sha: dict[str, list[ImportRow]] = defaultdict(list)
    for row in rows:
        if row.info is not None:
            by_sha[row.info.sha256].append(row)
    for same in by_sha.values():
        for row in same[1:]:
            problems.append(
                (row.number, f"{row.file}: the same audio file as row {same[0].number}")
            )
    by_track: dict[str, list[ImportRow]] = defaultdict(list)
    for row in rows:
        if row.track:
            by_track[row.track].append(row)
    for title, track_rows in by_track.items():
        numbers = ", ".join(str(r.number) for r in track_rows)
        mixes = [r for r in track_rows if r.role == "mix"]
        if not mixes:
            problems.append((track_rows[0].number, f"track {title!r} (rows {numbers}) has no mix"))
        for extra in mixes[1:]:
            problems.append(
                (
                    extra.number,
                    f"track {title!r} has a second mix (first in row {mixes[0].number})",
                )
            )
        genres = {r.genre.casefold() for r in track_rows if r.genre}
        if len(genres) > 1:
            problems.append(
                (
                    track_rows[0].number,
                    f"track {title!r} (rows {numbers}) has mismatched genres: "
                    f"{', '.join(sorted({r.genre for r in track_rows if r.genre}))}",
                )
            )
    _canonical_genres(rows, problems)
    if not problems:  # every file is readable: check each master against its mix
        for title, track_rows in by_track.items():
            problems.extend(_match_masters(title, track_rows, quiet))
    return [f"row {n}: {p}" for n, p in sorted(problems, key=lambda item: item[0])]


def _check_row(row: ImportRow, study: Study) -> list[str]:
    problems = []
    if not row.track:
        problems.append("no track name")
    if row.role not in ROLES:
        problems.append(f"role {row.role!r} must be mix or master")
    elif row.role == "mix" and row.system not in ("", "none"):
        problems.append(f"system {row.system!r}: a mix has no mastering system (leave empty)")
    elif row.role == "master" and row.system not in SYSTEMS:
        problems.append(f"system {row.system!r} must be ai or human for a master")
    if row.path is None:
        problems.append("no file given")
    elif not row.path.is_file():
        problems.append(f"{row.file}: no such file")
    else:
        try:
            # Length is checked against the excerpt once aligned (fit_excerpt).
            row.info = inspect_original(row.path, filename=row.path.name)
            check_source_policy(
                study, row.info.channels, row.info.lossy, row.path.name, row.info.rate
            )
        except ValidationError as exc:
            problems.extend(exc.messages)
    return problems


def _canonical_genres(rows: list[ImportRow], problems: list[tuple[int, str]]) -> None:
    """One spelling per genre across the manifest (the first row's), length-checked."""
    known: list[str] = []
    for row in rows:
        try:
            row.genre = canonical_genre(row.genre, None, known=known)
        except ValidationError as exc:
            problems.extend((row.number, m) for m in exc.messages)
            continue
        if row.genre and row.genre not in known:
            known.append(row.genre)


def _match_masters(title: str, rows: list[ImportRow], quiet: bool) -> list[tuple[int, str]]:
    """Align every master of a track with its mix, as preparation will."""
    from analysis.errors import AnalysisError
    from analysis.io import read_audio

    mix = next(r for r in rows if r.role == "mix")
    masters = [r for r in rows if r.role == "master"]
    if not masters or mix.path is None:
        return []
    problems: list[tuple[int, str]] = []
    mix_audio = read_audio(mix.path)
    for row in tqdm(masters, desc=f"Aligning {title}", unit="file", disable=quiet):
        try:
            if row.path is None:
                raise ManifestError(f"row {row.number} has no file")
            row.match = match_master(
                read_audio(row.path),
                mix_audio,
                name=row.file,
                mix_name=f"{mix.file} (row {mix.number})",
            )
        except (ValidationError, AnalysisError) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            problems.extend((row.number, m) for m in messages)
    return problems


def fit_excerpt(
    rows: list[ImportRow], study: Study, *, keep_start: bool, keep_length: bool
) -> tuple[list[str], str]:
    """Check the excerpt against every track's shared span; adapt what was not given.

    Return the problems (the excerpt cannot fit) and a notice for the researcher when the
    study's excerpt was moved to fit (empty when it was not).
    """
    spans: dict[str, tuple[Span, list[int]]] = {}
    for row in rows:
        if row.info is None:
            continue
        own = row.match.span if row.match is not None else Span(0.0, row.info.duration)
        span, numbers = spans.get(row.track, (Span(0.0, float("inf")), []))
        spans[row.track] = (span & own, [*numbers, row.number])
    start, length = study.excerpt_start, study.excerpt_length
    shortest = min(spans.items(), key=lambda item: item[1][0].length)
    title, (span, numbers) = shortest
    where = f"track {title!r} (rows {', '.join(map(str, numbers))})"
    misfits = [t for t, (s, _) in spans.items() if not s.covers(start, length)]
    if not misfits:
        return [], ""
    if not (keep_start and keep_length):
        common = Span(0.0, float("inf"))
        for s, _ in spans.values():
            common = common & s
        fitted = fitted_excerpt(
            common, start, length, keep_start=keep_start, keep_length=keep_length
        )
        if fitted is not None:
            study.excerpt_start, study.excerpt_length = fitted
            return [], (
                f"The excerpt {start:g}-{start + length:g} s does not fit {where}, "
                f"whose versions share {span.describe()} of the mix; using "
                f"{fitted[0]:g}-{fitted[0] + fitted[1]:g} s instead (--excerpt-start, "
                "--excerpt-length to choose)."
            )
    return [
        f"rows {', '.join(map(str, spans[t][1]))}: the excerpt {start:g}-{start + length:g} "
        f"s does not fit track {t!r}: its versions share only {spans[t][0].describe()} of "
        f"the mix's timeline once aligned; {fix_for(spans[t][0], start, length)} "
        "(--excerpt-start, --excerpt-length)"
        for t in misfits
    ], ""
