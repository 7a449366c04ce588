"""Known answers and invariants of the information measures."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
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


@pytest.mark.parametrize(("counts", "smoothing"), [([7], 0.0), ([7], 0.5), ([7, 0], 0.0)])
def test_a_one_bin_histogram_has_entropy_plus_zero_not_minus_zero(counts, smoothing):
    # A constant column: -0.0 showed as "-0.0000" in the table and -0.0 in JSON.
    entropy = metrics.entropy(counts, smoothing)
    for value in (entropy, metrics.cross_entropy(counts, counts, smoothing)):
        assert value == 0.0 and math.copysign(1.0, value) == 1.0


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
        ([math.nan, -1], [1, 1], "finite"),
        ([1, math.inf], [1, 1], "finite"),
        ([1, 1], [-math.inf, 1], "finite"),
        ([0, 0], [1, 1], "no mass"),
        ([[1, 2]], [[1, 2]], "1-D"),
    ],
)
def test_bad_histograms_raise_value_error(ref, cur, message):
    with pytest.raises(ValueError, match=message):
        metrics.kl_divergence(ref, cur)


# Every score of two histograms: zero for equal shapes, never negative.
SCORES = [
    metrics.kl_divergence,
    metrics.js_divergence,
    metrics.js_distance,
    metrics.psi,
    metrics.hellinger,
]
SYMMETRIC = [metrics.js_divergence, metrics.js_distance, metrics.psi, metrics.hellinger]


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("counts", [[5, 3, 2], [1, 0, 0, 9], [0.5, 0.5], [7]])
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_every_score_is_zero_for_identical_histograms(score, counts, smoothing):
    assert score(counts, counts, smoothing) == 0.0
    # Only the shape counts, not the sample size (the pseudocount would change the shape).
    assert score(counts, np.multiply(counts, 10)) == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize(("ref", "cur"), PAIRS)
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_every_score_is_positive_for_different_histograms(score, ref, cur, smoothing):
    assert score(ref, cur, smoothing) > 1e-3


@pytest.mark.parametrize("score", SYMMETRIC)
@pytest.mark.parametrize(("ref", "cur"), PAIRS)
def test_symmetric_scores_do_not_care_which_side_is_reference(score, ref, cur):
    assert score(ref, cur, 0.5) == pytest.approx(score(cur, ref, 0.5), rel=1e-12)


def test_kl_is_not_symmetric():
    assert metrics.kl_divergence([1, 1], [1, 3]) != pytest.approx(
        metrics.kl_divergence([1, 3], [1, 1])
    )


@pytest.mark.parametrize("score", SCORES)
def test_every_score_rejects_misaligned_histograms(score):
    with pytest.raises(ValueError, match="differ in length"):
        score([1, 2], [1, 2, 3])


@pytest.mark.parametrize(
    ("score", "scale"),
    [
        (metrics.kl_divergence, 1 / math.log(2)),
        (metrics.js_divergence, 1 / math.log(2)),
        (metrics.psi, 1 / math.log(2)),
        (metrics.js_distance, math.sqrt(1 / math.log(2))),
        (metrics.hellinger, 1.0),
    ],
)
def test_base_two_rescales_each_score_by_its_own_rule(score, scale):
    nats = score([5, 3, 2], [2, 3, 5], 0.0)
    assert score([5, 3, 2], [2, 3, 5], 0.0, 2.0) == pytest.approx(nats * scale, rel=1e-14)


def test_js_known_answer():
    # P = (1, 0), Q = (1/2, 1/2), M = (3/4, 1/4): D(P||M) = ln(4/3), D(Q||M) = 1/2 ln(4/3).
    assert metrics.js_divergence([2, 0], [1, 1]) == pytest.approx(0.75 * math.log(4 / 3), rel=1e-14)


@pytest.mark.parametrize(("ref", "cur"), PAIRS)
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
@pytest.mark.parametrize("base", [math.e, 2.0, 10.0])
def test_js_matches_scipy(ref, cur, smoothing, base):
    ref_s, cur_s = np.add(ref, smoothing), np.add(cur, smoothing)
    expected = jensenshannon(ref_s, cur_s, base=base)
    assert metrics.js_distance(ref, cur, smoothing, base) == pytest.approx(expected, rel=1e-9)
    assert metrics.js_divergence(ref, cur, smoothing, base) == pytest.approx(expected**2, rel=1e-9)


def test_js_of_disjoint_supports_is_its_maximum_and_finite_without_smoothing():
    assert metrics.js_divergence([3, 0], [0, 4]) == pytest.approx(math.log(2), rel=1e-15)
    assert metrics.js_divergence([3, 0, 0], [0, 4, 1], base=2) == pytest.approx(1.0, rel=1e-15)
    assert metrics.js_distance([3, 0], [0, 4], base=2) == pytest.approx(1.0, rel=1e-15)


def test_psi_known_answer():
    # P = (1/2, 1/2), Q = (1/4, 3/4): (-1/4) ln(1/2) + (1/4) ln(3/2) = 1/4 ln 3.
    assert metrics.psi([1, 1], [1, 3]) == pytest.approx(0.25 * math.log(3), rel=1e-14)


@pytest.mark.parametrize(("ref", "cur"), PAIRS)
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
@pytest.mark.parametrize("base", [math.e, 2.0])
def test_psi_is_the_sum_of_both_kl_directions(ref, cur, smoothing, base):
    forward = metrics.kl_divergence(ref, cur, smoothing, base)
    backward = metrics.kl_divergence(cur, ref, smoothing, base)
    assert metrics.psi(ref, cur, smoothing, base) == pytest.approx(forward + backward, rel=1e-12)


def test_psi_is_infinite_when_a_bin_has_mass_on_one_side_only():
    assert metrics.psi([3, 1], [4, 0]) == math.inf
    assert metrics.psi([4, 0], [3, 1]) == math.inf
    # A bin empty on both sides contributes nothing.
    assert metrics.psi([1, 1, 0], [1, 3, 0]) == pytest.approx(0.25 * math.log(3), rel=1e-14)
    assert math.isfinite(metrics.psi([4, 0], [3, 1], smoothing=0.5))


def test_hellinger_known_answers():
    assert metrics.hellinger([3, 0], [0, 4]) == pytest.approx(1.0, rel=1e-15)
    assert metrics.hellinger([1, 0, 2], [0, 5, 0]) == pytest.approx(1.0, rel=1e-15)
    # P = (1/2, 1/2), Q = (1, 0): Bhattacharyya coefficient sqrt(1/2).
    expected = math.sqrt(1 - math.sqrt(0.5))
    assert metrics.hellinger([1, 1], [1, 0]) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(("ref", "cur"), PAIRS)
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_hellinger_matches_the_bhattacharyya_form(ref, cur, smoothing):
    p = np.add(ref, smoothing) / np.sum(np.add(ref, smoothing))
    q = np.add(cur, smoothing) / np.sum(np.add(cur, smoothing))
    expected = math.sqrt(1 - np.sum(np.sqrt(p * q)))
    assert metrics.hellinger(ref, cur, smoothing) == pytest.approx(expected, rel=1e-9)


# Property tests: small random histograms, including empty bins and single-bin layouts.
_counts = st.integers(min_value=0, max_value=30)
_pairs = (
    st.integers(min_value=1, max_value=8)
    .flatmap(
        lambda k: st.tuples(
            st.lists(_counts, min_size=k, max_size=k), st.lists(_counts, min_size=k, max_size=k)
        )
    )
    .filter(lambda pair: sum(pair[0]) > 0 and sum(pair[1]) > 0)
)
_smoothing = st.sampled_from([0.0, 0.5, 1.0])


@settings(max_examples=100, deadline=None)
@given(_pairs, _smoothing)
def test_js_is_bounded_symmetric_and_at_most_a_quarter_of_psi(pair, smoothing):
    ref, cur = pair
    js = metrics.js_divergence(ref, cur, smoothing)
    assert 0.0 <= js <= math.log(2)
    assert metrics.js_divergence(ref, cur, smoothing, base=2) <= 1.0
    assert js == metrics.js_divergence(cur, ref, smoothing)
    assert metrics.js_distance(ref, cur, smoothing) ** 2 == pytest.approx(js, rel=1e-12, abs=1e-300)
    # Lin (1991): JS <= J / 4, where J = D(P||Q) + D(Q||P) is the PSI.
    assert js <= metrics.psi(ref, cur, smoothing) / 4 + 1e-12


@settings(max_examples=100, deadline=None)
@given(_pairs, _smoothing)
def test_psi_equals_kl_both_ways(pair, smoothing):
    ref, cur = pair
    psi = metrics.psi(ref, cur, smoothing)
    both = metrics.kl_divergence(ref, cur, smoothing) + metrics.kl_divergence(cur, ref, smoothing)
    assert psi >= 0.0
    assert psi == pytest.approx(both, rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(_pairs, _smoothing)
def test_hellinger_is_bounded_and_brackets_total_variation(pair, smoothing):
    ref, cur = pair
    h = metrics.hellinger(ref, cur, smoothing)
    assert 0.0 <= h <= 1.0
    assert h == metrics.hellinger(cur, ref, smoothing)
    p = np.add(ref, smoothing) / np.sum(np.add(ref, smoothing))
    q = np.add(cur, smoothing) / np.sum(np.add(cur, smoothing))
    tv = 0.5 * float(np.sum(np.abs(p - q)))
    # H^2 <= TV <= sqrt(2) H for H^2 = 1 - sum sqrt(pq) (Le Cam's inequalities).
    assert h**2 <= tv + 1e-12
    assert tv <= math.sqrt(2) * h + 1e-12


@pytest.mark.parametrize(("reference", "current"), PAIRS)
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_kl_contributions_are_the_nonnegative_parts_that_sum_to_kl(reference, current, smoothing):
    from scipy.special import kl_div  # kl_div(x, y) = x log(x / y) - x + y, elementwise

    parts = metrics.kl_contributions(reference, current, smoothing)
    ref = np.asarray(reference, dtype=float) + smoothing
    cur = np.asarray(current, dtype=float) + smoothing
    expected = kl_div(ref / ref.sum(), cur / cur.sum())
    if np.all(np.isfinite(expected)):
        assert parts == pytest.approx(expected, abs=1e-15)
        assert parts.sum() == pytest.approx(metrics.kl_divergence(reference, current, smoothing))
    assert np.all(parts >= 0)


def test_kl_contributions_known_answer_and_base():
    # p = (1/2, 1/2), q = (1/4, 3/4): parts 1/2 ln 2 - 1/4 and 1/2 ln(2/3) + 1/4.
    parts = metrics.kl_contributions([1, 1], [1, 3])
    assert parts == pytest.approx([0.5 * math.log(2) - 0.25, 0.5 * math.log(2 / 3) + 0.25])
    assert metrics.kl_contributions([1, 1], [1, 3], base=2) == pytest.approx(parts / math.log(2))
    # A bin the reference lacks contributes its current share; one the current lacks, inf.
    assert metrics.kl_contributions([0, 1], [1, 1])[0] == pytest.approx(0.5)
    assert math.isinf(metrics.kl_contributions([1, 1], [0, 1])[0])
