"""Upload attacks on /api/stimuli/: hostile names, oversized bodies, disguised files, bombs.

Every refused upload leaves no row and no file under MEDIA_ROOT.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import soundfile as sf
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.test import RequestFactory, override_settings

from listening.models import Stimulus
from listening.stimuli.uploads import SizeLimitUploadHandler
from tests.listening.base import BaseTestCase, versions, wav_bytes

BOUNDARY = "----listening-test-boundary"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(2000)
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>" * 50


def multipart(fields: dict[str, str], filename: str, data: bytes) -> bytes:
    """A multipart body written by hand, so the file name reaches the server as sent."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    header = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode("utf-8", "surrogateescape")
    return b"".join([*parts, header, data, f"\r\n--{BOUNDARY}--\r\n".encode()])


def zip_of_zeros(size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.wav", bytes(size))
    return buffer.getvalue()


class UploadAttackTestCase(BaseTestCase):
    url = "/api/stimuli/"

    def setUp(self) -> None:
        super().setUp()
        self.track = self.add_track("Song")
        self.api = self.login(self.researcher)
        self.mix = wav_bytes(versions()["mix"])

    def post(self, filename: str, data: bytes) -> Any:
        body = multipart({"track": str(self.track.pk), "role": "mix"}, filename, data)
        return self.api.post(
            self.url, body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
        )

    def assert_refused(self, response: Any, fragment: str) -> None:
        assert response.status_code == 400, response.content[:500]
        assert fragment in response.data["detail"], response.data["detail"]
        assert Stimulus.objects.count() == 0
        assert self.stored_files() == []

    def test_hostile_file_names_never_name_the_stored_file(self) -> None:
        names = {
            "../../etc/passwd.wav": "passwd.wav",
            "/etc/passwd.wav": "passwd.wav",
            "..\\..\\windows\\win.ini.wav": "win.ini.wav",
            "nul\x00byte.wav": "nulbyte.wav",
            ".hidden.wav": "hidden.wav",
        }
        for i, (sent, shown) in enumerate(names.items()):
            # Long enough to cover the study's excerpt (4-9 s), which uploads must.
            data = wav_bytes(versions(seed=10 + i, seconds=10.0)["mix"])
            Stimulus.objects.all().delete()
            response = self.post(sent, data)
            assert response.status_code == 201, (sent, response.data)
            stimulus = Stimulus.objects.get()
            assert stimulus.original_filename == shown, sent
            stored = Path(stimulus.original.path).resolve()
            assert stored.parent == (self.media_root / "originals").resolve()
            assert stored.stem != Path(shown).stem
            assert len(stored.stem) == 32
        assert all(p.is_relative_to(self.media_root) for p in self.stored_files())

    def test_a_name_with_no_file_part_is_refused(self) -> None:
        # Django drops a file name of "..": the part is no longer a file at all.
        response = self.post("..", self.mix)
        assert response.status_code == 400
        assert Stimulus.objects.count() == 0
        assert self.stored_files() == []

    @override_settings(AUDIO_UPLOAD_MAX_BYTES=200_000)
    def test_an_oversized_upload_is_refused_without_being_stored(self) -> None:
        with tempfile.TemporaryDirectory() as temp, self.settings(FILE_UPLOAD_TEMP_DIR=temp):
            response = self.post("big.wav", self.mix)
            assert list(Path(temp).iterdir()) == []
        self.assert_refused(response, "big.wav: at least")
        assert "above the upload limit of 0.2 MB" in response.data["detail"]

    def test_disguised_files_are_refused(self) -> None:
        for name, data in (
            ("image.wav", PNG),
            ("page.wav", HTML),
            ("archive.flac", zip_of_zeros(1_000_000)),
            ("archive.zip", zip_of_zeros(1_000_000)),
            ("truncated.wav", self.mix[:44]),
        ):
            response = self.post(name, data)
            self.assert_refused(response, f"{name}:")
        self.assert_refused(self.post("empty.wav", b""), "The submitted file is empty")

    @override_settings(AUDIO_MAX_SECONDS=600)
    def test_an_audio_bomb_is_refused_from_its_header_before_decoding(self) -> None:
        # 20 minutes of a constant level compress to a few kB of FLAC.
        rate = 8000
        audio = np.full((20 * 60 * rate, 1), 0.25)
        buffer = io.BytesIO()
        sf.write(buffer, audio, rate, format="FLAC")
        data = buffer.getvalue()
        assert len(data) * 500 < audio.size * 2  # a compression ratio above 500
        with mock.patch("analysis.io.read_audio", side_effect=AssertionError("decoded")):
            response = self.post("bomb.flac", data)
        self.assert_refused(response, "bomb.flac: 20.0 minutes of audio is above the limit")


class SizeLimitHandlerTestCase(BaseTestCase):
    """The handler stops reading the body: the parser never sees the bytes past the limit."""

    class CountingStream(io.BytesIO):
        consumed = 0

        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            self.consumed += len(chunk)
            return chunk

    def parse(self, body: bytes, content_length: int) -> tuple[Any, int]:
        request = RequestFactory().post("/")
        meta = {
            "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
            "CONTENT_LENGTH": str(content_length),
        }
        stream = self.CountingStream(body)
        handlers = [
            SizeLimitUploadHandler(request),
            MemoryFileUploadHandler(request),
            TemporaryFileUploadHandler(request),
        ]
        _, files = MultiPartParser(meta, stream, handlers).parse()
        return files, stream.consumed

    @override_settings(AUDIO_UPLOAD_MAX_BYTES=1_000_000)
    def test_it_stops_a_file_that_grows_past_the_limit(self) -> None:
        body = multipart({"role": "mix"}, "big.wav", bytes(20_000_000))
        # A body that claims to be small (as a chunked request may) is cut off mid-file.
        files, consumed = self.parse(body, content_length=900_000)
        assert "file" not in files
        assert consumed < 1_000_000 + 2 * 64 * 1024 + 1024

    @override_settings(AUDIO_UPLOAD_MAX_BYTES=1_000_000)
    def test_it_refuses_a_declared_length_above_the_limit_before_reading_the_file(self) -> None:
        body = multipart({"role": "mix"}, "big.wav", bytes(20_000_000))
        files, consumed = self.parse(body, content_length=len(body))
        assert "file" not in files
        assert consumed <= 2 * 64 * 1024 + 1024
