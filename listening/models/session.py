"""Participant sessions: the steps a participant walks through and what each step records.

A session is a small state machine (consent -> questionnaire -> calibration ->
screening -> training -> trials -> final questionnaire -> complete); every step is
stored, so a reload lands on the same step with the same randomisation.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from listening.models.errors import AnswerError
from listening.models.responses import ListenEvent
from listening.models.trial import Trial

# Migration 0001 names the conditions' key generator here, where Condition used to live.
from listening.models.trial import new_condition_key as new_condition_key

if TYPE_CHECKING:
    from listening.models.study import Study


def new_session_token() -> str:
    """256 random bits, URL-safe; never starting with "-", which a command line (e.g.
    ``manage.py participant_data TOKEN``) would read as an option (1 draw in 64 did)."""
    while (token := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return token


#: The event types a page sends: the stored kinds, but "loop_off" (a "loop" with ``on`` false).
EVENT_TYPES = set(ListenEvent.Kind.values) - {ListenEvent.Kind.LOOP_OFF}


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0 <= value < 1e6 else None


def _epoch_ms(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp() * 1000.0
    except ValueError:
        return None


def idle_limit() -> timedelta:
    return timedelta(minutes=getattr(settings, "LISTENING_SESSION_IDLE_MINUTES", 48 * 60))


class SessionQuerySet(models.QuerySet["Session"]):
    def by_token(self, token: str) -> Session | None:
        """The session with this token, its study joined (None when there is none)."""
        # A unique key: no ORDER BY to compile, which first() would add.
        return next(iter(self.select_related("study").filter(token=token).order_by()[:1]), None)

    def planned(self) -> SessionQuerySet:
        """Sessions that have drawn their trials (their plans count towards balancing)."""
        return self.exclude(plan={})


class Session(models.Model):
    class State(models.TextChoices):
        CONSENT = "consent", "Consent"
        QUESTIONNAIRE = "questionnaire", "Questionnaire"
        CALIBRATION = "calibration", "Volume calibration"
        SCREENING = "screening", "Headphone screening"
        TRAINING = "training", "Training"
        TRIALS = "trials", "Trials"
        FINAL_QUESTIONNAIRE = "final", "Final questionnaire"
        COMPLETE = "complete", "Complete"
        SCREENED_OUT = "screened_out", "Screened out"
        DECLINED = "declined", "Declined consent"
        WITHDRAWN = "withdrawn", "Withdrawn"

    #: The page (URL step) of each state; finished sessions all show "done".
    STEPS: ClassVar[dict[str, str]] = {
        State.CONSENT: "consent",
        State.QUESTIONNAIRE: "questionnaire",
        State.CALIBRATION: "calibration",
        State.SCREENING: "screening",
        State.TRAINING: "training",
        State.TRIALS: "trial",
        State.FINAL_QUESTIONNAIRE: "final",
    }
    FINISHED = (State.COMPLETE, State.SCREENED_OUT, State.DECLINED, State.WITHDRAWN)

    study = models.ForeignKey("listening.Study", models.CASCADE, related_name="sessions")
    token = models.CharField(max_length=64, unique=True, default=new_session_token, editable=False)
    prolific_pid = models.CharField(max_length=64, blank=True)
    prolific_study_id = models.CharField(max_length=64, blank=True)
    prolific_session_id = models.CharField(max_length=64, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    questionnaire = models.JSONField(default=dict, blank=True)
    final_questionnaire = models.JSONField(default=dict, blank=True)
    screening = models.JSONField(default=dict, blank=True)
    calibrated_at = models.DateTimeField(null=True, blank=True)
    plan = models.JSONField(
        default=dict, blank=True, help_text="Seed, trial order and condition order."
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.CONSENT)
    # Chosen once, when the session starts, among the study's languages (resumes keep it).
    language = models.CharField(
        max_length=8, blank=True, help_text="The language of the participant's pages."
    )
    simulated = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When the session finished, however it finished."
    )
    event_count = models.PositiveIntegerField(
        default=0, help_text="Listening events stored (capped: LISTENING_EVENTS_PER_SESSION)."
    )

    objects = SessionQuerySet.as_manager()

    class Meta:
        # Key columns, not the relations: ordering by "study" would join the study table
        # (to use its ordering) into every query of the participant's hot path.
        ordering = ("study_id", "started_at")
        constraints = (
            models.UniqueConstraint(
                fields=["study", "prolific_pid"],
                condition=~Q(prolific_pid=""),
                name="session_one_per_prolific_pid",
            ),
        )

    def __str__(self) -> str:
        return f"session {self.pk} of {self.study}"

    # -- where the participant is ------------------------------------------------------------

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def step(self) -> str:
        return self.STEPS.get(self.State(self.state), "done")

    def url(self, step: str | None = None) -> str:
        return f"/p/{self.token}/{step or self.step}"

    def is_expired(self) -> bool:
        """Tell whether an unfinished session has been idle longer than the configured limit."""
        if self.is_finished:
            return False
        seen = self.last_seen_at or self.started_at
        return seen is not None and timezone.now() - seen > idle_limit()

    def touch(self) -> None:
        """Record activity (at most once a minute, to spare the database)."""
        now = timezone.now()
        if self.last_seen_at is None or now - self.last_seen_at > timedelta(minutes=1):
            self.last_seen_at = now
            Session.objects.filter(pk=self.pk).update(last_seen_at=now)

    def move_to(self, state: str, *fields: str) -> None:
        self.state = state
        if state in self.FINISHED:
            self.ended_at = timezone.now()
            fields = (*fields, "ended_at")
        self.save(update_fields=["state", *fields])

    # -- the steps before the trials -----------------------------------------------------------

    def record_consent(self, agree: bool) -> None:
        if agree:
            self.consent_at = timezone.now()
            self.move_to(self.State.QUESTIONNAIRE, "consent_at")
        else:
            self.move_to(self.State.DECLINED)

    def record_questionnaire(self, answers: dict[str, Any]) -> None:
        self.questionnaire = answers
        self.move_to(self.State.CALIBRATION, "questionnaire")

    def record_final(self, answers: dict[str, Any]) -> None:
        self.final_questionnaire = answers
        self.completed_at = timezone.now()
        self.move_to(self.State.COMPLETE, "final_questionnaire", "completed_at")

    # -- the trials ----------------------------------------------------------------------------

    def rated_trials(self) -> models.QuerySet[Trial]:
        return self.trials.filter(is_training=False)

    def training_trial(self) -> Trial | None:
        return self.trials.filter(is_training=True).first()

    def current_trial(self) -> Trial | None:
        """The trial the participant is on: training first, then the first one not done."""
        if self.state == self.State.TRAINING:
            return self.training_trial()
        if self.state == self.State.TRIALS:
            return self.rated_trials().exclude(state=Trial.State.DONE).order_by("position").first()
        return None

    def trial_for_request_checks(self, trial_id: Any) -> None:
        """Refuse a request for a finished session or one whose trial id is not a number."""
        if self.is_finished:
            raise AnswerError("This session is finished; its answers can no longer change.", 409)
        if isinstance(trial_id, bool) or not isinstance(trial_id, int):
            raise AnswerError(f"trial={trial_id!r} must be the trial's id (a whole number)")

    def trial_for_request(self, trial_id: Any) -> Trial:
        """Find the trial a participant request names (by its position); raise AnswerError."""
        self.trial_for_request_checks(trial_id)
        trial = self.trials.filter(position=trial_id).first()
        if trial is None:
            raise AnswerError(f"trial={trial_id!r} is not a trial of this session")
        return trial

    def record_events(self, body: Any) -> int:
        """Store a batch of listening events for one trial; return how many were stored."""
        if not isinstance(body, dict):
            raise AnswerError("the request body must be a JSON object")
        trial = self.trial_for_request(body.get("trial"))
        # Only the trial on screen: listening to a trial not reached yet, or to one already
        # submitted, is not something a page can report (the server times it from the page).
        if trial.state == Trial.State.DONE:
            raise AnswerError(
                f"trial={trial.position} was already submitted; its listening events can no "
                "longer change.",
                409,
            )
        current = self.current_trial()
        if current is None or current.pk != trial.pk:
            raise AnswerError(
                f"trial={trial.position} has not been reached yet: listening events are "
                "accepted for the current trial only.",
                409,
            )
        events = body.get("events")
        if not isinstance(events, list):
            raise AnswerError("events must be a list of events")
        per_request = settings.LISTENING_EVENTS_PER_REQUEST
        if len(events) > per_request:
            raise AnswerError(
                f"{len(events)} events in one request; at most {per_request} are accepted "
                "(send them in smaller batches). Nothing was stored.",
                413,
            )
        conditions = {c.key: c for c in trial.conditions.all()}
        rows = []
        for event in events:
            if not isinstance(event, dict) or event.get("type") not in EVENT_TYPES:
                kind = event.get("type") if isinstance(event, dict) else event
                raise AnswerError(f"event type={kind!r} must be one of {sorted(EVENT_TYPES)}")
            kind = str(event["type"])
            key = event.get("to") if kind == "switch" else event.get("condition")
            if key is not None and key not in conditions:
                raise AnswerError("an event names a condition that is not in this trial")
            position = _seconds(event.get("to") if kind == "seek" else event.get("position"))
            if kind == "loop" and not event.get("on"):
                kind = ListenEvent.Kind.LOOP_OFF
            rows.append(
                ListenEvent(
                    session=self,
                    trial=trial,
                    condition=conditions.get(key) if key is not None else None,
                    kind=kind,
                    position=position,
                    loop_start=_seconds(event.get("a")),
                    loop_end=_seconds(event.get("b")),
                    client_time_ms=_epoch_ms(event.get("at")),
                )
            )
        count = len(rows)
        for stored, limit, what in (
            (trial.event_count, settings.LISTENING_EVENTS_PER_TRIAL, f"trial={trial.position}"),
            (self.event_count, settings.LISTENING_EVENTS_PER_SESSION, "this session"),
        ):
            if count and stored + count > limit:
                raise AnswerError(
                    f"{what} has reached its limit of {limit} listening events "
                    f"({stored} stored); these {count} were not stored.",
                    413,
                )
        if count:
            ListenEvent.objects.bulk_create(rows)
            # The session's row is locked (views.answers): the counts cannot race.
            Trial.objects.filter(pk=trial.pk).update(event_count=F("event_count") + count)
            Session.objects.filter(pk=self.pk).update(event_count=F("event_count") + count)
            self.event_count += count
        return count

    # -- the end -------------------------------------------------------------------------------

    @property
    def completion_code(self) -> str:
        """The study's completion code, or one derived from this session (not guessable)."""
        if self.study.completion_code:
            return self.study.completion_code
        digest = hmac.new(
            settings.SECRET_KEY.encode(), f"completion:{self.token}".encode(), hashlib.sha256
        )
        return digest.hexdigest()[:10].upper()

    def completion_redirect(self) -> str:
        """The recruiter's URL to send a completed participant to ("" when there is none).

        Prolific's completion links carry the code as ``cc``; it is filled in when the
        URL points at Prolific or has an empty ``cc`` parameter.
        """
        study: Study = self.study
        url = study.redirect_url
        if not url:
            return ""
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        names = [name for name, _ in query]
        prolific = parts.hostname is not None and "prolific" in parts.hostname
        if "cc" in names:
            query = [(n, v or self.completion_code if n == "cc" else v) for n, v in query]
        elif prolific:
            query.append(("cc", self.completion_code))
        return urlunsplit(parts._replace(query=urlencode(query)))
