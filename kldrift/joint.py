"""Drift of two columns together: KL of k x l joint tables, split by the chain rule; numpy only.

Every function takes a reference table n_ij and a current table m_ij of counts on the same k x l
cells (rows: bins of the first column X, columns: bins of the second column Y). Cells empty on
both sides are dropped; `smoothing` is added to every other cell of both tables, which are then
normalised to joint distributions P and Q. Marginals and conditionals are taken from those joint
distributions, so the chain rule holds exactly:

    D(P_XY || Q_XY) = D(P_X || Q_X) + D(P_Y|X || Q_Y|X)  =  D(P_Y || Q_Y) + D(P_X|Y || Q_X|Y)

with the conditional KL D(P_Y|X || Q_Y|X) = sum_i p_i. D(P_Y|X=i || Q_Y|X=i). The relationship
score is what is left of the joint KL after both marginal KLs; its test is the G-test of no
three-way interaction on the 2 x k x l table. Values are in units of log `base` (nats by
default). See docs/statistics.md, "Pairs of columns".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from kldrift.metrics import FloatArray, kl_divergence
from kldrift.significance import GTest, chi2_sf

#: Conditioning on the rows (X, axis 0) or on the columns (Y, axis 1) of a table.
Given = Literal[0, 1]

#: Iterative proportional fitting: at most this many rounds, stopped once no fitted count moves
#: by more than the tolerance (counts are whole rows, so 1e-6 is far below what G can resolve).
_IPF_ROUNDS = 500
_IPF_TOLERANCE = 1e-6


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
        """The joint drift left after both marginal drifts: joint - marginal_x - marginal_y.

        It is the conditional KL beyond the other column's own drift, the same both ways
        (conditional_y_given_x - marginal_y = conditional_x_given_y - marginal_x), and equals
        E_P[PMI_P(x, y) - PMI_Q(x, y)], the change of the pointwise mutual information
        log p(x, y) / (p(x) p(y)) weighted by the reference. Two columns that drift apart from
        each other, independent on both sides, score 0, and so does a covariate shift (X moves,
        Y given X does not; then it is negative). It can be negative in general.
        """
        return self.joint - self.marginal_x - self.marginal_y


def joint_divergences(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> JointDivergences:
    """Joint, both marginal and both conditional KLs of one pair of tables, in log `base`."""
    return _divergences(*_pair(reference, current, smoothing), base)


def _divergences(p: FloatArray, q: FloatArray, base: float) -> JointDivergences:
    joint = kl_divergence(p.ravel(), q.ravel())
    marginal_x = kl_divergence(p.sum(axis=1), q.sum(axis=1))
    marginal_y = kl_divergence(p.sum(axis=0), q.sum(axis=0))
    parts = [joint, marginal_x, marginal_y, _conditional_nats(p, q, 0), _conditional_nats(p, q, 1)]
    return JointDivergences(*(x / math.log(base) for x in parts))


def interaction_contributions(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> FloatArray:
    """Each cell's term p_ij (log p_ij / (p_i p_j) - log q_ij / (q_i q_j)); they sum to the
    relationship score joint - marginal_x - marginal_y. Positive where the current pair is
    less tied together in the cell than the reference, negative where it is more: unlike a KL,
    the score itself can be negative, so no split into parts >= 0 sums to it, and the cells are
    ranked by the size of their part."""
    return _contributions(*_pair(reference, current, smoothing), base)


def _contributions(p: FloatArray, q: FloatArray, base: float) -> FloatArray:
    terms = np.zeros_like(p)
    support = p > 0
    with np.errstate(divide="ignore", invalid="ignore"):  # empty lines: 0 / 0, never used
        pmi_p = np.log(p / (p.sum(axis=1, keepdims=True) * p.sum(axis=0, keepdims=True)))
        pmi_q = np.log(q / (q.sum(axis=1, keepdims=True) * q.sum(axis=0, keepdims=True)))
    terms[support] = p[support] * (pmi_p[support] - pmi_q[support]) / math.log(base)
    return terms


def interaction_g_test(reference: ArrayLike, current: ArrayLike) -> GTest:
    """G-test that the pair's association is the same in both datasets (no three-way interaction).

    On the 2 x k x l table (dataset x X x Y), the model [DX][DY][XY] lets both marginals change
    between the datasets but keeps every odds ratio of X and Y; it is fitted by iterative
    proportional fitting and G = 2 sum n log(n / m). Rows and columns occupied on one side only
    carry no information about the association and are dropped; dof = (k - 1)(l - 1) less the
    cells empty in both datasets. The p-value is the chi-square's (asymptotic: the coarsening in
    kldrift.pairs keeps about 5 expected rows per cell).
    """
    return _g_tests([_tables(reference, current)])[0]


def _g_tests(tables: Sequence[tuple[FloatArray, FloatArray]]) -> list[GTest]:
    """`interaction_g_test` of each pair of checked tables. The 2 x k x l tables of the same
    shape (once the lines occupied on one side are dropped) are fitted together (`_fit`), so
    each step of the fit is one numpy call for all of them, not one for each (300 pairs of the
    1M-row bench pair: 84 to 36 ms)."""
    tests: dict[int, GTest] = {}
    shapes: dict[tuple[int, ...], list[tuple[int, FloatArray, int]]] = {}
    for i, (ref, cur) in enumerate(tables):
        if not (np.all(ref == np.floor(ref)) and np.all(cur == np.floor(cur))):
            raise ValueError("the G-test needs whole-number counts")
        rows = (ref.sum(axis=1) > 0) & (cur.sum(axis=1) > 0)
        columns = (ref.sum(axis=0) > 0) & (cur.sum(axis=0) > 0)
        observed = np.stack([ref, cur])[:, rows][:, :, columns]
        k, m = observed.shape[1:]
        dof = (k - 1) * (m - 1) - int(np.count_nonzero(observed.sum(axis=0) == 0))
        if k < 2 or m < 2 or dof < 1:
            tests[i] = GTest(0.0, 0, 1.0, "degenerate: no association both datasets can show", 1.0)
        else:
            shapes.setdefault(observed.shape, []).append((i, observed, dof))
    label = "asymptotic chi-square, no three-way interaction (IPF)"
    for group in shapes.values():
        fits = _fit(np.stack([observed for _, observed, _ in group]))
        for (i, observed, dof), fitted in zip(group, fits, strict=True):
            filled = observed > 0
            ratio = observed[filled] / fitted[filled]
            statistic = max(2 * float(np.sum(observed[filled] * np.log(ratio))), 0.0)
            tests[i] = GTest(statistic, dof, chi2_sf(statistic, dof), label, 1.0)
    return [tests[i] for i in range(len(tables))]


def _fit(observed: FloatArray) -> FloatArray:
    """The counts of the model [DX][DY][XY] for a stack of 2 x k x l tables, by iterative
    proportional fitting: the [DX], [DY] and [XY] margins are fitted in turn, and each table
    stops once no fitted count of it moved by more than the tolerance in a round, as if it
    were fitted alone."""
    fitted = np.ones_like(observed)
    done = np.empty_like(observed)
    left = np.arange(len(observed))
    targets = [(axis, observed.sum(axis=axis, keepdims=True)) for axis in (3, 2, 1)]
    for _ in range(_IPF_ROUNDS):
        before = fitted.copy()
        for axis, target in targets:
            now = fitted.sum(axis=axis, keepdims=True)
            fitted *= np.divide(target, now, out=np.zeros_like(now), where=now > 0)
        still = np.abs(fitted - before).max(axis=(1, 2, 3)) >= _IPF_TOLERANCE
        done[left[~still]] = fitted[~still]
        if not still.any():
            return done
        left, fitted = left[still], fitted[still]
        targets = [(axis, target[still]) for axis, target in targets]
    done[left] = fitted
    return done


def noise_floors(
    reference: ArrayLike, current: ArrayLike, base: float = math.e
) -> JointDivergences:
    """The plug-in KL that sampling alone produces in each part, in log `base`.

    With K occupied cells, k occupied rows and l occupied columns (cells and lines empty on both
    sides dropped) and h = (1/N + 1/M) / 2, the floors are (K - 1) h for the joint table,
    (k - 1) h and (l - 1) h for the marginals, and (K - k) h and (K - l) h for the conditionals:
    the chain rule splits the joint table's K - 1 degrees of freedom the same way.
    """
    return _floors(*_tables(reference, current), base)


def _floors(ref: FloatArray, cur: FloatArray, base: float) -> JointDivergences:
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    if not (n_ref > 0 and n_cur > 0):
        raise ValueError("noise floors need counts on both sides")
    occupied = (ref > 0) | (cur > 0)
    cells = int(occupied.sum())
    rows, columns = int(occupied.any(axis=1).sum()), int(occupied.any(axis=0).sum())
    half = (1 / n_ref + 1 / n_cur) / 2 / math.log(base)
    dofs = [cells - 1, rows - 1, columns - 1, cells - rows, cells - columns]
    return JointDivergences(*(d * half for d in dofs))


@dataclass(frozen=True)
class PairScores:
    """Everything kldrift.pairs scores one pair of tables by (see the functions of each field)."""

    kl: JointDivergences  # joint_divergences
    noise_floor: JointDivergences  # noise_floors
    test: GTest  # interaction_g_test
    contributions: FloatArray  # interaction_contributions


def scores(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> PairScores:
    """The divergences, noise floors, G-test and cell contributions of one pair of tables, which
    are checked and normalised once for all four (300 pairs: ~10% of their CPU)."""
    return scores_of([(reference, current)], smoothing, base)[0]


def scores_of(
    tables: Sequence[tuple[ArrayLike, ArrayLike]], smoothing: float = 0.0, base: float = math.e
) -> list[PairScores]:
    """`scores` of each (reference, current) pair of tables, their G-tests fitted together."""
    checked = [_tables(reference, current) for reference, current in tables]
    tests = _g_tests(checked)
    scored = []
    for (ref, cur), test in zip(checked, tests, strict=True):
        p, q = _normalised(ref, cur, smoothing)
        scored.append(
            PairScores(
                _divergences(p, q, base), _floors(ref, cur, base), test, _contributions(p, q, base)
            )
        )
    return scored


def corrected(plug_in: JointDivergences, floors: JointDivergences) -> JointDivergences:
    """Each plug-in value minus its noise floor, clipped at 0 (the bias-corrected KLs).

    This is `significance.miller_madow_kl` part by part; the clipped parts no longer add up
    exactly.
    """
    fields = ("joint", "marginal_x", "marginal_y", "conditional_y_given_x", "conditional_x_given_y")
    return JointDivergences(*(max(getattr(plug_in, f) - getattr(floors, f), 0.0) for f in fields))


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
    return _normalised(*_tables(reference, current), smoothing)


def _normalised(
    ref: FloatArray, cur: FloatArray, smoothing: float
) -> tuple[FloatArray, FloatArray]:
    """P and Q: both tables, smoothed on the cells occupied on either side, as shares."""
    if not (math.isfinite(smoothing) and smoothing >= 0):
        raise ValueError(f"smoothing must be finite and >= 0, got {smoothing}")
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
