"""The AI-versus-human answer on ratings: a crossed mixed model per attribute (docs/statistics.md).

The question a study asks is about mastering in general, so both the participants
and the tracks are samples: the primary model of every attribute is

    score ~ system + (1 | participant) + (1 | track) + (1 | track:system)
                   + (1 | participant:system)

fitted by REML on every retained participant's ratings of the masters
(``condition_kind == "system"``: never the hidden reference, the anchors or the
mix). The track-by-system term carries the track-to-track variation of the
human-minus-AI difference into the error of the contrast; without it the test
rejects a true null far more often than 5 % (Clark 1973; Judd, Westfall & Kenny
2012). The contrast human − AI is reported in rating points with a Satterthwaite
t test (as lmerTest), Holm-adjusted across the study's attributes.

Components that cannot be estimated from the design (fewer than two levels, as
many levels as ratings, or the same grouping as another term) are left out
before fitting, and components estimated at zero (a singular fit) are removed and
the model refitted; both are stated in ``notes`` and in the ``formula`` actually
fitted. The numerical engine is :mod:`analysis.stats.reml`; the per-genre contrasts
are in :mod:`analysis.stats.genres`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis.errors import InvalidInputError
from analysis.stats.corrections import with_holm
from analysis.stats.inputs import RATING_COLUMNS, require_columns, system_ratings
from analysis.stats.pls import Grouping
from analysis.stats.reml import SINGULAR_TOL, ContrastResult, CrossedLMM, LmmFit

Transform = Literal["none", "logit"]

#: Random-effect terms of the primary model, in lme4 order of the formula.
TERMS: Final = ("participant", "track", "track:system", "participant:system")


@dataclass(frozen=True, eq=False)
class SystemEffect(ContrastResult):
    """The human-minus-AI contrast of one attribute from the primary model.

    Attributes
    ----------
    attribute : str
        The rated attribute.
    estimate, se, df, t, p, ci_low, ci_high : float
        Human − AI in rating points (or logit units), its SE, Satterthwaite df,
        t, two-sided p and 95 % CI.
    n_obs, n_participants, n_tracks : int
        Ratings, participants and tracks fitted.
    formula : str
        The model actually fitted, in lme4 notation.
    variance : dict of str to float
        Variance of every random term of the fitted model and of the residual.
    notes : tuple of str
        Terms left out (not estimable) or removed (singular), in plain words.
    converged : bool
        Whether the optimiser reached a stationary point with a positive-definite
        Hessian of the variance parameters.
    transform : str
        ``"none"`` or ``"logit"`` (scores mapped to logit((r + 0.5)/101)).
    mean_a, mean_b : float
        Raw mean rating of the two systems (for the reader's orientation).
    """

    attribute: str
    n_obs: int
    n_participants: int
    n_tracks: int
    formula: str
    variance: dict[str, float]
    notes: tuple[str, ...]
    converged: bool
    transform: str
    mean_a: float
    mean_b: float


def master_ratings(
    ratings: pd.DataFrame, attribute: str, a: str, b: str, transform: Transform
) -> pd.DataFrame:
    """Select the masters' ratings of one attribute, with a numeric ``y``.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Tidy ratings (see :func:`system_effect`).
    attribute : str
        The attribute kept.
    a, b : str
        The two systems kept (``condition_kind == "system"`` rows only).
    transform : {"none", "logit"}
        Scale of ``y``: the score, or logit((score + 0.5)/101).

    Returns
    -------
    pandas.DataFrame
        The rows kept, with ``participant, track, system`` as str and a finite ``y``.
    """
    require_columns(ratings, RATING_COLUMNS, "ratings")
    if transform not in ("none", "logit"):
        raise InvalidInputError(f"transform={transform!r} must be 'none' or 'logit'")
    data = system_ratings(ratings, (a, b))
    data = data.loc[data["attribute"].astype(str) == attribute].copy()
    data["y"] = pd.to_numeric(data["score"], errors="coerce")
    data = data.loc[np.isfinite(data["y"].to_numpy(dtype=float))]
    present = set(data["system"].astype(str))
    missing = [s for s in (a, b) if s not in present]
    if missing:
        raise InvalidInputError(
            f"attribute {attribute!r} has no ratings of system(s) {missing!r} "
            f"(condition_kind 'system')"
        )
    if transform == "logit":
        prob = (data["y"].to_numpy(dtype=float) + 0.5) / 101.0
        data["y"] = np.log(prob / (1.0 - prob))
    for column in ("participant", "track", "system"):
        data[column] = data[column].astype(str)
    out: pd.DataFrame = data.reset_index(drop=True)
    return out


def crossed_groupings(data: pd.DataFrame) -> dict[str, Grouping]:
    """Code the four grouping factors of :data:`TERMS` as integers.

    Parameters
    ----------
    data : pandas.DataFrame
        Ratings with ``participant, track, system`` (as from :func:`master_ratings`).

    Returns
    -------
    dict of str to Grouping
        One dense coding per term; no string is concatenated per row.
    """
    codes = {c: pd.factorize(data[c], sort=True)[0] for c in ("participant", "track", "system")}
    n_systems = int(codes["system"].max()) + 1
    combined = {
        "participant": codes["participant"],
        "track": codes["track"],
        "track:system": codes["track"] * n_systems + codes["system"],
        "participant:system": codes["participant"] * n_systems + codes["system"],
    }
    out = {}
    for name in TERMS:
        dense = pd.factorize(combined[name], sort=True)[0].astype(np.int64)
        out[name] = Grouping(name=name, codes=dense, n_levels=int(dense.max()) + 1)
    return out


def _same_partition(g: Grouping, h: Grouping) -> bool:
    pairs = np.unique(g.codes * np.int64(h.n_levels) + h.codes).size
    return pairs == g.n_levels == h.n_levels


def _estimable(groupings: dict[str, Grouping], n_obs: int) -> tuple[list[str], list[str]]:
    """Split the terms into estimable ones and plain-words reasons for the others."""
    kept: list[str] = []
    notes: list[str] = []
    for name in TERMS:
        g = groupings[name]
        if g.n_levels < 2:
            notes.append(f"(1 | {name}) left out: only {g.n_levels} level")
        elif g.n_levels >= n_obs:
            notes.append(
                f"(1 | {name}) left out: as many levels as ratings, so it cannot be told "
                "apart from the residual"
            )
        elif any(_same_partition(g, groupings[k]) for k in kept):
            twin = next(k for k in kept if _same_partition(g, groupings[k]))
            notes.append(f"(1 | {name}) left out: it groups the ratings exactly as (1 | {twin})")
        else:
            kept.append(name)
    return kept, notes


def _formula(fixed: str, terms: Sequence[str]) -> str:
    return " + ".join([f"score ~ {fixed}", *[f"(1 | {t})" for t in terms]])


def fit_crossed(
    y: np.ndarray,
    x: np.ndarray,
    x_names: Sequence[str],
    groupings: dict[str, Grouping],
    fixed: str,
) -> tuple[LmmFit, str, tuple[str, ...]]:
    """Fit with every estimable term, dropping singular ones until none is left.

    Returns the fit, the formula fitted and the notes.
    """
    terms, notes = _estimable(groupings, len(y))
    if not terms:
        raise InvalidInputError("no random effect can be estimated from these ratings")
    start: np.ndarray | None = None
    with threadpool_limits(limits=1, user_api="blas"):
        # The matrices are small; threaded BLAS on them only adds contention.
        while True:
            model = CrossedLMM(y, x, [groupings[t] for t in terms], x_names)
            theta = model.optimise(start)
            dropped = [t for t, v in zip(terms, theta, strict=True) if v < SINGULAR_TOL]
            if len(dropped) == len(terms):
                dropped = dropped[1:]  # keep one term: at θ = 0 the fit is least squares
            if not dropped:
                fit = model.fit(theta=theta)
                break
            for t in dropped:
                notes.append(
                    f"(1 | {t}) removed: its variance was estimated at 0 (singular fit); "
                    "the simpler model has the same likelihood"
                )
            start = np.asarray([v for t, v in zip(terms, theta, strict=True) if t not in dropped])
            terms = [t for t in terms if t not in dropped]
    return fit, _formula(fixed, terms), tuple(notes)


def system_effect(
    ratings: pd.DataFrame,
    attribute: str,
    *,
    a: str = "ai",
    b: str = "human",
    transform: Transform = "none",
    confidence: float = 0.95,
) -> SystemEffect:
    """Estimate b − a (human − AI) for one attribute with the primary crossed model.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Tidy ratings in the export's layout (``participant, track, attribute,
        condition_kind, system, score``); only ``condition_kind == "system"``
        rows of systems ``a`` and ``b`` are used.
    attribute : str
        The attribute analysed.
    a, b : str, default "ai", "human"
        The systems; the estimate is ``b − a``.
    transform : {"none", "logit"}, default "none"
        ``"logit"`` fits logit((r + 0.5)/101), the ceiling-robust sensitivity
        analysis of docs/statistics.md (The primary model).
    confidence : float, default 0.95
        Level of the CI.

    Returns
    -------
    SystemEffect
        The contrast with its Satterthwaite t test and the model actually fitted.

    References
    ----------
    docs/statistics.md (The primary model); Clark (1973), J. Verbal Learn. Verbal Behav. 12:335-359;
    Baayen, Davidson & Bates (2008), J. Mem. Lang. 59:390-412; Kuznetsova,
    Brockhoff & Christensen (2017), J. Stat. Softw. 82(13) (lmerTest).

    Examples
    --------
    >>> from analysis.stats.crossed_simulation import simulate_ratings
    >>> r = simulate_ratings(12, 6, effect=5.0, seed=1)
    >>> fit = system_effect(r, "overall quality")
    >>> fit.n_participants, fit.n_tracks
    (12, 6)
    """
    data = master_ratings(ratings, attribute, a, b, transform)
    y = data["y"].to_numpy(dtype=float)
    code = np.where(data["system"] == b, 0.5, -0.5)
    x = np.column_stack([np.ones(len(y)), code])
    fit, formula, notes = fit_crossed(
        y, x, ("(Intercept)", f"{b} - {a}"), crossed_groupings(data), "system"
    )
    c: ContrastResult = fit.contrast([0.0, 1.0], confidence)
    means = data.groupby("system")["y"].mean()
    return SystemEffect(
        attribute=attribute,
        **asdict(c),
        n_obs=len(y),
        n_participants=int(data["participant"].nunique()),
        n_tracks=int(data["track"].nunique()),
        formula=formula,
        variance=fit.variances,
        notes=notes,
        converged=fit.converged and fit.hessian_ok,
        transform=transform,
        mean_a=float(means[a]),
        mean_b=float(means[b]),
    )


def system_effects(
    ratings: pd.DataFrame,
    attributes: Sequence[str] | None = None,
    *,
    a: str = "ai",
    b: str = "human",
    transform: Transform = "none",
) -> pd.DataFrame:
    """Estimate the primary contrast of every attribute, Holm-adjusted across attributes.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Tidy ratings (see :func:`system_effect`).
    attributes : sequence of str, optional
        Attributes in order; default: every attribute with master ratings.
    a, b : str, default "ai", "human"
        Systems; estimates are ``b − a``.
    transform : {"none", "logit"}, default "none"
        Scale of the scores.

    Returns
    -------
    pandas.DataFrame
        One row per attribute: ``attribute, estimate, se, df, t, p, p_holm,
        ci_low, ci_high, mean_a, mean_b, n_obs, n_participants, n_tracks, formula,
        notes, converged, transform``.

    References
    ----------
    docs/statistics.md and 'Multiple comparisons'; Holm (1979), Scand. J. Stat. 6:65-70.

    Examples
    --------
    >>> from analysis.stats.crossed_simulation import simulate_ratings
    >>> table = system_effects(simulate_ratings(10, 6, seed=3))
    >>> list(table["attribute"])
    ['overall quality']
    """
    require_columns(ratings, RATING_COLUMNS, "ratings")
    if attributes is None:
        masters = system_ratings(ratings, (a, b))
        attributes = [str(x) for x in pd.unique(masters["attribute"].astype(str))]
    if not attributes:
        raise InvalidInputError(f"ratings have no master ratings of systems {a!r} and {b!r}")
    rows = []
    for attribute in attributes:
        e = system_effect(ratings, attribute, a=a, b=b, transform=transform)
        rows.append(
            {
                "attribute": e.attribute,
                "estimate": e.estimate,
                "se": e.se,
                "df": e.df,
                "t": e.t,
                "p": e.p,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "mean_a": e.mean_a,
                "mean_b": e.mean_b,
                "n_obs": e.n_obs,
                "n_participants": e.n_participants,
                "n_tracks": e.n_tracks,
                "formula": e.formula,
                "notes": "; ".join(e.notes),
                "converged": e.converged,
                "transform": e.transform,
                **{f"var_{k}": v for k, v in e.variance.items()},
            }
        )
    out = pd.DataFrame(rows)
    with_holm(out)
    return out
