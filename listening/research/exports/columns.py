"""What every column of the exported tables means: one description, used by the bundle's
README (:func:`listening.research.exports.bundle.readme_text`) and checked by the tests."""

from __future__ import annotations

# -- column documentation (also the README of the results bundle) -------------------------------

_PARTICIPANT = {
    "session": "Session id (one participant visit); joins the sessions table.",
    "participant": "Participant external id: the Prolific PID, else `session-<session id>`.",
    "track": "Track title (unique within the study).",
    "genre": "Genre of the track.",
}
_TRIAL_TIMES = {
    "trial_started_at": "When the trial page was first shown (ISO 8601, UTC).",
    "trial_completed_at": "When the trial was submitted (ISO 8601, UTC).",
    "simulated": "True for rows of simulated participants (never real data).",
}
RATING_COLUMNS: dict[str, str] = {
    **_PARTICIPANT,
    "stimulus": "Stimulus id of the rated version; joins the stimuli table.",
    "role": "Role of the stimulus: mix, master or anchor.",
    "condition_role": "Role in the trial: test, hidden_reference or anchor.",
    "condition_kind": "What analysis.stats groups by: hidden_reference, anchor_<cutoff Hz> "
    "(anchor_3500, anchor_7000), mix, or system (a master under test).",
    "system": "System of the stimulus: ai, human, or none (mix and anchors). A master that "
    "plays as the hidden reference keeps its system; its condition_kind is hidden_reference.",
    "provider": "Who made the master (e.g. a service or an engineer); empty otherwise.",
    "attribute": "The rated attribute, as the study names it.",
    "score": "Rating, 0..100 (the final value after any changes).",
    "trial_position": "Position of the trial in the participant's sequence (1 = first rated).",
    "condition_position": "Position of the condition on the page (1 = A, 2 = B, ...).",
    "changes": "How many times the participant saved this rating.",
    "first_rated_at": "When the rating was first saved (ISO 8601, UTC).",
    "rated_at": "When the rating was last changed (ISO 8601, UTC).",
    **_TRIAL_TIMES,
}
_PAIR = {
    "trial_position": "Position of the trial in the participant's sequence (1 = first rated).",
    "a_stimulus": "Stimulus id played as A.",
    "a_system": "System of A (ai, human).",
    "a_provider": "Provider of A.",
    "b_stimulus": "Stimulus id played as B.",
    "b_system": "System of B.",
    "b_provider": "Provider of B.",
}
ABX_COLUMNS: dict[str, str] = {
    **_PARTICIPANT,
    "pair": "The systems compared, sorted and joined by `|` (e.g. ai|human).",
    "repetition": "Repetition of this pair for this participant (0-based).",
    **_PAIR,
    "x_stimulus": "Stimulus id that X played.",
    "x_system": "System X played.",
    "x_position": "Which side X was: A or B.",
    "answer_position": "The participant's answer: A or B.",
    "answer_system": "System of the side the participant chose.",
    "correct": "True when the answer named the side X was.",
    "response_ms": "Milliseconds from showing the trial to the (last) answer.",
    "answered_at": "When the answer was given (ISO 8601, UTC).",
    **_TRIAL_TIMES,
}
PREFERENCE_COLUMNS: dict[str, str] = {
    **_PARTICIPANT,
    "attribute": "The attribute the preference is about.",
    **_PAIR,
    "choice_system": "System of the preferred version, or `none` for no preference.",
    "choice_position": "A or B; empty for no preference.",
    "no_preference": "True when the participant had no preference.",
    "position_of_ai": "Where the AI master played: A, B, or empty when neither is AI.",
    "response_ms": "Milliseconds from showing the trial to the (last) answer.",
    "changes": "How many times the participant saved this answer.",
    "answered_at": "When the answer was last saved (ISO 8601, UTC).",
    **_TRIAL_TIMES,
}
STIMULUS_COLUMNS: dict[str, str] = {
    "stimulus": "Stimulus id.",
    "track": "Track title.",
    "genre": "Genre of the track.",
    "role": "mix, master or anchor.",
    "system": "ai, human, or none (mix and anchors).",
    "provider": "Who made the master.",
    "anchor_cutoff_hz": "Low-pass cutoff of an anchor, Hz.",
    "original_filename": "File name of the upload.",
    "original_format": "Container format of the upload (e.g. WAV, FLAC).",
    "original_subtype": "Sample format of the upload (e.g. PCM_24).",
    "original_rate": "Sample rate of the upload, Hz.",
    "original_channels": "Channels of the upload.",
    "original_duration": "Duration of the upload, s.",
    "original_lossy": "True when the upload was lossy-coded.",
    "mono_source": "True when the version was made from a mono upload (accepted by the "
    "study's accept_mono): it plays as dual mono, without the width of a stereo version.",
    "lossy_source": "True when the version was made from a lossy-coded upload (accepted by "
    "the study's accept_lossy): codec artefacts are part of what listeners hear.",
    "status": "Preparation status: pending, processing, ready or failed.",
    "prepared_rate": "Sample rate of the prepared excerpt, Hz.",
    "prepared_frames": "Frames of the prepared excerpt.",
    "excerpt_loudness_lufs": "Integrated loudness of the excerpt before gain, LUFS.",
    "gain_db": "Gain applied to the excerpt, dB.",
    "true_peak_dbtp": "True peak of the prepared file (BS.1770-4, 4x oversampling), dBTP.",
    "true_peak_oversampled_dbtp": "True peak of the prepared file at 32x oversampling, dBTP.",
    "playback_loudness_lufs": "Integrated loudness of the prepared file, LUFS.",
    "alignment_lag": "Samples at the master's own rate: master[n + lag] = mix[n].",
    "alignment_polarity": "+1, or -1 when the master is polarity-inverted.",
    "alignment_correlation": "Peak correlation of the alignment.",
    "metrics_version": "Version of analysis.metrics.measure that measured the metrics.",
    "metrics_error": "Why the metrics could not be measured, if they could not.",
}
METRICS_NOTE = (
    "Then one column per objective metric of analysis.metrics.measure (masters against their "
    "mix, on the full delivered audio; empty for mixes and anchors), e.g. integrated, "
    "true_peak, loudness_range, plr, psr, dr_value, lp_spotify, dm, median_csdr, hfd, it, "
    "stoi, wsc, centroid_hz, tilt_db_per_octave, ber; the metric keys are defined in "
    "docs/metrics.md and the README (Metric keys)."
)
SESSION_COLUMNS: dict[str, str] = {
    "session": "Session id.",
    "participant": "Participant external id: the Prolific PID, else `session-<session id>`.",
    "prolific_pid": "Prolific participant id (empty when not recruited through Prolific).",
    "prolific_study_id": "Prolific study id.",
    "prolific_session_id": "Prolific session id.",
    "state": "Where the session is: consent, questionnaire, calibration, screening, training, "
    "trials, final, complete, screened_out, declined or withdrawn.",
    "simulated": "True for simulated participants (never real data).",
    "started_at": "When the session started (ISO 8601, UTC).",
    "consent_at": "When consent was given.",
    "calibrated_at": "When the volume calibration was confirmed.",
    "completed_at": "When the final questionnaire was submitted.",
    "ended_at": "When the session finished, however it finished.",
    "last_seen_at": "Last activity.",
    "duration_s": "Seconds from start to end (empty while unfinished).",
    "trials_planned": "Rated trials drawn for this participant.",
    "trials_done": "Rated trials submitted.",
    "screening_passed": "Outcome of the headphone screening (empty when not taken).",
    "screening_attempts": "Screening attempts taken.",
    "screening_scores": "Scores of the last attempt per test, as JSON.",
    "language": "The language of the participant's pages (en, de, es), chosen when the session "
    "started (empty for sessions older than the choice).",
}
QUESTIONNAIRE_NOTE = (
    "Then one column per questionnaire answer: `q_<field name>` for the questionnaire "
    "before the trials and `final_<field name>` for the one after them."
)
WEBMUSHRA_COLUMNS: dict[str, str] = {
    "session_test_id": "webMUSHRA test id: `study-<study id>`.",
    "session_uuid": "A stable UUID per session (derived from the study and session ids).",
    "trial_id": "webMUSHRA trial: one track rated on one attribute, `<track>__<attribute>` "
    "(slugs), since a webMUSHRA page rates one scale.",
    "rating_stimulus": "webMUSHRA stimulus name: `reference` (the hidden reference), "
    "`anchor35` / `anchor70` (3.5 / 7 kHz anchors), `mix`, or the master's system and "
    "provider (`ai_landr`, `human_eng-1`; just the system when there is no provider).",
    "rating_score": "Rating, 0..100.",
    "rating_time": "Milliseconds the participant spent on the trial page.",
    "rating_comment": "Always empty (the platform collects no per-trial comments).",
    "participant": "Participant external id (extra column).",
    "attribute": "The rated attribute (extra column).",
    "simulated": "True for simulated participants (extra column).",
}

#: The tidy tables, in bundle order, with their documented columns and a note on extra ones.
TABLES: dict[str, tuple[dict[str, str], str]] = {
    "ratings": (RATING_COLUMNS, ""),
    "abx": (ABX_COLUMNS, ""),
    "preferences": (PREFERENCE_COLUMNS, ""),
    "stimuli": (STIMULUS_COLUMNS, METRICS_NOTE),
    "sessions": (SESSION_COLUMNS, QUESTIONNAIRE_NOTE),
}


#: What the platform checked before storing the material, and what each flag means.
MATERIAL_NOTES = (
    "## What was checked at import, and the flags",
    "",
    "Before any file was stored (import_study, the API and the admin alike), each upload",
    "was decoded completely and refused if it was not audio, digital silence, longer than",
    "the limits, a duplicate, or had more than two channels. Mono and lossy-coded (MP3, Ogg,",
    "Opus) files were refused unless the study accepted them (`accept_mono`,",
    "`accept_lossy`). Every master was aligned with its mix (GCC-PHAT) and refused if the",
    "alignment correlation was below 0.3 (not a master of that mix); every version had to",
    "cover the excerpt once aligned; genres were normalised (spaces, case) and at most 50",
    "characters.",
    "",
    "- `mono_source`: the version was made from a mono file and plays as dual mono (no",
    "  stereo width, which listeners can hear).",
    "- `lossy_source`: the version was made from a lossy-coded file; codec artefacts are",
    "  part of what was rated. HFD is not applicable to it (`hfd_valid` false).",
    "- `hfd_valid`, `hfd_note` (metric columns): HFD applies only to lossless pairs, and",
    "  only over the 4-8, 8-12 and 12-16 kHz bands where the mix holds at least -50 dB of",
    "  its 50 Hz-16 kHz power; `hfd_note` names every band left out and why. `hfd` is the",
    "  mean over the bands that apply.",
    "- `true_peak_dbtp`, `true_peak_oversampled_dbtp`: the prepared file's true peak at 4x",
    "  (BS.1770-4) and 32x; the stricter of the two plus 0.06 dB is at or below the ceiling.",
    "- `align_lag`, `align_subsample` (metric columns): the whole-sample lag of the master",
    "  behind its mix, and the residual fraction of a sample the excerpt keeps.",
)
