"""Turn a track's uploads into blinded, loudness-matched playback files, and measure them.

The numbers are computed by :mod:`analysis.stimuli.excerpt` and :mod:`analysis.metrics.measure`;
this module reads originals from storage, writes the prepared FLAC files and records
every step on the stimulus rows, so the researcher sees progress and errors. One
track is prepared at a time because its versions are loudness-matched together.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from listening.models import Stimulus, Study, Track

if TYPE_CHECKING:
    from django.db.models.fields.files import FieldFile

    from analysis.audio import Audio
    from analysis.errors import AnalysisError
    from analysis.io import AudioFile, DecodeLimits

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
# Encodings tried before giving up on the true-peak ceiling (the first one holds it).
_CEILING_ATTEMPTS = 3


def _where(track: Track, step: str) -> str:
    """Name the study, track and step for the worker's log lines."""
    return f"study {track.study_id} {track.study.title!r}, track {track.pk} {track.title!r}, {step}"


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


# -- The pipeline -----------------------------------------------------------------------------


@dataclass
class _Version:
    """One version of a track while it is being prepared."""

    stimulus: Stimulus
    excerpt: Audio | None = None
    level: Any = None
    error: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


def prepare_track(track_id: int, *, force: bool = False) -> dict[str, Any]:
    """Prepare every version of one track; a failed version records its error, the rest go on.

    Idempotent: a track whose versions were prepared with the current settings (the
    fingerprint) is skipped unless ``force`` is set.
    """
    from analysis.audio import resample
    from analysis.errors import AnalysisError
    from analysis.stimuli.anchors import lowpass_excerpt
    from analysis.stimuli.excerpt import (
        ExcerptSpec,
        align_to_mix,
        apply_fades,
        conform_span,
        cut_excerpt,
    )
    from analysis.stimuli.levels import match_loudness, measure_level

    try:
        track = Track.objects.select_related("study").get(pk=track_id)
    except Track.DoesNotExist:
        return {"track": track_id, "skipped": "the track no longer exists"}
    study = track.study
    if not study.is_draft:
        return {"track": track_id, "skipped": "the study has opened; its files are locked"}
    if not force and not track.needs_preparation():
        return {"track": track_id, "skipped": "already prepared with the current settings"}

    fingerprint = track.fingerprint()
    sources = track.sources
    logger.info("%s: %d source(s)", _where(track, "prepare: start"), len(sources))
    Stimulus.objects.filter(track=track).update(
        status=Stimulus.Status.PROCESSING, error="", updated_at=timezone.now()
    )
    anchors = _sync_anchor_rows(track)
    spec = ExcerptSpec(
        rate=study.sample_rate,
        start=study.excerpt_start,
        length=study.excerpt_length,
        fade_ms=study.fade_ms,
    )
    versions = {s.pk: _Version(s) for s in [*sources, *anchors]}
    # Each version's excerpt plus a margin, conformed to the playback rate, with the
    # index of the mix's first sample in it (see analysis.stimuli.excerpt.conform_span).
    spans: dict[int, tuple[Audio, int]] = {}

    # 1-4. Decode the mix and cut its excerpt; then decode each master in turn, align it
    # to the mix and cut the same passage. Only the mix and one master are decoded at a
    # time (within AUDIO_PREPARATION_MAX_BYTES); mono and lossy sources go on only where
    # the study accepts them; only the excerpt (plus a margin) is converted to the
    # playback rate: resampling whole tracks would cost more than everything else.
    def admit(stimulus: Stimulus, audio: AudioFile) -> bool:
        try:
            check_source_policy(
                study, audio.channels, audio.lossy, stimulus.original_filename, audio.rate
            )
        except ValidationError as exc:
            versions[stimulus.pk].error = _message(exc)
            return False
        versions[stimulus.pk].fields.update(
            mono_source=audio.channels == 1, lossy_source=bool(audio.lossy)
        )
        return True

    mix = track.mix
    mix_file: AudioFile | None = None
    if mix is not None:
        try:
            logger.info("%s", _where(track, f"decode {mix.describe()}"))
            mix_file = _read_original(mix)
        except (AnalysisError, OSError, ValidationError) as exc:
            versions[mix.pk].error = _message(exc)
        if mix_file is not None and not admit(mix, mix_file):
            mix_file = None
    if mix is not None and mix_file is not None:
        try:
            spans[mix.pk] = conform_span(mix_file.samples, mix_file.rate, spec)
            versions[mix.pk].excerpt = cut_excerpt(
                spans[mix.pk][0], spec, offset=spans[mix.pk][1], name="mix"
            )
        except AnalysisError as exc:
            versions[mix.pk].error = _message(exc)
    mix_ok = mix is not None and mix_file is not None and versions[mix.pk].excerpt is not None
    mix_at: dict[int, Audio] = {mix_file.rate: mix_file.samples} if mix_file is not None else {}
    for stimulus in track.masters:
        version = versions[stimulus.pk]
        held = sum(copy.nbytes for copy in mix_at.values())
        rate = stimulus.original_rate
        if mix_file is not None and rate is not None and rate not in mix_at:
            held += round(mix_file.samples.nbytes * rate / mix_file.rate)  # the copy to come
        try:
            logger.info("%s", _where(track, f"decode {stimulus.describe()}"))
            master_file = _read_original(stimulus, held=held)
        except (AnalysisError, OSError, ValidationError) as exc:
            version.error = _message(exc)
            continue
        if not admit(stimulus, master_file):
            continue
        if not mix_ok or mix_file is None:
            version.error = "cannot be aligned: " + (
                "the track has no mix" if mix is None else "the track's mix failed"
            )
            continue
        aligned: Audio | None = None
        try:
            # Align on the master's own clock (a copy of the mix is resampled when the rates
            # differ), so the master itself is resampled once only: to the playback rate.
            if master_file.rate not in mix_at:
                mix_at[master_file.rate] = resample(
                    mix_file.samples, mix_file.rate, master_file.rate
                )
            aligned, offset, alignment = align_to_mix(
                master_file.samples, mix_at[master_file.rate], master_file.rate
            )
            version.fields.update(
                alignment_lag=alignment.lag,
                alignment_polarity=alignment.polarity,
                alignment_correlation=alignment.correlation,
                alignment={**alignment.as_dict(), "rate": master_file.rate},
            )
            spans[stimulus.pk] = conform_span(aligned, master_file.rate, spec, offset=offset)
            version.excerpt = cut_excerpt(
                spans[stimulus.pk][0], spec, offset=spans[stimulus.pk][1], name="master"
            )
        except AnalysisError as exc:
            version.error = _message(exc)
        # Let this master go before the next one is decoded: the budget counts one.
        del master_file, aligned

    # 5. Anchors: the reference (or the mix) low-passed, sample-aligned with the rest.
    for anchor in anchors:
        version = versions[anchor.pk]
        source = anchor.derived_from
        if source is None or anchor.anchor_cutoff_hz is None or source.pk not in spans:
            version.error = f"its source ({source.describe() if source else 'none'}) failed"
            continue
        try:
            span, span_offset = spans[source.pk]
            version.excerpt = lowpass_excerpt(
                span, spec, anchor.anchor_cutoff_hz, offset=span_offset
            )
            # An anchor carries its source's flags: it is made of the same material.
            for flag in ("mono_source", "lossy_source"):
                version.fields[flag] = versions[source.pk].fields.get(flag, False)
        except AnalysisError as exc:
            version.error = _message(exc)

    # 6. Identical fades, then the loudness and true peak of exactly what will play.
    for version in versions.values():
        if version.excerpt is None:
            continue
        try:
            version.excerpt = apply_fades(version.excerpt, spec)
            version.level = measure_level(version.excerpt, spec.rate)
        except AnalysisError as exc:
            version.error, version.excerpt = f"excerpt: {_message(exc)}", None

    # 7. One loudness for the whole track (lowered if a true peak would pass the ceiling).
    playing = [v for v in versions.values() if v.excerpt is not None]
    new_files: list[str] = []
    try:
        if playing:
            target = study.loudness_target_lufs
            for _ in range(_CEILING_ATTEMPTS):
                match = match_loudness(
                    [v.level for v in playing],
                    target_lufs=target,
                    ceiling_dbtp=study.true_peak_ceiling_dbtp,
                )
                above = _encode(playing, match.gains_db, study, spec.rate, new_files)
                if above <= 0.0:
                    break
                # An encoded file reads above the ceiling (the margin should prevent it):
                # lower the whole track by the excess and encode again.
                logger.warning(
                    "%s: an encoded file read %.4f dB above the ceiling; re-encoding lower",
                    _where(track, "encode"),
                    above,
                )
                target = match.target_lufs - above - 0.001
                for name in new_files:
                    Stimulus.prepared.field.storage.delete(name)
                new_files.clear()
            else:
                raise RuntimeError(f"{_where(track, 'encode')}: the ceiling could not be held")
            track.playback_loudness_lufs = match.target_lufs
        else:
            track.playback_loudness_lufs = None
        _save_versions(track, versions, fingerprint)
    except BaseException:
        for name in new_files:  # nothing half-stored: drop the files no row points to
            Stimulus.prepared.field.storage.delete(name)
        raise

    failed = {v.stimulus.pk: v.error for v in versions.values() if v.error}
    logger.info(
        "%s: %d ready, %d failed, plays at %s LUFS",
        _where(track, "prepare: done"),
        len(versions) - len(failed),
        len(failed),
        track.playback_loudness_lufs,
    )
    for version in versions.values():
        if version.error:
            logger.warning(
                "%s: %s", _where(track, f"prepare {version.stimulus.describe()}"), version.error
            )
    return {
        "track": track_id,
        "playback_loudness_lufs": track.playback_loudness_lufs,
        "ready": len(versions) - len(failed),
        "failed": failed,
    }


def measure_track(track_id: int, *, force: bool = False) -> dict[str, Any]:
    """Measure every master of a track against its mix on the full, as-delivered audio.

    Kept apart from :func:`prepare_track` because it is slower and the study can open
    without it. Masters measured with the current metrics version against the same mix
    are skipped unless ``force`` is set; a failure is recorded in ``metrics_error``.
    """
    from analysis.errors import AnalysisError

    try:
        track = Track.objects.select_related("study").get(pk=track_id)
    except Track.DoesNotExist:
        return {"track": track_id, "skipped": "the track no longer exists"}
    mix = track.mix
    if mix is None or not mix.original:
        return {"track": track_id, "skipped": "the track has no mix"}
    mix_audio: AudioFile | None = None
    measured = {}
    for master in track.masters:
        if not master.original or (not force and _metrics_current(master, mix)):
            continue
        step = f"measure {master.describe()}"
        logger.info("%s", _where(track, step))
        try:
            if mix_audio is None:
                mix_audio = _read_original(mix)
            held = mix_audio.samples.nbytes  # one master at a time beside the mix
            _measure(master, _read_original(master, held=held), mix, mix_audio)
        except (AnalysisError, OSError, ValidationError) as exc:
            _save_metrics(master, mix, {}, _message(exc))
        measured[master.pk] = master.metrics_error or "ok"
        if master.metrics_error:
            logger.warning("%s: %s", _where(track, step), master.metrics_error)
    return {"track": track_id, "measured": measured}


def _metrics_current(master: Stimulus, mix: Stimulus) -> bool:
    from analysis import METRICS_VERSION

    return bool(
        master.metrics
        and master.metrics_version == METRICS_VERSION
        and master.metrics_mix_sha256 == mix.original_sha256
    )


def _message(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)


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


def _read_original(stimulus: Stimulus, *, held: int = 0) -> AudioFile:
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


def _sync_anchor_rows(track: Track) -> list[Stimulus]:
    """Create, update or delete the track's anchor rows to match the study's settings."""
    source = track.anchor_source
    cutoffs = track.study.anchor_cutoffs if source is not None else ()
    existing = {a.anchor_cutoff_hz: a for a in track.anchors}
    anchors = []
    for cutoff in cutoffs:
        anchor = existing.pop(cutoff, None)
        if anchor is None:
            anchor = Stimulus(
                track=track,
                role=Stimulus.Role.ANCHOR,
                system=Stimulus.System.NONE,
                anchor_cutoff_hz=cutoff,
                provider="BS.1534 anchor",
            )
        anchor.derived_from = source
        anchor.status = Stimulus.Status.PROCESSING
        anchor.save()
        anchors.append(anchor)
    storage = Stimulus.prepared.field.storage
    for stale in existing.values():
        for name in stale.prepared_file_names():
            storage.delete(name)
        stale.delete()
    return anchors


def _encode(
    playing: list[_Version],
    gains: tuple[float, ...],
    study: Study,
    rate: int,
    new_files: list[str],
) -> float:
    """Write each version's playback file and its pool of dithered copies, all one size.

    Every file is quantised here (:func:`analysis.stimuli.levels.quantize`), so its samples
    are exactly what a decoder returns, and its true peak is checked at 4x and 32x after
    encoding: the exact reading for the version's own file, and for each dithered copy
    that reading plus the most the dither can move an interpolated sample (the
    interpolator's gain times the largest sample difference). Return how far above the
    ceiling the highest file reads (<= 0 when every file is within it).
    """
    import numpy as np

    from analysis.io import write_audio
    from analysis.metrics.loudness import integrated_loudness
    from analysis.metrics.true_peak import interpolation_gain, true_peak
    from analysis.stimuli.levels import STRICT_OVERSAMPLING, apply_gain, quantize

    bits = study.playback_bit_depth
    pool_size = settings.LISTENING_PLAYBACK_VARIANTS
    subtype = f"PCM_{bits}"
    worst = float("-inf")
    with tempfile.TemporaryDirectory() as folder:
        files: list[tuple[_Version, str, Path]] = []
        for i, (version, gain) in enumerate(zip(playing, gains, strict=True)):
            if version.excerpt is None:
                raise ValueError("only versions with an excerpt are encoded")
            audio = apply_gain(version.excerpt, gain)
            seed = version.stimulus.pk
            # 24-bit: plain rounding (the LSB is 138 dB below full scale); 16-bit needs dither.
            own = quantize(audio, bits, rng=np.random.default_rng([seed, 0]) if bits < 24 else None)
            peaks = [true_peak(own, rate), true_peak(own, rate, oversampling=STRICT_OVERSAMPLING)]
            path = Path(folder) / f"{i}.flac"
            write_audio(path, own, rate, subtype=subtype, format="FLAC")
            files.append((version, "prepared", path))
            spread = 0.0
            for k in range(pool_size):
                copy = quantize(audio, bits, rng=np.random.default_rng([seed, 1 + k]))
                spread = max(spread, float(np.max(np.abs(copy - own))))
                path = Path(folder) / f"{i}-{k}.flac"
                write_audio(path, copy, rate, subtype=subtype, format="FLAC")
                files.append((version, "pool", path))
            gain_bound = max(
                interpolation_gain(rate), interpolation_gain(rate, STRICT_OVERSAMPLING)
            )
            highest = 20 * math.log10(10 ** (max(peaks) / 20) + gain_bound * spread)
            worst = max(worst, highest - study.true_peak_ceiling_dbtp)
            version.fields.update(
                excerpt_loudness_lufs=version.level.loudness_lufs,
                gain_db=gain,
                true_peak_dbtp=peaks[0],
                true_peak_oversampled_dbtp=peaks[1],
                playback_loudness_lufs=integrated_loudness(own, rate),
                prepared_rate=rate,
                prepared_frames=own.shape[0],
                prepared_channels=own.shape[1],
            )
        size = pad_flac_files([path for _, _, path in files])
        storage = Stimulus.prepared.field.storage
        for version, kind, path in files:
            name = Stimulus.prepared.field.generate_filename(version.stimulus, "x.flac")
            with open(path, "rb") as f:
                name = storage.save(name, File(f), max_length=200)
            new_files.append(name)
            if kind == "prepared":
                version.fields["prepared"] = name
                version.fields["prepared_pool"] = []
            else:
                version.fields["prepared_pool"].append(name)
        for version in playing:
            # The older single variant (hidden reference, ABX's X) is the pool's first copy.
            version.fields["prepared_variant"] = version.fields["prepared_pool"][0]
            version.fields["prepared_size"] = size
    return worst


_PREPARATION_FIELDS = (
    "excerpt_loudness_lufs",
    "gain_db",
    "true_peak_dbtp",
    "true_peak_oversampled_dbtp",
    "playback_loudness_lufs",
    "prepared_rate",
    "prepared_frames",
    "prepared_channels",
    "prepared_size",
    "alignment_lag",
    "alignment_polarity",
    "alignment_correlation",
)


def _save_versions(track: Track, versions: dict[int, _Version], fingerprint: str) -> None:
    """Record every version's outcome in one transaction, then drop superseded files."""
    old_files = []
    now = timezone.now()
    with transaction.atomic():
        track.save(update_fields=["playback_loudness_lufs"])
        for version in versions.values():
            stimulus = version.stimulus
            old_files.extend(stimulus.prepared_file_names())
            for name in _PREPARATION_FIELDS:
                setattr(stimulus, name, None)
            stimulus.mono_source = stimulus.lossy_source = False
            stimulus.alignment = {}
            stimulus.prepared = version.fields.pop("prepared", "")
            stimulus.prepared_variant = version.fields.pop("prepared_variant", "")
            stimulus.prepared_pool = version.fields.pop("prepared_pool", [])
            for name, value in version.fields.items():
                setattr(stimulus, name, value)
            stimulus.status = Stimulus.Status.FAILED if version.error else Stimulus.Status.READY
            stimulus.error = version.error
            stimulus.fingerprint = fingerprint
            stimulus.prepared_at = now
            stimulus.save()
    storage = Stimulus.prepared.field.storage
    for name in set(old_files):
        storage.delete(name)


def _measure(
    master: Stimulus, master_audio: AudioFile, mix: Stimulus, mix_audio: AudioFile
) -> None:
    from analysis.errors import AnalysisError
    from analysis.metrics.measure import measure

    try:
        result = measure(
            master_audio.samples,
            mix_audio.samples,
            master_audio.rate,
            mix_rate=mix_audio.rate,
            master_lossy=master_audio.lossy,
            mix_lossy=mix_audio.lossy,
        )
    except AnalysisError as exc:
        _save_metrics(master, mix, {}, str(exc))
    else:
        _save_metrics(master, mix, result.as_dict(), "")


def _save_metrics(master: Stimulus, mix: Stimulus, metrics: dict[str, Any], error: str) -> None:
    from analysis import METRICS_VERSION

    master.metrics, master.metrics_error = metrics, error
    master.metrics_version = METRICS_VERSION
    master.metrics_mix_sha256 = mix.original_sha256
    master.save(
        update_fields=[
            "metrics",
            "metrics_error",
            "metrics_version",
            "metrics_mix_sha256",
            "updated_at",
        ]
    )


# -- Equal file sizes --------------------------------------------------------------------------

_FLAC_PADDING = 1
_MAX_BLOCK = (1 << 24) - 1


def pad_flac_files(paths: list[Path]) -> int:
    """Give FLAC files one byte size by appending PADDING metadata blocks; return the size.

    Sizes would otherwise tell a curious participant which condition is the low-passed
    anchor (it compresses better). Decoders skip PADDING blocks, so the audio is unchanged.
    """
    blobs = [p.read_bytes() for p in paths]
    target = max(len(b) for b in blobs) + 4  # every file gets at least an empty block
    for path, blob in zip(paths, blobs, strict=True):
        path.write_bytes(_with_padding(blob, target - len(blob)))
    return target


def _with_padding(blob: bytes, extra: int) -> bytes:
    if blob[:4] != b"fLaC":
        raise ValueError("not a FLAC stream")
    pos = 4
    while True:  # find the last metadata block
        header = blob[pos]
        length = int.from_bytes(blob[pos + 1 : pos + 4], "big")
        if header & 0x80:
            break
        pos += 4 + length
    end = pos + 4 + length
    head = bytearray(blob[:end])
    head[pos] = header & 0x7F  # no longer the last block
    blocks = bytearray()
    while extra > 0:
        body = min(extra - 4, _MAX_BLOCK)
        extra -= 4 + body
        if 0 < extra < 4:  # never leave a remainder too small for a block header
            body -= 4 - extra
            extra = 4
        last = 0x80 if extra == 0 else 0
        blocks += bytes([last | _FLAC_PADDING]) + body.to_bytes(3, "big") + bytes(body)
    return bytes(head) + bytes(blocks) + blob[end:]
