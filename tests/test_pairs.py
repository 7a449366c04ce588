"""Pair tables counted with polars, the coarsening rule, and relationship drift end to end."""

import datetime as dt
import json
import math
import re
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

import kldrift
from kldrift import pairs, profile, profile_file
from kldrift.io import scan_table
from kldrift.options import DEFAULT_PAIR_DRIFT, Kind, Options, Status


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
@pytest.mark.parametrize("loaded", [True, False], ids=["numpy-binned", "polars-binned"])
def test_pair_tables_have_the_column_histograms_as_margins(bins, loaded):
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
        # In memory, quantile bins are numbered by numpy; a lazy frame has polars number them.
        table = scan_table(frame if loaded else frame.lazy())
        assert table.loaded is loaded
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


def test_a_float_binned_as_categories_is_paired_as_it_is_counted():
    # -0.0 is the category 0.0 and NaN a category of its own ("(other)" here), as in `count`.
    nan = float("nan")
    frame = pl.DataFrame(
        {"a": [0.0, -0.0, 1.5, None, nan, 1.5, 2.5], "b": ["x", "y", "x", None, "z", "x", "w"]}
    )
    table = scan_table(frame)
    built = profile.build(table, {"a": Kind.categorical, "b": Kind.categorical}, Options(top_k=1))
    binnings = {name: c.binning for name, c in built.columns.items()}
    assert binnings["a"].values == ("0.0",) and "NaN" in binnings["a"].rest
    _, histograms = profile.count(table, binnings)
    counts = pairs.count_pairs(table, binnings, [("a", "b")])[("a", "b")]
    # rows: 0.0, (other), (new), (null); columns: x, (other), (new), (null)
    assert counts.tolist() == [[1, 1, 0, 0], [2, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
    assert counts.sum(axis=1).tolist() == histograms["a"].tolist()
    assert counts.sum(axis=0).tolist() == histograms["b"].tolist()


def _typed_frame(rng, n, shift):
    """Columns of every kind --pairs numbers differently in memory and from files."""
    x = rng.normal(shift, 1, n)
    big = [2**64 - 1 - int(v) for v in rng.integers(0, 10**6, n)]
    return pl.DataFrame(
        {
            "f32": pl.Series(x.astype(np.float32)).scatter([4], None),
            "dec": pl.Series(np.round(x, 2)).cast(pl.Decimal(12, 2)),
            "day": pl.Series(rng.integers(0, 300, n), dtype=pl.Int32).cast(pl.Date),
            "wait": pl.Series(rng.integers(0, 10**9, n)).cast(pl.Duration("us")),
            "clock": pl.Series(rng.integers(0, 86_399 * 10**9, n)).cast(pl.Time),
            "big": pl.Series(big, dtype=pl.UInt64),
            "fc": pl.Series(np.round(x)).scatter([0, 1, 2], [-0.0, float("nan"), None]),
            "s": pl.Series(rng.choice(["a", "b", "c"], n)),
        }
    )


def test_pairs_are_the_same_streamed_from_files_as_numbered_in_memory(tmp_path):
    # In memory numpy numbers the quantile bins; streaming, polars does: the same tables.
    rng = np.random.default_rng(3)
    paths = []
    for side, shift in (("ref", 0.0), ("cur", 0.3)):
        paths.append(tmp_path / f"{side}.parquet")
        _typed_frame(rng, 3000, shift).write_parquet(paths[-1])
    options = {"categorical": ("fc",)}
    reports = [
        kldrift.compare(*paths, pairs="all", options=options, streaming=streaming)
        for streaming in (False, True)
    ]
    assert len(reports[0].pairs) == 28
    assert reports[0].pairs == reports[1].pairs


@pytest.mark.parametrize("wanted", ["all", (("x", "c"),)])
def test_pairs_are_the_same_however_the_reference_is_read(tmp_path, monkeypatch, wanted):
    # Small files: the reference is read into memory, profiled and numbered before the event
    # times, IDs and high-cardinality columns are known, and only its bin numbers are kept;
    # larger ones are counted from the files, or streamed. The same pairs either way, and none
    # of a column left out.
    from kldrift import io

    rng = np.random.default_rng(5)
    paths = []
    for side, start in (("ref", 0), ("cur", 3000)):
        frame = _mixed(rng, 3000).with_columns(
            pl.int_range(start, start + 3000).alias("id"),
            pl.Series("user", [f"u{start + i}" for i in range(3000)]),
        )
        paths.append(tmp_path / f"{side}.parquet")
        frame.write_parquet(paths[-1])
    in_memory = kldrift.compare(*paths, pairs=wanted)
    monkeypatch.setattr(io, "IN_MEMORY_SHARE", 0.0)
    from_files = kldrift.compare(*paths, pairs=wanted)
    streamed = kldrift.compare(*paths, pairs=wanted, streaming=True)
    left_out = {s.column: s.change for s in in_memory.schema if s.column in ("id", "user")}
    assert left_out == {"id": "increasing_id", "user": "high_cardinality"}
    paired = {name for p in in_memory.pairs for name in p.columns}
    assert paired == ({"x", "n", "c", "flag", "on", "day"} if wanted == "all" else {"x", "c"})
    assert len(in_memory.pairs) == (15 if wanted == "all" else 1)
    assert in_memory.pairs == from_files.pairs == streamed.pairs


@pytest.mark.parametrize("streaming", [False, True], ids=["in memory", "streamed"])
def test_paired_columns_are_scored_on_their_tables_margins_as_a_plain_compare(
    tmp_path, monkeypatch, streaming
):
    # With pairs, only the columns in no pair, and those with new categories to name, are
    # counted apart; every column's histogram, score and new categories are the plain compare's.
    rng = np.random.default_rng(11)
    paths = []
    for side, n in (("ref", 3000), ("cur", 2000)):
        frame = _mixed(rng, n)
        if side == "cur":
            frame = frame.with_columns(
                c=pl.when(pl.int_range(pl.len()) < 40).then(pl.lit("zz")).otherwise("c"),
            )
        paths.append(tmp_path / f"{side}.parquet")
        frame.write_parquet(paths[-1])
    plain = kldrift.compare(*paths, streaming=streaming)
    assert dict(plain.column("c").new_categories) == {"zz": 40}
    recounted = []
    count_naming_new = profile.count_naming_new

    def spy(table, binnings, *args, **kwargs):
        recounted.append(sorted(binnings))
        return count_naming_new(table, binnings, *args, **kwargs)

    monkeypatch.setattr(profile, "count_naming_new", spy)
    for wanted, again in [("all", ["c", "on"]), ((("x", "n"),), ["c", "day", "flag", "on"])]:
        recounted.clear()
        paired = kldrift.compare(*paths, pairs=wanted, streaming=streaming)
        # The last count is the current's ("on" has a new category too: false).
        assert recounted[-1] == again, wanted
        assert paired.columns == plain.columns, wanted
        assert paired.pairs


@pytest.mark.parametrize(
    ("rest", "expected"),
    [(("w",), [0, 1, 2, 3, 4]), (("v", "w"), [0, 2, 2, 3, 4])],
    ids=["distinct categories", "a tail repeating a value"],
)
def test_category_bin_numbers_follow_the_binnings_index(rest, expected):
    # Distinct categories are numbered by an Enum cast, others by a lookup; a value the tail
    # repeats is "(other)" either way, an unknown one "(new)", null "(null)".
    binning = profile.Binning(Kind.categorical, "categories", values=("u", "v"), rest=rest)
    frame = pl.DataFrame({"c": ["u", "v", "w", "z", None]})
    numbers = frame.select(profile.bin_index("c", pl.String, binning))["c"]
    assert numbers.to_list() == expected


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
    result = kldrift.compare(ref, cur, pairs="all")
    assert replace(result, pairs=()) == kldrift.compare(ref, cur)
    assert [c.status for c in result.columns] == [Status.ok] * 3
    assert not result.drifted_columns
    assert [p.columns for p in result.drifted_pairs] == [("income", "age")]
    assert result.drifted and not result.verdict.passed
    assert result.verdict.failing == ("income × age",)
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
    assert " × age " in flagged.describe(corner) and "% → " in flagged.describe(corner)
    assert all(p.status is Status.ok for p in result.pairs[1:])


def test_same_distribution_flags_no_pair():
    rng = np.random.default_rng(3)
    result = kldrift.compare(_correlated(rng, 5000, 0.5), _correlated(rng, 5000, 0.5), pairs="all")
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
    result = kldrift.compare(ref, pool[np.sort(chosen)], pairs=[("income", "age")])
    assert result.column("income").status is Status.drift
    (pair,) = result.pairs
    assert pair.kl.marginal_x > 0.1
    assert pair.kl_corrected.conditional_x_given_y > 0.05  # income given age did move
    assert pair.relationship < 0.005
    assert pair.status is Status.ok


def test_small_samples_coarsen_both_columns_the_same_way():
    rng = np.random.default_rng(5)
    result = kldrift.compare(_correlated(rng, 200, 0.5), _correlated(rng, 200, 0.5), pairs="all")
    income_age = next(p for p in result.pairs if p.columns == ("income", "age"))
    # cell_limit(200, 200) = 6 bins a column, "(null)" included; runs holding under 1/6 of
    # the rows on either side join a neighbour.
    rows, columns = income_age.shape
    assert 3 <= rows <= 6 and 3 <= columns <= 6
    assert income_age.kl.joint == pytest.approx(
        income_age.kl.marginal_y + income_age.kl.conditional_x_given_y, abs=1e-12
    )
    # Income runs of at least 1/6 of the rows each (the last bin, "(null)", is empty).
    assert income_age.noise_floor.marginal_x == pytest.approx((rows - 2) * (1 / 200 + 1 / 200) / 2)
    shares = np.asarray(income_age.reference_table).sum(axis=1)[:-1] / 200
    assert shares.min() >= 1 / 6


def test_a_profile_with_stored_pair_tables_stands_in_for_the_reference(tmp_path):
    rng = np.random.default_rng(6)
    ref, cur = _correlated(rng, 5000, 0.5), _correlated(rng, 5000, -0.2)
    built = kldrift.profile_data(ref)
    stored = pairs.with_pair_tables(built, scan_table(ref), [("age", "income")])
    path = tmp_path / "ref.kldrift.json"
    profile_file.save(stored, path)
    loaded = profile_file.load(path)
    assert loaded.pairs == stored.pairs and len(loaded.pairs) == 1
    via_profile = kldrift.compare(path, cur, pairs=[("income", "age")])
    via_data = kldrift.compare(ref, cur, pairs=[("income", "age")])
    assert via_profile.pairs == via_data.pairs
    assert via_profile.pairs[0].status is Status.drift
    with pytest.raises(kldrift.InputError, match="no table for the pair income,city"):
        kldrift.compare(path, cur, pairs=[("income", "city")])


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
    stored = pairs.with_pair_tables(
        built, scan_table(_correlated(rng, 100, 0.0)), [("income", "age")]
    )
    document = json.loads(profile_file.dumps(stored))
    edit(document["pairs"][0])
    with pytest.raises(kldrift.InputError, match=re.escape(message)):
        profile_file.loads(json.dumps(document))


def test_merged_profiles_add_up_their_pair_tables():
    rng = np.random.default_rng(9)
    whole = _correlated(rng, 3000, 0.4)
    built = kldrift.profile_data(whole)
    parts = [
        pairs.with_pair_tables(
            profile.recount(scan_table(part), built), scan_table(part), [("income", "age")]
        )
        for part in (whole.head(1000), whole.tail(2000))
    ]
    merged = profile.merge(parts)
    assert (
        merged.pairs == pairs.with_pair_tables(built, scan_table(whole), [("income", "age")]).pairs
    )
    with pytest.raises(kldrift.InputError, match="tables of different column pairs"):
        profile.merge([parts[0], profile.recount(scan_table(whole.tail(5)), built)])


def test_pair_levels_are_checked_like_the_column_levels():
    assert kldrift.PairLevels().drift == DEFAULT_PAIR_DRIFT
    with pytest.raises(kldrift.OptionError, match="pair_threshold must be a finite number > 0"):
        kldrift.PairLevels(drift=0.0)
    with pytest.raises(kldrift.OptionError, match="pair_warn must not be above pair_threshold"):
        kldrift.PairLevels(drift=0.01, warn=0.02)


def test_two_columns_that_drift_apart_from_each_other_keep_their_relationship():
    # income and age both move, independently on both sides: two drifted columns, no drifted
    # pair (each conditional changes with the other column's marginal).
    rng = np.random.default_rng(11)
    ref = _correlated(rng, 20_000, 0.0)
    cur = _correlated(rng, 20_000, 0.0).with_columns(
        pl.col("income") + 800, (pl.col("age") * 1.5).alias("age")
    )
    result = kldrift.compare(ref, cur, pairs=[("income", "age")])
    assert {c.name for c in result.drifted_columns} == {"income", "age"}
    (pair,) = result.pairs
    assert pair.kl_corrected.conditional_y_given_x > 0.1
    assert pair.status is Status.ok and pair.relationship < 0.005


def test_merge_sparse_joins_runs_thin_on_either_side():
    binning = profile.Binning(Kind.numeric, "quantile", edges=(1.0, 2.0, 3.0, 4.0))
    mapping, names = tuple(range(6)), ("<= 1", "(1, 2]", "(2, 3]", "(3, 4]", "> 4", "(null)")
    reference, current = [20, 20, 20, 20, 20, 0], [5, 15, 20, 30, 30, 0]
    merged, labels = pairs.merge_sparse(binning, mapping, names, (reference, current), limit=6)
    assert merged == (0, 0, 1, 2, 3, 4)
    assert labels == ("<= 2", "(2, 3]", "(3, 4]", "> 4", "(null)")
    assert pairs.merge_sparse(binning, mapping, names, (reference, reference), 6)[0] == mapping
