"""Objective-metric tables and objective-subjective correlations against scipy / statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.errors import InvalidInputError
from analysis.stats import (
    DEFAULT_METRICS,
    format_table,
    objective_table,
    objective_vs_subjective,
    per_track_table,
)
from analysis.stats.objective import CORRELATION_FAMILY
from analysis.stats.simulation import simulate_study


@pytest.fixture(scope="module")
def study():
    return simulate_study(40, 10, seed=7)


def test_table2_matches_scipy_and_holm(study):
    table = objective_table(study.metrics).set_index("metric")
    assert list(table.index) == list(DEFAULT_METRICS)
    m = study.metrics
    p_t = []
    for name in table.index:
        ai = m[m["system"] == "ai"].set_index("track")[name].sort_index().to_numpy()
        human = m[m["system"] == "human"].set_index("track")[name].sort_index().to_numpy()
        tt = stats.ttest_rel(human, ai)
        row = table.loc[name]
        assert row["n"] == 10
        assert row["mean_diff"] == pytest.approx(np.mean(human - ai), abs=1e-12)
        assert row["t"] == pytest.approx(tt.statistic, rel=1e-10)
        assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(human, ai).pvalue, rel=1e-10)
        assert row["d_z"] == pytest.approx(tt.statistic / np.sqrt(10), rel=1e-12)
        p_t.append(tt.pvalue)
    assert table["p_t_holm"].to_numpy() == pytest.approx(
        multipletests(p_t, method="holm")[1], rel=1e-10
    )


def test_undefined_values_drop_only_that_metric(study):
    metrics = study.metrics.copy()
    metrics.loc[metrics.index[0], "hfd"] = np.nan
    table = objective_table(metrics).set_index("metric")
    assert table.loc["hfd", "n"] == 9
    assert table.loc["dm", "n"] == 10


def test_duplicate_rows_are_rejected(study):
    doubled = pd.concat([study.metrics, study.metrics.iloc[:1]])
    with pytest.raises(InvalidInputError, match="several rows per track"):
        objective_table(doubled)


def test_table1_puts_systems_side_by_side(study):
    table = per_track_table(study.metrics, names=["integrated", "dr_value"])
    assert table.columns.tolist() == [
        "track",
        "genre",
        "integrated_ai",
        "integrated_human",
        "dr_value_ai",
        "dr_value_human",
    ]
    m = study.metrics.set_index(["track", "system"])
    first = table.iloc[0]
    assert first["dr_value_human"] == m.loc[(first["track"], "human"), "dr_value"]
    assert first["genre"] == m.loc[(first["track"], "ai"), "genre"]


def test_objective_vs_subjective_matches_scipy_bootstrap(study):
    names = ["dr_value", "integrated", "dm"]
    table = objective_vs_subjective(
        study.metrics, study.ratings, ["overall quality"], names=names, n_resamples=999, seed=3
    ).set_index("metric")
    r = study.ratings
    r = r[(r["attribute"] == "overall quality") & r["system"].isin(["ai", "human"])]
    means = r.groupby(["track", "system"], observed=True)["score"].mean().unstack()
    d_rating = (means["human"] - means["ai"]).sort_index()
    p = []
    for name in names:
        wide = study.metrics.pivot(index="track", columns="system", values=name).sort_index()
        d_metric = (wide["human"] - wide["ai"]).to_numpy()
        res = stats.spearmanr(d_metric, d_rating.to_numpy())
        assert table.loc[name, "rho"] == pytest.approx(res.statistic, abs=1e-12)
        assert table.loc[name, "p"] == pytest.approx(res.pvalue, rel=1e-10)
        boot = stats.bootstrap(
            (d_metric, d_rating.to_numpy()),
            lambda a, b: stats.spearmanr(a, b).statistic,
            paired=True,
            vectorized=False,
            n_resamples=999,
            method="BCa",
            rng=np.random.default_rng(3),
        )
        assert table.loc[name, "ci_low"] == pytest.approx(boot.confidence_interval.low, abs=1e-9)
        assert table.loc[name, "ci_high"] == pytest.approx(boot.confidence_interval.high, abs=1e-9)
        p.append(res.pvalue)
    # The family is pre-declared per attribute and Holm-adjusted (docs/statistics.md).
    assert table["p_holm"].to_numpy() == pytest.approx(
        multipletests(p, method="holm")[1], rel=1e-10
    )
    # dr_value carries the simulated track-level rating difference
    assert table.loc["dr_value", "rho"] > 0.5


def test_format_table_rounds_only_for_display():
    # APA style: p without the leading zero and "< .001" below; three significant
    # digits; df as a number ("7", not "7.00").
    table = pd.DataFrame(
        {"metric": ["dm"], "t": [2.34567], "df": [7.0], "p_t": [0.000012], "d_z": [np.nan]}
    )
    shown = format_table(table)
    assert shown.iloc[0].tolist() == ["dm", "2.35", "7", "< .001", "—"]
    assert table["t"].iloc[0] == 2.34567


def test_format_table_keeps_small_differences_visible():
    table = pd.DataFrame({"mean_diff": [0.0031, 12.5], "df": [22.73, 9.0], "p": [0.0481, 0.5]})
    shown = format_table(table)
    assert shown["mean_diff"].tolist() == ["0.00310", "12.50000"]
    assert shown["df"].tolist() == ["22.7", "9"]
    assert shown["p"].tolist() == [".048", ".500"]
    by_row = format_table(table, by_row=["mean_diff"])
    assert by_row["mean_diff"].tolist() == ["0.00310", "12.5"]


def test_the_correlation_family_has_one_entry_per_metric(study):
    table = objective_vs_subjective(study.metrics, study.ratings, n_resamples=99)
    assert "ber_db" not in set(table["metric"])
    assert set(table["attribute"]) == set(study.ratings["attribute"].astype(str))
    per_attribute = table.groupby("attribute")["metric"].apply(list)
    assert all(metrics == list(CORRELATION_FAMILY) for metrics in per_attribute)


def test_few_tracks_are_flagged(study):
    few = study.metrics.loc[study.metrics["track"].isin(["T00", "T01", "T02", "T03", "T04"])]
    table = objective_vs_subjective(few, study.ratings, ["overall quality"], n_resamples=99)
    assert (table["n"] == 5).all()
    assert table["note"].str.contains("only 5 tracks").all()
