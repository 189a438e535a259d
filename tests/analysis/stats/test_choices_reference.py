"""The AB and ABX logistic mixed models against R's lme4 ``glmer``.

glmer's default PIRLS tolerance (``tolPwrss = 1e-7``) moves its optimum by up to
~6e-4 on the log-odds scale, so the reference runs with ``tolPwrss = 1e-12``; then
estimates agree to 1e-4 and standard errors (from the finite-difference Hessian,
lme4's default ``vcov``) to 1 %.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats import abx_model, preference_model
from tests.analysis.stats.r_reference import run_r

pytestmark = pytest.mark.slow

CONTROL = "control = glmerControl(tolPwrss = 1e-12)"


def _preferences(seed: int, n_p: int = 20, n_t: int = 8, bias: float = 0.4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p, t = (idx.ravel() for idx in np.indices((n_p, n_t)))
    human_first = rng.random(p.size) < 0.5
    eta = bias + 0.3 * np.where(human_first, 0.5, -0.5)
    eta = eta + rng.normal(0, 0.8, n_p)[p] + rng.normal(0, 0.5, n_t)[t]
    chose_human = rng.random(p.size) < 1 / (1 + np.exp(-eta))
    choice = np.where(chose_human, "human", "ai")
    choice = np.where(rng.random(p.size) < 0.08, "none", choice)
    return pd.DataFrame(
        {
            "participant": [f"P{i:02d}" for i in p],
            "track": [f"T{i:02d}" for i in t],
            "attribute": "overall quality",
            "a_system": np.where(human_first, "human", "ai"),
            "b_system": np.where(human_first, "ai", "human"),
            "choice_system": choice,
        }
    )


def test_preference_model_matches_glmer():
    prefs = _preferences(11)
    row = preference_model(prefs).iloc[0]
    data = prefs.loc[prefs["choice_system"] != "none"].copy()
    data["y"] = (data["choice_system"] == "human").astype(int)
    data["position"] = np.where(data["a_system"] == "human", 0.5, -0.5)
    ref = run_r(
        data[["participant", "track", "y", "position"]],
        f"""
        m <- glmer(y ~ position + (1 | participant) + (1 | track), data = d,
                   family = binomial, {CONTROL})
        out <- data.frame(b0 = fixef(m)[1], se0 = sqrt(diag(as.matrix(vcov(m))))[1],
                          b1 = fixef(m)[2], singular = isSingular(m))
        """,
    ).iloc[0]
    assert not ref["singular"]
    assert "removed" not in row["notes"]
    assert row["log_odds"] == pytest.approx(ref["b0"], abs=1e-4)
    assert row["se"] == pytest.approx(ref["se0"], rel=0.01)
    assert row["position_log_odds"] == pytest.approx(ref["b1"], abs=1e-4)
    assert row["prob"] == pytest.approx(1 / (1 + np.exp(-ref["b0"])), abs=1e-4)
    assert row["ties"] == int((prefs["choice_system"] == "none").sum())


def test_abx_model_matches_glmer():
    rng = np.random.default_rng(12)
    n_p, n_t, reps = 16, 6, 3
    p, t, _ = (idx.ravel() for idx in np.indices((n_p, n_t, reps)))
    eta = 0.6 + rng.normal(0, 0.9, n_p)[p] + rng.normal(0, 0.4, n_t)[t]
    abx = pd.DataFrame(
        {
            "participant": [f"P{i:02d}" for i in p],
            "track": [f"T{i:02d}" for i in t],
            "pair": "ai|human",
            "correct": rng.random(p.size) < 1 / (1 + np.exp(-eta)),
        }
    )
    row = abx_model(abx).iloc[0]
    data = abx.assign(y=abx["correct"].astype(int))[["participant", "track", "y"]]
    ref = run_r(
        data,
        f"""
        m <- glmer(y ~ 1 + (1 | participant) + (1 | track), data = d, family = binomial,
                   {CONTROL})
        out <- data.frame(b0 = fixef(m)[1], se0 = sqrt(diag(as.matrix(vcov(m))))[1],
                          singular = isSingular(m))
        """,
    ).iloc[0]
    assert not ref["singular"]
    assert row["log_odds"] == pytest.approx(ref["b0"], abs=1e-4)
    assert row["se"] == pytest.approx(ref["se0"], rel=0.01)
