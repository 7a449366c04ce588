"""Known answers and invariants of the information measures."""

import math

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

from kldrift import metrics

PAIRS = [
    ([5, 3, 2], [2, 3, 5]),
    ([1, 1, 1, 1], [97, 1, 1, 1]),
    ([10, 0, 5], [3, 4, 8]),
    ([0.5, 2.5, 7.0], [1.0, 1.0, 1.0]),
]


def test_kl_known_answer():
    # D(P||Q) for P = (1/2, 1/2), Q = (1/4, 3/4): 1/2 ln 2 + 1/2 ln(2/3)
    expected = 0.5 * math.log(2) + 0.5 * math.log(2 / 3)
    assert metrics.kl_divergence([1, 1], [1, 3]) == pytest.approx(expected, abs=1e-15)


def test_entropy_known_answer_in_bits():
    assert metrics.entropy([1, 1, 1, 1], base=2) == pytest.approx(2.0, abs=1e-15)
    assert metrics.entropy([7, 0, 0]) == 0.0


@pytest.mark.parametrize(("ref", "cur"), PAIRS)
@pytest.mark.parametrize("smoothing", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("base", [math.e, 2.0, 10.0])
def test_matches_scipy(ref, cur, smoothing, base):
    ref_s, cur_s = np.add(ref, smoothing), np.add(cur, smoothing)
    kl = metrics.kl_divergence(ref, cur, smoothing, base)
    assert kl == pytest.approx(scipy_entropy(ref_s, cur_s, base=base), abs=1e-9)
    assert metrics.entropy(ref, smoothing, base) == pytest.approx(
        scipy_entropy(ref_s, base=base), abs=1e-9
    )


@pytest.mark.parametrize(("ref", "cur"), PAIRS)
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_cross_entropy_identity(ref, cur, smoothing):
    d = metrics.divergences(ref, cur, smoothing)
    assert d.cross_entropy == pytest.approx(d.entropy + d.kl, abs=1e-12)
    assert d.kl >= 0


@pytest.mark.parametrize("counts", [[5, 3, 2], [1, 0, 0, 9], [0.5, 0.5]])
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_kl_of_a_histogram_with_itself_is_exactly_zero(counts, smoothing):
    assert metrics.kl_divergence(counts, counts, smoothing) == 0.0
    # Scale does not matter: only the shape of the distribution does.
    assert metrics.kl_divergence(counts, np.multiply(counts, 10), 0.0) == pytest.approx(
        0.0, abs=1e-15
    )


def test_base_two_is_nats_over_ln2():
    nats = metrics.kl_divergence([5, 3, 2], [2, 3, 5])
    bits = metrics.kl_divergence([5, 3, 2], [2, 3, 5], base=2)
    assert bits == pytest.approx(nats / math.log(2), rel=1e-14)


def test_empty_current_bin_is_infinite_without_smoothing_and_finite_with_it():
    assert metrics.kl_divergence([3, 1], [4, 0]) == math.inf
    assert metrics.cross_entropy([3, 1], [4, 0]) == math.inf
    smoothed = metrics.kl_divergence([3, 1], [4, 0], smoothing=0.5)
    assert math.isfinite(smoothed)
    assert smoothed == pytest.approx(scipy_entropy([3.5, 1.5], [4.5, 0.5]), abs=1e-12)


def test_empty_reference_bin_contributes_nothing_unsmoothed():
    # 0 * log(0 / q) = 0: mass that appears only in current does not make KL infinite.
    assert metrics.kl_divergence([4, 0], [3, 1]) == pytest.approx(math.log(4 / 3), abs=1e-15)


def test_drop_empty_bins_keeps_bins_with_mass_on_either_side():
    ref, cur = metrics.drop_empty_bins([3, 0, 0, 2], [0, 0, 1, 2])
    assert ref.tolist() == [3, 0, 2]
    assert cur.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("ref", "cur", "message"),
    [
        ([1, 2], [1, 2, 3], "differ in length"),
        ([1, -1], [1, 1], "non-negative"),
        ([1, math.nan], [1, 1], "finite"),
        ([0, 0], [1, 1], "no mass"),
        ([[1, 2]], [[1, 2]], "1-D"),
    ],
)
def test_bad_histograms_raise_value_error(ref, cur, message):
    with pytest.raises(ValueError, match=message):
        metrics.kl_divergence(ref, cur)
