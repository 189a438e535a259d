"""Participant sessions, their trials and the blinded conditions each trial plays.

A session is a small state machine (consent -> questionnaire -> calibration ->
screening -> training -> trials -> final questionnaire -> complete); every step is
stored, so a reload lands on the same step with the same randomisation.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
import secrets
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from listening.participant import evidence
from listening.participant.paradigms import PARADIGM_CHOICES, AnswerError, get_paradigm
from listening.participant.randomisation import plan_session

if TYPE_CHECKING:
    from listening.models.study import Study


def new_session_token() -> str:
    """256 random bits, URL-safe; never starting with "-", which a command line (e.g.
    ``manage.py participant_data TOKEN``) would read as an option (1 draw in 64 did)."""
    while (token := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return token


def new_condition_key() -> str:
    return secrets.token_urlsafe(24)


EVENT_TYPES = {"play", "pause", "stop", "switch", "seek", "loop", "ended"}


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

    def _move(self, state: str, *fields: str) -> None:
        self.state = state
        if state in self.FINISHED:
            self.ended_at = timezone.now()
            fields = (*fields, "ended_at")
        self.save(update_fields=["state", *fields])

    # -- the steps before the trials -----------------------------------------------------------

    def record_consent(self, agree: bool) -> None:
        if agree:
            self.consent_at = timezone.now()
            self._move(self.State.QUESTIONNAIRE, "consent_at")
        else:
            self._move(self.State.DECLINED)

    def record_questionnaire(self, answers: dict[str, Any]) -> None:
        self.questionnaire = answers
        self._move(self.State.CALIBRATION, "questionnaire")

    def record_calibration(self) -> None:
        """Confirm the volume is set; go on to the screening, or straight to training."""
        self.calibrated_at = timezone.now()
        if self.study.screening_tests():
            self._move(self.State.SCREENING, "calibrated_at")
        else:
            self.start_training()

    def screened(self, passed: bool, attempts_left: int) -> None:
        """Apply a scored screening attempt: train, try again, or end with thanks."""
        if passed:
            self.start_training()
        elif attempts_left <= 0:
            self._move(self.State.SCREENED_OUT, "screening")
        else:
            self.save(update_fields=["screening"])

    def start_training(self) -> None:
        self.build_trials()
        self._move(self.State.TRAINING, "screening", "calibrated_at", "plan")

    def record_final(self, answers: dict[str, Any]) -> None:
        self.final_questionnaire = answers
        self.completed_at = timezone.now()
        self._move(self.State.COMPLETE, "final_questionnaire", "completed_at")

    # -- the trials ----------------------------------------------------------------------------

    def build_trials(self) -> None:
        """Draw this participant's plan and create its trials and conditions (once).

        Planning is serialised per study (a row lock on PostgreSQL; SQLite's immediate
        transactions serialise all writers), so the exposure counts of concurrent
        sessions are up to date and k-of-n balancing holds.
        """
        from listening.models.study import Study

        with transaction.atomic():
            study = Study.objects.select_for_update().get(pk=self.study_id)
            if self.trials.exists():
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
                .exclude(pk=self.pk)
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
            paradigm.build_training(self, tracks[order[0]], items[order[0]], rng)
            position = 1
            for track_id, conditions in zip(order, plan["condition_order"], strict=True):
                position += len(
                    paradigm.build_trials(self, tracks[track_id], conditions, rng, position)
                )
            plan["trials"] = position - 1
            self.plan = plan

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

    def submit_trial(self, trial: Trial) -> None:
        """Close a trial after the server-side checks; move on to the next step when done."""
        if self.is_finished:
            raise AnswerError("This session is finished; its answers can no longer change.", 409)
        current = self.current_trial()
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
            self._move(self.State.TRIALS)
        elif self.current_trial() is None:
            self._move(self.State.FINAL_QUESTIONNAIRE)

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

    def answer(self, body: Any) -> dict[str, Any]:
        """Store one answer (or submit a trial) from the page; return the response JSON.

        Call inside a transaction with this session's row locked, so two tabs of one
        session cannot interleave.
        """
        if not isinstance(body, dict):
            raise AnswerError("the request body must be a JSON object")
        current = self.current_trial()
        asked = body.get("trial")
        if current is not None and current.position == asked and not isinstance(asked, bool):
            trial = current  # the usual case, found with one query
            self.trial_for_request_checks(asked)
        else:
            trial = self.trial_for_request(asked)
        if trial.state == Trial.State.DONE:
            raise AnswerError(
                "This trial was already submitted (perhaps in another tab); reload the page.", 409
            )
        if current is None or current.pk != trial.pk:
            raise AnswerError("This is not the current trial; reload the page.", 409)
        if body.get("type") == "submit":
            self.submit_trial(trial)
            return {"next_url": self.url()}
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

    def record_events(self, body: Any) -> int:
        """Store a batch of listening events for one trial; return how many were stored."""
        from listening.models.responses import ListenEvent

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


class Trial(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Not started"
        ACTIVE = "active", "In progress"
        DONE = "done", "Done"

    session = models.ForeignKey(Session, models.CASCADE, related_name="trials")
    position = models.PositiveSmallIntegerField()
    # RESTRICT: a track its trials use cannot go alone, but with its study (whose
    # sessions and trials go in the same deletion) it can.
    track = models.ForeignKey("listening.Track", models.RESTRICT, related_name="trials")
    kind = models.CharField(max_length=16, choices=PARADIGM_CHOICES)
    is_training = models.BooleanField(default=False)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # What the participant wrote to this trial, for the caps (LISTENING_*_PER_TRIAL).
    event_count = models.PositiveIntegerField(default=0, help_text="Listening events stored.")
    answer_count = models.PositiveIntegerField(default=0, help_text="Answers saved.")

    class Meta:
        ordering = ("session_id", "position")
        constraints = (
            models.UniqueConstraint(fields=["session", "position"], name="trial_position_unique"),
        )

    def __str__(self) -> str:
        return f"trial {self.position} of session {self.session_id}"

    def mark_started(self) -> None:
        if self.state == self.State.PENDING:
            self.state, self.started_at = self.State.ACTIVE, timezone.now()
            self.save(update_fields=["state", "started_at"])

    def listening_conditions(self) -> list[Condition]:
        """The trial's conditions in order, with what the listening checks read."""
        fields = ("trial_id", "position", "role", "key", "stimulus__prepared_frames")
        return list(
            self.conditions.select_related("stimulus")
            .only(*fields, "stimulus__prepared_rate")
            .order_by("position")
        )

    def played_keys(self) -> list[str]:
        """Keys of the conditions the server's evidence shows were played
        (listening.participant.evidence): their file delivered to this session and their listening
        time on the server's clock."""
        conditions = self.listening_conditions()
        ids = evidence.played(self, conditions, self.session.study)
        return sorted(c.key for c in conditions if c.pk in ids)

    def next_trial(self) -> Trial | None:
        """The rated trial after this one (the first one after the training), if any."""
        return (
            Trial.objects.filter(
                session_id=self.session_id, is_training=False, position__gt=self.position
            )
            .order_by("position")
            .first()
        )

    def prefetch_keys(self) -> list[str]:
        """Keys of the next trial's audio, for the page to fetch while this one is rated.

        Sorted by key (random tokens), so the order of the requests says nothing about
        the next trial's presentation order or roles.
        """
        following = self.next_trial()
        if following is None:
            return []
        return sorted(following.conditions.values_list("key", flat=True))

    def page_data(self) -> dict[str, Any]:
        """Everything the trial page needs (the JSON the JavaScript reads); names nothing."""
        session = self.session
        study = session.study
        data = get_paradigm(self.kind).describe(self)
        data.update(
            paradigm=self.kind,
            mode="training" if self.is_training else "trial",
            trial={
                "id": self.position,
                "position": max(self.position, 1),
                "total": session.plan.get("trials", 1),
            },
            audio_url_template="/a/{key}",
            save_url=session.url("answers"),
            events_url=session.url("events"),
            next_url=f"/p/{session.token}/",
            state_url=session.url("current"),
            prefetch=self.prefetch_keys(),
            sample_rate=study.sample_rate,
            played=[] if self.is_training else self.played_keys(),
        )
        return data


class Condition(models.Model):
    """One playable item of a trial, known to the browser only by its opaque key."""

    class Role(models.TextChoices):
        REFERENCE = "reference", "Open reference"
        HIDDEN_REFERENCE = "hidden_reference", "Hidden reference"
        ANCHOR = "anchor", "Anchor"
        TEST = "test", "Condition under test"
        X = "x", "ABX unknown"

    #: Roles that play a version another condition of the trial also plays: they are served
    #: another dithered copy (listening.stimuli.playback_variants) so no two files of a trial match.
    VARIANT_ROLES = (Role.HIDDEN_REFERENCE, Role.X)

    trial = models.ForeignKey(Trial, models.CASCADE, related_name="conditions")
    stimulus = models.ForeignKey("listening.Stimulus", models.RESTRICT, related_name="conditions")
    position = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.TEST)
    key = models.CharField(max_length=64, unique=True, default=new_condition_key, editable=False)

    class Meta:
        ordering = ("trial_id", "position")
        constraints = (
            models.UniqueConstraint(fields=["trial", "position"], name="condition_position_unique"),
        )

    def __str__(self) -> str:
        return f"condition {self.position} of {self.trial}"

    @property
    def is_hidden_reference(self) -> bool:
        return self.role == self.Role.HIDDEN_REFERENCE

    @property
    def is_rated(self) -> bool:
        """Everything but the open reference is answered about."""
        return self.role != self.Role.REFERENCE

    def playback_file(self) -> Any:
        """The prepared file this condition plays: its session's dithered copy."""
        from listening.stimuli.playback_variants import session_variant

        return session_variant(self)
