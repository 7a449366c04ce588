"""Report formats: golden files on sample_data, JUnit and JSON validity, --output, step summary."""

import csv
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import polars as pl
import pytest
from typer.testing import CliRunner

import kldrift
from kldrift import Gate
from kldrift.cli import app
from kldrift.errors import OutputError
from kldrift.options import Format
from kldrift.report import append_step_summary, render, write_file
from kldrift.report.csv import HEADER
from kldrift.report.markdown import number
from kldrift.report.text import column_reason

from .conftest import ROOT

runner = CliRunner()
GOLDEN = ROOT / "tests" / "golden"
#: Run from the repository root with relative paths, so no machine's absolute path is recorded.
SAMPLE_ARGS = ["compare", "sample_data/reference.csv", "sample_data/current.csv"]
REGENERATE = os.environ.get("KLDRIFT_REGEN_GOLDEN") == "1"
SUFFIX = {Format.json: "json", Format.markdown: "md", Format.junit: "xml", Format.csv: "csv"}
_LONG_FLOAT = re.compile(r"-?\d+\.\d{8,}(?:e-?\d+)?")


def _strict_loads(text):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def _normalise(fmt, text):
    """What a golden file holds: no version, and floats cut to 10 digits against last-ulp noise."""
    if fmt is Format.json:
        doc = _strict_loads(text)
        assert doc.pop("kldrift_version") == kldrift.__version__
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return _LONG_FLOAT.sub(lambda m: f"{float(m.group()):.10g}", text)


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("fmt", list(SUFFIX))
def test_sample_report_matches_its_golden_file(at_root, fmt):
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", fmt.value])
    assert result.exit_code == 1, result.stderr
    actual = _normalise(fmt, result.stdout)
    golden = GOLDEN / f"sample.{SUFFIX[fmt]}"
    if REGENERATE:
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8"), f"regenerate: see {GOLDEN}/README.md"


def test_golden_files_hold_no_version_or_absolute_path():
    for golden in GOLDEN.glob("sample.*"):
        text = golden.read_text(encoding="utf-8")
        assert str(ROOT) not in text
        assert f'"{kldrift.__version__}"' not in text


def test_json_has_no_nan_or_infinity_tokens_even_when_scores_are_infinite(write_table):
    # "b" has reference mass and no current mass: with no smoothing its KL is infinite.
    ref = write_table("ref.csv", s=["a", "b"] * 10, x=[1.0] * 20)
    cur = write_table("cur.csv", s=["a"] * 20, x=[1.0] * 20)
    result = runner.invoke(app, ["compare", str(ref), str(cur), "-f", "json", "--smoothing", "0"])
    assert result.exit_code == 1
    doc = _strict_loads(result.stdout)
    assert {c["name"]: c["kl"] for c in doc["columns"]} == {"s": "inf", "x": 0.0}


def test_json_summary_says_which_rule_decided(at_root):
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "json", "--max-drifted", "3"])
    assert result.exit_code == 0
    gate = _strict_loads(result.stdout)["summary"]["gate"]
    assert gate == {
        "passed": True,
        "rule": "max_drifted",
        "fail_on": "drift",
        "max_drifted": 3,
        "max_drifted_share": None,
        "allowed": 3,
        "considered": 12,
        "failing_columns": ["income", "latency_ms", "country"],
        "reason": "3 drifted columns of 12, within the 3 allowed by max_drifted 3 (command line)",
    }


def _junit(args):
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "junit", *args])
    return result, ET.fromstring(result.stdout)


def test_junit_has_one_testcase_per_compared_column_and_fails_the_drifted(at_root):
    result, root = _junit([])
    assert result.exit_code == 1
    compared = {
        c.name
        for c in kldrift.compare(
            ROOT / "sample_data/reference.csv", ROOT / "sample_data/current.csv"
        ).columns
    }
    cases = root.findall("./testsuite/testcase")
    assert sorted(c.get("name") for c in cases) == sorted(compared)
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {"income", "latency_ms", "country"}
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("12", "3")
    assert root.get("failures") == "3"


def test_junit_failures_follow_the_gate(at_root):
    result, root = _junit(["--max-drifted", "3"])
    assert result.exit_code == 0
    assert root.findall(".//failure") == []
    notes = [c for c in root.iter("testcase") if c.find("system-out") is not None]
    assert len(notes) == 3
    assert "tolerated by the gate" in notes[0].find("system-out").text


def test_junit_reports_a_missing_column_and_survives_hostile_names(tmp_path):
    hostile = 'a<b>&"c\x01'
    reference = pl.DataFrame({hostile: [1.0, 2.0] * 10, "gone": [1] * 20})
    current = pl.DataFrame({hostile: [1.0, 2.0] * 10})
    out = io.StringIO()
    render(kldrift.compare(reference, current), Format.junit, out)
    root = ET.fromstring(out.getvalue())
    cases = {c.get("classname"): c for c in root.iter("testcase")}
    assert cases["kldrift.columns"].get("name") == 'a<b>&"c\ufffd'
    assert cases["kldrift.schema"].find("failure").get("type") == "schema"


def test_csv_has_one_row_per_column_in_report_order(at_root):
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    report = kldrift.compare("sample_data/reference.csv", "sample_data/current.csv")
    assert [r["column"] for r in rows] == [c.name for c in report.columns]
    assert [float(r["kl"]) for r in rows] == [c.kl for c in report.columns]


def _csv_rows(args):
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "csv", *args])
    assert result.exit_code == 1, result.stderr
    reader = csv.DictReader(io.StringIO(result.stdout))
    return reader.fieldnames, {r["column"]: r for r in reader}


def test_csv_appends_the_decision_fields_after_the_original_columns(at_root):
    header, rows = _csv_rows([])
    original = [
        "column", "kind", "dtype", "status", "kl", "cross_entropy", "entropy", "unit", "warn",
        "threshold", "null_share_reference", "null_share_current", "rows_reference",
        "rows_current",
    ]  # fmt: skip
    assert header[: len(original)] == original
    assert header[len(original) :] == [
        "kl_corrected", "noise_floor", "js_divergence", "js_distance", "psi", "hellinger",
        "g_statistic", "dof", "p_value", "p_adjusted", "test_method",
        "relationship", "cells", "detectable_kl",
    ]  # fmt: skip
    assert tuple(header) == HEADER
    report = kldrift.compare("sample_data/reference.csv", "sample_data/current.csv")
    income = rows["income"]
    assert float(income["p_adjusted"]) < 1e-10
    assert float(income["p_value"]) <= float(income["p_adjusted"])
    assert float(rows["customer_age"]["p_adjusted"]) > 0.05
    for c in report.columns:
        row = rows[c.name]
        assert float(row["kl_corrected"]) == c.kl_corrected
        assert float(row["detectable_kl"]) == c.detectable  # as in JSON's detectable_kl
        # The corrected KL is the plug-in KL minus the noise floor, clipped at zero.
        assert float(row["kl_corrected"]) == pytest.approx(
            max(0.0, float(row["kl"]) - float(row["noise_floor"]))
        )
        assert [float(row[m]) for m in ("js_divergence", "js_distance", "psi", "hellinger")] == [
            c.js_divergence, c.js_distance, c.psi, c.hellinger
        ]  # fmt: skip
        assert (float(row["g_statistic"]), int(row["dof"])) == (c.g_statistic, c.dof)
        assert row["test_method"] == c.test_method != ""


def test_csv_writes_infinite_scores_as_inf(write_table):
    ref = write_table("ref.csv", s=["a", "b"] * 10)
    cur = write_table("cur.csv", s=["a"] * 20)
    result = runner.invoke(app, ["compare", str(ref), str(cur), "-f", "csv", "--smoothing", "0"])
    assert result.exit_code == 1
    (row,) = csv.DictReader(io.StringIO(result.stdout))
    assert (row["kl"], row["kl_corrected"], row["psi"]) == ("inf", "inf", "inf")
    assert float(row["hellinger"]) > 0


def test_csv_defuses_formula_like_text_but_not_numbers():
    names = ["=cmd()", "+1", "-x", "@SUM(A1)", "plain"]
    reference = pl.DataFrame({n: ["a", "b"] * 10 for n in names})
    current = pl.DataFrame({n: ["a"] * 15 + ["b"] * 5 for n in names})
    out = io.StringIO()
    render(kldrift.compare(reference, current), Format.csv, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert sorted(r["column"] for r in rows) == sorted(
        ["'=cmd()", "'+1", "'-x", "'@SUM(A1)", "plain"]
    )
    for row in rows:
        # Every numeric cell still parses as a number: the quote goes on text only.
        assert float(row["kl"]) > 0 and float(row["p_adjusted"]) < 1
        assert not any(row[k].startswith("'") for k in HEADER if k != "column")


def test_markdown_shows_effect_noise_and_adjusted_p(at_root):
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "markdown", "--metric", "psi"])
    assert result.exit_code == 1
    text = result.stdout
    assert "thresholds on KL" not in text
    assert "Decision: both; drift when PSI (nats) >= 0.25 and BH-adjusted p < 0.05" in text
    header = next(line for line in text.splitlines() if "| column |" in line)
    assert "| PSI | noise | p adj. |" in header
    income = next(line for line in text.splitlines() if "`income`" in line)
    cells = [cell.strip() for cell in income.split("|")[1:-1]]
    assert cells[4:7] == ["0.6777", "0.0026", "<1e-16"]


def _message(report, name):
    return column_reason(report, report.column(name))


def test_column_reason_names_the_gates_that_decided(sample_report):
    income, age = sample_report.column("income"), sample_report.column("customer_age")
    assert _message(sample_report, "income") == (
        f"KL corr. {income.kl_corrected:.4f} >= 0.005 and p adj. <1e-16 < 0.05"
    )
    assert _message(sample_report, "customer_age") == (
        f"KL corr. {age.kl_corrected:.4f} < warn level 0.0025 "
        f"and p adj. {age.p_adjusted:.3f} >= 0.05"
    )
    sample = (ROOT / "sample_data/reference.csv", ROOT / "sample_data/current.csv")
    by_threshold = kldrift.compare(
        *sample, thresholds=kldrift.Thresholds(decision="threshold", drift=0.2)
    )
    latency = by_threshold.column("latency_ms")
    assert latency.status is kldrift.Status.warn
    assert _message(by_threshold, "latency_ms") == (
        f"KL corr. {latency.kl_corrected:.4f} >= warn level 0.0025"
    )
    by_significance = kldrift.compare(
        *sample, thresholds=kldrift.Thresholds(decision="significance")
    )
    assert _message(by_significance, "income") == "p adj. <1e-16 < 0.05"


def test_column_reason_says_but_when_only_one_gate_passes():
    # 20 rows a side: a large KL that sampling noise alone could give, so not significant.
    reference = pl.DataFrame({"s": ["a", "b"] * 10})
    current = pl.DataFrame({"s": ["a"] * 15 + ["b"] * 5})
    report = kldrift.compare(reference, current)
    column = report.column("s")
    assert column.status is kldrift.Status.ok
    assert column.kl_corrected >= 0.005 and column.p_adjusted >= 0.05
    assert column_reason(report, column) == (
        f"KL corr. {column.kl_corrected:.4f} >= 0.005 but p adj. {column.p_adjusted:.3f} >= 0.05"
    )


def test_junit_message_says_effect_and_adjusted_p(at_root):
    result, root = _junit(["--fail-on", "warn", "--decision", "threshold", "--threshold", "0.2"])
    assert result.exit_code == 1
    failures = {c.get("name"): c.find("failure") for c in root.iter("testcase")}
    income = failures["income"]
    assert income.get("type") == "drift"
    assert re.fullmatch(r"drift: KL corr\. 0\.3\d{3} >= 0\.2", income.get("message"))
    assert failures["country"].get("message").startswith("warn: KL corr. 0.14")
    assert "p adj. <1e-16" in income.text


def test_non_table_formats_do_not_load_rich():
    code = (
        "import sys, kldrift.report.markdown, kldrift.report.csv, kldrift.report.junit; "
        "sys.exit('rich' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_markdown_escapes_table_breaking_names():
    reference = pl.DataFrame({"a|b": ["x", "y"] * 10})
    current = pl.DataFrame({"a|b": ["x"] * 20})
    out = io.StringIO()
    render(kldrift.compare(reference, current), Format.markdown, out)
    row = next(line for line in out.getvalue().splitlines() if "a\\|b" in line)
    # Eleven cells, so twelve unescaped pipes.
    assert len(re.findall(r"(?<!\\)\|", row)) == 12


def test_markdown_and_the_step_summary_show_control_characters_in_names_escaped(
    tmp_path, monkeypatch
):
    red, newline, title = "\x1b[31mred", "name\nnl", "\x1b]0;PWNED\x07"
    reference = pl.DataFrame({red: [1.0, 2.0] * 10, newline: ["x", "y"] * 10, title: [1] * 20})
    current = pl.DataFrame({red: [1.0] * 20, newline: ["x", "y"] * 10, title: [1] * 20})
    report = kldrift.compare(reference, current, thresholds=kldrift.Thresholds(columns={red: 1}))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert append_step_summary(report)
    out = io.StringIO()
    render(report, Format.markdown, out)
    assert summary.read_text() == out.getvalue()
    text = out.getvalue()
    assert not re.search("[\x00-\x09\x0b-\x1f]", text)
    lines = text.splitlines()
    assert (
        "| ❌ | `'\\x1b[31mred'` | numeric | 1.1877 | 1.1377 | 0.0500 | 1.6e-04 | 1.8809 "
        "| 0.6931 | 0.0% → 0.0% | 1 |"
    ) in lines
    assert any(line.startswith("| ✅ | `'name\\nnl'` | categorical |") for line in lines)
    assert any(line.startswith("| ✅ | `'\\x1b]0;PWNED\\x07'` |") for line in lines)
    assert "Own drift levels: '\\x1b[31mred' 1." in text


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.0, "0.0000"), (0.34646, "0.3465"), (0.00001234, "1.2e-05"), (float("inf"), "∞")],
)
def test_markdown_rounds_scores_sensibly(value, shown):
    assert number(value) == shown


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(scope="module")
def sample_report():
    return kldrift.compare(ROOT / "sample_data/reference.csv", ROOT / "sample_data/current.csv")


@pytest.mark.parametrize("fmt", list(Format))
def test_no_color_means_no_escape_codes_in_any_format(monkeypatch, sample_report, fmt):
    monkeypatch.setenv("NO_COLOR", "1")
    out = _Terminal()
    render(dataclasses.replace(sample_report, gate=Gate(max_drifted=1)), fmt, out)
    assert "\x1b[" not in out.getvalue()


def test_a_terminal_without_no_color_does_get_colour(monkeypatch, sample_report):
    # The check above can fail: on a terminal the table is coloured.
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = _Terminal()
    render(sample_report, Format.table, out)
    assert "\x1b[" in out.getvalue()


@pytest.mark.parametrize("fmt", list(Format))
def test_piped_output_has_no_escape_codes(at_root, monkeypatch, fmt):
    monkeypatch.delenv("NO_COLOR", raising=False)
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", fmt.value])
    assert result.exit_code == 1
    assert "\x1b[" not in result.stdout + result.stderr


def test_output_file_gets_the_report_and_stderr_the_summary(at_root, tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "json", "-o", str(target)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "kldrift: 3 of 12 columns drifted; fail: 3 drifted columns of 12; "
        "any drifted column fails\n"
    )
    assert _strict_loads(target.read_text())["summary"]["columns_drifted"] == 3
    assert os.listdir(tmp_path) == ["report.json"]  # no temporary file left behind


def test_output_to_a_missing_directory_is_exit_2(at_root, tmp_path):
    result = runner.invoke(app, [*SAMPLE_ARGS, "-o", str(tmp_path / "no" / "r.md")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "r.md: cannot write: no directory" in result.stderr


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "report.csv"
    target.write_text("old")
    report = kldrift.compare(pl.DataFrame({"x": [1.0, 2.0]}), pl.DataFrame({"x": [1.0, 2.0]}))

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OutputError, match="No space left on device"):
        write_file(report, Format.csv, target)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.csv"]


def test_step_summary_is_appended_when_set(at_root, tmp_path, monkeypatch):
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "json"])
    assert result.exit_code == 1
    _strict_loads(result.stdout)  # stdout still holds only the JSON
    text = summary.read_text()
    assert text.startswith("earlier step\n### ❌ kldrift: 3 of 12 columns drifted")
    runner.invoke(app, [*SAMPLE_ARGS, "--no-step-summary"])
    assert summary.read_text() == text


def test_step_summary_can_be_turned_off_in_the_config(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "kldrift.toml").write_text("step_summary = false\n")
    monkeypatch.chdir(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    args = [str(ROOT / "sample_data/reference.csv"), str(ROOT / "sample_data/current.csv")]
    assert runner.invoke(app, ["compare", *args]).exit_code == 1
    assert not summary.exists()
    assert runner.invoke(app, ["compare", *args, "--step-summary"]).exit_code == 1
    assert summary.exists()


def test_append_step_summary_does_nothing_without_the_variable():
    report = kldrift.compare(pl.DataFrame({"x": [1.0]}), pl.DataFrame({"x": [1.0]}))
    assert append_step_summary(report) is False
