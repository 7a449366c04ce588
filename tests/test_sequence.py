"""Event-time and increasing-ID columns: found, reported as their own schema entry, not scored."""

import datetime as dt
import json

import polars as pl
import pytest
from typer.testing import CliRunner

import kldrift
from kldrift import sequence
from kldrift.cli import app
from kldrift.errors import ColumnError
from kldrift.io import scan_table

runner = CliRunner()


def _batch(start: dt.datetime, first_id: int, hours: int = 720) -> pl.DataFrame:
    times = pl.datetime_range(start, start + dt.timedelta(hours=hours - 1), "1h", eager=True)
    return pl.DataFrame(
        {
            "event_ts": times,
            "order_id": range(first_id, first_id + hours),
            "items": [i % 7 for i in range(hours)],
        }
    )


OCTOBER = _batch(dt.datetime(2026, 10, 1), 1)
NOVEMBER = _batch(dt.datetime(2026, 11, 1), 1001)


def test_a_later_batch_has_an_event_time_and_an_increasing_id():
    found = sequence.detect(
        scan_table(OCTOBER), scan_table(NOVEMBER), dict.fromkeys(OCTOBER.columns)
    )
    assert [(s.column, s.kind) for s in found] == [
        ("event_ts", "event_time"),
        ("order_id", "increasing_id"),
    ]
    assert found[0].detail == (
        "current 2026-11-01 00:00:00 … 2026-11-30 23:00:00 "
        "vs reference 2026-10-01 00:00:00 … 2026-10-30 23:00:00"
    )
    assert found[1].reference == ("1", "720") and found[1].current == ("1001", "1720")


def test_overlapping_times_shuffled_ids_and_a_file_against_itself_are_ordinary_columns():
    overlapping = _batch(dt.datetime(2026, 10, 15), 1001)
    shuffled = NOVEMBER.with_columns(pl.col("order_id").shuffle(seed=1))
    for current in (overlapping.drop("order_id"), shuffled.drop("event_ts"), OCTOBER):
        columns = dict.fromkeys(current.columns)
        found = sequence.detect(
            scan_table(OCTOBER.select(current.columns)), scan_table(current), columns
        )
        assert found == []


def test_compare_leaves_them_out_unless_named():
    report = kldrift.compare(OCTOBER, NOVEMBER)
    assert [c.name for c in report.columns] == ["items"]
    assert not report.drifted
    changes = {s.column: s for s in report.schema}
    assert changes["event_ts"].change == "event_time" and changes["event_ts"].skipped
    assert changes["event_ts"].description.startswith("event time, not scored: current 2026-11-01")
    assert changes["order_id"].description.startswith("increasing ID, not scored: current 1001")
    named = kldrift.compare(OCTOBER, NOVEMBER, columns=["event_ts", "order_id"])
    assert {c.name for c in named.drifted_columns} == {"event_ts", "order_id"}


def test_json_lists_them_in_their_own_group(tmp_path):
    OCTOBER.write_parquet(tmp_path / "oct.parquet")
    NOVEMBER.write_parquet(tmp_path / "nov.parquet")
    result = runner.invoke(
        app, ["compare", str(tmp_path / "oct.parquet"), str(tmp_path / "nov.parquet"), "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    found = sorted((s["column"], s["kind"]) for s in doc["schema"]["sequences"])
    assert found == [("event_ts", "event_time"), ("order_id", "increasing_id")]
    assert doc["schema"]["skipped"] == []


def test_ids_near_the_uint64_maximum_and_dates_after_9999_are_detected():
    def side(first_id, first_day):
        ids = pl.Series([first_id + i for i in range(5)], dtype=pl.UInt64)
        days = pl.Series([first_day + i for i in range(5)], dtype=pl.Int32).cast(pl.Date)
        return scan_table(pl.DataFrame({"id": ids, "d": days}))

    ref, cur = side(2**64 - 20, 3_000_000), side(2**64 - 10, 3_000_010)
    found = sequence.detect(ref, cur, {"id": None, "d": None})
    assert [(s.column, s.kind) for s in found] == [("id", "increasing_id"), ("d", "event_time")]
    assert found[1].reference == ("+10183-09-21", "+10183-09-25")


def test_a_profile_reference_finds_them_as_its_data_does(tmp_path):
    from kldrift import profile_file

    path = tmp_path / "october.kldrift.json"
    profile_file.save(kldrift.profile_data(OCTOBER), path)
    stored = profile_file.load(path)
    assert stored.columns["order_id"].range.increasing
    assert stored.columns["order_id"].range.low == 1 and stored.columns["items"].range.low == 0
    via_data, via_profile = kldrift.compare(OCTOBER, NOVEMBER), kldrift.compare(path, NOVEMBER)
    assert [c.name for c in via_profile.columns] == [c.name for c in via_data.columns] == ["items"]
    assert via_profile.schema == via_data.schema
    assert {(s.column, s.change) for s in via_profile.schema} >= {
        ("event_ts", "event_time"),
        ("order_id", "increasing_id"),
    }
    # A profile as CURRENT, counted on the reference's bins, is checked the same way.
    current = kldrift.profile_data(NOVEMBER, bins_from=stored)
    assert kldrift.compare(path, current).schema == via_data.schema


def test_a_profile_without_ranges_still_loads_and_scores_the_columns(tmp_path):
    from kldrift import profile_file

    path = tmp_path / "old.kldrift.json"
    profile_file.save(kldrift.profile_data(OCTOBER), path)
    doc = json.loads(path.read_text())
    for column in doc["columns"]:
        del column["range"]
    path.write_text(json.dumps(doc))
    report = kldrift.compare(path, NOVEMBER)
    assert {c.name for c in report.columns} == {"event_ts", "order_id", "items"}


def test_merged_ranges_span_the_parts_in_order():
    from kldrift import profile

    reference = kldrift.profile_data(OCTOBER)
    first, second = (kldrift.profile_data(p, bins_from=reference) for p in (OCTOBER, NOVEMBER))
    merged = profile.merge([first, second]).columns["order_id"].range
    assert (merged.low, merged.high, merged.increasing) == (1, 1720, True)
    assert not profile.merge([second, first]).columns["order_id"].range.increasing


def _sides(tmp_path, how):
    """OCTOBER and NOVEMBER as frames, files (read into memory together), or a stored profile
    against a CSV file (parsed into memory once) or a Parquet file (counted straight from the
    file, its range columns read on their own)."""
    from kldrift import profile_file

    if how == "frames":
        return OCTOBER, NOVEMBER
    OCTOBER.write_parquet(tmp_path / "oct.parquet")
    NOVEMBER.write_csv(tmp_path / "nov.csv")
    NOVEMBER.write_parquet(tmp_path / "nov.parquet")
    if how == "files":
        return tmp_path / "oct.parquet", tmp_path / "nov.csv"
    profile_file.save(kldrift.profile_data(OCTOBER), tmp_path / "oct.kldrift.json")
    current = tmp_path / ("nov.parquet" if how == "profile-parquet" else "nov.csv")
    return tmp_path / "oct.kldrift.json", current


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("how", ["frames", "files", "profile", "profile-parquet"])
def test_every_way_of_reading_the_sides_finds_the_same_sequences(tmp_path, how, streaming):
    reference, current = _sides(tmp_path, how)
    report = kldrift.compare(reference, current, streaming=streaming)
    assert [c.name for c in report.columns] == ["items"]
    assert {(s.column, s.change) for s in report.schema} == {
        ("event_ts", "event_time"),
        ("order_id", "increasing_id"),
    }
    assert report.current_rows == NOVEMBER.height
    assert report.columns[0].current_counts == report.columns[0].reference_counts
    # A column the user names is scored, sequence or not.
    named = kldrift.compare(reference, current, columns=["order_id", "items"])
    assert {c.name for c in named.columns} == {"order_id", "items"}
    assert "order_id" not in {s.column for s in named.schema}
    with pytest.raises(ColumnError, match="no columns compared"):
        kldrift.compare(reference, current, exclude=["items"])
