"""Uploaded originals: inspect a file before it is stored, store it unchanged, read it back.

Decoding is bounded (:func:`decode_limits`, settings ``AUDIO_MAX_*``) and checked from the
header before any sample is read; duplicates within a study are refused, with the study's
row held (:func:`lock_study`) so the check stays true until the row is saved.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from listening.models import Stimulus, Study

if TYPE_CHECKING:
    from django.db.models.fields.files import FieldFile

    from analysis.errors import AnalysisError
    from analysis.io import AudioFile, DecodeLimits

_CHUNK = 1 << 20


@dataclass(frozen=True)
class OriginalInfo:
    """What an accepted upload is, measured before anything is stored."""

    sha256: str
    filename: str
    size: int
    format: str
    subtype: str
    rate: int
    channels: int
    duration: float
    lossy: bool

    def apply_to(self, stimulus: Stimulus) -> None:
        stimulus.original_sha256 = self.sha256
        stimulus.original_filename = self.filename
        stimulus.original_size = self.size
        stimulus.original_format = self.format
        stimulus.original_subtype = self.subtype
        stimulus.original_rate = self.rate
        stimulus.original_channels = self.channels
        stimulus.original_duration = self.duration
        stimulus.original_lossy = self.lossy


def safe_filename(name: str | None) -> str:
    """Return an uploaded file's name fit to show and store: its last path part, printable."""
    text = "".join(ch for ch in str(name or "") if ch.isprintable())
    text = text.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    return text[:200] or "upload"


#: The setting behind each limit of analysis.io.DecodeLimits, named in refusals.
LIMIT_SETTINGS = {
    "rate": "AUDIO_MAX_SAMPLE_RATE",
    "seconds": "AUDIO_MAX_SECONDS",
    "bytes": "AUDIO_MAX_DECODED_BYTES",
    "budget": "AUDIO_PREPARATION_MAX_BYTES",
}


def decode_limits() -> DecodeLimits:
    """What decoding one file may cost (settings AUDIO_MAX_*), checked from its header."""
    from analysis.io import DecodeLimits

    return DecodeLimits(
        max_rate=settings.AUDIO_MAX_SAMPLE_RATE,
        max_seconds=settings.AUDIO_MAX_SECONDS,
        max_bytes=settings.AUDIO_MAX_DECODED_BYTES,
    )


def limit_message(exc: AnalysisError, path: Path, filename: str) -> str:
    """The researcher's message for a refused file: their file's name, and the setting."""
    message = str(exc).replace(path.name, filename)
    if not message.startswith(filename):
        message = f"{filename}: {message}"
    setting = LIMIT_SETTINGS.get(getattr(exc, "limit", ""))
    return f"{message} ({setting})" if setting else message


def check_decoded_size(path: Path, filename: str) -> None:
    """Refuse, from the header alone, a file that would cost more to decode than allowed.

    Compressed formats can expand enormously (a FLAC of silence is ~1000x smaller than
    its samples, and a header may state any rate and length): the rate, the channels
    and frames x channels bound what reading will allocate.
    """
    from analysis.errors import AnalysisError, AudioTooLargeError, ChannelCountError
    from analysis.io import check_header, read_header

    try:
        header = read_header(path)
    except AnalysisError:
        return  # not readable at all: read_audio reports it with the right message
    try:
        check_header(header, decode_limits(), name=path.name)
    except AudioTooLargeError as exc:
        raise ValidationError(limit_message(exc, path, filename), code="too_large") from exc
    except ChannelCountError as exc:
        raise ValidationError(limit_message(exc, path, filename), code="channels") from exc


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def uploaded_path(upload: UploadedFile[Any]) -> Iterator[Path]:
    """Yield a path to an upload on disk (large uploads already are; small ones are copied)."""
    temporary = getattr(upload, "temporary_file_path", None)
    if temporary is not None:
        yield Path(temporary())
        return
    with tempfile.NamedTemporaryFile(suffix=".upload") as f:
        for chunk in upload.chunks():
            f.write(chunk)
        f.flush()
        yield Path(f.name)


def inspect_original(
    path: str | os.PathLike[str], *, filename: str, min_duration: float | None = None
) -> OriginalInfo:
    """Decode and validate an audio file before it is stored; raise ValidationError if unusable.

    Checks the size limit, that the file decodes completely (WAV, FLAC, AIFF, OGG, MP3,
    CAF), has one or two channels, is not digital silence and is long enough for the
    excerpt. Messages name the researcher's file, never a temporary one.
    """
    from analysis.audio import is_silent
    from analysis.errors import AnalysisError
    from analysis.io import read_audio

    path = Path(path)
    size = path.stat().st_size
    limit = settings.AUDIO_UPLOAD_MAX_BYTES
    if size > limit:
        raise ValidationError(
            f"{filename}: {size / 1e6:.1f} MB is above the upload limit of {limit / 1e6:.1f} MB "
            "(AUDIO_UPLOAD_MAX_BYTES)",
            code="too_large",
        )
    check_decoded_size(path, filename)
    try:
        audio = read_audio(path, limits=decode_limits())
    except AnalysisError as exc:
        raise ValidationError(limit_message(exc, path, filename), code="unreadable") from exc
    if is_silent(audio.samples):
        raise ValidationError(f"{filename}: the audio is digital silence", code="silent")
    if min_duration is not None and audio.duration < min_duration:
        raise ValidationError(
            f"{filename}: {audio.duration:.2f} s is shorter than the study's excerpt "
            f"({min_duration:g} s)",
            code="too_short",
        )
    return OriginalInfo(
        sha256=file_sha256(path),
        filename=filename,
        size=size,
        format=audio.format,
        subtype=audio.subtype,
        rate=audio.rate,
        channels=audio.channels,
        duration=audio.duration,
        lossy=audio.lossy,
    )


def check_source_policy(
    study: Study, channels: int, lossy: bool, filename: str, rate: int | None = None
) -> None:
    """Refuse mono and lossy-coded sources unless the study accepts them (and says so), and
    sample rates outside the accepted range (the one of :func:`decode_limits`, for files
    stored before a setting changed)."""
    limits = decode_limits()
    if rate is not None and not limits.min_rate <= rate <= limits.max_rate:
        raise ValidationError(
            f"{filename}: {rate} Hz is outside the accepted sample rates "
            f"({limits.min_rate}-{limits.max_rate} Hz) (AUDIO_MAX_SAMPLE_RATE); convert the "
            "file to 44.1 or 48 kHz",
            code="rate",
        )
    if channels == 1 and not study.accept_mono:
        raise ValidationError(
            f"{filename}: the file is mono; it would play as dual mono, which listeners can "
            "tell from stereo versions by its width. Upload a stereo file, or turn on the "
            "study's accept_mono setting (the stimulus is then flagged 'mono source')",
            code="mono",
        )
    if lossy and not study.accept_lossy:
        raise ValidationError(
            f"{filename}: the file is lossy-coded (MP3, Ogg Vorbis or Opus); its codec "
            "artefacts would be rated as mastering. Upload the lossless master, or turn on "
            "the study's accept_lossy setting (the stimulus is then flagged 'lossy source')",
            code="lossy",
        )


def find_duplicate(study: Study, sha256: str) -> Stimulus | None:
    """Return the stimulus of the study that already holds a file with this sha256."""
    return (
        Stimulus.objects.filter(track__study=study, original_sha256=sha256)
        .select_related("track")
        .first()
    )


def lock_study(study_id: int) -> None:
    """Hold the study's row until the transaction ends, so checks made now stay true.

    PostgreSQL locks the row; SQLite ignores FOR UPDATE, but its write transactions
    (IMMEDIATE) already run one at a time. Outside a transaction there is nothing to hold.
    """
    if transaction.get_connection().in_atomic_block:
        list(Study.objects.select_for_update().filter(pk=study_id).values_list("pk"))


def check_not_duplicate(study: Study, info: OriginalInfo) -> None:
    duplicate = find_duplicate(study, info.sha256)
    if duplicate is not None:
        raise ValidationError(
            f"{info.filename}: the same file (sha256 {info.sha256[:12]}...) is already in this "
            f"study as {duplicate.describe()}",
            code="duplicate",
        )


def store_original(stimulus: Stimulus, path: str | os.PathLike[str], info: OriginalInfo) -> None:
    """Store an inspected upload unchanged and save the row; leave no file behind on failure."""
    copy_original(stimulus, path, info)
    try:
        with transaction.atomic():
            save_original_row(stimulus)
    except Exception:
        stimulus.original.delete(save=False)
        raise


def copy_original(stimulus: Stimulus, path: str | os.PathLike[str], info: OriginalInfo) -> None:
    """Copy an inspected upload, unchanged, into storage for ``stimulus`` (no database work:
    copying large files inside a transaction would hold every writer up, on SQLite all)."""
    info.apply_to(stimulus)
    stimulus.status = Stimulus.Status.PENDING
    with open(path, "rb") as f:
        stimulus.original.save(info.filename, File(f), save=False)


def save_original_row(stimulus: Stimulus) -> None:
    """Validate and save the row of a stimulus whose original :func:`copy_original` stored.

    Call inside a transaction. Another upload of the same file (or another mix for the
    track) may have been stored since this one was checked: the study's row is locked
    (PostgreSQL; SQLite's writers queue anyway) and the checks are made again, and the
    unique constraints answer for anything that slips past, as a ValidationError too.
    """
    track = stimulus.track
    lock_study(track.study_id)
    info = OriginalInfo(
        sha256=stimulus.original_sha256, filename=stimulus.original_filename, size=0,
        format="", subtype="", rate=0, channels=0, duration=0.0, lossy=False,
    )  # fmt: skip
    check_not_duplicate(track.study, info)
    stimulus.full_clean(exclude=["original", "prepared"])
    try:
        with transaction.atomic():
            stimulus.save()
    except IntegrityError as exc:
        check_not_duplicate(track.study, info)
        if stimulus.role == Stimulus.Role.MIX and track.stimuli.filter(role="mix").exists():
            raise ValidationError(
                f"{stimulus.original_filename}: track {track.title!r} already has a mix",
                code="duplicate",
            ) from exc
        raise


@contextlib.contextmanager
def local_copy(stored: FieldFile) -> Iterator[str]:
    """A local path to a stored file: the file itself on the local disk, otherwise (S3 and
    other remote storages) a temporary copy that is removed afterwards."""
    try:
        path: str | None = stored.path
    except NotImplementedError:  # a storage without local paths
        path = None
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=Path(stored.name or "").suffix) as copy:
        with stored.open("rb") as source:
            shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        yield copy.name


def read_original(stimulus: Stimulus, *, held: int = 0) -> AudioFile:
    """Decode a stored original, within the per-file limits and the task's budget.

    ``held`` is what the task has decoded already (the track's mix while a master is
    read): the file's decoded size, read from its header, must fit beside it within
    AUDIO_PREPARATION_MAX_BYTES, or the file is not decoded at all.
    """
    from analysis.audio import is_silent
    from analysis.errors import AnalysisError, AudioTooLargeError, SilentAudioError
    from analysis.io import read_audio, read_header

    if not stimulus.original:
        raise ValidationError("no original file is stored")
    name = stimulus.original_filename or "the original"
    with local_copy(stimulus.original) as path:
        try:
            need = read_header(path).decoded_bytes or 0
            budget = settings.AUDIO_PREPARATION_MAX_BYTES
            if held + need > budget:
                beside = f" beside the {_gib(held)} already decoded for this track" if held else ""
                raise AudioTooLargeError(
                    f"{name}: decodes to {_gib(need)}{beside}, above the preparation budget "
                    f"of {_gib(budget)}",
                    "budget",
                )
            audio = read_audio(path, limits=decode_limits())
        except AnalysisError as exc:
            # With the researcher's file name (stored files have random ones) and the setting.
            raise ValidationError(limit_message(exc, Path(path), name)) from exc
    if is_silent(audio.samples):
        raise SilentAudioError(f"{stimulus.original_filename}: the audio is digital silence")
    return audio


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"
