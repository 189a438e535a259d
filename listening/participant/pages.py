"""The participant's pages, one per step of the session (see Session.State).

Each view is thin: ``participant_page`` finds the session and keeps the participant
on their current step; the view validates a form and calls a Session method.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from listening.models import Session, Study
from listening.participant import flow, languages, screening, strings
from listening.participant.access import message, participant_page
from listening.participant.audio import attach_participant, participant_token
from listening.participant.forms import (
    CalibrationForm,
    ConsentForm,
    QuestionnaireForm,
    ScreeningForm,
)
from listening.platform.throttling import client_address

PROLIFIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: The external ids a recruiter's link may carry, and where they are stored.
EXTERNAL_IDS = {
    "PROLIFIC_PID": "prolific_pid",
    "STUDY_ID": "prolific_study_id",
    "SESSION_ID": "prolific_session_id",
}


def _external_ids(request: HttpRequest) -> dict[str, str]:
    ids = {}
    for param, field in EXTERNAL_IDS.items():
        value = request.GET.get(param, "").strip()
        if PROLIFIC_ID.match(value):
            ids[field] = value
    return ids


def _may_start(request: HttpRequest) -> bool:
    """Allow a few new sessions per address and hour (a small cache-based limit)."""
    limit = settings.LISTENING_SESSION_STARTS_PER_HOUR
    key = f"listening:starts:{client_address(request)}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        count = 1
    return count <= limit


class ResumeRefused(Exception):
    """A Prolific id that belongs to a session this request may not resume."""


def _resumable(request: HttpRequest, study: Study, ids: dict[str, str]) -> Session | None:
    """The session this browser (its cookie) or this Prolific participant already started.

    A Prolific id alone proves nothing (anyone may type someone else's into the link):
    its session resumes only in the browser that holds the session's signed cookie, or
    with the Prolific SESSION_ID it started with. Raise ResumeRefused otherwise.
    """
    token = participant_token(request)
    if "prolific_pid" not in ids:
        return study.sessions.filter(token=token).first() if token else None
    existing = study.sessions.filter(prolific_pid=ids["prolific_pid"]).first()
    if existing is None:
        return None
    if _may_resume(existing, token, ids):
        return existing
    raise ResumeRefused


def _may_resume(session: Session, token: str | None, ids: dict[str, str]) -> bool:
    if token and constant_time_compare(session.token, token):
        return True
    sent, started = ids.get("prolific_session_id", ""), session.prolific_session_id
    return bool(sent and started and constant_time_compare(sent, started))


@require_http_methods(["GET", "HEAD", "POST"])
def landing(request: HttpRequest, public_token: str) -> HttpResponseBase:
    """Show the study's instructions; starting creates (or resumes) the participant's session."""
    study = Study.objects.filter(public_token=public_token).first()
    if study is None or study.status == Study.Status.DRAFT:
        return message(request, "unavailable")
    language = languages.for_study(request, study)
    if study.status == Study.Status.CLOSED:
        return message(request, "closed", language)
    ids = _external_ids(request)
    try:
        existing = _resumable(request, study, ids)
    except ResumeRefused:
        return message(request, "taken", language)
    if existing is not None:  # a resume keeps the language its session started in
        language = languages.for_session(request, existing)
    if request.method != "POST":
        with translation.override(language):
            return render(
                request,
                "participant/landing.html",
                {
                    "study": study,
                    "texts": study.participant_texts(language),
                    "resume": existing is not None and not existing.is_finished,
                },
            )
    if existing is None:
        if not _may_start(request):
            return message(request, "busy", language)
        try:
            with transaction.atomic():
                existing = Session.objects.create(study=study, language=language, **ids)
        except IntegrityError:  # the same Prolific id started in another tab just now
            existing = study.sessions.get(prolific_pid=ids["prolific_pid"])
            if not _may_resume(existing, participant_token(request), ids):
                return message(request, "taken", language)
    response = redirect(existing.url())
    attach_participant(response, existing)
    return response


@require_safe
@participant_page(step=None)
def resume(request: HttpRequest, session: Session) -> HttpResponseBase:
    """Send the participant to the step they are on."""
    return redirect(session.url())


@require_http_methods(["GET", "HEAD", "POST"])
@participant_page(step="consent")
def consent(request: HttpRequest, session: Session) -> HttpResponseBase:
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        session.record_consent(form.agreed)
        return redirect(session.url())
    texts = session.study.participant_texts(session.language)
    return render(
        request,
        "participant/consent.html",
        {"session": session, "form": form, "consent_text": texts["consent_text"]},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@participant_page(step="questionnaire")
def questionnaire(request: HttpRequest, session: Session) -> HttpResponseBase:
    return _questionnaire_page(request, session, "start", _("About you"), _("Continue"))


@require_http_methods(["GET", "HEAD", "POST"])
@participant_page(step="calibration")
def calibration(request: HttpRequest, session: Session) -> HttpResponseBase:
    form = CalibrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        flow.record_calibration(session)
        return redirect(session.url())
    key = screening.calibration_key(session)
    return render(request, "participant/calibration.html", {"form": form, "key": key})


@require_http_methods(["GET", "HEAD", "POST"])
@participant_page(step="screening")
def headphone_check(request: HttpRequest, session: Session) -> HttpResponseBase:
    attempt = screening.current_attempt(session)
    form = ScreeningForm(attempt, request.POST or None)
    if request.method == "POST" and form.is_valid():
        screening.score(session, form.answers())
        return redirect(session.url())
    attempts = session.screening.get("attempts") or []
    return render(
        request,
        "participant/screening.html",
        {
            "form": form,
            "groups": [
                {**group, "question": screening.QUESTIONS[group["kind"]]} for group in form.groups
            ],
            "retry": len(attempts) > 1,
            "strings": strings.page_strings(strings.SCREENING_STRINGS),
        },
    )


def _trial_page(request: HttpRequest, session: Session) -> HttpResponseBase:
    trial = session.current_trial()
    if trial is None:  # nothing left (cannot normally happen): move on
        return redirect(session.url())
    trial.mark_started()
    return render(
        request,
        "participant/trial.html",
        {
            "trial": flow.page_data(trial),
            "training": trial.is_training,
            "paradigm": trial.kind,
            "strings": strings.page_strings(reference=session.study.has_reference),
        },
    )


@require_safe
@participant_page(step="training")
def training(request: HttpRequest, session: Session) -> HttpResponseBase:
    return _trial_page(request, session)


@require_safe
@participant_page(step="trial")
def trial(request: HttpRequest, session: Session) -> HttpResponseBase:
    return _trial_page(request, session)


@require_safe
@participant_page(step=None)
def current(request: HttpRequest, session: Session) -> JsonResponse:
    """Say where the session is and describe its current trial, as the trial page's JSON.

    The trial page reads it to show answers saved from another tab when it regains
    focus, and to move to the next trial without reloading (its audio already fetched).
    """
    trial = session.current_trial()
    if trial is None:
        return JsonResponse({"url": session.url(), "trial": None})
    trial.mark_started()
    return JsonResponse({"url": session.url(), "trial": flow.page_data(trial)})


@require_http_methods(["GET", "HEAD", "POST"])
@participant_page(step="final")
def final(request: HttpRequest, session: Session) -> HttpResponseBase:
    return _questionnaire_page(request, session, "final", _("A few last questions"), _("Finish"))


def _questionnaire_page(
    request: HttpRequest, session: Session, stage: str, title: Promise, button: Promise
) -> HttpResponseBase:
    """The study's questionnaire before the trials (``stage="start"``) or after (``"final"``)."""
    form = QuestionnaireForm(session.study.questionnaire, stage, request.POST or None)
    if request.method == "POST" and form.is_valid():
        if stage == "final":
            session.record_final(form.cleaned_data)
            return redirect(session.completion_redirect() or session.url())
        session.record_questionnaire(form.cleaned_data)
        return redirect(session.url())
    return render(
        request, "participant/questionnaire.html", {"form": form, "title": title, "button": button}
    )


@require_safe
@participant_page(step="done")
def done(request: HttpRequest, session: Session) -> HttpResponse:
    return render(
        request,
        "participant/done.html",
        {
            "session": session,
            "code": session.completion_code if session.state == Session.State.COMPLETE else "",
            "redirect_url": session.completion_redirect(),
        },
    )
