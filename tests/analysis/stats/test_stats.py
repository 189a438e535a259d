"""MUSHRA screening, descriptives and AI-vs-human tests against scipy, pingouin, statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.errors import InvalidInputError
from analysis.stats import (
    compare_systems,
    descriptives,
    post_screening,
    power_paired_t,
    system_effect,
)
from analysis.stats.simulation import simulate_study


@pytest.fixture(scope="module")
def study():
    return simulate_study(24, 8, seed=11)


@pytest.fixture(scope="module")
def screened(study):
    return post_screening(study.ratings).ratings


def test_screening_excludes_the_right_participants_with_reasons(study):
    result = post_screening(study.ratings)
    excluded = result.excluded.set_index("participant")
    assert set(excluded.index) == set(study.fail_reference) | set(study.fail_anchor)
    for p in study.fail_reference:
        assert excluded.loc[p, "reason"].startswith("hidden reference < 90")
    for p in study.fail_anchor:
        assert excluded.loc[p, "reason"].startswith("mid anchor (7 kHz) > 90")
    assert (result.n_before, result.n_excluded, result.n_after) == (24, 2, 22)
    assert not result.ratings["participant"].isin(excluded.index).any()
    # items = track × attribute: 8 tracks × 4 attributes
    assert (result.participants["n_items"] == 32).all()


def test_screening_threshold_is_strictly_more_than_15_percent():
    # 20 items; 3 failures = 15 % (kept), 4 = 20 % (excluded). BS.1534-3 §4.1.2.
    rows = []
    for participant, n_fail in (("keep", 3), ("drop", 4)):
        for item in range(20):
            score = 80.0 if item < n_fail else 100.0
            rows.append((participant, f"t{item}", "q", "hidden_reference", "none", score))
    columns = ["participant", "track", "attribute", "condition_kind", "system", "score"]
    result = post_screening(pd.DataFrame(rows, columns=columns))
    shares = result.participants.set_index("participant")["hidden_ref_share"]
    assert shares["keep"] == pytest.approx(0.15)
    assert shares["drop"] == pytest.approx(0.20)
    assert result.excluded["participant"].tolist() == ["drop"]


def test_missing_columns_are_named():
    with pytest.raises(InvalidInputError, match=r"\['score'\]"):
        post_screening(
            pd.DataFrame(columns=["participant", "track", "attribute", "condition_kind", "system"])
        )


def test_descriptives_match_a_direct_t_interval(screened):
    table = descriptives(screened).set_index(["attribute", "condition"])
    sub = screened[(screened["attribute"] == "clarity") & (screened["system"] == "ai")]
    x = sub.groupby("participant", observed=True)["score"].mean().to_numpy()
    row = table.loc[("clarity", "ai")]
    ci = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert row["n"] == len(x) == 22
    assert row["mean"] == pytest.approx(x.mean(), abs=1e-12)
    assert row["sd"] == pytest.approx(x.std(ddof=1), abs=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(ci, abs=1e-10)


def test_compare_systems_matches_scipy_pingouin_and_statsmodels(screened):
    table = compare_systems(screened).set_index("attribute")
    raw = {}
    for attribute in table.index:
        sub = screened[screened["attribute"] == attribute]
        wide = sub[sub["system"].isin(["ai", "human"])].pivot_table(
            index="participant", columns="system", values="score", observed=True
        )
        ai, human = wide["ai"].to_numpy(), wide["human"].to_numpy()
        tt = stats.ttest_rel(human, ai)
        row = table.loc[attribute]
        assert row["t"] == pytest.approx(tt.statistic, rel=1e-12)
        assert row["p_t"] == pytest.approx(tt.pvalue, rel=1e-10)
        ci = tt.confidence_interval(0.95)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-10)
        assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(human, ai).pvalue, rel=1e-10)
        # pingouin: paired T is the same, and its CI of the d_z (normal approximation)
        # is close to our noncentral-t interval.
        ptt = pg.ttest(human, ai, paired=True)
        assert row["t"] == pytest.approx(float(ptt["T"].iloc[0]), rel=1e-10)
        d = np.diff(wide[["ai", "human"]].to_numpy(), axis=1).ravel()
        assert row["d_z"] == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-12)
        n = len(d)
        assert row["g_z"] == pytest.approx(row["d_z"] * (1 - 3 / (4 * (n - 1) - 1)), rel=1e-12)
        esci = pg.compute_esci(row["d_z"], n, 1, paired=True, eftype="cohen", decimals=6)
        assert row["d_z_ci_low"] == pytest.approx(esci[0], abs=0.08)
        assert row["d_z_ci_high"] == pytest.approx(esci[1], abs=0.08)
        # Exact property of the noncentral-t bounds: the observed t is at the 97.5 / 2.5 %
        # points of the noncentral t with ncp = bound·√n.
        t = row["t"]
        assert stats.nct.cdf(t, n - 1, row["d_z_ci_low"] * np.sqrt(n)) == pytest.approx(0.975)
        assert stats.nct.cdf(t, n - 1, row["d_z_ci_high"] * np.sqrt(n)) == pytest.approx(0.025)
        raw[attribute] = (tt.pvalue, stats.wilcoxon(human, ai).pvalue)
    p_t = [raw[a][0] for a in table.index]
    assert table["p_t_holm"].to_numpy() == pytest.approx(
        multipletests(p_t, method="holm")[1], rel=1e-10
    )
    p_w = [raw[a][1] for a in table.index]
    assert table["p_wilcoxon_holm"].to_numpy() == pytest.approx(
        multipletests(p_w, method="holm")[1], rel=1e-10
    )


def test_hidden_reference_ratings_never_count_as_a_system(screened):
    # A master that is also the study's reference is rated as the hidden reference
    # too; those ratings (screening forces them to >= 90) must not enter "human".
    reference = screened.loc[screened["condition_kind"] == "hidden_reference"].copy()
    reference["system"] = "human"
    with_reference = pd.concat([screened, reference], ignore_index=True)
    assert compare_systems(with_reference).equals(compare_systems(screened))
    assert system_effect(with_reference, "clarity").estimate == pytest.approx(
        system_effect(screened, "clarity").estimate, abs=1e-9
    )


@pytest.mark.parametrize(("d", "n"), [(0.5, 34), (0.8, 15)])
def test_power_matches_metrics_md(d, n):
    # statsmodels TTestPower().solve_power(effect_size=d, alpha=0.05, power=0.8)
    assert power_paired_t(d) == n
    assert power_paired_t(-d) == n
