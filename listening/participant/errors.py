"""The CSRF failure answer: JSON for the participant's endpoints, a polite page otherwise."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext

from listening.participant import languages
from listening.participant.access import message


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.headers.get("Accept", "").startswith("application/json") or (
        request.content_type == "application/json"
    ):
        # A participant's page may show it: in the browser's language among the shipped ones.
        with translation.override(languages.for_study(request, None)):
            detail = gettext("The request could not be verified (CSRF); reload the page.")
        return JsonResponse({"detail": detail}, status=403)
    response = message(request, "forbidden")
    return response
