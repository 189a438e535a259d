"""A row builder per tidy table: ratings, abx, preferences, stimuli and sessions.

Each returns the column names and an iterator over rows read in chunks of
:data:`CHUNK_SIZE`, so a large study streams in constant memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db.models import CharField, Count, OuterRef, Q, Subquery
from django.db.models.functions import Cast

from listening.models import (
    AbxAnswer,
    Condition,
    PreferenceAnswer,
    Rating,
    Session,
    Stimulus,
    Study,
)
from listening.research.exports.columns import (
    ABX_COLUMNS,
    PREFERENCE_COLUMNS,
    RATING_COLUMNS,
    SESSION_COLUMNS,
    STIMULUS_COLUMNS,
)

CHUNK_SIZE = 2000

Rows = tuple[list[str], Iterator[Sequence[Any]]]


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
#: The last fields of a pairwise answer's row: when it was given, its trial's times, and
#: whether the session was simulated.
_ANSWER_END_FIELDS = (
    "answered_at",
    "trial__started_at",
    "trial__completed_at",
    "trial__session__simulated",
)


def _pair_answer_rows(query: Any) -> Iterator[tuple[tuple[Any, ...], ...]]:
    """Split each row of an ABX or AB query (``*_TRIAL_FIELDS``, two of the table's own,
    ``*_PAIR_FIELDS``, the answer's own fields, ``*_ANSWER_END_FIELDS``) into: who (session,
    participant, track, genre), the two, the pair, the answer's own fields, and the end
    (times as ISO text, the simulated flag)."""
    for row in query.iterator(chunk_size=CHUNK_SIZE):
        session, pid, track, genre = row[:4]
        answered, started, completed, sim = row[-4:]
        yield (
            (session, participant_label(session, pid), track, genre),
            tuple(row[4:6]),
            tuple(row[6:12]),
            tuple(row[12:-4]),
            (_iso(answered), _iso(started), _iso(completed), sim),
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
            *_ANSWER_END_FIELDS,
        )
    )

    def rows() -> Iterator[Sequence[Any]]:
        for who, (repetition, t_pos), pair, own, end in _pair_answer_rows(query):
            x_stim, x_sys, x_pos, ans_pos, ans_sys, correct, ms = own
            yield (
                *who,
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
                *end,
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
            *_ANSWER_END_FIELDS,
        )
    )

    def rows() -> Iterator[Sequence[Any]]:
        for who, (attribute, t_pos), pair, own, end in _pair_answer_rows(query):
            c_pos, c_sys, none, ms, changes = own
            ai = "A" if pair[1] == "ai" else "B" if pair[4] == "ai" else ""
            yield (
                *who,
                attribute,
                t_pos,
                *pair,
                "none" if none else c_sys,
                "" if none else _side(c_pos),
                none,
                ai,
                ms,
                changes,
                *end,
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
