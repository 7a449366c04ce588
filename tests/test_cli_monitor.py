"""The profile, monitor and history commands, and compare with time windows, end to end."""

import csv
import io
import json
import os
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from kldrift.cli import app

from .conftest import SAMPLE, forbid
from .test_alerts import _closed_port, _Server

runner = CliRunner()
REF_CSV, CUR_CSV = str(SAMPLE / "reference.csv"), str(SAMPLE / "current.csv")


@pytest.fixture
def ref_profile(tmp_path):
    path = str(tmp_path / "ref.kldrift.json")
    result = runner.invoke(app, ["profile", REF_CSV, "-o", path])
    assert result.exit_code == 0, result.stderr
    assert "12 columns, 4000 rows" in result.stdout
    return path


def test_compare_with_a_profile_gives_the_same_json_as_with_the_data(ref_profile):
    via_profile = runner.invoke(app, ["compare", ref_profile, CUR_CSV, "-f", "json"])
    via_data = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-f", "json"])
    assert via_profile.exit_code == via_data.exit_code == 1
    a, b = json.loads(via_profile.stdout), json.loads(via_data.stdout)
    assert a["reference"]["source"] == ref_profile
    del a["reference"]["source"], b["reference"]["source"]
    assert a == b


def test_a_conflicting_bin_option_with_a_profile_is_exit_2(ref_profile):
    result = runner.invoke(app, ["compare", ref_profile, CUR_CSV, "--bins", "4"])
    assert result.exit_code == 2
    assert "--bins cannot be refitted: " in result.stderr


def test_partitions_profiled_on_reference_bins_merge_to_the_whole(tmp_path, ref_profile):
    data = pl.read_csv(CUR_CSV, try_parse_dates=True)
    paths = []
    for i, part in enumerate([data[:1000], data[1000:]]):
        part.write_parquet(tmp_path / f"part{i}.parquet")
        paths.append(str(tmp_path / f"part{i}.kldrift.json"))
        args = ["profile", str(tmp_path / f"part{i}.parquet"), "--bins-from", ref_profile]
        assert runner.invoke(app, [*args, "-o", paths[-1]]).exit_code == 0
    data.write_parquet(tmp_path / "whole.parquet")
    whole = str(tmp_path / "whole.kldrift.json")
    args = ["profile", str(tmp_path / "whole.parquet"), "--bins-from", ref_profile, "-o", whole]
    assert runner.invoke(app, args).exit_code == 0
    merged = str(tmp_path / "merged.kldrift.json")
    result = runner.invoke(app, ["profile", "--merge", *paths, "-o", merged])
    assert result.exit_code == 0, result.stderr
    a, b = json.loads(Path(merged).read_text()), json.loads(Path(whole).read_text())
    del a["source"], b["source"]
    assert a == b


def test_merging_profiles_on_different_bins_is_refused(tmp_path, ref_profile):
    other = str(tmp_path / "cur.kldrift.json")
    assert runner.invoke(app, ["profile", CUR_CSV, "-o", other]).exit_code == 0
    result = runner.invoke(
        app, ["profile", "--merge", ref_profile, other, "-o", str(tmp_path / "x.json")]
    )
    assert result.exit_code == 2
    assert "has different bins" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("options", "dropped"),
    [
        (["--bins", "5"], "--bins"),
        (["--top-k", "3"], "--top-k"),
        (["--separator", ";"], "--separator"),
        (["--encoding", "latin-1"], "--encoding"),
        (["--storage-option", "a=b"], "--storage-option"),
        (["--engine", "spark"], "--engine"),
        (["--engine", "polars"], "--engine"),
        (["--spark-master", "local[1]"], "--spark-master"),
        (["--categorical", "s"], "--categorical"),
        (["--pairs", "x,s"], "--pairs"),
        (["--config", "kldrift.toml"], "--config"),
        (["--columns", "x", "--bins", "4", "--bins-from", "P"], "--columns, --bins, --bins-from"),
    ],
)
def test_merge_refuses_every_option_it_would_ignore(tmp_path, write_table, options, dropped):
    part = write_table("part.csv", x=[1.0, 2.0, 3.0, 4.0], s=["a", "b", "a", "b"])
    profile, again = str(tmp_path / "part.kldrift.json"), str(tmp_path / "again.kldrift.json")
    assert runner.invoke(app, ["profile", str(part), "-o", profile]).exit_code == 0
    Path(again).write_text(Path(profile).read_text())
    options = [profile if o == "P" else o for o in options]
    merged = tmp_path / "merged.kldrift.json"
    merge = ["profile", "--merge", profile, again, "-o", str(merged)]
    result = runner.invoke(app, [*merge, *options])
    assert result.exit_code == 2
    assert result.stderr == (
        "kldrift: error: --merge takes profiles only, without column, bin or reading options:"
        f" drop {dropped}\n"
    )
    assert not merged.exists()
    assert runner.invoke(app, merge).exit_code == 0  # the same merge without them


def test_merging_one_profile_file_twice_is_refused(tmp_path, ref_profile, monkeypatch):
    # Its counts would be added twice: a part given again, or through a link.
    forbid(monkeypatch, "kldrift.profile.merge")
    monkeypatch.chdir(Path(ref_profile).parent)
    name = Path(ref_profile).name
    os.symlink(name, "link.json")
    merged = str(tmp_path / "merged.kldrift.json")
    same = f"the same file as {name}"
    for again, what in [(name, "given twice"), (f"./{name}", same), ("link.json", same)]:
        result = runner.invoke(app, ["profile", "--merge", name, again, "-o", merged])
        assert result.exit_code == 2
        assert result.stderr == (
            f"kldrift: error: {again}: {what}; merging would add its counts twice\n"
        )
    assert not Path(merged).exists()


def test_an_empty_spark_master_without_the_spark_engine_is_refused_too(tmp_path, write_table):
    data = write_table("data.csv", x=[1.0, 2.0])
    result = runner.invoke(
        app, ["profile", str(data), "--spark-master", "", "-o", str(tmp_path / "p.json")]
    )
    assert result.exit_code == 2
    assert result.stderr == "kldrift: error: --spark-master needs --engine spark, got ''\n"


def test_monitor_records_runs_and_history_shows_them(tmp_path, ref_profile):
    db = str(tmp_path / "drift.db")
    first = runner.invoke(app, ["monitor", CUR_CSV, "-r", ref_profile, "--history", db])
    assert first.exit_code == 1, first.stderr
    assert "3 of 12 columns drifted" in first.stdout
    second = runner.invoke(app, ["monitor", REF_CSV, "-r", ref_profile, "--history", db])
    assert second.exit_code == 0, second.stderr

    table = runner.invoke(app, ["history", db])
    assert table.exit_code == 0
    assert "last 2 runs" in table.stdout
    income = next(line for line in table.stdout.splitlines() if "│ income" in line)
    assert "█▁" in income and "ok" in income  # drifted, then back to the reference

    doc = json.loads(runner.invoke(app, ["history", db, "-f", "json", "--last", "1"]).stdout)
    assert [r["id"] for r in doc["runs"]] == [2]
    assert {c["kl"] for c in doc["runs"][0]["columns"]} == {0.0}

    rows = list(
        csv.DictReader(
            io.StringIO(runner.invoke(app, ["history", db, "-f", "csv", "-c", "income"]).stdout)
        )
    )
    assert [(r["run_id"], r["column"], r["status"]) for r in rows] == [
        ("1", "income", "drift"),
        ("2", "income", "ok"),
    ]
    later = runner.invoke(app, ["history", db, "--since", "2999-01-01", "-f", "json"])
    assert json.loads(later.stdout)["runs"] == []
    # The ends of the calendar, and more runs than SQLite can count: every run, or none.
    for since, last, ids in [
        ("0001-01-01T00:00+01:00", "2", [1, 2]),
        ("9999-12-31T23:59-01:00", "2", []),
        ("2000-01-01", str(10**20), [1, 2]),
    ]:
        ends = runner.invoke(app, ["history", db, "--since", since, "--last", last, "-f", "json"])
        assert ends.exit_code == 0, ends.stderr
        assert [r["id"] for r in json.loads(ends.stdout)["runs"]] == ids
    bad = runner.invoke(app, ["history", db, "--since", "yesterday"])
    assert bad.exit_code == 2 and "--since must be an ISO date" in bad.stderr


def _timed(tmp_path):
    reference = pl.DataFrame({"x": [float(i % 30) for i in range(300)]})
    current = pl.DataFrame(
        {
            "day": [f"2026-05-0{1 + i % 3}" for i in range(300)],
            "x": [float(i % 30) + (50 if i % 3 == 2 else 0) for i in range(300)],
        }
    ).with_columns(pl.col("day").str.to_date())
    reference.write_parquet(tmp_path / "ref.parquet")
    current.write_parquet(tmp_path / "cur.parquet")
    return str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet")


def test_compare_per_window_gives_a_row_per_window(tmp_path):
    ref, cur = _timed(tmp_path)
    args = ["compare", ref, cur, "--time-column", "day", "--every", "1d"]
    result = runner.invoke(app, [*args, "-f", "json"])
    assert result.exit_code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert [(w["start"], w["status"]) for w in doc["windows"]] == [
        ("2026-05-01", "ok"),
        ("2026-05-02", "ok"),
        ("2026-05-03", "drift"),
    ]
    assert doc["summary"]["text"] == "1 of 3 windows drifted"
    table = runner.invoke(app, args)
    assert table.exit_code == 1 and "2026-05-03" in table.stdout
    half = runner.invoke(app, ["compare", ref, cur, "--every", "1d"])
    assert half.exit_code == 2 and "--time-column and --every go together" in half.stderr


@pytest.mark.parametrize("every", ["6h", "36h", "90m", "1d12h"])
@pytest.mark.parametrize("command", ["compare", "monitor"])
def test_an_every_finer_than_a_date_column_is_refused(tmp_path, command, every):
    # polars would cut a date column into days anyway (6h) or into windows ending where they
    # start; a datetime column takes any --every.
    ref, cur = _timed(tmp_path)
    db = tmp_path / "w.db"
    data = [ref, cur] if command == "compare" else [cur, "-r", ref, "--history", str(db)]
    result = runner.invoke(app, [command, *data, "--time-column", "day", "--every", every])
    assert result.exit_code == 2
    assert result.stderr == (
        f"kldrift: error: --every {every} is finer than a day, the resolution of 'day' (a date"
        " column); give whole days, such as 1d, 7d, 1w or 1mo\n"
    )
    assert not db.exists()


def test_an_every_finer_than_a_millisecond_column_is_refused(tmp_path):
    ref, cur = _timed(tmp_path)
    frame = pl.read_parquet(cur).with_columns(pl.col("day").cast(pl.Datetime("ms")))
    frame.write_parquet(cur)
    args = ["compare", ref, cur, "--time-column", "day", "--every", "1500us"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr == (
        "kldrift: error: --every 1500us is finer than a millisecond, the resolution of 'day' (a"
        " datetime[ms] column); give whole milliseconds, such as 1ms or 1s\n"
    )


@pytest.mark.parametrize("every", ["1d", "24h", "2d", "1w", "1mo"])
def test_whole_days_cut_a_date_column(tmp_path, every):
    ref, cur = _timed(tmp_path)
    args = ["compare", ref, cur, "--time-column", "day", "--every", every, "-f", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.stderr
    assert all(w["start"] < w["end"] for w in json.loads(result.stdout)["windows"])


def test_monitor_per_window_records_a_run_per_window(tmp_path):
    ref, cur = _timed(tmp_path)
    db = str(tmp_path / "w.db")
    args = ["monitor", cur, "-r", ref, "--history", db, "--time-column", "day", "--every", "1d"]
    assert runner.invoke(app, args).exit_code == 1
    doc = json.loads(runner.invoke(app, ["history", db, "-f", "json"]).stdout)
    assert [(r["window_start"], r["status"]) for r in doc["runs"]] == [
        ("2026-05-01", "ok"),
        ("2026-05-02", "ok"),
        ("2026-05-03", "drift"),
    ]


def test_monitor_posts_an_alert_on_drift_only(tmp_path, ref_profile):
    server = _Server()
    try:
        db = str(tmp_path / "drift.db")
        base = ["-r", ref_profile, "--history", db, "--webhook", server.url]
        assert runner.invoke(app, ["monitor", REF_CSV, *base]).exit_code == 0
        assert server.requests == []
        assert runner.invoke(app, ["monitor", CUR_CSV, *base]).exit_code == 1
        ((_, body),) = server.requests
        assert body["runs"][0]["run_id"] == 2
        assert {c["name"] for c in body["runs"][0]["drifted_columns"]} == {
            "income", "country", "latency_ms"
        }  # fmt: skip
    finally:
        server.close()


def test_a_failed_webhook_keeps_the_run_and_the_exit_code(tmp_path, ref_profile, monkeypatch):
    monkeypatch.setenv("KLDRIFT_WEBHOOK_TOKEN", "tok-123")
    db = str(tmp_path / "drift.db")
    url = f"http://127.0.0.1:{_closed_port()}/hook?sig=zzz"
    result = runner.invoke(
        app,
        ["monitor", CUR_CSV, "-r", ref_profile, "--history", db, "--webhook", url,
         "--webhook-retries", "0", "-f", "json"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["drifted"] is True
    assert result.stderr.startswith("kldrift: warning: webhook http://127.0.0.1:")
    assert result.stderr.count("\n") == 1
    for secret in ("zzz", "tok-123"):
        assert secret not in result.stderr
    runs = runner.invoke(app, ["history", db, "-f", "json"])
    assert len(json.loads(runs.stdout)["runs"]) == 1
    for stored in tmp_path.glob("drift.db*"):  # the database and its WAL
        assert b"tok-123" not in stored.read_bytes() and b"zzz" not in stored.read_bytes()


def test_monitor_errors_are_exit_2_and_record_nothing(tmp_path, ref_profile):
    db = tmp_path / "drift.db"
    result = runner.invoke(app, ["monitor", "missing.csv", "-r", ref_profile, "--history", str(db)])
    assert result.exit_code == 2 and "missing.csv: no such file" in result.stderr
    assert not db.exists()
    bad_hook = ["monitor", CUR_CSV, "-r", ref_profile, "--history", str(db), "--webhook", "x"]
    assert runner.invoke(app, bad_hook).exit_code == 2


def _not_sqlite(d):
    (d / "notes.db").write_text("not a database\n")
    return "notes.db", "notes.db: not a kldrift history database (file is not a database)"


def _other_program(d):
    import sqlite3

    conn = sqlite3.connect(d / "app.db")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    return "app.db", "app.db: not a kldrift history database (another program's SQLite file)"


def _directory(d):
    (d / "runs").mkdir()
    return "runs/", "runs/: history database: a directory, not a regular file"


def _no_directory(d):
    return "nowhere/drift.db", "nowhere/drift.db: history database: no directory 'nowhere'"


def _dangling_link(d):
    (d / "link.db").symlink_to(d / "elsewhere.db")
    return "link.db", "link.db: history database: a symbolic link, not a regular file"


@pytest.mark.parametrize(
    "make", [_not_sqlite, _other_program, _directory, _no_directory, _dangling_link]
)
def test_an_unusable_history_is_refused_before_the_data_is_read(
    tmp_path, monkeypatch, ref_profile, make
):
    forbid(monkeypatch, "kldrift.drift.compare")
    monkeypatch.chdir(tmp_path)
    history, message = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(app, ["monitor", CUR_CSV, "-r", ref_profile, "--history", history])
    assert result.exit_code == 2
    assert result.stderr == f"kldrift: error: {message}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--webhook", "http://[x"], "must be an http:// or https:// URL"),
        (["--webhook", "http://127.0.0.1:9", "--webhook-timeout", "-1"], "--webhook-timeout"),
        (["--webhook", "http://127.0.0.1:9", "--webhook-timeout", "inf"], "--webhook-timeout"),
        (["--webhook", "http://127.0.0.1:9", "--webhook-timeout", "nan"], "--webhook-timeout"),
        (["--webhook", "http://127.0.0.1:9", "--webhook-retries", "-1"], "--webhook-retries"),
        (
            ["--webhook", "http://u:s3cr3t@127.0.0.1:99999/x"],
            "--webhook must have a port from 1 to 65535, got 'http://127.0.0.1:99999/x'",
        ),
        (
            ["--webhook", "http://127.0.0.1:99999/"],
            "--webhook must have a port from 1 to 65535, got 'http://127.0.0.1:99999/'",
        ),
        (
            ["--webhook", "http://[::1]:0/x?token=s3cr3t"],
            "--webhook must have a port from 1 to 65535, got 'http://[::1]:0/x?…'",
        ),
        (
            ["--webhook", "http://u:s3cr3t@127.0.0.1:abc/"],
            "--webhook must have a port that is a number, got 'http://127.0.0.1:abc/'",
        ),
        (["--webhook", "http://u:s3cr3t@127.0.0.1:9/a b"], "must be an http:// or https://"),
    ],
)
def test_bad_webhook_options_are_one_line_errors(tmp_path, ref_profile, extra, message):
    db = tmp_path / "drift.db"
    result = runner.invoke(
        app, ["monitor", CUR_CSV, "-r", ref_profile, "--history", str(db), *extra]
    )
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and "s3cr3t" not in result.stderr
    assert not db.exists()


def test_bins_from_refuses_column_options(tmp_path, ref_profile):
    out = str(tmp_path / "part.kldrift.json")
    args = ["profile", CUR_CSV, "--bins-from", ref_profile, "-o", out, "--columns", "income"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--bins-from takes the columns and bins from the profile" in result.stderr


def test_explain_top_must_be_positive():
    result = runner.invoke(app, ["explain", REF_CSV, CUR_CSV, "--column", "income", "--top", "0"])
    assert result.exit_code == 2 and "--top must be at least 1" in result.stderr


def test_output_file_keeps_show_and_explain(tmp_path):
    out = tmp_path / "report.txt"
    args = ["compare", REF_CSV, CUR_CSV, "-o", str(out), "--show", "psi", "--explain"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.stderr
    text = out.read_text()
    assert "PSI" in text and "income: reference vs current" in text
    assert "3 of 12 columns drifted" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-f", "junit"], "--format must be table, json or html"),
        (["-f", "csv"], "--format must be table, json or html"),
        (["-o", "/nonexistent/x.json"], "no directory '/nonexistent'"),
        (["--html", "/nonexistent/x.html"], "no directory '/nonexistent'"),
        (["-o", "s3://bucket/x.json"], "s3://bucket/x.json: reports are written to local files"),
    ],
)
def test_monitor_that_cannot_write_its_report_records_no_run(tmp_path, args, message):
    db = tmp_path / "h.db"
    result = runner.invoke(app, ["monitor", CUR_CSV, "-r", REF_CSV, "--history", str(db), *args])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not db.exists()
    assert not Path("s3:").exists()


def test_monitor_writes_its_files_once_the_run_is_recorded(tmp_path):
    db, out, page = tmp_path / "h.db", tmp_path / "r.json", tmp_path / "r.html"
    result = runner.invoke(
        app,
        ["monitor", CUR_CSV, "-r", REF_CSV, "--history", str(db), "-f", "json", "-o", str(out)]
        + ["--html", str(page)],
    )
    assert result.exit_code == 1, result.stderr
    assert json.loads(out.read_text())["columns"] and page.read_text().startswith("<!DOCTYPE")
    assert "drifted" in result.stderr and result.stdout == ""
    history = runner.invoke(app, ["history", str(db), "-f", "json"])
    assert len(json.loads(history.stdout)["runs"]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--html", "/nonexistent/r.html"], "no directory '/nonexistent'"),
        (["-o", "/nonexistent/r.json"], "no directory '/nonexistent'"),
        (["-o", "s3://bucket/x.json"], "s3://bucket/x.json: reports are written to local files"),
        (["-o", "https://user:secret@host/x.json"], "https://host/x.json: reports are"),
    ],
)
def test_compare_refuses_an_unwritable_output_before_printing_anything(
    tmp_path, monkeypatch, args, message
):
    monkeypatch.chdir(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, *args])
    assert result.exit_code == 2
    assert message in result.stderr and "secret" not in result.stderr
    assert result.stdout == "" and not summary.exists()
    assert list(tmp_path.iterdir()) == []  # no local "s3:/bucket/x.json"
