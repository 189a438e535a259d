"""The dashboard's running AI-versus-human estimate: the report's own models, fitted by a worker.

The estimate is ``analyse_study`` on the tables the report reads
(:func:`listening.research.exports.analysis_tables`). On a large study that takes tens of
seconds and hundreds of MiB (``benchmarks/bench_export.py``, steps ``monitor_tables`` and
``monitor_fit``), so a dashboard request never fits it: it reads the last fit from the
shared cache and, when answers changed and at most every
``LISTENING_MONITOR_ESTIMATE_SECONDS``, queues one background refit (django-tasks; the
immediate backend of the tests runs it at once). One refit per study runs at a time: a
cache lock, released when the task ends, keeps a polling page from queueing more.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q
from django.utils import timezone
from django_tasks import task

from listening.models import AbxAnswer, PreferenceAnswer, Rating, Study
from listening.research.exports import analysis_tables

logger = logging.getLogger(__name__)

CACHE_PREFIX = "workspace:monitor:estimate"
#: Below this many participants (or tracks) in a fit, its interval means nothing: no number.
MIN_PARTICIPANTS = MIN_TRACKS = 2
#: A refit lock older than this is taken to belong to a worker that died with it.
REFIT_LOCK_SECONDS = 15 * 60


def estimate_interval() -> float:
    """The least time between two refits of one study's estimate, in seconds."""
    return float(getattr(settings, "LISTENING_MONITOR_ESTIMATE_SECONDS", 60))


def _key(study_id: int) -> str:
    return f"{CACHE_PREFIX}:{study_id}"


def _lock_key(study_id: int) -> str:
    return f"{CACHE_PREFIX}:refitting:{study_id}"


def answers_fingerprint(study: Study) -> list[Any]:
    """What changes whenever an analysed answer is added, changed or removed."""
    parts: list[Any] = []
    for model, stamp, extra in (
        (Rating, "updated_at", Q()),
        (AbxAnswer, "answered_at", Q(answer__isnull=False)),
        (PreferenceAnswer, "answered_at", Q()),
    ):
        found = model.objects.filter(
            extra, trial__session__study=study, trial__is_training=False
        ).aggregate(n=Count("pk"), last_id=Max("pk"), last_at=Max(stamp))
        last_at = found["last_at"]
        parts += [found["n"], found["last_id"], last_at.isoformat() if last_at else None]
    return parts


def _number(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


#: The forest plots, from the report's results: (StudyResults attribute, kind, columns and text).
PANELS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "primary",
        "ratings",
        {
            "label": "attribute",
            "estimate": "estimate",
            "low": "ci_low",
            "high": "ci_high",
            "p": "p_holm",
            "title": "Human − AI, rating points (crossed mixed model, 95 % CI)",
            "unit": "rating points (human − AI)",
            "null": 0.0,
        },
    ),
    (
        "preference_model",
        "preference",
        {
            "label": "attribute",
            "estimate": "prob",
            "low": "prob_ci_low",
            "high": "prob_ci_high",
            "p": "p_holm",
            "scale": 100,
            "title": "AB: share preferring the human master, % (logistic mixed model, 95 % CI)",
            "unit": "% preferring human (50 = no preference)",
            "null": 50.0,
        },
    ),
    (
        "abx_model",
        "abx",
        {
            "label": "pair",
            "estimate": "prob",
            "low": "prob_ci_low",
            "high": "prob_ci_high",
            "p": "p",
            "scale": 100,
            "title": "ABX: share of correct answers, % (logistic mixed model, 95 % CI)",
            "unit": "% correct (50 = guessing)",
            "null": 50.0,
        },
    ),
]


def _panel(kind: str, table: Any, **spec: Any) -> dict[str, Any]:
    """One forest plot's rows from a result table (non-finite values become None)."""
    scale = spec.get("scale", 1.0)
    rows = []
    for record in table.to_dict("records"):
        row: dict[str, Any] = {"label": str(record[spec["label"]])}
        for name in ("estimate", "low", "high"):
            value = _number(record[spec[name]])
            row[name] = None if value is None else value * scale
        row["p"] = _number(record[spec["p"]])
        row["participants"] = int(record["n_participants"])
        if row["participants"] < MIN_PARTICIPANTS or int(record["n_tracks"]) < MIN_TRACKS:
            row.update(estimate=None, low=None, high=None, p=None)
        rows.append(row)
    return {
        "kind": kind,
        "title": spec["title"],
        "unit": spec["unit"],
        "null": spec["null"],
        "rows": rows,
    }


def _empty_estimate(reason: str, participants: int = 0) -> dict[str, Any]:
    """An estimate without panels, computed now, saying why."""
    return {
        "computed_at": timezone.now().isoformat(timespec="seconds"),
        "participants": participants,
        "panels": [],
        "reason": reason,
        "kept_after_screening": None,  # MUSHRA ratings only
    }


def fit_estimate(study: Study) -> dict[str, Any]:
    """Fit the report's models on the answers so far, or say why there is too little data."""
    from analysis.errors import AnalysisError
    from analysis.stats import analyse_study

    frames = analysis_tables(study)
    present = {name: frame for name, frame in frames.items() if len(frame)}
    participants = {
        str(p) for frame in present.values() for p in frame["participant"].astype(str).unique()
    }
    out = _empty_estimate("", participants=len(participants))
    if not present:
        out["reason"] = "No answers yet."
        return out
    try:
        results = analyse_study(
            present.get("ratings"),
            abx=present.get("abx"),
            preferences=present.get("preferences"),
            sensitivity=False,
        )
    except (AnalysisError, ValueError, ArithmeticError) as exc:
        out["reason"] = f"Too little data to fit the model yet: {exc}"
        return out
    if results.screening is not None:
        out["kept_after_screening"] = int(results.screening.n_after)
    for attribute, kind, spec in PANELS:
        table = getattr(results, attribute)
        if table is not None:
            out["panels"].append(_panel(kind, table, **spec))
    if not any(r["estimate"] is not None for panel in out["panels"] for r in panel["rows"]):
        out["panels"] = []
        out["reason"] = (
            "Too little data to fit the model yet: it needs answers from at least "
            f"{MIN_PARTICIPANTS} participants on at least {MIN_TRACKS} tracks."
        )
    return out


def refit(study: Study) -> dict[str, Any]:
    """Fit the estimate now and store it with the answers it saw; return it.

    The fingerprint is read before the tables, so answers arriving during the fit make the
    stored estimate stale (and refitted later) rather than wrongly current. A fit that fails
    unexpectedly is stored with its reason, so a polling page does not queue it again until
    the answers change.
    """
    fingerprint = answers_fingerprint(study)
    try:
        estimate = fit_estimate(study)
    except Exception:
        logger.exception("The dashboard's estimate of study %s failed", study.pk)
        estimate = _empty_estimate(
            "The model could not be fitted; the error is in the server's log."
        )
    cache.set(
        _key(study.pk),
        {"fingerprint": fingerprint, "fitted": time.time(), "estimate": estimate},
        86400,
    )
    return estimate


@task()
def refit_estimate_task(study_id: int) -> None:
    """Refit one study's dashboard estimate in the background, then release its lock."""
    try:
        study = Study.objects.filter(pk=study_id).first()
        if study is not None:
            refit(study)
    finally:
        cache.delete(_lock_key(study_id))


def live_estimate(study: Study) -> dict[str, Any]:
    """The last estimate, with a refit queued when answers changed and the interval has passed.

    ``stale`` says newer answers are not in it yet; ``refitting`` that a refit is under way;
    ``computed_at`` is None until the first fit is done.
    """
    fingerprint = answers_fingerprint(study)
    if not any(fingerprint[::3]):  # no answer at all: nothing to fit, nothing to queue
        return {**_empty_estimate("No answers yet."), "stale": False, "refitting": False}
    cached = cache.get(_key(study.pk))
    due = cached is None or (
        cached["fingerprint"] != fingerprint
        and time.time() - cached["fitted"] >= estimate_interval()
    )
    if due and cache.add(_lock_key(study.pk), time.time(), REFIT_LOCK_SECONDS):
        try:
            refit_estimate_task.enqueue(study.pk)
        except Exception:
            cache.delete(_lock_key(study.pk))  # nothing queued: let the next request try
            raise
        cached = cache.get(_key(study.pk))  # the immediate backend has fitted it already
    refitting = cache.get(_lock_key(study.pk)) is not None
    if cached is None:
        return {**_empty_estimate(""), "computed_at": None, "stale": True, "refitting": refitting}
    return {
        **cached["estimate"],
        "stale": cached["fingerprint"] != fingerprint,
        "refitting": refitting,
    }
