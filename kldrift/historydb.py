"""Run history in SQLite: a row per run, column result and pair result, safe for overlapping runs.

Concurrency: the database is in WAL mode; a run is written in one `BEGIN IMMEDIATE` transaction,
so it is all there or not at all (a process killed midway leaves nothing behind), and writers
queue on SQLite's busy timeout, with a retry loop on top for the few cases SQLite reports "locked"
without waiting. A file is checked to be a kldrift history before anything is written to it
(its journal mode included). Reading opens the file read-only: no lock, no migration. Schema
changes go through `migrate` (docs/history.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import sqlite3
import stat
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kldrift import files, jsonvalues
from kldrift.__version__ import __version__
from kldrift.errors import ColumnError, InputError, OptionError
from kldrift.options import Status
from kldrift.registry import METRICS, Metric
from kldrift.result import DriftReport
from kldrift.retry import Backoff, retry

#: Version of the database layout, kept in `PRAGMA user_version`.
SCHEMA_VERSION = 5
#: Seconds a run waits, in all, for other processes' transactions before giving up.
LOCK_TIMEOUT = 60.0
#: `PRAGMA application_id` of a kldrift history ("KLDH"), so another program's file is told apart.
APPLICATION_ID = 0x4B4C4448
#: Tables every kldrift history holds; a file made before APPLICATION_ID is known by them.
_TABLES = frozenset({"runs", "column_results", "schema_changes"})
#: SQLite's largest LIMIT (a signed 64-bit integer): a larger --last asks for every run.
_MAX_LIMIT = 2**63 - 1
#: Waits between attempts to take the write lock: 50 ms doubling to 1 s, each stretched by 1-2x.
_LOCK_BACKOFF = Backoff(first=0.05, cap=1.0, within=LOCK_TIMEOUT, jitter=True)

T = TypeVar("T")


@dataclass(frozen=True)
class ColumnResult:
    """One column's scores in one run (scores in the run's log base; levels in nats)."""

    name: str
    kind: str
    dtype: str
    status: str
    kl: float
    cross_entropy: float
    entropy: float
    null_share_reference: float
    null_share_current: float
    warn: float
    threshold: float
    #: Decision scores (schema version 2); None in runs recorded by version 1.
    kl_corrected: float | None = None
    noise_floor: float | None = None
    p_adjusted: float | None = None
    psi: float | None = None
    js_divergence: float | None = None
    hellinger: float | None = None
    #: Added in schema version 3 (None in older runs).
    js_distance: float | None = None


@dataclass(frozen=True)
class PairResult:
    """One column pair's relationship drift in one run (schema version 5).

    `relationship` and `kl` (the joint KL) are in the run's log base; levels in nats. `cells`
    describe the cells carrying the score, e.g. "income > 61000 × age <= 31: 4% → 19%".
    """

    x: str
    y: str
    status: str
    relationship: float
    kl: float
    p_adjusted: float
    warn: float
    threshold: float
    cells: tuple[str, ...]

    @property
    def name(self) -> str:
        """The pair as reports name it: "income × age"."""
        return f"{self.x} × {self.y}"


@dataclass(frozen=True)
class Run:
    """One recorded comparison; `time` is when it was recorded, UTC, ISO 8601."""

    id: int
    time: str
    reference: str
    current: str
    window_start: str | None
    window_end: str | None
    status: str
    drifted: bool
    summary: str
    reference_rows: int
    current_rows: int
    options: dict[str, Any]
    columns: tuple[ColumnResult, ...]
    #: Added in schema version 4 (empty or None in older runs): the files CURRENT matched (a
    #: glob or directory matches several) and the config file in force.
    current_files: tuple[str, ...] = ()
    config_file: str | None = None
    #: Column pairs scored in the run (schema version 5; empty in older runs).
    pairs: tuple[PairResult, ...] = ()
    #: The metric the run decided by (`runs.thresholds`; its `warn` and `threshold` levels).
    metric: str = "kl"

    def decision_score(self, column: ColumnResult) -> float | None:
        """`column`'s score in the metric this run decided by, in the units of its levels
        (nats for a divergence); None if the run's layout did not record it (version 1)."""
        info = METRICS[Metric(self.metric)]
        value = getattr(column, info.field)
        if value is None and info.field == "kl_corrected":
            value = column.kl  # before version 2 the decision was on the plain KL
        base = float(self.options.get("base", math.e))
        return None if value is None else info.in_nats(float(value), base)


def record(
    path: str | os.PathLike[str], reports: Sequence[DriftReport]
) -> list[int]:
    """Append one run per report (per window for window reports) in one transaction; their ids."""
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")

    def write(conn: sqlite3.Connection) -> list[int]:
        ids = []
        for report in reports:
            window = (report.window.start, report.window.end) if report.window else (None, None)
            ids.append(_insert_run(conn, now, report, window))
        return ids

    return _transaction(_checked(path, writing=True), write)


def check(path: str | os.PathLike[str]) -> None:
    """Raise now, before any data is read, what `record` would raise about `path` itself.

    Refused: a name that is no file (`_checked`), a link, a directory or a FIFO, a new file in a
    directory that does not exist, and an existing file that is not a kldrift history we can
    write (another program's SQLite file, a newer schema, a damaged or non-SQLite file). Nothing
    is written: an existing file is only opened read-only, and a new one is not created.
    """
    name = _checked(path, writing=True)
    if os.path.lexists(name):  # a regular file: _checked refused anything else
        _read_only(name, lambda conn: None)
        return
    parent = os.path.dirname(name) or "."
    try:
        is_directory = stat.S_ISDIR(os.stat(parent).st_mode)
    except FileNotFoundError:
        raise InputError(f"{name}: history database: no directory {parent!r}") from None
    except OSError as exc:
        raise InputError(f"{name}: history database: {exc.strerror or exc}") from None
    if not is_directory:
        raise InputError(f"{name}: history database: {parent!r} is not a directory")


def read(
    path: str | os.PathLike[str],
    *,
    last: int = 20,
    since: dt.datetime | None = None,
    columns: Sequence[str] = (),
) -> tuple[Run, ...]:
    """The last `last` runs recorded at or after `since`, oldest first; only `columns` if given.

    The file is opened read-only and read as it is, so a history on a read-only disk or one
    another process is writing to can be read, and an older layout is not upgraded by reading.
    Each run is checked as it is decoded: a value edited into a form kldrift cannot use raises
    InputError naming the file, the run and the field (`_Stored`).
    """
    name = _checked(path)
    if not Path(name).exists():
        raise InputError(f"{name}: no such file")

    def query(conn: sqlite3.Connection) -> tuple[Run, ...]:
        sql = "SELECT * FROM runs"
        params: list[Any] = []
        if since is not None:
            sql += " WHERE time >= ?"
            params.append(_utc(since).isoformat(timespec="microseconds"))
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(min(last, _MAX_LIMIT))
        runs = conn.execute(sql, params).fetchall()[::-1]
        if columns:
            stored = conn.execute("SELECT DISTINCT column_name FROM column_results")
            known = {r[0] for r in stored if isinstance(r[0], str)}  # not a client's blob
            for name in columns:
                if name not in known:
                    raise ColumnError(name, os.fspath(path), setting="columns", known=sorted(known))
        return tuple(_run(conn, row, columns) for row in runs)

    return _read_only(name, query)


def _utc(moment: dt.datetime) -> dt.datetime:
    """`moment` in UTC (naive: taken as UTC). One within hours of the ends of the calendar whose
    UTC time lies past them (0001-01-01T00:00+01:00) becomes that end, which selects the same
    runs."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    try:
        return moment.astimezone(dt.timezone.utc)
    except OverflowError:
        end = dt.datetime.min if moment.year == dt.MINYEAR else dt.datetime.max
        return end.replace(tzinfo=dt.timezone.utc)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to SCHEMA_VERSION, inside the caller's write transaction.

    `MIGRATIONS[v]` turns a version v-1 database into version v; version 0 is an empty file. A
    later layout adds a step (ALTER TABLE ..., data copies) and bumps SCHEMA_VERSION; old
    databases are upgraded in place by the first run of the new kldrift.
    """
    version = _identify(conn)
    for step in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[step](conn)
        conn.execute(f"PRAGMA user_version = {step}")
    if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _identify(conn: sqlite3.Connection) -> int:
    """The file's schema version (0: empty); InputError unless it is a kldrift history we know."""
    # One statement, so one snapshot: read apart, a writer creating the file in between could
    # show an empty header next to its new tables and pass for another program's database.
    version, application, names = conn.execute(
        "SELECT (SELECT user_version FROM pragma_user_version),"
        " (SELECT application_id FROM pragma_application_id),"
        " (SELECT json_group_array(name) FROM sqlite_master WHERE type = 'table')"
    ).fetchone()
    version, tables = int(version), set(json.loads(names))
    ours = application == APPLICATION_ID or (
        application == 0 and (_TABLES <= tables if version else not tables)
    )
    if not ours:
        raise InputError("not a kldrift history database (another program's SQLite file)")
    if version > SCHEMA_VERSION:
        raise InputError(
            f"history schema version {version} is newer than this kldrift's ({SCHEMA_VERSION})"
        )
    return version


_V1 = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        reference TEXT NOT NULL,
        current TEXT NOT NULL,
        window_start TEXT,
        window_end TEXT,
        options TEXT NOT NULL,
        thresholds TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'warn', 'drift')),
        drifted INTEGER NOT NULL,
        summary TEXT NOT NULL,
        reference_rows INTEGER NOT NULL,
        current_rows INTEGER NOT NULL,
        columns_compared INTEGER NOT NULL,
        columns_drifted INTEGER NOT NULL,
        kldrift_version TEXT NOT NULL
    )
    """,
    """
    CREATE INDEX runs_by_time ON runs (time)
    """,
    """
    CREATE TABLE column_results (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        column_name TEXT NOT NULL,
        kind TEXT NOT NULL,
        dtype TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'warn', 'drift')),
        kl REAL NOT NULL,
        cross_entropy REAL NOT NULL,
        entropy REAL NOT NULL,
        null_share_reference REAL NOT NULL,
        null_share_current REAL NOT NULL,
        warn REAL NOT NULL,
        threshold REAL NOT NULL,
        PRIMARY KEY (run_id, column_name)
    )
    """,
    """
    CREATE TABLE schema_changes (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        column_name TEXT NOT NULL,
        change TEXT NOT NULL,
        reference_dtype TEXT,
        current_dtype TEXT,
        breaking INTEGER NOT NULL,
        PRIMARY KEY (run_id, column_name)
    )
    """,
)


def _create_v1(conn: sqlite3.Connection) -> None:
    # One execute per statement: executescript would COMMIT the open transaction first.
    for statement in _V1:
        conn.execute(statement)


#: Scores added to column_results in version 2 (NULL in rows recorded by version 1).
_V2_SCORES = ("kl_corrected", "noise_floor", "p_adjusted", "psi", "js_divergence", "hellinger")


def _migrate_v2(conn: sqlite3.Connection) -> None:
    # A column can now have several changes in one run (say a null-rate change and new
    # categories), so the key gains `change`; SQLite cannot alter a key, so the table is copied.
    conn.execute("ALTER TABLE schema_changes RENAME TO schema_changes_v1")
    conn.execute(
        """
        CREATE TABLE schema_changes (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            column_name TEXT NOT NULL,
            change TEXT NOT NULL,
            reference_dtype TEXT,
            current_dtype TEXT,
            breaking INTEGER NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (run_id, column_name, change)
        )
        """
    )
    conn.execute(
        "INSERT INTO schema_changes (run_id, column_name, change, reference_dtype,"
        " current_dtype, breaking) SELECT run_id, column_name, change, reference_dtype,"
        " current_dtype, breaking FROM schema_changes_v1"
    )
    conn.execute("DROP TABLE schema_changes_v1")
    for score in _V2_SCORES:
        conn.execute(f"ALTER TABLE column_results ADD COLUMN {score} REAL")


#: The scores recorded per column: version 2's, then each registered metric's not among them
#: (js_distance since version 3), so every metric a run can decide by is in its history.
SCORES = (*_V2_SCORES, *(i.field for i in METRICS.values() if i.field not in _V2_SCORES))


def _add_metric_columns(conn: sqlite3.Connection) -> None:
    present = {row[1] for row in conn.execute("PRAGMA table_info(column_results)")}
    for score in SCORES:
        if score not in present:
            conn.execute(f"ALTER TABLE column_results ADD COLUMN {score} REAL")


def _add_inputs(conn: sqlite3.Connection) -> None:
    # A JSON list of file names; NULL in runs recorded before version 4.
    conn.execute("ALTER TABLE runs ADD COLUMN current_files TEXT")
    conn.execute("ALTER TABLE runs ADD COLUMN config_file TEXT")


def _add_pair_results(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE pair_results (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            x TEXT NOT NULL,
            y TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('ok', 'warn', 'drift')),
            relationship REAL NOT NULL,
            kl REAL NOT NULL,
            p_adjusted REAL NOT NULL,
            warn REAL NOT NULL,
            threshold REAL NOT NULL,
            cells TEXT NOT NULL,
            PRIMARY KEY (run_id, x, y)
        )
        """
    )


#: Upgrade steps: MIGRATIONS[v] turns a version v-1 database into version v.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _create_v1,
    2: _migrate_v2,
    3: _add_metric_columns,
    4: _add_inputs,
    5: _add_pair_results,
}


def _insert_run(
    conn: sqlite3.Connection,
    now: str,
    report: DriftReport,
    window: tuple[str | None, str | None],
) -> int:
    options, thresholds = report.options, report.thresholds
    cursor = conn.execute(
        "INSERT INTO runs (time, reference, current, window_start, window_end, options,"
        " thresholds, status, drifted, summary, reference_rows, current_rows, columns_compared,"
        " columns_drifted, kldrift_version, current_files, config_file)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            now,
            report.reference,
            report.current,
            *window,
            jsonvalues.dumps(options.as_dict(), ascii_only=True),
            jsonvalues.dumps(
                {
                    "metric": thresholds.metric.value,
                    "decision": thresholds.decision.value,
                    "alpha": thresholds.alpha,
                    "adjustment": thresholds.adjustment.value,
                    "drift": thresholds.drift_level,
                    "warn": thresholds.warn_level,
                    "columns": thresholds.columns,
                },
                ascii_only=True,
            ),
            report.status.value,
            int(report.drifted),
            report.summary,
            report.reference_rows,
            report.current_rows,
            len(report.columns),
            len(report.drifted_columns),
            __version__,
            jsonvalues.dumps(list(report.current_files), ascii_only=True),
            report.config_file,
        ),
    )
    run_id = cursor.lastrowid
    assert run_id is not None  # an INSERT into a rowid table always sets it
    for c in report.columns:
        conn.execute(
            "INSERT INTO column_results (run_id, column_name, kind, dtype, status, kl,"
            " cross_entropy, entropy, null_share_reference, null_share_current, warn, threshold,"
            f" {', '.join(SCORES)}) VALUES ({', '.join('?' * (12 + len(SCORES)))})",
            (
                run_id,
                c.name,
                c.kind.value,
                c.dtype,
                c.status.value,
                c.kl,
                c.cross_entropy,
                c.entropy,
                c.null_share_reference,
                c.null_share_current,
                c.warn,
                c.threshold,
                *(getattr(c, score) for score in SCORES),
            ),
        )
    conn.executemany(
        "INSERT INTO schema_changes VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_id,
                s.column,
                s.change,
                s.reference_dtype,
                s.current_dtype,
                int(s.breaking),
                s.detail,
            )
            for s in report.schema
        ],
    )
    conn.executemany(
        "INSERT INTO pair_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_id,
                *p.columns,
                p.status.value,
                p.relationship,
                p.kl.joint,
                p.p_adjusted,
                p.warn,
                p.threshold,
                jsonvalues.dumps([p.describe(c) for c in p.cells], ascii_only=True),
            )
            for p in report.pairs
        ],
    )
    return run_id


def _run(conn: sqlite3.Connection, row: sqlite3.Row, columns: Sequence[str]) -> Run:
    stored = _Stored(row, f"run {row['id']}")
    sql = "SELECT * FROM column_results WHERE run_id = ?"
    params: list[Any] = [row["id"]]
    if columns:
        sql += f" AND column_name IN ({', '.join('?' * len(columns))})"
        params += list(columns)
    results = tuple(
        _column_result(stored, r) for r in conn.execute(sql + " ORDER BY column_name", params)
    )
    thresholds = stored.json_object("thresholds")
    metric = thresholds.get("metric", Metric.kl.value)
    if metric not in _METRICS:
        raise stored.malformed("thresholds", f"has metric {_kind(metric)}, not {_or(_METRICS)}")
    options = stored.json_object("options")
    base = options.get("base", math.e)
    if not _is_log_base(base):
        raise stored.malformed("options", f"has base {_kind(base)}, not a number above 1")
    return Run(
        id=row["id"],
        time=stored.text("time"),
        reference=stored.text("reference"),
        current=stored.text("current"),
        window_start=stored.optional_text("window_start"),
        window_end=stored.optional_text("window_end"),
        status=stored.status(),
        drifted=bool(stored.integer("drifted")),
        summary=stored.text("summary"),
        reference_rows=stored.integer("reference_rows"),
        current_rows=stored.integer("current_rows"),
        options=options,
        columns=results,
        # NULL in runs recorded before version 4, and absent from a database not upgraded.
        current_files=stored.texts("current_files", null=True),
        config_file=stored.optional_text("config_file"),
        metric=metric,
        pairs=_pairs(conn, stored, columns),
    )


def _column_result(run: _Stored, row: sqlite3.Row) -> ColumnResult:
    name = _Stored(row, f"{run.where}: column_results").text("column_name")
    stored = _Stored(row, f"{run.where}: column {name!r}")
    return ColumnResult(
        name=name,
        kind=stored.text("kind"),
        dtype=stored.text("dtype"),
        status=stored.status(),
        kl=stored.number("kl"),
        cross_entropy=stored.number("cross_entropy"),
        entropy=stored.number("entropy"),
        null_share_reference=stored.number("null_share_reference"),
        null_share_current=stored.number("null_share_current"),
        warn=stored.number("warn"),
        threshold=stored.number("threshold"),
        # An older layout, read as it is, lacks the scores added since: None.
        **{score: stored.optional_number(score) for score in SCORES},
    )


def _pairs(
    conn: sqlite3.Connection, run: _Stored, columns: Sequence[str]
) -> tuple[PairResult, ...]:
    """The run's pair results (those with a column among `columns`, if given), most drifted
    first; none from an older layout, read as it is."""
    present = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pair_results'"
    ).fetchone()
    if present is None:
        return ()
    rows = conn.execute(
        "SELECT * FROM pair_results WHERE run_id = ? ORDER BY relationship DESC, x, y",
        [run.row["id"]],
    )
    pairs = []
    for r in rows:
        table = _Stored(r, f"{run.where}: pair_results")
        x, y = table.text("x"), table.text("y")
        if columns and x not in columns and y not in columns:
            continue
        stored = _Stored(r, f"{run.where}: pair {f'{x} × {y}'!r}")
        pairs.append(
            PairResult(
                x=x,
                y=y,
                status=stored.status(),
                relationship=stored.number("relationship"),
                kl=stored.number("kl"),
                p_adjusted=stored.number("p_adjusted"),
                warn=stored.number("warn"),
                threshold=stored.number("threshold"),
                cells=stored.texts("cells"),
            )
        )
    return tuple(pairs)


_METRICS = tuple(m.value for m in Metric)
_STATUSES = tuple(s.value for s in Status)


class _Stored:
    """One stored row of a run, each value checked as it is taken.

    SQLite keeps whatever a client writes: text in a REAL column it cannot convert, a blob
    anywhere, JSON that is not JSON. A malformed value is an InputError naming `where` (e.g.
    "run 3: column 'age'") and the field; `_errors` puts the file's name before it.
    """

    def __init__(self, row: sqlite3.Row, where: str):
        self.row, self.where = row, where

    def malformed(self, field: str, problem: str) -> InputError:
        return InputError(f"{self.where}: {field} {problem}")

    def _value(self, field: str) -> Any:
        # None from an older layout, read as it is, that lacks the column.
        return self.row[field] if field in self.row.keys() else None

    def text(self, field: str) -> str:
        value = self._value(field)
        if isinstance(value, str):
            return value
        raise self.malformed(field, f"is {_kind(value)}, not text")

    def optional_text(self, field: str) -> str | None:
        return None if self._value(field) is None else self.text(field)

    def integer(self, field: str) -> int:
        value = self._value(field)
        if isinstance(value, int):
            return value
        raise self.malformed(field, f"is {_kind(value)}, not an integer")

    def number(self, field: str) -> float:
        value = self._value(field)
        if _is_number(value):
            return float(value)
        raise self.malformed(field, f"is {_kind(value)}, not a number")

    def optional_number(self, field: str) -> float | None:
        return None if self._value(field) is None else self.number(field)

    def status(self) -> str:
        value = self._value("status")
        if value in _STATUSES:
            return str(value)
        raise self.malformed("status", f"is {_kind(value)}, not {_or(_STATUSES)}")

    def json_object(self, field: str) -> dict[str, Any]:
        value = self._json(field)
        if isinstance(value, dict):
            return value
        raise self.malformed(field, "is not a JSON object")

    def texts(self, field: str, *, null: bool = False) -> tuple[str, ...]:
        """A JSON list of text; with `null`, a NULL (an older run's) is an empty one."""
        if null and self._value(field) is None:
            return ()
        value = self._json(field)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise self.malformed(field, "is not a JSON list of text")

    def _json(self, field: str) -> Any:
        text = self._value(field)
        if not isinstance(text, str):
            raise self.malformed(field, f"is {_kind(text)}, not JSON text")
        try:
            # Strict JSON, as kldrift writes it: no NaN or Infinity, which no report could hold.
            return json.loads(text, parse_constant=_not_json, parse_float=_finite)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
            raise self.malformed(field, "is not valid JSON") from None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: no report could hold it
        raise ValueError(f"{text} is out of range")
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_log_base(value: object) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value)) and value > 1
    except OverflowError:  # an integer too large for a float
        return False


def _kind(value: object) -> str:
    """A stored value as messages show it: short text or a number as it is, else what it is."""
    if isinstance(value, bool):  # from JSON
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        shown = repr(value)
        if len(shown) <= 40:
            return shown
        return "a long text" if isinstance(value, str) else "a long number"
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return "a blob"
    return "a JSON list" if isinstance(value, list) else "a JSON object"


def _or(choices: Sequence[str]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1]


def _checked(path: str | os.PathLike[str], *, writing: bool = False) -> str:
    """`path` as a name for sqlite3, refused unless it is (or will be) a regular file.

    For `writing`, a symbolic link is refused too, dangling or not, as files.write_text does: a
    link planted at the name would make sqlite3 create or change the file it points to. (sqlite3
    offers Python no O_NOFOLLOW, so the check is an lstat just before connecting.)
    """
    name = os.fspath(path)
    files.check_path("history", name)
    if name == ":memory:" or name.startswith("file:"):
        raise OptionError("history", name, "must be the path of a database file")
    try:
        mode = (os.lstat if writing else os.stat)(name).st_mode
    except FileNotFoundError:
        return name
    except OSError as exc:
        raise InputError(f"{name}: history database: {exc.strerror or exc}") from None
    if stat.S_ISLNK(mode):
        raise InputError(f"{name}: history database: a symbolic link, not a regular file")
    if not stat.S_ISREG(mode):
        raise InputError(f"{name}: history database: {files.kind(mode)}, not a regular file")
    return name


def _transaction(name: str, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work` in one write transaction, retrying while other processes hold the lock."""

    def busy(exc: Exception) -> bool:
        message = str(exc)
        return isinstance(exc, sqlite3.OperationalError) and (
            "locked" in message or "busy" in message
        )

    with _errors(name):
        return retry(lambda: _attempt(name, work), busy, _LOCK_BACKOFF)


def _attempt(name: str, work: Callable[[sqlite3.Connection], T]) -> T:
    conn = sqlite3.connect(name, timeout=LOCK_TIMEOUT, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        # Identify the file before touching it: another program's database keeps its journal mode.
        _identify(conn)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            migrate(conn)  # identifies the file again, under the lock
            result = work(conn)
            conn.execute("COMMIT")
            return result
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def _read_only(name: str, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work` on a read-only connection: no write lock, no journal change, no migration."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(name)) + "?mode=ro"
    with _errors(name):
        conn = sqlite3.connect(uri, uri=True, timeout=LOCK_TIMEOUT)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            conn.close()
            if "unable to open" not in str(exc) and "readonly" not in str(exc):
                raise
            # A WAL file in a directory nobody may write to (so no -shm can be made): read it
            # as it is on disk, which is safe because nobody can be changing it either.
            conn = sqlite3.connect(uri + "&immutable=1", uri=True)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("BEGIN")  # one snapshot for every query of the read
            _identify(conn)
            return work(conn)
        finally:
            conn.close()


@contextlib.contextmanager
def _errors(name: str) -> Iterator[None]:
    """Turn sqlite3's exceptions, and the file checks', into one-line InputErrors naming `name`."""
    try:
        yield
    except InputError as exc:  # from _identify and migrate, which do not know the name
        raise InputError(f"{name}: {exc}") from None
    except sqlite3.IntegrityError as exc:
        raise InputError(f"{name}: history database refused the run: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        message = " ".join(str(exc).split())
        if "malformed" in message or getattr(exc, "sqlite_errorname", "") == "SQLITE_CORRUPT":
            raise InputError(
                f"{name}: history database is corrupt ({message}); restore a backup or recover"
                " it with the sqlite3 shell's .recover"
            ) from exc
        if isinstance(exc, sqlite3.OperationalError):
            raise InputError(f"{name}: history database: {message}") from exc
        raise InputError(f"{name}: not a kldrift history database ({message})") from exc
