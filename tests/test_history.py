"""The SQLite run history: round trip, filters, schema version, concurrent and killed runs."""

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import polars as pl
import pytest

from kldrift import drift
from kldrift import historydb as history
from kldrift.errors import ColumnError, InputError
from kldrift.result import Window


def _report(shift: float = 0.0):
    reference = pl.DataFrame({"x": [float(i % 50) for i in range(500)], "c": ["a", "b"] * 250})
    current = pl.DataFrame(
        {"x": [float(i % 50) + shift for i in range(300)], "c": ["a", "b", "b"] * 100}
    )
    return drift.compare(reference, current)


def test_runs_round_trip_with_their_column_results(tmp_path):
    db = tmp_path / "drift.db"
    quiet, shifted = _report(), _report(shift=20.0)
    ids = history.record(db, [quiet])
    ids += history.record(db, [shifted])
    runs = history.read(db)
    assert [r.id for r in runs] == ids == [1, 2]
    assert [r.status for r in runs] == [quiet.status.value, "drift"]
    latest = {c.name: c for c in runs[1].columns}
    for column in shifted.columns:
        assert latest[column.name].kl == column.kl  # stored as REAL: exact
        assert latest[column.name].status == column.status.value
    assert runs[1].options["bins"] == 10
    assert runs[1].current == "<DataFrame>" and runs[1].window_start is None


def test_last_since_and_column_filters(tmp_path):
    db = tmp_path / "drift.db"
    for shift in (0.0, 5.0, 10.0):
        history.record(db, [_report(shift)])
    assert [r.id for r in history.read(db, last=2)] == [2, 3]
    future = dt.datetime.now() + dt.timedelta(days=1)
    assert history.read(db, since=future) == ()
    assert len(history.read(db, since=dt.datetime(2000, 1, 1))) == 3
    only_x = history.read(db, columns=["x"])
    assert {c.name for r in only_x for c in r.columns} == {"x"}
    with pytest.raises(ColumnError, match="no column 'nope'"):
        history.read(db, columns=["nope"])


def test_window_runs_keep_their_window(tmp_path):
    db = tmp_path / "drift.db"
    report = _report()
    history.record(db, [replace(report, window=Window("2026-01-01", "2026-01-02"))] * 2)
    runs = history.read(db)
    assert [(r.window_start, r.window_end) for r in runs] == [("2026-01-01", "2026-01-02")] * 2


def test_database_is_wal_and_versioned(tmp_path):
    db = tmp_path / "drift.db"
    history.record(db, [_report()])
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION
    conn.close()


def test_a_column_with_several_changes_in_one_run_is_recorded(tmp_path):
    db = tmp_path / "drift.db"
    reference = pl.DataFrame({"c": ["a", "b"] * 50})
    current = pl.DataFrame({"c": ["a", "new", None, "b"] * 25})  # new category and nulls
    report = drift.compare(reference, current)
    changes = {s.change for s in report.schema if s.column == "c"}
    assert {"null_rate_changed", "new_categories"} <= changes
    history.record(db, [report])
    conn = sqlite3.connect(db)
    stored = {r[0] for r in conn.execute("SELECT change FROM schema_changes")}
    conn.close()
    assert stored == changes


def test_version_1_database_is_migrated_and_keeps_its_runs(tmp_path):
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    history.MIGRATIONS[1](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO runs VALUES (1, '2026-01-01T00:00:00+00:00', 'r', 'c', NULL, NULL, '{}',"
        " '{}', 'ok', 0, '0 of 1 columns drifted', 10, 10, 1, 0, '0.0.1')"
    )
    conn.execute(
        "INSERT INTO column_results VALUES (1, 'x', 'numeric', 'Float64', 'ok', 0.01, 2.0,"
        " 1.99, 0.0, 0.0, 0.05, 0.1)"
    )
    conn.close()
    history.record(db, [_report(shift=20.0)])
    old, new = history.read(db)
    assert old.columns[0].kl == 0.01 and old.columns[0].p_adjusted is None
    assert new.columns[0].p_adjusted is not None and new.columns[0].kl_corrected is not None
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION
    conn.close()


def test_a_newer_or_foreign_database_is_refused(tmp_path):
    newer = tmp_path / "newer.db"
    history.record(newer, [_report()])
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(InputError, match="schema version 99 is newer"):
        history.record(newer, [_report()])
    foreign = tmp_path / "other.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(InputError, match="not a kldrift history"):
        history.read(foreign)
    junk = tmp_path / "junk.db"
    junk.write_text("this is not sqlite" * 100)
    with pytest.raises(InputError, match="not a kldrift history database"):
        history.record(junk, [_report()])
    with pytest.raises(InputError, match="no such file"):
        history.read(tmp_path / "missing.db")


def _monitor_args(tmp_path, db):
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    if not ref.exists():
        pl.DataFrame({"x": [float(i % 37) for i in range(200)]}).write_csv(ref)
        pl.DataFrame({"x": [float(i % 37) + 9 for i in range(100)]}).write_csv(cur)
    return [sys.executable, "-m", "kldrift", "monitor", str(cur), "-r", str(ref), "--history",
            str(db), "-f", "json"]  # fmt: skip


@pytest.mark.slow
def test_concurrent_monitor_processes_all_get_recorded(tmp_path):
    db = tmp_path / "drift.db"
    args = _monitor_args(tmp_path, db)
    procs = [
        subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [1] * 4, errors
    runs = history.read(db, last=100)
    assert sorted(r.id for r in runs) == list(range(1, 5))
    assert all(len(r.columns) == 1 and r.status == "drift" for r in runs)


def test_many_writers_at_once_lose_no_run(tmp_path):
    # Threads with their own connections contend for the write lock far harder than cron would.
    db, report = tmp_path / "drift.db", _report()
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: history.record(db, [report, report]), range(40)))
    assert sorted(i for pair in ids for i in pair) == list(range(1, 81))
    assert len(history.read(db, last=1000)) == 80


@pytest.mark.slow
def test_a_run_killed_midway_leaves_no_partial_run(tmp_path):
    db = tmp_path / "drift.db"
    args = _monitor_args(tmp_path, db)
    assert subprocess.run(args, capture_output=True, check=False).returncode == 1
    marker = tmp_path / "paused"
    env = {**os.environ, history.PAUSE_HOOK_ENV: str(marker)}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the run never reached the pause hook"
        # The run row and a column row are written but not committed.
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    orphans = "SELECT count(*) FROM column_results WHERE run_id NOT IN (SELECT id FROM runs)"
    assert conn.execute(orphans).fetchone()[0] == 0
    conn.close()
    # The next run goes through and the history reads back whole.
    assert subprocess.run(args, capture_output=True, check=False).returncode == 1
    assert [len(r.columns) for r in history.read(db)] == [1, 1]
