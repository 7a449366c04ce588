"""Relationship drift through the front ends: --pairs, the pairs config key and the gate."""

import json
import math

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import kldrift
from kldrift.cli import app

runner = CliRunner()


def _correlated(rng, n, rho):
    z = rng.standard_normal((n, 2))
    age = rho * z[:, 0] + math.sqrt(1 - rho**2) * z[:, 1]
    return pl.DataFrame(
        {
            "income": z[:, 0] * 1000 + 50_000,
            "age": age * 10 + 40,
            "city": rng.choice(["north", "south", "east"], n),
        }
    )


@pytest.fixture
def flipped(tmp_path):
    """Files whose columns keep their marginals while income and age flip their correlation."""
    rng = np.random.default_rng(17)
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    _correlated(rng, 20_000, 0.5).write_parquet(ref)
    _correlated(rng, 20_000, -0.5).write_parquet(cur)
    return str(ref), str(cur)


def _json(result):
    return json.loads(result.stdout)


def test_without_pairs_the_flipped_files_pass(flipped):
    result = runner.invoke(app, ["compare", *flipped, "-f", "json", "-q"])
    assert result.exit_code == 0, result.stderr
    assert _json(result)["relationships"]["pairs"] == []


@pytest.mark.parametrize("flags", [["--pairs", "all"], ["--pairs", "income,age"]])
def test_pairs_flag_flags_the_flipped_pair_and_fails_the_gate(flipped, flags):
    result = runner.invoke(app, ["compare", *flipped, *flags, "-f", "json", "-q"])
    assert result.exit_code == 1, result.stderr
    document = _json(result)
    assert [c["status"] for c in document["columns"]] == ["ok"] * 3
    relationships = document["relationships"]
    assert relationships["pairs_drifted"] == 1
    assert relationships["pairs"][0]["columns"] == ["income", "age"]
    assert document["summary"]["gate"]["failing_columns"] == ["income × age"]
    assert len(relationships["pairs"]) == (3 if flags[1] == "all" else 1)


def test_repeated_pairs_flags_add_up(flipped):
    flags = ["--pairs", "income,age", "--pairs", "city,age", "-f", "json", "-q"]
    result = runner.invoke(app, ["compare", *flipped, *flags])
    assert result.exit_code == 1, result.stderr
    scored = {tuple(p["columns"]) for p in _json(result)["relationships"]["pairs"]}
    assert scored == {("income", "age"), ("city", "age")}


def test_pairs_from_the_config_file(flipped, tmp_path):
    config = tmp_path / "kldrift.toml"
    config.write_text('pairs = [["age", "income"]]\n')
    result = runner.invoke(app, ["compare", *flipped, "--config", str(config), "-q"])
    assert result.exit_code == 1, result.stderr
    assert "age × income" in result.stdout
    config.write_text('pairs = "all"\n')
    result = runner.invoke(app, ["compare", *flipped, "--config", str(config), "-f", "json"])
    assert len(_json(result)["relationships"]["pairs"]) == 3
    config.write_text('pairs = [["age"]]\n')
    result = runner.invoke(app, ["compare", *flipped, "--config", str(config)])
    assert result.exit_code == 2
    assert "kldrift.toml: pairs: expected" in result.stderr


def test_the_gate_counts_drifted_pairs_like_columns(flipped):
    flags = ["--pairs", "all", "--max-drifted", "1", "-f", "json", "-q"]
    result = runner.invoke(app, ["compare", *flipped, *flags])
    assert result.exit_code == 0, result.stderr
    gate = _json(result)["summary"]["gate"]
    assert gate["considered"] == 6 and gate["failing_columns"] == ["income × age"]
    assert gate["reason"].startswith("1 drifted column or pair of 6, within the 1 allowed")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--pairs", "income"], "--pairs expects two column names, A,B (or all), got 'income'"),
        (["--pairs", "all", "--pairs", "a,b"], "--pairs stands alone"),
        (["--pairs", "income,zip"], "--pairs: 'income,zip': 'zip' is not a compared column"),
        (["--pairs", "age,age"], "--pairs: 'age,age' is not two different columns"),
        (
            ["--pairs", "all", "--time-column", "day", "--every", "1d"],
            "--pairs applies to a single comparison, not windows",
        ),
    ],
)
def test_bad_pairs_are_one_line_errors(flipped, flags, message):
    result = runner.invoke(app, ["compare", *flipped, *flags, "-q"])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_monitor_takes_pairs(flipped, tmp_path):
    ref, cur = flipped
    history = str(tmp_path / "h.db")
    flags = ["-r", ref, "--history", history, "--pairs", "income,age", "-q"]
    result = runner.invoke(app, ["monitor", cur, *flags])
    assert result.exit_code == 1, result.stderr
    assert "income × age" in result.stdout


def test_the_python_api_takes_pairs_in_the_spec(flipped):
    spec = kldrift.resolve({"pairs": (("income", "age"),)})
    report = kldrift.compare(*flipped, spec)
    assert [p.name for p in report.drifted_pairs] == ["income × age"]
    assert report.pair("age", "income") is report.pairs[0]
    assert "1 of 1 pairs drifted" in report.summary
    with pytest.raises(kldrift.ColumnError, match="the pair age,city was not scored"):
        report.pair("age", "city")
