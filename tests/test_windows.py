"""Drift per time window: windows from the time column, one reference for all."""

import datetime as dt

import polars as pl
import pytest

from kldrift import drift, windows
from kldrift.errors import ColumnError, InputError, OptionError, ResolutionError


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
    assert [(w.window.start, w.window.end) for w in result] == [
        ("2026-03-01T00:00:00", "2026-03-02T00:00:00"),
        ("2026-03-02T00:00:00", "2026-03-03T00:00:00"),
        ("2026-03-03T00:00:00", "2026-03-04T00:00:00"),
    ]
    assert [w.current_rows for w in result] == [120, 120, 120]  # the null ts is left out
    assert [w.drifted for w in result] == [False, False, True]
    # The time column is not compared, and each window equals comparing its rows directly.
    assert [c.name for c in result[0].columns] == ["x"]
    day3 = current.filter(pl.col("ts").dt.day() == 3).drop("ts")
    assert result[2].columns == drift.compare(reference, day3).columns


def test_a_csv_current_is_counted_by_window_from_its_file_not_read_into_memory_first(
    tmp_path, monkeypatch
):
    # compare reads a text current into memory for its ranges and counts; windows count their
    # own scan (which keeps the time column), so reading it in first would be a wasted parse.
    from kldrift import profile

    reference, current = _frames()
    current.write_csv(tmp_path / "current.csv")
    loaded = []
    original = profile.load

    def spy(table, columns):
        loaded.append(table.name)
        return original(table, columns)

    monkeypatch.setattr(profile, "load", spy)
    path = tmp_path / "current.csv"
    result = windows.compare_windows(reference, path, time_column="ts", every="1d")
    assert [w.drifted for w in result] == [False, False, True]
    assert not any(name.endswith("current.csv") for name in loaded)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"time_column": "nope", "every": "1d"}, ColumnError, "no column 'nope'"),
        ({"time_column": "x", "every": "1d"}, ColumnError, "expected a date or datetime"),
        ({"time_column": "ts", "every": "1x"}, OptionError, "must be a polars duration"),
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


def test_windows_skip_id_like_columns_as_compare_does():
    reference, current = _frames()
    reference = reference.with_columns(pl.Series("id", [f"r{i}" for i in range(400)]))
    current = current.with_columns(pl.Series("id", [f"c{i}" for i in range(361)]))
    result = windows.compare_windows(reference, current, time_column="ts", every="1d")
    for window in result:
        assert [c.name for c in window.columns] == ["x"]
        assert "high_cardinality" in {s.change for s in window.schema}


def test_windows_follow_the_gate(tmp_path):
    from typer.testing import CliRunner

    from kldrift.cli import app

    reference, current = _frames()
    reference.write_parquet(tmp_path / "r.parquet")
    current.write_parquet(tmp_path / "c.parquet")
    args = ["compare", str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet")]
    args += ["--time-column", "ts", "--every", "1d", "-f", "json"]
    runner = CliRunner()
    assert runner.invoke(app, args).exit_code == 1
    tolerant = runner.invoke(app, [*args, "--fail-on", "never"])
    assert tolerant.exit_code == 0, tolerant.stderr
    assert '"passed": true' in tolerant.stdout
    refused = runner.invoke(app, [*args, "--output", str(tmp_path / "out.json")])
    assert refused.exit_code == 2
    assert "--output applies to a single comparison" in refused.stderr


def test_windows_reaching_the_end_of_year_9999_and_beyond_are_labelled():
    days = [dt.date(9999, 12, 31), dt.date(9999, 12, 31)]
    current = pl.DataFrame({"d": days, "x": [1, 2]})
    later = pl.DataFrame({"d": pl.Series([3_000_000], dtype=pl.Int32).cast(pl.Date), "x": [1]})
    result = windows.compare_windows(current, current, time_column="d", every="1d")
    assert [(w.window.start, w.window.end) for w in result] == [("9999-12-31", "+10000-01-01")]
    result = windows.compare_windows(current, later, time_column="d", every="1d")
    assert [(w.window.start, w.window.end) for w in result] == [("+10183-09-21", "+10183-09-22")]


def test_a_date_column_takes_whole_days_only():
    reference = pl.DataFrame({"x": [1.0, 2.0] * 10})
    days = [dt.date(2026, 3, 1) + dt.timedelta(days=i % 4) for i in range(20)]
    current = pl.DataFrame({"day": days, "x": [1.0, 2.0] * 10})
    with pytest.raises(ResolutionError) as caught:
        windows.compare_windows(reference, current, time_column="day", every="6h")
    assert (caught.value.setting, caught.value.value, caught.value.column) == ("every", "6h", "day")
    assert str(caught.value).startswith("every 6h is finer than a day, the resolution of 'day'")
    with pytest.raises(OptionError, match="mixes hours"):
        windows.compare_windows(reference, current, time_column="day", every="1d24h")
    hours, days = (
        [r.window for r in windows.compare_windows(reference, current, time_column="day", every=e)]
        for e in ("48h", "2d")
    )
    assert hours == days
    stamps = current.with_columns(pl.col("day").cast(pl.Datetime))
    assert len(windows.compare_windows(reference, stamps, time_column="day", every="6h")) == 4


@pytest.mark.parametrize(
    ("unit", "every", "resolution"),
    [
        ("ms", "1500us", "a millisecond"),
        ("ms", "1us", "a millisecond"),
        ("us", "999ns", "a microsecond"),
    ],
)
def test_a_datetime_column_takes_whole_units_of_its_own_only(unit, every, resolution):
    # polars cuts on whole units: 1500us windows of a millisecond column were 1ms long.
    stamps = [dt.datetime(2026, 3, 1) + dt.timedelta(milliseconds=i) for i in range(20)]
    current = pl.DataFrame({"t": pl.Series(stamps).cast(pl.Datetime(unit)), "x": [1.0, 2.0] * 10})
    with pytest.raises(ResolutionError) as caught:
        windows.compare_windows(current, current, time_column="t", every=every)
    assert str(caught.value) == (
        f"every {every} is finer than {resolution}, the resolution of 't' (a datetime[{unit}]"
        f" column); give whole {resolution.split()[1]}s, such as "
        + ("1us, 1ms or 1s" if unit == "us" else "1ms or 1s")
    )
    result = windows.compare_windows(current, current, time_column="t", every="2ms")
    assert [(r.window.start, r.window.end) for r in result][:1] == [
        ("2026-03-01T00:00:00", "2026-03-01T00:00:00.002000")
    ]


def test_a_nanosecond_column_takes_nanoseconds_and_a_microsecond_one_centuries():
    stamps = [dt.datetime(2026, 3, 1) + dt.timedelta(microseconds=i) for i in range(20)]
    ns = pl.DataFrame({"t": pl.Series(stamps).cast(pl.Datetime("ns")), "x": [1.0, 2.0] * 10})
    assert len(windows.compare_windows(ns, ns, time_column="t", every="1ns")) == 20
    us = pl.DataFrame({"t": stamps, "x": [1.0, 2.0] * 10})
    assert len(windows.compare_windows(us, us, time_column="t", every="300y")) == 1
    with pytest.raises(OptionError, match="must be a positive duration"):
        windows.compare_windows(ns, ns, time_column="t", every="0ns")


@pytest.mark.parametrize("start", [dt.date(2026, 3, 1), dt.datetime(2026, 3, 1)])
def test_an_every_whose_windows_end_past_int64_is_an_option_error(start):
    # polars adds in Int64 and wraps round to a date before the start.
    current = pl.DataFrame({"t": [start], "x": [1.0]})
    with pytest.raises(OptionError, match="windows end after the last date polars can hold"):
        windows.compare_windows(current, current, time_column="t", every="100000000000d")


def _new_in_second_window():
    reference = pl.DataFrame({"c": ["a", "b"] * 50})
    days = [dt.date(2026, 1, 1)] * 40 + [dt.date(2026, 1, 2)] * 40
    current = pl.DataFrame({"day": days, "c": ["a", "b"] * 20 + ["a", "zz", "zz", "yy"] * 10})
    return reference, current


def test_each_window_names_its_new_categories_as_compare_does():
    reference, current = _new_in_second_window()
    first, second = windows.compare_windows(reference, current, time_column="day", every="1d")
    assert first.column("c").new_categories == ()
    assert second.column("c").new_categories == (("zz", 20), ("yy", 10))
    whole = drift.compare(reference, current.filter(pl.col("day") == dt.date(2026, 1, 2)))
    assert second.column("c").new_categories == whole.column("c").new_categories


@pytest.mark.parametrize("streaming", [True, False])
def test_windows_follow_the_streaming_setting(monkeypatch, streaming):
    from kldrift import profile

    seen = []
    real = profile.count_groups

    def spy(*args, **kwargs):
        seen.append(kwargs.get("streaming"))
        return real(*args, **kwargs)

    monkeypatch.setattr(profile, "count_groups", spy)
    reference, current = _new_in_second_window()
    reports = windows.compare_windows(
        reference, current, time_column="day", every="1d", streaming=streaming
    )
    assert seen == [streaming] and len(reports) == 2
    assert reports[1].column("c").new_categories[0] == ("zz", 20)
