"""compare(): scores against scipy, invariants, decisions and schema drift, on real frames."""

import math

import numpy as np
import polars as pl
import pytest
from scipy.stats import entropy as scipy_entropy

import kldrift
from kldrift import Options, Status, Thresholds
from kldrift.errors import ColumnError, InputError


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
    with pytest.raises(ColumnError, match="--columns: no column 'nope'"):
        kldrift.compare(*pair, columns=["nope"])
    with pytest.raises(ColumnError, match="--column-threshold: no column 'nope'"):
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
