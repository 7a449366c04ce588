"""Where data comes from: profiles as CURRENT, Hive-partitioned trees, frames from the API."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

import kldrift
from kldrift.io import scan_table

from .conftest import SAMPLE, compare_json, run_cli, without_new_values

REF, CUR = str(SAMPLE / "reference.csv"), str(SAMPLE / "current.csv")


def _profile(source: str, out: Path, *extra: str) -> str:
    code, _, err = run_cli("profile", source, "-o", str(out), *extra)
    assert code == 0, err
    return str(out)


@pytest.fixture
def profiles(tmp_path: Path) -> tuple[str, str]:
    """The sample reference's profile and the sample current counted on its bins."""
    ref = _profile(REF, tmp_path / "ref.kldrift.json")
    cur = _profile(CUR, tmp_path / "cur.kldrift.json", "--bins-from", ref)
    return ref, cur


def test_profile_as_current_gives_the_data_report(profiles: tuple[str, str]) -> None:
    ref, cur = profiles
    both = compare_json(ref, cur)
    from_data = compare_json(ref, CUR)
    assert both["current"] == {"source": cur, "rows": 3000, "files": [cur]}  # type: ignore[comparison-overlap]
    both["current"] = from_data["current"]
    assert both["schema"]["categories"]["country"]["largest_new"] == []  # type: ignore[index]
    assert from_data["schema"]["categories"]["country"]["largest_new"]  # type: ignore[index]
    # Same counts in, so every score, p-value, schema change and the verdict are the same.
    assert both == without_new_values(from_data)
    assert both["summary"]["columns_drifted"] == 3  # type: ignore[index]


def test_profile_as_current_against_reference_data(profiles: tuple[str, str]) -> None:
    # Data fitted anew gives the same bins as the profile made from it, so this works too.
    _, cur = profiles
    document = compare_json(REF, cur)
    assert document["reference"]["source"] == REF  # type: ignore[index]
    assert document["summary"]["columns_compared"] == 12  # type: ignore[index]


def test_profile_as_current_on_other_bins_is_refused(
    profiles: tuple[str, str], tmp_path: Path
) -> None:
    ref, _ = profiles
    own = _profile(CUR, tmp_path / "own.kldrift.json")  # fitted on its own data
    code, out, err = run_cli("compare", ref, own)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert own in err and f"--bins-from {ref}" in err
    assert "is not counted on the bins of" in err


def test_profile_as_current_with_fewer_columns(profiles: tuple[str, str], tmp_path: Path) -> None:
    ref, _ = profiles
    cur = _profile(CUR, tmp_path / "part.kldrift.json", "--bins-from", ref)
    document = json.loads(Path(cur).read_text())
    document["columns"] = [c for c in document["columns"] if c["name"] != "income"]
    document["schema"] = [c for c in document["schema"] if c["name"] != "income"]
    Path(cur).write_text(json.dumps(document))
    code, out, err = run_cli("compare", ref, cur, "-f", "json")
    assert code == 1, err
    report = json.loads(out)
    assert [c["column"] for c in report["schema"]["removed"]] == ["income"]
    assert "income" not in {c["name"] for c in report["columns"]}


def test_monitor_takes_a_profile_as_current(profiles: tuple[str, str], tmp_path: Path) -> None:
    ref, cur = profiles
    history = str(tmp_path / "history.db")
    code, _, err = run_cli("monitor", cur, "--reference", ref, "--history", history)
    assert code == 1, err
    code, out, err = run_cli("history", history, "-f", "json")
    assert code == 0, err
    assert cur in out


def test_time_windows_refuse_a_profile_as_current(profiles: tuple[str, str]) -> None:
    ref, cur = profiles
    for command in (
        ["compare", ref, cur],
        ["monitor", cur, "--reference", ref, "--history", "unused.db"],
    ):
        code, _, err = run_cli(*command, "--time-column", "signup_date", "--every", "1mo")
        assert code == 2
        assert err == (
            f"kldrift: error: {cur}: a profile has no rows to cut into time windows; "
            "give CURRENT as data\n"
        )
    assert not Path("unused.db").exists()


def test_api_takes_a_profile_as_current(profiles: tuple[str, str]) -> None:
    ref, cur = profiles
    report = kldrift.compare(ref, cur)
    assert report.current == cur and report.current_rows == 3000


def _hive(root: Path, days: list[dt.date], shift: float) -> Path:
    for i, day in enumerate(days):
        folder = root / f"date={day.isoformat()}"
        folder.mkdir(parents=True)
        values = [shift + i + v / 10 for v in range(50)]
        pl.DataFrame({"x": values, "g": ["a", "b"] * 25}).write_parquet(folder / "part-0.parquet")
    (root / "_SUCCESS").write_text("")  # as Spark leaves it: not a data file
    return root


def test_hive_tree_keys_are_read_not_compared(tmp_path: Path) -> None:
    days = [dt.date(2026, 11, 1), dt.date(2026, 11, 2)]
    ref = _hive(tmp_path / "ref", days, 0.0)
    cur = _hive(tmp_path / "cur", [dt.date(2026, 11, 3), dt.date(2026, 11, 4)], 5.0)
    table = scan_table(ref)
    assert table.schema == pl.Schema({"x": pl.Float64, "g": pl.String, "date": pl.Date})
    assert table.partitions == ("date",)
    document = compare_json(str(ref), str(cur))
    assert {c["name"] for c in document["columns"]} == {"x", "g"}  # type: ignore[attr-defined]
    assert document["schema"]["added"] == []  # type: ignore[index]
    # Named, a key is compared like any column.
    named = compare_json(str(ref), str(cur), "--columns", "x,date")
    assert {c["name"] for c in named["columns"]} == {"x", "date"}  # type: ignore[attr-defined]


def test_hive_key_as_time_column(tmp_path: Path) -> None:
    ref = _hive(tmp_path / "ref", [dt.date(2026, 10, 1)], 0.0)
    cur = _hive(tmp_path / "cur", [dt.date(2026, 11, 1), dt.date(2026, 11, 2)], 0.0)
    code, out, err = run_cli(
        "compare", str(ref), str(cur), "--time-column", "date", "--every", "1d", "-f", "json"
    )
    assert code in (0, 1), err
    windows = json.loads(out)["windows"]
    assert [(w["start"], w["rows"]) for w in windows] == [("2026-11-01", 50), ("2026-11-02", 50)]


def test_a_single_file_in_a_hive_tree_is_read_as_itself(tmp_path: Path) -> None:
    ref = _hive(tmp_path / "ref", [dt.date(2026, 10, 1)], 0.0)
    assert "date" not in scan_table(ref / "date=2026-10-01" / "part-0.parquet").schema


@pytest.mark.parametrize("eager", [False, True])
def test_frames_from_the_api_get_csv_date_inference(eager: bool) -> None:
    frame = pl.scan_csv(REF)
    assert frame.collect_schema()["signup_date"] == pl.String
    table = scan_table(frame.collect() if eager else frame)
    assert table.schema == scan_table(REF).schema
    assert table.schema["signup_date"] == pl.Date
    # The report is the one on the files.
    from_frames = kldrift.compare(frame, pl.scan_csv(CUR))
    from_files = kldrift.compare(REF, CUR)
    assert [(c.name, c.kl) for c in from_frames.columns] == [
        (c.name, c.kl) for c in from_files.columns
    ]


@pytest.mark.parametrize(
    ("odd", "problem"),
    [
        ("a,b,c,d\n1,2,x,4\n", "a column 'd', which {first} has not"),
        ("a,c\n1,x\n", "no column 'b', which {first} has"),
        ("b,a,c\n1,2,x\n", "its columns in another order than {first}"),
    ],
)
def test_a_csv_part_with_another_header_is_named(tmp_path: Path, odd: str, problem: str) -> None:
    # polars only says "schema lengths differ" or "schema names differ", for the whole directory.
    parts = tmp_path / "parts"
    parts.mkdir()
    for name in ("a.csv", "b.csv"):
        (parts / name).write_text("a,b,c\n1,2,x\n3,4,y\n")
    (parts / "c.csv").write_text(odd)
    code, _, err = run_cli("compare", str(parts), str(parts / "a.csv"))
    assert code == 2
    assert err == f"kldrift: error: {parts / 'c.csv'}: {problem.format(first=parts / 'a.csv')}\n"
