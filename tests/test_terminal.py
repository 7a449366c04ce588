"""Terminal output: layouts that fit 30 to 160 columns, colour, the CLI's messages (issue 13)."""

import datetime as dt
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from functools import partial

import polars as pl
import pytest
from typer.testing import CliRunner

import kldrift
from kldrift import historydb
from kldrift.cli import app
from kldrift.options import Color, Thresholds
from kldrift.report import explain as explain_report
from kldrift.report import history as history_report
from kldrift.report import layout, table
from kldrift.report import windows as windows_report
from kldrift.report.text import p_value, score
from kldrift.windows import compare_windows
from tests.conftest import ROOT, SAMPLE

runner = CliRunner()
REF_CSV, CUR_CSV = str(SAMPLE / "reference.csv"), str(SAMPLE / "current.csv")
WIDTHS = (60, 80, 100, 160)
#: Every width from the narrowest to a standard terminal, where a header once broke in two.
DENSE = (*range(30, 81), 90, 96, 100, 117, 120, 160)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG = "customer_lifetime_value_in_euros_after_refunds_2026"


@pytest.fixture(scope="module")
def report():
    ref = pl.read_csv(REF_CSV, try_parse_dates=True)
    cur = pl.read_csv(CUR_CSV, try_parse_dates=True)
    # A long name and large numbers, on a drifted column.
    ref = ref.with_columns((pl.col("income") * 1000).alias(LONG))
    cur = cur.with_columns((pl.col("income") * 1000).alias(LONG))
    return kldrift.compare(ref, cur, thresholds=Thresholds(columns={"country": 0.05}))


def _render(write, width, monkeypatch, color=Color.never):
    monkeypatch.setenv("COLUMNS", str(width))
    out = io.StringIO()
    write(out, color)
    return out.getvalue()


def _check_fits(text, width):
    lines = ANSI.sub("", text).splitlines()
    assert max(len(line) for line in lines) <= width
    # No cell that holds a number (digits, a point, a sign, a percent) was cut.
    cells = [cell.strip() for line in lines for cell in line.split("│")]
    assert not [c for c in cells if re.fullmatch(r"[-+<>(\[]?[\d.,%e+-]*…[\d.,%e+\])-]*", c)]
    return lines


def _same_layout(write, width, monkeypatch):
    plain = _render(write, width, monkeypatch, Color.never)
    colored = _render(write, width, monkeypatch, Color.always)
    assert ANSI.search(colored) and not ANSI.search(plain)
    assert ANSI.sub("", colored) == plain
    return plain


@pytest.mark.parametrize("width", WIDTHS)
def test_the_table_fits_and_shows_each_drifted_column_on_one_line(report, width, monkeypatch):
    def write(out, color):
        table.write(report, out, color=color)

    lines = _check_fits(_same_layout(write, width, monkeypatch), width)
    metric = report.thresholds.metric
    assert report.drifted_columns
    for column in report.drifted_columns:
        name = layout.shorten(column.name, 8)
        shown = [
            line
            for line in lines
            if (column.name in line or name in line or _short_form(column.name, line))
            and " drift " in line
            and score(column.score(metric)) in line
            and p_value(column.p_adjusted) in line
        ]
        assert shown, f"{column.name} at {width}"


def _short_form(name, line):
    # The name shortened in the middle to whatever width it got: head…tail.
    match = re.search(r"│ (\S+)…(\S+) ", line)
    return bool(match) and name.startswith(match.group(1)) and name.endswith(match.group(2))


def test_lower_priority_columns_leave_the_first_block_first(report, monkeypatch):
    text = _render(lambda out, c: table.write(report, out, color=c), 80, monkeypatch)
    first = text.split("┗")[0] if "┗" in text else text.split("└")[0]
    assert "status" in first and "p adj." in first and "KL corr." in first
    assert "H(P)" not in first


def test_a_long_name_is_shortened_in_the_middle_at_60_columns(report, monkeypatch):
    text = _render(lambda out, c: table.write(report, out, color=c), 60, monkeypatch)
    assert LONG not in text
    assert re.search(r"cust\S*…\S*2026", text)
    text = _render(lambda out, c: table.write(report, out, color=c), 160, monkeypatch)
    assert re.search(f"│ {LONG} +│ numeric", text)


@pytest.mark.parametrize("width", WIDTHS)
def test_explain_fits(report, width, monkeypatch):
    for column in report.drifted_columns:

        def write(out, color, column=column):
            explain_report.write(report, column, out, color=color)

        lines = _check_fits(_same_layout(write, width, monkeypatch), width)
        for b in kldrift.drift.explain(column, report.options)[:10]:
            assert any(score(b.contribution) in line for line in lines)


@pytest.fixture(scope="module")
def windows():
    return compare_windows(REF_CSV, CUR_CSV, time_column="signup_date", every="1mo")


@pytest.mark.parametrize("width", WIDTHS)
def test_windows_fit_with_whole_dates_and_numbers(windows, width, monkeypatch):
    def write(out, color):
        windows_report.write_table(windows, out, color)

    lines = _check_fits(_same_layout(write, width, monkeypatch), width)
    for w in windows:
        row = [line for line in lines if line.startswith(f"│ {w.window.start} ")]
        assert row and " drift " in row[0]
        income = next(c for c in w.columns if c.name == "income")
        assert score(income.kl) in row[0]  # the most drifted column stays in the first block


@pytest.fixture
def history_db(tmp_path):
    return _record_runs(tmp_path)


def _record_runs(tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    frame = pl.read_csv(CUR_CSV)
    frame[:1500].write_csv(parts / "a.csv")
    frame[1500:].write_csv(parts / "b.csv")
    db = tmp_path / "runs.db"
    for _ in range(3):
        result = runner.invoke(
            app, ["monitor", str(parts / "*.csv"), "-r", REF_CSV, "--history", str(db), "-q"]
        )
        assert result.exit_code == 1, result.stderr
    return db


@pytest.mark.parametrize("width", WIDTHS)
def test_history_fits(history_db, width, monkeypatch):
    runs = historydb.read(history_db)

    def write(out, color):
        history_report.write_table(runs, out, color)

    lines = _check_fits(_same_layout(write, width, monkeypatch), width)
    for name in ("income", "latency_ms", "country"):
        assert [line for line in lines if f"│ {name} " in line and " drift " in line]


# A header is never wrapped (issue 13 at 30 columns, "KL" over "corr."): the names shrink for
# it, or its column moves to the next block. Checked at every width, for every kind of table.


def _tables(lines):
    """Each boxed table in `lines`: its header cells and its body lines.

    Fails if a header took more than one line, i.e. a header cell wrapped.
    """
    found, header, body = [], None, None
    for line in lines:
        if line.startswith("┏"):
            header = []
        elif line.startswith("┡"):
            assert len(header) == 1, "a header wrapped:\n" + "\n".join(header)
            body = []
        elif line.startswith("└"):
            found.append(([c.strip() for c in header[0].strip("┃").split("┃")], body))
            header = body = None
        elif body is not None:
            body.append(line)
        elif header is not None:
            header.append(line)
    assert found
    return found


def _cells(line):
    return [cell.strip() for cell in line.strip("│").split("│")]


def _names(cell, name):
    """Whether the key `cell` shows `name`, whole or shortened in the middle."""
    if cell == name:
        return True
    head, _, tail = cell.partition("…")
    return bool(_) and name.startswith(head) and name.endswith(tail)


def _whole_headers(text, width, labels):
    """The tables of `text`, checked to fit `width` with every header cell one of `labels`
    (or, for a name, shortened in the middle) on a single line."""
    tables = _tables(_check_fits(text, width))
    for header, _ in tables:
        for cell in header:
            assert cell in labels or any(_names(cell, label) for label in labels), (cell, width)
    return tables


def _labels(write, monkeypatch):
    """Every header `write` prints, from a width where all fit in one block."""
    tables = _tables(_render(write, 400, monkeypatch).splitlines())
    return {cell for header, _ in tables for cell in header}


def _rows_of(tables, key):
    """(header, body) of the tables whose first header cell is `key`."""
    return [(header, body) for header, body in tables if header[0] == key]


@pytest.mark.parametrize("width", DENSE)
def test_no_header_wraps_and_each_drifted_column_keeps_one_line(report, width, monkeypatch):
    def write(out, color):
        table.write(report, out, color=color)

    labels = _labels(write, monkeypatch)
    assert {"KL corr.", "null % ref -> cur", "drift at", "reference -> current"} <= labels
    tables = _whole_headers(_render(write, width, monkeypatch), width, labels)
    columns = [(h, b) for h, b in _rows_of(tables, "column") if "change" not in h]
    shown = {cell for header, _ in columns for cell in header}
    assert {"status", "KL corr."} <= shown  # the status and the effect are never dropped
    for header, body in columns:
        assert len(body) == len(report.columns), "a row took more than one line"
        for column in report.drifted_columns:
            (row,) = [r for r in map(_cells, body) if _names(r[0], column.name)]
            if "status" in header:
                assert row[header.index("status")] == "drift"
            if "KL corr." in header:
                assert row[header.index("KL corr.")] == score(column.kl_corrected)


@pytest.mark.parametrize("width", DENSE)
def test_no_explain_header_wraps(report, width, monkeypatch):
    for column in report.drifted_columns:

        def write(out, color, column=column):
            explain_report.write(report, column, out, color=color)

        labels = _labels(write, monkeypatch)
        tables = _whole_headers(_render(write, width, monkeypatch), width, labels)
        shown = kldrift.drift.explain(column, report.options)[:10]
        for header, body in _rows_of(tables, "bin"):
            assert len(body) == len(shown)
            if "contribution" in header:
                at = header.index("contribution")
                assert [_cells(r)[at] for r in body] == [score(b.contribution) for b in shown]


@pytest.fixture(scope="module")
def weekly():
    return compare_windows(REF_CSV, CUR_CSV, time_column="signup_date", every="1w")


@pytest.mark.parametrize("width", DENSE)
def test_no_window_header_wraps(windows, weekly, width, monkeypatch):
    for runs in (windows, weekly):

        def write(out, color, runs=runs):
            windows_report.write_table(runs, out, color)

        labels = _labels(write, monkeypatch)
        tables = _whole_headers(_render(write, width, monkeypatch), width, labels)
        for header, body in _rows_of(tables, "window start"):
            assert [_cells(r)[0] for r in body] == [str(w.window.start) for w in runs]
            if "status" in header:
                drifted = [_cells(r)[header.index("status")] == "drift" for r in body]
                assert drifted == [w.drifted for w in runs]


@pytest.fixture(scope="module")
def history_runs(tmp_path_factory):
    return historydb.read(_record_runs(tmp_path_factory.mktemp("history")))


@pytest.mark.parametrize("width", DENSE)
def test_no_history_header_wraps(history_runs, width, monkeypatch):
    def write(out, color):
        history_report.write_table(history_runs, out, color)

    labels = _labels(write, monkeypatch)
    tables = _whole_headers(_render(write, width, monkeypatch), width, labels)
    names = sorted({c.name for c in history_runs[-1].columns})
    for header, body in _rows_of(tables, "column"):
        assert len(body) == len(names), "a row took more than one line"
        if "latest status" in header:
            at = header.index("latest status")
            drifted = [row[0] for row in map(_cells, body) if row[at] == "drift"]
            assert len(drifted) == 3
            for name in ("income", "latency_ms", "country"):
                assert [cell for cell in drifted if _names(cell, name)], (name, width)


def test_a_header_takes_width_from_the_names_before_it_moves_on():
    fields = [
        layout.Field("name", ["x" * 20], 0, shorten=True),
        layout.Field("a", ["1.0"], 0, "right"),
        layout.Field("a b c", ["1"], 1, "right"),  # a header wider than its cells
    ]
    # Borders take 3 per column and 1. The name grows whole (20) before "a b c" is placed, then
    # gives back the 2 its header lacks, rather than the header break over two lines.
    blocks, dropped = layout.plan(fields, 4 + 20 + 3 * 2 + 3 + 3)
    assert blocks[0].widths == (18, 3, 5) and not dropped
    # A name at its shortest (8) has nothing to give: the field moves to the next block.
    blocks, dropped = layout.plan(fields, 4 + 8 + 3 * 2 + 3 + 3, whole_key=1)
    assert [[f.header for f in b.fields] for b in blocks] == [["name", "a"], ["name", "a b c"]]
    assert [b.widths for b in blocks] == [(14, 3), (12, 5)] and not dropped


TERMINAL_GOLDEN = ROOT / "tests" / "golden" / "terminal.txt"


def _explain(report, column, out, color):
    explain_report.write(report, column, out, color=color)


def test_tables_at_80_columns_and_wider_match_their_golden_file(report, monkeypatch):
    # Narrower layouts may change as the layout rules do; a standard terminal's should not.
    monkeypatch.chdir(ROOT)  # the window titles name the files as typed from the root
    data = "sample_data/reference.csv", "sample_data/current.csv"
    windows = compare_windows(*data, time_column="signup_date", every="1mo")
    weekly = compare_windows(*data, time_column="signup_date", every="1w")
    writes = {
        "compare": lambda out, c: table.write(report, out, color=c),
        **{
            f"explain {column.name}": partial(_explain, report, column)
            for column in report.drifted_columns[:2]
        },
        "windows 1mo": partial(windows_report.write_table, windows),
        "windows 1w": partial(windows_report.write_table, weekly),
    }
    actual = "".join(
        f"== {name} at {width} columns\n{_render(write, width, monkeypatch)}"
        for name, write in writes.items()
        for width in (80, 100, 120, 160)
    )
    if os.environ.get("KLDRIFT_REGEN_GOLDEN") == "1":
        TERMINAL_GOLDEN.write_text(actual, encoding="utf-8")
    assert actual == TERMINAL_GOLDEN.read_text(encoding="utf-8"), "see tests/golden/README.md"


def test_history_records_and_shows_the_files_a_glob_matched(history_db, tmp_path):
    runs = historydb.read(history_db)
    assert [len(run.current_files) for run in runs] == [2, 2, 2]
    assert runs[-1].current_files[0].endswith("a.csv") and runs[-1].current_rows == 3000
    result = runner.invoke(app, ["history", str(history_db)], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    assert "2 files, 3000 rows" in result.stdout
    assert re.search(r"run 3 read 2 files, 3000 rows: \S*a\.csv, \S*b\.csv", result.stdout)


def test_an_older_history_database_reads_without_files(tmp_path, history_db):
    with sqlite3.connect(history_db) as conn:
        conn.execute("UPDATE runs SET current_files = NULL")
    assert {run.current_files for run in historydb.read(history_db)} == {()}


def test_width_comes_from_columns_else_100_and_never_from_colour(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert table.console(io.StringIO()).width == 100
    monkeypatch.setenv("NO_COLOR", "1")
    assert table.console(io.StringIO()).width == 100
    monkeypatch.setenv("COLUMNS", "80")
    assert table.console(io.StringIO()).width == 80
    assert table.console(io.StringIO(), Color.always).width == 80
    monkeypatch.setenv("TERM", "dumb")  # rich's own size for it is 80 columns
    monkeypatch.setenv("COLUMNS", "120")
    assert table.console(io.StringIO(), Color.always).width == 120
    monkeypatch.delenv("COLUMNS")
    assert table.console(io.StringIO(), Color.always).width == 100


def _widest(text):
    return max(len(line) for line in ANSI.sub("", text).splitlines())


@pytest.mark.parametrize("columns", [None, "140"])
@pytest.mark.parametrize(
    ("forced", "flags"),
    [({"FORCE_COLOR": "1"}, []), ({}, ["--color", "always"])],
    ids=["FORCE_COLOR", "--color always"],
)
def test_term_dumb_with_forced_colour_keeps_the_width_rule(columns, forced, flags):
    # rich sizes a dumb terminal at 80 columns, and forced colour makes the pipe one.
    args = ["compare", REF_CSV, CUR_CSV]
    base = {"COLUMNS": columns, "LINES": None, "NO_COLOR": None, "FORCE_COLOR": None}
    plain = runner.invoke(app, [*args, "--color", "never"], env={**base, "TERM": "xterm"})
    colored = runner.invoke(app, [*args, *flags], env={**base, **forced, "TERM": "dumb"})
    assert plain.exit_code == colored.exit_code == 1
    assert ANSI.search(colored.stdout)
    assert ANSI.sub("", colored.stdout) == plain.stdout
    assert _widest(colored.stdout) == _widest(plain.stdout) == int(columns or 100)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("color", ["auto", "always"])
def test_a_dumb_terminal_gets_tables_as_wide_as_it_is(color):
    import fcntl
    import struct
    import termios

    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
    command = [sys.executable, "-m", "kldrift", "compare", REF_CSV, CUR_CSV, "--color", color]
    env["TERM"] = "dumb"
    with subprocess.Popen(command, stdout=follower, stderr=subprocess.DEVNULL, env=env) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 1 << 16)
            except OSError:  # the terminal is gone once the process ends
                break
            if not chunk:
                break
            chunks.append(chunk)
    os.close(leader)
    assert process.returncode == 1
    shown = b"".join(chunks).decode().replace("\r\n", "\n")
    args = ["compare", REF_CSV, CUR_CSV, "--color", "never"]
    plain = runner.invoke(app, args, env={"COLUMNS": "140"})
    assert ANSI.sub("", shown) == plain.stdout
    assert _widest(shown) == 140


@pytest.mark.parametrize(
    ("env", "color", "expected"),
    [
        ({}, Color.auto, False),  # not a terminal
        ({"FORCE_COLOR": "1"}, Color.auto, True),
        ({"FORCE_COLOR": "0"}, Color.auto, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, Color.auto, False),
        ({"NO_COLOR": "1"}, Color.always, True),
        ({"FORCE_COLOR": "1"}, Color.never, False),
    ],
)
def test_color_follows_the_flag_then_no_color_then_force_color(
    env, color, expected, monkeypatch
):
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert table.colored(io.StringIO(), color) is expected


def test_color_flag_on_the_cli():
    plain = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--color", "never"])
    colored = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--color", "always"])
    assert plain.exit_code == colored.exit_code == 1
    assert "\x1b[" in colored.stdout and "\x1b[" not in plain.stdout
    assert ANSI.sub("", colored.stdout) == plain.stdout


def test_shorten_keeps_both_ends():
    assert layout.shorten("abcdefghij", 5) == "ab…ij"
    assert layout.shorten("abcdefghij", 6) == "abc…ij"
    assert layout.shorten("abc", 5) == "abc"


def test_a_layout_puts_fields_by_priority_and_drops_what_fits_nowhere():
    fields = [
        layout.Field("name", ["x" * 20], 0, shorten=True),
        layout.Field("a", ["1.0000"], 0, "right"),
        layout.Field("b", ["2.0000"], 2, "right"),
        layout.Field("c", ["3.0000"], 1, "right"),
    ]
    # Borders take 3 per column and 1; the name takes 20 whole, 8 shortened.
    blocks, dropped = layout.plan(fields, 4 + 20 + 3 * 9)
    assert [f.header for f in blocks[0].fields] == ["name", "a", "b", "c"] and not dropped
    blocks, dropped = layout.plan(fields, 40)
    assert [f.header for f in blocks[0].fields] == ["name", "a"]
    assert [f.header for f in blocks[1].fields] == ["name", "c"]
    assert [f.header for f in dropped] == ["b"]
    # Shortening the name makes room for fields it cannot be shown whole beside.
    blocks, dropped = layout.plan(fields, 30)
    assert [f.header for f in blocks[0].fields] == ["name", "a", "c"]
    assert blocks[0].widths[0] == 8


# The CLI bugs of issue 13, each with the run that showed it.


def _comma_file(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,x\n" + "".join(f"{i},{i * 7 % 13}\n" for i in range(3000)))
    return str(path)


def test_a_wrong_separator_that_leaves_nothing_to_compare_is_exit_2(tmp_path):
    data = _comma_file(tmp_path)
    result = runner.invoke(app, ["compare", data, data, "--separator", ";"])
    assert result.exit_code == 2
    assert result.stderr == (
        "kldrift: error: no columns compared: every shared column was skipped "
        "(1 high cardinality); is the separator right?\n"
    )


def test_excluding_every_column_is_exit_2(tmp_path):
    data = _comma_file(tmp_path)
    result = runner.invoke(app, ["compare", data, data, "--exclude", "id,x"])
    assert result.exit_code == 2
    assert "no columns compared: the column selection leaves none of the 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_config_file_in_force_is_named_recorded_and_can_be_ignored(tmp_path, monkeypatch):
    (tmp_path / "kldrift.toml").write_text("threshold = 5.0\n")
    (tmp_path / ".git").mkdir()
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "kldrift: using kldrift.toml from ../..\n"
    assert json.loads(result.stdout)["config_file"] == str(tmp_path / "kldrift.toml")
    ignored = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-f", "json", "--no-config"])
    assert ignored.exit_code == 1
    assert ignored.stderr == "" and json.loads(ignored.stdout)["config_file"] is None
    quiet = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-q"])
    assert quiet.stderr == ""
    db = str(tmp_path / "runs.db")
    runner.invoke(app, ["monitor", CUR_CSV, "-r", REF_CSV, "--history", db, "-q"])
    assert historydb.read(db)[0].config_file == str(tmp_path / "kldrift.toml")


def test_a_column_threshold_shows_in_the_row_caption_and_markdown(monkeypatch):
    args = ["compare", REF_CSV, CUR_CSV, "--column-threshold", "income=0.5"]
    result = runner.invoke(app, args, env={"COLUMNS": "120"})
    assert "Own drift levels: income 0.5." in " ".join(result.stdout.split())
    income = next(line for line in result.stdout.splitlines() if "│ income " in line)
    assert re.search(r"│\s+0\.5 │", income) and " warn " in income
    markdown = runner.invoke(app, [*args, "-f", "markdown"])
    assert "Own drift levels: income 0.5." in markdown.stdout
    junit = runner.invoke(app, [*args, "-f", "junit"])
    assert "drift at 0.5" in junit.stdout


def test_quiet_silences_the_summary_line(tmp_path):
    out = str(tmp_path / "r.json")
    loud = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-f", "json", "-o", out])
    assert "3 of 12 columns drifted" in loud.stderr
    quiet = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-f", "json", "-o", out, "-q"])
    assert quiet.exit_code == 1 and quiet.stderr == ""


def test_window_json_records_the_files_and_config(windows):
    doc = windows_report.document(windows)
    assert doc["current"]["files"] == [CUR_CSV] and doc["config_file"] is None


def test_windows_tell_progress_the_count(windows):
    seen = []
    compare_windows(
        REF_CSV,
        CUR_CSV,
        time_column="signup_date",
        every="1mo",
        progress=lambda note, done=None, total=None: seen.append((note, done, total)),
    )
    counted = [(d, t) for _, d, t in seen if t is not None]
    assert counted == [(n, len(windows)) for n in range(len(windows))]


def test_help_has_clean_usage_defaults_placeholders_and_examples():
    for command in ("compare", "explain", "profile", "monitor", "history"):
        result = runner.invoke(app, [command, "-h"], terminal_width=100)
        assert result.exit_code == 0
        usage = result.stdout.splitlines()[0]
        assert "{" not in usage and not re.search(r"\b[a-z]+\.\.\.", usage), usage
        assert "(" not in "".join(re.findall(r"\[default: [^\]]*\]", result.stdout))
        assert not re.search(r"<\w+>|\s--?[\w-]+ (STR|INT)\b", result.stdout)
        assert "Examples:" in result.stdout and f"kldrift {command} " in result.stdout
    compare = runner.invoke(app, ["compare", "--help"], terminal_width=100).stdout
    assert "compare [OPTIONS] REFERENCE CURRENT\n" in compare
    assert "[default: table]" in compare and "--output FILE" in compare
    profile = runner.invoke(app, ["profile", "--help"], terminal_width=100).stdout
    assert "profile [OPTIONS] DATA...\n" in profile
    top = runner.invoke(app, ["-h"], terminal_width=80).stdout
    assert "--install-completion" in top and "--show-completion" in top
    summaries = top.split("Commands:")[1].strip().splitlines()
    assert len(summaries) == 5 and not [s for s in summaries if s.endswith("...")]


def test_an_unquoted_glob_gets_a_hint_to_quote_it(tmp_path):
    for name in ("a.csv", "b.csv", "c.csv"):
        shutil.copy(CUR_CSV, tmp_path / name)
    files = [str(tmp_path / n) for n in ("a.csv", "b.csv", "c.csv")]
    result = runner.invoke(app, ["compare", REF_CSV, *files])
    assert result.exit_code == 2
    assert "quote it" in result.stderr and "unexpected extra argument" in result.stderr


def test_an_unknown_column_gets_a_did_you_mean():
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--columns", "incme"])
    assert result.exit_code == 2
    assert "did you mean 'income'?" in result.stderr
    unrelated = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--columns", "zzz"])
    assert "did you mean" not in unrelated.stderr
    explained = runner.invoke(app, ["explain", REF_CSV, CUR_CSV, "--column", "countyr"])
    assert explained.exit_code == 2 and "did you mean 'country'?" in explained.stderr


def test_history_suggests_a_column_too(history_db):
    result = runner.invoke(app, ["history", str(history_db), "--columns", "latencyms"])
    assert result.exit_code == 2 and "did you mean 'latency_ms'?" in result.stderr


def test_merge_of_a_parquet_file_is_a_readable_error(tmp_path):
    result = runner.invoke(
        app, ["profile", "--merge", str(SAMPLE / "reference.parquet"), "-o", str(tmp_path / "p")]
    )
    assert result.exit_code == 2
    assert "reference.parquet: not a kldrift profile (binary data, not JSON text)" in result.stderr
    assert "codec" not in result.stderr


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_shows_a_count_on_a_terminal_and_nothing_elsewhere(monkeypatch):
    from kldrift.report.progress import progress

    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with progress() as note:
        note("scoring windows", 3, 12)
    assert "scoring windows" in terminal.getvalue() and "3/12" in terminal.getvalue()
    plain = io.StringIO()
    monkeypatch.setattr("sys.stderr", plain)
    with progress() as note:
        note("scoring windows", 3, 12)
    assert plain.getvalue() == ""
    monkeypatch.setattr("sys.stderr", terminal := _Terminal())
    with progress(quiet=True) as note:
        note("scoring windows", 3, 12)
    assert terminal.getvalue() == ""


def test_shell_completion_is_typers_own():
    result = runner.invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0
    assert "_COMPLETE=complete_bash" in result.stdout


# Column names and categories are data: an escape sequence, a bell or a newline in one must
# show as text, never reach the terminal (a title, a colour, a cleared screen) or split a row.

RED, TITLE, NEWLINE, BELL_VALUE = "\x1b[31mred", "\x1b]0;PWNED\x07", "name\nnl", "p\x1b]0;T\x07q"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # what may not reach the terminal (\n may)


def _hostile_frames(rows=400):
    return (
        pl.DataFrame(
            {
                RED: [float(i % 10) for i in range(rows)],
                NEWLINE: [float(i % 7) for i in range(rows)],
                "cat": [BELL_VALUE if i % 2 else "b" for i in range(rows)],
                "day": [dt.date(2026, 1, 1 + i % 28) for i in range(rows)],
            }
        ),
        pl.DataFrame(
            {
                RED: [float(i % 10) + 5 for i in range(rows)],
                NEWLINE: [float(i % 7) for i in range(rows)],
                "cat": [BELL_VALUE if i % 5 == 0 else "b" for i in range(rows)],
                "day": [dt.date(2026, 1 + i % 2, 1 + i % 28) for i in range(rows)],
            }
        ),
    )


@pytest.fixture
def hostile(tmp_path):
    ref, cur = _hostile_frames()
    paths = str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet")
    ref.write_parquet(paths[0])
    cur.write_parquet(paths[1])
    return paths


def _no_control(text):
    """`text` without its colours (SGR codes), checked to hold no other control character."""
    plain = ANSI.sub("", text)
    assert not CONTROL.search(plain), plain
    return plain


def test_printable_leaves_names_that_print_and_quotes_the_rest():
    from kldrift.report.text import printable

    assert printable("income") == "income"
    assert printable("a b|c…é") == "a b|c…é"
    assert printable(RED) == "'\\x1b[31mred'"
    assert printable(TITLE) == "'\\x1b]0;PWNED\\x07'"
    assert printable(NEWLINE) == "'name\\nnl'"
    assert printable("\u202eevil") == "'\\u202eevil'"  # a right-to-left override
    assert printable("") == "''"


def test_a_column_with_an_empty_name_shows_as_quotes_not_a_blank_row(tmp_path):
    # A CSV header "x," names its second column "".
    (tmp_path / "r.csv").write_text("x,\n1,2\n3,4\n5,6\n")
    result = runner.invoke(app, ["compare", *[str(tmp_path / "r.csv")] * 2], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ ")]
    assert [row.split(" │")[0] for row in rows] == ["│ ''    ", "│ x     "] * 2


def test_a_csv_header_with_an_escape_sequence_shows_escaped(tmp_path):
    data = tmp_path / "esc.csv"
    data.write_bytes(b"\x1b]0;PWNED\x07,x\n1,2\n")
    result = runner.invoke(app, ["compare", str(data), str(data)], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ ")]
    # The name gives up two characters to keep the header "null % ref -> cur" whole.
    assert rows[0] == (
        "│ '\\x1b]0;…ED\\x07' │ 0.0000 │   0.0000 │ 0.0000 │  1.000 │        inf │"
        "      0.0% -> 0.0% │ ok     │"
    )
    assert rows[1].startswith("│ x                │ 0.0000 │")


@pytest.mark.parametrize("color", ["never", "always"])
def test_the_table_shows_control_characters_in_names_escaped_one_row_each(hostile, color):
    args = ["compare", *hostile, "--color", color, "--exclude", "day"]
    result = runner.invoke(app, args, env={"COLUMNS": "100"})
    assert result.exit_code == 1, result.stderr
    text = _no_control(result.stdout)
    rows = [line for line in text.splitlines() if line.startswith("│ ")]
    # One line per column in each block: the newline did not split a row.
    names = ["│ '\\x1b[31mred'", "│ cat          ", "│ 'name\\nnl'   "]
    assert [row.split(" │")[0] for row in rows] == names * 2
    assert rows[0] == (
        "│ '\\x1b[31mred' │ 2.1871 │   2.1621 │ 0.0250 │ <1e-16 │      0.073 │"
        "      0.0% -> 0.0% │ drift  │"
    )
    explained = runner.invoke(app, [*args, "--explain"], env={"COLUMNS": "100"})
    lines = _no_control(explained.stdout).splitlines()
    header = "'\\x1b[31mred': drift  KL 2.1871 nats, noise 0.0250, KL corr. 2.1621, p adj. <1e-16"
    assert header in lines
    assert "│ 'p\\x1b]0;T\\x07q' │     50.0% │   20.0% │       0.1570 │         71% │" in lines


def test_explain_shows_the_name_and_categories_escaped(hostile):
    args = ["explain", *hostile, "--exclude", "day", "--color", "always"]
    red = runner.invoke(app, [*args, "--column", RED], env={"COLUMNS": "100"})
    assert red.exit_code == 1, red.stderr
    lines = _no_control(red.stdout).splitlines()
    assert lines[0] == (
        "'\\x1b[31mred': drift  KL 2.1871 nats, noise 0.0250, KL corr. 2.1621, p adj. <1e-16"
    )
    assert "│ (other) │      0.0% │   50.0% │       0.4858 │         22% │" in lines
    assert any(line.strip() == "'\\x1b[31mred': reference vs current" for line in lines)
    cat = runner.invoke(app, [*args, "--column", "cat"], env={"COLUMNS": "100"})
    lines = _no_control(cat.stdout).splitlines()
    assert "│ 'p\\x1b]0;T\\x07q' │     50.0% │   20.0% │       0.1570 │         71% │" in lines
    overlay = next(line for line in lines if line.startswith("'p\\x1b]0;T\\x07q'  "))
    assert overlay.endswith("20.0%")


def _colored(write, width, monkeypatch):
    """What `write(out, color)` prints in colour at `width`, checked free of control characters."""
    return _no_control(_render(write, width, monkeypatch, Color.always))


def test_windows_and_history_tables_show_names_escaped(hostile, tmp_path, monkeypatch):
    windows = compare_windows(*hostile, time_column="day", every="1mo")
    lines = _colored(partial(windows_report.write_table, windows), 100, monkeypatch).splitlines()
    assert "┃ window start ┃ rows ┃ status ┃ '\\x1b[31mred' ┃    cat ┃ 'name\\nnl' ┃" in lines
    assert len([line for line in lines if line.startswith("│ 2026-")]) == 2
    db = tmp_path / "runs.db"
    historydb.record(db, [kldrift.compare(*hostile, exclude=["day"])])
    text = _colored(partial(history_report.write_table, historydb.read(db)), 100, monkeypatch)
    rows = [line for line in text.splitlines() if line.startswith("│ '")]
    assert [row.split(" │")[0] for row in rows] == ["│ '\\x1b[31mred'", "│ 'name\\nnl'   "]


def test_pairs_show_names_and_bins_escaped(tmp_path, monkeypatch):
    a, b = "a\x1b[31m", "b\nb"
    rows = range(400)
    ref = pl.DataFrame({a: [f"x{i % 2}\x07" for i in rows], b: [f"y{i % 2}" for i in rows]})
    cur = pl.DataFrame({a: [f"x{i % 2}\x07" for i in rows], b: [f"y{i // 2 % 2}" for i in rows]})
    report = kldrift.compare(ref, cur, pairs="all")
    lines = _colored(lambda out, c: table.write(report, out, color=c), 100, monkeypatch)
    lines = lines.splitlines()
    assert "│ 'a\\x1b[31m' × 'b\\nb' │       0.6732 │ drift  │ <1e-16 │ 0.0025 │" in lines
    assert "  'a\\x1b[31m' 'x0\\x07' × 'b\\nb' y0: 50% → 25%" in lines

    def explain_pair(out, color):
        kldrift.report.render_pair_explanation(report, report.pairs[0], out, color=color)

    text = _colored(explain_pair, 100, monkeypatch)
    assert text.startswith("'a\\x1b[31m' × 'b\\nb': drift  relationship 0.6732")
    assert "'b\\nb' bins: 1 y0, 2 y1," in text
    db = tmp_path / "runs.db"
    historydb.record(db, [report])
    text = _colored(partial(history_report.write_table, historydb.read(db)), 200, monkeypatch)
    assert "│ 'a\\x1b[31m' × 'b\\nb' │" in text


def test_file_names_show_escaped_in_titles_history_and_markdown(hostile, tmp_path, monkeypatch):
    # A glob can match a file whose name holds an escape sequence: a path is data too.
    from kldrift.report.text import printable

    def _words(text):  # a title wraps at the table's width, within words too
        return "".join(text.split())

    ref, cur = hostile
    odd = tmp_path / f"{TITLE}.parquet"
    os.rename(cur, odd)
    shown = printable(str(odd))
    assert shown == repr(str(odd))
    monkeypatch.setenv("COLUMNS", "400")
    args = ["compare", ref, str(odd), "--exclude", "day", "--color", "always"]
    table = runner.invoke(app, args)
    assert table.exit_code == 1, table.stderr
    assert _words(f"kldrift: {ref} -> {shown}") in _words(_no_control(table.stdout))
    markdown = runner.invoke(app, [*args, "-f", "markdown"])
    assert f"`{shown}`" in _no_control(markdown.stdout)
    windows = compare_windows(ref, str(odd), time_column="day", every="1mo")
    text = _colored(partial(windows_report.write_table, windows), 400, monkeypatch)
    assert _words(f"kldrift: {ref} -> {shown}, per window") in _words(text)
    db = tmp_path / "runs.db"
    historydb.record(db, [kldrift.compare(ref, str(odd), exclude=["day"])])
    text = _colored(partial(history_report.write_table, historydb.read(db)), 400, monkeypatch)
    assert shown in text


def test_file_names_show_escaped_in_errors_and_messages(tmp_path, monkeypatch):
    # An error or a note names a file as it is; its name may hold an escape sequence.
    folder = tmp_path / TITLE
    folder.mkdir()
    (folder / "kldrift.toml").write_text("bins = 5\n")
    ref, cur = _hostile_frames()
    ref.write_parquet(folder / "r.parquet")
    cur.write_parquet(folder / "c.parquet")
    monkeypatch.chdir(tmp_path)
    missing = runner.invoke(app, ["compare", f"{RED}.csv", "c.csv"])
    assert missing.exit_code == 2
    assert missing.stderr == "kldrift: error: \\x1b[31mred.csv: no files match this pattern\n"
    args = ["compare", f"{TITLE}/r.parquet", f"{TITLE}/c.parquet", "-o", "out.txt"]
    noted = runner.invoke(app, [*args, "--config", f"{TITLE}/kldrift.toml"])
    assert noted.exit_code == 1, noted.stderr
    assert noted.stderr.splitlines()[0] == "kldrift: using kldrift.toml from \\x1b]0;PWNED\\x07"
    assert not CONTROL.search(noted.stderr)
