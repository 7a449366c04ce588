"""The dataset-level gate: apply_gate() on known reports, and the CLI exit-code matrix."""

import json

import polars as pl
import pytest
from typer.testing import CliRunner

import kldrift
from kldrift.cli import app
from kldrift.errors import OptionError
from kldrift.gate import apply_gate
from kldrift.options import FailOn, Gate

runner = CliRunner()
ROWS = 100


def _split(share_x: float) -> list[str]:
    n = round(ROWS * share_x)
    return ["x"] * n + ["y"] * (ROWS - n)


# The matrix tests the gate, not the column decision, so it uses --decision threshold and fixed
# levels of 0.1 / 0.05 nats (not the defaults, which the calibration may move). With
# --smoothing 0 the KL of a 50/50 reference against a current split is exact, less the noise
# floor of 2 bins at 100 rows a side (0.01 nats): 67/33 gives 0.0514 (warn: 0.05 <= KL < 0.1),
# 80/20 gives 0.2131 (drift).
REFERENCE = {name: _split(0.5) for name in "abcd"}
CURRENTS = {
    "clean": REFERENCE,
    "warn": {**REFERENCE, "a": _split(0.67)},
    "drift": {**REFERENCE, "a": _split(0.8), "b": _split(0.8), "c": _split(0.67)},
}
LEVELS = ["--threshold", "0.1", "--warn", "0.05"]
#: (drifted, warned) columns of 4 in each current dataset.
COUNTS = {"clean": (0, 0), "warn": (0, 1), "drift": (2, 1)}
#: Limit flags -> (failing columns allowed of 4, rule that decides).
LIMITS = {
    "none": ([], 0, "default"),
    "max1": (["--max-drifted", "1"], 1, "max_drifted"),
    "max2": (["--max-drifted", "2"], 2, "max_drifted"),
    "share50": (["--max-drifted-share", "0.5"], 2, "max_drifted_share"),
    "share25": (["--max-drifted-share", "0.25"], 1, "max_drifted_share"),
    "both": (["--max-drifted", "2", "--max-drifted-share", "0.25"], 1, "max_drifted_share"),
}


@pytest.fixture
def datasets(tmp_path):
    paths = {}
    for name, columns in {"reference": REFERENCE, **CURRENTS}.items():
        paths[name] = tmp_path / f"{name}.csv"
        pl.DataFrame(columns).write_csv(paths[name])
    return paths


def test_the_matrix_data_has_the_statuses_it_claims(datasets):
    for name, (drifted, warned) in COUNTS.items():
        report = kldrift.compare(
            datasets["reference"],
            datasets[name],
            options=kldrift.Options(smoothing=0),
            thresholds=kldrift.Thresholds(
                drift=0.1, warn=0.05, decision=kldrift.Decision.threshold
            ),
        )
        assert (len(report.drifted_columns), len(report.warned_columns)) == (drifted, warned)


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("data", CURRENTS)
@pytest.mark.parametrize("fail_on", ["drift", "warn", "never"])
def test_exit_code_matrix(datasets, fail_on, data, limit):
    flags, allowed, rule = LIMITS[limit]
    drifted, warned = COUNTS[data]
    failing = drifted + warned if fail_on == "warn" else drifted
    expected = 0 if fail_on == "never" or failing <= allowed else 1
    args = [str(datasets["reference"]), str(datasets[data]), "--smoothing", "0", "-f", "json"]
    args += ["--decision", "threshold", *LEVELS]
    result = runner.invoke(app, ["compare", *args, "--fail-on", fail_on, *flags])
    assert result.exit_code == expected, result.stderr
    gate = json.loads(result.stdout)["summary"]["gate"]
    assert gate["passed"] is (expected == 0)
    assert gate["rule"] == ("fail_on_never" if fail_on == "never" else rule)
    assert len(gate["failing_columns"]) == failing
    assert gate["considered"] == 4


def test_default_gate_fails_on_any_drifted_column_only(datasets):
    args = ["compare", str(datasets["reference"]), "--smoothing", "0", *LEVELS]
    assert runner.invoke(app, [*args, str(datasets["warn"])]).exit_code == 0
    assert runner.invoke(app, [*args, str(datasets["drift"])]).exit_code == 1


def test_decide_counts_a_missing_column_as_drifted():
    reference = pl.DataFrame({"a": _split(0.5), "gone": [1.0] * ROWS})
    current = pl.DataFrame({"a": _split(0.5)})
    report = kldrift.compare(reference, current)
    verdict = apply_gate(report, Gate())
    assert not verdict.passed
    assert verdict.failing == ("gone",)
    assert verdict.considered == 2
    assert apply_gate(report, Gate(max_drifted_share=0.5)).passed
    assert not apply_gate(report, Gate(max_drifted_share=0.49)).passed


def test_share_limit_is_not_lost_to_rounding():
    # 0.29 * 100 is 28.999999999999996 in floating point; 29 of 100 must still pass.
    reference = pl.DataFrame({f"c{i}": _split(0.5) for i in range(100)})
    current = pl.DataFrame({f"c{i}": _split(0.8 if i < 29 else 0.5) for i in range(100)})
    report = kldrift.compare(reference, current, options=kldrift.Options(smoothing=0))
    assert len(report.drifted_columns) == 29
    verdict = apply_gate(report, Gate(max_drifted_share=0.29))
    assert verdict.passed and verdict.allowed == 29
    assert not apply_gate(report, Gate(max_drifted_share=0.28)).passed


def test_report_carries_its_gate_and_the_reason_names_the_limit():
    reference = pl.DataFrame({"a": _split(0.5), "b": _split(0.5)})
    current = pl.DataFrame({"a": _split(0.8), "b": _split(0.5)})
    report = kldrift.compare(reference, current, gate=Gate(fail_on=FailOn.warn, max_drifted=1))
    assert report.verdict == apply_gate(report, report.gate)
    assert report.verdict.passed
    assert report.verdict.reason == (
        "1 drifted or warned column of 2, within the 1 allowed by max_drifted 1"
    )


def test_fail_on_given_as_its_string_value_decides_as_the_enum():
    # The Python API takes the enums' string values, as Thresholds does: Gate(fail_on="never")
    # once left the string in place and gave the default verdict (failed) under "never".
    reference = pl.DataFrame({"a": _split(0.5), "b": _split(0.5)})
    current = pl.DataFrame({"a": _split(0.8), "b": _split(0.67)})
    report = kldrift.compare(reference, current, options=kldrift.Options(smoothing=0))
    for value in FailOn:
        by_string, by_enum = apply_gate(report, Gate(fail_on=value.value)), apply_gate(
            report, Gate(fail_on=value)
        )
        assert by_string == by_enum
    assert Gate(fail_on="never").fail_on is FailOn.never
    assert apply_gate(report, Gate(fail_on="never")).passed
    with pytest.raises(OptionError, match="^fail_on must be one of drift, warn, never"):
        Gate(fail_on="sometimes")


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ({"max_drifted": -1}, "^max_drifted must be 0 or more"),
        ({"max_drifted_share": 1.5}, "^max_drifted_share must be between 0 and 1"),
        ({"max_drifted_share": float("nan")}, "^max_drifted_share must be between 0 and 1"),
    ],
)
def test_gate_refuses_impossible_limits(gate, message):
    with pytest.raises(OptionError, match=message):
        Gate(**gate)


def test_bad_limits_on_the_command_line_exit_2(datasets):
    args = ["compare", str(datasets["reference"]), str(datasets["drift"])]
    result = runner.invoke(app, [*args, "--max-drifted-share", "2"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "--max-drifted-share must be between 0 and 1" in result.stderr
    assert runner.invoke(app, [*args, "--fail-on", "sometimes"]).exit_code == 2


def test_table_says_the_gate_verdict_only_when_a_gate_is_set(datasets):
    args = [
        "compare",
        str(datasets["reference"]),
        str(datasets["drift"]),
        "--smoothing",
        "0",
        *LEVELS,
    ]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 1
    assert "gate passed" not in plain.stdout and "gate failed" not in plain.stdout
    tolerant = runner.invoke(app, [*args, "--max-drifted", "2"])
    assert tolerant.exit_code == 0
    assert tolerant.stdout.rstrip().endswith(
        "gate passed: 2 drifted columns of 4, within the 2 allowed by max_drifted 2 (command line)"
    )
