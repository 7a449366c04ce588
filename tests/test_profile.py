"""Bins fitted on the reference, and histograms of both sides on those bins."""

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from kldrift import io, profile
from kldrift.io import scan_table
from kldrift.options import Kind, Options


def _fit_and_count(reference: pl.DataFrame, current: pl.DataFrame, **options):
    ref, cur = scan_table(reference), scan_table(current)
    kinds = {name: profile.kind_of(dtype) for name, dtype in ref.schema.items()}
    built = profile.build(ref, kinds, Options(**options))
    binnings = {name: p.binning for name, p in built.columns.items()}
    rows, counts = profile.count(cur, binnings)
    return built, rows, {name: c.tolist() for name, c in counts.items()}


def test_quantile_bins_have_open_outer_bins_for_out_of_range_values():
    reference = pl.DataFrame({"x": [float(v) for v in range(1, 101)]})
    current = pl.DataFrame({"x": [-1000.0, 0.5, 50.0, 100.5, 1e9]})
    built, rows, counts = _fit_and_count(reference, current, bins=4)
    binning = built.columns["x"].binning
    assert binning.method == "quantile"
    assert binning.edges == (25.75, 50.5, 75.25)
    assert built.columns["x"].counts == (25, 25, 25, 25, 0)
    assert counts["x"] == [2, 1, 0, 2, 0]
    assert rows == 5
    assert binning.labels == ("<= 25.75", "(25.75, 50.5]", "(50.5, 75.25]", "> 75.25", "(null)")


def test_quantiles_interpolate_linearly_between_order_statistics():
    # n = 3: positions 0.5 and 1.5 at the quartiles, 1 (a whole one) at the median.
    assert profile.quantiles(np.array([3.0, 1.0, 2.0]), [0.25, 0.5, 0.75]).tolist() == [
        1.5,
        2.0,
        2.5,
    ]
    assert profile.quantiles(np.array([10, 0, 5]), [0.1]).tolist() == [1.0]  # integers
    inf = math.inf
    # Equal neighbours, and a whole position, are taken as they are: no inf - inf.
    assert profile.quantiles(np.array([-inf, -inf, 1.0]), [0.25, 0.5]).tolist() == [-inf, -inf]
    assert math.isnan(profile.quantiles(np.array([-inf, 1.0]), [0.5])[0])
    assert np.isnan(profile.quantiles(np.array([], dtype=np.float64), [0.5, 0.9])).all()


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, n: rng.normal(size=n) * 10.0 ** rng.integers(-300, 300),
        lambda rng, n: rng.integers(-5, 5, size=n).astype(np.float64),
        lambda rng, n: rng.integers(-(2**62), 2**62, size=n),  # beyond floats' 2**53
        lambda rng, n: np.round(rng.normal(size=n), 2),
        lambda rng, n: rng.choice([-math.inf, math.inf, 1.0, 2.0, -1e308, 1e308], size=n),
    ],
)
def test_quantiles_are_polars_linear_quantiles_bit_for_bit(draw):
    # Profiles fitted by polars' quantile before are fitted to the same edges now.
    rng = np.random.default_rng(7)
    levels = [j / 10 for j in range(1, 10)]
    for _ in range(60):
        values = draw(rng, int(rng.integers(1, 2000)))
        ours = profile.quantiles(values, levels)
        frame = pl.DataFrame({"x": values}).select(pl.col("x").quantile(levels, "linear"))
        theirs = np.array(frame["x"][0].to_list(), dtype=np.float64)
        assert np.array_equal(ours, theirs, equal_nan=True), (values, ours, theirs)


@pytest.mark.parametrize("way", sorted(profile._WAYS))
def test_each_way_puts_each_asked_rank_where_a_sort_would(way):
    rng = np.random.default_rng(11)
    for _ in range(200):
        values = rng.integers(-3, 4, size=int(rng.integers(1, 300))).astype(np.float64)
        ranks = sorted(set(rng.integers(0, len(values), size=int(rng.integers(0, 20))).tolist()))
        placed = values.copy()
        profile._WAYS[way](placed, ranks)
        assert placed[ranks].tolist() == np.sort(values)[ranks].tolist()
        assert sorted(placed.tolist()) == sorted(values.tolist())  # the same values, moved
    values = np.array([3.0, 1.0, 2.0])
    profile.quantiles(values, [0.5])
    assert values.tolist() == [3.0, 1.0, 2.0]  # the caller's array is left as it was


def test_the_selection_times_both_ways_then_keeps_the_faster(monkeypatch):
    calls = []
    slow = {"sort": 3.0, "all_at_once": 1.0}
    now = [0.0]  # a clock that only the ways move: each costs its `slow` seconds

    def way(name):
        def run(values, ranks):
            calls.append(name)
            now[0] += slow[name]
            values.sort()

        return run

    monkeypatch.setattr(profile, "_WAYS", {name: way(name) for name in slow})
    monkeypatch.setattr(profile.time, "perf_counter", lambda: now[0])
    selection = profile.Selection(trials=4, timed_from=10)
    rng = np.random.default_rng(3)
    small = rng.normal(size=5)
    selection.place(small.copy(), [2])  # too small to time: all at once, not counted
    assert calls == ["all_at_once"] and selection.chosen is None
    for _ in range(6):
        values = rng.normal(size=50)
        placed = values.copy()
        selection.place(placed, [0, 25, 49])
        assert placed[[0, 25, 49]].tolist() == np.sort(values)[[0, 25, 49]].tolist()
    # Two timed runs of each way, alternating, then only the faster.
    assert calls[1:5] in (
        ["sort", "all_at_once"] * 2,
        ["all_at_once", "sort"] * 2,
    )
    assert selection.chosen == "all_at_once" and calls[5:] == ["all_at_once"] * 2
    slow.update(sort=0.5)
    chooser = profile.Selection(trials=2, timed_from=10)
    for _ in range(3):
        chooser.place(rng.normal(size=50), [10])
    assert chooser.chosen == "sort"


def test_quantile_numbers_count_the_edges_below_each_value():
    # A value on an edge is in the bin below it; NaN (null, as quantile_values gives it) last.
    values = np.array([1.5, 2.0, np.nan, -np.inf, np.inf])
    assert profile.quantile_numbers(values, [1.5]).tolist() == [0, 1, 2, 0, 1]
    assert profile.quantile_numbers(values, []).tolist() == [0, 0, 1, 0, 0]


def _hostile_numbers(dtype, rng, n=600):
    """n values of `dtype` with the awkward ones of its kind (signed zeros, infinities, NaN,
    values float32 cannot hold exactly, integers beyond 2**53) and two nulls, as a frame."""
    if dtype == pl.Float32:
        values = [*rng.normal(0, 1, n - 4).astype(np.float32).tolist(), 0.1, -0.0, np.inf, np.nan]
    elif dtype.is_float() or isinstance(dtype, pl.Decimal):
        values = [*np.round(rng.normal(0, 100, n - 4), 2).tolist(), 0.0, -0.0, 0.1, 1e-300]
        if dtype.is_float():
            values[-2:] = [np.inf, np.nan]
    elif dtype == pl.UInt64:
        values = [2**64 - 1 - int(v) for v in rng.integers(0, 2**20, n)]
    elif dtype == pl.Int64:
        values = [2**62 + int(v) for v in rng.integers(-(2**20), 2**20, n)]
    elif dtype == pl.Int8:
        values = rng.integers(-128, 128, n).tolist()
    else:  # dates and datetimes: days (or ns, ms) either side of 1970
        values = rng.integers(-(10**5), 10**5, n).tolist()
    if isinstance(dtype, pl.Decimal):
        series = pl.Series("v", values).cast(dtype)
    elif dtype == pl.Date:
        series = pl.Series("v", values, dtype=pl.Int32).cast(pl.Date)
    elif isinstance(dtype, pl.Datetime):
        series = pl.Series("v", values, dtype=pl.Int64).cast(dtype)
    else:
        series = pl.Series("v", values, dtype=dtype)
    row = pl.int_range(pl.len())
    nulled = pl.when(row.is_in([1, 2])).then(None).otherwise(pl.col("v"))
    return series.to_frame().select(nulled.alias("v"))


@pytest.mark.parametrize("edges", [6, 40], ids=["compared", "searched"])
@pytest.mark.parametrize(
    "dtype",
    [pl.Float64, pl.Float32, pl.Int8, pl.Int64, pl.UInt64, pl.Decimal(12, 2), pl.Date,
     pl.Datetime("ns"), pl.Datetime("ms")],
    ids=str,
)
def test_quantile_numbers_are_the_bins_polars_gives(dtype, edges):
    # numpy's twin of bin_index (quantile bins of data in memory, used by --pairs) agrees with
    # it row for row: edges on values and between them, in the column's own float type.
    rng = np.random.default_rng(edges)
    frame = _hostile_numbers(dtype, rng)
    numbers = frame.select(profile.as_number("v", dtype).cast(pl.Float64))["v"].drop_nulls()
    finite = np.unique(numbers.filter(numbers.is_finite()).to_numpy())
    picked = rng.choice(finite, edges // 2, replace=False)
    between = rng.choice(finite[:-1], edges - edges // 2, replace=False) + np.diff(finite).min() / 2
    cut = sorted({*picked.tolist(), *between.tolist(), 0.1} - {-0.0})[:edges]
    binning = profile.Binning(Kind.numeric, "quantile", edges=tuple(cut))
    expected = frame.select(profile.bin_index("v", dtype, binning))["v"].to_list()
    values = frame.select(profile.quantile_values("v", dtype))["v"].to_numpy()
    assert profile.quantile_numbers(values, binning.edges).tolist() == expected
    assert len(set(expected)) > edges // 2  # the data spans the bins


def test_nulls_and_nan_share_the_null_bin():
    reference = pl.DataFrame({"x": [float(v) for v in range(30)] + [None, math.nan]})
    built, _, counts = _fit_and_count(reference, reference, bins=3)
    assert built.columns["x"].counts[-1] == 2
    assert sum(built.columns["x"].counts) == 32
    assert counts["x"] == list(built.columns["x"].counts)


def test_skewed_data_collapses_duplicate_edges():
    reference = pl.DataFrame({"x": [0.0] * 90 + [float(v) for v in range(1, 31)]})
    built, _, _ = _fit_and_count(reference, reference, bins=10)
    binning = built.columns["x"].binning
    assert binning.edges[0] == 0.0
    assert list(binning.edges) == sorted(set(binning.edges))
    assert len(binning.edges) < 9
    assert built.columns["x"].counts[0] == 90


def test_few_distinct_numbers_get_one_bin_per_value_and_an_other_bin():
    reference = pl.DataFrame({"k": [1, 2, 2, 3, 3, 3]})
    current = pl.DataFrame({"k": [1, 3, 7, 9, None]})
    built, _, counts = _fit_and_count(reference, current)
    binning = built.columns["k"].binning
    assert binning.method == "discrete"
    assert binning.labels == ("1", "2", "3", "(other)", "(null)")
    assert built.columns["k"].counts == (1, 2, 3, 0, 0)
    assert counts["k"] == [1, 0, 1, 2, 1]


def test_constant_column_is_one_value_bin():
    built, _, counts = _fit_and_count(
        pl.DataFrame({"c": [5.0] * 10}), pl.DataFrame({"c": [5.0, 6.0]})
    )
    assert built.columns["c"].binning.labels == ("5", "(other)", "(null)")
    assert counts["c"] == [1, 1, 0]


def test_categories_top_k_other_and_new():
    reference = pl.DataFrame({"s": ["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"]})
    current = pl.DataFrame({"s": ["a", "c", "d", "zzz", "zzz", None]})
    built, _, counts = _fit_and_count(reference, current, top_k=2)
    binning = built.columns["s"].binning
    assert binning.labels == ("a", "b", "(other)", "(new)", "(null)")
    assert binning.rest == ("c", "d")
    assert built.columns["s"].counts == (5, 3, 3, 0, 0)
    assert counts["s"] == [1, 0, 2, 2, 1]


def test_category_ties_are_broken_by_value():
    reference = pl.DataFrame({"s": ["b", "a", "c", "a", "b", "c"]})
    built, _, _ = _fit_and_count(reference, reference, top_k=2)
    assert built.columns["s"].binning.values == ("a", "b")


def test_booleans_are_categorical():
    reference = pl.DataFrame({"b": [True, False, True, None]})
    built, _, _ = _fit_and_count(reference, reference)
    assert built.columns["b"].binning.kind is Kind.categorical
    assert built.columns["b"].binning.labels == ("true", "false", "(other)", "(new)", "(null)")
    assert built.columns["b"].counts == (2, 1, 0, 0, 1)


@pytest.mark.parametrize(
    "values", [[True, False, True, None], [True, True], [None, None], [False, None], []]
)
@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_booleans_are_counted_as_a_group_by_counts_them(values, engine):
    # Booleans are counted by sums, not grouped: the same (value, n) rows, empty groups left out.
    table = scan_table(pl.DataFrame({"b": values}, schema={"b": pl.Boolean}))
    counted = profile._group_count(table, "b").collect(engine=engine)
    grouped = table.frame.group_by(pl.col("b").alias("value")).agg(pl.len().alias("n")).collect()
    assert counted.schema == grouped.schema
    assert sorted(counted.rows(), key=str) == sorted(grouped.rows(), key=str)


@pytest.mark.parametrize("python_binned", [0, 50_000])
def test_category_tallies_are_the_same_in_python_and_in_polars(monkeypatch, python_binned):
    # Small (value, n) tables are binned in Python, large ones by a polars query: same bins.
    monkeypatch.setattr(profile, "_PYTHON_BINNED", python_binned)
    reference = pl.DataFrame({"value": ["c", None, "a", "d", "b"], "n": [3, 2, 5, 1, 4]})
    order = profile.ranked(reference.lazy()).collect()
    assert order.rows() == [("a", 5), ("b", 4), ("c", 3), ("d", 1), (None, 2)]
    binning = profile._categories(order, top_k=2)
    assert binning.values == ("a", "b") and binning.rest == ("c", "d")
    assert profile._tail_singletons(binning, order) == 1  # d
    current = pl.DataFrame({"value": ["d", "zz", None, "a", "yy", "xx"], "n": [7, 3, 2, 1, 4, 3]})
    # a, b, (other): d, (new): zz, yy and xx, (null)
    histogram, new = profile._tally(binning, current, limit=2)
    assert histogram.tolist() == [1, 0, 7, 10, 2]
    assert new == (("yy", 4), ("xx", 3))  # most rows first, then by value
    assert profile._tally(binning, current, limit=0)[1] == ()
    # A reference's own histogram, read off its ranked order, is its tally on its bins.
    own, none_new = profile._tally(binning, reference, limit=5)
    assert profile._ranked_counts(binning, order).tolist() == own.tolist() == [5, 4, 4, 0, 2]
    assert none_new == ()


def test_ranked_order_breaks_ties_by_value_whatever_the_type():
    counts = pl.DataFrame({"value": [2.5, None, -1.0, 10.0], "n": [1, 1, 1, 2]})
    order = profile.ranked(counts.lazy()).collect()
    assert order.rows() == [("10.0", 2), ("-1.0", 1), ("2.5", 1), (None, 1)]  # as strings


def test_dates_are_binned_as_numbers_with_date_labels():
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(100)]
    built, _, counts = _fit_and_count(
        pl.DataFrame({"d": days}), pl.DataFrame({"d": [dt.date(2030, 1, 1)]}), bins=2
    )
    binning = built.columns["d"].binning
    assert binning.kind is Kind.temporal
    assert binning.labels[0] == "<= 2024-02-19"
    assert counts["d"] == [0, 1, 0]


def test_a_datetime_current_is_binned_on_a_date_reference():
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(40)]
    stamps = [dt.datetime(2024, 1, 1) + dt.timedelta(days=i) for i in range(40)]
    built, _, counts = _fit_and_count(pl.DataFrame({"d": days}), pl.DataFrame({"d": stamps}))
    assert counts["d"] == list(built.columns["d"].counts)


def test_histograms_sum_to_the_row_count():
    rng = np.random.default_rng(1)
    frame = pl.DataFrame(
        {
            "x": rng.normal(size=500),
            "n": rng.integers(0, 100, 500),
            "s": rng.choice(list("abcdefghij"), 500),
        }
    ).with_columns(pl.when(pl.col("x") > 1).then(None).otherwise(pl.col("x")).alias("x"))
    built, rows, counts = _fit_and_count(frame, frame.sample(fraction=0.5, seed=1), top_k=4)
    assert rows == 250
    for name, column in built.columns.items():
        assert sum(column.counts) == 500
        assert sum(counts[name]) == 250
        assert len(column.counts) == len(column.binning.labels)


def test_the_distinct_screen_on_the_samples_first_rows_loses_no_discrete_column(monkeypatch):
    # The estimate on the first rows only rules columns out; the exact count decides.
    monkeypatch.setattr(profile, "DISTINCT_SCREEN_ROWS", 100)
    n = 1_000
    few_then_many = np.where(np.arange(n) < 100, 1.0, np.arange(n, dtype=np.float64))
    few_late = np.where(np.arange(n) < 900, 0, np.arange(n) % 3 + 1)  # 0 first, 1-3 at the end
    many_early = np.arange(n) % 200  # 100 distinct in the first 100 rows: ruled out at once
    frame = pl.DataFrame({"a": few_then_many, "b": few_late, "c": many_early})
    built, _, _ = _fit_and_count(frame, frame, bins=4)
    assert built.columns["a"].binning.method == "quantile"
    assert built.columns["b"].binning.method == "discrete"
    assert built.columns["b"].binning.values == (0, 1, 2, 3)
    assert built.columns["c"].binning.method == "quantile"


@pytest.mark.parametrize(
    ("dtype", "kind"),
    [
        (pl.Int8, Kind.numeric),
        (pl.Float32, Kind.numeric),
        (pl.String, Kind.categorical),
        (pl.Categorical, Kind.categorical),
        (pl.Boolean, Kind.categorical),
        (pl.Datetime("ms"), Kind.temporal),
        (pl.Duration("us"), Kind.temporal),
        (pl.List(pl.Int64), None),
        (pl.Binary, None),
    ],
)
def test_kind_of(dtype, kind):
    assert profile.kind_of(dtype) is kind


def test_a_large_reference_is_fitted_on_every_kth_row_and_counted_on_all(monkeypatch):
    monkeypatch.setattr(profile, "FIT_SAMPLE_ROWS", 1_000)
    n = 10_000
    rng = np.random.default_rng(7)
    x = rng.lognormal(size=n)
    # A value at rows 3, 13, 23, ...: never on a sampled row (0, 10, 20, ...).
    k = np.where(np.arange(n) % 10 == 3, 99, np.arange(n) % 7)
    built, rows, counts = _fit_and_count(
        pl.DataFrame({"x": x, "k": k}), pl.DataFrame({"x": x, "k": k}), bins=4
    )
    sample = x[::10]
    expected = np.quantile(sample, [0.25, 0.5, 0.75])
    assert built.columns["x"].binning.edges == pytest.approx(tuple(expected), rel=1e-12)
    assert sum(built.columns["x"].counts) == rows == n
    # Discrete by the sample, so the unsampled 99 counts in "(other)" on both sides.
    discrete = built.columns["k"].binning
    assert discrete.method == "discrete" and discrete.values == (0, 1, 2, 3, 4, 5, 6)
    per_value = [int((k == v).sum()) for v in range(7)]
    assert built.columns["k"].counts == (*per_value, 1000, 0)
    assert counts["k"] == list(built.columns["k"].counts)


def _wide_pair(tmp_path, columns=40, rows=1_000):
    rng = np.random.default_rng(7)
    paths = []
    for side, shift in [("ref", 0.0), ("cur", 0.3)]:
        frame = pl.DataFrame(
            {
                **{f"x{i}": rng.normal(shift * (i % 3), 1.0, rows) for i in range(columns)},
                "s": rng.choice(["a", "b", "c"], rows),
            }
        )
        path = tmp_path / f"{side}.parquet"
        frame.write_parquet(path)
        paths.append(path)
    return paths


def test_a_wide_parquet_table_is_profiled_a_batch_of_columns_at_a_time(tmp_path, monkeypatch):
    ref_path, cur_path = _wide_pair(tmp_path)
    ref, cur = scan_table(ref_path), scan_table(cur_path)
    kinds = {name: profile.kind_of(dtype) for name, dtype in ref.schema.items()}
    whole = profile.build(ref, kinds, Options())
    binnings = {name: p.binning for name, p in whole.columns.items()}
    whole_counts = profile.count(cur, binnings)

    # A batch budget of half the table: batches of whole columns (20, 20, 1), in order.
    assert ref.memory is not None
    monkeypatch.setattr("kldrift.io.BATCH_MEMORY", ref.memory // 2 + 1)
    ref, cur = scan_table(ref_path), scan_table(cur_path)
    parts = io.batches(ref, list(kinds))
    assert [len(part) for part in parts] == [20, 20, 1]
    assert [name for part in parts for name in part] == list(kinds)
    read = []
    original = profile.load
    monkeypatch.setattr(
        profile,
        "load",
        lambda table, columns: read.append(list(columns)) or original(table, columns),
    )
    batched = profile.build(ref, kinds, Options())
    rows, counts = profile.count(cur, binnings)

    # Profiled, then counted: each batch read on its own, never the whole table.
    assert read == parts + parts
    assert batched == whole
    assert list(batched.columns) == list(kinds)
    assert rows == whole_counts[0] == 1_000
    assert {n: c.tolist() for n, c in counts.items()} == {
        n: c.tolist() for n, c in whole_counts[1].items()
    }


def test_a_long_table_is_streamed_rather_than_batched(tmp_path, monkeypatch):
    ref_path, _ = _wide_pair(tmp_path, columns=4)
    table = scan_table(ref_path)
    assert table.memory is not None
    # Half the table per batch: 2.5 columns, fewer than BATCH_MIN_COLUMNS.
    monkeypatch.setattr("kldrift.io.BATCH_MEMORY", table.memory // 2)
    assert not io.batched(scan_table(ref_path))
    assert io.batches(scan_table(ref_path), ["x0", "x1"]) == [["x0", "x1"]]


def test_the_memory_estimate_counts_decoded_strings_not_file_bytes(tmp_path):
    path = tmp_path / "few.parquet"
    pl.DataFrame({f"s{i}": ["alpha", "beta"] * 5_000 for i in range(20)}).write_parquet(path)
    table = scan_table(path)
    # Dictionary-encoded, the file is a few kB; in memory each value is a 16-byte view.
    assert path.stat().st_size * 3 < table.memory == 10_000 * 20 * 16


# Extreme but legal values: whole ranges of dates and integers.

from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import kldrift  # noqa: E402

WHOLE_RANGE = settings(max_examples=60, deadline=None)
DATE_DAYS = st.integers(min_value=-(2**31), max_value=2**31 - 1)


def _days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date, counted the plain way."""
    if month <= 2:
        year, month = year - 1, month + 12
    leap_days = year // 4 - year // 100 + year // 400
    return 365 * year + leap_days + (153 * (month - 3) + 2) // 5 + day - 719469


@WHOLE_RANGE
@given(st.integers(min_value=-95_000_000, max_value=95_000_000))
def test_dates_are_labelled_as_polars_writes_them(days):
    # polars (chrono) formats dates up to about year 262,000 either side.
    date = pl.Series([days], dtype=pl.Int32).cast(pl.Date)
    assert profile.format_value(days * 86_400e6, "date") == date.cast(pl.String)[0]
    assert profile.iso_timestamps(date) == [date.cast(pl.String)[0]]


@WHOLE_RANGE
@given(DATE_DAYS)
def test_date_labels_read_back_to_their_day_across_the_date_range(days):
    label = profile.iso_timestamps(pl.Series([days], dtype=pl.Int32).cast(pl.Date))[0]
    year, month, day = (int(part) for part in label.lstrip("+").rsplit("-", 2))
    if label.startswith("-"):
        year = -int(label[1:].split("-")[0])
    assert 1 <= month <= 12 and 1 <= day <= 31
    assert _days_from_civil(year, month, day) == days


@WHOLE_RANGE
@given(st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)))
def test_datetimes_in_python_range_are_labelled_as_before(stamp):
    micros = (stamp - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
    assert profile.iso_timestamps(pl.Series([stamp])) == [stamp.isoformat()]
    # Edges are floats: the label is that of the float, as Python's datetime gives it.
    delta = dt.timedelta(microseconds=round(float(micros)))
    shown = dt.datetime(1970, 1, 1) + delta
    expected = shown.date().isoformat() if shown.time() == dt.time(0) else str(shown)
    assert profile.format_value(float(micros), "datetime") == expected
    assert profile.format_value(float(micros), "duration") == str(delta)


@WHOLE_RANGE
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=30))
@example([2**63 - 1, 2**63 - 2, 2**63 - 1, -(2**63)])  # the case: one float, two ints
def test_int64_values_across_their_range_profile_and_compare(values):
    frame = pl.DataFrame({"i": pl.Series(values, dtype=pl.Int64)})
    report = kldrift.compare(frame, frame)
    (column,) = report.columns
    assert sum(column.reference_counts) == len(values) and column.kl == 0.0
    assert not report.drifted


@WHOLE_RANGE
@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=30))
@example([2**64 - 1, 2**64 - 2, 0])
def test_uint64_values_near_their_maximum_profile_and_compare(values):
    frame = pl.DataFrame({"u": pl.Series(values, dtype=pl.UInt64)})
    (column,) = kldrift.compare(frame, frame).columns
    assert sum(column.reference_counts) == len(values) and column.kl == 0.0


@WHOLE_RANGE
@given(st.lists(DATE_DAYS, min_size=1, max_size=40))
def test_dates_across_their_range_profile_and_compare(days):
    frame = pl.DataFrame({"d": pl.Series(days, dtype=pl.Int32).cast(pl.Date)})
    report = kldrift.compare(frame, frame)
    (column,) = report.columns
    assert sum(column.reference_counts) == len(days) and column.null_share_reference == 0
    assert all(isinstance(label, str) for label in column.labels)


def test_millisecond_datetimes_beyond_the_microsecond_range_are_not_null():
    # Arrow's seconds become polars milliseconds; 10**19 us is past Int64.
    ms = [10**16, 10**16 + 1000, 0, -(10**16)]
    frame = pl.DataFrame({"t": pl.Series(ms, dtype=pl.Int64).cast(pl.Datetime("ms"))})
    (column,) = kldrift.compare(frame, frame).columns
    assert column.reference_counts[-1] == 0  # the "(null)" bin
    assert column.binning.values == tuple(sorted(v * 1000.0 for v in ms))
    for label, value in zip(column.labels, sorted(ms), strict=False):
        date = label.split(" ")[0]
        sign, (year, month, day) = date.startswith("-"), date.lstrip("+-").split("-")
        days = _days_from_civil(-int(year) if sign else int(year), int(month), int(day))
        assert days == value // 86_400_000


def test_zero_and_negative_zero_are_one_category_whatever_the_row_order():
    values = [0.0, -0.0, 1.5, 0.0, -0.0, 2.5]
    options = Options(categorical=("z",))
    first = kldrift.profile_data(pl.DataFrame({"z": values}), options=options)
    second = kldrift.profile_data(pl.DataFrame({"z": values[::-1]}), options=options)
    assert first.columns == second.columns
    assert first.columns["z"].binning.values == ("0.0", "1.5", "2.5")


def test_a_column_named_like_the_row_index_does_not_break_the_sampled_fit(monkeypatch):
    monkeypatch.setattr(profile, "FIT_SAMPLE_ROWS", 10)
    frame = pl.DataFrame({"#row": list(range(100)), "x": [i % 7 for i in range(100)]})
    report = kldrift.compare(frame, frame)
    assert {c.name for c in report.columns} == {"#row", "x"} and not report.drifted


@WHOLE_RANGE
@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=30),
    st.sampled_from(["ms", "us", "ns"]),
)
def test_datetimes_across_the_int64_range_of_every_unit_profile_and_compare(values, unit):
    frame = pl.DataFrame({"t": pl.Series(values, dtype=pl.Int64).cast(pl.Datetime(unit))})
    (column,) = kldrift.compare(frame, frame).columns
    assert sum(column.reference_counts) == len(values) and column.null_share_reference == 0
    assert all(isinstance(label, str) for label in column.labels) and column.kl == 0.0


def test_128_bit_integers_are_binned_as_the_floats_they_round_to():
    # numpy has no 128-bit integers: they are fitted and counted as floats, like decimals.
    values = [i * 10**25 for i in range(100)]
    wide = pl.DataFrame({"x": pl.Series(values, dtype=pl.Int128)})
    floats = pl.DataFrame({"x": [float(v) for v in values]})
    built, rows, counts = _fit_and_count(wide, wide.head(50), bins=4)
    expected, _, expected_counts = _fit_and_count(floats, floats.head(50), bins=4)
    assert built.columns["x"].binning.edges == expected.columns["x"].binning.edges
    assert built.columns["x"].binning.edges[0] == pytest.approx(24.75e25)
    assert counts == expected_counts == {"x": [25, 25, 0, 0, 0]}
