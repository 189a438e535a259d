"""The Audio tab: a study's tracks and their files, uploads, and preparation progress.

Uploads and new tracks go through the API's serializers (``StimulusUploadSerializer``,
``TrackSerializer``), whose admission is :func:`listening.stimuli.admission.admit_upload`, the
admin's too: a file the API refuses is refused here, with the same message. The
progress JSON is the API's (``Study.progress`` and ``Study.stimulus_progress``); retry
and "prepare now" queue the same tasks as the API and the admin.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from listening.models import Stimulus, Study
from listening.research.api.serializers import TrackSerializer
from listening.research.api.stimulus_serializers import StimulusUploadSerializer
from listening.research.researchers import researcher_required
from listening.research.workspace.access import study_for
from listening.research.workspace.navigation import study_tabs
from listening.stimuli.manifest import ManifestError, read_manifest
from listening.stimuli.tasks import enqueue_preparation, enqueue_track
from listening.stimuli.uploads import upload_refused

#: Largest manifest read (a CSV of file names; thousands of rows fit).
MAX_MANIFEST_BYTES = 1024 * 1024


def _messages(errors: Any) -> list[str]:
    """Flatten a serializer's errors into sentences that name the field (the file's name
    is already in every file message)."""
    if isinstance(errors, list):
        return [m for e in errors for m in _messages(e)]
    if isinstance(errors, dict):
        out = []
        for field, value in errors.items():
            for message in _messages(value):
                quiet = field in ("file", "non_field_errors")
                out.append(message if quiet else f"{field}: {message}")
        return out
    return [str(errors)]


def _refused(errors: list[str], **extra: Any) -> JsonResponse:
    """The page's JSON answer to a refused request (the name, when given, of the file)."""
    return JsonResponse({"ok": False, **extra, "errors": errors}, status=400)


def _progress(study: Study) -> dict[str, Any]:
    """The API's progress, plus what the page lists: every track and each file's name."""
    rows = study.stimulus_progress()
    files = dict(Stimulus.objects.filter(track__study=study).values_list("pk", "original_filename"))
    for row in rows:
        row["file"] = files.get(row["id"], "")
    tracks = [
        {"id": t.pk, "title": t.title, "genre": t.genre}
        for t in study.tracks.order_by("position", "pk")
    ]
    return {**study.progress(), "stimuli": rows, "tracks": tracks, "status": study.status}


@require_safe
@researcher_required
def audio(request: HttpRequest, pk: int) -> HttpResponse:
    """List the study's tracks and versions, with forms to add tracks and files."""
    study = study_for(request, pk)
    tracks = list(study.tracks.order_by("position", "pk"))
    urls = {
        "upload": reverse("workspace:audio-upload", args=[study.pk]),
        "track": reverse("workspace:audio-track", args=[study.pk]),
        "manifest": reverse("workspace:audio-manifest", args=[study.pk]),
        "progress": reverse("workspace:audio-progress", args=[study.pk]),
        "prepare": reverse("workspace:audio-prepare", args=[study.pk]),
        "retry": reverse("workspace:audio-retry", args=[study.pk, 0]),
    }
    return render(
        request,
        "workspace/audio.html",
        {
            "study": study,
            "study_tabs": study_tabs(study.pk, "workspace:audio"),
            "tracks": tracks,
            "progress": _progress(study),
            "urls": urls,
            "systems": [(Stimulus.System.AI, "AI"), (Stimulus.System.HUMAN, "Human")],
        },
    )


@require_safe
@researcher_required
def progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Preparation progress of the study and of each stimulus (as the API's progress)."""
    return JsonResponse(_progress(study_for(request, pk)))


@require_POST
@researcher_required
def add_track(request: HttpRequest, pk: int) -> JsonResponse:
    """Add a track (title, genre) to a draft study."""
    study = study_for(request, pk)
    serializer = TrackSerializer(
        data={
            "study": study.pk,
            "title": request.POST.get("title", ""),
            "genre": request.POST.get("genre", ""),
            "position": study.tracks.count(),
        },
        context={"request": request},
    )
    if not serializer.is_valid():
        return _refused(_messages(serializer.errors))
    track = serializer.save()
    return JsonResponse({"ok": True, "track": {"id": track.pk, "title": track.title}})


@require_POST
@researcher_required
def upload(request: HttpRequest, pk: int) -> JsonResponse:
    """Admit one uploaded file (mix or master) to a track of the study, as the API does."""
    study = study_for(request, pk)
    request.POST  # noqa: B018  (parse now: the upload handler may have cut the body off)
    name = request.POST.get("name", "") or getattr(request.FILES.get("file"), "name", "")
    refused = upload_refused(request)
    if refused is not None:
        return _refused([refused], name=name)
    track_id = request.POST.get("track", "")
    if not study.tracks.filter(pk=int(track_id) if track_id.isdigit() else -1).exists():
        return _refused(["choose a track of this study"], name=name)
    data = {key: request.POST.get(key, "") for key in ("track", "role", "system", "provider")}
    if not data["system"]:
        del data["system"]  # a mix's system is filled in by the serializer
    serializer = StimulusUploadSerializer(
        data={**data, "file": request.FILES.get("file")}, context={"request": request}
    )
    if not serializer.is_valid():
        return _refused(_messages(serializer.errors), name=name)
    with transaction.atomic():
        stimulus = serializer.save()
        enqueue_track(stimulus.track)
    return JsonResponse(
        {"ok": True, "name": name, "stimulus": {"id": stimulus.pk, "label": stimulus.describe()}}
    )


@require_POST
@researcher_required
def manifest(request: HttpRequest, pk: int) -> JsonResponse:
    """Read a folder's manifest and create its tracks; answer the rows for the uploads."""
    study = study_for(request, pk)
    if not study.is_draft:
        return _refused([f"the study is {study.status}; it no longer takes uploads"])
    upload = request.FILES.get("manifest")
    if upload is None or (upload.size or 0) > MAX_MANIFEST_BYTES:
        return _refused(["send the manifest (a CSV file of at most 1 MB)"])
    try:
        text = upload.read().decode("utf-8-sig")
        rows = read_manifest(text.splitlines(), name=upload.name or "manifest.csv")
    except (UnicodeDecodeError, ManifestError) as exc:
        message = str(exc) if isinstance(exc, ManifestError) else "the manifest is not UTF-8 text"
        return _refused([message])
    tracks = {t.title: t for t in study.tracks.all()}
    errors: list[str] = []
    with transaction.atomic():
        for row in rows:
            if not row.track or row.track in tracks:
                continue
            serializer = TrackSerializer(
                data={
                    "study": study.pk,
                    "title": row.track,
                    "genre": row.genre,
                    "position": len(tracks),
                },
                context={"request": request},
            )
            if serializer.is_valid():
                tracks[row.track] = serializer.save()
            else:
                errors.extend(f"row {row.number}: {m}" for m in _messages(serializer.errors))
        if errors:
            transaction.set_rollback(True)
    if errors:
        return _refused(errors)
    # Masters align to their track's mix: upload the mixes first.
    ordered = sorted(rows, key=lambda r: (r.role != "mix", r.number))
    return JsonResponse(
        {
            "ok": True,
            "rows": [
                {
                    "row": r.number,
                    "file": r.file,
                    "track": tracks[r.track].pk if r.track in tracks else None,
                    "track_title": r.track,
                    "role": r.role,
                    "system": r.system,
                    "provider": r.provider,
                }
                for r in ordered
            ],
        }
    )


@require_POST
@researcher_required
def retry(request: HttpRequest, pk: int, track_pk: int) -> JsonResponse:
    """Queue preparation of one track again (the admin's "re-prepare" action)."""
    study = study_for(request, pk)
    track = get_object_or_404(study.tracks.select_related("study"), pk=track_pk)
    if not study.is_draft:
        return _refused([f"the study is {study.status}; its files are locked"])
    queued = enqueue_track(track, force=True)
    return JsonResponse({"ok": True, "queued_tracks": queued})


@require_POST
@researcher_required
def prepare(request: HttpRequest, pk: int) -> JsonResponse:
    """Queue preparation of every track whose files are missing or outdated (the API's)."""
    study = study_for(request, pk)
    if not study.is_draft:
        return _refused([f"the study is {study.status}; its files are locked"])
    queued = enqueue_preparation(study)
    return JsonResponse({"ok": True, "queued_tracks": queued})
