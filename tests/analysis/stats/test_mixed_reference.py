"""The primary model against its outside reference: R's lme4, lmerTest and emmeans.

Each data set is generated here (seeded), fitted by :func:`system_effect` /
:func:`genre_effects` and by ``lmerTest::lmer`` + ``emmeans`` in R, and compared:
estimates to 1e-4 rating points, standard errors and Satterthwaite df to 1 %,
variance components to 1 % (or 1e-3 points² when zero).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats import genre_effects, system_effect
from analysis.stats.crossed_simulation import simulate_ratings
from tests.analysis.stats.r_reference import run_r

pytestmark = pytest.mark.slow

PRIMARY_R = """
d$system <- factor(d$system, levels = c('ai', 'human'))
m <- lmer(score ~ system + (1 | participant) + (1 | track) + (1 | track:system)
          + (1 | participant:system), data = d, REML = TRUE)
e <- summary(emmeans(m, revpairwise ~ system, lmer.df = 'satterthwaite')$contrasts)
vc <- as.data.frame(VarCorr(m))
v <- function(name) { x <- vc$vcov[vc$grp == name]; if (length(x)) x else NA }
out <- data.frame(estimate = e$estimate, se = e$SE, df = e$df, p = e$p.value,
                  singular = isSingular(m), participant = v('participant'),
                  track = v('track'), track_system = v('track:system'),
                  participant_system = v('participant:system'), residual = v('Residual'))
"""


def _compare(ours, ref: pd.Series) -> None:
    assert ours.estimate == pytest.approx(ref["estimate"], abs=1e-4)
    assert ours.se == pytest.approx(ref["se"], rel=0.01)
    assert ours.df == pytest.approx(ref["df"], rel=0.01)
    assert ours.p == pytest.approx(ref["p"], rel=0.02, abs=1e-6)
    names = {
        "participant": "participant",
        "track": "track",
        "track:system": "track_system",
        "participant:system": "participant_system",
        "residual": "residual",
    }
    for ours_name, r_name in names.items():
        expected = float(ref[r_name])
        got = ours.variance.get(ours_name, 0.0)  # a removed term is a zero variance
        assert got == pytest.approx(expected, rel=0.01, abs=1e-3), ours_name


def test_balanced_design_matches_lmertest():
    data = simulate_ratings(16, 8, effect=4.0, seed=101)
    ours = system_effect(data, "overall quality")
    ref = run_r(data, PRIMARY_R).iloc[0]
    assert not ref["singular"]
    assert ours.notes == ()
    _compare(ours, ref)


def test_unbalanced_design_matches_lmertest():
    data = simulate_ratings(18, 10, effect=-3.0, missing=0.2, seed=202)
    ours = system_effect(data, "overall quality")
    ref = run_r(data, PRIMARY_R).iloc[0]
    _compare(ours, ref)
    assert ours.n_obs == len(data)


def test_a_missing_cell_matches_lmertest():
    data = simulate_ratings(14, 9, effect=2.0, seed=303)
    # One track has no AI master at all; one participant skipped three tracks.
    no_ai = (data["track"] == "T004") & (data["system"] == "ai")
    skipped = (data["participant"] == "P0003") & data["track"].isin(["T000", "T001", "T002"])
    data = data.loc[~no_ai & ~skipped].reset_index(drop=True)
    ours = system_effect(data, "overall quality")
    ref = run_r(data, PRIMARY_R).iloc[0]
    _compare(ours, ref)


def test_a_singular_fit_is_detected_and_matches_lmertest():
    sds = {"participant": 8.0, "track": 6.0, "residual": 10.0}
    data = simulate_ratings(12, 6, effect=3.0, sds=sds, seed=404)
    ours = system_effect(data, "overall quality")
    ref = run_r(data, PRIMARY_R).iloc[0]
    assert ref["singular"], "the data set must be a singular case for lme4 too"
    assert any("singular" in note for note in ours.notes)
    assert ours.formula != (
        "score ~ system + (1 | participant) + (1 | track) + (1 | track:system) "
        "+ (1 | participant:system)"
    )
    # The simpler model has the same likelihood: estimate, SE and df equal lmerTest's
    # fit of the full, singular model.
    _compare(ours, ref)


GENRE_R = """
d$system <- factor(d$system, levels = c('ai', 'human'))
d$genre <- factor(d$genre)
m <- lmer(score ~ system * genre + (1 | participant) + (1 | track) + (1 | track:system)
          + (1 | participant:system), data = d, REML = TRUE)
e <- summary(emmeans(m, revpairwise ~ system | genre, lmer.df = 'satterthwaite')$contrasts)
a <- anova(m, ddf = 'Satterthwaite')
out <- data.frame(genre = as.character(e$genre), estimate = e$estimate, se = e$SE, df = e$df,
                  f = a['system:genre', 'F value'], den_df = a['system:genre', 'DenDF'],
                  f_p = a['system:genre', 'Pr(>F)'])
"""


def test_genre_effects_match_emmeans_and_the_interaction_f_test():
    data = simulate_ratings(12, 9, effect=3.0, genres=("jazz", "pop", "rock"), seed=505)
    ours = genre_effects(data, "overall quality")
    ref = run_r(data, GENRE_R).set_index("genre")
    table = ours.table.set_index("genre")
    assert table["tested"].all()
    for genre, row in ref.iterrows():
        assert table.loc[genre, "estimate"] == pytest.approx(row["estimate"], abs=1e-4)
        assert table.loc[genre, "se"] == pytest.approx(row["se"], rel=0.01)
        assert table.loc[genre, "df"] == pytest.approx(row["df"], rel=0.01)
    first = ref.iloc[0]
    assert ours.interaction is not None
    assert ours.interaction.f == pytest.approx(first["f"], rel=0.01)
    assert ours.interaction.den_df == pytest.approx(first["den_df"], rel=0.01)
    assert ours.interaction.p == pytest.approx(first["f_p"], rel=0.02)


def test_a_genre_with_one_track_is_described_not_tested():
    data = simulate_ratings(10, 5, genres=("jazz", "jazz", "pop", "pop", "folk"), seed=6)
    table = genre_effects(data, "overall quality").table.set_index("genre")
    assert not table.loc["folk", "tested"]
    assert "one track" in table.loc["folk", "reason"]
    assert np.isnan(table.loc["folk", "estimate"])
    assert table.loc[["jazz", "pop"], "tested"].all()
