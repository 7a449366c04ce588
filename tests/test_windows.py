"""Drift per time window: windows from the time column, one reference for all."""

import datetime as dt

import polars as pl
import pytest

from kldrift import drift, windows
from kldrift.errors import ColumnError, InputError, OptionError


def _frames():
    reference = pl.DataFrame({"x": [float(i % 40) for i in range(400)]})
    start = dt.datetime(2026, 3, 1)
    stamps = [start + dt.timedelta(hours=i % 72, minutes=i % 60) for i in range(360)]
    # Day 3 (hours 48-71) is shifted far out of the reference range.
    x = [float(i % 40) + (100 if (i % 72) >= 48 else 0) for i in range(360)]
    current = pl.DataFrame({"ts": [*stamps, None], "x": [*x, 1.0]})
    return reference, current


def test_each_window_is_compared_with_the_same_reference():
    reference, current = _frames()
    result = windows.compare_windows(reference, current, time_column="ts", every="1d")
    assert [(w.start, w.end) for w in result] == [
        ("2026-03-01T00:00:00", "2026-03-02T00:00:00"),
        ("2026-03-02T00:00:00", "2026-03-03T00:00:00"),
        ("2026-03-03T00:00:00", "2026-03-04T00:00:00"),
    ]
    assert [w.report.current_rows for w in result] == [120, 120, 120]  # the null ts is left out
    assert [w.report.drifted for w in result] == [False, False, True]
    # The time column is not compared, and each window equals comparing its rows directly.
    assert [c.name for c in result[0].report.columns] == ["x"]
    day3 = current.filter(pl.col("ts").dt.day() == 3).drop("ts")
    assert result[2].report.columns == drift.compare(reference, day3).columns


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"time_column": "nope", "every": "1d"}, ColumnError, "no column 'nope'"),
        ({"time_column": "x", "every": "1d"}, ColumnError, "expected a date or datetime"),
        ({"time_column": "ts", "every": "1x"}, OptionError, "not a polars duration"),
        ({"time_column": "ts", "every": "0d"}, OptionError, "positive duration"),
    ],
)
def test_bad_window_options_are_refused(kwargs, error, message):
    reference, current = _frames()
    with pytest.raises(error, match=message):
        windows.compare_windows(reference, current, **kwargs)


def test_no_timestamps_at_all_is_an_input_error():
    reference, current = _frames()
    empty = current.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias("ts"))
    with pytest.raises(InputError, match="no rows with a 'ts' value"):
        windows.compare_windows(reference, empty, time_column="ts", every="1d")
