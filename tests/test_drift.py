"""compare(): scores against scipy, invariants, decisions and schema drift, on real frames."""

import math
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.stats import chi2, chi2_contingency, false_discovery_control
from scipy.stats import entropy as scipy_entropy

import kldrift
from kldrift import Options, Status, Thresholds, drift, metrics, profile, significance
from kldrift.errors import ColumnError, InputError
from kldrift.registry import Metric


@pytest.fixture
def pair():
    rng = np.random.default_rng(7)
    reference = pl.DataFrame(
        {
            "stable": rng.normal(size=3000),
            "shifted": rng.normal(size=3000),
            "color": rng.choice(["red", "green", "blue"], 3000, p=[0.5, 0.3, 0.2]),
        }
    )
    current = pl.DataFrame(
        {
            "stable": rng.normal(size=2000),
            "shifted": rng.normal(loc=1.0, size=2000),
            "color": rng.choice(["red", "green", "blue"], 2000, p=[0.5, 0.3, 0.2]),
        }
    )
    return reference, current


def test_flags_only_the_shifted_column(pair):
    report = kldrift.compare(*pair)
    status = {c.name: c.status for c in report.columns}
    assert status == {"shifted": Status.drift, "stable": Status.ok, "color": Status.ok}
    assert report.drifted
    assert report.summary == "1 of 3 columns drifted"
    assert [c.name for c in report.columns][0] == "shifted"  # most drifted first


def test_the_summary_counts_one_column_and_one_window_in_the_singular(pair):
    from kldrift.report.windows import summary

    one = kldrift.compare(*pair, columns=["shifted"])
    assert one.summary == "1 of 1 column drifted"
    assert summary([one]) == "1 of 1 window drifted"
    assert summary([one, one]) == "2 of 2 windows drifted"


def test_a_dataset_against_itself_scores_exactly_zero(pair):
    report = kldrift.compare(pair[0], pair[0])
    assert [c.kl for c in report.columns] == [0.0, 0.0, 0.0]
    assert not report.drifted
    assert report.status is Status.ok


@pytest.mark.parametrize("smoothing", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("base", [math.e, 2.0])
def test_scores_equal_scipy_on_the_reported_histograms(pair, smoothing, base):
    report = kldrift.compare(*pair, options=Options(smoothing=smoothing, base=base))
    for column in report.columns:
        ref = np.array(column.reference_counts, dtype=float)
        cur = np.array(column.current_counts, dtype=float)
        keep = (ref > 0) | (cur > 0)
        expected = scipy_entropy(ref[keep] + smoothing, cur[keep] + smoothing, base=base)
        assert column.kl == pytest.approx(expected, abs=1e-9)
        assert column.entropy == pytest.approx(
            scipy_entropy(ref[keep] + smoothing, base=base), abs=1e-9
        )
        assert abs(column.cross_entropy - (column.entropy + column.kl)) <= 1e-12
        assert column.kl >= 0


def test_base_two_reports_bits_but_decides_the_same(pair):
    nats = kldrift.compare(*pair)
    bits = kldrift.compare(*pair, options=Options(base=2))
    for a, b in zip(nats.columns, bits.columns, strict=True):
        assert b.kl == pytest.approx(a.kl / math.log(2), rel=1e-12)
        assert b.status is a.status


def test_unsmoothed_kl_is_infinite_when_a_reference_bin_empties():
    reference = pl.DataFrame({"s": ["a", "b"] * 10})
    current = pl.DataFrame({"s": ["a"] * 10})
    assert kldrift.compare(reference, current, options=Options(smoothing=0)).columns[0].kl == (
        math.inf
    )
    smoothed = kldrift.compare(reference, current).columns[0]
    assert math.isfinite(smoothed.kl)
    assert smoothed.status is Status.drift


def test_null_rate_rise_is_drift():
    reference = pl.DataFrame({"x": [float(i) for i in range(100)]})
    current = pl.DataFrame({"x": [float(i) if i % 2 else None for i in range(100)]})
    column = kldrift.compare(reference, current).columns[0]
    assert column.null_share_reference == 0.0
    assert column.null_share_current == 0.5
    assert column.status is Status.drift


def test_thresholds_warn_and_per_column_levels(pair):
    kl = {c.name: c.kl for c in kldrift.compare(*pair).columns}
    loose = Thresholds(drift=kl["shifted"] * 2, warn=kl["shifted"] / 2)
    report = kldrift.compare(*pair, thresholds=loose)
    assert {c.name: c.status for c in report.columns}["shifted"] is Status.warn
    assert report.status is Status.warn and not report.drifted

    # A stricter level for one column; effect-size only, as "stable" is not significant.
    strict = Thresholds(columns={"stable": kl["stable"] / 2}, metric="psi", decision="threshold")
    report = kldrift.compare(*pair, thresholds=strict)
    stable = {c.name: c for c in report.columns}["stable"]
    assert stable.psi >= kl["stable"] / 2
    assert stable.status is Status.drift
    assert stable.threshold == kl["stable"] / 2
    assert stable.warn == pytest.approx(stable.threshold * 0.1 / 0.25)  # PSI's warn/drift ratio


def test_column_selection_exclusion_and_forced_kind(pair):
    report = kldrift.compare(*pair, columns=["stable", "color"], exclude=["color"])
    assert [c.name for c in report.columns] == ["stable"]
    reference = pl.DataFrame({"code": [1, 2, 3] * 30})
    forced = kldrift.compare(reference, reference, options=Options(categorical=("code",)))
    assert forced.columns[0].kind.value == "categorical"
    assert forced.columns[0].labels[:3] == ("1", "2", "3")


def test_schema_drift_is_reported_not_raised():
    reference = pl.DataFrame({"keep": [1.0, 2.0], "gone": [1, 2], "retyped": [1.0, 2.0]})
    current = pl.DataFrame({"keep": [1.0, 2.0], "retyped": ["x", "y"], "added": [True, False]})
    report = kldrift.compare(reference, current)
    changes = {s.column: (s.change, s.breaking) for s in report.schema}
    assert changes == {
        "gone": ("missing_in_current", True),
        "retyped": ("kind_changed", True),
        "added": ("new_in_current", False),
    }
    assert [c.name for c in report.columns] == ["keep"]
    assert report.drifted  # a vanished or retyped column fails the comparison
    assert kldrift.compare(reference, current, columns=["keep", "added"]).drifted is False


def test_unknown_column_names_are_errors(pair):
    with pytest.raises(ColumnError, match="^columns: no column 'nope'"):
        kldrift.compare(*pair, columns=["nope"])
    with pytest.raises(ColumnError, match="^column_threshold: no column 'nope'"):
        kldrift.compare(*pair, thresholds=Thresholds(columns={"nope": 0.2}))


def test_empty_dataset_is_an_input_error(write_table):
    empty = pl.DataFrame({"x": []}, schema={"x": pl.Float64})
    with pytest.raises(InputError, match="no rows"):
        kldrift.compare(pl.DataFrame({"x": [1.0]}), empty)


def test_csv_and_parquet_give_identical_results(write_table, pair):
    reference, current = pair
    csv = kldrift.compare(
        write_table("r.csv", **reference.to_dict(as_series=False)),
        write_table("c.csv", **current.to_dict(as_series=False)),
    )
    parquet = kldrift.compare(
        write_table("r.parquet", **reference.to_dict(as_series=False)),
        write_table("c.parquet", **current.to_dict(as_series=False)),
    )
    assert csv.columns == parquet.columns
    assert csv.table.equals(parquet.table)


def test_table_is_a_polars_frame_sorted_by_kl(pair):
    table = kldrift.compare(*pair).table
    assert table.columns == [
        "column",
        "kind",
        "kl",
        "cross_entropy",
        "entropy",
        "null_share_reference",
        "null_share_current",
        "status",
    ]
    assert table["kl"].to_list() == sorted(table["kl"].to_list(), reverse=True)


def test_streaming_gives_the_same_report_as_in_memory(write_table, pair):
    reference, current = pair
    ref = write_table("r.parquet", **reference.to_dict(as_series=False))
    cur = write_table("c.parquet", **current.to_dict(as_series=False))
    assert kldrift.compare(ref, cur, streaming=True) == kldrift.compare(ref, cur, streaming=False)


def test_progress_names_each_step(pair):
    notes = []
    kldrift.compare(*pair, progress=notes.append)
    assert notes == ["profiling <DataFrame>", "counting <DataFrame>"]


def test_memory_share_estimates_the_decoded_size_against_the_ram():
    from kldrift.io import Table, memory_share

    frame = pl.DataFrame({"x": [1.0]}).lazy()
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    small = Table("small", frame, frame.collect_schema(), memory=ram // 100)
    huge = Table("huge", frame, frame.collect_schema(), memory=ram // 2)
    in_memory = Table("<DataFrame>", frame, frame.collect_schema())
    assert memory_share(small, in_memory) == pytest.approx(0.01, abs=1e-6)
    assert memory_share(small, huge) == pytest.approx(0.51, abs=1e-6)


def test_a_lazyframe_current_is_counted_from_its_query_not_loaded(monkeypatch):
    frame = pl.DataFrame({"x": [float(v) for v in range(100)]}).lazy()
    loads, real_load = [], profile.load

    def load(table, columns):
        loads.append(table.name)
        return real_load(table, columns)

    monkeypatch.setattr(profile, "load", load)
    kldrift.compare(frame, frame)
    assert loads == ["<LazyFrame>"]  # the reference, to fit and count it


@pytest.mark.parametrize("share", [0.01, 0.3, 0.6])
def test_reading_mode_follows_the_memory_share(monkeypatch, tmp_path, share):
    """Small data: both sides read into memory, one after the other; medium: the reference, the
    current counted from its file; large: streaming."""
    from kldrift import io

    reference = pl.DataFrame({"x": [float(v) for v in range(100)], "s": ["a", "b"] * 50})
    reference.write_parquet(tmp_path / "ref.parquet")
    reference.write_parquet(tmp_path / "cur.parquet")
    monkeypatch.setattr(io, "memory_share", lambda *tables: share)
    loads, engines = [], []
    real_load, real_collect_all = profile.load, pl.collect_all

    def collect_all(queries, **kwargs):
        engines.append(kwargs.get("engine"))
        return real_collect_all(queries, **kwargs)

    monkeypatch.setattr(profile, "load", lambda t, c: loads.append(t.name) or real_load(t, c))
    monkeypatch.setattr(pl, "collect_all", collect_all)
    report = kldrift.compare(tmp_path / "ref.parquet", tmp_path / "cur.parquet")
    assert [c.kl for c in report.columns] == [0.0, 0.0]
    ref, cur = str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet")
    expected = {0.01: ([ref, cur], "auto"), 0.3: ([ref], "auto"), 0.6: ([], "streaming")}[share]
    assert loads == expected[0]
    assert set(engines) - {None} == {expected[1]}


@pytest.mark.parametrize("pairs", [None, "all"])
def test_the_reference_data_is_freed_before_the_current_is_read(monkeypatch, tmp_path, pairs):
    # Read after the reference's profile, the current reuses the reference's memory (fewer page
    # faults, a lower peak); with pairs too, which keep only the reference's bin numbers.
    import weakref

    frame = pl.DataFrame({"x": [float(v) for v in range(100)], "s": ["a", "b"] * 50})
    frame.write_parquet(tmp_path / "ref.parquet")
    frame.write_parquet(tmp_path / "cur.parquet")
    held, real_load = [], profile.load
    reads: list[tuple[str, list[str]]] = []  # (file read, files whose read data is still alive)

    def load(table, columns):
        alive = [name for name, read in held if read() is not None]
        loaded = real_load(table, columns)
        held.append((table.name, weakref.ref(loaded)))
        reads.append((Path(table.name).name, alive))
        return loaded

    monkeypatch.setattr(profile, "load", load)
    report = kldrift.compare(tmp_path / "ref.parquet", tmp_path / "cur.parquet", pairs=pairs)
    assert [c.kl for c in report.columns] == [0.0, 0.0]
    assert reads == [("ref.parquet", []), ("cur.parquet", [])]
    assert [p.kl.joint for p in report.pairs] == ([0.0] if pairs else [])


def _changes(report):
    return {(s.column, s.change): s for s in report.schema}


def test_dtype_change_within_a_kind_is_listed_but_still_compared():
    reference = pl.DataFrame({"n": [1, 2, 3] * 10})
    current = pl.DataFrame({"n": [1.0, 2.0, 3.0] * 10})
    report = kldrift.compare(reference, current)
    change = _changes(report)["n", "dtype_changed"]
    assert (change.reference_dtype, change.current_dtype, change.breaking) == (
        "Int64",
        "Float64",
        False,
    )
    assert change.description == "type changed: Int64 -> Float64 (still compared)"
    assert [c.name for c in report.columns] == ["n"] and report.columns[0].kl == 0.0
    assert not report.drifted


def test_null_rate_changes_of_a_point_or_more_are_listed():
    reference = pl.DataFrame({"a": [1.0] * 1000, "b": [1.0] * 1000})
    current = pl.DataFrame(
        {"a": [1.0] * 980 + [None] * 20, "b": [1.0] * 999 + [None]}  # +2 points, +0.1 point
    )
    changes = _changes(kldrift.compare(reference, current))
    assert changes["a", "null_rate_changed"].description == "null share 0.0% -> 2.0%"
    assert ("b", "null_rate_changed") not in changes


def test_new_and_gone_categories_are_listed():
    reference = pl.DataFrame({"c": ["a"] * 50 + ["b"] * 30 + ["gone"] * 20})
    current = pl.DataFrame({"c": ["a"] * 50 + ["b"] * 30 + ["x"] * 15 + ["y"] * 5})
    report = kldrift.compare(reference, current)
    column = report.columns[0]
    assert column.new_category_rows == 20
    assert column.gone_categories == ("gone",)
    changes = _changes(report)
    assert changes["c", "new_categories"].detail == (
        "20 current rows (20.0%) not in reference; 'x' 15.0%, 'y' 5.0%"
    )
    assert changes["c", "gone_categories"].detail == "'gone'"


def test_many_gone_categories_are_shortened():
    long = "v" * 100
    reference = pl.DataFrame({"c": [f"{long}{i}" for i in range(8)] * 3})
    current = pl.DataFrame({"c": [f"{long}0"] * 3})
    detail = _changes(kldrift.compare(reference, current))["c", "gone_categories"].detail
    assert detail.endswith(" and 2 more")
    assert detail.count("…") == 5 and len(detail) < 300


def test_id_like_columns_are_skipped_with_a_reason_unless_forced():
    reference = pl.DataFrame({"id": [f"u{i}" for i in range(100)], "x": [1.0, 2.0] * 50})
    current = pl.DataFrame({"id": [f"v{i}" for i in range(100)], "x": [1.0, 2.0] * 50})
    report = kldrift.compare(reference, current)
    skipped = _changes(report)["id", "high_cardinality"]
    assert skipped.description == "skipped: high cardinality (100 distinct of 100 rows)"
    assert skipped.skipped and not skipped.breaking
    assert [c.name for c in report.columns] == ["x"] and not report.drifted
    forced = kldrift.compare(reference, current, options=Options(categorical=("id",)))
    assert {c.name for c in forced.columns} == {"id", "x"}
    # Forced, it is compared; 100 rows over 21 bins are too few for the bias-corrected KL to
    # clear its noise floor, but every current value being new is reported.
    assert _changes(forced)["id", "new_categories"].detail.startswith("100 current rows (100.0%)")


@pytest.mark.parametrize(
    ("values", "skipped"),
    [
        ([f"v{i}" for i in range(20)], False),  # every value has its own top-K bin
        ([f"v{i % 30}" for i in range(60)], False),  # 30 distinct of 60 rows: half, not more
        ([f"v{i % 31}" for i in range(60)], True),
        ([f"v{i % 31}" for i in range(60)] + [None] * 100, True),  # nulls do not dilute it
    ],
)
def test_high_cardinality_rule(values, skipped):
    # A second, ordinary column keeps something to compare when "c" is skipped.
    frame = pl.DataFrame({"c": values, "x": [i % 3 for i in range(len(values))]})
    assert (("c", "high_cardinality") in _changes(kldrift.compare(frame, frame))) is skipped


def test_no_shared_column_is_an_error():
    with pytest.raises(ColumnError, match="no column in common"):
        kldrift.compare(pl.DataFrame({"a": [1]}), pl.DataFrame({"b": [1]}))


@pytest.mark.parametrize(
    ("reference", "current", "kind", "kl_is_zero"),
    [
        # all null (CSV gives String, Parquet gives the Null type)
        (
            pl.Series([None] * 5, dtype=pl.Null),
            pl.Series([None] * 5, dtype=pl.Null),
            "categorical",
            True,
        ),
        (pl.Series([None] * 5, dtype=pl.String), pl.Series(["a"] * 5), "categorical", False),
        (pl.Series([7] * 50), pl.Series([7] * 40), "numeric", True),  # constant
        (pl.Series([math.nan] * 50), pl.Series([math.nan] * 5), "numeric", True),  # all NaN
        (pl.Series([math.nan] * 50), pl.Series([1.0] * 5), "numeric", False),
        (
            pl.Series([-math.inf, math.inf] * 20 + [float(i) for i in range(40)]),
            pl.Series([-math.inf, math.inf] * 20 + [float(i) for i in range(40)]),
            "numeric",
            True,
        ),
        (pl.Series([1.0]), pl.Series([1.0]), "numeric", True),  # one row each side
        (pl.Series(["a"]), pl.Series(["b"]), "categorical", False),
    ],
)
def test_awkward_columns_give_finite_scores(reference, current, kind, kl_is_zero):
    report = kldrift.compare(pl.DataFrame({"c": reference}), pl.DataFrame({"c": current}))
    column = report.columns[0]
    assert column.kind.value == kind
    assert math.isfinite(column.kl) and column.kl >= 0
    assert (column.kl == 0.0) is kl_is_zero
    assert sum(column.reference_counts) == len(reference)
    assert sum(column.current_counts) == len(current)


def test_infinite_values_fall_in_the_open_outer_bins():
    reference = pl.DataFrame(
        {"x": [-math.inf] * 10 + [math.inf] * 10 + [float(i) for i in range(30)]}
    )
    column = kldrift.compare(reference, reference, options=Options(bins=5)).columns[0]
    assert all(math.isfinite(e) for e in column.binning.edges)
    assert column.reference_counts[0] >= 10 and column.reference_counts[-2] >= 10


def test_skewed_numbers_merge_coinciding_edges():
    reference = pl.DataFrame({"x": [0.0] * 970 + [float(i) for i in range(1, 31)]})
    current = pl.DataFrame({"x": [0.0] * 10 + [float(i) for i in range(1, 31)] * 3})
    column = kldrift.compare(reference, current, options=Options(discrete_max=5)).columns[0]
    assert column.binning.method == "quantile"
    assert column.binning.edges == (0.0,)  # nine deciles are all zero
    assert column.reference_counts == (970, 30, 0)
    assert column.current_counts == (10, 90, 0)


@pytest.mark.parametrize(("n_ref", "n_cur"), [(10_000, 3), (3, 10_000)])
def test_very_unequal_sizes_compare_shares(n_ref, n_cur):
    reference = pl.DataFrame({"x": [float(i % 50) for i in range(n_ref)]})
    current = pl.DataFrame({"x": [float(i % 50) for i in range(n_cur)]})
    report = kldrift.compare(reference, current)
    assert (report.reference_rows, report.current_rows) == (n_ref, n_cur)
    assert math.isfinite(report.columns[0].kl)


def test_over_a_thousand_columns(write_table):
    # Mostly categorical: polars plans per-column quantile lists slowly (about 1 s per 100
    # numeric columns), and speed is not what this test is about.
    columns = {f"col {i} é": [f"v{(i + j) % 5}" for j in range(30)] for i in range(1000)}
    columns |= {f"n{i}": [float(j) for j in range(30)] for i in range(20)}
    path = write_table("wide.parquet", **columns)
    report = kldrift.compare(path, path)
    assert len(report.columns) == 1020 and not report.drifted
    assert {c.kl for c in report.columns} == {0.0}


def _scored(column):
    ref = np.array(column.reference_counts, dtype=float)
    cur = np.array(column.current_counts, dtype=float)
    keep = (ref > 0) | (cur > 0)
    return ref[keep], cur[keep]


def test_g_test_in_the_report_equals_scipy_on_the_raw_counts(pair):
    report = kldrift.compare(*pair)
    for column in report.columns:
        ref, cur = _scored(column)
        table = np.array([ref, cur])
        statistic, _, dof, _ = chi2_contingency(table, correction=False, lambda_="log-likelihood")
        assert column.g_statistic == pytest.approx(statistic, rel=1e-9, abs=1e-9)
        assert column.dof == dof
        # Williams' q for a 2 x k table, computed here independently of the library.
        n, rows, cols = table.sum(), table.sum(axis=1), table.sum(axis=0)
        q = 1 + (n * (1 / rows).sum() - 1) * (n * (1 / cols).sum() - 1) / (6 * n * (dof))
        assert column.p_value == pytest.approx(chi2.sf(statistic / q, dof), rel=1e-9, abs=1e-300)
        assert column.test_method.startswith("asymptotic")


def test_p_values_are_adjusted_across_columns_before_deciding(pair):
    bh = kldrift.compare(*pair)
    raw = [c.p_value for c in bh.columns]
    assert [c.p_adjusted for c in bh.columns] == pytest.approx(
        list(false_discovery_control(raw)), rel=1e-12
    )
    bonferroni = kldrift.compare(*pair, thresholds=Thresholds(adjustment="bonferroni"))
    assert [c.p_adjusted for c in bonferroni.columns] == pytest.approx(
        [min(1.0, 3 * p) for p in raw], rel=1e-12
    )


def test_every_divergence_is_reported_on_the_scored_bins(pair):
    options = Options(base=2.0)
    for column in kldrift.compare(*pair, options=options).columns:
        ref, cur = _scored(column)
        assert column.js_divergence == metrics.js_divergence(ref, cur, 0.5, 2.0)
        assert column.js_distance == metrics.js_distance(ref, cur, 0.5, 2.0)
        assert column.psi == metrics.psi(ref, cur, 0.5, 2.0)
        assert column.hellinger == metrics.hellinger(ref, cur, 0.5, 2.0)
        floor = significance.noise_floor(ref.size, ref.sum(), cur.sum(), 2.0)
        assert column.noise_floor == floor
        assert column.kl_corrected == max(column.kl - floor, 0.0)


def test_self_comparison_is_exactly_zero_and_not_significant(pair):
    for column in kldrift.compare(pair[0], pair[0]).columns:
        assert (column.kl, column.kl_corrected, column.psi, column.hellinger) == (0, 0, 0, 0)
        assert (column.g_statistic, column.p_value, column.p_adjusted) == (0, 1, 1)
        assert column.status is Status.ok


def test_a_trivial_shift_on_large_samples_is_significant_but_not_drift():
    rng = np.random.default_rng(3)
    reference = pl.DataFrame({"x": rng.normal(size=200_000)})
    current = pl.DataFrame({"x": rng.normal(loc=0.05, size=200_000)})
    column = kldrift.compare(reference, current).columns[0]
    assert column.p_adjusted < 1e-6
    assert column.kl_corrected < 0.01
    assert column.status is Status.ok
    only_p = kldrift.compare(reference, current, thresholds=Thresholds(decision="significance"))
    assert only_p.columns[0].status is Status.drift


def test_a_small_sample_above_the_plain_threshold_needs_significance_to_drift():
    # 40 vs 40 rows of one distribution: the plug-in KL on 10 bins is mostly noise.
    rng = np.random.default_rng(11)
    reference = pl.DataFrame({"x": rng.normal(size=40)})
    current = pl.DataFrame({"x": rng.normal(size=40)})
    column = kldrift.compare(reference, current).columns[0]
    assert column.kl >= 0.1  # the old fixed-threshold rule would have fired
    assert column.noise_floor == pytest.approx(9 / 2 * (1 / 40 + 1 / 40))
    assert column.test_method.startswith("permutation")
    assert column.p_adjusted > 0.05
    assert column.status is Status.ok
    fixed = kldrift.compare(
        reference, current, thresholds=Thresholds(decision="threshold", metric="psi")
    )
    assert fixed.columns[0].status is Status.drift


@pytest.mark.parametrize("metric", ["js_divergence", "js_distance", "psi", "hellinger"])
def test_other_metrics_decide_on_their_own_value_in_nats(pair, metric):
    bits = kldrift.compare(*pair, options=Options(base=2), thresholds=Thresholds(metric=metric))
    nats = kldrift.compare(*pair, thresholds=Thresholds(metric=metric))
    for a, b in zip(nats.columns, bits.columns, strict=True):
        assert b.status is a.status
        assert b.effect(Thresholds(metric=metric).metric, 2.0) == pytest.approx(
            a.score(Thresholds(metric=metric).metric), rel=1e-9
        )
    assert {c.name for c in nats.drifted_columns} == {"shifted"}


def test_bias_corrected_kl_is_zero_in_expectation_on_same_distribution_samples():
    # Quantile bins are fitted on the reference, so its histogram is not a multinomial sample;
    # the floor still holds (the current counts then vary by M p(1-p)(1 + M/N), as assumed).
    rng = np.random.default_rng(5)
    n, pairs = 500, 120
    excess = []
    for _ in range(pairs):
        column = kldrift.compare(
            pl.DataFrame({"x": rng.lognormal(size=n)}),
            pl.DataFrame({"x": rng.lognormal(size=n)}),
            options=Options(smoothing=0),
        ).columns[0]
        excess.append(column.kl - column.noise_floor)
    mean, se = np.mean(excess), np.std(excess, ddof=1) / math.sqrt(pairs)
    floor = 9 / 2 * (2 / n)
    assert abs(mean) <= 4 * se
    assert se < floor / 5  # the check is tight enough to see a missing correction


def test_a_long_categorical_tail_scores_new_and_other_together():
    rng = np.random.default_rng(2)
    levels = [f"c{i}" for i in range(300)]
    weights = 1 / np.arange(1, 301)
    weights /= weights.sum()
    reference = pl.DataFrame({"s": rng.choice(levels, 500, p=weights)})
    current = pl.DataFrame({"s": rng.choice(levels, 500, p=weights)})
    column = kldrift.compare(reference, current).columns[0]
    assert column.labels[-3:] == ("(other)", "(new)", "(null)")
    assert column.current_counts[-2] > 0 and column.reference_counts[-2] == 0
    labels, ref, cur = profile.scored_bins(
        column.binning, column.reference_counts, column.current_counts
    )
    assert labels[-2:] == ("(other or new)", "(null)")
    assert cur[-2] == sum(column.current_counts[-3:-1])
    assert column.p_adjusted > 0.05 and column.status is Status.ok
    # With no tail, a category the reference never had keeps its own bin.
    no_tail = kldrift.compare(
        pl.DataFrame({"s": ["a", "b"] * 50}), pl.DataFrame({"s": ["a", "b", "z"] * 30})
    ).columns[0]
    assert no_tail.status is Status.drift
    assert profile.scored_bins(no_tail.binning, no_tail.reference_counts, no_tail.current_counts)[
        0
    ] == ("a", "b", "(other)", "(new)", "(null)")


def test_explain_lists_every_occupied_bin_by_contribution_summing_to_kl(pair):
    shifted = next(c for c in kldrift.compare(*pair).columns if c.name == "shifted")
    bins = drift.explain(shifted, Options())
    assert len(bins) == sum(1 for r, c in zip(*_scored(shifted), strict=True) if r or c)
    assert sum(b.contribution for b in bins) == pytest.approx(shifted.kl, abs=1e-12)
    sizes = [b.contribution for b in bins]
    assert sizes == sorted(sizes, reverse=True)
    assert all(0 <= size <= shifted.kl for size in sizes)
    top = bins[0]
    index = shifted.labels.index(top.label)
    assert top.reference_share == shifted.reference_counts[index] / 3000
    assert top.current_share == shifted.current_counts[index] / 2000
    # The shift moves mass right: the open right bin, which gains most, contributes most.
    assert top.label.startswith(">") and top.contribution > 0


# --- default levels: fixed-seed cases of the calibration targets (docs/calibration.md) --------

ZIPF = 1 / np.arange(1, 1001) ** 1.1
ZIPF_LEVELS = np.array([f"c{i:04d}" for i in range(1000)])


def _zipf(rng, n, new=0.0):
    """n rows of a 1,000-level Zipf(1.1) column; a share `new` of them in five new categories."""
    values = ZIPF_LEVELS[rng.choice(1000, size=n, p=ZIPF / ZIPF.sum())]
    fresh = rng.random(n) < new
    values[fresh] = rng.choice([f"new{i}" for i in range(5)], size=int(fresh.sum()))
    return values


def test_a_boolean_going_from_30_to_40_percent_true_drifts_at_100k():
    rng = np.random.default_rng(30)
    n = 100_000
    report = kldrift.compare(
        pl.DataFrame({"flag": rng.random(n) < 0.3}), pl.DataFrame({"flag": rng.random(n) < 0.4})
    )
    flag = report.column("flag")
    # KL of Bernoulli(0.3) from Bernoulli(0.4): 0.3 ln(3/4) + 0.7 ln(7/6) = 0.0216 nats.
    assert flag.kl_corrected == pytest.approx(0.0216, abs=0.002)
    assert flag.status is Status.drift
    assert flag.detectable < 0.001 < report.thresholds.drift_level


@pytest.mark.parametrize(
    ("loc", "scale", "nulls", "status"),
    [
        (0.25, 1.0, 0.01, Status.drift),  # mean +0.25 sd: KL 0.03
        (0.0, 1.2, 0.01, Status.drift),  # sd x1.2: KL 0.021
        (0.0, 1.0, 0.05, Status.drift),  # nulls 1% -> 5%: KL 0.025
        (0.1, 1.0, 0.01, Status.warn),  # mean +0.1 sd: binned KL 0.0048, just under 0.005
        (0.0, 1.0, 0.01, Status.ok),  # no change
    ],
)
def test_named_shifts_at_100k_get_the_status_the_calibration_promises(loc, scale, nulls, status):
    rng = np.random.default_rng(25)
    n = 100_000

    def column(loc, scale, nulls):
        values = rng.normal(loc, scale, n)
        return pl.Series("x", values).scatter(np.flatnonzero(rng.random(n) < nulls), None)

    report = kldrift.compare(
        pl.DataFrame([column(0.0, 1.0, 0.01)]), pl.DataFrame([column(loc, scale, nulls)])
    )
    assert report.column("x").status is status


def test_ten_percent_of_rows_in_new_categories_drift_and_are_named():
    rng = np.random.default_rng(10)
    n = 20_000
    reference = pl.DataFrame({"z": _zipf(rng, n)})
    current = pl.DataFrame({"z": _zipf(rng, n, new=0.1)})
    report = kldrift.compare(reference, current)
    z = report.column("z")
    assert z.status is Status.drift
    # The reference's own tail predicts a few percent of unseen rows; the current has 10% more.
    assert z.predicted_new_share is not None and 0.005 < z.predicted_new_share < 0.05
    assert z.new_category_share > z.predicted_new_share + 0.09
    assert {value for value, _ in z.new_categories} == {f"new{i}" for i in range(5)}
    change = next(s for s in report.schema if s.change == "new_categories")
    assert "largest 'new" in change.description and "predicts" in change.description


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_long_zipf_tail_sampled_in_part_does_not_drift(seed):
    rng = np.random.default_rng(seed)
    n = 2_000
    reference, current = pl.DataFrame({"z": _zipf(rng, n)}), pl.DataFrame({"z": _zipf(rng, n)})
    z = kldrift.compare(reference, current).column("z")
    # The current has hundreds of rows in categories the reference never saw ...
    assert z.new_category_share > 0.05 and z.reference_singletons
    # ... about as many as the reference's singletons predict, so no drift.
    assert z.new_category_share == pytest.approx(z.predicted_new_share, abs=0.03)
    assert z.status is Status.ok
    # Data compared with itself has no new categories and no drift at all.
    same = kldrift.compare(reference, reference).column("z")
    assert same.kl == 0.0 and same.status is Status.ok


def test_good_turing_moves_the_singletons_to_new_only_when_the_current_has_more():
    binning = profile.Binning(
        kldrift.Kind.categorical, "categories", values=("a",), rest=("b", "c", "d")
    )
    reference = (10, 5, 0, 0)  # a, (other) = b + c + d with two singletons, (new), (null)
    labels, ref, cur = profile.scored_bins(binning, reference, (10, 2, 3, 0), singletons=2)
    assert labels == binning.labels and ref == (10, 3, 2, 0) and cur == (10, 2, 3, 0)
    # Fewer new rows than predicted (1/15 < 2/15), or singletons unknown: one merged bin.
    for singletons, current in [(2, (10, 4, 1, 0)), (None, (10, 2, 3, 0))]:
        labels, ref, cur = profile.scored_bins(binning, reference, current, singletons)
        assert labels == ("a", "(other or new)", "(null)")
        assert ref == (10, 5, 0) and cur == (10, current[1] + current[2], 0)


def test_the_table_and_json_say_what_the_sample_can_detect():
    rng = np.random.default_rng(5)
    report = kldrift.compare(
        pl.DataFrame({"x": rng.normal(size=100)}), pl.DataFrame({"x": rng.normal(size=100)})
    )
    x = report.column("x")
    # 10 bins, 100 rows a side, alpha 0.05 for one column: only a KL of ~0.3 nats shows.
    assert x.detectable == pytest.approx(
        significance.minimum_detectable_effect(x.dof + 1, 100, 100, 0.05)
    )
    assert 0.2 < x.detectable < 0.4


@pytest.mark.parametrize("metric", list(Metric))
def test_most_drifted_first_means_by_the_metric_that_decides(metric):
    root = Path(__file__).parent.parent / "sample_data"
    report = kldrift.compare(
        root / "reference.csv", root / "current.csv", thresholds=Thresholds(metric=metric)
    )
    keys = [(-c.score(metric), -c.kl, c.name) for c in report.columns]
    assert keys == sorted(keys)


@pytest.mark.parametrize("small", [True, False])
@pytest.mark.parametrize("stored", [True, False])
def test_a_csv_current_is_parsed_once(tmp_path, monkeypatch, stored, small):
    # The current's ranges (event times, IDs) and its counts come from one parse of the file,
    # whether or not the files are small enough to be held in memory; read after the
    # reference's profile, so the two are never in memory together.
    from kldrift import io

    reference = "sample_data/reference.csv"
    if stored:
        reference = tmp_path / "reference.kldrift.json"
        kldrift.save_profile(kldrift.profile_data("sample_data/reference.csv"), reference)
    if not small:
        monkeypatch.setattr(io, "IN_MEMORY_SHARE", 0.0)
    seen = []
    for name in ("load", "value_ranges", "count_naming_new"):
        original = getattr(profile, name)

        def spy(table, *args, _name=name, _original=original, **kwargs):
            if table.name == "sample_data/current.csv":
                seen.append((_name, table.loaded))
            return _original(table, *args, **kwargs)

        monkeypatch.setattr(profile, name, spy)
    report = kldrift.compare(reference, "sample_data/current.csv")
    assert report.summary == "3 of 12 columns drifted"
    assert seen == [("load", False), ("value_ranges", True), ("count_naming_new", True)]
