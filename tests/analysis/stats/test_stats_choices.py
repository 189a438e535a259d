"""ABX, AB preference and Bradley-Terry against binomtest and closed forms (docs/statistics.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats import abx_tests, bradley_terry, preference_tests
from analysis.stats.simulation import STRENGTHS, simulate_study


def test_abx_worked_example_12_of_16():
    # binomtest(12, 16, alternative='greater') → p = 0.038406, one-sided CP CI [0.516, 1]
    abx = pd.DataFrame(
        {"participant": "p1", "pair": "ai|human", "correct": [True] * 12 + [False] * 4}
    )
    row = abx_tests(abx).iloc[0]
    assert (row["k"], row["n"]) == (12, 16)
    assert row["p"] == pytest.approx(0.038406, abs=5e-7)
    assert row["ci_low"] == pytest.approx(0.516, abs=5e-4)
    assert row["ci_high"] == 1.0


def test_abx_per_participant_and_pooled_match_binomtest():
    study = simulate_study(10, 4, seed=2)
    table = abx_tests(study.abx)
    assert table["level"].iloc[0] == "pooled"
    for _, row in table.iterrows():
        res = stats.binomtest(int(row["k"]), int(row["n"]), 0.5, alternative="greater")
        assert row["p"] == pytest.approx(res.pvalue, rel=1e-10)
        assert row["ci_low"] == pytest.approx(res.proportion_ci(0.95).low, abs=1e-10)
    pooled = table.iloc[0]
    assert pooled["k"] == study.abx["correct"].sum()
    assert pooled["n"] == len(study.abx)


def test_preference_sign_test_excludes_ties():
    prefs = pd.DataFrame(
        {
            "participant": "p",
            "attribute": "q",
            "a_system": ["ai", "human"] * 10,
            "b_system": ["human", "ai"] * 10,
            "choice_system": ["ai"] * 12 + ["human"] * 5 + ["none"] * 3,
        }
    )
    row = preference_tests(prefs).iloc[0]
    assert (row["ties"], row["n_nontie"], row["k"]) == (3, 17, 12)
    res = stats.binomtest(12, 17, 0.5)
    assert row["p"] == pytest.approx(res.pvalue, rel=1e-12)
    ci = res.proportion_ci(0.95, method="exact")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_bradley_terry_two_systems_is_the_closed_form_logit():
    # With two items the MLE is log(k/(n−k)) with SE sqrt(1/k + 1/(n−k)).
    prefs = pd.DataFrame(
        {
            "a_system": ["ai", "human"] * 20,
            "b_system": ["human", "ai"] * 20,
            "choice_system": ["human"] * 26 + ["ai"] * 14,
        }
    )
    table = bradley_terry(prefs, reference="ai").set_index("system")
    assert table.loc["human", "log_strength"] == pytest.approx(np.log(26 / 14), abs=1e-6)
    assert table.loc["human", "se"] == pytest.approx(np.sqrt(1 / 26 + 1 / 14), abs=1e-6)
    assert table.loc["ai", "log_strength"] == 0.0


def test_bradley_terry_recovers_three_simulated_strengths():
    study = simulate_study(80, 6, seed=4)
    table = bradley_terry(study.preferences, reference="ai").set_index("system")
    for system in ("human", "mix"):
        row = table.loc[system]
        assert row["ci_low"] < STRENGTHS[system] < row["ci_high"]
        assert row["p"] == pytest.approx(2 * stats.norm.sf(abs(row["z"])), rel=1e-12)
