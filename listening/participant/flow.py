"""A session's way through its trials: planning them, answering, submitting, and each page's data.

This is where a participant's answer reaches its paradigm (``listening.participant.paradigms``):
the models keep the state and the rules of the session; the dispatch to the paradigm that
plans, stores and describes a trial is here, so the models import no participant code.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Hashable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from listening.models import Session, Study, Trial
from listening.models.errors import AnswerError
from listening.participant import evidence
from listening.participant.paradigms import get_paradigm
from listening.participant.randomisation import plan_session


def record_calibration(session: Session) -> None:
    """Confirm the volume is set; go on to the screening, or straight to training."""
    session.calibrated_at = timezone.now()
    if session.study.screening_tests():
        session.move_to(Session.State.SCREENING, "calibrated_at")
    else:
        start_training(session)


def screened(session: Session, passed: bool, attempts_left: int) -> None:
    """Apply a scored screening attempt: train, try again, or end with thanks."""
    if passed:
        start_training(session)
    elif attempts_left <= 0:
        session.move_to(Session.State.SCREENED_OUT, "screening")
    else:
        session.save(update_fields=["screening"])


def start_training(session: Session) -> None:
    build_trials(session)
    session.move_to(Session.State.TRAINING, "screening", "calibrated_at", "plan")


def build_trials(session: Session) -> None:
    """Draw this participant's plan and create its trials and conditions (once).

    Planning is serialised per study (a row lock on PostgreSQL; SQLite's immediate
    transactions serialise all writers), so the exposure counts of concurrent
    sessions are up to date and k-of-n balancing holds.
    """

    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=session.study_id)
        if session.trials.exists():
            return
        paradigm = get_paradigm(study.paradigm)
        tracks = {t.pk: t for t in study.tracks.prefetch_related("stimuli").order_by("pk")}
        items: dict[Hashable, list[int]] = {
            pk: paradigm.plan_items(study, t) for pk, t in tracks.items()
        }
        track_ids = [pk for pk in tracks if items[pk]]
        previous = [
            p
            for p in Session.objects.filter(study=study)
            .planned()
            .exclude(pk=session.pk)
            .values_list("plan", flat=True)
            if isinstance(p, dict) and "track_order" in p
        ]
        k = study.trials_per_participant
        seed = secrets.randbits(31)
        plan = plan_session(
            track_ids,
            items,
            min(k, len(track_ids)) if k else None,
            previous,
            seed,
            balancing=study.balancing,
        )
        # Everything drawn after the plan (A/B sides, X) comes from one generator of the seed.
        rng = random.Random(f"{seed}:trials")
        order = plan["track_order"]
        paradigm.build_training(session, tracks[order[0]], items[order[0]], rng)
        position = 1
        for track_id, conditions in zip(order, plan["condition_order"], strict=True):
            position += len(
                paradigm.build_trials(session, tracks[track_id], conditions, rng, position)
            )
        plan["trials"] = position - 1
        session.plan = plan


def submit_trial(session: Session, trial: Trial) -> None:
    """Close a trial after the server-side checks; move on to the next step when done."""
    if session.is_finished:
        raise AnswerError("This session is finished; its answers can no longer change.", 409)
    current = session.current_trial()
    if current is None or current.pk != trial.pk:
        raise AnswerError(
            "This trial was already submitted (perhaps in another tab); reload the page.", 409
        )
    problems = [] if trial.is_training else get_paradigm(trial.kind).submit_problems(trial)
    if problems:
        raise AnswerError(" ".join(problems))
    trial.state = Trial.State.DONE
    trial.completed_at = timezone.now()
    trial.save(update_fields=["state", "completed_at"])
    if trial.is_training:
        session.move_to(Session.State.TRIALS)
    elif session.current_trial() is None:
        session.move_to(Session.State.FINAL_QUESTIONNAIRE)


def answer(session: Session, body: Any) -> dict[str, Any]:
    """Store one answer (or submit a trial) from the page; return the response JSON.

    Call inside a transaction with this session's row locked, so two tabs of one
    session cannot interleave.
    """
    if not isinstance(body, dict):
        raise AnswerError("the request body must be a JSON object")
    current = session.current_trial()
    asked = body.get("trial")
    if current is not None and current.position == asked and not isinstance(asked, bool):
        trial = current  # the usual case, found with one query
        session.trial_for_request_checks(asked)
    else:
        trial = session.trial_for_request(asked)
    if trial.state == Trial.State.DONE:
        raise AnswerError(
            "This trial was already submitted (perhaps in another tab); reload the page.", 409
        )
    if current is None or current.pk != trial.pk:
        raise AnswerError("This is not the current trial; reload the page.", 409)
    if body.get("type") == "submit":
        submit_trial(session, trial)
        return {"next_url": session.url()}
    limit = settings.LISTENING_ANSWERS_PER_TRIAL
    if trial.answer_count >= limit:
        raise AnswerError(
            f"trial={trial.position} has reached its limit of {limit} saved answers; "
            "nothing more is stored for it.",
            413,
        )
    get_paradigm(trial.kind).save_answer(trial, body)
    Trial.objects.filter(pk=trial.pk).update(answer_count=F("answer_count") + 1)
    return {"saved": True}


def played_keys(trial: Trial) -> list[str]:
    """Keys of the conditions the server's evidence shows were played
    (listening.participant.evidence): their file delivered to this session and their listening
    time on the server's clock."""
    conditions = trial.listening_conditions()
    ids = evidence.played(trial, conditions, trial.session.study)
    return sorted(c.key for c in conditions if c.pk in ids)


def page_data(trial: Trial) -> dict[str, Any]:
    """Everything the trial page needs (the JSON the JavaScript reads); names nothing."""
    session = trial.session
    study = session.study
    data = get_paradigm(trial.kind).describe(trial)
    data.update(
        paradigm=trial.kind,
        mode="training" if trial.is_training else "trial",
        trial={
            "id": trial.position,
            "position": max(trial.position, 1),
            "total": session.plan.get("trials", 1),
        },
        audio_url_template="/a/{key}",
        save_url=session.url("answers"),
        events_url=session.url("events"),
        next_url=f"/p/{session.token}/",
        state_url=session.url("current"),
        prefetch=trial.prefetch_keys(),
        sample_rate=study.sample_rate,
        played=[] if trial.is_training else played_keys(trial),
    )
    return data
