"""Pair tables counted with polars, the coarsening rule, and relationship drift end to end."""

import datetime as dt
import json
import math
import re

import numpy as np
import polars as pl
import pytest

import kldrift
from kldrift import pairs, profile, profile_file
from kldrift.io import scan_table
from kldrift.options import Kind, Options, Status


def _correlated(rng, n, rho):
    """income and age with fixed normal marginals and correlation rho, plus an unrelated city."""
    z = rng.standard_normal((n, 2))
    age = rho * z[:, 0] + math.sqrt(1 - rho**2) * z[:, 1]
    return pl.DataFrame(
        {
            "income": z[:, 0] * 1000 + 50_000,
            "age": age * 10 + 40,
            "city": rng.choice(["north", "south", "east"], n),
        }
    )


def _mixed(rng, n):
    x = rng.normal(size=n)
    x[rng.random(n) < 0.05] = np.nan
    x[:3] = [np.inf, -np.inf, np.nan]
    return pl.DataFrame(
        {
            "x": pl.Series(x).scatter([10, 11], None),  # nulls and NaN, both to "(null)"
            "n": pl.Series(rng.poisson(2, n)).scatter([5, 6], None),
            "c": pl.Series(rng.choice(["a", "b", "c", "d", "e"], n, p=[0.4, 0.3, 0.2, 0.07, 0.03])),
            "flag": pl.Series(rng.random(n) < 0.3).scatter([3], None),
            # All true in a reference-sized sample, some false in current: "(new)" for false.
            "on": rng.random(n) < (1.0 if n == 3000 else 0.9),
            "day": pl.date_range(
                dt.date(2024, 1, 1), dt.date(2024, 1, 1) + dt.timedelta(n - 1), eager=True
            ).scatter([0, 7], None),
        }
    )


KINDS = {
    "x": Kind.numeric,
    "n": Kind.numeric,
    "c": Kind.categorical,
    "flag": Kind.categorical,
    "on": Kind.categorical,
    "day": Kind.temporal,
}


# --- counting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bins", [10, 1])
def test_pair_tables_have_the_column_histograms_as_margins(bins):
    rng = np.random.default_rng(0)
    ref, cur = (
        _mixed(rng, 3000),
        _mixed(rng, 2000).with_columns(
            c=pl.when(pl.int_range(pl.len()) < 7).then(pl.lit("new")).otherwise("c")
        ),
    )
    built = profile.build(scan_table(ref), KINDS, Options(bins=bins, top_k=3))
    binnings = {name: c.binning for name, c in built.columns.items()}
    assert built.columns["c"].binning.rest  # the top-3 cut leaves a tail: "(other)" and "(new)"
    for frame in (ref, cur):
        table = scan_table(frame)
        _, histograms = profile.count(table, binnings)
        tables = pairs.count_pairs(table, binnings, pairs.all_pairs(list(KINDS)))
        assert len(tables) == 15
        for (x, y), counts in tables.items():
            assert counts.sum(axis=1).tolist() == histograms[x].tolist(), (x, y)
            assert counts.sum(axis=0).tolist() == histograms[y].tolist(), (x, y)


def test_pair_table_cells_are_the_rows_sharing_both_bins():
    frame = pl.DataFrame({"a": ["u", "u", "v", None, "u"], "b": [1.0, 5.0, 5.0, 1.0, float("nan")]})
    binnings = {
        "a": profile.Binning(Kind.categorical, "categories", values=("u", "v")),
        "b": profile.Binning(Kind.numeric, "quantile", edges=(2.0,)),
    }
    table = pairs.count_pairs(scan_table(frame), binnings, [("a", "b")])[("a", "b")]
    # rows: u, v, (other), (new), (null); columns: <= 2, > 2, (null)
    assert table.tolist() == [[1, 1, 1], [0, 1, 0], [0, 0, 0], [0, 0, 0], [1, 0, 0]]


def test_resolve_pairs_checks_names_and_drops_repeats():
    assert pairs.resolve_pairs(None, ["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert pairs.resolve_pairs([("b", "a"), ("a", "b")], ["a", "b"]) == [("b", "a")]
    with pytest.raises(kldrift.ColumnError, match="'z' is not a compared column"):
        pairs.resolve_pairs([("a", "z")], ["a", "b"])
    with pytest.raises(kldrift.ColumnError, match="not two different columns"):
        pairs.resolve_pairs([("a", "a")], ["a", "b"])


# --- coarsening -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "limit"), [(100, 5000, 4), (1000, 1000, 14), (10**6, 10**6, 447), (5, 5, 3)]
)
def test_cell_limit_keeps_about_five_rows_per_cell(n_ref, n_cur, limit):
    assert pairs.cell_limit(n_ref, n_cur) == limit


def test_quantile_bins_merge_into_runs_of_neighbours_with_equal_shares():
    binning = profile.Binning(Kind.numeric, "quantile", edges=tuple(float(e) for e in range(1, 10)))
    mapping, labels = pairs.groups(binning, [10] * 10 + [0], limit=6)
    assert mapping == (0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5)
    assert labels == ("<= 2", "(2, 4]", "(4, 6]", "(6, 8]", "> 8", "(null)")
    assert pairs.groups(binning, [10] * 10 + [0], limit=11)[0] == tuple(range(11))


def test_categories_keep_the_most_frequent_and_pool_the_rest():
    binning = profile.Binning(
        Kind.categorical, "categories", values=("a", "b", "c", "d"), rest=("e",)
    )
    # bins: a b c d (other) (new) (null); "(new)" joins "(other)" first.
    mapping, labels = pairs.groups(binning, [5, 50, 2, 30, 4, 0, 1], limit=4)
    assert mapping == (2, 0, 2, 1, 2, 2, 3)
    assert labels == ("b", "d", "(3 bins pooled)", "(null)")
    unchanged, names = pairs.groups(binning, [5, 50, 2, 30, 4, 0, 1], limit=10)
    assert unchanged == (0, 1, 2, 3, 4, 4, 5)
    assert names[4] == "(other or new)"


# --- relationship drift -----------------------------------------------------------------------


def test_flipped_correlation_with_unchanged_marginals_flags_exactly_that_pair():
    # The done-when test: every column passes, the pair is flagged.
    rng = np.random.default_rng(17)
    ref, cur = _correlated(rng, 20_000, 0.5), _correlated(rng, 20_000, -0.5)
    assert not kldrift.compare(ref, cur).drifted  # the per-column compare sees nothing
    result = pairs.compare_pairs(ref, cur)
    assert result.columns == kldrift.compare(ref, cur)
    assert [c.status for c in result.columns.columns] == [Status.ok] * 3
    assert not result.columns.drifted
    assert [p.columns for p in result.drifted_pairs] == [("income", "age")]
    assert result.drifted
    flagged = result.pairs[0]
    assert flagged.columns == ("income", "age") and flagged.p_adjusted < 1e-100
    # Gaussian KL of rho 0.5 against -0.5 is 2/3 nats; deciles keep most of it.
    assert 0.4 < flagged.relationship < 2 / 3
    assert flagged.kl.joint == pytest.approx(
        flagged.kl.marginal_x + flagged.kl.conditional_y_given_x, abs=1e-12
    )
    assert flagged.kl.marginal_x < 0.001 and flagged.kl.marginal_y < 0.001
    # The cells carrying the conditional KL are the corners that the flip emptied or filled.
    corner = flagged.cells[0]
    assert {corner.x[:2], corner.y[:2]} <= {"<=", "> "}
    assert abs(corner.reference_share - corner.current_share) > 0.01
    assert " x age " in flagged.describe(corner) and "% -> " in flagged.describe(corner)
    assert all(p.status is Status.ok for p in result.pairs[1:])


def test_same_distribution_flags_no_pair():
    rng = np.random.default_rng(3)
    result = pairs.compare_pairs(_correlated(rng, 5000, 0.5), _correlated(rng, 5000, 0.5))
    assert [p.status for p in result.pairs] == [Status.ok] * 3
    assert all(p.p_adjusted > 0.05 for p in result.pairs)


def test_covariate_shift_alone_is_not_a_relationship_change():
    # Current rows are reference-like rows selected by income: income's marginal moves, age given
    # income stays as it was, so the change is explained by income's drift alone.
    rng = np.random.default_rng(4)
    ref = _correlated(rng, 20_000, 0.5)
    pool = _correlated(rng, 60_000, 0.5)
    weights = np.exp(0.8 * (pool["income"].to_numpy() - 50_000) / 1000)
    chosen = rng.choice(60_000, 20_000, replace=False, p=weights / weights.sum())
    result = pairs.compare_pairs(ref, pool[np.sort(chosen)], [("income", "age")])
    assert result.columns.column("income").status is Status.drift
    (pair,) = result.pairs
    assert pair.kl.marginal_x > 0.1
    assert pair.kl_corrected.conditional_x_given_y > 0.05  # income given age did move
    assert pair.given == "income" and pair.relationship < 0.005
    assert pair.status is Status.ok


def test_small_samples_coarsen_both_columns_the_same_way():
    rng = np.random.default_rng(5)
    result = pairs.compare_pairs(_correlated(rng, 200, 0.5), _correlated(rng, 200, 0.5))
    income_age = next(p for p in result.pairs if p.columns == ("income", "age"))
    assert income_age.shape == (6, 6)  # cell_limit(200, 200) = 6, "(null)" included
    assert income_age.kl.joint == pytest.approx(
        income_age.kl.marginal_y + income_age.kl.conditional_x_given_y, abs=1e-12
    )
    # Five income runs of about 40 reference rows each (the sixth bin, "(null)", is empty).
    assert income_age.noise_floor.marginal_x == pytest.approx(4 * (1 / 200 + 1 / 200) / 2)


def test_a_profile_with_stored_pair_tables_stands_in_for_the_reference(tmp_path):
    rng = np.random.default_rng(6)
    ref, cur = _correlated(rng, 5000, 0.5), _correlated(rng, 5000, -0.2)
    built = kldrift.profile_data(ref)
    stored = pairs.with_pair_tables(built, ref, [("age", "income")])
    path = tmp_path / "ref.kldrift.json"
    profile_file.save(stored, path)
    loaded = profile_file.load(path)
    assert loaded.pairs == stored.pairs and len(loaded.pairs) == 1
    via_profile = pairs.compare_pairs(path, cur, [("income", "age")])
    via_data = pairs.compare_pairs(ref, cur, [("income", "age")])
    assert via_profile.pairs == via_data.pairs
    assert via_profile.pairs[0].status is Status.drift
    with pytest.raises(kldrift.InputError, match="no table for the pair income,city"):
        pairs.compare_pairs(path, cur, [("income", "city")])


def test_profiles_without_pairs_still_load(tmp_path):
    rng = np.random.default_rng(7)
    built = kldrift.profile_data(_correlated(rng, 100, 0.0))
    text = profile_file.dumps(built).replace(',\n "pairs": []', "")
    assert '"pairs"' not in text
    assert profile_file.loads(text).pairs == {}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p.update(columns=["zz", "age"]), "pair zz,age: no binned column 'zz'"),
        (lambda p: p["counts"][0].append(3), "pair income,age: expected 11 x 11 counts"),
        (lambda p: p["counts"].pop(), "pair income,age: expected 11 x 11 counts"),
        (lambda p: p["counts"][0].__setitem__(0, -1), "pair income,age: counts[0][0]: expected"),
    ],
)
def test_pair_tables_that_do_not_fit_the_bins_are_refused(edit, message):
    rng = np.random.default_rng(8)
    built = kldrift.profile_data(_correlated(rng, 100, 0.0))
    stored = pairs.with_pair_tables(built, _correlated(rng, 100, 0.0), [("income", "age")])
    document = json.loads(profile_file.dumps(stored))
    edit(document["pairs"][0])
    with pytest.raises(kldrift.InputError, match=re.escape(message)):
        profile_file.loads(json.dumps(document))


def test_merged_profiles_add_up_their_pair_tables():
    rng = np.random.default_rng(9)
    whole = _correlated(rng, 3000, 0.4)
    built = kldrift.profile_data(whole)
    parts = [
        pairs.with_pair_tables(profile.recount(scan_table(part), built), part, [("income", "age")])
        for part in (whole.head(1000), whole.tail(2000))
    ]
    merged = profile.merge(parts)
    assert merged.pairs == pairs.with_pair_tables(built, whole, [("income", "age")]).pairs
    with pytest.raises(kldrift.InputError, match="tables of different column pairs"):
        profile.merge([parts[0], profile.recount(scan_table(whole.tail(5)), built)])


def test_pair_levels_are_checked_like_the_column_levels():
    assert pairs.PairLevels().drift == pairs.DEFAULT_PAIR_DRIFT
    with pytest.raises(kldrift.OptionError, match="pair_drift must be a finite number > 0"):
        pairs.PairLevels(drift=0.0)
    with pytest.raises(kldrift.OptionError, match="pair_warn must not be above pair_drift"):
        pairs.PairLevels(drift=0.01, warn=0.02)
