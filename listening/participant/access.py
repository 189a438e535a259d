"""One way in for participants: a session reached by its unguessable token, never a pk.

``participant_page`` wraps every /p/<token>/... page: an unknown token, a closed
study or an idle session gets a polite page; a request for another step than the
session is on is redirected to that step, so a reload always lands in the right
place; and the response carries the signed cookie the audio endpoint needs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from listening.models import Session, Study
from listening.participant import languages
from listening.participant.audio import attach_participant

PageView = Callable[..., HttpResponseBase]

MESSAGES = {
    "invalid": (
        404,
        _("Link not found"),
        _("This link is not valid. Please open the link you were given exactly as it is."),
    ),
    "unavailable": (
        404,
        _("Study not available"),
        _("This study is not open to participants."),
    ),
    "closed": (
        410,
        _("Study closed"),
        _("This study has closed and no longer accepts answers. Thank you for your interest."),
    ),
    "expired": (
        410,
        _("Session expired"),
        _(
            "This session has been inactive for too long and has expired. Thank you for your "
            "time; please contact the researchers if you think this is a mistake."
        ),
    ),
    "taken": (
        409,
        _("Already started"),
        _(
            "This Prolific ID has already started this study in another browser. Please "
            "continue in the browser where you started, or open the study again from Prolific. "
            "If you think this is a mistake, please contact the researchers through Prolific."
        ),
    ),
    "busy": (
        429,
        _("Please wait"),
        _("Too many sessions were started from your connection. Please try again later."),
    ),
    "forbidden": (
        403,
        _("Request refused"),
        _("Your browser sent a request this page could not verify. Reload the page and try again."),
    ),
}


def message(request: HttpRequest, name: str, language: str | None = None) -> HttpResponse:
    """A polite page; without a ``language``, in the browser's among the shipped ones."""
    status, title, text = MESSAGES[name]
    language = language or languages.for_study(request, None)
    with translation.override(language):
        return render(
            request, "participant/message.html", {"title": title, "text": text}, status=status
        )


def unavailable(session: Session) -> str | None:
    """Name the message a session's participant gets instead of the page, if any."""
    if session.is_finished:
        return None
    if session.study.status != Study.Status.OPEN:
        return "closed"
    if session.is_expired():
        return "expired"
    return None


def participant_page(step: str | None) -> Callable[[PageView], Callable[..., HttpResponseBase]]:
    """Resolve the session of a /p/<token>/<step> page and keep the participant on their step."""

    def decorator(view: PageView) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(
            request: HttpRequest, token: str, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            session = Session.objects.by_token(token)
            if session is None:
                return message(request, "invalid")
            language = languages.for_session(request, session)
            problem = unavailable(session)
            if problem is not None:
                return message(request, problem, language)
            session.touch()
            if step is not None and session.step != step:
                response: HttpResponseBase = redirect(session.url())
            else:
                # Pages (and their JSON) render in the session's language, chosen at its start.
                with translation.override(language):
                    response = view(request, session, *args, **kwargs)
            attach_participant(response, session)
            response["Cache-Control"] = "private, no-store"
            response["Content-Language"] = language
            return response

        return wrapper

    return decorator


def json_error(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def json_refusal(session: Session | None) -> JsonResponse | None:
    """The error a JSON endpoint sends for this session (None: go ahead; activity recorded)."""
    if session is None:
        return json_error(str(_("This session does not exist.")), 404)
    problem = unavailable(session)
    if problem is not None:
        return json_error(str(MESSAGES[problem][2]), MESSAGES[problem][0])
    session.touch()
    return None
