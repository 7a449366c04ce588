"""The command line end to end: exit codes, stdout/stderr split, and the README command."""

import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from kldrift.__version__ import __version__
from kldrift.cli import app

from .conftest import SAMPLE, forbid

runner = CliRunner()
REF_CSV, CUR_CSV = str(SAMPLE / "reference.csv"), str(SAMPLE / "current.csv")
DRIFTED = {"income", "country", "latency_ms"}


def _json(result):
    return json.loads(result.stdout)


@pytest.mark.slow
def test_readme_command_flags_the_drifted_sample_columns():
    # The exact README command, as a separate process, so the console entry point works too.
    proc = subprocess.run(
        [sys.executable, "-m", "kldrift", "compare", REF_CSV, CUR_CSV],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "3 of 12 columns drifted" in proc.stdout
    assert proc.stderr == ""


def test_json_flags_the_drifted_columns_only():
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--format", "json"])
    assert result.exit_code == 1
    doc = _json(result)
    assert {c["name"] for c in doc["columns"] if c["status"] == "drift"} == DRIFTED
    assert {c["name"] for c in doc["columns"] if c["status"] == "warn"} == set()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_against_itself_exits_0_with_kl_exactly_zero(suffix):
    path = str(SAMPLE / f"reference{suffix}")
    result = runner.invoke(app, ["compare", path, path, "-f", "json"])
    assert result.exit_code == 0
    assert {c["kl"] for c in _json(result)["columns"]} == {0.0}


def test_csv_and_parquet_reports_are_identical_but_for_the_sources():
    csv = _json(runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-f", "json"]))
    parquet = _json(
        runner.invoke(
            app,
            [
                "compare",
                str(SAMPLE / "reference.parquet"),
                str(SAMPLE / "current.parquet"),
                "-f",
                "json",
            ],
        )
    )
    for doc in (csv, parquet):
        del doc["reference"]["source"], doc["current"]["source"], doc["current"]["files"]
    assert csv == parquet


def test_options_reach_the_report():
    result = runner.invoke(
        app,
        [
            "compare",
            REF_CSV,
            CUR_CSV,
            "-f",
            "json",
            "--bins",
            "5",
            "--top-k",
            "3",
            "--smoothing",
            "0",
            "--base",
            "2",
            "--threshold",
            "0.3",
            "--warn",
            "0.15",
            "--column-threshold",
            "score=0.000001",
            "--columns",
            "income,score,country",
            "--categorical",
            "country",
            "--metric",
            "psi",
            "--decision",
            "threshold",
            "--alpha",
            "0.01",
            "--adjustment",
            "bonferroni",
        ],
    )
    assert result.exit_code == 1, result.stderr
    doc = _json(result)
    assert doc["options"]["unit"] == "bits"
    assert doc["options"]["bins"] == 5
    assert doc["decision"] == {
        "rule": "threshold",
        "metric": "psi",
        "alpha": 0.01,
        "adjustment": "bonferroni",
    }
    columns = {c["name"]: c for c in doc["columns"]}
    assert set(columns) == {"income", "score", "country"}
    assert len(columns["income"]["binning"]["edges"]) == 4
    assert columns["country"]["bins"][3]["label"] == "(other)"
    assert columns["score"]["threshold"] == 1e-6
    assert columns["score"]["status"] == "drift"
    assert columns["income"]["status"] == "drift"


def test_exclude_leaves_columns_out_and_can_clear_the_drift():
    result = runner.invoke(
        app,
        [
            "compare",
            REF_CSV,
            CUR_CSV,
            "-f",
            "json",
            "--exclude",
            "income",
            "--exclude",
            "country,latency_ms",
        ],
    )
    assert result.exit_code == 0
    assert {c["name"] for c in _json(result)["columns"]}.isdisjoint(DRIFTED)


def test_table_output_off_a_terminal_is_plain():
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV])
    assert result.exit_code == 1
    assert "\x1b[" not in result.stdout
    assert "income" in result.stdout and "drift" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", CUR_CSV], "missing.csv: no such file"),
        ([REF_CSV, CUR_CSV, "--bins", "0"], "--bins must be from 1 to 10000"),
        ([REF_CSV, CUR_CSV, "--base", "1"], "--base must be a finite number greater than 1"),
        ([REF_CSV, CUR_CSV, "--threshold", "nan"], "--threshold must be a finite number"),
        ([REF_CSV, CUR_CSV, "--warn", "0.5"], "--warn must not be above --threshold"),
        ([REF_CSV, CUR_CSV, "--smoothing", "-1"], "--smoothing must be a number from 0 to"),
        ([REF_CSV, CUR_CSV, "--columns", "nope"], "--columns: no column 'nope'"),
        ([REF_CSV, CUR_CSV, "--column-threshold", "income"], "expects COLUMN=VALUE"),
        ([REF_CSV, CUR_CSV, "--column-threshold", "income=x"], "expects a number after ="),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_exit_2(args, message):
    result = runner.invoke(app, ["compare", *args, "-f", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unparsable_csv_names_the_file(tmp_path):
    # The bad value comes after the rows polars infers types from, so it fails mid-read.
    bad = tmp_path / "bad.csv"
    bad.write_text("x\n" + "1\n" * 10_005 + "not-a-number\n")
    pl.DataFrame({"x": [1, 2]}).write_csv(tmp_path / "good.csv")
    result = runner.invoke(app, ["compare", str(tmp_path / "good.csv"), str(bad)])
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith(f"kldrift: error: {bad}: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_version_and_usage_errors():
    assert runner.invoke(app, ["--version"]).stdout.strip() == f"kldrift {__version__}"
    assert runner.invoke(app, ["compare", REF_CSV]).exit_code == 2
    assert runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-f", "yaml"]).exit_code == 2


def _one_line_error(result, *names):
    """Check the error contract and return the message: exit 2, one stderr line naming `names`."""
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("kldrift: error: ")
    assert "Traceback" not in result.stderr
    for name in names:
        assert name in result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["compare", REF_CSV, CUR_CSV, "-o", ""], "--output"),
        (["compare", REF_CSV, CUR_CSV, "--html", ""], "--html"),
        (["compare", REF_CSV, CUR_CSV, "--config", ""], "--config"),
        (["compare", "", CUR_CSV], "REFERENCE"),
        (["compare", REF_CSV, ""], "CURRENT"),
        (["explain", REF_CSV, CUR_CSV, "--column", "income", "--config", ""], "--config"),
        (["profile", REF_CSV, "-o", ""], "--output"),
        (["profile", REF_CSV, "-o", "p.json", "--bins-from", ""], "--bins-from"),
        (["profile", "", "-o", "p.json"], "DATA"),
        (["monitor", CUR_CSV, "-r", "", "--history", "h.db"], "--reference"),
        (["monitor", CUR_CSV, "-r", REF_CSV, "--history", ""], "--history"),
        (["monitor", CUR_CSV, "-r", REF_CSV, "--history", "h.db", "--html", ""], "--html"),
        (["history", ""], "DATABASE"),
        (["history", "h.db", "-o", ""], "--output"),
    ],
)
def test_an_empty_path_is_refused_naming_its_option(tmp_path, monkeypatch, args, flag):
    # The empty path is the working directory: it must not be read or written in its place.
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert _one_line_error(result) == f"kldrift: error: {flag} must not be an empty path\n"
    assert list(tmp_path.iterdir()) == []


def test_a_blank_path_is_refused_as_empty():
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-o", " "])
    assert _one_line_error(result).endswith(": --output must not be an empty path, got ' '\n")


def _bytes(name, data):
    def make(d):
        (d / name).write_bytes(data)
        return d / name

    return make


def _dir(name):
    def make(d):
        (d / name).mkdir()
        (d / name / "readme.txt").write_text("no data here")
        return d / name

    return make


def _truncated_parquet(d):
    whole = d / "whole.parquet"
    pl.DataFrame({"x": list(range(100))}).write_parquet(whole)
    data = whole.read_bytes()
    return _bytes("cut.parquet", data[: len(data) // 2])(d)


@pytest.mark.parametrize(
    ("make", "names"),
    [
        (lambda d: d / "missing.csv", ["missing.csv", "no such file"]),
        (_dir("empty_dir"), ["empty_dir", "no data files"]),
        (_bytes("zero.csv", b""), ["zero.csv", "empty (0 bytes)"]),
        (_bytes("header_only.csv", b"x\n"), ["header_only.csv", "no rows"]),
        (_bytes("data.xlsx", b"PK"), ["data.xlsx", "unknown file type"]),
        (_truncated_parquet, ["cut.parquet", "cannot read"]),
        (_bytes("text.parquet", b"x\n1\n"), ["text.parquet", "cannot read"]),
        (_bytes("ragged.csv", b"x\n1\n2,3\n"), ["ragged.csv", "more fields than the header"]),
        (_bytes("latin.csv", "x\ncafé\n".encode("latin-1")), ["latin.csv", "--encoding"]),
        (_bytes("dup.csv", b"x,x\n1,2\n"), ["dup.csv", "duplicate column name 'x'"]),
        (_bytes("late.csv", b"x\n" + b"1\n" * 10_005 + b"a\n"), ["late.csv", "column 'x'"]),
        (_bytes("cut.csv.gz", gzip.compress(b"x\n1\n")[:12]), ["cut.csv.gz", "cannot read"]),
        (_bytes("other.csv", b"y\n1\n"), ["other.csv", "no column in common"]),
    ],
)
@pytest.mark.parametrize("side", ["reference", "current"])
def test_unusable_files_are_one_line_errors_naming_the_file(tmp_path, make, names, side):
    good = tmp_path / "good.csv"
    good.write_text("x\n1\n2\n")
    bad = str(make(tmp_path))
    args = [str(good), bad] if side == "current" else [bad, str(good)]
    _one_line_error(runner.invoke(app, ["compare", *args]), *names)


@pytest.mark.parametrize("side", ["reference", "current"])
def test_a_late_non_date_in_a_date_column_is_a_one_line_error(tmp_path, side):
    good, bad = tmp_path / "good.csv", tmp_path / "late_date.csv"
    good.write_text("day\n2024-01-01\n2024-01-02\n")
    bad.write_bytes(b"day\n" + b"2024-01-01\n" * 10_005 + b"soon\n")
    args = [str(good), str(bad)] if side == "current" else [str(bad), str(good)]
    result = runner.invoke(app, ["compare", *args])
    _one_line_error(result, "late_date.csv", "column 'day'", "cannot parse 'soon' as date")


def test_unreadable_file_is_a_one_line_error(tmp_path, monkeypatch):
    secret = tmp_path / "secret.csv"
    secret.write_text("x\n1\n")
    secret.chmod(0)
    real_access = os.access  # root may read anything: deny this one file for the test
    monkeypatch.setattr(os, "access", lambda p, m: str(p) != str(secret) and real_access(p, m))
    result = runner.invoke(app, ["compare", REF_CSV, str(secret)])
    _one_line_error(result, "secret.csv", "permission denied")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--bins", "-3", "--bins must be from 1 to 10000"),
        ("--top-k", "0", "--top-k must be from 1 to 10000"),
        ("--top-k", "-1", "--top-k must be from 1 to 10000"),
        ("--smoothing", "nan", "--smoothing must be a number from 0"),
        ("--smoothing", "inf", "--smoothing must be a number from 0"),
        ("--base", "0", "--base must be a finite number greater than 1"),
        ("--base", "-2", "--base must be a finite number greater than 1"),
        ("--base", "nan", "--base must be a finite number greater than 1"),
        ("--threshold", "0", "--threshold must be a finite number > 0"),
        ("--threshold", "-0.1", "--threshold must be a finite number > 0"),
        ("--threshold", "inf", "--threshold must be a finite number > 0"),
        ("--warn", "nan", "--warn must be a finite number > 0"),
        ("--column-threshold", "income=nan", "--column-threshold income must be a finite"),
        ("--column-threshold", "income=-1", "--column-threshold income must be a finite"),
        ("--column-threshold", "nope=0.2", "--column-threshold: no column 'nope'"),
        ("--exclude", "nope", "--exclude: no column 'nope'"),
        ("--categorical", "nope", "--categorical: no column 'nope'"),
        ("--separator", ";;", "separator must be one one-byte character"),
        ("--encoding", "klingon", "encoding is not a known encoding, got 'klingon'"),
    ],
)
def test_invalid_option_values_are_one_line_errors(option, value, message):
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, option, value])
    _one_line_error(result, message)


def test_a_non_number_for_a_numeric_option_is_a_usage_error():
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--bins", "many"])
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr and "--bins" in result.stderr


REFERENCE = b"x,s\n1,a\n2,b\n3,c\n"


@pytest.mark.parametrize(
    ("name", "data", "options"),
    [
        ("semicolon.csv", b"x;s\n1;a\n2;b\n3;c\n", []),
        ("tab.csv", b"x\ts\n1\ta\n2\tb\n3\tc\n", []),
        ("pipe.csv", b"x|s\n1|a\n2|b\n3|c\n", []),
        ("bom.csv", b"\xef\xbb\xbf" + REFERENCE, []),
        ("data.csv.gz", gzip.compress(REFERENCE), []),
        ("latin.csv", "x,s\n1,a\n2,b\n3,c\n".encode("latin-1"), ["--encoding", "latin-1"]),
        ("multiline.csv", b"x,s\n1,a\n2,b\n3,c\n", []),
    ],
)
def test_csv_dialects_give_the_same_report(tmp_path, name, data, options):
    reference = tmp_path / "reference.csv"
    reference.write_bytes(REFERENCE)
    (tmp_path / name).write_bytes(data)
    result = runner.invoke(
        app, ["compare", str(reference), str(tmp_path / name), "-f", "json", *options]
    )
    assert result.exit_code == 0, result.stderr
    doc = _json(result)
    assert {c["name"]: c["kl"] for c in doc["columns"]} == {"x": 0.0, "s": 0.0}


def test_separator_option_applies_to_both_files(tmp_path):
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_bytes(b"x,y;s\n1,5;a\n2,5;b\n")
    result = runner.invoke(
        app,
        [
            "compare",
            str(tmp_path / "a.csv"),
            str(tmp_path / "b.csv"),
            "--separator",
            ";",
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert {c["name"] for c in _json(result)["columns"]} == {"x,y", "s"}


def test_latin1_and_multiline_fields_are_read_as_text(tmp_path):
    reference = tmp_path / "r.csv"
    reference.write_bytes('s\n"café\nnoir"\nthé\n'.encode("latin-1"))
    result = runner.invoke(
        app, ["compare", str(reference), str(reference), "--encoding", "cp1252", "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    values = _json(result)["columns"][0]["binning"]["values"]
    assert sorted(values) == ["café\nnoir", "thé"]


def test_messy_columns_give_a_report_with_a_schema_section(tmp_path):
    n = 60
    reference = pl.DataFrame(
        {
            "all_null": [None] * n,
            "constant": [1] * n,
            "all_nan": [math.nan] * n,
            "with_inf": [math.inf, -math.inf] + [float(i) for i in range(n - 2)],
            "mixed": ["1", "two", "3.5"] * (n // 3),
            "retyped": list(range(n)),
            "widened": list(range(n)),
            " spaced name ": ["a", "b"] * (n // 2),
            "ünïcödé": ["x"] * n,
            "user_id": [f"user-{i:05d}" for i in range(n)],
            "long": ["L" * 5000, "M" * 5000] * (n // 2),
            "day": [f"2024-01-{1 + i % 28:02d}" for i in range(n)],
            "gone": [1] * n,
        }
    )
    current = reference.with_columns(
        pl.Series("mixed", ["4", "five", "6.5"] * (n // 3)),
        pl.Series("retyped", [f"v{i}" for i in range(n)]),
        pl.Series("widened", [float(i) for i in range(n)]),
        pl.Series("ünïcödé", ["x", None] * (n // 2)),
        pl.Series("long", ["L" * 5000, "N" * 5000] * (n // 2)),
        pl.Series("added", [1] * n),
    ).drop("gone")
    reference.write_csv(tmp_path / "r.csv")
    current.write_csv(tmp_path / "c.csv")

    result = runner.invoke(
        app, ["compare", str(tmp_path / "r.csv"), str(tmp_path / "c.csv"), "-f", "json"]
    )
    assert result.exit_code == 1, result.stderr  # "gone" went missing and "retyped" changed kind
    doc = _json(result)
    schema = doc["schema"]
    assert schema["added"] == [{"column": "added", "dtype": "Int64"}]
    assert schema["removed"] == [{"column": "gone", "dtype": "Int64"}]
    type_changed = {t["column"]: (t["compared"], t["breaking"]) for t in schema["type_changed"]}
    assert type_changed == {"retyped": (False, True), "widened": (True, False)}
    assert schema["null_rate_changed"] == [{"column": "ünïcödé", "reference": 0.0, "current": 0.5}]
    assert schema["categories"]["long"] == {
        "new_rows": 30,
        "new_share": 0.5,
        "predicted_new_share": None,  # two categories: no tail to predict unseen ones from
        "largest_new": [{"value": "N" * 5000, "rows": 30, "share": 0.5}],
        "gone": ["M" * 5000],
    }
    assert schema["skipped"] == [
        {
            "column": "user_id",
            "reason": "high cardinality (60 distinct of 60 rows)",
            "reference_dtype": "String",
            "current_dtype": "String",
        }
    ]
    columns = {c["name"]: c for c in doc["columns"]}
    assert columns["day"]["kind"] == "temporal"  # dates stored as text are parsed as dates
    assert columns[" spaced name "]["kl"] == 0.0
    for name in ("all_null", "constant", "all_nan", "with_inf"):
        assert columns[name]["kl"] == 0.0, name
    assert columns["mixed"]["kind"] == "categorical"  # "two" makes the whole column text

    table = runner.invoke(app, ["compare", str(tmp_path / "r.csv"), str(tmp_path / "c.csv")])
    assert table.exit_code == 1
    for text in (
        "schema changes",
        "user_id",
        "high cardinality",
        "null share 0.0% -> 50.0%",
        "Int64 -> Float64 (still compared)",
        "missing from current",
    ):
        assert text in table.stdout, text
    assert "M" * 100 not in table.stdout  # long category names are shortened


def test_forcing_an_id_column_categorical_compares_it(tmp_path):
    frame = pl.DataFrame({"id": [f"u{i}" for i in range(50)], "x": [1.0] * 50})
    frame.write_parquet(tmp_path / "r.parquet")
    result = runner.invoke(
        app,
        [
            "compare",
            str(tmp_path / "r.parquet"),
            str(tmp_path / "r.parquet"),
            "--categorical",
            "id",
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert {c["name"] for c in _json(result)["columns"]} == {"id", "x"}
    assert _json(result)["schema"]["skipped"] == []


@pytest.mark.parametrize(("n_ref", "n_cur"), [(1, 1), (1, 500), (500, 1)])
def test_one_row_on_either_side_gives_a_report(tmp_path, n_ref, n_cur):
    pl.DataFrame({"x": [float(i) for i in range(n_ref)]}).write_csv(tmp_path / "r.csv")
    pl.DataFrame({"x": [float(i) for i in range(n_cur)]}).write_csv(tmp_path / "c.csv")
    result = runner.invoke(
        app, ["compare", str(tmp_path / "r.csv"), str(tmp_path / "c.csv"), "-f", "json"]
    )
    assert result.exit_code in (0, 1), result.stderr
    doc = _json(result)
    assert (doc["reference"]["rows"], doc["current"]["rows"]) == (n_ref, n_cur)
    assert doc["columns"][0]["kl"] >= 0


def test_json_carries_every_divergence_and_the_significance_test():
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-f", "json"])
    assert result.exit_code == 1
    doc = _json(result)
    assert doc["decision"] == {"rule": "both", "metric": "kl", "alpha": 0.05, "adjustment": "bh"}
    assert doc["thresholds"]["drift"] == 0.005 and doc["thresholds"]["warn"] == 0.0025
    assert doc["thresholds"]["defaults"] == {"drift": 0.005, "warn": 0.0025}
    income = next(c for c in doc["columns"] if c["name"] == "income")
    assert income["kl_corrected"] == pytest.approx(income["kl"] - income["noise_floor"])
    assert 0 < income["js_divergence"] <= 0.6932 and income["js_distance"] ** 2 == pytest.approx(
        income["js_divergence"]
    )
    assert income["psi"] > income["kl"] > 0 and 0 < income["hellinger"] < 1
    assert set(income["significance"]) == {"statistic", "dof", "p_value", "p_adjusted", "method"}
    assert income["significance"]["dof"] == 9
    assert income["significance"]["p_adjusted"] < 1e-10


def test_metric_without_threshold_uses_that_metrics_defaults():
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-f", "json", "--metric", "psi"])
    assert result.exit_code == 1
    doc = _json(result)
    assert (doc["thresholds"]["metric"], doc["thresholds"]["drift"]) == ("psi", 0.25)
    assert doc["thresholds"]["warn"] == 0.1
    drifted = {c["name"] for c in doc["columns"] if c["status"] == "drift"}
    assert drifted == {c["name"] for c in doc["columns"] if c["psi"] >= 0.25} == DRIFTED


def test_table_shows_the_gates_and_requested_metrics():
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--show", "psi,hellinger"])
    assert result.exit_code == 1
    for header in ("KL corr.", "noise", "p adj.", "PSI", "Hellinger", "<1e-16"):
        assert header in result.stdout
    caption = " ".join(result.stdout.split())  # wrapped to the width
    assert "Decision: both" in caption and "BH-adjusted p < 0.05" in caption


def test_explain_option_appends_the_drifted_columns_only():
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--explain"])
    assert result.exit_code == 1
    for name in DRIFTED:
        assert f"{name}: drift" in result.stdout
        assert f"{name}: reference vs current" in result.stdout
    assert "score: " not in result.stdout
    assert result.stdout.rstrip().endswith("3 of 12 columns drifted")


def test_explain_command_shows_the_bins_and_exits_with_the_columns_status():
    result = runner.invoke(app, ["explain", REF_CSV, CUR_CSV, "--column", "country"])
    assert result.exit_code == 1, result.stderr
    out = result.stdout
    assert "country: drift" in out and "contribution" in out
    # Parts p log(p/q) + q - p: the new category (JP), whose bin is empty in the reference,
    # contributes about its current share; US, losing share to it, comes next. Every part is
    # >= 0, so every share of the KL lies in 0%..100%.
    rows = [line.split("│")[1:-1] for line in out.splitlines() if line.startswith("│")]
    assert [cell.strip() for cell in rows[0][:3]] == ["(new)", "0.0%", "13.2%"]
    assert [cell.strip() for cell in rows[1][:3]] == ["US", "35.6%", "29.6%"]
    shares = [float(row[4].strip().rstrip("%")) for row in rows if row[4].strip().endswith("%")]
    assert shares and all(0 <= share <= 100 for share in shares)
    assert all(float(row[3]) >= 0 for row in rows if row[4].strip().endswith("%"))
    assert "new categories (13.2% of current rows), largest: JP 13.2%" in out
    calm = runner.invoke(app, ["explain", REF_CSV, CUR_CSV, "--column", "score"])
    assert calm.exit_code == 0
    assert "score: ok" in calm.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--column", "nope"], "--column: no column 'nope'"),
        (["--column", "score", "--alpha", "2"], "--alpha must be a number between 0 and 1"),
        (
            ["--column", "income", "--exclude", "income"],
            "--column: 'income' is left out by --exclude",
        ),
        (["--column", "income", "-c", "score,plan"], "--column: 'income' is not in --columns"),
        (["--pair", "income,score", "--exclude", "income"], "--pair: 'income' is left out by"),
    ],
)
def test_explain_errors_are_one_line_with_exit_2(args, message):
    result = runner.invoke(app, ["explain", REF_CSV, CUR_CSV, *args])
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_explain_names_a_column_left_out_before_reading_the_data(tmp_path, monkeypatch):
    # The column exists: "no column 'income'" would send the user looking for a typo.
    forbid(monkeypatch, "kldrift.drift.compare")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kldrift.toml").write_text('exclude = ["income"]\n')
    result = runner.invoke(app, ["explain", REF_CSV, CUR_CSV, "--column", "income"])
    assert _one_line_error(result) == (
        "kldrift: error: --column: 'income' is left out by kldrift.toml: exclude\n"
    )


def test_unknown_show_metric_is_an_option_error():
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--show", "tv"])
    assert result.exit_code == 2
    assert "--show must name metrics among" in result.stderr


def test_names_that_look_like_rich_markup_are_printed_as_they_are(tmp_path):
    # Column names, categories and file names are data: "[/b]" once raised rich's MarkupError.
    path = tmp_path / "odd [b] name.csv"
    pl.DataFrame(
        {"a[/b]": [1.0, 2.0, 3.0] * 5, "[bold]c": ["[red]x", ":smile:", "y"] * 5}
    ).write_csv(path)
    result = runner.invoke(app, ["compare", str(path), str(path), "--explain"])
    assert result.exit_code == 0, result.output
    for text in ["a[/b]", "[bold]c", "odd [b] name.csv", "0 of 2 columns drifted"]:
        assert text in result.stdout


def test_the_spinner_shows_file_names_that_look_like_markup(monkeypatch):
    import io

    from kldrift.report.progress import progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress() as note:
        note("profiling odd [/b] name.csv")
    assert "odd [/b] name.csv" in terminal.getvalue()


def _far_dates(tmp_path):
    # Dates either side of Python's years 1 to 9999, and datetimes in year 12000.
    days = pl.Series([-800_000, 0, 1000, 3_000_000, 3_000_001] * 4, dtype=pl.Int32)
    stamps = pl.Series([(12000 - 1970) * 31_556_952_000_000 + i for i in range(20)])
    path = tmp_path / "far.parquet"
    pl.DataFrame({"d": days.cast(pl.Date), "t": stamps.cast(pl.Datetime("us"))}).write_parquet(path)
    return str(path)


@pytest.mark.parametrize(
    "command",
    [
        ["compare", "-f", "json"],
        ["explain", "--column", "d"],
        ["compare", "--time-column", "d", "--every", "1d"],
    ],
)
def test_dates_beyond_python_range_are_reported_in_every_command(tmp_path, command):
    path = _far_dates(tmp_path)
    result = runner.invoke(app, [command[0], path, path, *command[1:]])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "+10183-09-21" in result.stdout and "-0221-09-04" in result.stdout


def test_a_profile_of_far_dates_is_written_and_compared(tmp_path):
    path, out = _far_dates(tmp_path), str(tmp_path / "far.kldrift.json")
    assert runner.invoke(app, ["profile", path, "-o", out]).exit_code == 0
    labels = [c["labels"] for c in json.loads(Path(out).read_text())["columns"]]
    assert "+10183-09-21" in labels[0] and labels[1][0].startswith("+12000-01-01 ")
    assert runner.invoke(app, ["compare", out, path]).exit_code == 0


def test_a_hand_edited_profile_is_a_one_line_error_naming_file_and_key(tmp_path):
    out = str(tmp_path / "ref.kldrift.json")
    assert runner.invoke(app, ["profile", REF_CSV, "-o", out]).exit_code == 0
    doc = json.loads(Path(out).read_text())
    doc["columns"][0]["counts"][0] = 1e300
    Path(out).write_text(json.dumps(doc))
    result = runner.invoke(app, ["compare", out, CUR_CSV])
    name = doc["columns"][0]["name"]
    _one_line_error(result, out, f"column {name!r}: counts[0]: expected a whole number")


def test_explain_gives_no_share_of_an_infinite_kl(tmp_path):
    (tmp_path / "r.csv").write_text("c\na\nb\nc\n")
    (tmp_path / "c.csv").write_text("c\na\na\na\n")
    args = ["explain", str(tmp_path / "r.csv"), str(tmp_path / "c.csv"), "--column", "c"]
    result = runner.invoke(app, [*args, "--smoothing", "0", "--categorical", "c"])
    assert result.exit_code in (0, 1), result.stderr
    rows = [line.split("│")[1:-1] for line in result.stdout.splitlines() if line.startswith("│")]
    cells = {row[0].strip(): (row[3].strip(), row[4].strip()) for row in rows if len(row) == 5}
    assert cells["b"] == ("inf", "—") and cells["c"] == ("inf", "—")
    assert cells["a"][1] == "—"


@pytest.mark.parametrize(("base", "unit"), [("e", "nats"), ("2", "bits"), ("10", "hartleys")])
def test_base_flag_takes_e_and_numbers_as_the_config_does(base, unit):
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--base", base, "-f", "json"])
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)["options"]["unit"] == unit


def test_base_flag_refuses_what_is_not_a_base():
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--base", "pi"])
    assert result.exit_code == 2
    assert "--base must be a number or \"e\", got 'pi'" in result.stderr


def test_the_reviewers_special_inputs_end_in_one_line_or_a_verdict(tmp_path):
    # Regression guard for review item 6, fixed on main by the input branch.
    import datetime as dt
    import os

    zero = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "--config", "/dev/zero"])
    assert zero.exit_code == 2 and "larger than the 16 MiB" in zero.stderr
    fifo = tmp_path / "p.kldrift.json"
    os.mkfifo(fifo)
    piped = runner.invoke(app, ["compare", str(fifo), CUR_CSV])
    assert piped.exit_code == 2 and "not a kldrift profile" in piped.stderr
    wide = tmp_path / "wide.parquet"
    pl.DataFrame({"x": [2**63 - 1, -(2**63), 2**63 - 2, -(2**63) + 1] * 50}).write_parquet(wide)
    extreme = runner.invoke(app, ["compare", str(wide), str(wide)])
    assert extreme.exit_code == 0, extreme.stderr
    dates = tmp_path / "dates.parquet"
    days = [dt.date(1, 1, 1), dt.date(9999, 12, 31)] * 10
    pl.DataFrame({"d": days, "v": [1.0, 2.0] * 10}).write_parquet(dates)
    windowed = runner.invoke(
        app, ["compare", str(dates), str(dates), "--time-column", "d", "--every", "1000y"]
    )
    assert windowed.exit_code in (0, 1), windowed.stderr
    assert "Traceback" not in windowed.stderr + extreme.stderr


@pytest.mark.parametrize("flag", ["--storage-option", "--storage-options"])
def test_a_malformed_storage_option_is_named_by_its_declared_flag(flag):
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, flag, "x"])
    assert result.exit_code == 2
    assert result.stderr == "kldrift: error: --storage-option must be KEY=VALUE, got 'x'\n"


def test_messages_name_every_setting_by_a_flag_the_command_takes():
    import typer.main

    from kldrift.cli import RUN_OPTIONS, SETTING_OPTIONS, _flag

    params = typer.main.get_command(app).commands["compare"].params
    flags = {p.name: p.opts for p in params}
    for setting in [*SETTING_OPTIONS, *RUN_OPTIONS]:
        assert _flag(setting) == flags[setting][0], setting


def test_names_with_a_comma_or_edge_spaces_are_named_in_the_config_file(tmp_path, monkeypatch):
    # A flag's list is split at commas and trimmed; the file's list takes names as written.
    rng = np.random.default_rng(3)
    for name, loc in (("r.csv", 0.0), ("c.csv", 1.0)):
        frame = {
            "a,b": rng.normal(loc, size=500),
            " c": rng.normal(size=500),
            "d": rng.normal(size=500),
        }
        pl.DataFrame(frame).write_csv(tmp_path / name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kldrift.toml").write_text('columns = ["a,b", " c"]\n')
    result = runner.invoke(app, ["compare", "r.csv", "c.csv", "-f", "json", "-q"])
    assert result.exit_code == 1, result.stderr
    status = {c["name"]: c["status"] for c in json.loads(result.stdout)["columns"]}
    assert status == {"a,b": "drift", " c": "ok"}
    split = runner.invoke(app, ["compare", "r.csv", "c.csv", "-c", "a,b", "--no-config"])
    assert _one_line_error(split) == "kldrift: error: --columns: no column 'a' in r.csv or c.csv\n"
