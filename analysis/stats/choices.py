"""ABX discrimination, AB preference and Bradley-Terry fits (docs/statistics.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special, stats

from analysis.errors import InvalidInputError
from analysis.stats._common import require_columns, require_rows, with_holm
from analysis.stats.glmm import BinomialGLMM
from analysis.stats.pls import Grouping

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


def _choice_groupings(data: pd.DataFrame) -> tuple[list[Grouping], list[str]]:
    """Participant and track intercepts where estimable, with plain-words notes."""
    groupings, notes = [], []
    for name in ("participant", "track"):
        if name not in data.columns:
            notes.append(f"(1 | {name}) left out: the table has no {name} column")
            continue
        g = Grouping.from_labels(name, data[name].astype(str))
        if g.n_levels < 2:
            notes.append(f"(1 | {name}) left out: only {g.n_levels} level")
        elif g.n_levels >= len(data):
            notes.append(f"(1 | {name}) left out: as many levels as answers")
        else:
            groupings.append(g)
    return groupings, notes


@dataclass(frozen=True)
class _LogisticFit:
    beta: np.ndarray
    se: np.ndarray
    formula: str
    notes: list[str]
    converged: bool
    df: float  # denominator df of the intercept (between-within)


def _logistic(y: np.ndarray, x: np.ndarray, names: list[str], data: pd.DataFrame) -> _LogisticFit:
    """Fit the mixed logistic model, dropping singular intercepts.

    The intercept's df follow the between-within rule (Li & Redden 2015, BMC Med.
    Res. Methodol. 15:38, recommended for GLMMs with few clusters): the number of levels of
    the scarcest random-intercept factor left in the model, minus one. glmer's Wald
    z treats the SE as known; with 8 tracks it rejected a true null 8.8 % of the
    time (``benchmarks/bench_calibration.py``), because the SE is estimated mostly
    from the spread between tracks. A factor whose variance is estimated at 0
    contributes nothing to the SE, so it does not limit the df either.
    """
    groupings, notes = _choice_groupings(data)
    fixed = " + ".join(names[1:]) if len(names) > 1 else "1"
    while groupings:
        fit = BinomialGLMM(y, x, groupings, names).fit()
        singular = set(fit.singular)
        if not singular:
            terms = " + ".join(f"(1 | {g.name})" for g in groupings)
            return _LogisticFit(
                beta=fit.beta,
                se=fit.se,
                formula=f"y ~ {fixed} + {terms}",
                notes=notes,
                converged=fit.converged,
                df=float(max(min(g.n_levels for g in groupings) - 1, 1)),
            )
        for g in groupings:
            if g.name in singular:
                notes.append(
                    f"(1 | {g.name}) removed: its variance was estimated at 0 (singular fit)"
                )
        groupings = [g for g in groupings if g.name not in singular]
    logit = sm.Logit(y, x).fit(disp=0)
    notes.append("no random effect left: ordinary logistic regression")
    return _LogisticFit(
        beta=np.asarray(logit.params, dtype=float),
        se=np.asarray(logit.bse, dtype=float),
        formula=f"y ~ {fixed}",
        notes=notes,
        converged=bool(logit.mle_retvals.get("converged", True)),
        df=float(len(y) - x.shape[1]),
    )


def _inference(
    estimate: float, se: float, df: float, alternative: str, confidence: float
) -> dict[str, float]:
    t = estimate / se if se > 0 else np.nan
    if alternative == "greater":
        p = float(stats.t.sf(t, df))
        low = estimate - stats.t.ppf(confidence, df) * se
        high = np.inf
    else:
        p = float(2.0 * stats.t.sf(abs(t), df))
        crit = stats.t.ppf(0.5 + confidence / 2.0, df)
        low, high = estimate - crit * se, estimate + crit * se
    return {
        "log_odds": estimate,
        "se": se,
        "t": t,
        "df": df,
        "p": p,
        "prob": float(special.expit(estimate)),
        "prob_ci_low": float(special.expit(low)),
        "prob_ci_high": float(special.expit(high)),
    }


def preference_model(
    preferences: pd.DataFrame,
    *,
    a: str = "ai",
    b: str = "human",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of AB answers preferring b over a, from a logistic mixed model.

    For every attribute, the answers comparing ``a`` with ``b`` (ties left out and
    counted) are modelled as ``y ~ position + (1 | participant) + (1 | track)``
    with y = 1 when ``b`` was preferred and position = +½ when ``b`` was
    presented as "A" (−½ as "B"), so the intercept is the log-odds of preferring
    ``b`` at a balanced presentation and the position term is the A-over-B bias.
    Answers are repeated within participants and within tracks: a test that pools
    them as independent (a sign test) rejects a true null far too often when
    participants or tracks differ. The fit is lme4's Laplace (``glmer``).

    Parameters
    ----------
    preferences : pandas.DataFrame
        One row per answer: ``participant, track, attribute, a_system, b_system,
        choice_system``.
    a, b : str, default "ai", "human"
        The compared systems; the estimate is P(b preferred).
    confidence : float, default 0.95
        Level of the CIs.

    Returns
    -------
    pandas.DataFrame
        One row per attribute: ``attribute, n, ties, n_participants, n_tracks,
        share, log_odds, se, t, df, p, p_holm, prob, prob_ci_low, prob_ci_high,
        position_log_odds, position_p, formula, notes, converged``. The intercept
        is tested against t with between-within degrees of freedom (``_logistic``).

    References
    ----------
    docs/statistics.md; Jaeger (2008), J. Mem. Lang. 59:434-446 (logit mixed models
    instead of ANOVAs over proportions); Bates et al. (2015), J. Stat. Softw. 67(1).

    Examples
    --------
    >>> preference_model(preferences)  # doctest: +SKIP
    """
    require_columns(preferences, (*PREFERENCE_COLUMNS, "track"), "preferences")
    require_rows(preferences, "preferences")
    a_sys = preferences["a_system"].astype(str)
    b_sys = preferences["b_system"].astype(str)
    pair = ((a_sys == a) & (b_sys == b)) | ((a_sys == b) & (b_sys == a))
    data = preferences.loc[pair].copy()
    if data.empty:
        raise InvalidInputError(f"no AB answers compare {a!r} with {b!r}")
    rows = []
    for attribute, group in data.groupby("attribute", sort=True):
        choice = group["choice_system"].astype(str)
        ties = int((choice == NO_PREFERENCE).sum())
        answered = group.loc[choice.isin([a, b])].reset_index(drop=True)
        y = (answered["choice_system"].astype(str) == b).to_numpy(dtype=float)
        row: dict[str, object] = {
            "attribute": attribute,
            "n": len(answered),
            "ties": ties,
            "n_participants": int(answered["participant"].nunique()),
            "n_tracks": int(answered["track"].nunique()),
            "share": float(y.mean()) if y.size else np.nan,
        }
        position = np.where(answered["a_system"].astype(str) == b, 0.5, -0.5)
        names = ["(Intercept)", "position"]
        x = np.column_stack([np.ones(len(y)), position])
        if np.ptp(position) == 0:
            names, x = names[:1], x[:, :1]
        if len(y) < 2 or y.min() == y.max():
            row.update(notes="every answer is the same: no model can be fitted")
            rows.append(row)
            continue
        fit = _logistic(y, x, names, answered)
        row.update(
            _inference(float(fit.beta[0]), float(fit.se[0]), fit.df, "two-sided", confidence)
        )
        if len(fit.beta) > 1:
            # The position bias is a within-participant contrast: Wald z, as glmer.
            row.update(
                position_log_odds=float(fit.beta[1]),
                position_p=float(2.0 * stats.norm.sf(abs(fit.beta[1] / fit.se[1]))),
            )
        row.update(formula=fit.formula, notes="; ".join(fit.notes), converged=fit.converged)
        rows.append(row)
    out = pd.DataFrame(rows)
    if "p" in out.columns:
        with_holm(out)
    return out


def abx_model(abx: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Estimate the rate of correct ABX answers per pair with a logistic mixed model.

    ``correct ~ 1 + (1 | participant) + (1 | track)`` (lme4's Laplace fit); the
    intercept is the log-odds of a correct answer for a typical participant and
    track, tested one-sided against guessing (log-odds 0, rate ½). The exact
    per-participant binomial tests of :func:`abx_tests` stay the screen of who
    heard a difference.

    Parameters
    ----------
    abx : pandas.DataFrame
        One row per answer: ``participant, track, pair, correct``.
    confidence : float, default 0.95
        Level of the one-sided lower bound.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``pair, n, n_participants, n_tracks, share, log_odds, se,
        t, df, p, prob, prob_ci_low, prob_ci_high, formula, notes, converged``; p
        is one-sided from t with between-within degrees of freedom (``_logistic``).

    References
    ----------
    docs/statistics.md (AB preference and ABX); Bates et al. (2015), J. Stat. Softw. 67(1).

    Examples
    --------
    >>> abx_model(abx)  # doctest: +SKIP
    """
    require_columns(abx, (*ABX_COLUMNS, "track"), "abx")
    require_rows(abx, "abx")
    rows = []
    for pair, group in abx.groupby("pair", sort=True):
        group = group.reset_index(drop=True)
        y = group["correct"].astype(bool).to_numpy(dtype=float)
        row: dict[str, object] = {
            "pair": pair,
            "n": len(y),
            "n_participants": int(group["participant"].nunique()),
            "n_tracks": int(group["track"].nunique()),
            "share": float(y.mean()),
        }
        if y.min() == y.max():
            row.update(notes="every answer is the same: no model can be fitted")
        else:
            fit = _logistic(y, np.ones((len(y), 1)), ["(Intercept)"], group)
            row.update(
                _inference(float(fit.beta[0]), float(fit.se[0]), fit.df, "greater", confidence)
            )
            row.update(formula=fit.formula, notes="; ".join(fit.notes), converged=fit.converged)
        rows.append(row)
    return pd.DataFrame(rows)
