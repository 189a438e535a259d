"""Logistic mixed models of ABX and AB answers (docs/statistics.md, AB preference and ABX).

Answers repeat within participants and within tracks; the models here give each a random
intercept (lme4's Laplace fit, :class:`analysis.stats.glmm.BinomialGLMM`) and test the
intercept with between-within degrees of freedom. The counting tests that pool answers
as independent are in :mod:`analysis.stats.choices`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special, stats

from analysis.errors import InvalidInputError
from analysis.stats.choices import ABX_COLUMNS, NO_PREFERENCE, PREFERENCE_COLUMNS
from analysis.stats.corrections import with_holm
from analysis.stats.glmm import BinomialGLMM
from analysis.stats.inputs import require_columns, require_rows
from analysis.stats.pls import Grouping


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
    per-participant binomial tests of :func:`analysis.stats.choices.abx_tests` stay
    the screen of who heard a difference.

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
