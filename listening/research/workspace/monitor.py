"""The live dashboard's numbers: progress over time, rates, and the running estimate.

Counts come from the database on every request (a few aggregate queries). The
AI-versus-human estimate is the report's own analysis, fitted in the background and read
from the cache (:mod:`listening.research.workspace.estimate`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce, TruncDay, TruncHour
from django.utils import timezone

from listening.models import Session, Study
from listening.research.results.summary import participation
from listening.research.workspace import charts
from listening.research.workspace.estimate import estimate_interval, live_estimate

#: Up to this span of sessions, progress is counted per hour; beyond it, per day.
HOURLY_UP_TO = timedelta(hours=48)


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


def target(study: Study, progress: dict[str, Any]) -> dict[str, Any] | None:
    """The completed sessions against the study's participant target, or None without one."""
    goal = study.participant_target
    if not goal:
        return None
    completed = progress["completed"]
    return {
        "participants": goal,
        "completed": completed,
        "share": _share(min(completed, goal), goal),
        "remaining": max(goal - completed, 0),
    }


def dashboard(study: Study) -> dict[str, Any]:
    """Every number of the live dashboard and its figures (SVG text)."""
    progress = participation(study)
    numbers = {
        "progress": progress,
        "rates": rates(study, progress),
        "timeline": timeline(study),
        "estimate": live_estimate(study),
        "interval": estimate_interval(),
        "target": target(study, progress),
        "updated": timezone.now(),
    }
    return {**numbers, "figures": figures(numbers)}


def figures(numbers: dict[str, Any]) -> dict[str, Any]:
    """The SVG figures of the dashboard's numbers."""
    rows = numbers["timeline"]["rows"]
    unit = numbers["timeline"]["unit"]
    goal = numbers["target"]["participants"] if numbers.get("target") else None
    progress = charts.line_chart(
        "chart-progress",
        [(r["label"], r["cumulative_completed"]) for r in rows],
        title="Completed sessions over time (cumulative)",
        desc=f"Cumulative completed sessions per {unit}; the table below lists every {unit}."
        + (f" The dashed line is the target of {goal} participants." if goal else ""),
        target=goal,
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
