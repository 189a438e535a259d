"""The CSRF failure answer: JSON for the participant's endpoints, a polite page otherwise."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from listening.views.access import message


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.headers.get("Accept", "").startswith("application/json") or (
        request.content_type == "application/json"
    ):
        return JsonResponse(
            {"detail": "The request could not be verified (CSRF); reload the page."}, status=403
        )
    response = message(request, "forbidden")
    return response
