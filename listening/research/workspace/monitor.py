"""The live dashboard's numbers: progress over time, rates, and the running estimate.

Counts come from the database on every request (a few aggregate queries). The
AI-versus-human estimate is the report's own analysis (``analyse_study`` on the tables
the report reads, :func:`listening.research.exports.analysis_tables`); it is expensive on a large
study, so it is cached per study and refitted only when answers changed and at most
every ``LISTENING_MONITOR_ESTIMATE_SECONDS``.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce, TruncDay, TruncHour
from django.utils import timezone

from listening.models import AbxAnswer, PreferenceAnswer, Rating, Session, Study
from listening.research.exports import analysis_tables
from listening.research.results.summary import participation
from listening.research.workspace import charts

#: Up to this span of sessions, progress is counted per hour; beyond it, per day.
HOURLY_UP_TO = timedelta(hours=48)
CACHE_PREFIX = "workspace:monitor:estimate"
#: Below this many participants (or tracks) in a fit, its interval means nothing: no number.
MIN_PARTICIPANTS = MIN_TRACKS = 2


def _estimate_interval() -> float:
    return float(getattr(settings, "LISTENING_MONITOR_ESTIMATE_SECONDS", 60))


def timeline(study: Study, now: datetime | None = None) -> dict[str, Any]:
    """Sessions started, completed and screened out per hour or day, with cumulative completions."""
    sessions = Session.objects.filter(study=study).order_by()
    first = sessions.aggregate(first=Min("started_at"))["first"]
    if first is None:
        return {"unit": "hour", "rows": []}
    if study.status == Study.Status.OPEN or now is not None:
        end = now or timezone.now()
    else:  # a closed study's timeline ends with its last session, not today
        ends = sessions.aggregate(a=Max("started_at"), b=Max("ended_at"), c=Max("completed_at"))
        end = max(v for v in ends.values() if v is not None)
    hourly = end - first <= HOURLY_UP_TO
    trunc, step = (TruncHour, timedelta(hours=1)) if hourly else (TruncDay, timedelta(days=1))

    def per_bucket(queryset: Any, field: Any) -> dict[datetime, int]:
        grouped = queryset.annotate(bucket=trunc(field, tzinfo=UTC)).values("bucket")
        return {row["bucket"]: row["n"] for row in grouped.annotate(n=Count("pk"))}

    started = per_bucket(sessions, "started_at")
    completed = per_bucket(
        sessions.filter(state=Session.State.COMPLETE, completed_at__isnull=False), "completed_at"
    )
    screened = per_bucket(
        sessions.filter(state=Session.State.SCREENED_OUT), Coalesce("ended_at", "started_at")
    )
    buckets = [*started, *completed, *screened]
    bucket, last = min(buckets), max([*buckets, _floor(end, hourly)])
    rows, total = [], 0
    while bucket <= last:
        total += completed.get(bucket, 0)
        rows.append(
            {
                "label": bucket.strftime("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d"),
                "started": started.get(bucket, 0),
                "completed": completed.get(bucket, 0),
                "screened_out": screened.get(bucket, 0),
                "cumulative_completed": total,
            }
        )
        bucket += step
    return {"unit": "hour" if hourly else "day", "rows": rows}


def _floor(moment: datetime, hourly: bool) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment if hourly else moment.replace(hour=0)


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def rates(study: Study, progress: dict[str, Any]) -> dict[str, Any]:
    """Completion rate (of finished sessions) and screening pass rate (of screened ones)."""
    screening = Session.objects.filter(study=study).aggregate(
        passed=Count("pk", filter=Q(screening__passed=True)),
        failed=Count("pk", filter=Q(screening__passed=False)),
    )
    finished = progress["started"] - progress["in_progress"]
    return {
        "finished": finished,
        "completion": _share(progress["completed"], finished),
        "screened": screening["passed"] + screening["failed"],
        "screening_pass": _share(screening["passed"], screening["passed"] + screening["failed"]),
    }


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


def fit_estimate(study: Study) -> dict[str, Any]:
    """Fit the report's models on the answers so far, or say why there is too little data."""
    from analysis.errors import AnalysisError
    from analysis.stats import analyse_study

    frames = analysis_tables(study)
    present = {name: frame for name, frame in frames.items() if len(frame)}
    participants = {
        str(p) for frame in present.values() for p in frame["participant"].astype(str).unique()
    }
    out: dict[str, Any] = {
        "computed_at": timezone.now().isoformat(timespec="seconds"),
        "participants": len(participants),
        "panels": [],
        "reason": "",
        "kept_after_screening": None,  # MUSHRA ratings only
    }
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


def live_estimate(study: Study) -> dict[str, Any]:
    """The cached estimate, refitted when answers changed and the interval has passed."""
    key = f"{CACHE_PREFIX}:{study.pk}"
    fingerprint = answers_fingerprint(study)
    cached = cache.get(key)
    now = time.time()
    if cached is not None:
        current = cached["fingerprint"] == fingerprint
        if current or now - cached["fitted"] < _estimate_interval():
            return {**cached["estimate"], "stale": not current}
    estimate = fit_estimate(study)
    cache.set(key, {"fingerprint": fingerprint, "fitted": now, "estimate": estimate}, 86400)
    return {**estimate, "stale": False}


def dashboard(study: Study) -> dict[str, Any]:
    """Every number of the live dashboard and its figures (SVG text)."""
    progress = participation(study)
    numbers = {
        "progress": progress,
        "rates": rates(study, progress),
        "timeline": timeline(study),
        "estimate": live_estimate(study),
        "interval": _estimate_interval(),
        "updated": timezone.now(),
    }
    return {**numbers, "figures": figures(numbers)}


def figures(numbers: dict[str, Any]) -> dict[str, Any]:
    """The SVG figures of the dashboard's numbers."""
    rows = numbers["timeline"]["rows"]
    unit = numbers["timeline"]["unit"]
    progress = charts.line_chart(
        "chart-progress",
        [(r["label"], r["cumulative_completed"]) for r in rows],
        title="Completed sessions over time (cumulative)",
        desc=f"Cumulative completed sessions per {unit}; the table below lists every {unit}.",
    )
    rate = numbers["rates"]
    rates_svg = charts.bar_chart(
        "chart-rates",
        [("Completion", rate["completion"]), ("Screening pass", rate["screening_pass"])],
        title="Completion and screening pass rates",
        desc="Percentages; the table below gives the counts.",
    )
    estimates = []
    for index, panel in enumerate(numbers["estimate"]["panels"]):
        fitted = [r for r in panel["rows"] if None not in (r["estimate"], r["low"], r["high"])]
        svg = charts.forest_plot(
            f"chart-estimate-{index}",
            [charts.Interval(r["label"], r["estimate"], r["low"], r["high"]) for r in fitted],
            title=panel["title"],
            desc=f"Estimate and 95 % CI per row; the dashed line at {panel['null']:g} "
            "is no difference. The table below gives the numbers.",
            null=panel["null"],
            unit=panel["unit"],
        )
        estimates.append({"panel": panel, "svg": svg})
    return {"progress": progress, "rates": rates_svg, "estimates": estimates}
