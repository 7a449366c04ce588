"""The command line end to end: exit codes, stdout/stderr split, and the README command."""

import json
import subprocess
import sys

import polars as pl
import pytest
from typer.testing import CliRunner

from kldrift import __version__
from kldrift.cli import app

from .conftest import SAMPLE

runner = CliRunner()
REF_CSV, CUR_CSV = str(SAMPLE / "reference.csv"), str(SAMPLE / "current.csv")
DRIFTED = {"income", "country", "latency_ms"}


def _json(result):
    return json.loads(result.stdout)


def test_readme_command_flags_the_drifted_sample_columns():
    # The exact README command, as a separate process, so the console entry point works too.
    proc = subprocess.run(
        [sys.executable, "-m", "kldrift", "compare", REF_CSV, CUR_CSV],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "3 of 10 columns drifted" in proc.stdout
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
            ["compare", str(SAMPLE / "reference.parquet"), str(SAMPLE / "current.parquet"), "-f",
             "json"],
        )
    )
    for doc in (csv, parquet):
        del doc["reference"]["source"], doc["current"]["source"]
    assert csv == parquet


def test_options_reach_the_report():
    result = runner.invoke(
        app,
        [
            "compare", REF_CSV, CUR_CSV, "-f", "json", "--bins", "5", "--top-k", "3",
            "--smoothing", "0", "--base", "2", "--threshold", "0.3", "--warn", "0.15",
            "--column-threshold", "score=0.000001", "--columns", "income,score,country",
            "--categorical", "country",
        ],
    )
    assert result.exit_code == 1, result.stderr
    doc = _json(result)
    assert doc["options"]["unit"] == "bits"
    assert doc["options"]["bins"] == 5
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
        ["compare", REF_CSV, CUR_CSV, "-f", "json", "--exclude", "income",
         "--exclude", "country,latency_ms"],
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
        ([REF_CSV, CUR_CSV, "--bins", "0"], "--bins must be at least 1"),
        ([REF_CSV, CUR_CSV, "--base", "1"], "--base must be a positive number other than 1"),
        ([REF_CSV, CUR_CSV, "--threshold", "nan"], "--threshold must be a finite number"),
        ([REF_CSV, CUR_CSV, "--warn", "0.5"], "--warn (0.5) must not be above --threshold"),
        ([REF_CSV, CUR_CSV, "--smoothing", "-1"], "--smoothing must be a finite number >= 0"),
        ([REF_CSV, CUR_CSV, "--columns", "nope"], "--columns: no column 'nope'"),
        ([REF_CSV, CUR_CSV, "--column-threshold", "income"], "expects COLUMN=VALUE"),
        ([REF_CSV, CUR_CSV, "--column-threshold", "income=x"], "'x' is not a number"),
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
