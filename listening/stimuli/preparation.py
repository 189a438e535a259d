"""Turn a track's uploads into blinded, loudness-matched playback files.

The numbers are computed by :mod:`analysis.stimuli.excerpt` and :mod:`analysis.stimuli.levels`;
this module reads originals from storage (:mod:`listening.stimuli.originals`), writes the
prepared FLAC files and records every step on the stimulus rows, so the researcher sees
progress and errors. One track is prepared at a time because its versions are
loudness-matched together. Measuring the masters comes after, in
:mod:`listening.stimuli.measurement`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from listening.models import Stimulus, Track
from listening.stimuli.originals import check_source_policy, read_original
from listening.stimuli.playback_files import (
    PreparedVersion,
    encode_versions,
    save_versions,
)

if TYPE_CHECKING:
    from analysis.audio import Audio
    from analysis.io import AudioFile

logger = logging.getLogger(__name__)

# Encodings tried before giving up on the true-peak ceiling (the first one holds it).
_CEILING_ATTEMPTS = 3


def step_label(track: Track, step: str) -> str:
    """Name the study, track and step for the worker's log lines."""
    return f"study {track.study_id} {track.study.title!r}, track {track.pk} {track.title!r}, {step}"


def error_text(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)


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
    logger.info("%s: %d source(s)", step_label(track, "prepare: start"), len(sources))
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
    versions = {s.pk: PreparedVersion(s) for s in [*sources, *anchors]}
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
            versions[stimulus.pk].error = error_text(exc)
            return False
        versions[stimulus.pk].fields.update(
            mono_source=audio.channels == 1, lossy_source=bool(audio.lossy)
        )
        return True

    mix = track.mix
    mix_file: AudioFile | None = None
    if mix is not None:
        try:
            logger.info("%s", step_label(track, f"decode {mix.describe()}"))
            mix_file = read_original(mix)
        except (AnalysisError, OSError, ValidationError) as exc:
            versions[mix.pk].error = error_text(exc)
        if mix_file is not None and not admit(mix, mix_file):
            mix_file = None
    if mix is not None and mix_file is not None:
        try:
            spans[mix.pk] = conform_span(mix_file.samples, mix_file.rate, spec)
            versions[mix.pk].excerpt = cut_excerpt(
                spans[mix.pk][0], spec, offset=spans[mix.pk][1], name="mix"
            )
        except AnalysisError as exc:
            versions[mix.pk].error = error_text(exc)
    mix_ok = mix is not None and mix_file is not None and versions[mix.pk].excerpt is not None
    mix_at: dict[int, Audio] = {mix_file.rate: mix_file.samples} if mix_file is not None else {}
    for stimulus in track.masters:
        version = versions[stimulus.pk]
        held = sum(copy.nbytes for copy in mix_at.values())
        rate = stimulus.original_rate
        if mix_file is not None and rate is not None and rate not in mix_at:
            held += round(mix_file.samples.nbytes * rate / mix_file.rate)  # the copy to come
        try:
            logger.info("%s", step_label(track, f"decode {stimulus.describe()}"))
            master_file = read_original(stimulus, held=held)
        except (AnalysisError, OSError, ValidationError) as exc:
            version.error = error_text(exc)
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
            version.error = error_text(exc)
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
            version.error = error_text(exc)

    # 6. Identical fades, then the loudness and true peak of exactly what will play.
    for version in versions.values():
        if version.excerpt is None:
            continue
        try:
            version.excerpt = apply_fades(version.excerpt, spec)
            version.level = measure_level(version.excerpt, spec.rate)
        except AnalysisError as exc:
            version.error, version.excerpt = f"excerpt: {error_text(exc)}", None

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
                above = encode_versions(playing, match.gains_db, study, spec.rate, new_files)
                if above <= 0.0:
                    break
                # An encoded file reads above the ceiling (the margin should prevent it):
                # lower the whole track by the excess and encode again.
                logger.warning(
                    "%s: an encoded file read %.4f dB above the ceiling; re-encoding lower",
                    step_label(track, "encode"),
                    above,
                )
                target = match.target_lufs - above - 0.001
                for name in new_files:
                    Stimulus.prepared.field.storage.delete(name)
                new_files.clear()
            else:
                raise RuntimeError(f"{step_label(track, 'encode')}: the ceiling could not be held")
            track.playback_loudness_lufs = match.target_lufs
        else:
            track.playback_loudness_lufs = None
        save_versions(track, versions, fingerprint)
    except BaseException:
        for name in new_files:  # nothing half-stored: drop the files no row points to
            Stimulus.prepared.field.storage.delete(name)
        raise

    failed = {v.stimulus.pk: v.error for v in versions.values() if v.error}
    logger.info(
        "%s: %d ready, %d failed, plays at %s LUFS",
        step_label(track, "prepare: done"),
        len(versions) - len(failed),
        len(failed),
        track.playback_loudness_lufs,
    )
    for version in versions.values():
        if version.error:
            logger.warning(
                "%s: %s", step_label(track, f"prepare {version.stimulus.describe()}"), version.error
            )
    return {
        "track": track_id,
        "playback_loudness_lufs": track.playback_loudness_lufs,
        "ready": len(versions) - len(failed),
        "failed": failed,
    }


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
