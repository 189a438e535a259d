"""A database that is briefly unreachable gets a "try again" answer, never a crash page.

When a view fails because the database cannot be reached or is locked (PostgreSQL
restarting, a network blip, SQLite locked past its busy timeout), the participant's
browser gets ``503 Service Unavailable`` with ``Retry-After``: JSON for the answer
endpoints, which save.js retries with the same ``Idempotency-Key`` until it goes
through, and a short page asking to reload for everything else. Nothing was stored by
the failed request (its transaction rolled back), so the retry stores it exactly once.
Integrity and programming errors are real bugs and still surface as errors. A broken
connection is dropped at the end of the request (Django's ``close_old_connections``)
and, with CONN_HEALTH_CHECKS, replaced at the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 3
TEXT = "The server is busy for a moment. Your answers are kept; please try again in a few seconds."


def wants_json(request: HttpRequest) -> bool:
    return request.content_type == "application/json" or "application/json" in request.headers.get(
        "Accept", ""
    )


class DatabaseOutageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "database unavailable for %s %s: %s", request.method, request.path, exception
        )
        response: HttpResponse
        if wants_json(request):
            response = JsonResponse({"detail": TEXT, "retry": True}, status=503)
        else:
            response = render(
                request,
                "participant/message.html",
                {"title": "Please wait a moment", "text": TEXT},
                status=503,
            )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "private, no-store"
        return response
