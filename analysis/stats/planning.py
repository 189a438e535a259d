"""Sample-size planning for the primary model: participants and tracks for a target power.

"How many participants and tracks for 80 % power to detect a d-point difference?"
has no closed answer for a crossed design in general, so the answer is found by
simulation (docs/statistics.md): draw studies from the primary model with the given
variance components (:func:`analysis.stats.crossed_simulation.simulate_ratings`), fit the
primary model to each, and count the share with p < α.

A grid of designs is first screened with the balanced-design approximation of
Westfall, Kenny & Judd (2014): in a complete design the per-(participant, track)
difference human − AI is δ + τ_t + π_p + ε with Var τ = 2σ²_track:system,
Var π = 2σ²_participant:system and Var ε = 2σ²_residual, so its mean has variance
v = (P·Var τ + T·Var π + Var ε)/(P·T) and Satterthwaite's df combine the three
mean squares. The designs nearest the target are then simulated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from analysis.errors import InvalidInputError
from analysis.stats.crossed_simulation import REALISTIC_SDS, simulate_ratings
from analysis.stats.mixed import system_effect

#: Components the planner needs (SDs in rating points).
COMPONENTS: Final = tuple(REALISTIC_SDS)


@dataclass(frozen=True, eq=False)
class Plan:
    """Power of candidate designs and the smallest one that reaches the target.

    Attributes
    ----------
    grid : pandas.DataFrame
        One row per design: ``participants, tracks, ratings, approx_power`` and,
        for simulated designs, ``sim_power, sim_se, simulations``.
    difference : float
        The human − AI difference to detect (rating points).
    power, alpha : float
        Target power and significance level.
    sds : dict of str to float
        The variance components used, as SDs.
    recommended : dict or None
        The design with the fewest ratings (then participants) whose simulated
        power reaches the target, or None when none does.
    """

    grid: pd.DataFrame
    difference: float
    power: float
    alpha: float
    sds: dict[str, float]
    recommended: dict[str, float] | None


def approximate_power(
    difference: float,
    participants: int,
    tracks: int,
    sds: dict[str, float],
    alpha: float = 0.05,
) -> float:
    """Power of the primary test in a complete, balanced design (module docstring).

    Parameters
    ----------
    difference : float
        True human − AI difference in rating points.
    participants, tracks : int
        Design size (every participant rates both masters of every track).
    sds : dict of str to float
        SDs of ``track:system``, ``participant:system`` and ``residual``.
    alpha : float, default 0.05
        Two-sided level.

    Returns
    -------
    float
        P(|T| > t_crit) for T ~ noncentral t(df, δ/√v).

    References
    ----------
    Westfall, Kenny & Judd (2014), J. Exp. Psychol. Gen. 143:2020-2045;
    Satterthwaite (1946), Biometrics Bull. 2:110-114.

    Examples
    --------
    >>> sds = {"track:system": 5.0, "participant:system": 3.0, "residual": 10.0}
    >>> round(approximate_power(5.0, 40, 20, sds), 2)
    0.77
    """
    if participants < 2 or tracks < 2:
        raise InvalidInputError(
            f"need ≥ 2 participants and tracks, got {participants!r} and {tracks!r}"
        )
    var_t = 2.0 * sds.get("track:system", 0.0) ** 2
    var_p = 2.0 * sds.get("participant:system", 0.0) ** 2
    var_e = 2.0 * sds.get("residual", 0.0) ** 2
    p, t = float(participants), float(tracks)
    ms_t, ms_p, ms_e = p * var_t + var_e, t * var_p + var_e, var_e
    # The mean squares that estimate v, as the fitted model does: a component whose
    # variance is 0 is not in the model (the fit leaves it out as singular).
    if var_t > 0 and var_p > 0:
        total = ms_t + ms_p - ms_e
        df = total**2 / (ms_t**2 / (t - 1) + ms_p**2 / (p - 1) + ms_e**2 / ((p - 1) * (t - 1)))
    elif var_t > 0:
        total, df = ms_t, t - 1
    elif var_p > 0:
        total, df = ms_p, p - 1
    else:
        total, df = var_e, p * t - 1
    if total <= 0:
        raise InvalidInputError("the variance components give no sampling variance")
    ncp = difference / np.sqrt(total / (p * t))
    crit = stats.t.ppf(1.0 - alpha / 2.0, df)
    return float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))


def simulated_power(
    difference: float,
    participants: int,
    tracks: int,
    sds: dict[str, float],
    *,
    alpha: float = 0.05,
    simulations: int = 200,
    seed: int = 0,
) -> tuple[float, float]:
    """Share of simulated studies whose primary test rejects, and its Monte-Carlo SE.

    Examples
    --------
    >>> p, se = simulated_power(8.0, 12, 6, REALISTIC_SDS, simulations=20, seed=1)
    >>> 0.0 <= p <= 1.0 and se >= 0.0
    True
    """
    if simulations < 1:
        raise InvalidInputError(f"simulations={simulations!r} must be positive")
    rng = np.random.default_rng(seed)
    hits = 0
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(simulations):
            data = simulate_ratings(participants, tracks, effect=difference, sds=sds, seed=rng)
            hits += system_effect(data, "overall quality").p < alpha
    share = hits / simulations
    return share, float(np.sqrt(share * (1.0 - share) / simulations))


def plan_study(
    difference: float,
    sds: dict[str, float] | None = None,
    *,
    participants: Sequence[int] = (10, 20, 30, 40, 60, 80, 120),
    tracks: Sequence[int] = (4, 6, 8, 10, 12, 16, 20, 30),
    power: float = 0.8,
    alpha: float = 0.05,
    simulations: int = 200,
    simulate: int = 3,
    seed: int = 0,
) -> Plan:
    """Find the smallest design with the target power for a human − AI difference.

    Parameters
    ----------
    difference : float
        The difference to detect, in rating points (non-zero).
    sds : dict of str to float, optional
        SDs of the components (default: docs/statistics.md (The primary model)'s realistic values);
        typically estimated from a pilot study with :func:`components_from_fit`.
    participants, tracks : sequence of int
        Candidate numbers of participants and tracks (each participant rates every
        track).
    power, alpha : float, default 0.8, 0.05
        Target power and two-sided level.
    simulations : int, default 200
        Simulated studies per simulated design.
    simulate : int, default 3
        How many designs to simulate: those with the fewest ratings whose
        approximate power reaches the target (else the most powerful ones).
    seed : int, default 0
        Seed of the simulations.

    Returns
    -------
    Plan
        The grid with approximate and simulated power and the recommendation.

    References
    ----------
    docs/statistics.md; Westfall, Kenny & Judd (2014); Green & MacLeod (2016),
    Methods Ecol. Evol. 7:493-498 (power of mixed models by simulation).

    Examples
    --------
    >>> plan = plan_study(10.0, simulations=20, simulate=1, participants=(10, 20),
    ...                   tracks=(6, 10))
    >>> len(plan.grid)
    4
    """
    if not np.isfinite(difference) or difference == 0:
        raise InvalidInputError(f"difference={difference!r} must be a finite non-zero number")
    for name, value in (("power", power), ("alpha", alpha)):
        if not 0.0 < value < 1.0:
            raise InvalidInputError(f"{name}={value!r} must be in (0, 1)")
    chosen = dict(REALISTIC_SDS if sds is None else sds)
    unknown = set(chosen) - set(COMPONENTS)
    if unknown:
        raise InvalidInputError(f"unknown variance components {sorted(unknown)!r}")
    rows = [
        {
            "participants": p,
            "tracks": t,
            "ratings": 2 * p * t,
            "approx_power": approximate_power(difference, p, t, chosen, alpha),
        }
        for p in sorted(set(participants))
        for t in sorted(set(tracks))
    ]
    grid = pd.DataFrame(rows)
    grid["sim_power"] = np.nan
    grid["sim_se"] = np.nan
    grid["simulations"] = 0
    reaching = grid.loc[grid["approx_power"] >= power].sort_values(["ratings", "participants"])
    # Without a design that reaches the target, simulate the strongest ones instead.
    strongest = grid.sort_values("approx_power", ascending=False)
    chosen_rows = list(reaching.index[:simulate])
    chosen_rows += [i for i in strongest.index if i not in chosen_rows][
        : simulate - len(chosen_rows)
    ]
    for index in chosen_rows:
        share, se = simulated_power(
            difference,
            int(grid.loc[index, "participants"]),
            int(grid.loc[index, "tracks"]),
            chosen,
            alpha=alpha,
            simulations=simulations,
            seed=seed + int(index),
        )
        grid.loc[index, ["sim_power", "sim_se", "simulations"]] = [share, se, simulations]
    reached = grid.loc[grid["sim_power"] >= power].sort_values(["ratings", "participants"])
    recommended = None
    if len(reached):
        best = reached.iloc[0]
        recommended = {
            "participants": int(best["participants"]),
            "tracks": int(best["tracks"]),
            "sim_power": float(best["sim_power"]),
            "approx_power": float(best["approx_power"]),
        }
    return Plan(
        grid=grid,
        difference=float(difference),
        power=power,
        alpha=alpha,
        sds=chosen,
        recommended=recommended,
    )


def components_from_table(primary: pd.DataFrame, attribute: str | None = None) -> dict[str, float]:
    """SDs of the components from a primary-model table (:func:`system_effects`).

    A component that the pilot's model left out or estimated at zero counts as 0.

    Examples
    --------
    >>> t = pd.DataFrame({"attribute": ["q"], "var_residual": [100.0], "var_track": [36.0]})
    >>> components_from_table(t)["residual"]
    10.0
    """
    rows = primary if attribute is None else primary.loc[primary["attribute"] == attribute]
    if rows.empty:
        raise InvalidInputError(f"no primary-model row for attribute={attribute!r}")
    row = rows.iloc[0]
    out = {}
    for name in COMPONENTS:
        value = row.get(f"var_{name}", np.nan)
        out[name] = float(np.sqrt(value)) if np.isfinite(value) else 0.0
    return out
