"""Workspace pages of the builder area: the study list, the builder, the overview and launch."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from listening.models import Session, Study
from listening.models.spans import track_span
from listening.research import opening
from listening.research.researchers import researcher_required
from listening.research.workspace.access import study_for
from listening.research.workspace.launch_links import launch_links
from listening.research.workspace.navigation import study_tabs
from listening.research.workspace.study_builder import StudyBuilder, error_summary


def _study_page(study: Study, current: str, **context: Any) -> dict[str, Any]:
    return {"study": study, "study_tabs": study_tabs(study.pk, current), **context}


@researcher_required
def home(request: HttpRequest) -> HttpResponse:
    """List the researcher's studies, own and shared, with status and progress."""
    studies = (
        Study.objects.for_user(request.user)
        .select_related("owner")
        .order_by("-created_at", "-pk")  # newest first; ties (one transaction) by id
        .annotate(
            completed=Count(
                "sessions", filter=Q(sessions__state=Session.State.COMPLETE), distinct=True
            )
        )
    )
    rows = [{"study": study, "progress": study.progress()} for study in studies]
    return render(request, "workspace/home.html", {"rows": rows})


@researcher_required
def new(request: HttpRequest) -> HttpResponse:
    """Create a study with the builder's forms."""
    builder = StudyBuilder(request)
    if request.method == "POST":
        study = builder.save()
        if study is not None:
            return redirect("workspace:study", study.pk)
    return _builder_page(request, builder, {})


@researcher_required
def edit_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a study's settings (what an open study may no longer change is shown fixed)."""
    study = study_for(request, pk)
    builder = StudyBuilder(request, study)
    if request.method == "POST":
        saved = builder.save()
        if saved is not None:
            return redirect("workspace:study", saved.pk)
    shortest = shortest_track(study)
    if shortest is not None:
        builder.form.notes["excerpt_start"] = (
            f"Shortest track: {shortest['title']!r}, whose versions share {shortest['span']} "
            f"of the mix ({shortest['seconds']:.1f} s); the excerpt must fit inside it."
        )
    return _builder_page(request, builder, _study_page(study, "workspace:settings"))


def _builder_page(
    request: HttpRequest, builder: StudyBuilder, context: dict[str, Any]
) -> HttpResponse:
    status = 400 if request.method == "POST" else 200  # reached on POST only when refused
    builder.form.notes.setdefault(
        "excerpt_start",
        "No audio uploaded yet: the excerpt is checked against every track once it is.",
    )
    context = {**context, "builder": builder, "error_lines": error_summary(builder)}
    return render(request, "workspace/study_form.html", context, status=status)


@researcher_required
def study(request: HttpRequest, pk: int) -> HttpResponse:
    """A study's overview: status, counts and what is missing before it can open."""
    study = study_for(request, pk)
    sessions = study.sessions.aggregate(
        started=Count("pk"), completed=Count("pk", filter=Q(state=Session.State.COMPLETE))
    )
    context = _study_page(
        study,
        "workspace:study",
        progress=study.progress(),
        tracks=study.tracks.count(),
        sessions=sessions,
        problems=opening.problems_before_opening(study) if study.is_draft else [],
    )
    return render(request, "workspace/study.html", context)


@researcher_required
def launch(request: HttpRequest, pk: int) -> HttpResponse:
    """The participant link, the Prolific URL, completion details, a QR code, open/close."""
    study = study_for(request, pk)
    return render(request, "workspace/launch.html", _launch_context(request, study))


def _launch_context(request: HttpRequest, study: Study, **extra: Any) -> dict[str, Any]:
    return _study_page(study, "workspace:launch", links=launch_links(request, study), **extra)


@require_POST
@researcher_required
def open_study(request: HttpRequest, pk: int) -> HttpResponse:
    """Open the study (listening.research.opening, as the API); else list what is missing."""
    study = study_for(request, pk)
    try:
        opening.open_study(study)
    except ValidationError as exc:
        context = _launch_context(request, study, problems=exc.messages)
        return render(request, "workspace/launch.html", context, status=400)
    return redirect("workspace:launch", study.pk)


@require_POST
@researcher_required
def close_study(request: HttpRequest, pk: int) -> HttpResponse:
    """Close an open study (Study.close, as the API): no new participants, data kept."""
    study = study_for(request, pk)
    if study.status != Study.Status.OPEN:
        problems = [f"the study is {study.status}, not open"]
        context = _launch_context(request, study, problems=problems)
        return render(request, "workspace/launch.html", context, status=400)
    study.close()
    return redirect("workspace:launch", study.pk)


def shortest_track(study: Study) -> dict[str, Any] | None:
    """The track whose versions share the shortest stretch of the mix: the longest excerpt
    that fits every track (None before any upload)."""
    shortest: dict[str, Any] | None = None
    for track in study.tracks.prefetch_related("stimuli"):
        if not track.sources:
            continue
        span = track_span(track)
        if math.isfinite(span.length) and (shortest is None or span.length < shortest["seconds"]):
            shortest = {"title": track.title, "seconds": span.length, "span": span.describe()}
    return shortest
