"""Across 1,000 simulated sessions: orders drawn per trial, balanced condition x position.

Two statistical checks of ``listening.participant.randomisation`` (issue 13.1), each also run on
deliberately broken planners to show that it can fail:

* within a session no letter-to-condition mapping holds through the session: the
  share of sessions whose trials all share one order equals chance, computed exactly
  for the design (each trial's order is uniform over the m! orders and independent of
  the other trials', so T trials share one with probability (1/m!)^(T-1)). Random
  sessions are independent: a binomial test. Balanced sessions of one Williams block
  are not (the block's last listener takes the row left), blocks are: the counts per
  block are compared with their expectation by a one-sample t-test (every session
  hears every track, so blocks begin together on all tracks);
* across sessions each condition occupies each position equally often: a chi-square
  test of the condition x position table does not reject.

The table's cells are not independent counts (each order fills one cell per row and
per column), so Pearson's statistic is rescaled: for uniform random permutation
matrices the covariance of the doubly centred table is 1/(m-1) times the identity on
its (m-1)^2 dimensions (the trace, m(m-1)/m = m-1, spread evenly by symmetry), so
X^2 (m-1)/m follows chi^2 with (m-1)^2 degrees of freedom. The calibration test checks
this against permutations drawn by numpy.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

from listening.participant.randomisation import count_exposures, plan_session, williams_square

SESSIONS = 1000
TRACKS = [1, 2, 3]
M = 4
#: Condition i of every track is the same kind of version (say, i = 0 the mix).
CONDITIONS = {t: [10 * t + i for i in range(M)] for t in TRACKS}
#: The design of the "one order" check: two trials of three versions, chance 1/6.
PAIR = [1, 2]
THREE = {t: [10 * t + i for i in range(3)] for t in PAIR}

Planner = Callable[[list[dict[str, Any]], int], dict[str, Any]]


def planner(balancing: str, tracks: list[int] = TRACKS, conditions: Any = CONDITIONS) -> Planner:
    def plan(plans: list[dict[str, Any]], seed: int) -> dict[str, Any]:
        return plan_session(tracks, conditions, None, plans, seed, balancing=balancing)

    return plan


def one_row_per_session(plans: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """The defect of issue 13.1: each trial's Williams row numbered by its track's exposure,
    which is the same for every track when everyone hears every track."""
    exposures = count_exposures(plans)
    rows = williams_square(3)
    order = random.Random(seed).sample(PAIR, len(PAIR))
    return {
        "track_order": order,
        "participant_index": len(plans),
        "condition_order": [
            [THREE[t][i] for i in rows[exposures.get(t, 0) % len(rows)]] for t in order
        ],
    }


def naive_shuffle(plans: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """A classic biased shuffle (swap each item with any position): not uniform."""
    rng = random.Random(seed)

    def shuffle(items: list[int]) -> list[int]:
        items = list(items)
        for i in range(len(items)):
            j = rng.randrange(len(items))
            items[i], items[j] = items[j], items[i]
        return items

    return {"track_order": TRACKS, "condition_order": [shuffle(CONDITIONS[t]) for t in TRACKS]}


def fixed_order(plans: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    return {"track_order": TRACKS, "condition_order": [CONDITIONS[t] for t in TRACKS]}


def simulate(plan: Planner, n: int = SESSIONS) -> list[dict[str, Any]]:
    plans: list[dict[str, Any]] = []
    for i in range(n):
        plans.append(plan(plans, 50_000 + i))
    return plans


def indices(plan: dict[str, Any]) -> list[tuple[int, ...]]:
    """Each trial's order as condition kinds (the index within its track's list)."""
    return [
        tuple(THREE[track].index(c) for c in order)
        for track, order in zip(plan["track_order"], plan["condition_order"], strict=True)
    ]


def share_pvalue(plans: list[dict[str, Any]], *, blocks: bool) -> float:
    """Test that the share of sessions (PAIR design) whose two trials share one order is
    chance: binomial over sessions, or a t-test over complete Williams blocks."""
    chance = (1 / math.factorial(3)) ** (len(PAIR) - 1)
    same = [len(set(indices(plan))) == 1 for plan in plans]
    if not blocks:
        return float(stats.binomtest(sum(same), len(same), chance).pvalue)
    rows = len(williams_square(3))  # 6 listeners a block
    complete = len(same) // rows * rows
    sums = np.array(same[:complete], float).reshape(-1, rows).sum(axis=1)
    if sums.std() == 0:  # every block alike: no spread to test against
        return 1.0 if sums[0] == rows * chance else 0.0
    return float(stats.ttest_1samp(sums, rows * chance).pvalue)


def position_statistic(tables: list[np.ndarray]) -> tuple[float, int]:
    """The rescaled Pearson statistic of condition x position tables, pooled, and its df."""
    total, df = 0.0, 0
    for table in tables:
        m = table.shape[0]
        expected = table.sum() / m**2
        total += float(((table - expected) ** 2 / expected).sum()) * (m - 1) / m
        df += (m - 1) ** 2
    return total, df


def position_pvalue(plans: list[dict[str, Any]]) -> float:
    tables = {t: np.zeros((M, M)) for t in TRACKS}
    for plan in plans:
        for track, order in zip(plan["track_order"], plan["condition_order"], strict=True):
            for place, condition in enumerate(order):
                tables[track][CONDITIONS[track].index(condition), place] += 1
    total, df = position_statistic(list(tables.values()))
    return float(stats.chi2.sf(total, df))


@pytest.fixture(scope="module", params=["random", "balanced"])
def plans(request: Any) -> list[dict[str, Any]]:
    return simulate(planner(request.param))


@pytest.mark.parametrize("balancing", ["random", "balanced"])
def test_trials_share_one_order_only_by_chance(balancing: str) -> None:
    plans = simulate(planner(balancing, PAIR, THREE))
    assert share_pvalue(plans, blocks=balancing == "balanced") > 0.001


def test_condition_by_position_is_balanced(plans: list[dict[str, Any]]) -> None:
    assert position_pvalue(plans) > 0.01
    if plans[0]["balancing"] == "balanced":
        # 1000 listeners per track in blocks of 4: 250 complete blocks, exact balance.
        assert position_pvalue(plans) == pytest.approx(1.0)


def test_the_checks_reject_broken_planners() -> None:
    broken = simulate(one_row_per_session)  # every session one order
    assert share_pvalue(broken, blocks=False) < 1e-6
    assert share_pvalue(broken, blocks=True) < 1e-6
    assert position_pvalue(simulate(naive_shuffle)) < 0.001
    assert position_pvalue(simulate(fixed_order, 200)) < 1e-6


def test_the_position_statistic_is_calibrated() -> None:
    # Uniform permutations from numpy: at alpha 0.05 the test rejects 5 % of the time.
    rng = np.random.default_rng(2025)
    replicates, sessions, alpha = 2000, 200, 0.05
    rejected = 0
    for _ in range(replicates):
        orders = np.argsort(rng.random((sessions, M)), axis=1)  # orders[s, place] = condition
        table = np.zeros((M, M))
        np.add.at(table, (orders, np.broadcast_to(np.arange(M), orders.shape)), 1)
        total, df = position_statistic([table])
        rejected += stats.chi2.sf(total, df) < alpha
    # Binomial(2000, 0.05): 100 expected, sd 9.7; +-4 sd.
    assert 61 <= rejected <= 139, rejected
