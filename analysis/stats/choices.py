"""Counting tests of ABX and AB answers and Bradley-Terry fits (docs/statistics.md).

The answers are treated as independent here; :mod:`analysis.stats.choice_models` fits
the logistic mixed models that respect their repetition within participants and tracks.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.stats.inputs import require_columns, require_rows

ABX_COLUMNS: Final = ("participant", "pair", "correct")
PREFERENCE_COLUMNS: Final = ("participant", "attribute", "a_system", "b_system", "choice_system")
#: ``choice_system`` value for "no preference".
NO_PREFERENCE: Final = "none"


def _abx_rows(k: np.ndarray, n: np.ndarray, confidence: float) -> pd.DataFrame:
    """Exact one-sided binomial p and one-sided Clopper-Pearson bounds, vectorised.

    p = P(K ≥ k | n, ½) and the lower bound is the α quantile of Beta(k, n − k + 1)
    (upper bound 1), as ``binomtest(k, n, alternative='greater').proportion_ci()``.
    """
    k = k.astype(int)
    n = n.astype(int)
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1), 0.0)
    return pd.DataFrame(
        {
            "k": k,
            "n": n,
            "share": k / n,
            "p": stats.binom.sf(k - 1, n, 0.5),
            "ci_low": low,
            "ci_high": np.ones(len(k)),
        }
    )


def abx_tests(abx: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Exact binomial tests of ABX answers per participant and pooled, per pair.

    H0 is guessing (p = ½): the one-sided exact p is P(K ≥ k | n, ½), i.e.
    ``scipy.stats.binomtest(k, n, 0.5, alternative='greater')``, with its one-sided
    Clopper-Pearson interval [lower, 1]. The pooled row sums the counts of all
    participants (docs/statistics.md (AB preference and ABX): pool rather than count who passed).

    Parameters
    ----------
    abx : pandas.DataFrame
        One row per answer: ``participant, pair, correct`` (bool).
    confidence : float, default 0.95
        Level of the one-sided interval.

    Returns
    -------
    pandas.DataFrame
        ``level`` ("participant" or "pooled"), ``pair, participant`` (empty for
        pooled), ``k, n, share, p, ci_low, ci_high``; the pooled row of each pair
        first.

    References
    ----------
    docs/statistics.md; Clopper & Pearson (1934), Biometrika 26:404-413; ITU-R
    BS.1116-3 (2015) on the discrimination of small impairments.

    Examples
    --------
    >>> import pandas as pd
    >>> abx = pd.DataFrame({"participant": "p1", "pair": "ai|human",
    ...                     "correct": [True] * 12 + [False] * 4})
    >>> round(float(abx_tests(abx)["p"].iloc[0]), 6)
    0.038406
    """
    require_columns(abx, ABX_COLUMNS, "abx")
    require_rows(abx, "abx")
    correct = abx["correct"].astype(bool)
    per = correct.groupby([abx["pair"], abx["participant"]], observed=True).agg(["sum", "size"])
    pooled = correct.groupby(abx["pair"], observed=True).agg(["sum", "size"])
    head = _abx_rows(pooled["sum"].to_numpy(), pooled["size"].to_numpy(), confidence)
    head.insert(0, "participant", "")
    head.insert(0, "pair", pooled.index.to_numpy())
    head.insert(0, "level", "pooled")
    body = _abx_rows(per["sum"].to_numpy(), per["size"].to_numpy(), confidence)
    body.insert(0, "participant", per.index.get_level_values("participant").to_numpy())
    body.insert(0, "pair", per.index.get_level_values("pair").to_numpy())
    body.insert(0, "level", "participant")
    out = pd.concat([head, body], ignore_index=True)
    order = np.lexsort((out["level"] != "pooled", out["pair"].astype(str)))
    return out.iloc[order].reset_index(drop=True)


def preference_tests(
    preferences: pd.DataFrame, *, system: str = "ai", confidence: float = 0.95
) -> pd.DataFrame:
    """Two-sided sign test of AB preferences per attribute and system pair.

    Ties ("no preference", ``choice_system == "none"``) are excluded and counted;
    ``k`` of the ``n_nontie`` remaining answers preferred ``system``. The p value is
    ``scipy.stats.binomtest(k, n_nontie, 0.5)`` (two-sided) with its Clopper-Pearson
    CI. When ``position_of_ai`` is given, a second two-sided binomial test of how
    often the A position was chosen checks for a position bias.

    Parameters
    ----------
    preferences : pandas.DataFrame
        One row per answer: ``participant, attribute, a_system, b_system,
        choice_system`` and optionally ``position_of_ai`` ("A" / "B").
    system : str, default "ai"
        The system whose share of preferences is tested; pairs without it are
        tested for their alphabetically first system.
    confidence : float, default 0.95
        Level of the CI of the preference share.

    Returns
    -------
    pandas.DataFrame
        One row per attribute and pair: ``attribute, pair, system, n, ties,
        n_nontie, k, share, p, ci_low, ci_high, chose_a, p_position``.

    References
    ----------
    docs/statistics.md; Dixon & Mood (1946), J. Am. Stat. Assoc. 41:557-566 (sign test).

    Examples
    --------
    >>> preference_tests(preferences)  # doctest: +SKIP
    """
    require_columns(preferences, PREFERENCE_COLUMNS, "preferences")
    require_rows(preferences, "preferences")
    a_sys = preferences["a_system"].astype(str)
    b_sys = preferences["b_system"].astype(str)
    pair = np.where(a_sys <= b_sys, a_sys + "|" + b_sys, b_sys + "|" + a_sys)
    choice = preferences["choice_system"].astype(str)
    chose_a = (choice == a_sys).where(choice != NO_PREFERENCE)
    frame = pd.DataFrame(
        {"attribute": preferences["attribute"], "pair": pair, "choice": choice, "chose_a": chose_a}
    )
    rows = []
    for (attribute, label), group in frame.groupby(["attribute", "pair"], sort=True):
        systems = str(label).split("|")
        tested = system if system in systems else systems[0]
        ties = int((group["choice"] == NO_PREFERENCE).sum())
        n_nontie = len(group) - ties
        k = int((group["choice"] == tested).sum())
        row: dict[str, object] = {
            "attribute": attribute,
            "pair": label,
            "system": tested,
            "n": len(group),
            "ties": ties,
            "n_nontie": n_nontie,
            "k": k,
            "share": k / n_nontie if n_nontie else np.nan,
            "p": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "chose_a": np.nan,
            "p_position": np.nan,
        }
        if n_nontie:
            res = stats.binomtest(k, n_nontie, 0.5)
            ci = res.proportion_ci(confidence_level=confidence, method="exact")
            row.update(p=float(res.pvalue), ci_low=float(ci.low), ci_high=float(ci.high))
            n_a = int(group["chose_a"].sum())
            row.update(
                chose_a=n_a / n_nontie, p_position=float(stats.binomtest(n_a, n_nontie).pvalue)
            )
        rows.append(row)
    return pd.DataFrame(rows)


def bradley_terry(
    comparisons: pd.DataFrame, *, reference: str = "ai", confidence: float = 0.95
) -> pd.DataFrame:
    """Bradley-Terry log-strengths by logistic regression without intercept.

    P(i beats j) = exp(β_i) / (exp(β_i) + exp(β_j)). Each non-tie comparison is one
    row of X with +1 in the column of the A system and −1 in that of the B system,
    y = 1 when A won; the ``reference`` column is dropped (β_ref = 0) and
    ``statsmodels.api.Logit(y, X)`` gives the log-strength differences against
    the reference with SEs and Wald p values (docs/statistics.md, AB preference and ABX).

    Parameters
    ----------
    comparisons : pandas.DataFrame
        Preference answers: ``a_system, b_system, choice_system``; ties
        (``"none"``) are dropped.
    reference : str, default "ai"
        The system whose log-strength is fixed at 0.
    confidence : float, default 0.95
        Level of the Wald CIs.

    Returns
    -------
    pandas.DataFrame
        One row per system, reference first: ``system, log_strength, se, z, p,
        ci_low, ci_high, n_comparisons`` (NaN SE and p for the reference).

    References
    ----------
    Bradley & Terry (1952), Biometrika 39:324-345; Agresti (2013), *Categorical
    Data Analysis*, 3rd ed., §11.6; docs/statistics.md (AB preference and ABX).

    Examples
    --------
    >>> bradley_terry(preferences, reference="ai")  # doctest: +SKIP
    """
    require_columns(comparisons, ("a_system", "b_system", "choice_system"), "comparisons")
    data = comparisons.loc[comparisons["choice_system"].astype(str) != NO_PREFERENCE]
    a_sys = data["a_system"].astype(str).to_numpy()
    b_sys = data["b_system"].astype(str).to_numpy()
    choice = data["choice_system"].astype(str).to_numpy()
    systems = sorted(set(a_sys) | set(b_sys))
    if reference not in systems:
        raise InvalidInputError(f"reference={reference!r} is not among the systems {systems!r}")
    if len(systems) < 2 or len(data) == 0:
        raise InvalidInputError("bradley_terry needs non-tie comparisons of at least two systems")
    others = [s for s in systems if s != reference]
    x = np.zeros((len(data), len(others)))
    for column, name in enumerate(others):
        x[:, column] = (a_sys == name).astype(float) - (b_sys == name).astype(float)
    y = (choice == a_sys).astype(float)
    fit = sm.Logit(y, x).fit(disp=0)
    coef = np.asarray(fit.params, dtype=float)
    se = np.asarray(fit.bse, dtype=float)
    z = coef / se
    crit = stats.norm.ppf(0.5 + confidence / 2)
    out = pd.DataFrame(
        {
            "system": [reference, *others],
            "log_strength": np.r_[0.0, coef],
            "se": np.r_[np.nan, se],
            "z": np.r_[np.nan, z],
            "p": np.r_[np.nan, 2 * stats.norm.sf(np.abs(z))],
            "ci_low": np.r_[np.nan, coef - crit * se],
            "ci_high": np.r_[np.nan, coef + crit * se],
        }
    )
    out["n_comparisons"] = len(data)
    return out
