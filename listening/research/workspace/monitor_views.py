"""The live dashboard of a study: the page, and the JSON it polls to update in place."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache

from listening.research.researchers import researcher_required
from listening.research.results.summary import running_means
from listening.research.workspace import monitor
from listening.research.workspace.access import study_for
from listening.research.workspace.navigation import study_tabs

#: The page's parts the JSON endpoint sends again (templates/workspace/monitor/_<name>.html).
SECTIONS = ("progress", "rates", "estimate")


def _context(request: HttpRequest, pk: int) -> dict[str, Any]:
    study = study_for(request, pk)
    return {
        "study": study,
        "study_tabs": study_tabs(study.pk, "workspace:monitor"),
        **monitor.dashboard(study),
    }


@researcher_required
@never_cache
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    context = _context(request, pk)
    context["means"] = running_means(context["study"])
    return render(request, "workspace/monitor.html", context)


@researcher_required
@never_cache
def dashboard_data(request: HttpRequest, pk: int) -> JsonResponse:
    """Send the numbers and the re-rendered sections (charts and their tables)."""
    context = _context(request, pk)
    progress, estimate = context["progress"], context["estimate"]
    return JsonResponse(
        {
            "numbers": {
                "started": progress["started"],
                "in_progress": progress["in_progress"],
                "completed": progress["completed"],
                "screened_out": progress["screened_out"],
                "estimate_computed_at": estimate["computed_at"],
            },
            "sections": {
                name: render_to_string(f"workspace/monitor/_{name}.html", context, request)
                for name in SECTIONS
            },
            "updated": context["updated"].isoformat(timespec="seconds"),
        }
    )
