"""Penalised least squares for crossed random intercepts: the linear algebra of lme4.

For relative standard deviations θ (one per grouping factor, Λ_θ diagonal), weights
W and a working response z, the mixed-model equations of lme4 (Bates, Mächler,
Bolker & Walker 2015, J. Stat. Softw. 67(1), §3, eq. 9-18) are

    [Λ'Z'WZΛ + I   Λ'Z'WX] [u]   [Λ'Z'Wz]
    [X'WZΛ         X'WX  ] [β] = [X'Wz  ]

:class:`Layout` stores which random effect each observation touches and forms
the weighted cross-products in O(n); :func:`solve` solves the system for one θ.

The structure that makes a 1,000-participant study cheap: every grouping nested
in one "blocking" factor (participant and participant × system are both nested in
participant) touches one block of K slots per level of that factor, so the
upper-left part of the matrix is block-diagonal with B small K × K blocks. They
are eliminated blockwise; what remains (the crossed groupings, e.g. track and
track × system, and the fixed effects) is a small dense Schur complement. The cost
per θ is O(B·K·m²) for m crossed levels instead of O((B·K + m)³).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import linalg

from analysis.audio import FloatArray, IntArray
from analysis.errors import InvalidInputError


@dataclass(frozen=True)
class Grouping:
    """One grouping factor with a random intercept per level.

    Attributes
    ----------
    name : str
        Name shown in results, in lme4's notation (``"track:system"``).
    codes : numpy.ndarray of int
        Level of every observation, ``0 .. n_levels - 1``.
    n_levels : int
        Number of levels.

    Examples
    --------
    >>> Grouping.from_labels("track", ["b", "a", "b"]).codes.tolist()
    [1, 0, 1]
    """

    name: str
    codes: IntArray
    n_levels: int

    @classmethod
    def from_labels(cls, name: str, labels: npt.ArrayLike) -> Grouping:
        """Code arbitrary labels as levels 0..L-1 (sorted as strings)."""
        _, codes = np.unique(np.asarray(labels).astype(str), return_inverse=True)
        codes = np.asarray(codes, dtype=np.int64).ravel()
        return cls(name=name, codes=codes, n_levels=int(codes.max()) + 1 if codes.size else 0)


@dataclass(frozen=True)
class Products:
    """Weighted cross-products of one data set, before scaling by θ."""

    a11: FloatArray  # (B, K, K): Z₁'WZ₁ per block
    c12: FloatArray  # (B, K, m + p): Z₁'W[Z₂ X] per block
    c22: FloatArray  # (m + p, m + p): [Z₂ X]'W[Z₂ X]
    zy1: FloatArray  # (B, K): Z₁'Wz
    zy2: FloatArray  # (m + p,): [Z₂ X]'Wz
    yy: float  # z'Wz


@dataclass(frozen=True)
class Solution:
    """The solution of the mixed-model equations at one θ.

    ``trace``, ``q`` and ``usq`` (per grouping: the trace of the u-block of the
    inverse matrix over the grouping's slots, its number of slots and ‖u_k‖²) are
    filled when asked for; they give the analytic REML gradient.
    """

    ld_l2: float  # log|L_θ|² = log|Λ'Z'WZΛ + I|
    ld_rx2: float  # log|R_X|²
    r2: float  # penalised weighted residual sum of squares
    beta: FloatArray
    u: FloatArray  # spherical random effects, in the layout's level order
    rx_inv: FloatArray  # (R_X'R_X)⁻¹
    trace: FloatArray | None = None
    q: FloatArray | None = None
    usq: FloatArray | None = None


@dataclass(frozen=True)
class Design:
    """A mixed model's responses and fixed-effects design, checked the same way for every model.

    Attributes
    ----------
    y : numpy.ndarray, shape (n,)
        Responses, finite.
    x : numpy.ndarray, shape (n, p)
        Fixed-effects design, finite, full column rank, ``p < n``.
    x_names : tuple of str
        Names of the columns of ``x`` (``x0``, ``x1``, ... unless given).
    """

    y: FloatArray
    x: FloatArray
    x_names: tuple[str, ...]

    @classmethod
    def checked(
        cls, y: npt.ArrayLike, x: npt.ArrayLike, x_names: Sequence[str] | None = None
    ) -> Design:
        """Return the design, or raise InvalidInputError saying what is wrong with it."""
        y_ = np.asarray(y, dtype=float).ravel()
        x_ = np.asarray(x, dtype=float)
        n = y_.size
        if x_.ndim != 2 or x_.shape[0] != n:
            raise InvalidInputError(f"x must have shape (n, p) with n={n}, got {x_.shape}")
        if not np.all(np.isfinite(y_)) or not np.all(np.isfinite(x_)):
            raise InvalidInputError("y and x must be finite")
        p = x_.shape[1]
        if np.linalg.matrix_rank(x_) < p:
            raise InvalidInputError("the fixed-effects design is rank deficient")
        if n <= p:
            raise InvalidInputError(f"n={n} observations cannot fit {p} fixed effects")
        names = tuple(x_names) if x_names is not None else tuple(f"x{i}" for i in range(p))
        return cls(y=y_, x=x_, x_names=names)


class Layout:
    """Which random effects each observation touches, and the fixed-effects design.

    Parameters
    ----------
    groupings : sequence of Grouping
        Grouping factors, each with one random intercept per level.
    x : array_like, shape (n, p)
        Fixed-effects design (p may be 0).
    """

    def __init__(self, groupings: Sequence[Grouping], x: npt.ArrayLike) -> None:
        self.x = np.asarray(x, dtype=float)
        if self.x.ndim != 2:
            raise InvalidInputError(f"x must be 2-D (n, p), got shape {self.x.shape}")
        n = self.x.shape[0]
        if not groupings:
            raise InvalidInputError("a mixed model needs at least one grouping factor")
        for g in groupings:
            if g.codes.shape != (n,):
                raise InvalidInputError(f"grouping {g.name!r} has {g.codes.size} codes for n={n}")
        self.n = n
        self.p = self.x.shape[1]
        self.groupings = tuple(groupings)
        gs = self.groupings
        nested_in = [[_nested(h, g) for h in gs] for g in gs]
        score = [sum(h.n_levels for h, ok in zip(gs, row, strict=True) if ok) for row in nested_in]
        blocker = int(np.argmax(score))
        nested = [i for i, ok in enumerate(nested_in[blocker]) if ok]
        dense = [i for i in range(len(gs)) if i not in nested]
        self.nested, self.dense = nested, dense
        self.block = gs[blocker].codes
        self.n_blocks = gs[blocker].n_levels

        # Slots of the nested groupings inside each block.
        self.slot_of_row: list[IntArray] = []
        slot_owner: list[int] = []
        offset = 0
        for i in nested:
            g = gs[i]
            level_block = np.zeros(g.n_levels, dtype=np.int64)
            level_block[g.codes] = self.block
            order = np.argsort(level_block, kind="stable")
            starts = np.searchsorted(level_block[order], np.arange(self.n_blocks))
            local = np.empty(g.n_levels, dtype=np.int64)
            local[order] = np.arange(g.n_levels) - starts[level_block[order]]
            width = int(local.max()) + 1 if g.n_levels else 0
            self.slot_of_row.append(offset + local[g.codes])
            slot_owner += [i] * width
            offset += width
        self.k = offset
        self.dense_col: list[IntArray] = []
        dense_owner: list[int] = []
        self.m = 0
        for i in dense:
            self.dense_col.append(self.m + gs[i].codes)
            dense_owner += [i] * gs[i].n_levels
            self.m += gs[i].n_levels
        self.slot_owner = np.asarray(slot_owner, dtype=np.int64)
        self.dense_owner = np.asarray(dense_owner, dtype=np.int64)

    def products(self, weights: FloatArray | None, z: FloatArray) -> Products:
        """Form the weighted cross-products with working response ``z``."""
        w = np.ones(self.n) if weights is None else np.asarray(weights, dtype=float)
        z = np.asarray(z, dtype=float)
        x, k, m, p = self.x, self.k, self.m, self.p
        width2 = m + p
        bk = self.block * k
        a11 = np.zeros(self.n_blocks * k * k)
        for s1 in self.slot_of_row:
            for s2 in self.slot_of_row:
                a11 += np.bincount((bk + s1) * k + s2, weights=w, minlength=a11.size)
        c12 = np.zeros(self.n_blocks * k * width2)
        for s1 in self.slot_of_row:
            row = (bk + s1) * width2
            for col in self.dense_col:
                c12 += np.bincount(row + col, weights=w, minlength=c12.size)
            for j in range(p):
                c12 += np.bincount(row + m + j, weights=w * x[:, j], minlength=c12.size)
        c22 = np.zeros((width2, width2))
        for ca in self.dense_col:
            for cb in self.dense_col:
                c22 += np.bincount(ca * width2 + cb, weights=w, minlength=width2 * width2).reshape(
                    width2, width2
                )
            for j in range(p):
                col = np.bincount(ca, weights=w * x[:, j], minlength=width2)
                c22[:, m + j] += col
                c22[m + j, :] += col
        xw = x * w[:, None]
        c22[m:, m:] += xw.T @ x
        zy1 = np.zeros(self.n_blocks * k)
        for s1 in self.slot_of_row:
            zy1 += np.bincount(bk + s1, weights=w * z, minlength=zy1.size)
        zy2 = np.zeros(width2)
        for col in self.dense_col:
            zy2 += np.bincount(col, weights=w * z, minlength=width2)
        zy2[m:] = xw.T @ z
        return Products(
            a11=a11.reshape(self.n_blocks, k, k),
            c12=c12.reshape(self.n_blocks, k, width2),
            c22=c22,
            zy1=zy1.reshape(self.n_blocks, k),
            zy2=zy2,
            yy=float(z @ (w * z)),
        )

    def times_u(self, u: FloatArray, theta: FloatArray) -> FloatArray:
        """ZΛ_θu: each observation's random part of the linear predictor."""
        theta = np.asarray(theta, dtype=float)
        u1 = u[: self.n_blocks * self.k].reshape(self.n_blocks, self.k)
        u2 = u[self.n_blocks * self.k :]
        eta = np.zeros(self.n)
        for i, slots in zip(self.nested, self.slot_of_row, strict=True):
            eta += theta[i] * u1[self.block, slots]
        for i, col in zip(self.dense, self.dense_col, strict=True):
            eta += theta[i] * u2[col]
        return eta


class MixedModel:
    """What every mixed model here holds: a checked design and its grouping factors.

    The constructor takes the responses ``y`` (n values), the fixed-effects design ``x``
    (n rows, full column rank), the grouping factors (at least one, a random intercept
    each) and, optionally, the names of the columns of ``x`` (:class:`Design`); each
    model documents them for its own responses and finishes its set-up in :meth:`_setup`.
    """

    def __init__(
        self,
        y: npt.ArrayLike,
        x: npt.ArrayLike,
        groupings: Sequence[Grouping],
        x_names: Sequence[str] | None = None,
    ) -> None:
        design = Design.checked(y, x, x_names)
        self.y, self.x, self.x_names = design.y, design.x, design.x_names
        self.n, self.p = self.x.shape
        self.groupings = tuple(groupings)
        self._layout = Layout(self.groupings, self.x)  # checks the groupings against n
        self._setup()

    def _setup(self) -> None:
        """Check what only this model needs and precompute what its fits share."""


def _nested(h: Grouping, g: Grouping) -> bool:
    """Whether every level of ``h`` lies within one level of ``g``."""
    pairs = np.unique(h.codes * np.int64(max(g.n_levels, 1)) + g.codes)
    return bool(pairs.size == np.unique(h.codes).size)


def solve(layout: Layout, prod: Products, theta: FloatArray, gradient: bool = False) -> Solution:
    """Solve the mixed-model equations at ``theta`` (see the module docstring).

    Parameters
    ----------
    layout : Layout
        The data's structure.
    prod : Products
        Its weighted cross-products.
    theta : numpy.ndarray
        Relative SDs, one per grouping (negative values act as their absolute
        value: the criterion is even in each θ_k).
    gradient : bool, default False
        Also compute the per-grouping traces needed for the REML gradient.

    Returns
    -------
    Solution
        Log-determinants, penalised RSS, β, u and (R_X'R_X)⁻¹.
    """
    theta = np.asarray(theta, dtype=float)
    k, m, p, nb = layout.k, layout.m, layout.p, layout.n_blocks
    d1 = theta[layout.slot_owner]
    d2 = np.concatenate([theta[layout.dense_owner], np.ones(p)])
    a11 = prod.a11 * d1[None, :, None] * d1[None, None, :] + np.eye(k)[None, :, :]
    a12 = prod.c12 * d1[None, :, None] * d2[None, None, :]
    rhs1 = prod.zy1 * d1[None, :]
    width2 = m + p
    if k:
        chol1 = np.linalg.cholesky(a11)
        ld_a11 = 2.0 * float(np.log(np.diagonal(chol1, axis1=1, axis2=2)).sum())
        # The blocks are tiny (K × K): one batched inverse and a batched product
        # cost far less than B separate LAPACK solves.
        a11_inv = np.linalg.inv(a11)
        sol = a11_inv @ np.concatenate([a12, rhs1[:, :, None]], axis=2)
    else:
        ld_a11 = 0.0
        a11_inv = np.zeros((nb, 0, 0))
        sol = np.zeros((nb, 0, width2 + 1))
    sol_a12, sol_rhs1 = sol[:, :, :-1], sol[:, :, -1]
    flat_a12 = a12.reshape(nb * k, width2)
    flat_sol = sol_a12.reshape(nb * k, width2)
    schur = prod.c22 * d2[:, None] * d2[None, :]
    schur[np.arange(m), np.arange(m)] += 1.0
    schur -= flat_a12.T @ flat_sol
    rhs2 = prod.zy2 * d2 - flat_a12.T @ sol_rhs1.ravel()
    if width2:
        chol2 = linalg.cholesky(schur, lower=True, check_finite=False)
        w2 = linalg.cho_solve((chol2, True), rhs2, check_finite=False)
    else:
        chol2 = np.zeros((0, 0))
        w2 = np.zeros(0)
    log_diag2 = np.log(np.diagonal(chol2))
    ld_l2 = ld_a11 + 2.0 * float(log_diag2[:m].sum())
    ld_rx2 = 2.0 * float(log_diag2[m:].sum())
    u1 = sol_rhs1 - np.einsum("bkj,j->bk", sol_a12, w2)
    r2 = prod.yy - float((u1 * rhs1).sum()) - float(w2 @ (prod.zy2 * d2))
    rx = chol2[m:, m:]
    rx_inv_t = linalg.solve_triangular(rx, np.eye(p), lower=True, check_finite=False)
    rx_inv = rx_inv_t.T @ rx_inv_t
    u = np.concatenate([u1.ravel(), w2[:m]])
    if not gradient:
        return Solution(ld_l2, ld_rx2, max(r2, 1e-300), w2[m:], u, rx_inv)
    n_g = len(layout.groupings)
    s_inv = linalg.cho_solve((chol2, True), np.eye(width2), check_finite=False)
    diag1 = np.diagonal(a11_inv, axis1=1, axis2=2) + np.einsum(
        "ij,ij->i", flat_sol @ s_inv, flat_sol
    ).reshape(nb, k)
    owners1 = np.broadcast_to(layout.slot_owner, (nb, k)).ravel()
    trace = np.bincount(owners1, weights=diag1.ravel(), minlength=n_g)
    trace += np.bincount(layout.dense_owner, weights=np.diagonal(s_inv)[:m], minlength=n_g)
    q = np.bincount(owners1, minlength=n_g) + np.bincount(layout.dense_owner, minlength=n_g)
    q_float = q.astype(float)
    usq = np.bincount(owners1, weights=(u1 * u1).ravel(), minlength=n_g)
    usq += np.bincount(layout.dense_owner, weights=w2[:m] ** 2, minlength=n_g)
    return Solution(
        ld_l2,
        ld_rx2,
        max(r2, 1e-300),
        w2[m:],
        u,
        rx_inv,
        np.asarray(trace, dtype=float),
        q_float,
        np.asarray(usq, dtype=float),
    )
