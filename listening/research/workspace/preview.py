"""The Preview tab: play any trial of a draft or open study as a participant would.

A preview trial is built by the participants' own code (``Paradigm.plan_items``,
``build_trials``, ``flow.page_data`` and ``session_variant``) inside a transaction that
is rolled back: nothing stays in the database, no session is counted, and the page gets
exactly the JSON, the template and the scripts a participant's trial gets. Only its
URLs are swapped: the audio comes through a researcher-only URL that checks the
researcher's access to the study and serves the same prepared file (the dithered copy
``session_variant`` picked) with the same headers; answers and events go to an
endpoint that accepts them and stores nothing.

Why not the participants' ``/a/<key>``: it serves only to a participant session's
token, and its keys are rows that would have to exist (and be counted) while playing.
The condition keys of a preview live only in the researcher's signed-in session.
"""

from __future__ import annotations

import random
import secrets
from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from listening.models import Condition, Session, Stimulus, Study, Track
from listening.participant import flow
from listening.participant.audio import stream_prepared
from listening.participant.paradigms import get_paradigm
from listening.research.researchers import researcher_required
from listening.research.workspace.access import study_for
from listening.research.workspace.navigation import study_tabs
from listening.stimuli.playback_variants import session_variant

#: Where a researcher's preview keys are kept: {study pk: {condition key: [stimulus pk, file]}}.
SESSION_KEY = "listening.preview"
#: Keys kept per study (a few previews open in tabs at once).
MAX_KEYS = 200


def previewable(study: Study, track: Track) -> str:
    """Why ``track`` cannot be previewed now ("" when it can)."""
    paradigm = get_paradigm(study.paradigm)
    problems = paradigm.validate_track(study, track)
    if problems:
        return "; ".join(problems)
    fingerprint = track.fingerprint()
    waiting = [s for s in track.stimuli.all() if s.effective_status(fingerprint) != "ready"]
    if waiting:
        return f"{len(waiting)} version(s) not prepared yet (see the Audio tab)"
    if not paradigm.plan_items(study, track):
        return "no prepared version to play"
    return ""


def _label(condition: Condition) -> dict[str, str]:
    """What a condition is (for the researcher's Reveal switch)."""
    stimulus = condition.stimulus
    kind = stimulus.get_role_display()
    if stimulus.role == Stimulus.Role.ANCHOR and stimulus.anchor_cutoff_hz:
        kind = f"Anchor (low-pass {stimulus.anchor_cutoff_hz / 1000:g} kHz)"
    if condition.role in (Condition.Role.HIDDEN_REFERENCE, Condition.Role.REFERENCE):
        kind = f"{kind}, {condition.get_role_display().lower()}"
    return {
        "kind": kind,
        "system": stimulus.get_system_display() if stimulus.system != "none" else "",
        "provider": stimulus.provider,
    }


def build_preview(study: Study, track: Track) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """Build one trial of ``track`` as for a new participant, then roll it back.

    Return the page's JSON (the participant's, URLs not yet swapped), the audio map
    {condition key: [stimulus pk, prepared file name]} and the Reveal rows.
    """
    paradigm = get_paradigm(study.paradigm)
    with transaction.atomic():
        session = Session.objects.create(study=study, simulated=True)
        order = list(paradigm.plan_items(study, track))
        rng = random.Random(secrets.randbits(31))
        rng.shuffle(order)  # a new participant's draw, as a random (unbalanced) plan would
        trials = paradigm.build_trials(session, track, order, rng, 1)
        session.plan = {"trials": len(trials)}
        trial = trials[0]
        data = flow.page_data(trial)
        conditions = list(trial.conditions.select_related("stimulus", "trial"))
        files = {c.key: [c.stimulus_id, session_variant(c).name] for c in conditions}
        by_key = {c.key: c for c in conditions}
        reveal = [
            {"label": item["label"], **_label(by_key[item["key"]])} for item in data["conditions"]
        ]
        if data.get("reference"):
            reveal.append({"label": "Reference", **_label(by_key[data["reference"]["key"]])})
        transaction.set_rollback(True)  # nothing of the preview stays
    return data, files, reveal


@require_safe
@researcher_required
def trials(request: HttpRequest, pk: int) -> HttpResponse:
    """List the study's trials (one per track) and whether each can be played."""
    study = study_for(request, pk)
    tracks = [
        (track, previewable(study, track))
        for track in study.tracks.prefetch_related("stimuli").order_by("position", "pk")
    ]
    return render(
        request,
        "workspace/preview_list.html",
        {
            "study": study,
            "study_tabs": study_tabs(study.pk, "workspace:preview"),
            "tracks": tracks,
            "closed": study.status == Study.Status.CLOSED,
        },
    )


@require_safe
@researcher_required
def trial(request: HttpRequest, pk: int, track_pk: int) -> HttpResponse:
    """Play a trial of the track exactly as a participant would; nothing is recorded."""
    study = study_for(request, pk)
    track = get_object_or_404(study.tracks.prefetch_related("stimuli"), pk=track_pk)
    if study.status == Study.Status.CLOSED:
        raise Http404("A closed study is not previewed.")
    problem = previewable(study, track)
    if problem:
        raise Http404(problem)
    data, files, reveal = build_preview(study, track)
    keys = request.session.get(SESSION_KEY, {})
    mine = {**keys.get(str(study.pk), {}), **files}
    keys[str(study.pk)] = dict(list(mine.items())[-MAX_KEYS:])
    request.session[SESSION_KEY] = keys
    audio = reverse("workspace:preview-audio", args=[study.pk, "KEY"])
    answers = reverse("workspace:preview-answers", args=[study.pk])
    data.update(
        audio_url_template=audio.replace("KEY", "{key}"),
        save_url=answers,
        events_url=answers,
        next_url=reverse("workspace:preview", args=[study.pk]),
        state_url=None,
        prefetch=[],
    )
    return render(
        request,
        "workspace/preview_trial.html",
        {
            "trial": data,
            "training": False,
            "paradigm": data["paradigm"],
            "study": study,
            "track": track,
            "reveal": reveal,
        },
    )


@require_safe
@researcher_required
def audio(request: HttpRequest, pk: int, key: str) -> HttpResponseBase:
    """Serve a preview condition's prepared file, as ``/a/<key>`` serves participants."""
    study = study_for(request, pk)
    entry = request.session.get(SESSION_KEY, {}).get(str(study.pk), {}).get(key)
    if entry is None:
        raise Http404()
    stimulus_pk, name = entry
    stimulus = Stimulus.objects.filter(
        pk=stimulus_pk, track__study=study, status=Stimulus.Status.READY
    ).first()
    if stimulus is None or not stimulus.prepared:
        raise Http404()
    # Only a file of this stimulus (its playback file or one of its dithered copies).
    known = {stimulus.prepared.name, *(stimulus.prepared_pool or [])}
    if stimulus.prepared_variant:
        known.add(stimulus.prepared_variant.name)
    if name not in known:
        raise Http404()
    field = stimulus._meta.get_field("prepared")
    return stream_prepared(request, field.attr_class(stimulus, field, name))


@require_POST
@researcher_required
def discard(request: HttpRequest, pk: int) -> JsonResponse:
    """Accept a preview's answers and listening events, and store nothing."""
    study_for(request, pk)
    return JsonResponse({"recorded": False})
