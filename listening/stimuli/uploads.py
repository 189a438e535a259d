"""Stop reading an upload as soon as it is certainly too large, so nothing past the limit is kept.

Django would otherwise stream the whole body to a temporary file before any validation
runs. This handler, first in ``FILE_UPLOAD_HANDLERS``, refuses a request whose declared
length is above ``AUDIO_UPLOAD_MAX_BYTES`` plus a margin for the form's other parts
without reading it, and stops a file mid-stream once it passes the limit (for chunked
requests, which declare no length). The view then reports :func:`upload_refused`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from listening.stimuli.originals import safe_filename

#: Room for the multipart headers and the small fields sent with the file.
MARGIN = 1024 * 1024
_FLAG = "_listening_upload_too_large"


class SizeLimitUploadHandler(FileUploadHandler):
    def handle_raw_input(
        self,
        input_data: Any,
        META: Any,
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        # Raising here would escape the parser; refuse when the first file part starts.
        self.declared = content_length

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        declared = getattr(self, "declared", 0) or 0
        if declared > settings.AUDIO_UPLOAD_MAX_BYTES + MARGIN:
            self._refuse(declared)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > settings.AUDIO_UPLOAD_MAX_BYTES:
            self._refuse(start + len(raw_data))
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def _refuse(self, size: int) -> None:
        if self.request is not None:
            setattr(self.request, _FLAG, (safe_filename(self.file_name), size))
        # connection_reset: do not read (or store) the rest of the body.
        raise StopUpload(connection_reset=True)


def upload_refused(request: Any) -> str | None:
    """The message for a request whose upload was cut off for size, if it was."""
    django_request = getattr(request, "_request", request)
    refused = getattr(django_request, _FLAG, None)
    if refused is None:
        return None
    name, size = refused
    limit = settings.AUDIO_UPLOAD_MAX_BYTES
    return (
        f"{name}: at least {size / 1e6:.1f} MB is above the upload limit of {limit / 1e6:.1f} MB "
        "(AUDIO_UPLOAD_MAX_BYTES); the rest of the upload was not read"
    )
