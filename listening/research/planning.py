"""Sample-size planning from a running study's own ratings (a section of the dashboard).

The variance components of the primary model, estimated from the ratings so far
(after BS.1534-3 post-screening), give the approximate power of candidate designs
for a human − AI difference the researcher cares about; ``python -m analysis plan
--pilot ratings.csv`` confirms a design by simulation.
"""

from __future__ import annotations

from typing import Any

from listening.models import Study
from listening.research.exports import rating_rows

PARTICIPANTS = (10, 20, 30, 40, 60, 80, 120, 200)
TRACKS = (4, 6, 8, 10, 12, 16, 20, 30)


def plan_from_ratings(study: Study, difference: float, power: float) -> dict[str, Any]:
    """Power of candidate designs with the study's own variance components, or a reason."""
    import pandas as pd

    from analysis.errors import AnalysisError
    from analysis.stats import post_screening, system_effects
    from analysis.stats.planning import components_from_table, plan_study

    columns, rows = rating_rows(study)
    frame = pd.DataFrame(list(rows), columns=columns)
    if frame.empty:
        return {"reason": "there are no ratings yet"}
    try:
        kept = post_screening(frame).ratings
        attributes = [str(a) for a in pd.unique(kept["attribute"])]
        table = system_effects(kept, attributes[:1])
        sds = components_from_table(table)
        plan = plan_study(
            difference, sds, participants=PARTICIPANTS, tracks=TRACKS, power=power, simulate=0
        )
    except (AnalysisError, ValueError) as exc:
        return {"reason": f"the ratings so far cannot be modelled yet ({exc})"}
    grid = plan.grid.pivot(index="participants", columns="tracks", values="approx_power")
    reaching = plan.grid.loc[plan.grid["approx_power"] >= power].sort_values(
        ["ratings", "participants"]
    )
    best = None if reaching.empty else reaching.iloc[0]
    return {
        "attribute": attributes[0],
        "participants_so_far": int(table.iloc[0]["n_participants"]),
        "tracks_so_far": int(table.iloc[0]["n_tracks"]),
        "sds": {name: round(value, 2) for name, value in sds.items()},
        "tracks": list(grid.columns),
        "rows": [
            {"participants": int(p), "power": [round(100 * float(v)) for v in grid.loc[p]]}
            for p in grid.index
        ],
        "smallest": None
        if best is None
        else {"participants": int(best["participants"]), "tracks": int(best["tracks"])},
    }
