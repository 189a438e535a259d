"""The researcher's results pages: a live dashboard of a study and its export downloads.

Every view needs researcher rights (``researcher_required``: anonymous visitors are
sent to the login page, accounts without the rights get 403) and reaches the study
through ``get_study_for_user`` (404 for other people's studies). The tables themselves are
built and streamed by :mod:`listening.exports`; these views only pick what to send.
"""

from __future__ import annotations

import statistics
from typing import Any, cast

from django.db.models import Avg, Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework.request import Request

from listening import exports
from listening.api.permissions import get_study_for_user
from listening.exports import (
    ROW_BUILDERS,
    TABLES,
    bundle_response,
    condition_kind,
    streaming_response,
)
from listening.models import AbxAnswer, PreferenceAnswer, Rating, Session, Study
from listening.planning import plan_from_ratings
from listening.researchers import researcher_required

#: Everything the download views accept: the tidy tables and the webMUSHRA layout.
EXPORTABLE = (*ROW_BUILDERS, "webmushra")


def _study(request: HttpRequest, pk: int) -> Study:
    # The one access rule of the API (it only reads request.user): 404, never 403.
    return get_study_for_user(cast(Request, request), pk)


def participation(study: Study) -> dict[str, Any]:
    """Count sessions per outcome and the median duration of completed ones."""
    sessions = Session.objects.filter(study=study)
    by_state = dict(sessions.order_by().values_list("state").annotate(n=Count("pk")))
    total = sum(by_state.values())
    finished = sum(by_state.get(state, 0) for state in Session.FINISHED)
    durations = [
        (end - start).total_seconds()
        for start, end in sessions.filter(state=Session.State.COMPLETE).values_list(
            "started_at", "completed_at"
        )
        if start and end
    ]
    median = statistics.median(durations) if durations else None
    return {
        "started": total,
        "in_progress": total - finished,
        "completed": by_state.get(Session.State.COMPLETE, 0),
        "screened_out": by_state.get(Session.State.SCREENED_OUT, 0),
        "declined": by_state.get(Session.State.DECLINED, 0),
        "withdrawn": by_state.get(Session.State.WITHDRAWN, 0),
        "simulated": sessions.filter(simulated=True).count(),
        "median_minutes": round(median / 60, 1) if median is not None else None,
    }


def _label(kind: str, system: str, provider: str) -> str:
    if kind == "hidden_reference":
        return "Hidden reference"
    if kind.startswith("anchor_"):
        return f"Anchor {int(kind.removeprefix('anchor_')) / 1000:g} kHz"
    if kind == "mix":
        return "Mix (unmastered)"
    name = {"ai": "AI master", "human": "Human master"}.get(system, system)
    return f"{name} ({provider})" if provider else name


def running_means(study: Study) -> list[dict[str, Any]]:
    """Mean score per attribute and condition so far (all answers, before post-screening)."""
    rows = (
        Rating.objects.filter(trial__session__study=study, trial__is_training=False)
        .order_by()
        .values(
            "attribute",
            "condition__role",
            "condition__stimulus__role",
            "condition__stimulus__anchor_cutoff_hz",
            "condition__stimulus__system",
            "condition__stimulus__provider",
        )
        .annotate(n=Count("pk"), mean=Avg("score"))
    )
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        kind = condition_kind(
            row["condition__role"],
            row["condition__stimulus__role"],
            row["condition__stimulus__anchor_cutoff_hz"],
        )
        label = _label(
            kind, row["condition__stimulus__system"], row["condition__stimulus__provider"]
        )
        entry = merged.setdefault(
            (row["attribute"], label),
            {"attribute": row["attribute"], "condition": label, "n": 0, "sum": 0.0},
        )
        entry["n"] += row["n"]
        entry["sum"] += row["mean"] * row["n"]
    table = [{**e, "mean": round(e["sum"] / e["n"], 1)} for e in merged.values() if e["n"]]
    return sorted(table, key=lambda e: (e["attribute"], -e["mean"]))


def choice_summary(study: Study) -> dict[str, Any]:
    """ABX hits so far, and AB preferences per attribute and chosen system."""
    abx = AbxAnswer.objects.filter(
        trial__session__study=study, trial__is_training=False, answer__isnull=False
    ).aggregate(n=Count("pk"), correct=Count("pk", filter=Q(correct=True)))
    preferences = (
        PreferenceAnswer.objects.filter(trial__session__study=study, trial__is_training=False)
        .order_by("attribute", "choice__stimulus__system")
        .values("attribute", "choice__stimulus__system")
        .annotate(n=Count("pk"))
    )
    return {
        "abx": {**abx, "share": round(100 * abx["correct"] / abx["n"], 1) if abx["n"] else None},
        "preferences": [
            {
                "attribute": p["attribute"],
                "choice": p["choice__stimulus__system"] or "no preference",
                "n": p["n"],
            }
            for p in preferences
        ],
    }


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
