"""Tidy exports of a study's results: ratings, answers, stimuli and sessions.

Every table is long format, one row per observation, with the column names that
:mod:`analysis.stats` reads, so ``pandas.read_csv`` + ``analyse_study`` work on it
directly (and R's ``read.csv`` and pingouin likewise). Rows are read with
``values_list(...).iterator(chunk_size=...)`` and written out chunk by chunk, so a
study of 500,000 ratings streams in constant memory. Everything one export writes is
read inside one transaction, a consistent snapshot (see :func:`snapshot`).

Simulated sessions (``manage.py simulate_participants``) carry ``simulated=True`` on
every row that comes from them.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.db import connections, transaction
from django.db.models import CharField, Count, OuterRef, Q, Subquery
from django.db.models.functions import Cast
from django.http import FileResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from listening.models import (
    AbxAnswer,
    Condition,
    PreferenceAnswer,
    Rating,
    Session,
    Stimulus,
    Study,
)

CHUNK_SIZE = 2000

# -- column documentation (also the README of the results bundle) -------------------------------

_PARTICIPANT = {
    "session": "Session id (one participant visit); joins the sessions table.",
    "participant": "Participant external id: the Prolific PID, else `session-<session id>`.",
    "track": "Track title (unique within the study).",
    "genre": "Genre of the track.",
}
_TRIAL_TIMES = {
    "trial_started_at": "When the trial page was first shown (ISO 8601, UTC).",
    "trial_completed_at": "When the trial was submitted (ISO 8601, UTC).",
    "simulated": "True for rows of simulated participants (never real data).",
}
RATING_COLUMNS: dict[str, str] = {
    **_PARTICIPANT,
    "stimulus": "Stimulus id of the rated version; joins the stimuli table.",
    "role": "Role of the stimulus: mix, master or anchor.",
    "condition_role": "Role in the trial: test, hidden_reference or anchor.",
    "condition_kind": "What analysis.stats groups by: hidden_reference, anchor_<cutoff Hz> "
    "(anchor_3500, anchor_7000), mix, or system (a master under test).",
    "system": "System of the stimulus: ai, human, or none (mix and anchors). A master that "
    "plays as the hidden reference keeps its system; its condition_kind is hidden_reference.",
    "provider": "Who made the master (e.g. a service or an engineer); empty otherwise.",
    "attribute": "The rated attribute, as the study names it.",
    "score": "Rating, 0..100 (the final value after any changes).",
    "trial_position": "Position of the trial in the participant's sequence (1 = first rated).",
    "condition_position": "Position of the condition on the page (1 = A, 2 = B, ...).",
    "changes": "How many times the participant saved this rating.",
    "first_rated_at": "When the rating was first saved (ISO 8601, UTC).",
    "rated_at": "When the rating was last changed (ISO 8601, UTC).",
    **_TRIAL_TIMES,
}
_PAIR = {
    "trial_position": "Position of the trial in the participant's sequence (1 = first rated).",
    "a_stimulus": "Stimulus id played as A.",
    "a_system": "System of A (ai, human).",
    "a_provider": "Provider of A.",
    "b_stimulus": "Stimulus id played as B.",
    "b_system": "System of B.",
    "b_provider": "Provider of B.",
}
ABX_COLUMNS: dict[str, str] = {
    **_PARTICIPANT,
    "pair": "The systems compared, sorted and joined by `|` (e.g. ai|human).",
    "repetition": "Repetition of this pair for this participant (0-based).",
    **_PAIR,
    "x_stimulus": "Stimulus id that X played.",
    "x_system": "System X played.",
    "x_position": "Which side X was: A or B.",
    "answer_position": "The participant's answer: A or B.",
    "answer_system": "System of the side the participant chose.",
    "correct": "True when the answer named the side X was.",
    "response_ms": "Milliseconds from showing the trial to the (last) answer.",
    "answered_at": "When the answer was given (ISO 8601, UTC).",
    **_TRIAL_TIMES,
}
PREFERENCE_COLUMNS: dict[str, str] = {
    **_PARTICIPANT,
    "attribute": "The attribute the preference is about.",
    **_PAIR,
    "choice_system": "System of the preferred version, or `none` for no preference.",
    "choice_position": "A or B; empty for no preference.",
    "no_preference": "True when the participant had no preference.",
    "position_of_ai": "Where the AI master played: A, B, or empty when neither is AI.",
    "response_ms": "Milliseconds from showing the trial to the (last) answer.",
    "changes": "How many times the participant saved this answer.",
    "answered_at": "When the answer was last saved (ISO 8601, UTC).",
    **_TRIAL_TIMES,
}
STIMULUS_COLUMNS: dict[str, str] = {
    "stimulus": "Stimulus id.",
    "track": "Track title.",
    "genre": "Genre of the track.",
    "role": "mix, master or anchor.",
    "system": "ai, human, or none (mix and anchors).",
    "provider": "Who made the master.",
    "anchor_cutoff_hz": "Low-pass cutoff of an anchor, Hz.",
    "original_filename": "File name of the upload.",
    "original_format": "Container format of the upload (e.g. WAV, FLAC).",
    "original_subtype": "Sample format of the upload (e.g. PCM_24).",
    "original_rate": "Sample rate of the upload, Hz.",
    "original_channels": "Channels of the upload.",
    "original_duration": "Duration of the upload, s.",
    "original_lossy": "True when the upload was lossy-coded.",
    "mono_source": "True when the version was made from a mono upload (accepted by the "
    "study's accept_mono): it plays as dual mono, without the width of a stereo version.",
    "lossy_source": "True when the version was made from a lossy-coded upload (accepted by "
    "the study's accept_lossy): codec artefacts are part of what listeners hear.",
    "status": "Preparation status: pending, processing, ready or failed.",
    "prepared_rate": "Sample rate of the prepared excerpt, Hz.",
    "prepared_frames": "Frames of the prepared excerpt.",
    "excerpt_loudness_lufs": "Integrated loudness of the excerpt before gain, LUFS.",
    "gain_db": "Gain applied to the excerpt, dB.",
    "true_peak_dbtp": "True peak of the prepared file (BS.1770-4, 4x oversampling), dBTP.",
    "true_peak_oversampled_dbtp": "True peak of the prepared file at 32x oversampling, dBTP.",
    "playback_loudness_lufs": "Integrated loudness of the prepared file, LUFS.",
    "alignment_lag": "Samples at the master's own rate: master[n + lag] = mix[n].",
    "alignment_polarity": "+1, or -1 when the master is polarity-inverted.",
    "alignment_correlation": "Peak correlation of the alignment.",
    "metrics_version": "Version of analysis.metrics.measure that measured the metrics.",
    "metrics_error": "Why the metrics could not be measured, if they could not.",
}
METRICS_NOTE = (
    "Then one column per objective metric of analysis.metrics.measure (masters against their "
    "mix, on the full delivered audio; empty for mixes and anchors), e.g. integrated, "
    "true_peak, loudness_range, plr, psr, dr_value, lp_spotify, dm, median_csdr, hfd, it, "
    "stoi, wsc, centroid_hz, tilt_db_per_octave, ber; the metric keys are defined in "
    "docs/metrics.md and the README (Metric keys)."
)
SESSION_COLUMNS: dict[str, str] = {
    "session": "Session id.",
    "participant": "Participant external id: the Prolific PID, else `session-<session id>`.",
    "prolific_pid": "Prolific participant id (empty when not recruited through Prolific).",
    "prolific_study_id": "Prolific study id.",
    "prolific_session_id": "Prolific session id.",
    "state": "Where the session is: consent, questionnaire, calibration, screening, training, "
    "trials, final, complete, screened_out, declined or withdrawn.",
    "simulated": "True for simulated participants (never real data).",
    "started_at": "When the session started (ISO 8601, UTC).",
    "consent_at": "When consent was given.",
    "calibrated_at": "When the volume calibration was confirmed.",
    "completed_at": "When the final questionnaire was submitted.",
    "ended_at": "When the session finished, however it finished.",
    "last_seen_at": "Last activity.",
    "duration_s": "Seconds from start to end (empty while unfinished).",
    "trials_planned": "Rated trials drawn for this participant.",
    "trials_done": "Rated trials submitted.",
    "screening_passed": "Outcome of the headphone screening (empty when not taken).",
    "screening_attempts": "Screening attempts taken.",
    "screening_scores": "Scores of the last attempt per test, as JSON.",
    "language": "The language of the participant's pages (en, de, es), chosen when the session "
    "started (empty for sessions older than the choice).",
}
QUESTIONNAIRE_NOTE = (
    "Then one column per questionnaire answer: `q_<field name>` for the questionnaire "
    "before the trials and `final_<field name>` for the one after them."
)
WEBMUSHRA_COLUMNS: dict[str, str] = {
    "session_test_id": "webMUSHRA test id: `study-<study id>`.",
    "session_uuid": "A stable UUID per session (derived from the study and session ids).",
    "trial_id": "webMUSHRA trial: one track rated on one attribute, `<track>__<attribute>` "
    "(slugs), since a webMUSHRA page rates one scale.",
    "rating_stimulus": "webMUSHRA stimulus name: `reference` (the hidden reference), "
    "`anchor35` / `anchor70` (3.5 / 7 kHz anchors), `mix`, or the master's system and "
    "provider (`ai_landr`, `human_eng-1`; just the system when there is no provider).",
    "rating_score": "Rating, 0..100.",
    "rating_time": "Milliseconds the participant spent on the trial page.",
    "rating_comment": "Always empty (the platform collects no per-trial comments).",
    "participant": "Participant external id (extra column).",
    "attribute": "The rated attribute (extra column).",
    "simulated": "True for simulated participants (extra column).",
}

#: The tidy tables, in bundle order, with their documented columns and a note on extra ones.
TABLES: dict[str, tuple[dict[str, str], str]] = {
    "ratings": (RATING_COLUMNS, ""),
    "abx": (ABX_COLUMNS, ""),
    "preferences": (PREFERENCE_COLUMNS, ""),
    "stimuli": (STIMULUS_COLUMNS, METRICS_NOTE),
    "sessions": (SESSION_COLUMNS, QUESTIONNAIRE_NOTE),
}

Rows = tuple[list[str], Iterator[Sequence[Any]]]


# -- snapshot -------------------------------------------------------------------------------------


@contextmanager
def snapshot(using: str = "default") -> Iterator[None]:
    """Read everything inside one transaction, so an export is one consistent state.

    PostgreSQL runs it at REPEATABLE READ, READ ONLY. SQLite gives a transaction a
    snapshot at its first read (WAL); it is begun DEFERRED rather than with the
    project's IMMEDIATE mode, so a long export does not hold the write lock and
    participants can keep saving answers meanwhile.
    """
    connection = connections[using]
    outermost = not connection.in_atomic_block
    if connection.vendor == "sqlite" and outermost:
        connection.ensure_connection()
        mode = getattr(connection, "transaction_mode", None)
        connection.transaction_mode = "DEFERRED"  # type: ignore[attr-defined]
        try:
            with transaction.atomic(using=using):
                connection.transaction_mode = mode  # type: ignore[attr-defined]
                yield
        finally:
            connection.transaction_mode = mode  # type: ignore[attr-defined]
        return
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


# -- row builders -------------------------------------------------------------------------------


def participant_label(session_id: int, prolific_pid: str) -> str:
    return prolific_pid or f"session-{session_id}"


def condition_kind(condition_role: str, stimulus_role: str, cutoff: float | None) -> str:
    """Name what a rated condition is, as :mod:`analysis.stats` expects it."""
    if condition_role == Condition.Role.HIDDEN_REFERENCE:
        return "hidden_reference"
    if stimulus_role == Stimulus.Role.ANCHOR:
        return f"anchor_{round(cutoff or 0)}"
    if stimulus_role == Stimulus.Role.MIX:
        return "mix"
    return "system"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _side(position: int | None) -> str:
    return {0: "A", 1: "B"}.get(position if position is not None else -1, "")


def _as_text(*fields: str) -> dict[str, Cast]:
    """Read datetimes as the database's text: converting 500,000 of them costs seconds."""
    return {f"{f.replace('__', '_')}_text": Cast(f, output_field=CharField()) for f in fields}


def _iso_text(value: str | None) -> str | None:
    """Turn a UTC timestamp as SQLite or PostgreSQL print it into ISO 8601 with offset."""
    if not value:
        return None
    value = value.replace(" ", "T", 1)
    if value.endswith("+00"):  # PostgreSQL's short offset
        return value + ":00"
    return value if value.endswith("+00:00") else value + "+00:00"


_RATING_TIMES = ("created_at", "updated_at", "trial__started_at", "trial__completed_at")


def rating_rows(study: Study) -> Rows:
    """One row per MUSHRA rating (training excluded); columns :data:`RATING_COLUMNS`."""
    times = _as_text(*_RATING_TIMES)
    # Ordered by the unique (trial, condition, attribute) index: no sort over the whole table.
    query = (
        Rating.objects.filter(trial__session__study=study, trial__is_training=False)
        .annotate(**times)
        .order_by("trial_id", "condition_id", "attribute")
        .values_list(
            "trial__session_id",
            "trial__session__prolific_pid",
            "trial__track__title",
            "trial__track__genre",
            "condition__stimulus_id",
            "condition__stimulus__role",
            "condition__role",
            "condition__stimulus__anchor_cutoff_hz",
            "condition__stimulus__system",
            "condition__stimulus__provider",
            "attribute",
            "score",
            "trial__position",
            "condition__position",
            "changes",
            *times,
            "trial__session__simulated",
        )
    )

    def rows() -> Iterator[Sequence[Any]]:
        for (
            session, pid, track, genre, stimulus, role, c_role, cutoff, system, provider,
            attribute, score, t_pos, c_pos, changes, created, updated, started, completed, sim,
        ) in query.iterator(chunk_size=CHUNK_SIZE):  # fmt: skip
            yield (
                session,
                participant_label(session, pid),
                track,
                genre,
                stimulus,
                role,
                c_role,
                condition_kind(c_role, role, cutoff),
                system,
                provider,
                attribute,
                score,
                t_pos,
                c_pos + 1,
                changes,
                _iso_text(created),
                _iso_text(updated),
                _iso_text(started),
                _iso_text(completed),
                sim,
            )

    return list(RATING_COLUMNS), rows()


def _pair_annotations() -> dict[str, Subquery]:
    """The A (position 0) and B (position 1) versions of a pairwise trial."""
    annotations = {}
    for side, position in (("a", 0), ("b", 1)):
        condition = Condition.objects.filter(trial=OuterRef("trial"), position=position)
        for name, field in (
            ("stimulus", "stimulus_id"),
            ("system", "stimulus__system"),
            ("provider", "stimulus__provider"),
        ):
            annotations[f"{side}_{name}"] = Subquery(condition.values(field)[:1])
    return annotations


_PAIR_FIELDS = ("a_stimulus", "a_system", "a_provider", "b_stimulus", "b_system", "b_provider")
_TRIAL_FIELDS = (
    "trial__session_id",
    "trial__session__prolific_pid",
    "trial__track__title",
    "trial__track__genre",
)


def abx_rows(study: Study) -> Rows:
    """One row per answered ABX repetition; columns :data:`ABX_COLUMNS`."""
    query = (
        AbxAnswer.objects.filter(
            trial__session__study=study, trial__is_training=False, answer__isnull=False
        )
        .annotate(**_pair_annotations())
        .order_by("trial_id", "repetition")
        .values_list(
            *_TRIAL_FIELDS,
            "repetition",
            "trial__position",
            *_PAIR_FIELDS,
            "x_is__stimulus_id",
            "x_is__stimulus__system",
            "x_is__position",
            "answer__position",
            "answer__stimulus__system",
            "correct",
            "response_ms",
            "answered_at",
            "trial__started_at",
            "trial__completed_at",
            "trial__session__simulated",
        )
    )

    def rows() -> Iterator[Sequence[Any]]:
        for row in query.iterator(chunk_size=CHUNK_SIZE):
            session, pid, track, genre, repetition, t_pos = row[:6]
            pair = row[6:12]
            x_stim, x_sys, x_pos, ans_pos, ans_sys, correct, ms, answered = row[12:20]
            started, completed, sim = row[20:]
            yield (
                session,
                participant_label(session, pid),
                track,
                genre,
                "|".join(sorted(str(s) for s in (pair[1], pair[4]))),
                repetition,
                t_pos,
                *pair,
                x_stim,
                x_sys,
                _side(x_pos),
                _side(ans_pos),
                ans_sys,
                correct,
                ms,
                _iso(answered),
                _iso(started),
                _iso(completed),
                sim,
            )

    return list(ABX_COLUMNS), rows()


def preference_rows(study: Study) -> Rows:
    """One row per AB preference answer (per trial and attribute); :data:`PREFERENCE_COLUMNS`."""
    query = (
        PreferenceAnswer.objects.filter(trial__session__study=study, trial__is_training=False)
        .annotate(**_pair_annotations())
        .order_by("trial_id", "attribute")
        .values_list(
            *_TRIAL_FIELDS,
            "attribute",
            "trial__position",
            *_PAIR_FIELDS,
            "choice__position",
            "choice__stimulus__system",
            "no_preference",
            "response_ms",
            "changes",
            "answered_at",
            "trial__started_at",
            "trial__completed_at",
            "trial__session__simulated",
        )
    )

    def rows() -> Iterator[Sequence[Any]]:
        for row in query.iterator(chunk_size=CHUNK_SIZE):
            session, pid, track, genre, attribute, t_pos = row[:6]
            pair = row[6:12]
            c_pos, c_sys, none, ms, changes, answered, started, completed, sim = row[12:]
            ai = "A" if pair[1] == "ai" else "B" if pair[4] == "ai" else ""
            yield (
                session,
                participant_label(session, pid),
                track,
                genre,
                attribute,
                t_pos,
                *pair,
                "none" if none else c_sys,
                "" if none else _side(c_pos),
                none,
                ai,
                ms,
                changes,
                _iso(answered),
                _iso(started),
                _iso(completed),
                sim,
            )

    return list(PREFERENCE_COLUMNS), rows()


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat


def _union_keys(documents: Iterable[Any]) -> list[str]:
    keys: dict[str, None] = {}
    for document in documents:
        keys.update(dict.fromkeys(_flatten(document)))
    return list(keys)


def stimulus_rows(study: Study) -> Rows:
    """One row per stimulus with every objective metric flattened; :data:`STIMULUS_COLUMNS`."""
    from analysis.stats import DEFAULT_METRICS

    stimuli = Stimulus.objects.filter(track__study=study).order_by(
        "track__position", "track_id", "pk"
    )
    fields = [f for f in STIMULUS_COLUMNS if f not in ("stimulus", "track", "genre")]
    found = _union_keys(stimuli.values_list("metrics", flat=True).iterator(chunk_size=500))
    found = [k for k in found if k not in STIMULUS_COLUMNS]
    first = [m for m in DEFAULT_METRICS if m in found]
    metrics = first + sorted(set(found) - set(first))
    query = stimuli.values_list("pk", "track__title", "track__genre", *fields, "metrics")

    def rows() -> Iterator[Sequence[Any]]:
        for row in query.iterator(chunk_size=500):
            values = _flatten(row[-1])
            yield (*row[:-1], *(values.get(m) for m in metrics))

    return [*STIMULUS_COLUMNS, *metrics], rows()


def session_rows(study: Study) -> Rows:
    """One row per session with questionnaire, screening and timings; :data:`SESSION_COLUMNS`."""
    sessions = (
        Session.objects.filter(study=study)
        .order_by("pk")
        .annotate(n_done=Count("trials", filter=Q(trials__is_training=False, trials__state="done")))
    )
    answers = sessions.values_list("questionnaire", "final_questionnaire")
    first = _union_keys(q for q, _ in answers.iterator(chunk_size=500))
    final = _union_keys(f for _, f in answers.iterator(chunk_size=500))
    times = ("started_at", "consent_at", "calibrated_at", "completed_at", "ended_at")
    query = sessions.values_list(
        "pk",
        "prolific_pid",
        "prolific_study_id",
        "prolific_session_id",
        "state",
        "simulated",
        *times,
        "last_seen_at",
        "plan",
        "n_done",
        "screening",
        "questionnaire",
        "final_questionnaire",
        "language",
    )

    def rows() -> Iterator[Sequence[Any]]:
        for row in query.iterator(chunk_size=500):
            pk, pid, p_study, p_session, state, sim = row[:6]
            started, consent, calibrated, completed, ended, seen = row[6:12]
            plan, done, screening, q, f, language = row[12:]
            end = completed or ended
            duration = (end - started).total_seconds() if end and started else None
            screening = screening if isinstance(screening, dict) else {}
            attempts = screening.get("attempts") or []
            scores = attempts[-1].get("scores") if attempts else None
            q, f = _flatten(q), _flatten(f)
            yield (
                pk,
                participant_label(pk, pid),
                pid,
                p_study,
                p_session,
                state,
                sim,
                *(_iso(t) for t in (started, consent, calibrated, completed, ended, seen)),
                duration,
                plan.get("trials") if isinstance(plan, dict) else None,
                done,
                screening.get("passed"),
                len(attempts),
                json.dumps(scores) if scores else "",
                language,
                *(q.get(k) for k in first),
                *(f.get(k) for k in final),
            )

    columns = [*SESSION_COLUMNS, *(f"q_{k}" for k in first), *(f"final_{k}" for k in final)]
    return columns, rows()


ROW_BUILDERS: dict[str, Callable[[Study], Rows]] = {
    "ratings": rating_rows,
    "abx": abx_rows,
    "preferences": preference_rows,
    "stimuli": stimulus_rows,
    "sessions": session_rows,
}


def webmushra_stimulus(kind: str, system: str, provider: str) -> str:
    """Name a condition the way webMUSHRA's results name it."""
    if kind == "hidden_reference":
        return "reference"
    if kind.startswith("anchor_"):
        return f"anchor{kind.removeprefix('anchor_')[:2]}"  # anchor_3500 -> anchor35
    if kind == "mix":
        return "mix"
    return f"{system}_{slugify(provider)}" if provider else system


def webmushra_rows(study: Study) -> Rows:
    """The MUSHRA ratings in webMUSHRA's ``mushra.csv`` layout; :data:`WEBMUSHRA_COLUMNS`."""
    _, ratings = rating_rows(study)
    test_id = f"study-{study.pk}"
    c = {name: i for i, name in enumerate(RATING_COLUMNS)}

    @lru_cache(maxsize=1024)
    def page_ms(started: str | None, completed: str | None) -> int | None:
        if not (started and completed):
            return None
        delta = datetime.fromisoformat(completed) - datetime.fromisoformat(started)
        return round(delta.total_seconds() * 1000)

    @lru_cache(maxsize=1024)
    def session_uuid(session: int) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"listening:{study.pk}:{session}"))

    def rows() -> Iterator[Sequence[Any]]:
        for r in ratings:
            yield (
                test_id,
                session_uuid(r[c["session"]]),
                f"{slugify(r[c['track']])}__{slugify(r[c['attribute']])}",
                webmushra_stimulus(r[c["condition_kind"]], r[c["system"]], r[c["provider"]]),
                r[c["score"]],
                page_ms(r[c["trial_started_at"]], r[c["trial_completed_at"]]),
                "",
                r[c["participant"]],
                r[c["attribute"]],
                r[c["simulated"]],
            )

    return list(WEBMUSHRA_COLUMNS), rows()


# -- writers ------------------------------------------------------------------------------------


#: First characters that make a spreadsheet read a text cell as a formula (OWASP's list), and
#: the quote itself, so that exactly one quote comes off every text cell that starts with one.
_ESCAPED_STARTS = frozenset("=+-@\t\r'")


def spreadsheet_text(value: Any) -> Any:
    """Return a CSV cell that no spreadsheet runs as a formula (OWASP CSV injection).

    Text starting with ``= + - @``, a tab or a carriage return gets a leading ``'``,
    and so does text already starting with ``'``: remove one ``'`` from any text cell
    that starts with one to get the raw text back. Numbers are never text here (they
    stay plain numbers, negative ones included); JSON Lines keep the raw text.
    """
    if value.__class__ is str and value[:1] in _ESCAPED_STARTS:
        return "'" + value
    return value


def csv_chunks(columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> Iterator[str]:
    """Yield CSV text (header first) in chunks of :data:`CHUNK_SIZE` rows, every text cell
    made safe for spreadsheets (:func:`spreadsheet_text`)."""
    buffer = io.StringIO()
    # RFC 4180's CRLF: Python's writer then quotes a field holding a lone carriage return
    # too (with "\n" it did not, and a participant's "\r" split the row for readers).
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spreadsheet_text(c) for c in columns])
    starts = _ESCAPED_STARTS
    while True:
        batch = list(islice(rows, CHUNK_SIZE))
        # spreadsheet_text, inlined: a call per cell costs a second on 500,000 ratings.
        writer.writerows(
            [["'" + v if v.__class__ is str and v[:1] in starts else v for v in r] for r in batch]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) < CHUNK_SIZE:
            return


def jsonl_chunks(columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> Iterator[str]:
    """Yield JSON Lines (one object per row) in chunks of :data:`CHUNK_SIZE` rows."""
    while True:
        batch = list(islice(rows, CHUNK_SIZE))
        if batch:
            yield "".join(
                json.dumps(dict(zip(columns, row, strict=True)), default=str) + "\n"
                for row in batch
            )
        if len(batch) < CHUNK_SIZE:
            return


WRITERS = {"csv": csv_chunks, "jsonl": jsonl_chunks}


def export_chunks(study: Study, table: str, fmt: str = "csv") -> Iterator[str]:
    """Yield one table (or ``"webmushra"``) as CSV or JSON Lines, read in one snapshot."""
    build = webmushra_rows if table == "webmushra" else ROW_BUILDERS[table]
    with snapshot():
        columns, rows = build(study)
        yield from WRITERS[fmt](columns, rows)


def export_filename(study: Study, table: str, fmt: str = "csv") -> str:
    extension = "jsonl" if fmt == "jsonl" else "csv"
    return f"study-{study.pk}-{table}.{extension}"


def streaming_response(study: Study, table: str, fmt: str = "csv") -> StreamingHttpResponse:
    """Stream one table as an attachment (the view only picks the study and the table)."""
    content_type = "application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8"
    response = StreamingHttpResponse(export_chunks(study, table, fmt), content_type=content_type)
    filename = export_filename(study, table, fmt)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# -- the results bundle ---------------------------------------------------------------------------


def design_summary(study: Study) -> dict[str, Any]:
    """The design facts the report and the README state first."""
    sessions = Session.objects.filter(study=study)
    return {
        "study": f"{study.title} (id {study.pk})",
        "paradigm": study.get_paradigm_display(),
        "attributes": ", ".join(map(str, study.attributes or [])) or "overall",
        "tracks": study.tracks.count(),
        "reference": study.get_reference_mode_display(),
        "anchors": ", ".join(f"{c / 1000:g} kHz" for c in study.anchor_cutoffs) or "none",
        "loudness target": f"{study.loudness_target_lufs:g} LUFS, ceiling "
        f"{study.true_peak_ceiling_dbtp:g} dBTP",
        "excerpt": f"{study.excerpt_length:g} s from {study.excerpt_start:g} s at "
        f"{study.sample_rate} Hz",
        "trials per participant": study.trials_per_participant or "every track",
        "sessions": f"{sessions.filter(state=Session.State.COMPLETE).count()} complete of "
        f"{sessions.count()}",
        "simulated sessions": sessions.filter(simulated=True).count(),
        "exported": timezone.now().isoformat(timespec="seconds"),
    }


def _frame(path: Path | IO[str]) -> Any:
    """Read a table of the bundle back, with its text as it was (the report shows it raw)."""
    import pandas as pd

    frame = pd.read_csv(path)
    for column in frame.columns:
        # pandas 3 reads text as its own string dtype, older pandas as object.
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(_raw_text)
    for column in ("participant", "track", "genre", "provider", "a_provider", "b_provider"):
        if column in frame.columns:
            frame[column] = frame[column].astype(object).fillna("").astype(str)
    return frame


def _raw_text(value: Any) -> Any:
    """Undo :func:`spreadsheet_text`."""
    return value[1:] if isinstance(value, str) and value[:1] == "'" else value


def _metrics_frame(stimuli: Any) -> tuple[Any, str]:
    """Masters with metrics, one per track and system, or None and the reason."""
    masters = stimuli.loc[(stimuli["role"] == "master") & stimuli["metrics_version"].notna()]
    if masters.empty:
        return None, "no master has objective metrics yet"
    if masters.duplicated(["track", "system"]).any():
        return None, "objective metrics not compared: a track has several masters of one system"
    return masters, ""


def analysis_tables(study: Study) -> dict[str, Any]:
    """The ratings, abx and preferences tables as the report reads them, from one snapshot.

    The same CSV text the bundle holds, read back the same way (:func:`_frame`), without
    a temporary folder: the live dashboard fits the report's model on exactly these.
    """
    frames = {}
    with snapshot():
        for name in ("ratings", "abx", "preferences"):
            names, rows = ROW_BUILDERS[name](study)
            frames[name] = _frame(io.StringIO("".join(csv_chunks(names, rows))))
    return frames


def report_html(folder: Path, *, design: dict[str, Any], title: str) -> str:
    """Analyse the exported tables in ``folder`` and render the HTML report.

    The analysis reads the very CSV files of the bundle, so MUSHRA, ABX- and AB-only
    studies all get the full report. Data that cannot be analysed yet (say, one
    participant) gets a short page with the reason.
    """
    from analysis.errors import AnalysisError
    from analysis.report import SIMULATED_BANNER, render_report
    from analysis.stats import analyse_study

    frames = {name: _frame(folder / f"{name}.csv") for name in TABLES}
    ratings, abx, prefs = frames["ratings"], frames["abx"], frames["preferences"]
    simulated = any(bool(frames[t]["simulated"].any()) for t in ("ratings", "abx", "preferences"))
    metrics, note = _metrics_frame(frames["stimuli"])
    if note:
        design = {**design, "objective metrics": note}
    reason = "the study has no answers yet"
    if len(ratings) or len(abx) or len(prefs):
        try:
            results = analyse_study(
                ratings if len(ratings) else None,
                metrics=metrics,
                abx=abx if len(abx) else None,
                preferences=prefs if len(prefs) else None,
            )
            return render_report(results, design=design, simulated=simulated, title=title)
        except (AnalysisError, ValueError, ArithmeticError) as exc:
            reason = f"the answers cannot be analysed yet: {exc}"
    return render_to_string(
        "results/report_fallback.html",
        {
            "title": title,
            "design": design,
            "reason": reason,
            "banner": SIMULATED_BANNER if simulated else "",
        },
    )


#: What the platform checked before storing the material, and what each flag means.
MATERIAL_NOTES = (
    "## What was checked at import, and the flags",
    "",
    "Before any file was stored (import_study, the API and the admin alike), each upload",
    "was decoded completely and refused if it was not audio, digital silence, longer than",
    "the limits, a duplicate, or had more than two channels. Mono and lossy-coded (MP3, Ogg,",
    "Opus) files were refused unless the study accepted them (`accept_mono`,",
    "`accept_lossy`). Every master was aligned with its mix (GCC-PHAT) and refused if the",
    "alignment correlation was below 0.3 (not a master of that mix); every version had to",
    "cover the excerpt once aligned; genres were normalised (spaces, case) and at most 50",
    "characters.",
    "",
    "- `mono_source`: the version was made from a mono file and plays as dual mono (no",
    "  stereo width, which listeners can hear).",
    "- `lossy_source`: the version was made from a lossy-coded file; codec artefacts are",
    "  part of what was rated. HFD is not applicable to it (`hfd_valid` false).",
    "- `hfd_valid`, `hfd_note` (metric columns): HFD applies only to lossless pairs, and",
    "  only over the 4-8, 8-12 and 12-16 kHz bands where the mix holds at least -50 dB of",
    "  its 50 Hz-16 kHz power; `hfd_note` names every band left out and why. `hfd` is the",
    "  mean over the bands that apply.",
    "- `true_peak_dbtp`, `true_peak_oversampled_dbtp`: the prepared file's true peak at 4x",
    "  (BS.1770-4) and 32x; the stricter of the two plus 0.06 dB is at or below the ceiling.",
    "- `align_lag`, `align_subsample` (metric columns): the whole-sample lag of the master",
    "  behind its mix, and the residual fraction of a sample the excerpt keeps.",
)


def readme_text(study: Study, columns: dict[str, list[str]]) -> str:
    """Describe the bundle and every column of every table (Markdown)."""
    lines = [
        f"# Results of study {study.pk}: {study.title}",
        "",
        "Exported by the listening-test platform as one consistent snapshot of the database.",
        "Every table is UTF-8 CSV (RFC 4180: CRLF line ends, fields with commas, quotes or line",
        "breaks quoted) with a header row, one row per observation (long format),",
        "readable by `pandas.read_csv`, R's `read.csv` and pingouin. Empty cells are missing",
        "values; times are ISO 8601 in UTC; booleans are `True` / `False`.",
        "",
        "- `report.html`: the statistics report (open offline; plots are embedded).",
        "- `webmushra.csv`: the MUSHRA ratings in webMUSHRA's `mushra.csv` layout.",
        "",
        "Rows of simulated participants (`manage.py simulate_participants`) have",
        "`simulated = True`; never publish them as data.",
        "",
        "Safe to open in a spreadsheet: a text cell that starts with `=`, `+`, `-`, `@`, a tab",
        "or a carriage return (which a spreadsheet would run as a formula) starts with an added",
        "`'` in every CSV file, and so does text that already started with `'`. Remove one",
        "leading `'` from any text cell that starts with one to get the raw text back; the",
        "JSON Lines exports keep the raw text. Numbers are never changed (negative values stay",
        "plain numbers).",
        "",
        "Reproduce the analysis:",
        "",
        "```python",
        "import pandas as pd",
        "from analysis.stats import analyse_study",
        "results = analyse_study(pd.read_csv('ratings.csv'))",
        "print(results.primary)  # human - AI per attribute, crossed mixed model",
        "```",
        "",
        "or from a shell: `python -m analysis ratings ratings.csv [--json]`.",
    ]
    lines += ["", *MATERIAL_NOTES]
    docs = {**{name: TABLES[name] for name in TABLES}, "webmushra": (WEBMUSHRA_COLUMNS, "")}
    for name, (documented, note) in docs.items():
        lines += ["", f"## {name}.csv", "", "| column | meaning |", "| --- | --- |"]
        lines += [f"| `{column}` | {text} |" for column, text in documented.items()]
        extra = [c for c in columns.get(name, []) if c not in documented]
        if note:
            lines += ["", note]
        if extra:
            lines += ["", "Extra columns in this export: " + ", ".join(f"`{c}`" for c in extra)]
    return "\n".join(lines) + "\n"


def _write_tables(study: Study, folder: Path) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Write every table and webmushra.csv into ``folder`` from one snapshot."""
    columns: dict[str, list[str]] = {}
    with snapshot():
        design = design_summary(study)
        builders: dict[str, Callable[[Study], Rows]] = {**ROW_BUILDERS, "webmushra": webmushra_rows}
        for name, build in builders.items():
            names, rows = build(study)
            columns[name] = names
            with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as out:
                for chunk in csv_chunks(names, rows):
                    out.write(chunk)
    return columns, design


def report_title(study: Study) -> str:
    return f"Listening-test report: {study.title}"


def study_report(study: Study) -> str:
    """Render the HTML report of a study from the same tables the bundle holds."""
    folder = Path(tempfile.mkdtemp(prefix="results-report-"))
    try:
        _, design = _write_tables(study, folder)
        return report_html(folder, design=design, title=report_title(study))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_bundle(study: Study, target: IO[bytes]) -> None:
    """Write the results bundle (every table, webmushra.csv, report.html, README.md) as zip."""
    folder = Path(tempfile.mkdtemp(prefix="results-bundle-"))
    try:
        columns, design = _write_tables(study, folder)
        (folder / "report.html").write_text(
            report_html(folder, design=design, title=report_title(study)), encoding="utf-8"
        )
        (folder / "README.md").write_text(readme_text(study, columns), encoding="utf-8")
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
            for name in [*columns, "report", "README"]:
                path = next(folder.glob(f"{name}.*"))
                bundle.write(path, f"study-{study.pk}-results/{path.name}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bundle_response(study: Study) -> FileResponse:
    """Build the bundle into a temporary file and send it (the file goes when sent)."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it once sent)
    write_bundle(study, spool)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"study-{study.pk}-results.zip",
        content_type="application/zip",
    )
