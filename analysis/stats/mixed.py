"""Linear mixed model with crossed random intercepts for participant and track (METRICS.md §8.2)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.stats._common import RATING_COLUMNS, require_columns

Transform = Literal["none", "logit"]


@dataclass(frozen=True, eq=False)
class MixedModelResult:
    """A fitted crossed-random-intercepts LMM of one attribute.

    Attributes
    ----------
    fixed : pandas.DataFrame
        One row per fixed effect: ``term, coef, se, z, p, ci_low, ci_high`` (REML).
    variance : pandas.DataFrame
        ``component`` (participant, track, residual), ``variance`` and ``sd``.
    lrt : pandas.DataFrame
        One row: likelihood-ratio test of every system term (main effect and
        interaction) from ML fits: ``chi2, df, p, llf_full, llf_reduced``.
    formula : str
        The fixed-effects formula of the full model.
    transform : str
        ``"none"`` or ``"logit"`` (scores mapped to logit((r + 0.5)/101)).
    n_obs, n_participants, n_tracks : int
        Size of the data fitted.
    converged : bool
        Whether the REML fit converged.
    """

    fixed: pd.DataFrame
    variance: pd.DataFrame
    lrt: pd.DataFrame
    formula: str
    transform: str
    n_obs: int
    n_participants: int
    n_tracks: int
    converged: bool


def system_term(reference: str, level: str) -> str:
    """Return the patsy name of the system coefficient ``level`` against ``reference``."""
    return f'C(system, Treatment("{reference}"))[T.{level}]'


def _fit(data: pd.DataFrame, formula: str, reml: bool) -> Any:
    model = smf.mixedlm(
        formula,
        data,
        groups="one",
        re_formula="0",
        vc_formula={"participant": "0 + C(participant)", "track": "0 + C(track)"},
    )
    with warnings.catch_warnings():
        # Boundary fits (a variance near 0) are reported through `converged`.
        warnings.simplefilter("ignore")
        return model.fit(reml=reml)


def mixed_model(
    ratings: pd.DataFrame,
    attribute: str,
    *,
    systems: Sequence[str] = ("ai", "human"),
    reference: str = "human",
    transform: Transform = "none",
    interaction: bool = True,
) -> MixedModelResult:
    """Fit ``score ~ system * genre + (1 | participant) + (1 | track)`` by REML.

    statsmodels has no lme4 syntax, so the crossed intercepts are variance
    components inside a single group (METRICS.md §8.2)::

        smf.mixedlm('score ~ C(system, Treatment("human")) * C(genre)', d,
                    groups="one", re_formula="0",
                    vc_formula={"participant": "0 + C(participant)",
                                "track": "0 + C(track)"}).fit(reml=True)

    Repeated ratings of the same participant × track × system are averaged first
    (with one rating per cell, as in a standard MUSHRA design, nothing changes).
    The Wald z tests of statsmodels are complemented by a likelihood-ratio test of
    all system terms, from ML fits (``reml=False``) of the full model and of the
    model without system. The cost grows with (participants + tracks)² × ratings:
    for large studies fit a random subset of participants (see
    :func:`analysis.stats.study.analyse_study`).

    Parameters
    ----------
    ratings : pandas.DataFrame
        Tidy (screened) ratings with a ``genre`` column.
    attribute : str
        The attribute analysed.
    systems : sequence of str, default ("ai", "human")
        System levels kept.
    reference : str, default "human"
        Treatment-coding reference level of system.
    transform : {"none", "logit"}, default "none"
        ``"logit"`` fits logit((r + 0.5)/101), the ceiling-robust sensitivity
        analysis of METRICS.md §8.2.
    interaction : bool, default True
        Include the system × genre interaction (the §8.2 model). Without it the
        system coefficient is the average system effect.

    Returns
    -------
    MixedModelResult
        Fixed effects, variance components and the likelihood-ratio test.

    References
    ----------
    METRICS.md §8.2; Baayen, Davidson & Bates (2008), J. Mem. Lang. 59:390-412
    (crossed random effects of subjects and items); statsmodels MixedLM.

    Examples
    --------
    >>> fit = mixed_model(ratings, "overall quality")  # doctest: +SKIP
    >>> fit.fixed.set_index("term").loc[system_term("human", "ai")]  # doctest: +SKIP
    """
    require_columns(ratings, [*RATING_COLUMNS, "genre"], "ratings")
    if reference not in systems:
        raise InvalidInputError(f"reference={reference!r} must be one of systems={systems!r}")
    if transform not in ("none", "logit"):
        raise InvalidInputError(f"transform={transform!r} must be 'none' or 'logit'")
    data = ratings.loc[(ratings["attribute"] == attribute) & ratings["system"].isin(systems)]
    if data["system"].nunique() < 2:
        raise InvalidInputError(
            f"mixed model for {attribute!r} needs ≥ 2 of systems {list(systems)!r} rated"
        )
    keys = ["participant", "track", "genre", "system"]
    data = data.groupby(keys, observed=True)["score"].mean().reset_index()
    for column in ("participant", "track", "genre", "system"):
        # Plain strings: patsy would add an all-zero column per unused category.
        data[column] = data[column].astype(str)
    if transform == "logit":
        p = (data["score"].to_numpy(dtype=float) + 0.5) / 101.0
        data["score"] = np.log(p / (1.0 - p))
    data["one"] = 1
    system = f'C(system, Treatment("{reference}"))'
    several_genres = data["genre"].nunique() > 1
    if several_genres:
        rhs = f"{system} * C(genre)" if interaction else f"{system} + C(genre)"
        reduced = "score ~ C(genre)"
    else:
        rhs, reduced = system, "score ~ 1"
    formula = f"score ~ {rhs}"

    fit = _fit(data, formula, reml=True)
    names = list(fit.model.exog_names)
    ci = np.asarray(fit.conf_int())[: len(names)]
    fe = np.asarray(fit.fe_params, dtype=float)
    se = np.asarray(fit.bse_fe, dtype=float)
    z = fe / se
    fixed = pd.DataFrame(
        {
            "term": names,
            "coef": fe,
            "se": se,
            "z": z,
            "p": 2.0 * stats.norm.sf(np.abs(z)),
            "ci_low": ci[:, 0],
            "ci_high": ci[:, 1],
        }
    )
    components = [*fit.model.exog_vc.names, "residual"]
    variances = np.append(np.asarray(fit.vcomp, dtype=float), float(fit.scale))
    variance = pd.DataFrame(
        {"component": components, "variance": variances, "sd": np.sqrt(variances)}
    )

    full_ml = _fit(data, formula, reml=False)
    reduced_ml = _fit(data, reduced, reml=False)
    chi2 = max(0.0, 2.0 * (float(full_ml.llf) - float(reduced_ml.llf)))
    df = len(full_ml.fe_params) - len(reduced_ml.fe_params)
    lrt = pd.DataFrame(
        {
            "attribute": [attribute],
            "chi2": [chi2],
            "df": [df],
            "p": [float(stats.chi2.sf(chi2, df))],
            "llf_full": [float(full_ml.llf)],
            "llf_reduced": [float(reduced_ml.llf)],
        }
    )
    return MixedModelResult(
        fixed=fixed,
        variance=variance,
        lrt=lrt,
        formula=formula,
        transform=transform,
        n_obs=len(data),
        n_participants=int(data["participant"].nunique()),
        n_tracks=int(data["track"].nunique()),
        converged=bool(fit.converged),
    )
