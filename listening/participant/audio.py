"""Serve prepared audio to participants through opaque per-session keys, with HTTP Range.

``/a/<key>`` answers only when the request carries the participant session that owns
the condition: the signed cookie set by :func:`attach_participant`, or the session
token in the ``X-Session-Token`` header. Anything else is a plain 404, the same as an
unknown key, so keys cannot be probed. Responses name nothing: no file name, no
Content-Disposition, no ETag or Last-Modified, and are never stored by caches.

When a condition's response ends, the bytes it sent are recorded for its session
(``listening.participant.evidence``): the server's own evidence that the trial's audio was
delivered.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

from django.conf import settings
from django.core.signing import BadSignature
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_safe

from listening.models import Condition, Session, Stimulus
from listening.participant import evidence
from listening.stimuli.playback_variants import session_variant

PARTICIPANT_COOKIE = "listening_session"
PARTICIPANT_HEADER = "HTTP_X_SESSION_TOKEN"
_COOKIE_SALT = "listening.participant"
_CHUNK = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def attach_participant(response: HttpResponseBase, session: Session) -> None:
    """Remember in a signed, HTTP-only cookie which participant session this browser runs."""
    response.set_signed_cookie(
        PARTICIPANT_COOKIE,
        session.token,
        salt=_COOKIE_SALT,
        max_age=14 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=not settings.DEBUG,
    )


def participant_token(request: HttpRequest) -> str | None:
    """Return the participant session token the request carries, if any."""
    header = request.META.get(PARTICIPANT_HEADER)
    if header:
        return str(header)
    try:
        return request.get_signed_cookie(PARTICIPANT_COOKIE, salt=_COOKIE_SALT)
    except (KeyError, BadSignature):
        return None


#: What serving a condition's file reads: its role, its session's token and its stimulus's files.
AUDIO_FIELDS = (
    "role",
    "trial__session__token",
    "stimulus__status",
    "stimulus__prepared",
    "stimulus__prepared_variant",
    "stimulus__prepared_pool",
)


@require_safe
def serve_condition(request: HttpRequest, key: str) -> HttpResponseBase:
    """Stream a condition's prepared file (or a screening clip) to the session that owns it."""
    from listening.participant import screening

    token = participant_token(request)
    if token is None:
        raise Http404()
    # Only the columns the checks and the file need (every audio request runs this: the
    # session's plan and the stimulus's metrics are JSON that would be decoded for
    # nothing), and no ORDER BY for a unique key: 0.5 ms a lookup instead of 1.2 ms.
    condition = next(
        iter(
            Condition.objects.select_related("trial__session", "stimulus")
            .only(*AUDIO_FIELDS)
            .filter(key=key)
            .order_by()[:1]
        ),
        None,
    )
    if condition is not None:
        playback = _playback_file(condition)
        if (
            not constant_time_compare(condition.trial.session.token, token)
            or condition.stimulus.status != Stimulus.Status.READY
            or not playback
        ):
            raise Http404()
        size = playback.size
        session_id, condition_id = condition.trial.session.pk, condition.pk

        def sent(first: int, count: int) -> None:
            evidence.record_delivery(session_id, condition_id, first, count, size)

        return _stream(request, size, playback.open, on_sent=sent)
    session = Session.objects.by_token(token)
    found = (
        screening.clip(session, key) if session is not None and not session.is_finished else None
    )
    if found is None:
        raise Http404()
    data, once = found
    if not once or request.method == "HEAD":  # the calibration signal loops; HEAD sends none
        return _stream(request, len(data), lambda mode: io.BytesIO(data))
    # A screening clip is sent once: each of its bytes at most once per session.
    assert session is not None
    wanted = requested_range(request, len(data))
    if wanted is None:
        return _unsatisfiable(len(data))
    granted = screening.reserve(session, key, *wanted)
    if granted is None:
        response = HttpResponse(
            "This sound has already been played: each sound plays only once.",
            status=410,
            content_type="text/plain; charset=utf-8",
        )
        return _private(response)
    return _stream(request, len(data), lambda mode: io.BytesIO(data), granted=granted)


def stream_prepared(request: HttpRequest, playback: Any) -> HttpResponseBase:
    """Stream a prepared file (a FieldFile) with the participants' headers and Range
    handling, recording nothing (the researcher's preview: listening.research.workspace.preview)."""
    return _stream(request, playback.size, playback.open)


def requested_range(request: HttpRequest, size: int) -> tuple[int, int, bool] | None:
    """The bytes a request asks for: (first, last, whether by Range); None: unsatisfiable."""
    header = request.headers.get("Range")
    if not header:
        return 0, size - 1, False
    parsed = parse_range(header, size)
    return None if parsed is None else (*parsed, True)


def _unsatisfiable(size: int) -> HttpResponseBase:
    response = HttpResponse(status=416)
    response["Content-Range"] = f"bytes */{size}"
    return _private(response)


def _playback_file(condition: Condition) -> Any:
    """The dithered copy of the condition's file drawn for its session and trial."""
    return session_variant(condition)


def _stream(
    request: HttpRequest,
    size: int,
    opener: Callable[[str], IO[bytes]],
    on_sent: Callable[[int, int], None] | None = None,
    granted: tuple[int, int] | None = None,
) -> HttpResponseBase:
    """Answer with the file, the requested range or the ``granted`` one (first, last);
    ``on_sent(first, count)`` is told, when the response ends, how many bytes went out."""
    if granted is not None:
        first, last = granted
        partial = (first, last) != (0, size - 1) or "Range" in request.headers
    else:
        wanted = requested_range(request, size)
        if wanted is None:
            return _unsatisfiable(size)
        first, last, partial = wanted
    length = last - first + 1
    f = opener("rb")
    f.seek(first)
    counted = CountingFile(f, first)
    status = 206 if partial else 200
    streaming: Tallied
    if request.method == "GET" and last == size - 1:
        streaming = FileRest(counted, length, status=status, content_type="audio/flac")
    else:
        content = read_range(counted, length) if request.method == "GET" else iter(())
        streaming = Tallied(content, status=status, content_type="audio/flac")
        streaming.counted = counted
    streaming.on_sent = on_sent
    streaming["Content-Length"] = str(length)
    streaming["Accept-Ranges"] = "bytes"
    if partial:
        streaming["Content-Range"] = f"bytes {first}-{last}/{size}"
    if request.method == "HEAD":
        f.close()
    return _private(streaming)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Parse a single ``bytes=`` range; return (first, last) inclusive, or None if unsatisfiable.

    Several ranges at once are not served (browsers never ask for them when playing media).
    """
    match = _RANGE.match(header.strip())
    if match is None or size == 0:
        return None
    start, end = match.groups()
    if not start and not end:
        return None
    if not start:  # the last N bytes
        suffix = int(end)
        if suffix == 0:
            return None
        return max(0, size - suffix), size - 1
    first = int(start)
    last = int(end) if end else size - 1
    if first >= size or last < first:
        return None
    return first, min(last, size - 1)


class CountingFile:
    """An open file a response sends from byte ``first``, counting how far it got.

    Read through Python (the test client, wsgiref, gunicorn without sendfile), the reads
    are counted. Sent by ``socket.sendfile`` (gunicorn), which is documented to seek the
    file to where it stopped, on return and on error, the seek tells (gunicorn then moves
    the descriptor back itself, so the file's position alone would not).
    """

    def __init__(self, f: IO[bytes], first: int) -> None:
        self.f, self.first, self.reached = f, first, first
        self._close = f.close  # kept: Django may point ``close`` at the response's

    @property
    def sent(self) -> int:
        return self.reached - self.first

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.reached += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self.f.seek(offset, whence)
        self.reached = max(self.reached, position)
        return position

    def tell(self) -> int:
        return self.f.tell()

    def fileno(self) -> int:
        return self.f.fileno()  # raises for files without a descriptor (object storage)

    def close(self) -> None:
        self._close()


class Tallied(StreamingHttpResponse):
    """A streaming response that reports, when it ends, the bytes of its file it sent."""

    counted: CountingFile | None = None
    on_sent: Callable[[int, int], None] | None = None

    def _report(self) -> None:
        counted, on_sent = self.counted, self.on_sent
        self.on_sent = None  # once, even if close() is called again
        if counted is not None and on_sent is not None and counted.sent > 0:
            on_sent(counted.first, counted.sent)

    def close(self) -> None:
        try:
            self._report()
        finally:
            super().close()


class FileRest(Tallied):
    """The rest of an open file from its current position (what browsers ask for:
    ``bytes=N-``). Django hands ``file_to_stream`` to the WSGI server's file wrapper,
    so gunicorn sends it with ``sendfile`` instead of copying it through Python; without
    a file wrapper (the test client) the content streams as usual. No file name goes
    out: this is not ``FileResponse``, which would add one in Content-Disposition."""

    block_size = _CHUNK

    def __init__(self, f: CountingFile, length: int, **kwargs: Any) -> None:
        super().__init__(read_range(f, length), **kwargs)
        self.counted = self.file_to_stream = f

    def close(self) -> None:
        try:
            self._report()
            if self.counted is not None:
                self.counted._close()
        finally:
            super().close()


def read_range(f: IO[bytes] | CountingFile, length: int) -> Iterator[bytes]:
    """Yield ``length`` bytes of ``f`` from where it stands, in chunks; close it at the end."""
    try:
        while length > 0:
            chunk = f.read(min(_CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        f.close()


def _private(response: HttpResponseBase) -> HttpResponseBase:
    # The key is per session, but a shared machine must not replay it from a cache either.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Vary"] = "Cookie, X-Session-Token"
    return response
