"""Significance of drift: G-test, multiple-testing adjustment and the KL expected from noise."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kldrift.metrics import FloatArray, drop_empty_bins, kl_divergence

#: Monte-Carlo tables drawn by the small-sample fallback of `g_test`.
DEFAULT_RESAMPLES = 2000
#: Power at which `minimum_detectable_effect` is quoted: the calibration's detection target.
MDE_POWER = 0.95

# Cochran's rule for trusting the chi-square approximation: no expected count below 1 and at
# most 20% of them below 5.
_COCHRAN_MIN = 1.0
_COCHRAN_SMALL = 5.0
_COCHRAN_SHARE = 0.2
# numpy's multivariate_hypergeometric draws from at most this many items in all.
_MAX_SIMULATED = 10**9

_EPS = 1e-15  # relative precision at which the incomplete-gamma expansions stop
_TINY = 1e-300  # keeps the continued fraction's denominators off zero (modified Lentz)
_MAX_TERMS = 100_000  # ~sqrt(a) terms are needed; this covers any dof a histogram can have
_MIN_EXP = math.log(np.finfo(np.float64).smallest_subnormal)  # exp() of less underflows to 0
_ROOT_STEPS = 200  # a bound on `_root`'s steps (it needs 16 to 24)


@dataclass(frozen=True)
class GTest:
    """Result of the G-test of homogeneity of two histograms.

    `statistic` is the uncorrected G; the asymptotic `p_value` is that of G / `williams`.
    """

    statistic: float
    dof: int
    p_value: float
    method: str
    williams: float


def chi2_sf(statistic: float, dof: float) -> float:
    """Upper tail P(X >= statistic) of a chi-square variable with `dof` degrees of freedom."""
    if math.isnan(statistic) or not dof > 0:
        raise ValueError(f"need a statistic and dof > 0, got {statistic} and {dof}")
    return _gamma_q(dof / 2, statistic / 2)


def g_test(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    williams: bool = True,
    method: Literal["auto", "asymptotic", "permutation"] = "auto",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> GTest:
    """Likelihood-ratio (G) test that two histograms of counts come from one distribution.

    G = 2 [N D(P||M) + M' D(Q||M)] on the 2 x k table of the occupied bins, with M the pooled
    distribution and N, M' the two sample sizes; dof = k - 1. With `method="auto"` the p-value is
    asymptotic (chi-square of G / Williams' q) when Cochran's rule holds: no expected count below
    1 and at most 20% below 5, or when the table holds 10^9 counts or more (too many to
    simulate). Otherwise it is a seeded Monte-Carlo test conditional on both margins,
    p = (1 + #{G_sim >= G}) / (1 + n_resamples), which cannot go below 1 / (1 + n_resamples).
    """
    if method not in ("auto", "asymptotic", "permutation"):
        raise ValueError(f"unknown method {method!r}: use 'auto', 'asymptotic' or 'permutation'")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    ref, cur = drop_empty_bins(reference, current)
    _check_whole(ref)
    _check_whole(cur)
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    if n_ref == 0 or n_cur == 0:
        side = "reference" if n_ref == 0 else "current"
        return GTest(0.0, 0, 1.0, f"degenerate: the {side} histogram is empty", 1.0)
    k = ref.size
    if k < 2:
        return GTest(0.0, 0, 1.0, "degenerate: fewer than two occupied bins", 1.0)

    columns = ref + cur
    statistic = float(_g_statistics(cur[np.newaxis, :], columns, n_ref, n_cur)[0])
    q = _williams(np.array([n_ref, n_cur]), columns) if williams else 1.0
    expected = np.outer([n_ref, n_cur], columns) / (n_ref + n_cur)
    cochran = expected.min() >= _COCHRAN_MIN and (
        np.mean(expected < _COCHRAN_SMALL) <= _COCHRAN_SHARE
    )
    simulable = n_ref + n_cur < _MAX_SIMULATED
    if method == "asymptotic" or (method == "auto" and (cochran or not simulable)):
        label = "asymptotic chi-square" + (", Williams-corrected" if williams else "")
        if not (cochran or method == "asymptotic"):
            label += " (small expected counts, but too many counts to simulate)"
        return GTest(statistic, k - 1, chi2_sf(statistic / q, k - 1), label, q)
    if not simulable:
        raise ValueError(f"a permutation test needs fewer than {_MAX_SIMULATED:.0e} counts in all")

    # Williams' q depends on the margins only, which every simulated table shares, so ranking by
    # G or by G / q gives the same p-value.
    rng = np.random.default_rng(seed)
    tables = rng.multivariate_hypergeometric(columns.astype(np.int64), int(n_cur), n_resamples)
    simulated = _g_statistics(tables.astype(np.float64), columns, n_ref, n_cur)
    # A table that ties with the observed one in exact arithmetic must count as ">=" even if the
    # sums round differently.
    at_least = int(np.count_nonzero(simulated >= statistic * (1 - 1e-12) - 1e-12))
    p_value = (1 + at_least) / (1 + n_resamples)
    label = f"permutation: {n_resamples} Monte-Carlo tables with fixed margins, seed {seed}"
    return GTest(statistic, k - 1, p_value, label, q)


def adjust_p_values(
    p_values: Sequence[float], method: Literal["bh", "bonferroni"] = "bh"
) -> list[float]:
    """P-values adjusted for testing many columns at once, in the order given.

    "bh" is Benjamini-Hochberg (controls the false discovery rate); "bonferroni" controls the
    family-wise error rate.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"expected a flat sequence of p-values, got shape {p.shape}")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = p.size
    if method == "bonferroni":
        return [float(x) for x in np.minimum(p * m, 1.0)]
    if method != "bh":
        raise ValueError(f"unknown method {method!r}: use 'bh' or 'bonferroni'")
    order = np.argsort(p)
    scaled = p[order] * (m / np.arange(1, m + 1))  # m / m = 1 exactly: never below the raw p
    # Step-up: each adjusted value is the smallest scaled one at its rank or above, which also
    # keeps the adjusted values in the same order as the raw ones.
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return [float(x) for x in adjusted]


def noise_floor(k: int, n_ref: float, n_cur: float, base: float = math.e) -> float:
    """Expected plug-in KL between two samples of one distribution on `k` bins, in log `base`.

    To first order this is (k - 1) / 2 * (1 / n_ref + 1 / n_cur) nats: the KL that sampling
    alone produces, whatever the distribution.
    """
    if k < 1 or not (n_ref > 0 and n_cur > 0):
        raise ValueError(f"need k >= 1 and positive sample sizes, got {k}, {n_ref}, {n_cur}")
    return (k - 1) / 2 * (1 / n_ref + 1 / n_cur) / math.log(base)


def miller_madow_kl(
    reference: ArrayLike,
    current: ArrayLike,
    smoothing: float = 0.0,
    base: float = math.e,
    *,
    clip: bool = True,
) -> float:
    """Plug-in D(P||Q) minus its `noise_floor`, in log `base`; clipped at 0 unless `clip=False`.

    Bins empty on both sides are dropped, k is the number left, and the plug-in KL is taken on
    those bins with `smoothing`. The floor is derived for the unsmoothed estimator; smoothing
    shrinks the plug-in value, so with smoothing the correction removes somewhat more than the
    noise.
    """
    ref, cur = drop_empty_bins(reference, current)
    plug_in = kl_divergence(ref, cur, smoothing, base)
    corrected = plug_in - noise_floor(ref.size, float(ref.sum()), float(cur.sum()), base)
    return max(corrected, 0.0) if clip else corrected


def chi2_isf(tail: float, dof: float) -> float:
    """The statistic whose chi-square upper tail with `dof` degrees of freedom is `tail`."""
    if not (0 < tail < 1 and dof > 0):
        raise ValueError(f"need 0 < tail < 1 and dof > 0, got {tail} and {dof}")
    return _root(lambda x: tail - chi2_sf(x, dof), dof)


def ncx2_sf(statistic: float, dof: float, noncentrality: float) -> float:
    """Upper tail of a noncentral chi-square variable, as a Poisson mixture of central ones.

    P(X >= x) = sum_j Pois(j; lambda / 2) Q((dof + 2j) / 2, x / 2) over the j whose Poisson
    weight is at least 1e-17 or within one sd of the mean. Q is computed once, at the least such
    j, and carried upward by Q(a + 1, y) = Q(a, y) + y^a e^-y / Gamma(a + 1): each step adds a
    positive term, so the sum keeps the precision of the one direct evaluation.
    """
    if noncentrality < 0:
        raise ValueError(f"noncentrality must be >= 0, got {noncentrality}")
    half = noncentrality / 2
    if half == 0:
        return chi2_sf(statistic, dof)
    lo, hi = _poisson_span(half)
    a, y = dof / 2 + lo, statistic / 2
    tail = chi2_sf(statistic, dof + 2 * lo)
    log_y = math.log(y) if y > 0 else -math.inf
    total = 0.0
    for j in range(lo, hi + 1):
        total += math.exp(-half + j * math.log(half) - math.lgamma(j + 1)) * tail
        if y > 0:  # Q(a, 0) is 1 for every a: nothing to add
            tail += math.exp(a * log_y - y - math.lgamma(a + 1))
        a += 1
    return min(total, 1.0)


def _poisson_span(mean: float) -> tuple[int, int]:
    """The j, outward from the mode of Poisson(`mean`), whose weight is at least 1e-17 or that lie
    within one sd of the mean."""

    def negligible(j: int) -> bool:
        weight = math.exp(-mean + j * math.log(mean) - math.lgamma(j + 1))
        return weight < 1e-17 and abs(j - mean) > math.sqrt(mean)

    mode = int(mean)
    lo = mode
    while lo > 0 and not negligible(lo - 1):
        lo -= 1
    hi = mode
    while not negligible(hi + 1):
        hi += 1
    return lo, hi


def minimum_detectable_effect(
    k: int,
    n_ref: float,
    n_cur: float,
    alpha: float,
    power: float = MDE_POWER,
    base: float = math.e,
) -> float:
    """Smallest KL, in log `base`, that a level-`alpha` G-test on `k` bins detects with `power`.

    For nearby P and Q, G is noncentral chi-square with k - 1 degrees of freedom and
    noncentrality lambda = 2 D(P||Q) n_ref n_cur / (n_ref + n_cur) (Pitman local alternatives;
    D ~ chi^2(P, Q) / 2), so the effect is lambda* (n_ref + n_cur) / (2 n_ref n_cur), where
    lambda* makes the test's power `power`. `inf` with fewer than two bins.
    """
    if not (n_ref > 0 and n_cur > 0):
        raise ValueError(f"need positive sample sizes, got {n_ref} and {n_cur}")
    if k < 2:
        return math.inf
    effective = n_ref * n_cur / (n_ref + n_cur)
    return _noncentrality(k - 1, alpha, power) / (2 * effective) / math.log(base)


@lru_cache(maxsize=1024)
def _noncentrality(dof: int, alpha: float, power: float) -> float:
    """The noncentrality at which a level-`alpha` chi-square test has `power`."""
    if not (0 < alpha < 1 and alpha < power < 1):
        raise ValueError(f"need 0 < alpha < power < 1, got {alpha} and {power}")
    critical = chi2_isf(alpha, dof)
    return _root(lambda lam: ncx2_sf(critical, dof, lam) - power, dof)


def _root(f: Callable[[float], float], scale: float) -> float:
    """The x >= 0 at which the increasing `f` crosses zero, to 1e-14 of x.

    The root is bracketed by doubling from `scale`, then found by the Illinois method (regula
    falsi that halves the weight of an end kept twice): 16 to 24 evaluations of a power, the
    doubling included, where bisection to the same precision took about seventy; never outside
    the bracket.
    """
    lo, hi = 0.0, max(scale, 1.0)
    f_lo, f_hi = f(lo), f(hi)
    while f_hi < 0:
        lo, f_lo = hi, f_hi
        hi *= 2
        f_hi = f(hi)
    if f_lo >= 0:
        return lo
    side = 0
    for _ in range(_ROOT_STEPS):
        if hi - lo <= 1e-14 * hi:
            break
        mid = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        if not lo < mid < hi:  # rounding at the ends: fall back to the middle
            mid = (lo + hi) / 2
        f_mid = f(mid)
        if f_mid == 0:
            return mid
        if f_mid < 0:
            lo, f_lo = mid, f_mid
            if side == -1:
                f_hi /= 2
            side = -1
        else:
            hi, f_hi = mid, f_mid
            if side == 1:
                f_lo /= 2
            side = 1
    return hi


def _check_whole(counts: FloatArray) -> None:
    if not np.all(counts == np.floor(counts)):
        raise ValueError("the G-test needs whole-number counts")


def _g_statistics(
    current_rows: NDArray[np.float64], columns: FloatArray, n_ref: float, n_cur: float
) -> NDArray[np.float64]:
    """G of each 2 x k table whose current row is one row of `current_rows` (margins fixed)."""
    n = n_ref + n_cur
    total = np.zeros(current_rows.shape[0])
    for observed, size in ((columns - current_rows, n_ref), (current_rows, n_cur)):
        expected = size * columns / n
        # O ln(O / E) is 0 for an empty cell; np.where alone would still evaluate log(0).
        occupied = observed > 0
        ratio = np.where(occupied, observed, 1.0) / expected
        total += np.sum(np.where(occupied, observed * np.log(ratio), 0.0), axis=1)
    return 2 * total


def _williams(rows: FloatArray, columns: FloatArray) -> float:
    """Williams' (1976) divisor q for the G of an r x c table with these margins."""
    n = float(rows.sum())
    r, c = rows.size, columns.size
    spread = (n * float(np.sum(1 / rows)) - 1) * (n * float(np.sum(1 / columns)) - 1)
    return 1 + spread / (6 * n * (r - 1) * (c - 1))


def _gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x), in the style of Numerical Recipes' gammq."""
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    log_prefactor = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        # The series for P converges here, and Q is not small (> 0.08 for dof >= 1), so 1 - P
        # loses little.
        term = total = 1 / a
        ap = a
        for _ in range(_MAX_TERMS):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                return max(1.0 - total * math.exp(log_prefactor), 0.0)
        raise ArithmeticError(f"incomplete gamma series did not converge for a={a}, x={x}")
    if log_prefactor < _MIN_EXP:
        return 0.0  # the tail underflows double precision: report it as exactly 0
    # Continued fraction for Q itself (modified Lentz), accurate far into the tail.
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = d if abs(d) >= _TINY else _TINY
        c = b + an / c
        c = c if abs(c) >= _TINY else _TINY
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            return math.exp(log_prefactor) * h
    raise ArithmeticError(f"incomplete gamma fraction did not converge for a={a}, x={x}")
