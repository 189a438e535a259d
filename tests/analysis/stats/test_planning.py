"""Sample-size planning: the balanced-design approximation agrees with simulation."""

from __future__ import annotations

import pytest
from statsmodels.stats.power import TTestPower

from analysis.errors import InvalidInputError
from analysis.stats.crossed_simulation import REALISTIC_SDS
from analysis.stats.planning import approximate_power, plan_study, simulated_power


@pytest.mark.slow
def test_approximate_power_agrees_with_simulated_power():
    approx = approximate_power(6.0, 20, 10, REALISTIC_SDS)
    simulated, se = simulated_power(6.0, 20, 10, REALISTIC_SDS, simulations=200, seed=3)
    assert 0.3 < approx < 0.95
    assert simulated == pytest.approx(approx, abs=3 * se + 0.03)


def test_with_only_residual_variance_it_is_a_paired_t_test():
    # One track, no track or participant variation of the difference: the mean of
    # P paired differences with SD √2·σ, i.e. TTestPower with d = δ/(√2σ).
    d = 5.0 / (2**0.5 * 10.0)
    approx = approximate_power(5.0, 30, 2, {"residual": 10.0})
    # 30 participants × 2 tracks: 60 independent differences, a one-sample t (df 59).
    reference = TTestPower().power(effect_size=d, nobs=60, alpha=0.05)
    assert approx == pytest.approx(reference, abs=1e-6)


def test_power_grows_with_participants_and_tracks():
    small = approximate_power(5.0, 10, 6, REALISTIC_SDS)
    assert approximate_power(5.0, 40, 6, REALISTIC_SDS) > small
    assert approximate_power(5.0, 10, 24, REALISTIC_SDS) > small


def test_bad_settings_are_refused():
    with pytest.raises(InvalidInputError, match="difference"):
        plan_study(0.0)
    with pytest.raises(InvalidInputError, match="power"):
        plan_study(5.0, power=1.5)
    with pytest.raises(InvalidInputError, match="unknown variance components"):
        plan_study(5.0, {"genre": 3.0})
