"""Known answers, scipy agreement and simulations for the significance tests."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2, chi2_contingency, false_discovery_control

from kldrift import metrics, significance

# --- chi-square survival function -------------------------------------------------------------


@pytest.mark.parametrize("dof", [1, 2, 3, 5, 10, 30, 100, 1000])
@pytest.mark.parametrize("p", [0.999, 0.9, 0.5, 0.05, 1e-5, 1e-20, 1e-100, 1e-300])
def test_chi2_sf_matches_scipy_from_the_bulk_to_the_far_tail(dof, p):
    x = chi2.isf(p, dof)
    assert significance.chi2_sf(x, dof) == pytest.approx(chi2.sf(x, dof), rel=1e-9)


@pytest.mark.parametrize("dof", [1, 2, 7, 1000])
@pytest.mark.parametrize("fraction", [1e-6, 0.5, 1.0, 1.5])
def test_chi2_sf_matches_scipy_around_the_mean(dof, fraction):
    # x = dof and x = dof + 2 sit either side of the series / continued-fraction switch.
    for x in [fraction * dof, dof + 2 * fraction]:
        assert significance.chi2_sf(x, dof) == pytest.approx(chi2.sf(x, dof), rel=1e-9)


@pytest.mark.parametrize("dof", [1, 10, 1000])
def test_chi2_sf_underflows_to_zero_and_handles_the_ends(dof):
    assert significance.chi2_sf(0.0, dof) == 1.0
    assert significance.chi2_sf(-3.0, dof) == 1.0
    assert significance.chi2_sf(1e5, dof) == 0.0
    assert significance.chi2_sf(1e300, dof) == 0.0
    assert significance.chi2_sf(math.inf, dof) == 0.0


def test_chi2_sf_rejects_nonsense():
    with pytest.raises(ValueError, match="dof > 0"):
        significance.chi2_sf(1.0, 0)
    with pytest.raises(ValueError, match="dof > 0"):
        significance.chi2_sf(math.nan, 3)


# --- G-test -------------------------------------------------------------------------------------

TABLES = [
    ([10, 20, 30], [20, 20, 10]),
    ([100, 5, 40, 7], [90, 12, 30, 20]),
    ([3, 0, 5], [1, 4, 6]),
    ([1000, 2000], [1100, 1900]),
    ([50, 60, 70, 80, 90, 100], [55, 58, 75, 70, 95, 110]),
]


@pytest.mark.parametrize(("ref", "cur"), TABLES)
def test_uncorrected_g_matches_scipy(ref, cur):
    stat, p, dof, _ = chi2_contingency(
        np.array([ref, cur]), correction=False, lambda_="log-likelihood"
    )
    result = significance.g_test(ref, cur, williams=False, method="asymptotic")
    assert result.statistic == pytest.approx(stat, rel=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    assert result.dof == dof
    assert result.williams == 1.0
    assert result.method == "asymptotic chi-square"


@pytest.mark.parametrize(("ref", "cur"), TABLES)
def test_g_is_twice_the_sample_weighted_kl_from_the_pooled_histogram(ref, cur):
    pooled = np.add(ref, cur)
    n, m = sum(ref), sum(cur)
    expected = 2 * (n * metrics.kl_divergence(ref, pooled) + m * metrics.kl_divergence(cur, pooled))
    assert significance.g_test(ref, cur).statistic == pytest.approx(expected, rel=1e-9)


def test_williams_correction_known_answer():
    # Rows 60, 50; columns 30, 40, 40; n = 110, r = 2, c = 3:
    # q = 1 + (110 (1/60 + 1/50) - 1) (110 (1/30 + 2/40) - 1) / (6 * 110 * 1 * 2)
    #   = 1 + (91/30) (49/6) / 1320 = 242059 / 237600.
    q = 1 + (110 * (Fraction(1, 60) + Fraction(1, 50)) - 1) * (
        110 * (Fraction(1, 30) + Fraction(2, 40)) - 1
    ) / (6 * 110 * 1 * 2)
    assert q == Fraction(242059, 237600)
    result = significance.g_test([10, 20, 30], [20, 20, 10])
    assert result.williams == pytest.approx(242059 / 237600, rel=1e-14)
    assert result.williams == pytest.approx(1.0187668350168350, rel=1e-14)
    # The statistic stays the textbook G; only the p-value uses G / q.
    assert result.statistic == pytest.approx(12.952596352875817, rel=1e-12)
    assert result.p_value == pytest.approx(chi2.sf(12.952596352875817 / q, 2), rel=1e-9)
    assert result.p_value > significance.g_test([10, 20, 30], [20, 20, 10], williams=False).p_value
    assert result.method == "asymptotic chi-square, Williams-corrected"


def test_bins_empty_on_both_sides_do_not_count_as_degrees_of_freedom():
    with_empty = significance.g_test([10, 0, 20, 30, 0], [20, 0, 20, 10, 0])
    assert with_empty == significance.g_test([10, 20, 30], [20, 20, 10])
    assert with_empty.dof == 2


@pytest.mark.parametrize(
    ("ref", "cur", "reason"),
    [
        ([0, 0, 0], [1, 2, 3], "the reference histogram is empty"),
        ([1, 2, 3], [0, 0, 0], "the current histogram is empty"),
        ([0, 7, 0], [0, 3, 0], "fewer than two occupied bins"),
    ],
)
def test_degenerate_tables_have_p_value_one(ref, cur, reason):
    result = significance.g_test(ref, cur)
    assert (result.statistic, result.dof, result.p_value) == (0.0, 0, 1.0)
    assert result.method == f"degenerate: {reason}"


def test_g_test_rejects_bad_input():
    with pytest.raises(ValueError, match="whole-number"):
        significance.g_test([1.5, 2], [1, 2])
    with pytest.raises(ValueError, match="unknown method"):
        significance.g_test([1, 2], [1, 2], method="exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_resamples"):
        significance.g_test([1, 2], [1, 2], n_resamples=0)
    with pytest.raises(ValueError, match="differ in length"):
        significance.g_test([1, 2], [1, 2, 3])


def test_auto_uses_the_asymptotic_test_only_when_cochrans_rule_holds():
    # Expected counts 4.5 in 4 of 6 cells (67% below 5): permutation.
    assert significance.g_test([3, 6, 20], [6, 3, 20]).method.startswith("permutation")
    # The same two small cells (4.4 and 4.6) among 8 are 25%: still permutation.
    assert significance.g_test([3, 20, 20, 20], [6, 20, 20, 20]).method.startswith("permutation")
    # ... but among 12 they are 17%, none below 1: asymptotic.
    wide_ref, wide_cur = [3, 20, 20, 20, 20, 20], [6, 20, 20, 20, 20, 20]
    assert significance.g_test(wide_ref, wide_cur).method.startswith("asymptotic")
    # An expected count below 1: permutation.
    assert significance.g_test([1, 200, 200], [0, 200, 200]).method.startswith("permutation")


def test_tables_too_large_to_simulate_stay_asymptotic():
    # Cochran's rule fails (expected counts 0.5 and 1), but numpy cannot draw from 10^9 items.
    ref, cur = [600_000_000, 0, 2, 5_000_000], [590_000_000, 1, 0, 5_100_000]
    result = significance.g_test(ref, cur)
    assert result.method == (
        "asymptotic chi-square, Williams-corrected"
        " (small expected counts, but too many counts to simulate)"
    )
    assert result.p_value == pytest.approx(chi2.sf(result.statistic / result.williams, 3), rel=1e-9)
    with pytest.raises(ValueError, match="fewer than 1e"):
        significance.g_test(ref, cur, method="permutation")


def _exact_conditional_p(ref, cur):
    """P(G >= G_obs) over every 2 x k table with the same margins (hypergeometric weights)."""
    columns = np.add(ref, cur)
    n_cur = sum(cur)
    weight_total = math.comb(int(columns.sum()), n_cur)
    g_obs = significance.g_test(ref, cur, williams=False, method="asymptotic").statistic
    p = 0.0
    for row in itertools.product(*(range(int(c) + 1) for c in columns)):
        if sum(row) != n_cur:
            continue
        weight = (
            math.prod(math.comb(int(c), x) for c, x in zip(columns, row, strict=True))
            / weight_total
        )
        other = columns - np.array(row)
        g = significance.g_test(other, row, williams=False, method="asymptotic").statistic
        p += weight * (g >= g_obs * (1 - 1e-12) - 1e-12)
    return p


def test_permutation_p_value_matches_the_exact_conditional_test_on_a_small_table():
    ref, cur = [3, 0, 5], [1, 4, 6]
    exact = _exact_conditional_p(ref, cur)
    result = significance.g_test(ref, cur)
    assert result.method.startswith("permutation")
    standard_error = math.sqrt(exact * (1 - exact) / significance.DEFAULT_RESAMPLES)
    assert result.p_value == pytest.approx(exact, abs=4 * standard_error)
    # The asymptotic p-value (0.045) is far too small here, which is why the fallback exists.
    assert significance.g_test(ref, cur, method="asymptotic").p_value < exact / 2


def test_permutation_p_value_is_close_to_the_asymptotic_one_on_large_counts():
    ref, cur = [200, 300, 250, 250], [230, 280, 260, 230]
    asymptotic = significance.g_test(ref, cur)
    assert 0.1 < asymptotic.p_value < 0.9  # a p-value where the comparison means something
    permuted = significance.g_test(ref, cur, method="permutation")
    standard_error = math.sqrt(asymptotic.p_value * (1 - asymptotic.p_value) / 2000)
    assert permuted.p_value == pytest.approx(asymptotic.p_value, abs=4 * standard_error)
    assert permuted.statistic == asymptotic.statistic


def test_permutation_is_deterministic_given_the_seed():
    ref, cur = [3, 0, 5], [1, 4, 6]
    first = significance.g_test(ref, cur, seed=7)
    assert significance.g_test(ref, cur, seed=7) == first
    assert significance.g_test(ref, cur, seed=8).p_value != first.p_value
    assert first.method == "permutation: 2000 Monte-Carlo tables with fixed margins, seed 7"


def test_permutation_p_value_is_floored_at_one_over_resamples_plus_one():
    # The observed table is the most extreme one the margins allow (odds ~1e-11 to draw it).
    result = significance.g_test([20, 0], [0, 20], method="permutation", n_resamples=99)
    assert result.p_value == 1 / 100


_small_counts = st.lists(st.integers(min_value=0, max_value=40), min_size=2, max_size=6)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=2, max_value=6).flatmap(
        lambda k: st.tuples(
            st.lists(st.integers(0, 40), min_size=k, max_size=k),
            st.lists(st.integers(0, 40), min_size=k, max_size=k),
        )
    )
)
def test_asymptotic_g_matches_scipy_on_random_tables(pair):
    ref, cur = metrics.drop_empty_bins(*pair)
    if ref.sum() == 0 or cur.sum() == 0 or ref.size < 2:
        assert significance.g_test(*pair).p_value == 1.0
        return
    stat, p, _, _ = chi2_contingency(
        np.array([ref, cur]), correction=False, lambda_="log-likelihood"
    )
    result = significance.g_test(*pair, williams=False, method="asymptotic")
    assert result.statistic == pytest.approx(stat, rel=1e-9, abs=1e-12)
    assert result.p_value == pytest.approx(p, rel=1e-9, abs=1e-12)
    corrected = significance.g_test(*pair, method="asymptotic")
    assert corrected.williams > 1.0
    assert result.p_value <= corrected.p_value <= 1.0


# --- multiple testing ---------------------------------------------------------------------------


def test_adjust_p_values_hand_example():
    p = [0.01, 0.04, 0.03, 0.005]
    # Ranked 0.005, 0.01, 0.03, 0.04 -> m p / rank = 0.02, 0.02, 0.04, 0.04 (already monotone).
    assert significance.adjust_p_values(p) == pytest.approx([0.02, 0.04, 0.04, 0.02], rel=1e-14)
    assert significance.adjust_p_values(p, "bonferroni") == pytest.approx(
        [0.04, 0.16, 0.12, 0.02], rel=1e-14
    )
    # Step-up: 0.5 at rank 1 would scale to 1.0, but 0.9 at rank 2 scales to 0.9 and caps it.
    assert significance.adjust_p_values([0.5, 0.9]) == pytest.approx([0.9, 0.9], rel=1e-14)
    assert significance.adjust_p_values([0.5, 0.9], "bonferroni") == [1.0, 1.0]
    assert significance.adjust_p_values([]) == []


@pytest.mark.parametrize(
    "p",
    [
        [0.01, 0.04, 0.03, 0.005],
        [0.0, 1.0, 0.5, 0.5, 0.2],
        [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216],
        [0.3],
    ],
)
def test_bh_matches_scipy(p):
    expected = false_discovery_control(p, method="bh")
    assert significance.adjust_p_values(p, "bh") == pytest.approx(list(expected), rel=1e-12)


def test_adjust_p_values_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        significance.adjust_p_values([0.5, 1.2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        significance.adjust_p_values([math.nan])
    with pytest.raises(ValueError, match="unknown method"):
        significance.adjust_p_values([0.5], "holm")  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=30))
def test_bh_is_monotone_capped_and_never_beyond_bonferroni(p):
    bh = significance.adjust_p_values(p, "bh")
    bonferroni = significance.adjust_p_values(p, "bonferroni")
    assert bh == pytest.approx(list(false_discovery_control(p, method="bh")), rel=1e-12)
    for raw, adjusted, strict in zip(p, bh, bonferroni, strict=True):
        assert raw <= adjusted <= strict <= 1.0
    for (raw_a, adj_a), (raw_b, adj_b) in itertools.combinations(zip(p, bh, strict=True), 2):
        if raw_a < raw_b:
            assert adj_a <= adj_b


# --- noise floor and bias-corrected KL ----------------------------------------------------------


def test_noise_floor_known_answers():
    assert significance.noise_floor(10, 500, 500) == pytest.approx(0.018, rel=1e-14)
    assert significance.noise_floor(3, 100, 400) == pytest.approx(0.0125, rel=1e-14)
    assert significance.noise_floor(10, 500, 500, base=2) == pytest.approx(
        0.018 / math.log(2), rel=1e-14
    )
    assert significance.noise_floor(1, 5, 5) == 0.0
    with pytest.raises(ValueError, match="positive sample sizes"):
        significance.noise_floor(3, 0, 10)


def test_miller_madow_kl_subtracts_the_floor_for_occupied_bins_only():
    ref, cur = [50, 0, 30, 20], [20, 0, 30, 50]
    plug_in = metrics.kl_divergence([50, 30, 20], [20, 30, 50])
    floor = (3 - 1) / 2 * (1 / 100 + 1 / 100)  # three occupied bins, not four
    assert significance.miller_madow_kl(ref, cur) == pytest.approx(plug_in - floor, rel=1e-12)
    assert significance.miller_madow_kl(ref, cur, base=2) == pytest.approx(
        (plug_in - floor) / math.log(2), rel=1e-12
    )
    smoothed = metrics.kl_divergence([50, 30, 20], [20, 30, 50], smoothing=0.5)
    assert significance.miller_madow_kl(ref, cur, 0.5) == pytest.approx(smoothed - floor, rel=1e-12)


def test_miller_madow_kl_clips_at_zero_unless_asked_not_to():
    assert significance.miller_madow_kl([5, 3, 2], [5, 3, 2]) == 0.0
    unclipped = significance.miller_madow_kl([5, 3, 2], [5, 3, 2], clip=False)
    assert unclipped == pytest.approx(-(3 - 1) / 2 * (1 / 10 + 1 / 10), rel=1e-12)
    assert significance.miller_madow_kl([3, 1], [4, 0]) == math.inf


def test_noise_floor_is_the_mean_plug_in_kl_of_same_distribution_samples():
    k, n_ref, n_cur, pairs = 10, 500, 500, 400
    shape = np.linspace(1, 2, k)
    rng = np.random.default_rng(20240601)
    refs = rng.multinomial(n_ref, shape / shape.sum(), size=pairs)
    curs = rng.multinomial(n_cur, shape / shape.sum(), size=pairs)
    plug_in = np.array([metrics.kl_divergence(r, c) for r, c in zip(refs, curs, strict=True)])
    corrected = np.array(
        [significance.miller_madow_kl(r, c, clip=False) for r, c in zip(refs, curs, strict=True)]
    )
    floor = significance.noise_floor(k, n_ref, n_cur)
    assert floor == pytest.approx(0.018)
    # Four standard errors of the simulated mean (~0.0017 here, a tenth of the floor); the
    # second-order bias left over is ~2e-4, half a standard error.
    standard_error = plug_in.std(ddof=1) / math.sqrt(pairs)
    assert standard_error < floor / 8
    assert plug_in.mean() == pytest.approx(floor, abs=4 * standard_error)
    assert corrected.mean() == pytest.approx(0.0, abs=4 * standard_error)
    # Without the correction the same-distribution mean is many standard errors above 0.
    assert plug_in.mean() > 20 * standard_error


# --- power and minimum detectable effect ------------------------------------------------------


@pytest.mark.parametrize("dof", [1, 2, 9, 21, 100])
@pytest.mark.parametrize("tail", [0.05, 0.01, 1e-4])
def test_chi2_isf_inverts_the_tail_as_scipy_does(dof, tail):
    assert significance.chi2_isf(tail, dof) == pytest.approx(chi2.isf(tail, dof), rel=1e-9)


@pytest.mark.parametrize("dof", [1, 3, 9, 40])
@pytest.mark.parametrize("noncentrality", [0.0, 0.5, 5.0, 40.0, 400.0])
@pytest.mark.parametrize("statistic", [1.0, 10.0, 60.0])
def test_ncx2_sf_matches_scipy(dof, noncentrality, statistic):
    from scipy.stats import ncx2

    expected = ncx2.sf(statistic, dof, noncentrality) if noncentrality else chi2.sf(statistic, dof)
    assert significance.ncx2_sf(statistic, dof, noncentrality) == pytest.approx(
        expected, rel=1e-8, abs=1e-15
    )


@pytest.mark.parametrize(("k", "n_ref", "n_cur"), [(2, 100, 100), (10, 4000, 3000), (22, 1e6, 1e7)])
def test_detectable_effect_gives_the_test_its_power(k, n_ref, n_cur):
    from scipy.stats import ncx2

    effect = significance.minimum_detectable_effect(k, n_ref, n_cur, alpha=0.01)
    noncentrality = 2 * effect * n_ref * n_cur / (n_ref + n_cur)
    power = ncx2.sf(chi2.isf(0.01, k - 1), k - 1, noncentrality)
    assert power == pytest.approx(significance.MDE_POWER, abs=1e-9)
    # Ten times the rows on both sides: a tenth of the effect; and bits are nats / ln 2.
    assert significance.minimum_detectable_effect(k, 10 * n_ref, 10 * n_cur, 0.01) == (
        pytest.approx(effect / 10)
    )
    in_bits = significance.minimum_detectable_effect(k, n_ref, n_cur, 0.01, base=2)
    assert in_bits == pytest.approx(effect / math.log(2))
    assert significance.minimum_detectable_effect(1, n_ref, n_cur, 0.01) == math.inf


def test_a_shift_of_the_detectable_size_is_found_about_as_often_as_promised():
    # 10 equal bins, 2,000 rows a side; a current tilted so that its KL equals the detectable
    # effect at alpha 0.05 must be found in ~95% of 400 seeded samples (the power is asymptotic;
    # the binomial sd of the rate is 1.1 points, so 90% leaves room for the approximation).
    rng = np.random.default_rng(11)
    n, k = 2000, 10
    p = np.full(k, 1 / k)
    target = significance.minimum_detectable_effect(k, n, n, 0.05)
    tilt = np.linspace(-1, 1, k)
    lo, hi = 0.0, 1.0
    for _ in range(60):  # the tilt whose KL is the target
        mid = (lo + hi) / 2
        q = p * (1 + mid * tilt)
        lo, hi = (mid, hi) if metrics.kl_divergence(p, q) < target else (lo, mid)
    q = p * (1 + hi * tilt)
    found = sum(
        significance.g_test(
            rng.multinomial(n, p), rng.multinomial(n, q), method="asymptotic"
        ).p_value
        < 0.05
        for _ in range(400)
    )
    assert 0.90 <= found / 400 <= 0.99
