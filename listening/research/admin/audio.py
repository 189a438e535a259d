"""Researchers listen to originals and prepared files from the admin (issue 15, item 9).

``/admin/listening/stimulus/<pk>/audio/original/`` (and ``.../prepared/``) streams a
stimulus's original upload or its prepared playback file to a signed-in staff user who
may see the stimulus (the admin's own scoping: owners, collaborators, superusers;
anything else is 404), with HTTP Range so the browser's player can seek. Participants
never reach these URLs: the admin requires a staff login, and participant audio goes
through ``/a/<key>`` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath
from typing import IO

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from listening.models import Stimulus
from listening.participant.audio import parse_range, read_range

KINDS = ("original", "prepared")
_TYPES = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".caf": "audio/x-caf",
}


@require_safe
def stimulus_audio(request: HttpRequest, pk: int, kind: str) -> HttpResponseBase:
    """Stream a stimulus's original or prepared file to a researcher who may see it."""
    from listening.research.admin.stimuli import StimulusAdmin

    model_admin = admin.site._registry[Stimulus]
    if kind not in KINDS or not isinstance(model_admin, StimulusAdmin):
        raise Http404()
    stimulus = get_object_or_404(model_admin.get_queryset(request), pk=pk)
    stored = stimulus.original if kind == "original" else stimulus.prepared
    if not stored:
        raise Http404()
    size = stored.size
    content_type = _TYPES.get(
        PurePath(stored.name or "").suffix.lower(), "application/octet-stream"
    )
    first, last, partial = 0, size - 1, False
    header = request.headers.get("Range")
    if header:
        parsed = parse_range(header, size)
        if parsed is None:
            refused = HttpResponse(status=416)
            refused["Content-Range"] = f"bytes */{size}"
            return refused
        (first, last), partial = parsed, True
    f = stored.open("rb")
    f.seek(first)
    length = last - first + 1
    body = read_range(f, length) if request.method == "GET" else _closed(f)
    response = StreamingHttpResponse(
        body, status=206 if partial else 200, content_type=content_type
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    if partial:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    return response


def _closed(f: IO[bytes]) -> Iterator[bytes]:
    f.close()
    return iter(())
