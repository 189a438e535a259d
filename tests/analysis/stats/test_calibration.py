"""Calibration by simulation: the primary tests reject a true null about 5 % of the time.

Null studies are drawn with realistic variance components, including track-to-track
variation of the human − AI difference (docs/statistics.md). The primary model must
reject at α = 0.05 in 3-7 % of them; the old paired t-test over participant means,
which treats the tracks as fixed, is shown to reject far more often on the same
data, so the test can tell a calibrated model from a miscalibrated one.
``benchmarks/bench_calibration.py`` runs thousands of studies and more designs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats import compare_systems, preference_model, system_effect
from analysis.stats.crossed_simulation import REALISTIC_SDS, simulate_ratings

pytestmark = pytest.mark.slow


def test_primary_model_rejects_a_true_null_about_five_percent_of_the_time():
    rng = np.random.default_rng(2026)
    n_studies = 400
    primary = fixed = 0
    for _ in range(n_studies):
        data = simulate_ratings(20, 8, effect=0.0, sds=REALISTIC_SDS, seed=rng)
        primary += system_effect(data, "overall quality").p < 0.05
        fixed += compare_systems(data).iloc[0]["p_t"] < 0.05
    rate = primary / n_studies
    assert 0.03 <= rate <= 0.07, rate
    # The tracks-as-fixed test on the same studies: far above 5 % (Clark 1973).
    assert fixed / n_studies > 0.12


def _null_preferences(rng: np.random.Generator, n_p: int = 20, n_t: int = 8) -> pd.DataFrame:
    """Participants who differ (log-odds SD 0.8) but average no preference."""
    p, t = (idx.ravel() for idx in np.indices((n_p, n_t)))
    human_first = rng.random(p.size) < 0.5
    eta = rng.normal(0.0, 0.8, n_p)[p]
    chose_human = rng.random(p.size) < 1.0 / (1.0 + np.exp(-eta))
    return pd.DataFrame(
        {
            "participant": [f"P{i:02d}" for i in p],
            "track": [f"T{i:02d}" for i in t],
            "attribute": "overall quality",
            "a_system": np.where(human_first, "human", "ai"),
            "b_system": np.where(human_first, "ai", "human"),
            "choice_system": np.where(chose_human, "human", "ai"),
        }
    )


def test_preference_model_is_calibrated_when_participants_differ():
    rng = np.random.default_rng(7)
    n_studies = 300
    model = sign = 0
    for _ in range(n_studies):
        prefs = _null_preferences(rng)
        model += preference_model(prefs).iloc[0]["p"] < 0.05
        k = int((prefs["choice_system"] == "human").sum())
        sign += stats.binomtest(k, len(prefs)).pvalue < 0.05
    assert 0.03 <= model / n_studies <= 0.07, model / n_studies
    # Pooling the answers as independent (a sign test) is far from calibrated.
    assert sign / n_studies > 0.12
