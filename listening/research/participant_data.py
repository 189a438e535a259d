"""One participant's data, on request (GDPR articles 15 and 17): export all of it, or erase it.

A participant is one :class:`~listening.models.Session`. Everything stored about them
hangs off it: the session row (Prolific ids, consent, questionnaires, screening, plan),
its trials and their conditions, ratings, ABX and preference answers, listening events,
the record of the audio sent to it and the stored replies of idempotent requests.
Erasing deletes all of those rows in one transaction; the study, its stimuli and other
participants stay as they were.
"""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

from listening.models import (
    AbxAnswer,
    AudioDelivery,
    Condition,
    IdempotencyKey,
    ListenEvent,
    PreferenceAnswer,
    Rating,
    Session,
    Trial,
)

#: The tables that hold a participant's data, and how each reaches the session.
PARTICIPANT_TABLES: dict[type[models.Model], str] = {
    Session: "pk",
    Trial: "session",
    Condition: "trial__session",
    Rating: "trial__session",
    AbxAnswer: "trial__session",
    PreferenceAnswer: "trial__session",
    ListenEvent: "session",
    AudioDelivery: "session",
    IdempotencyKey: "session",
}

JSON_ENCODER = DjangoJSONEncoder


def find_session(token: str | None = None, prolific_pid: str | None = None) -> list[Session]:
    """Return the sessions of one participant: by session token, or every one of a Prolific id."""
    if bool(token) == bool(prolific_pid):
        raise ValueError("give exactly one of a session token or a Prolific participant id")
    if token:
        return list(Session.objects.filter(token=token).select_related("study"))
    return list(Session.objects.filter(prolific_pid=prolific_pid).select_related("study"))


def _rows(model: type[models.Model], session: Session) -> list[dict[str, Any]]:
    rows = model._default_manager.filter(**{PARTICIPANT_TABLES[model]: session.pk}).order_by("pk")
    # Every column, the non-editable ones too (token, timestamps): model_to_dict would drop them.
    fields = model._meta.concrete_fields
    return [{f.name: f.value_from_object(row) for f in fields} for row in rows]


def participant_record(session: Session) -> dict[str, Any]:
    """Return everything stored about the participant of ``session`` (JSON-ready with
    :data:`JSON_ENCODER`), one list of rows per table."""
    tables = {model._meta.label: _rows(model, session) for model in PARTICIPANT_TABLES}
    return {
        # The public title: the record may go to the participant, who never sees the
        # researcher's (it can name what the study compares).
        "study": {"id": session.study_id, "title": session.study.participant_title},
        "session": tables.pop(Session._meta.label)[0],
        "tables": tables,
    }


def participant_counts(session_pk: int) -> dict[str, int]:
    """Count the rows of each participant table that belong to the session ``session_pk``."""
    return {
        model._meta.label: model._default_manager.filter(**{lookup: session_pk}).count()
        for model, lookup in PARTICIPANT_TABLES.items()
    }


def erase_participant(session: Session) -> dict[str, int]:
    """Delete every row stored about the participant of ``session``; return the counts deleted."""
    with transaction.atomic():
        Session.objects.select_for_update().filter(pk=session.pk).first()
        counts = participant_counts(session.pk)
        session.delete()  # every other table cascades from the session
    return counts
