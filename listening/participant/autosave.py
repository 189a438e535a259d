"""The MUSHRA sliders' autosave in four statements: the request participants send most.

Each slider movement saves its rating (the page sends at most one a second per slider),
so with a few hundred participants this one request is most of the server's writes. The
general path (``Session.answer`` behind ``listening.participant.answers``) answers every kind of
participant request with the ORM in eight queries, and on SQLite the ORM's work on all
but the first of them ran while the database's single writer lock was held: 2.5 ms of
lock per save, where this path holds it 0.24 ms and its statements as plain SQL 0.18 ms
(``benchmarks/bench_rating_save.py``). With 200 participants on two cores that lock
was busy all the time, and saves queued behind it.

Here a well-formed rating on the current trial of an open, active session costs one
SELECT that reads everything the checks need (and, on PostgreSQL, locks the session's
row as the general path does), an UPDATE of the rating (an INSERT the first time), one
of the trial's answer count (capped: LISTENING_ANSWERS_PER_TRIAL) and the INSERT of its
Idempotency-Key. The SQL is written once per process from the
models' table names. Anything else returns ``None`` before a thing is written and the
general path answers it, so every refusal and its wording stay in one place: a request
that is not such a rating, an unknown session, another trial or condition, an attribute
the study does not rate, a replayed key, a closed study, and a session whose activity is
due to be recorded (once a minute; it is also the one that may have expired).
``tests/listening/participant/test_rating_autosave.py`` holds both paths to the same answers
and rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from listening.models import Condition, IdempotencyKey, Rating, Session, Study, Trial
from listening.models.session import idle_limit
from listening.models.study_texts import attribute_name
from listening.participant.paradigms.base import CONDITION_KEY
from listening.participant.paradigms.mushra import Mushra

#: Activity is recorded once a minute (``Session.touch``); a session seen longer ago
#: takes the general path, which records it and checks that the session has not expired.
RECENTLY = timedelta(minutes=1)
SAVED = {"saved": True}


@dataclass(frozen=True)
class Statements:
    check: str
    update: str
    insert: str
    count: str
    remember: str


@cache
def statements(vendor: str, lock_session: bool) -> Statements:
    """The four statements, with the tables' names quoted for this database."""
    quote = connection.ops.quote_name
    tables = {
        name: quote(model._meta.db_table)
        for name, model in (
            ("session", Session),
            ("study", Study),
            ("trial", Trial),
            ("condition", Condition),
            ("rating", Rating),
            ("key", IdempotencyKey),
        )
    }
    check = """
        SELECT s."id", s."state", st."status", st."attributes",
               CASE WHEN s."last_seen_at" >= %s THEN 1 ELSE 0 END,
               t."id", t."position", t."kind", t."answer_count", c."id", c."role",
               (SELECT k."id" FROM {key} k WHERE k."session_id" = s."id" AND k."key" = %s)
        FROM {session} s
        INNER JOIN {study} st ON st."id" = s."study_id"
        LEFT JOIN {trial} t ON t."id" = (
            SELECT ft."id" FROM {trial} ft
            WHERE ft."session_id" = s."id" AND ft."is_training" = %s AND ft."state" <> %s
            ORDER BY ft."position" LIMIT 1
        )
        LEFT JOIN {condition} c ON c."trial_id" = t."id" AND c."key" = %s
        WHERE s."token" = %s
    """
    if lock_session:
        check += " FOR UPDATE OF s"
    return Statements(
        check=check.format(**tables),
        update="""
            UPDATE {rating} SET "score" = %s, "changes" = "changes" + 1, "updated_at" = %s
            WHERE "trial_id" = %s AND "condition_id" = %s AND "attribute" = %s
        """.format(**tables),
        insert="""
            INSERT INTO {rating}
                ("trial_id", "condition_id", "attribute", "score", "changes",
                 "created_at", "updated_at")
            VALUES (%s, %s, %s, %s, 1, %s, %s)
        """.format(**tables),
        count="""
            UPDATE {trial} SET "answer_count" = "answer_count" + 1 WHERE "id" = %s
        """.format(**tables),
        remember="""
            INSERT INTO {key}
                ("session_id", "key", "endpoint", "status_code", "response", "created_at")
            VALUES (%s, %s, %s, 200, %s, %s)
        """.format(**tables),
    )


def well_formed(body: Any) -> bool:
    """Whether ``body`` is a rating with every field of the right type and in range."""
    if not isinstance(body, dict) or body.get("type") != "rating":
        return False
    trial, condition, attribute, score = (
        body.get(name) for name in ("trial", "condition", "attribute", "score")
    )
    return (
        type(trial) is int
        and isinstance(condition, str)
        and CONDITION_KEY.fullmatch(condition) is not None
        and isinstance(attribute, str)
        and type(score) is int
        and 0 <= score <= 100
    )


def save(token: str, key: str, endpoint: str, body: Any) -> dict[str, Any] | None:
    """Store the rating ``body`` and remember ``key``; None: the general path must answer.

    Call with a key of at most 64 characters (the general path refuses longer ones).
    """
    if not well_formed(body):
        return None
    sql = statements(connection.vendor, connection.features.has_select_for_update_of)
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    recently = connection.ops.adapt_datetimefield_value(now - min(RECENTLY, idle_limit()))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql.check,
            [recently, key, False, Trial.State.DONE, body["condition"], token],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        (session_id, state, status, attributes, recent, trial_id, position, kind, answers,
         condition_id, role, replayed) = row  # fmt: skip
        if (
            state != Session.State.TRIALS
            or status != Study.Status.OPEN
            or not recent
            or replayed is not None  # (its unique key would refuse it too, after the writes)
            or trial_id is None
            or position != body["trial"]
            or kind != Mushra.kind
            or answers >= settings.LISTENING_ANSWERS_PER_TRIAL
            or condition_id is None
            or role == Condition.Role.REFERENCE
        ):
            return None
        # JSON text, as Django has the drivers return it (psycopg would decode jsonb).
        names = json.loads(attributes) if isinstance(attributes, str) else attributes
        attribute = attribute_name(names, body["attribute"])
        if attribute is None:
            return None
        score = body["score"]
        cursor.execute(sql.update, [score, at, trial_id, condition_id, attribute])
        if cursor.rowcount == 0:
            cursor.execute(sql.insert, [trial_id, condition_id, attribute, score, at, at])
        cursor.execute(sql.count, [trial_id])
        if key:
            response = IdempotencyKey._meta.get_field("response")
            stored = response.get_db_prep_save(SAVED, connection)
            cursor.execute(sql.remember, [session_id, key, endpoint, stored, at])
    return dict(SAVED)
