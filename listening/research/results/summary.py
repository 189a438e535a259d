"""What a study's answers add up to so far: participation, running means, choices.

Shared by the results page (:mod:`listening.research.results.views`) and the workspace's live
dashboard (:mod:`listening.research.workspace.monitor`), so both show the same numbers.
"""

from __future__ import annotations

import statistics
from typing import Any

from django.db.models import Avg, Count, Q

from listening.models import AbxAnswer, PreferenceAnswer, Rating, Session, Study
from listening.research.exports import condition_kind


def participation(study: Study) -> dict[str, Any]:
    """Count sessions per outcome and the median duration of completed ones."""
    sessions = Session.objects.filter(study=study)
    by_state = dict(sessions.order_by().values_list("state").annotate(n=Count("pk")))
    total = sum(by_state.values())
    finished = sum(by_state.get(state, 0) for state in Session.FINISHED)
    durations = [
        (end - start).total_seconds()
        for start, end in sessions.filter(state=Session.State.COMPLETE).values_list(
            "started_at", "completed_at"
        )
        if start and end
    ]
    median = statistics.median(durations) if durations else None
    return {
        "started": total,
        "in_progress": total - finished,
        "completed": by_state.get(Session.State.COMPLETE, 0),
        "screened_out": by_state.get(Session.State.SCREENED_OUT, 0),
        "declined": by_state.get(Session.State.DECLINED, 0),
        "withdrawn": by_state.get(Session.State.WITHDRAWN, 0),
        "simulated": sessions.filter(simulated=True).count(),
        "median_minutes": round(median / 60, 1) if median is not None else None,
    }


def _label(kind: str, system: str, provider: str) -> str:
    if kind == "hidden_reference":
        return "Hidden reference"
    if kind.startswith("anchor_"):
        return f"Anchor {int(kind.removeprefix('anchor_')) / 1000:g} kHz"
    if kind == "mix":
        return "Mix (unmastered)"
    name = {"ai": "AI master", "human": "Human master"}.get(system, system)
    return f"{name} ({provider})" if provider else name


def running_means(study: Study) -> list[dict[str, Any]]:
    """Mean score per attribute and condition so far (all answers, before post-screening)."""
    rows = (
        Rating.objects.filter(trial__session__study=study, trial__is_training=False)
        .order_by()
        .values(
            "attribute",
            "condition__role",
            "condition__stimulus__role",
            "condition__stimulus__anchor_cutoff_hz",
            "condition__stimulus__system",
            "condition__stimulus__provider",
        )
        .annotate(n=Count("pk"), mean=Avg("score"))
    )
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        kind = condition_kind(
            row["condition__role"],
            row["condition__stimulus__role"],
            row["condition__stimulus__anchor_cutoff_hz"],
        )
        label = _label(
            kind, row["condition__stimulus__system"], row["condition__stimulus__provider"]
        )
        entry = merged.setdefault(
            (row["attribute"], label),
            {"attribute": row["attribute"], "condition": label, "n": 0, "sum": 0.0},
        )
        entry["n"] += row["n"]
        entry["sum"] += row["mean"] * row["n"]
    table = [{**e, "mean": round(e["sum"] / e["n"], 1)} for e in merged.values() if e["n"]]
    return sorted(table, key=lambda e: (e["attribute"], -e["mean"]))


def choice_summary(study: Study) -> dict[str, Any]:
    """ABX hits so far, and AB preferences per attribute and chosen system."""
    abx = AbxAnswer.objects.filter(
        trial__session__study=study, trial__is_training=False, answer__isnull=False
    ).aggregate(n=Count("pk"), correct=Count("pk", filter=Q(correct=True)))
    preferences = (
        PreferenceAnswer.objects.filter(trial__session__study=study, trial__is_training=False)
        .order_by("attribute", "choice__stimulus__system")
        .values("attribute", "choice__stimulus__system")
        .annotate(n=Count("pk"))
    )
    return {
        "abx": {**abx, "share": round(100 * abx["correct"] / abx["n"], 1) if abx["n"] else None},
        "preferences": [
            {
                "attribute": p["attribute"],
                "choice": p["choice__stimulus__system"] or "no preference",
                "n": p["n"],
            }
            for p in preferences
        ],
    }
