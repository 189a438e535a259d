"""The participant's JSON endpoints: answers (autosaved, idempotent) and listening events.

A session sends at most ``LISTENING_PARTICIPANT_BURST`` requests at once and
``LISTENING_PARTICIPANT_RATE`` a second after that (429 with Retry-After); a request
with an ``Idempotency-Key`` already seen for this session gets the stored response and
changes nothing. Every request runs in one transaction with the
session's row locked, so two tabs of a session cannot interleave their changes.
A plain rating save, the request sent most, first tries ``listening.participant.autosave``:
the same checks and rows in four statements; whatever it declines comes here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, JsonResponse
from django.utils import translation
from django.views.decorators.http import require_POST

from listening.models import IdempotencyKey, Session
from listening.models.errors import AnswerError
from listening.participant import autosave, flow, languages
from listening.participant.access import json_error, json_refusal
from listening.platform.throttling import session_rate_limiter

MAX_BODY = 256 * 1024


def _parse(raw: bytes) -> tuple[Any, bool]:
    """The JSON value of a request body (an empty body is null), and whether it parsed."""
    try:
        return json.loads(raw or b"null"), True
    except (ValueError, UnicodeDecodeError):
        return None, False


def _handle(
    request: HttpRequest,
    token: str,
    endpoint: str,
    act: Callable[[Session, Any], dict[str, Any]],
    shortcut: Callable[[str, str, str, Any], dict[str, Any] | None] | None = None,
) -> JsonResponse:
    # The session's rate first, from this process's memory: a flood is refused before
    # it reads the body or touches the database (listening.platform.throttling).
    wait = session_rate_limiter.wait(token)
    if wait > 0:
        response = json_error(
            "Too many requests from this session: wait a moment and send again.", 429
        )
        response["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    key = request.headers.get("Idempotency-Key", "")
    too_large = len(request.body) > MAX_BODY
    body, valid = (None, False) if too_large else _parse(request.body)
    try:
        if shortcut is not None and valid and len(key) <= 64:
            # The common case in fewer statements; None sends the request the general way.
            payload = shortcut(token, key, endpoint, body)
            if payload is not None:
                return JsonResponse(payload)
        with transaction.atomic():
            # One query finds and locks the session's row (only that row: locking the
            # joined study row too would queue every participant of the study behind one lock).
            sessions = Session.objects.select_for_update(of=("self",)).select_related("study")
            if key:
                # A replay is spotted in the same query (compiled before SQLite's writers'
                # lock is taken, see config/sqlite_backend). On PostgreSQL a duplicate that
                # waited for this row's lock may miss a key committed meanwhile; its own
                # insert of the key then fails and the stored answer is returned below.
                stored_key = IdempotencyKey.objects.filter(session=OuterRef("pk"), key=key)
                sessions = sessions.annotate(replayed=Subquery(stored_key.values("pk")[:1]))
            try:
                session: Session | None = sessions.get(token=token)
            except Session.DoesNotExist:
                session = None
            # Messages a participant may read are in the session's language.
            language = (
                languages.for_session(request, session)
                if session is not None
                else languages.for_study(request, None)
            )
            with translation.override(language):
                refusal = json_refusal(session)
            if refusal is not None:
                return refusal
            assert session is not None
            # The session's existence is checked first: a bad request names no other session.
            if too_large:
                return json_error("The request is too large.", 413)
            if not valid:
                return json_error("The request body is not valid JSON.", 400)
            if len(key) > 64:
                return json_error("The Idempotency-Key header is longer than 64 characters.", 400)
            replayed = getattr(session, "replayed", None)  # the annotation above
            if replayed is not None:
                stored = IdempotencyKey.objects.get(pk=replayed)
                return JsonResponse(stored.response, status=stored.status_code)
            try:
                # (a refused request leaves nothing behind)
                with transaction.atomic(), translation.override(language):
                    payload, status = act(session, body), 200
            except AnswerError as error:
                payload, status = {"detail": error.detail}, error.status
            if key:
                IdempotencyKey.objects.create(
                    session=session,
                    key=key,
                    endpoint=endpoint,
                    status_code=status,
                    response=payload,
                )
    except IntegrityError:
        # The same key raced in from another tab: answer what the first one stored.
        raced = IdempotencyKey.objects.filter(session__token=token, key=key).first()
        if raced is None:
            raise
        return JsonResponse(raced.response, status=raced.status_code)
    return JsonResponse(payload, status=status)


@require_POST
def save_answer(request: HttpRequest, token: str) -> JsonResponse:
    """Save a rating, an ABX or preference answer, or submit the current trial."""
    return _handle(request, token, "answers", flow.answer, shortcut=autosave.save)


@require_POST
def record_events(request: HttpRequest, token: str) -> JsonResponse:
    """Store a batch of listening events (play, pause, switch, seek, loop)."""
    return _handle(request, token, "events", lambda s, body: {"stored": s.record_events(body)})
