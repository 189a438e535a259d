"""The researcher's results pages: a live dashboard of a study and its export downloads.

Every view needs researcher rights (``researcher_required``: anonymous visitors are
sent to the login page, accounts without the rights get 403) and reaches the study
through ``get_study_for_user`` (404 for other people's studies). The tables themselves are
built and streamed by :mod:`listening.research.exports`; these views only pick what to send.
"""

from __future__ import annotations

from typing import cast

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework.request import Request

from listening.models import Study
from listening.research import exports
from listening.research.api.permissions import get_study_for_user
from listening.research.exports import (
    ROW_BUILDERS,
    TABLES,
    bundle_response,
    streaming_response,
)
from listening.research.planning import plan_from_ratings
from listening.research.researchers import researcher_required
from listening.research.results.summary import choice_summary, participation, running_means

#: Everything the download views accept: the tidy tables and the webMUSHRA layout.
EXPORTABLE = (*ROW_BUILDERS, "webmushra")


def _study(request: HttpRequest, pk: int) -> Study:
    # The one access rule of the API (it only reads request.user): 404, never 403.
    return get_study_for_user(cast(Request, request), pk)


def _planning_inputs(request: HttpRequest) -> tuple[float, float] | None:
    """The planning form's difference and power, when it was submitted and valid."""
    if "difference" not in request.GET:
        return None
    try:
        difference = float(request.GET["difference"])
        power = float(request.GET.get("power", "0.8"))
    except ValueError:
        return None
    if not (0 < abs(difference) <= 100 and 0.5 <= power < 1):
        return None
    return difference, power


@researcher_required
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(request, pk)
    inputs = _planning_inputs(request)
    context = {
        "study": study,
        "progress": participation(study),
        "means": running_means(study),
        "choices": choice_summary(study),
        "tables": list(TABLES),
        "updated": timezone.now(),
        "plan_inputs": inputs or (5.0, 0.8),
        "plan": plan_from_ratings(study, *inputs) if inputs else None,
    }
    return render(request, "results/dashboard.html", context)


@researcher_required
def export_table(request: HttpRequest, pk: int, table: str, fmt: str) -> StreamingHttpResponse:
    study = _study(request, pk)
    if table not in EXPORTABLE or (table == "webmushra" and fmt != "csv"):
        raise Http404(f"no export called {table}.{fmt}")
    return streaming_response(study, table, fmt)


@researcher_required
def export_bundle(request: HttpRequest, pk: int) -> FileResponse:
    return bundle_response(_study(request, pk))


@researcher_required
def report(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the study's HTML report (the same one the bundle holds), computed now."""
    study = _study(request, pk)
    return HttpResponse(exports.study_report(study), content_type="text/html; charset=utf-8")
