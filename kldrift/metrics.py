"""Information measures on aligned histograms: numpy in, float out.

Every function takes bin counts (any non-negative numbers), adds `smoothing` to each bin of both
histograms, normalises them to probabilities P (reference) and Q (current), and returns a value in
units of log `base` (nats by default; the Hellinger distance has no unit and ignores `base`). With
`smoothing=0` the exact plug-in value is returned, which is `inf` when a bin has reference mass and
no current mass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Divergences:
    """Entropy H(P), cross-entropy H(P,Q) and KL divergence D(P||Q) of one pair of histograms."""

    entropy: float
    cross_entropy: float
    kl: float


def drop_empty_bins(reference: ArrayLike, current: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """The two histograms without the bins that are empty on both sides.

    Such bins carry no evidence either way; dropping them before smoothing keeps a layout's
    always-present bins (nulls, unseen categories) from nudging every score.
    """
    ref, cur = _counts(reference), _counts(current)
    _check_pair(ref, cur)
    keep = (ref > 0) | (cur > 0)
    return ref[keep], cur[keep]


def entropy(counts: ArrayLike, smoothing: float = 0.0, base: float = math.e) -> float:
    """Shannon entropy H(P) of one histogram, in units of log `base`."""
    p = _probabilities(_counts(counts), smoothing)
    nonzero = p > 0
    # 0.0 - s, not -s: a one-bin histogram has entropy 0.0, not -0.0 ("-0.0000" in a table).
    return float(0.0 - (p[nonzero] * np.log(p[nonzero])).sum() / math.log(base))


def kl_divergence(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> float:
    """Kullback-Leibler divergence D(P||Q) of current from reference, in units of log `base`."""
    p, q = _pair(reference, current, smoothing)
    return _kl_nats(p, q) / math.log(base)


def cross_entropy(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> float:
    """Cross-entropy H(P,Q) = H(P) + D(P||Q), in units of log `base`."""
    p, q = _pair(reference, current, smoothing)
    support = p > 0
    if (q[support] == 0).any():
        return math.inf
    return float(0.0 - (p[support] * np.log(q[support])).sum() / math.log(base))


def divergences(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> Divergences:
    """H(P), H(P,Q) and D(P||Q) of one pair of histograms, in units of log `base`."""
    return Divergences(
        entropy=entropy(_pair(reference, current, smoothing)[0], 0.0, base),
        cross_entropy=cross_entropy(reference, current, smoothing, base),
        kl=kl_divergence(reference, current, smoothing, base),
    )


def js_divergence(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> float:
    """Jensen-Shannon divergence of P and Q, in units of log `base`: at most ln 2 nats = 1 bit.

    Symmetric, and finite even without smoothing, because both P and Q are compared with their
    midpoint M = (P + Q) / 2, which has mass wherever either of them does.
    """
    p, q = _pair(reference, current, smoothing)
    m = (p + q) / 2
    nats = 0.5 * _kl_nats(p, m) + 0.5 * _kl_nats(q, m)
    # Rounding may step just outside the mathematical range [0, ln 2].
    return min(max(nats, 0.0), math.log(2)) / math.log(base)


def js_distance(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> float:
    """Jensen-Shannon distance, the square root of `js_divergence` in log `base`: a metric."""
    return math.sqrt(js_divergence(reference, current, smoothing, base))


def psi(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> float:
    """Population stability index sum (q - p) ln(q / p) = D(P||Q) + D(Q||P), in log `base` units.

    PSI is customarily quoted in nats (base e), against rules of thumb such as 0.1 and 0.25; the
    base is accepted only so that every score of one report shares a unit. With `smoothing=0` it
    is `inf` when a bin has mass on exactly one side.
    """
    p, q = _pair(reference, current, smoothing)
    if ((p > 0) != (q > 0)).any():
        return math.inf
    both = p > 0
    # Every term is >= 0, so summing them directly avoids the cancellation of KL + KL.
    terms = (q[both] - p[both]) * np.log(q[both] / p[both])
    return float(terms.sum()) / math.log(base)


def hellinger(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> float:
    """Hellinger distance sqrt(1 - sum sqrt(p q)) of P and Q, in [0, 1]; `base` is ignored.

    A distance, not an information quantity, so it has no unit: `base` is accepted only so that
    every score takes the same arguments.
    """
    del base
    p, q = _pair(reference, current, smoothing)
    # 1 - sum sqrt(pq) equals half the squared distance of the root vectors because sum p = sum q
    # = 1; the latter form gives exactly 0 for equal inputs, where the former leaves rounding
    # noise of 1e-16 that the square root would magnify to 1e-8.
    squared = 0.5 * float(((np.sqrt(p) - np.sqrt(q)) ** 2).sum())
    return math.sqrt(min(squared, 1.0))


def kl_contributions(
    reference: ArrayLike, current: ArrayLike, smoothing: float = 0.0, base: float = math.e
) -> FloatArray:
    """Each bin's part p_i log(p_i / q_i) + q_i - p_i of D(P||Q), in units of log `base`.

    Every part is >= 0 (x log(x / y) + y - x >= 0 for x, y >= 0) and, because sum q = sum p = 1,
    the parts sum to KL: a bin's share of the KL lies in [0, 1]. The signed terms p log(p / q)
    alone would not, as a bin that gains current mass has a negative one. A part is `inf` where a
    bin has reference mass and no current mass, and q_i where the reference has none.
    """
    p, q = _pair(reference, current, smoothing)
    parts = q - p
    support = p > 0
    with np.errstate(divide="ignore"):
        parts[support] += p[support] * np.log(p[support] / q[support])
    # Rounding can leave a part of an equal bin at -1e-17; mathematically it is >= 0.
    nonnegative: FloatArray = np.maximum(parts, 0.0) / math.log(base)
    return nonnegative


def _counts(values: ArrayLike) -> FloatArray:
    counts = np.asarray(values, dtype=np.float64)
    if counts.ndim != 1:
        raise ValueError(f"expected a 1-D histogram, got shape {counts.shape}")
    # NaN fails both comparisons: only finite, non-negative counts pass.
    if counts.size and not (counts.min() >= 0 and counts.max() < math.inf):
        raise ValueError("histogram counts must be finite and non-negative")
    return counts


def _check_pair(ref: FloatArray, cur: FloatArray) -> None:
    if ref.shape != cur.shape:
        raise ValueError(f"histograms differ in length: {ref.shape[0]} vs {cur.shape[0]} bins")


def _probabilities(counts: FloatArray, smoothing: float) -> FloatArray:
    if not (math.isfinite(smoothing) and smoothing >= 0):
        raise ValueError(f"smoothing must be finite and >= 0, got {smoothing}")
    smoothed = counts + smoothing
    total = float(smoothed.sum())
    if total <= 0:
        raise ValueError("a histogram has no mass: every bin is empty")
    probabilities: FloatArray = smoothed / total
    return probabilities


def _pair(
    reference: ArrayLike, current: ArrayLike, smoothing: float
) -> tuple[FloatArray, FloatArray]:
    ref, cur = _counts(reference), _counts(current)
    _check_pair(ref, cur)
    return _probabilities(ref, smoothing), _probabilities(cur, smoothing)


def _kl_nats(p: FloatArray, q: FloatArray) -> float:
    support = p > 0
    if (q[support] == 0).any():
        return math.inf
    ratio = np.log(p[support] / q[support])
    # Rounding can make a near-zero divergence slightly negative; D(P||Q) >= 0 always.
    return max(float((p[support] * ratio).sum()), 0.0)
