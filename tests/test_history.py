"""The SQLite run history: round trip, filters, schema version, concurrent and killed runs."""

import contextlib
import csv
import datetime as dt
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from kldrift import drift
from kldrift import historydb as history
from kldrift.cli import app
from kldrift.errors import ColumnError, InputError, OptionError
from kldrift.registry import Metric
from kldrift.result import Window


def _report(shift: float = 0.0, **changes):
    reference = pl.DataFrame({"x": [float(i % 50) for i in range(500)], "c": ["a", "b"] * 250})
    current = pl.DataFrame(
        {"x": [float(i % 50) + shift for i in range(300)], "c": ["a", "b", "b"] * 100}
    )
    return drift.compare(reference, current, **changes)


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


def _v1_database(path):
    conn = sqlite3.connect(path, isolation_level=None)
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


def test_version_1_database_is_migrated_and_keeps_its_runs(tmp_path):
    db = tmp_path / "old.db"
    _v1_database(db)
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


@pytest.mark.parametrize("after", [1, 2, 3])
def test_a_file_created_while_it_is_identified_is_still_ours(tmp_path, after):
    # The first run to create the file commits its schema while another run, outside the lock,
    # is reading the header: whichever statement the commit falls after, the file is kldrift's.
    db, report = tmp_path / "drift.db", _report()
    conn = sqlite3.connect(db, isolation_level=None)
    statements = 0

    class Interleaved:
        def execute(self, sql: str):
            nonlocal statements
            rows = conn.execute(sql).fetchall()
            statements += 1
            if statements == after:
                history.record(db, [report])
            return _Rows(rows)

    try:
        assert history._identify(Interleaved()) in (0, history.SCHEMA_VERSION)
    finally:
        conn.close()


class _Rows(list):
    def fetchone(self):
        return self[0]


# Run in a child process: `kldrift monitor`, with sqlite3.connect wrapped so that the connection
# stops at COMMIT (every row of the run written, none committed) until the test kills it.
_PAUSE_AT_COMMIT = """
import pathlib, sqlite3, sys, time
connect, marker = sqlite3.connect, pathlib.Path(sys.argv.pop(1))
def paused(*args, **kwargs):
    conn = connect(*args, **kwargs)
    def trace(sql):
        if sql.strip().upper() == "COMMIT":
            marker.touch()
            time.sleep(60)
    conn.set_trace_callback(trace)
    return conn
sqlite3.connect = paused
sys.argv[0] = "kldrift"
from kldrift.cli import run
run()
"""


@pytest.mark.slow
def test_a_run_killed_midway_leaves_no_partial_run(tmp_path):
    db = tmp_path / "drift.db"
    args = _monitor_args(tmp_path, db)
    assert subprocess.run(args, capture_output=True, check=False).returncode == 1
    marker = tmp_path / "paused"
    child = [sys.executable, "-c", _PAUSE_AT_COMMIT, str(marker), *args[3:]]
    proc = subprocess.Popen(child, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), proc.stderr.read() if proc.poll() is not None else "no COMMIT"
        # The run row and its column rows are written but not committed.
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    orphans = "SELECT count(*) FROM column_results WHERE run_id NOT IN (SELECT id FROM runs)"
    assert conn.execute(orphans).fetchone()[0] == 0
    conn.close()
    # The next run goes through and the history reads back whole.
    assert subprocess.run(args, capture_output=True, check=False).returncode == 1
    assert [len(r.columns) for r in history.read(db)] == [1, 1]


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("", "must not be an empty path"),
        (" ", "must not be an empty path"),
        (":memory:", "must be the path of a database file"),
        ("file:drift.db?mode=memory", "must be the path of a database file"),
    ],
)
def test_a_history_that_is_not_a_file_is_refused(path, rule):
    with pytest.raises(OptionError, match=f"^history {rule}"):
        history.record(path, [_report()])
    with pytest.raises(OptionError, match=f"^history {rule}"):
        history.read(path)


def test_a_history_path_that_is_not_a_regular_file_is_refused(tmp_path):
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    for path in (fifo, tmp_path):
        with pytest.raises(InputError, match="not a regular file"):
            history.record(path, [_report()])
        with pytest.raises(InputError, match="not a regular file"):
            history.read(path)


def _foreign(path, **pragmas):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    for name, value in pragmas.items():
        conn.execute(f"PRAGMA {name} = {value}")
    conn.execute("CREATE TABLE runs (x)")  # a name in common is not enough
    conn.commit()
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    "pragmas", [{}, {"user_version": 2}, {"application_id": 42, "user_version": 1}]
)
def test_a_foreign_sqlite_file_is_refused_and_left_untouched(tmp_path, pragmas):
    foreign = tmp_path / "other.db"
    before = _foreign(foreign, **pragmas)
    with pytest.raises(InputError, match="not a kldrift history database"):
        history.record(foreign, [_report()])
    with pytest.raises(InputError, match="not a kldrift history database"):
        history.read(foreign)
    assert foreign.read_bytes() == before  # journal mode included: no switch to WAL
    assert sorted(os.listdir(tmp_path)) == ["other.db"]


def test_a_new_history_carries_the_kldrift_application_id(tmp_path):
    db = tmp_path / "drift.db"
    history.record(db, [_report()])
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == history.APPLICATION_ID
    conn.close()


def test_a_corrupted_page_is_a_one_line_error(tmp_path):
    db = tmp_path / "drift.db"
    for shift in (0.0, 5.0, 10.0):
        history.record(db, [_report(shift)])
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = DELETE")  # everything in the main file
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    data[page:] = b"\xa5" * (len(data) - page)  # every page but the first (the schema)
    db.write_bytes(bytes(data))
    for attempt in (lambda: history.read(db), lambda: history.record(db, [_report()])):
        with pytest.raises(InputError, match="history database is corrupt") as caught:
            attempt()
        assert str(db) in str(caught.value) and "\n" not in str(caught.value)


def test_reading_an_old_history_does_not_migrate_or_change_it(tmp_path):
    db = tmp_path / "old.db"
    _v1_database(db)
    before = db.read_bytes()
    (run,) = history.read(db)
    assert run.columns[0].kl == 0.01 and run.columns[0].p_adjusted is None
    assert db.read_bytes() == before and os.listdir(tmp_path) == ["old.db"]


def test_reading_does_not_wait_for_a_writer_holding_the_lock(tmp_path):
    db = tmp_path / "drift.db"
    history.record(db, [_report()])
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # what a monitor run holds while it writes
    writer.execute("DELETE FROM schema_changes")
    try:
        done = []
        reader = threading.Thread(target=lambda: done.append(history.read(db)), daemon=True)
        reader.start()
        reader.join(20)  # a reader that queued for the lock would wait LOCK_TIMEOUT (60 s)
        assert done and len(done[0]) == 1
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@contextlib.contextmanager
def _as_a_reader_only(directory):
    """The directory and its files read-only, and, for root, the effective user nobody, so the
    permissions really apply."""
    for entry in directory.iterdir():
        entry.chmod(0o444)
    directory.chmod(0o555)
    try:
        if os.geteuid() == 0:
            os.seteuid(65534)
            try:
                yield
            finally:
                os.seteuid(0)
        else:
            yield
    finally:
        directory.chmod(0o755)


@pytest.mark.parametrize("layout", ["wal", "version 1"])
def test_a_read_only_history_can_be_read(layout):
    # Outside pytest's tmp_path, whose parents only their owner may enter.
    directory = Path(tempfile.mkdtemp(prefix="kldrift-ro-"))
    try:
        directory.chmod(0o755)
        db = directory / "drift.db"
        if layout == "wal":
            history.record(db, [_report(), _report(5.0)])
        else:
            _v1_database(db)
        # Import what the command imports while the files of Python itself are still readable.
        assert CliRunner().invoke(app, ["history", str(db), "-f", "json"]).exit_code == 0
        with _as_a_reader_only(directory):
            with pytest.raises(InputError):  # the check is real: writing is not possible
                history.record(db, [_report()])
            runs = history.read(db)
            result = CliRunner().invoke(app, ["history", str(db), "-f", "json"])
        assert len(runs) == (2 if layout == "wal" else 1)
        assert result.exit_code == 0, result.stderr
        assert len(json.loads(result.stdout)["runs"]) == len(runs)
    finally:
        shutil.rmtree(directory)


def test_history_csv_defuses_formula_like_text(tmp_path):
    db = tmp_path / "drift.db"
    hostile = '=HYPERLINK("http://evil.example","x")'
    report = replace(_report(), reference=hostile, current="@SUM(1+1)")
    frame = pl.DataFrame({"-2+3": [1.0, 2.0] * 50, "+cmd": ["a", "b"] * 50})
    named = drift.compare(frame, frame)
    history.record(db, [report, named])
    result = CliRunner().invoke(app, ["history", str(db), "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["reference"] for r in rows} == {"'" + hostile, "<DataFrame>"}
    assert "'@SUM(1+1)" in {r["current"] for r in rows}
    assert {"'-2+3", "'+cmd"} <= {r["column"] for r in rows}
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@")), value
            assert not value.startswith("-") or float(value) < 0  # only numbers start with -


def test_history_csv_has_every_recorded_score(tmp_path):
    from kldrift.registry import METRICS

    db = tmp_path / "drift.db"
    report = _report(shift=20.0)
    history.record(db, [report])
    result = CliRunner().invoke(app, ["history", str(db), "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    rows = {r["column"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    expected = {info.field for info in METRICS.values()} | {"noise_floor", "p_adjusted"}
    assert expected <= set(rows["x"])
    x = report.column("x")
    assert float(rows["x"]["psi"]) == x.score(Metric.psi)
    assert float(rows["x"]["p_adjusted"]) == x.p_adjusted
    assert float(rows["x"]["noise_floor"]) == x.noise_floor


def test_history_is_never_written_through_a_symbolic_link(tmp_path):
    victim = tmp_path / "victim.db"
    link = tmp_path / "lnk.db"
    link.symlink_to(victim)
    with pytest.raises(InputError, match="symbolic link"):
        history.record(link, [_report()])
    assert not victim.exists() and link.is_symlink()
    history.record(victim, [_report()])  # a link to an existing database is refused too
    with pytest.raises(InputError, match="symbolic link"):
        history.record(link, [_report()])
    assert len(history.read(victim)) == 1


def test_history_output_to_a_uri_is_refused_not_written_locally(tmp_path, monkeypatch):
    db = tmp_path / "drift.db"
    history.record(db, [_report()])
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["history", str(db), "-o", "s3://bucket/h.json"])
    assert result.exit_code == 2
    assert "s3://bucket/h.json: reports are written to local files" in result.stderr
    assert not (tmp_path / "s3:").exists()



@pytest.mark.parametrize("path", [":memory:", "file:drift.db?mode=memory"])
def test_history_names_its_database_argument_when_refusing_it(path):
    # `kldrift history` has no --history option: its DATABASE argument is what was wrong.
    result = CliRunner().invoke(app, ["history", path])
    assert result.exit_code == 2
    assert result.stderr.startswith("kldrift: error: DATABASE must be the path of a database file")
    assert "--history" not in result.stderr


_METRICS = "kl, js_divergence, js_distance, psi or hellinger"


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ("UPDATE runs SET options = '{bad'", "run 1: options is not valid JSON"),
        ("UPDATE runs SET options = '{\"bins\": NaN}'", "run 1: options is not valid JSON"),
        (
            "UPDATE runs SET options = '{\"base\": 0}'",
            "run 1: options has base 0, not a number above 1",
        ),
        ("UPDATE runs SET thresholds = '[]'", "run 1: thresholds is not a JSON object"),
        (
            "UPDATE runs SET thresholds = '{\"metric\": \"nope\"}'",
            f"run 1: thresholds has metric 'nope', not {_METRICS}",
        ),
        ("UPDATE runs SET current_files = 'not json'", "run 1: current_files is not valid JSON"),
        (
            "UPDATE runs SET current_files = '[1]'",
            "run 1: current_files is not a JSON list of text",
        ),
        ("UPDATE runs SET drifted = 'yes'", "run 1: drifted is 'yes', not an integer"),
        (
            "UPDATE column_results SET kl = 'abc' WHERE column_name = 'x'",
            "run 1: column 'x': kl is 'abc', not a number",
        ),
        (
            "UPDATE column_results SET psi = x'00' WHERE column_name = 'x'",
            "run 1: column 'x': psi is a blob, not a number",
        ),
        ("UPDATE pair_results SET cells = 'x'", "run 1: pair 'x × c': cells is not valid JSON"),
        ("UPDATE pair_results SET x = x'01'", "run 1: pair_results: x is a blob, not text"),
    ],
)
@pytest.mark.parametrize("fmt", ["table", "json", "csv", "html"])
def test_a_value_edited_by_an_sqlite_client_is_a_one_line_error(tmp_path, edit, problem, fmt):
    db = tmp_path / "drift.db"
    history.record(db, [_report(5.0, pairs=[("x", "c")])])
    conn = sqlite3.connect(db)
    conn.execute(edit)
    conn.commit()
    conn.close()
    result = CliRunner().invoke(app, ["history", str(db), "-f", fmt])
    assert result.exit_code == 2
    assert result.stderr == f"kldrift: error: {db}: {problem}\n"
    assert result.stdout == ""


def test_a_negative_score_edited_in_is_drawn_as_the_lowest_bar(tmp_path):
    from kldrift.report.history import trend
    from kldrift.report.table import BARS

    assert trend([-50.0, 0.1], 0.1) == BARS[1] + BARS[-1]
    db = tmp_path / "drift.db"
    history.record(db, [_report(), _report()])
    conn = sqlite3.connect(db)
    conn.execute("UPDATE column_results SET kl = -50 WHERE run_id = 1")
    conn.commit()
    conn.close()
    result = CliRunner().invoke(app, ["history", str(db)])
    assert result.exit_code == 0, result.stderr
    assert "-50" in result.stdout
