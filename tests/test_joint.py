"""Known answers, the chain rule, scipy agreement and simulations for the joint-table maths."""

import math

import numpy as np
import pytest
from scipy.stats import chi2_contingency, entropy, hypergeom

from kldrift import joint, significance


def _random_tables(seed, shape=(4, 5), scale=50):
    rng = np.random.default_rng(seed)
    ref = rng.integers(1, scale, size=shape)
    cur = rng.integers(1, scale, size=shape)
    return ref, cur


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_chain_rule_holds_both_ways_on_random_tables(seed, smoothing):
    shape = tuple(np.random.default_rng(seed).integers(2, 12, size=2))
    ref, cur = _random_tables(seed, shape)
    d = joint.joint_divergences(ref, cur, smoothing)
    assert d.joint == pytest.approx(d.marginal_x + d.conditional_y_given_x, abs=1e-12)
    assert d.joint == pytest.approx(d.marginal_y + d.conditional_x_given_y, abs=1e-12)
    assert d.relationship == pytest.approx(d.joint - max(d.marginal_x, d.marginal_y), abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_parts_match_scipy_entropy(seed):
    ref, cur = _random_tables(seed, (3, 6))
    p, q = ref / ref.sum(), cur / cur.sum()
    d = joint.joint_divergences(ref, cur)
    assert d.joint == pytest.approx(entropy(p.ravel(), q.ravel()), abs=1e-12)
    assert d.marginal_x == pytest.approx(entropy(p.sum(1), q.sum(1)), abs=1e-12)
    assert d.marginal_y == pytest.approx(entropy(p.sum(0), q.sum(0)), abs=1e-12)
    y_given_x = sum(p[i].sum() * entropy(p[i], q[i]) for i in range(3))
    x_given_y = sum(p[:, j].sum() * entropy(p[:, j], q[:, j]) for j in range(6))
    assert d.conditional_y_given_x == pytest.approx(y_given_x, abs=1e-12)
    assert d.conditional_x_given_y == pytest.approx(x_given_y, abs=1e-12)
    assert joint.joint_kl(ref, cur, base=2) == pytest.approx(entropy(p.ravel(), q.ravel(), base=2))


def test_flipped_relationship_with_equal_marginals_is_all_conditional():
    # Both tables have uniform marginals; only how X and Y go together differs.
    ref, cur = [[3, 1], [1, 3]], [[1, 3], [3, 1]]
    d = joint.joint_divergences(ref, cur)
    assert d.marginal_x == 0.0 and d.marginal_y == 0.0
    assert d.joint == pytest.approx(0.5 * math.log(3), abs=1e-15)
    assert d.conditional_y_given_x == pytest.approx(0.5 * math.log(3), abs=1e-15)
    assert d.relationship == pytest.approx(0.5 * math.log(3), abs=1e-15)


def test_marginal_shift_with_unchanged_conditional_is_no_relationship_drift():
    # Y | X is the same table of shares; only how often each X occurs changed.
    conditional = np.array([[0.8, 0.2], [0.3, 0.7]])
    ref = np.array([[500], [500]]) * conditional
    cur = np.array([[200], [800]]) * conditional
    d = joint.joint_divergences(ref, cur)
    assert d.conditional_y_given_x == pytest.approx(0.0, abs=1e-15)
    assert d.conditional_x_given_y > 0.05
    assert d.relationship == pytest.approx(0.0, abs=1e-15)
    assert d.joint == pytest.approx(d.marginal_x, abs=1e-15)


def test_contributions_sum_to_the_conditional_kl_and_point_at_the_moved_cells():
    ref, cur = [[40, 10, 0], [10, 40, 5]], [[10, 40, 1], [40, 10, 4]]
    for given in (0, 1):
        terms = joint.conditional_contributions(ref, cur, given, smoothing=0.5)
        total = joint.conditional_kl(ref, cur, given, smoothing=0.5)
        assert terms.sum() == pytest.approx(total, abs=1e-12)
    terms = joint.conditional_contributions(ref, cur)
    assert np.unravel_index(np.argmax(terms), terms.shape) in {(0, 0), (1, 1)}


@pytest.mark.parametrize("given", [0, 1])
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_conditional_contributions_are_non_negative_parts_that_sum_to_the_kl(given, smoothing):
    ref, cur = [[40, 10, 0], [10, 40, 5], [0, 0, 0]], [[10, 40, 1], [40, 10, 4], [3, 0, 2]]
    terms = joint.conditional_contributions(ref, cur, given, smoothing)
    assert np.all(terms >= 0)
    total = joint.conditional_kl(ref, cur, given, smoothing)
    assert terms.sum() == pytest.approx(total, rel=1e-12)
    # A known answer: X = row 0 has p(y|x) = (.8, .2, 0) and q(y|x) = (10, 40, 1) / 51, with
    # 50 of the 105 reference rows; its first cell's part is 50/105 [.8 log(.8 / (10/51)) +
    # 10/51 - .8].
    if given == 0 and smoothing == 0:
        p_x, p_y, q_y = 50 / 105, 0.8, 10 / 51
        expected = p_x * (p_y * math.log(p_y / q_y) + q_y - p_y)
        assert terms[0, 0] == pytest.approx(expected, rel=1e-12)
        assert terms[0, 1] > 0  # gains current share: positive, not the signed term's < 0
        assert terms[2].tolist() == [0.0, 0.0, 0.0]  # a row the reference never reaches


def test_a_cell_missing_from_current_makes_unsmoothed_values_infinite():
    ref, cur = [[5, 5], [5, 5]], [[10, 0], [5, 5]]
    d = joint.joint_divergences(ref, cur)
    assert d.joint == math.inf and d.conditional_y_given_x == math.inf
    assert math.isfinite(joint.joint_kl(ref, cur, smoothing=0.5))


def test_cells_empty_on_both_sides_do_not_change_any_value():
    ref, cur = [[30, 10], [5, 25]], [[20, 20], [10, 20]]
    padded_ref = [[30, 10, 0], [5, 25, 0], [0, 0, 0]]
    padded_cur = [[20, 20, 0], [10, 20, 0], [0, 0, 0]]
    assert joint.joint_divergences(ref, cur, 0.5) == joint.joint_divergences(
        padded_ref, padded_cur, 0.5
    )
    assert joint.noise_floors(ref, cur) == joint.noise_floors(padded_ref, padded_cur)


def test_noise_floors_split_the_degrees_of_freedom_like_the_chain_rule():
    ref, cur = np.ones((4, 5)), np.ones((4, 5))
    floors = joint.noise_floors(ref * 100, cur * 300)
    half = (1 / 2000 + 1 / 6000) / 2
    assert floors.joint == pytest.approx(19 * half)
    assert floors.marginal_x == pytest.approx(3 * half)
    assert floors.marginal_y == pytest.approx(4 * half)
    assert floors.conditional_y_given_x == pytest.approx(16 * half)
    assert floors.conditional_x_given_y == pytest.approx(15 * half)
    assert floors.joint == pytest.approx(significance.noise_floor(20, 2000, 6000))


def test_corrected_subtracts_the_floor_and_clips_at_zero():
    plug = joint.JointDivergences(0.3, 0.1, 0.01, 0.2, 0.29)
    floor = joint.JointDivergences(0.05, 0.02, 0.02, 0.03, 0.03)
    assert joint.corrected(plug, floor) == joint.JointDivergences(
        pytest.approx(0.25), pytest.approx(0.08), 0.0, pytest.approx(0.17), pytest.approx(0.26)
    )


def test_plug_in_parts_average_their_noise_floors_under_the_null():
    rng = np.random.default_rng(7)
    # A dependent table whose smallest cell still expects ~75 counts.
    shares = (np.outer(rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(5))) + 1 / 20) / 2
    n, reps = 3000, 400
    plug, floors = [], []
    for _ in range(reps):
        ref = rng.multinomial(n, shares.ravel()).reshape(4, 5)
        cur = rng.multinomial(n, shares.ravel()).reshape(4, 5)
        plug.append(joint.joint_divergences(ref, cur))
        floors.append(joint.noise_floors(ref, cur))
    for part in ("joint", "conditional_y_given_x", "conditional_x_given_y"):
        values = np.array([getattr(d, part) for d in plug])
        floor = np.mean([getattr(f, part) for f in floors])
        error = values.std(ddof=1) / math.sqrt(reps)
        assert abs(values.mean() - floor) < 4 * error, part


# --- conditional G-test -----------------------------------------------------------------------


def test_conditional_g_is_the_sum_of_the_strata_homogeneity_tests():
    ref, cur = _random_tables(3, (4, 6), scale=200)
    test = joint.conditional_g_test(ref, cur, williams=False)
    strata = [significance.g_test(r, c, williams=False) for r, c in zip(ref, cur, strict=True)]
    assert test.statistic == pytest.approx(sum(s.statistic for s in strata), rel=1e-12)
    scipy_g = sum(
        chi2_contingency(np.array([r, c]), correction=False, lambda_="log-likelihood")[0]
        for r, c in zip(ref, cur, strict=True)
    )
    assert test.statistic == pytest.approx(scipy_g, rel=1e-12)
    assert test.dof == 4 * (6 - 1)
    assert test.method.startswith("asymptotic")


def test_conditional_g_given_columns_tests_the_transposed_table():
    ref, cur = _random_tables(4, (3, 5), scale=200)
    assert joint.conditional_g_test(ref, cur, 1) == joint.conditional_g_test(ref.T, cur.T, 0)
    assert joint.conditional_g_test(ref, cur, 1).dof == 5 * 2


def test_conditional_g_counts_only_informative_cells_in_its_dof():
    # Row 0: one cell empty on both sides (l_0 = 2); row 1 only in the reference (no information);
    # row 2 full (l_2 = 3): dof = 1 + 0 + 2.
    ref = [[20, 0, 30], [10, 10, 10], [15, 25, 35]]
    cur = [[25, 0, 20], [0, 0, 0], [30, 20, 10]]
    assert joint.conditional_g_test(ref, cur).dof == 3


def test_williams_correction_lowers_the_statistic_used_for_the_p_value():
    ref, cur = _random_tables(5, (3, 3), scale=30)
    plain = joint.conditional_g_test(ref, cur, williams=False, method="asymptotic")
    corrected = joint.conditional_g_test(ref, cur, method="asymptotic")
    assert corrected.statistic == plain.statistic
    assert corrected.williams > 1
    assert corrected.p_value > plain.p_value


def test_conditional_g_holds_its_level_when_only_the_marginal_of_x_moves():
    rng = np.random.default_rng(11)
    conditional = rng.dirichlet(np.ones(5), size=4)
    rejections, reps = 0, 400
    for _ in range(reps):
        ref_x, cur_x = (
            rng.multinomial(2000, [0.25] * 4),
            rng.multinomial(2000, [0.1, 0.2, 0.3, 0.4]),
        )
        ref = np.array([rng.multinomial(n, c) for n, c in zip(ref_x, conditional, strict=True)])
        cur = np.array([rng.multinomial(n, c) for n, c in zip(cur_x, conditional, strict=True)])
        rejections += joint.conditional_g_test(ref, cur).p_value < 0.05
    # 5% of 400 = 20; a binomial beyond 35 has probability < 0.1%.
    assert 5 <= rejections <= 35


def test_conditional_g_detects_a_changed_relationship():
    ref, cur = [[300, 100], [100, 300]], [[200, 200], [200, 200]]
    test = joint.conditional_g_test(ref, cur)
    assert test.p_value < 1e-20 and test.dof == 2


def test_sparse_cells_are_pooled_per_stratum_before_the_chi_square():
    # Stratum 0: two sparse cells (expected about 3.5 and 3 on each side) pooled into one of
    # 13 rows; stratum 1: one sparse cell whose pool is itself too small and is dropped.
    ref, cur = [[20, 20, 4, 2], [30, 30, 1, 0]], [[15, 25, 3, 4], [30, 30, 0, 0]]
    pooled = joint.conditional_g_test(ref, cur, williams=False)
    assert pooled.method.endswith("3 sparse cells pooled")
    # Stratum 0 becomes [20, 20, 6] vs [15, 25, 7]: dof 2; stratum 1 [30, 30]: dof 1.
    assert pooled.dof == 3
    expected = joint.conditional_g_test(
        [[20, 20, 6], [30, 30, 0]], [[15, 25, 7], [30, 30, 0]], williams=False, method="asymptotic"
    )
    assert pooled.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert joint.conditional_g_test(ref, cur, method="asymptotic").dof == 5


def test_pooled_test_holds_its_level_on_sparse_tables():
    rng = np.random.default_rng(12)
    shares = rng.dirichlet(np.ones(48) * 0.5).reshape(6, 8)
    rejections, reps = 0, 400
    for _ in range(reps):
        ref = rng.multinomial(300, shares.ravel()).reshape(6, 8)
        cur = rng.multinomial(300, shares.ravel()).reshape(6, 8)
        rejections += joint.conditional_g_test(ref, cur).p_value < 0.05
    assert rejections <= 35  # 5% of 400 = 20; beyond 35 has probability < 0.1%


def test_the_permutation_test_is_seeded_and_never_below_its_floor():
    ref, cur = [[3, 1, 0], [1, 2, 2]], [[0, 2, 3], [2, 1, 1]]
    first = joint.conditional_g_test(ref, cur, method="permutation", n_resamples=500, seed=1)
    assert first.method.startswith("permutation")
    assert first == joint.conditional_g_test(
        ref, cur, method="permutation", n_resamples=500, seed=1
    )
    assert 1 / 501 <= first.p_value <= 1


def test_monte_carlo_p_value_matches_exact_enumeration_for_one_stratum():
    # One 2 x 2 stratum: the current row's first cell is hypergeometric given the margins.
    ref, cur = [[6, 2]], [[2, 6]]
    observed = joint.conditional_g_test(ref, cur, williams=False, method="asymptotic").statistic
    dist = hypergeom(16, 8, 8)
    exact = 0.0
    for a in range(0, 9):
        g = joint.conditional_g_test(
            [[8 - a, a]], [[a, 8 - a]], williams=False, method="asymptotic"
        )
        if g.statistic >= observed - 1e-12:
            exact += dist.pmf(a)
    simulated = joint.conditional_g_test(ref, cur, method="permutation", n_resamples=20000).p_value
    assert simulated == pytest.approx(exact, abs=0.01)


def test_degenerate_tables_give_p_one():
    test = joint.conditional_g_test([[5, 0], [0, 5]], [[3, 0], [0, 7]])
    assert (test.statistic, test.dof, test.p_value) == (0.0, 0, 1.0)


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError, match="shape"):
        joint.joint_divergences([[1, 2]], [[1, 2, 3]])
    with pytest.raises(ValueError, match="2-D"):
        joint.joint_kl([1, 2], [1, 2])
    with pytest.raises(ValueError, match="whole-number"):
        joint.conditional_g_test([[1.5, 2]], [[1, 2]])
    with pytest.raises(ValueError, match="smoothing"):
        joint.joint_kl([[1, 2]], [[1, 2]], smoothing=-1)


def test_coarsen_adds_up_grouped_rows_and_columns():
    table = np.arange(12).reshape(3, 4)
    out = joint.coarsen(table, [0, 0, 1], [0, 1, 1, 2])
    assert out.tolist() == [[4, 14, 10], [8, 19, 11]]
    assert out.sum() == table.sum()
