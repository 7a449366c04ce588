"""Known answers, the chain rule, scipy agreement and simulations for the joint-table maths."""

import math

import numpy as np
import pytest
from scipy.stats import entropy

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
    # The relationship is either conditional beyond the other column's own drift.
    assert d.relationship == pytest.approx(d.conditional_y_given_x - d.marginal_y, abs=1e-12)
    assert d.relationship == pytest.approx(d.conditional_x_given_y - d.marginal_x, abs=1e-12)
    terms = joint.interaction_contributions(ref, cur, smoothing)
    assert terms.sum() == pytest.approx(d.relationship, abs=1e-12)


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
    in_bits = joint.joint_divergences(ref, cur, base=2).joint
    assert in_bits == pytest.approx(entropy(p.ravel(), q.ravel(), base=2))


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
    # Y's marginal moved only through X: the score is -marginal_y, below 0 (clipped when scored).
    assert d.relationship == pytest.approx(-d.marginal_y, abs=1e-15) and d.relationship < 0
    assert d.joint == pytest.approx(d.marginal_x, abs=1e-15)


def test_two_columns_drifting_apart_from_each_other_have_no_relationship_drift():
    # Independent on both sides, both marginals moved: every conditional changed, the
    # relationship did not.
    ref = np.outer([5, 3, 2], [6, 4]) * 20
    cur = np.outer([2, 3, 5], [1, 9]) * 20
    d = joint.joint_divergences(ref, cur)
    assert d.conditional_y_given_x > 0.3 and d.conditional_x_given_y > 0.2
    assert d.relationship == pytest.approx(0.0, abs=1e-12)
    test = joint.interaction_g_test(ref, cur)
    assert test.dof == 2 and test.statistic == pytest.approx(0.0, abs=1e-6)
    assert test.p_value == pytest.approx(1.0, abs=1e-6)


def test_interaction_g_test_keeps_odds_ratios_and_catches_a_flip():
    # The same odds ratio (16) at other margins fits the model exactly; a flip does not.
    ref = np.array([[400, 100], [100, 400]])
    same_odds = np.array([[160, 40], [160, 640]])
    assert joint.interaction_g_test(ref, same_odds).statistic == pytest.approx(0.0, abs=1e-6)
    flipped = joint.interaction_g_test(ref, ref[::-1])
    assert flipped.dof == 1 and flipped.p_value < 1e-100
    # By hand: the model [DX][DY][XY] of these two tables is uniform, 250 per cell.
    expected = 2 * 4 * (400 * math.log(400 / 250) + 100 * math.log(100 / 250))
    assert flipped.statistic == pytest.approx(expected, rel=1e-9)


def test_interaction_g_test_on_rows_seen_on_one_side_only():
    ref = np.array([[30, 10], [10, 30], [0, 0]])
    cur = np.array([[30, 10], [10, 30], [20, 20]])
    test = joint.interaction_g_test(ref, cur)
    assert test.dof == 1 and test.statistic == pytest.approx(0.0, abs=1e-6)
    degenerate = joint.interaction_g_test([[5, 0], [0, 0]], [[5, 0], [0, 0]])
    assert degenerate.dof == 0 and degenerate.p_value == 1.0


def test_interaction_contributions_point_at_the_moved_cells():
    ref, cur = [[40, 10, 0], [10, 40, 5]], [[10, 40, 1], [40, 10, 4]]
    terms = joint.interaction_contributions(ref, cur)
    assert terms.sum() == pytest.approx(joint.joint_divergences(ref, cur).relationship, abs=1e-12)
    assert np.unravel_index(np.argmax(terms), terms.shape) in {(0, 0), (1, 1)}


def test_a_cell_missing_from_current_makes_unsmoothed_values_infinite():
    ref, cur = [[5, 5], [5, 5]], [[10, 0], [5, 5]]
    d = joint.joint_divergences(ref, cur)
    assert d.joint == math.inf and d.conditional_y_given_x == math.inf
    assert math.isfinite(joint.joint_divergences(ref, cur, smoothing=0.5).joint)


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


# --- interaction G-test ------------------------------------------------------------------------


def test_interaction_g_holds_its_level_when_both_marginals_move():
    # Independent columns whose marginals both change: H0 (same association) holds.
    rng = np.random.default_rng(12)
    ref_shares = np.outer([0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25])
    cur_shares = np.outer([0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1])
    rejections = 0
    for _ in range(400):
        ref = rng.multinomial(2000, ref_shares.ravel()).reshape(4, 4)
        cur = rng.multinomial(2000, cur_shares.ravel()).reshape(4, 4)
        rejections += joint.interaction_g_test(ref, cur).p_value < 0.05
    assert rejections / 400 < 0.08  # 5% nominal; 0.08 is about 3.7 standard errors above


def test_interaction_g_detects_a_changed_association():
    rng = np.random.default_rng(13)
    together = np.array([[0.3, 0.2], [0.2, 0.3]])
    ref = rng.multinomial(2000, together.ravel()).reshape(2, 2)
    cur = rng.multinomial(2000, together[::-1].ravel()).reshape(2, 2)
    test = joint.interaction_g_test(ref, cur)
    assert test.dof == 1 and test.p_value < 1e-10


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_scores_are_the_four_functions_on_one_check(seed, smoothing):
    ref, cur = _random_tables(seed, (3, 6))
    ref[0, 0], cur[0, 0], cur[2, 1] = 0, 0, 0  # empty on both sides; empty in current only
    got = joint.scores(ref, cur, smoothing, base=2.0)
    assert got.kl == joint.joint_divergences(ref, cur, smoothing, base=2.0)
    assert got.noise_floor == joint.noise_floors(ref, cur, base=2.0)
    assert got.test == joint.interaction_g_test(ref, cur)
    expected = joint.interaction_contributions(ref, cur, smoothing, base=2.0)
    assert np.array_equal(got.contributions, expected)
    assert math.isinf(got.kl.joint) == (smoothing == 0.0)


def test_pairs_scored_together_score_as_each_alone():
    # Tables of one shape are fitted together, each stopped when it alone would stop: one of
    # independent rows (fitted in a round), tables of the same shape that take more rounds,
    # others, one whose one-sided row is dropped, and a degenerate one.
    tables = [_random_tables(seed, shape) for seed, shape in enumerate([(3, 4)] * 4 + [(2, 5)])]
    tables.append((np.outer([1, 2, 3], [4, 5, 6, 7]), np.outer([3, 2, 1], [1, 1, 2, 2])))
    tables.append((np.array([[5, 1], [2, 7], [4, 0]]), np.array([[1, 4], [3, 3], [0, 0]])))
    tables.append((np.array([[5, 0], [0, 0]]), np.array([[5, 0], [0, 0]])))
    together = joint.scores_of(tables, 0.5, base=2.0)
    alone = [joint.scores(ref, cur, 0.5, base=2.0) for ref, cur in tables]
    assert [s.test for s in together] == [s.test for s in alone]
    assert [s.kl for s in together] == [s.kl for s in alone]
    assert together[4].test.statistic > 0 and together[-1].test.dof == 0
    assert together[5].test.statistic == pytest.approx(0.0, abs=1e-9)  # no interaction
    pairs = zip(together, alone, strict=True)
    assert all(np.array_equal(a.contributions, b.contributions) for a, b in pairs)


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError, match="shape"):
        joint.joint_divergences([[1, 2]], [[1, 2, 3]])
    with pytest.raises(ValueError, match="2-D"):
        joint.joint_divergences([1, 2], [1, 2])
    with pytest.raises(ValueError, match="whole-number"):
        joint.interaction_g_test([[1.5, 2]], [[1, 2]])
    with pytest.raises(ValueError, match="smoothing"):
        joint.joint_divergences([[1, 2]], [[1, 2]], smoothing=-1)


def test_coarsen_adds_up_grouped_rows_and_columns():
    table = np.arange(12).reshape(3, 4)
    out = joint.coarsen(table, [0, 0, 1], [0, 1, 1, 2])
    assert out.tolist() == [[4, 14, 10], [8, 19, 11]]
    assert out.sum() == table.sum()
