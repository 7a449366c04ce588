"""Drift of two columns together: KL of k x l joint tables, split by the chain rule; numpy only.

Every function takes a reference table n_ij and a current table m_ij of counts on the same k x l
cells (rows: bins of the first column X, columns: bins of the second column Y). Cells empty on
both sides are dropped; `smoothing` is added to every other cell of both tables, which are then
normalised to joint distributions P and Q. Marginals and conditionals are taken from those joint
distributions, so the chain rule holds exactly:

    D(P_XY || Q_XY) = D(P_X || Q_X) + D(P_Y|X || Q_Y|X)  =  D(P_Y || Q_Y) + D(P_X|Y || Q_X|Y)

with the conditional KL D(P_Y|X || Q_Y|X) = sum_i p_i. D(P_Y|X=i || Q_Y|X=i). Values are in units
of log `base` (nats by default). See docs/statistics.md, "Pairs of columns".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from kldrift.metrics import FloatArray, kl_divergence
from kldrift.significance import DEFAULT_RESAMPLES, GTest, chi2_sf

#: Conditioning on the rows (X, axis 0) or on the columns (Y, axis 1) of a table.
Given = Literal[0, 1]

#: Smallest expected count of a cell that the pooled G-test keeps apart (Cochran's rule).
_MIN_EXPECTED = 5.0
# numpy's multivariate_hypergeometric draws from at most this many items in all.
_MAX_SIMULATED = 10**9


@dataclass(frozen=True)
class JointDivergences:
    """The KL of a pair's joint table and its chain-rule parts, in units of log `base`.

    `joint` = `marginal_x` + `conditional_y_given_x` = `marginal_y` + `conditional_x_given_y`.
    """

    joint: float
    marginal_x: float
    marginal_y: float
    conditional_y_given_x: float
    conditional_x_given_y: float

    @property
    def relationship(self) -> float:
        """The smaller conditional KL: the joint drift left after the larger marginal drift.

        If either conditional distribution is unchanged, the pair's change is explained by the
        drift of one column alone, so the relationship score is min of the two conditionals.
        For the plug-in values `joint_divergences` gives (all five from one pair of tables) the
        chain rule makes it equal joint - max(marginal_x, marginal_y); the bias-corrected values
        of `corrected`, each clipped at 0 on its own, need not satisfy that identity.
        """
        return min(self.conditional_y_given_x, self.conditional_x_given_y)


def joint_divergences(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> JointDivergences:
    """Joint, both marginal and both conditional KLs of one pair of tables, in log `base`."""
    p, q = _pair(reference, current, smoothing)
    joint = kl_divergence(p.ravel(), q.ravel())
    marginal_x = kl_divergence(p.sum(axis=1), q.sum(axis=1))
    marginal_y = kl_divergence(p.sum(axis=0), q.sum(axis=0))
    parts = [joint, marginal_x, marginal_y, _conditional_nats(p, q, 0), _conditional_nats(p, q, 1)]
    return JointDivergences(*(x / math.log(base) for x in parts))


def joint_kl(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> float:
    """D(P_XY || Q_XY) of two tables, in units of log `base`."""
    p, q = _pair(reference, current, smoothing)
    return kl_divergence(p.ravel(), q.ravel(), base=base)


def conditional_kl(
    reference: ArrayLike,
    current: ArrayLike,
    given: Given = 0,
    smoothing: float = 0.0,
    base: float = math.e,
) -> float:
    """D(P_Y|X || Q_Y|X) (`given=0`) or D(P_X|Y || Q_X|Y) (`given=1`), in log `base`."""
    p, q = _pair(reference, current, smoothing)
    return _conditional_nats(p, q, given) / math.log(base)


def conditional_contributions(
    reference: ArrayLike,
    current: ArrayLike,
    given: Given = 0,
    smoothing: float = 0.0,
    base: float = math.e,
) -> FloatArray:
    """Each cell's non-negative part of the conditional KL, in log `base`; they sum to it.

    With `given=0` a cell's part is p(x_i) [p(y_j|x_i) log(p(y_j|x_i) / q(y_j|x_i)) +
    q(y_j|x_i) - p(y_j|x_i)]; with `given=1` the roles of x and y swap. The added q - p terms
    sum to 0 within each line, so the parts still sum to the conditional KL, and each is >= 0
    (a log b/c + c - b >= 0), unlike the signed terms p_ij log(p(y|x) / q(y|x)): a cell that
    gains current share carries a positive part too, and ranking by value ranks by drift. A
    part is `inf` where the reference has conditional mass and the current none, and 0 in a
    line the reference never reaches (the conditional KL weighs lines by p(x)).
    """
    p, q = _pair(reference, current, smoothing)
    p_cond, q_cond = _conditionals(p, given), _conditionals(q, given)
    weight = np.broadcast_to(p.sum(axis=1 - given, keepdims=True), p.shape)
    parts = np.where(weight > 0, q_cond - p_cond, 0.0)
    support = p > 0
    with np.errstate(divide="ignore"):
        parts[support] += p_cond[support] * np.log(p_cond[support] / q_cond[support])
    # Rounding can leave a part of an unchanged cell at -1e-17; mathematically it is >= 0.
    nonnegative: FloatArray = np.maximum(weight * parts, 0.0) / math.log(base)
    return nonnegative


def noise_floors(
    reference: ArrayLike, current: ArrayLike, base: float = math.e
) -> JointDivergences:
    """The plug-in KL that sampling alone produces in each part, in log `base`.

    With K occupied cells, k occupied rows and l occupied columns (cells and lines empty on both
    sides dropped) and h = (1/N + 1/M) / 2, the floors are (K - 1) h for the joint table,
    (k - 1) h and (l - 1) h for the marginals, and (K - k) h and (K - l) h for the conditionals:
    the chain rule splits the joint table's K - 1 degrees of freedom the same way.
    """
    ref, cur = _tables(reference, current)
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    if not (n_ref > 0 and n_cur > 0):
        raise ValueError("noise floors need counts on both sides")
    occupied = (ref > 0) | (cur > 0)
    cells = int(occupied.sum())
    rows, columns = int(occupied.any(axis=1).sum()), int(occupied.any(axis=0).sum())
    half = (1 / n_ref + 1 / n_cur) / 2 / math.log(base)
    dofs = [cells - 1, rows - 1, columns - 1, cells - rows, cells - columns]
    return JointDivergences(*(d * half for d in dofs))


def corrected(plug_in: JointDivergences, floors: JointDivergences) -> JointDivergences:
    """Each plug-in value minus its noise floor, clipped at 0 (the bias-corrected KLs).

    This is `significance.miller_madow_kl` part by part; the clipped parts no longer add up
    exactly.
    """
    fields = ("joint", "marginal_x", "marginal_y", "conditional_y_given_x", "conditional_x_given_y")
    return JointDivergences(*(max(getattr(plug_in, f) - getattr(floors, f), 0.0) for f in fields))


def conditional_g_test(
    reference: ArrayLike,
    current: ArrayLike,
    given: Given = 0,
    *,
    williams: bool = True,
    method: Literal["pooled", "asymptotic", "permutation"] = "pooled",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> GTest:
    """G-test that dataset and Y are independent given X (`given=0`): P_Y|X = Q_Y|X.

    The 2 x k x l table (dataset x X x Y) holds one 2 x l table per row x_i of X; conditional
    independence is homogeneity within every stratum, so G is the sum of the strata's G-tests
    of homogeneity and dof = sum_i (l_i - 1), with l_i the occupied cells of stratum i (a
    stratum with rows on one side only carries no information: G_i = 0, no dof). For a full
    table dof = k (l - 1). Each stratum's G is divided by its Williams' q and the p-value is
    that of the chi-square. `given=1` tests P_X|Y = Q_X|Y on the transposed table.

    With `method="pooled"` (the default), the cells of a stratum whose expected count on the
    smaller side is below 5 are first added into one cell, which is dropped if it is still
    below 5: the chi-square then holds (Cochran's rule), and since the pooling depends on the
    margins only, the test keeps its level. "asymptotic" tests the table as it is;
    "permutation" is a seeded Monte-Carlo test conditional on every stratum's margins, as in
    `significance.g_test`, p >= 1 / (1 + n_resamples).
    """
    if method not in ("pooled", "asymptotic", "permutation"):
        raise ValueError(f"unknown method {method!r}: use 'pooled', 'asymptotic' or 'permutation'")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    ref, cur = _tables(reference, current)
    if not (np.all(ref == np.floor(ref)) and np.all(cur == np.floor(cur))):
        raise ValueError("the G-test needs whole-number counts")
    if given == 1:
        ref, cur = ref.T, cur.T
    label = "asymptotic chi-square" + (", Williams-corrected per stratum" if williams else "")
    if method == "pooled":
        ref, cur, pooled = _pool_sparse(ref, cur)
        if pooled:
            label += f", {pooled} sparse cells pooled"
    # Strata with rows on both sides, and their occupied cells.
    keep = (ref.sum(axis=1) > 0) & (cur.sum(axis=1) > 0)
    ref, cur = ref[keep], cur[keep]
    totals = ref + cur
    cells_per_stratum = (totals > 0).sum(axis=1)
    dof = int(np.sum(cells_per_stratum - 1))
    if dof < 1:
        return GTest(
            0.0, 0, 1.0, "degenerate: no stratum with two occupied cells on both sides", 1.0
        )
    n_ref, n_cur = ref.sum(axis=1), cur.sum(axis=1)
    q = _stratum_williams(n_ref, n_cur, totals, cells_per_stratum) if williams else None
    statistic = float(_stratified_g(cur[np.newaxis], totals, n_ref, n_cur, None)[0])
    scaled = float(_stratified_g(cur[np.newaxis], totals, n_ref, n_cur, q)[0])
    if method != "permutation":
        return GTest(statistic, dof, chi2_sf(scaled, dof), label, _ratio(statistic, scaled))
    if float(totals.sum()) >= _MAX_SIMULATED:
        raise ValueError(f"a permutation test needs fewer than {_MAX_SIMULATED:.0e} counts in all")
    rng = np.random.default_rng(seed)
    tables = np.stack(
        [
            rng.multivariate_hypergeometric(t.astype(np.int64), int(c), n_resamples)
            for t, c in zip(totals, n_cur, strict=True)
        ],
        axis=1,
    ).astype(np.float64)
    simulated = _stratified_g(tables, totals, n_ref, n_cur, q)
    at_least = int(np.count_nonzero(simulated >= scaled * (1 - 1e-12) - 1e-12))
    p_value = (1 + at_least) / (1 + n_resamples)
    label = f"permutation: {n_resamples} Monte-Carlo tables with fixed stratum margins, seed {seed}"
    return GTest(statistic, dof, p_value, label, _ratio(statistic, scaled))


def _pool_sparse(ref: FloatArray, cur: FloatArray) -> tuple[FloatArray, FloatArray, int]:
    """Both tables with each stratum's sparse cells added into one extra cell (see
    `conditional_g_test`), and how many cells were pooled."""
    n_ref, n_cur = ref.sum(axis=1, keepdims=True), cur.sum(axis=1, keepdims=True)
    totals = ref + cur
    smaller = np.minimum(n_ref, n_cur) / np.maximum(n_ref + n_cur, 1.0)
    sparse = (totals > 0) & (smaller * totals < _MIN_EXPECTED)
    pooled_ref = np.where(sparse, ref, 0.0).sum(axis=1, keepdims=True)
    pooled_cur = np.where(sparse, cur, 0.0).sum(axis=1, keepdims=True)
    # The pooled cell stays only where it is itself well filled.
    kept = smaller * (pooled_ref + pooled_cur) >= _MIN_EXPECTED
    ref = np.hstack([np.where(sparse, 0.0, ref), np.where(kept, pooled_ref, 0.0)])
    cur = np.hstack([np.where(sparse, 0.0, cur), np.where(kept, pooled_cur, 0.0)])
    return ref, cur, int(sparse.sum())


def coarsen(
    table: ArrayLike, row_groups: Sequence[int], column_groups: Sequence[int]
) -> FloatArray:
    """The table with rows (and columns) that share a group number added up, groups in order."""
    counts = np.asarray(table, dtype=np.float64)
    rows, columns = np.asarray(row_groups), np.asarray(column_groups)
    if counts.shape != (rows.size, columns.size):
        raise ValueError(f"groups of {rows.size} x {columns.size} for a table of {counts.shape}")
    out = np.zeros((int(rows.max()) + 1, int(columns.max()) + 1))
    np.add.at(out, (rows[:, np.newaxis], columns[np.newaxis, :]), counts)
    return out


def _ratio(statistic: float, scaled: float) -> float:
    """The overall Williams divisor G / (sum G_i / q_i), 1 when G is 0."""
    return statistic / scaled if scaled > 0 else 1.0


def _stratified_g(
    current: FloatArray,
    totals: FloatArray,
    n_ref: FloatArray,
    n_cur: FloatArray,
    williams: FloatArray | None,
) -> FloatArray:
    """Sum over strata of G_i (/ q_i) for each (stratum x cell) current table of `current`."""
    n = n_ref + n_cur
    per_stratum = np.zeros(current.shape[:2])
    for observed, size in ((totals - current, n_ref), (current, n_cur)):
        expected = (size / n)[:, np.newaxis] * totals
        filled = observed > 0
        ratio = np.where(filled, observed, 1.0) / np.where(filled, expected, 1.0)
        per_stratum += np.sum(np.where(filled, observed * np.log(ratio), 0.0), axis=2)
    per_stratum *= 2
    if williams is not None:
        per_stratum /= williams
    return per_stratum.sum(axis=1)  # type: ignore[no-any-return]


def _stratum_williams(
    n_ref: FloatArray, n_cur: FloatArray, totals: FloatArray, cells: FloatArray
) -> FloatArray:
    """Williams' (1976) q of each stratum's 2 x l_i table (1 for a stratum with one cell)."""
    n = n_ref + n_cur
    inverse = np.where(totals > 0, 1 / np.where(totals > 0, totals, 1.0), 0.0).sum(axis=1)
    spread = (n * (1 / n_ref + 1 / n_cur) - 1) * (n * inverse - 1)
    dof = np.maximum(cells - 1, 1)
    q: FloatArray = np.where(cells > 1, 1 + spread / (6 * n * dof), 1.0)
    return q


def _tables(reference: ArrayLike, current: ArrayLike) -> tuple[FloatArray, FloatArray]:
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.ndim != 2:
        raise ValueError(f"expected a 2-D table, got shape {ref.shape}")
    if ref.shape != cur.shape:
        raise ValueError(f"tables differ in shape: {ref.shape} vs {cur.shape}")
    for counts in (ref, cur):
        if not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise ValueError("table counts must be finite and non-negative")
    return ref, cur


def _pair(
    reference: ArrayLike, current: ArrayLike, smoothing: float
) -> tuple[FloatArray, FloatArray]:
    if not (math.isfinite(smoothing) and smoothing >= 0):
        raise ValueError(f"smoothing must be finite and >= 0, got {smoothing}")
    ref, cur = _tables(reference, current)
    occupied = (ref > 0) | (cur > 0)
    out = []
    for counts in (ref, cur):
        smoothed = np.where(occupied, counts + smoothing, 0.0)
        total = float(smoothed.sum())
        if total <= 0:
            raise ValueError("a table has no mass: every cell is empty")
        out.append(smoothed / total)
    return out[0], out[1]


def _conditionals(joint: FloatArray, given: Given) -> FloatArray:
    """p(y|x) (`given=0`) or p(x|y) (`given=1`) in each cell; 0 in an empty line."""
    line = joint.sum(axis=1 - given, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cond: FloatArray = np.where(line > 0, joint / np.where(line > 0, line, 1.0), 0.0)
    return cond


def _conditional_nats(p: FloatArray, q: FloatArray, given: Given) -> float:
    support = p > 0
    p_cond, q_cond = _conditionals(p, given), _conditionals(q, given)
    if np.any(q_cond[support] == 0):
        return math.inf
    terms = p[support] * np.log(p_cond[support] / q_cond[support])
    # Like every KL, >= 0; rounding may leave -1e-17.
    return max(float(np.sum(terms)), 0.0)
