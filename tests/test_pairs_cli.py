"""Relationship drift through the front ends: --pairs, the pairs config key and the gate."""

import csv
import io
import json
import os
import re
import sqlite3
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import kldrift
from kldrift import historydb as history
from kldrift import pairs, profile_file
from kldrift.cli import app
from kldrift.options import Format

from .test_formats import _normalise
from .test_pairs import _correlated

runner = CliRunner()


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
            ["--pairs", "income,age", "--pairs", "age,score", "--exclude", "score,age"],
            "--pairs: 'age' is left out by --exclude",
        ),
        (["--pairs", "income,age", "-c", "income,score"], "--pairs: 'age' is not in --columns"),
        (
            ["--pairs", "all", "--time-column", "day", "--every", "1d"],
            "--pairs applies to a single comparison, not windows",
        ),
    ],
)
def test_bad_pairs_are_one_line_errors(flipped, flags, message):
    result = runner.invoke(app, ["compare", *flipped, *flags, "-q"])
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
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


def _report(flipped, fmt, *extra):
    result = runner.invoke(app, ["compare", *flipped, "--pairs", "all", "-f", fmt, "-q", *extra])
    assert result.exit_code == 1, result.stderr
    return result.stdout


def test_table_lists_the_drifted_pair_with_its_cells(flipped):
    out = _report(flipped, "table")
    section = out[out.index("relationships") :]
    assert "income × age" in section
    assert re.search(r"income <= [\d.]+ × age <= [\d.]+: \d+% → 0\.\d%", section)
    assert "relationships: 2 pairs ok" in out
    assert out.rstrip().endswith("0 of 3 columns drifted; 1 of 3 pairs drifted")


def test_json_relationships_section(flipped):
    document = json.loads(_report(flipped, "json"))
    section = document["relationships"]
    assert (section["pairs_scored"], section["pairs_drifted"], section["pairs_warned"]) == (3, 1, 0)
    first = section["pairs"][0]
    assert first["name"] == "income × age" and first["status"] == "drift"
    kl, floor = first["kl"], first["noise_floor"]
    interaction = kl["joint"] - kl["marginal_x"] - kl["marginal_y"]
    relationship = interaction - (floor["joint"] - floor["marginal_x"] - floor["marginal_y"])
    assert first["relationship"] == pytest.approx(relationship, abs=1e-12)
    assert kl["joint"] == pytest.approx(kl["marginal_x"] + kl["conditional_y_given_x"], abs=1e-12)
    assert first["significance"]["p_adjusted"] < 1e-100
    assert first["shape"] == [11, 11]
    cell = first["cells"][0]
    assert cell["text"].startswith("income ") and " → " in cell["text"]
    scores = [p["relationship"] for p in section["pairs"]]
    assert scores == sorted(scores, reverse=True)


def test_markdown_relationships_section(flipped):
    out = _report(flipped, "markdown")
    assert "**Relationships**: 1 of 3 pairs drifted." in out
    row = next(line for line in out.splitlines() if "`income × age`" in line)
    assert row.startswith("| ❌ |") and "<br>" in row


def test_junit_has_a_testcase_per_pair_failing_with_the_gate(flipped):
    root = ET.fromstring(_report(flipped, "junit"))
    cases = root.findall(".//testcase[@classname='kldrift.relationships']")
    assert len(cases) == 3
    failing = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failing] == ["income × age"]
    message = failing[0].find("failure").get("message")
    assert message.startswith("drift: relationship ") and "p adj. <1e-16 < 0.05" in message
    assert root.find("testsuite").get("failures") == "1"
    flags = ["--pairs", "all", "-f", "junit", "--max-drifted", "1", "-q"]
    result = runner.invoke(app, ["compare", *flipped, *flags])
    assert result.exit_code == 0, result.stderr
    case = ET.fromstring(result.stdout).find(".//testcase[@name='income × age']")
    assert case.find("failure") is None
    assert case.find("system-out").text.startswith("tolerated by the gate: drift: relationship")


def test_csv_has_a_row_per_pair_after_the_columns(flipped):
    rows = list(csv.DictReader(io.StringIO(_report(flipped, "csv"))))
    assert sorted(r["kind"] for r in rows[:3]) == ["categorical", "numeric", "numeric"]
    assert [r["kind"] for r in rows[3:]] == ["pair"] * 3
    pair = rows[3]
    assert pair["column"] == "income × age" and pair["status"] == "drift"
    assert float(pair["relationship"]) > 0.4
    assert pair["cells"].count(" → ") == 3
    assert all(r["relationship"] == "" for r in rows[:3]) and pair["psi"] == ""


def test_html_relationships_section(flipped):
    page = _report(flipped, "html")
    section = page[page.index('<h2 id="relationships">') : page.index('<h2 id="schema">')]
    assert "1 of 3 pairs drifted" in section
    assert "<th scope=row>income × age</th>" in section
    assert section.count("<tr>") == 2  # the header and the one drifted pair


def test_explain_pair_shows_both_joint_tables_and_the_top_cells(flipped):
    flags = ["--pair", "income,age", "--top", "4", "-q"]
    # Side by side where they fit (two 11 x 11 tables need about 130 columns), else one above
    # the other.
    narrow = runner.invoke(app, ["explain", *flipped, *flags], env={"COLUMNS": "80"})
    assert "reference, % of rows" in narrow.stdout and "current, % of rows" in narrow.stdout
    result = runner.invoke(app, ["explain", *flipped, *flags], env={"COLUMNS": "160"})
    assert result.exit_code == 1, result.stderr
    out = result.stdout
    assert out.startswith("income × age: drift  relationship ")
    # Both sides' tables on the same lines, and each side's cells add up to 100%.
    header = next(line for line in out.splitlines() if "reference, % of rows" in line)
    assert "current, % of rows" in header
    rows = [line for line in out.splitlines() if line.lstrip().startswith("<= ")]
    ref_cells, cur_cells = (rows[0].split("<= ")[k].split()[1:] for k in (1, 2))
    assert float(ref_cells[0]) > 2 and float(cur_cells[0]) < 0.5  # the emptied corner
    assert "age bins: 1 <= " in out
    assert "Top 4 of 100 cells" in " ".join(out.split())


def test_explain_pair_parts_sum_to_the_relationship(flipped):
    report = kldrift.compare(*flipped, pairs=[("income", "age")])
    (pair,) = report.pairs
    parts = pairs.explain(pair, report.options)
    assert sum(c.contribution for c in parts) == pytest.approx(pair.kl.relationship, abs=1e-12)
    assert parts[: len(pair.cells)] == pair.cells
    total = sum(map(sum, pair.reference_table))
    assert total == report.reference_rows
    assert sum(c.reference_share for c in parts) == pytest.approx(1.0)


def test_explain_pair_of_an_unchanged_pair_exits_0(flipped):
    result = runner.invoke(app, ["explain", *flipped, "--pair", "city,age", "-q"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("city × age: ok")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([], "--column or --pair: give exactly one"),
        (["--column", "age", "--pair", "income,age"], "--column or --pair: give exactly one"),
        (["--pair", "all"], "--pair names one pair of columns, A,B"),
        (["--pair", "income,nope"], "'nope' is not a compared column"),
        (["--pair", "income,age", "--exclude", "age"], "--pair: 'age' is left out by --exclude"),
        (["--pair", "income,age", "-c", "city,age"], "--pair: 'income' is not in --columns"),
    ],
)
def test_explain_needs_one_column_or_one_pair(flipped, flags, message):
    result = runner.invoke(app, ["explain", *flipped, *flags, "-q"])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("pair", "rule"),
    [
        ("age,age", "expects two different columns, got 'age,age'"),
        ("age", "expects two column names, A,B, got 'age'"),
        ("age,income,city", "expects two column names, A,B, got 'age,income,city'"),
    ],
)
def test_a_bad_pair_to_explain_is_named_by_pair_not_pairs(flipped, pair, rule):
    # Was "--pairs: 'age,age' is not two different columns" and "... A,B (or all)": a flag
    # the user did not give, and a choice --pair does not have.
    result = runner.invoke(app, ["explain", *flipped, "--pair", pair, "-q"])
    assert result.exit_code == 2
    assert result.stderr == f"kldrift: error: --pair {rule}\n"


def _v3_history(path):
    conn = sqlite3.connect(path, isolation_level=None)
    for step in (1, 2, 3):
        history.MIGRATIONS[step](conn)
    conn.execute("PRAGMA user_version = 3")
    conn.close()


def test_history_records_pair_results_and_shows_them(flipped, tmp_path):
    ref, cur = flipped
    db = str(tmp_path / "h.db")
    for current in (ref, cur):
        flags = ["-r", ref, "--history", db, "--pairs", "all", "-q"]
        runner.invoke(app, ["monitor", current, *flags])
    same, flipped_run = history.read(db)
    assert [p.status for p in same.pairs] == ["ok"] * 3
    top = flipped_run.pairs[0]
    assert (top.name, top.status) == ("income × age", "drift")
    assert top.relationship > 0.4 and len(top.cells) == 3 and " → " in top.cells[0]
    assert "1 of 3 pairs drifted" in flipped_run.summary
    shown = runner.invoke(app, ["history", db])
    assert shown.exit_code == 0, shown.stderr
    assert "relationship per column pair" in shown.stdout
    row = next(line for line in shown.stdout.splitlines() if "income × age" in line)
    assert "drift" in row and "%" in row
    document = json.loads(runner.invoke(app, ["history", db, "-f", "json"]).stdout)
    assert document["runs"][1]["pairs"][0]["x"] == "income"
    rows = list(
        csv.DictReader(io.StringIO(runner.invoke(app, ["history", db, "-f", "csv"]).stdout))
    )
    pair_rows = [r for r in rows if r["kind"] == "pair"]
    assert len(pair_rows) == 6 and pair_rows[3]["column"] == "income × age"
    only_city = history.read(db, columns=["city"])[1]
    assert {p.name for p in only_city.pairs} == {"income × city", "age × city"}


def test_a_version_3_history_is_read_as_it_is_and_migrated_by_the_next_run(flipped, tmp_path):
    db = tmp_path / "old.db"
    _v3_history(db)
    assert history.read(db) == ()
    report = kldrift.compare(*flipped, pairs="all")
    history.record(db, [kldrift.compare(*flipped), report])
    without, with_pairs = history.read(db)
    assert without.pairs == () and len(with_pairs.pairs) == 3
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION == 5
    conn.close()


def test_a_failed_run_leaves_neither_rows_nor_the_migration(flipped, tmp_path):
    db = tmp_path / "old.db"
    _v3_history(db)
    report = kldrift.compare(*flipped, pairs="all")
    twice = replace(report, pairs=(report.pairs[0], report.pairs[0]))  # breaks the table's key
    with pytest.raises(kldrift.InputError, match="history database refused the run"):
        history.record(db, [report, twice])
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "pair_results" not in tables
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    conn.close()


def test_a_profile_made_with_pairs_is_the_reference_of_a_cron_run(flipped, tmp_path):
    ref, cur = flipped
    stored = str(tmp_path / "ref.kldrift.json")
    made = runner.invoke(app, ["profile", ref, "-o", stored, "--pairs", "income,age"])
    assert made.exit_code == 0, made.stderr
    assert made.stdout.strip().endswith("3 columns, 20000 rows, 1 pair tables")
    flags = ["--pairs", "income,age", "-f", "json", "-q"]
    via_profile = runner.invoke(app, ["compare", stored, cur, *flags])
    via_data = runner.invoke(app, ["compare", ref, cur, *flags])
    assert via_profile.exit_code == via_data.exit_code == 1
    pairs_of = [_json(r)["relationships"]["pairs"] for r in (via_profile, via_data)]
    assert pairs_of[0] == pairs_of[1]
    missing = runner.invoke(app, ["compare", stored, cur, "--pairs", "all", "-q"])
    assert missing.exit_code == 2
    assert "stores no table for the pair income,city" in missing.stderr
    assert "kldrift profile DATA --pairs income,city" in missing.stderr


def test_profiles_counted_on_stored_bins_keep_the_pair_tables_and_merge(flipped, tmp_path):
    ref, _ = flipped
    whole = pl.read_parquet(ref)
    bins = str(tmp_path / "bins.kldrift.json")
    runner.invoke(app, ["profile", ref, "-o", bins, "--pairs", "all"])
    parts = []
    for i, part in enumerate((whole.head(5000), whole.tail(15000))):
        path = tmp_path / f"part{i}.parquet"
        part.write_parquet(path)
        out = str(tmp_path / f"part{i}.kldrift.json")
        result = runner.invoke(app, ["profile", str(path), "-o", out, "--bins-from", bins])
        assert result.exit_code == 0, result.stderr
        assert "3 pair tables" in result.stdout
        parts.append(out)
    merged = str(tmp_path / "merged.kldrift.json")
    result = runner.invoke(app, ["profile", *parts, "--merge", "-o", merged])
    assert result.exit_code == 0, result.stderr
    assert profile_file.load(merged).pairs == profile_file.load(bins).pairs
    refused = runner.invoke(app, ["profile", *parts, "--merge", "-o", merged, "--pairs", "all"])
    assert refused.exit_code == 2 and "--merge takes profiles only" in refused.stderr


def test_recount_adds_named_pairs_to_the_stored_ones(flipped):
    ref, _ = flipped
    bins = kldrift.profile_data(ref, pairs=(("income", "age"),))
    recounted = kldrift.profile_data(ref, bins_from=bins, pairs=(("age", "city"),))
    assert set(recounted.pairs) == {("income", "age"), ("age", "city")}
    assert recounted.pairs[("income", "age")] == bins.pairs[("income", "age")]
    assert set(kldrift.profile_data(ref, bins_from=bins).pairs) == {("income", "age")}


ROOT = Path(__file__).resolve().parents[1]
PAIRS_GOLDEN = ROOT / "tests" / "golden" / "sample-pairs.md"


def test_sample_pairs_report_matches_its_golden_file(monkeypatch):
    # The sample's changed relationship, and only it, among all 66 pairs (tests/golden/README.md).
    monkeypatch.chdir(ROOT)
    args = ["compare", "sample_data/reference.csv", "sample_data/current.csv", "--pairs", "all"]
    result = runner.invoke(app, [*args, "-f", "markdown"])
    assert result.exit_code == 1, result.stderr
    actual = _normalise(Format.markdown, result.stdout)
    if os.environ.get("KLDRIFT_REGEN_GOLDEN") == "1":
        PAIRS_GOLDEN.write_text(actual, encoding="utf-8")
    assert actual == PAIRS_GOLDEN.read_text(encoding="utf-8")
    report = kldrift.compare("sample_data/reference.csv", "sample_data/current.csv", pairs="all")
    assert [p.name for p in report.drifted_pairs] == ["order_value × discount_pct"]
    assert report.column("order_value").status is report.column("discount_pct").status
    assert report.column("order_value").status.value == "ok"
    assert {c.name for c in report.drifted_columns} == {"income", "latency_ms", "country"}


def test_readme_shows_the_sample_relationships_section(monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["compare", "sample_data/reference.csv", "sample_data/current.csv", "--pairs", "all"]
    out = runner.invoke(app, args, env={"COLUMNS": "80"}).stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Relationships between columns") :]
    start = section.index("```\n") + 4
    block = section[start : section.index("```\n", start)]
    lines = [line.rstrip() for line in out.splitlines()]
    shown = lines[next(i for i, line in enumerate(lines) if line.strip() == "relationships") :]
    assert shown == block.splitlines()


def test_both_sides_as_profiles_score_the_stored_pair_tables(flipped, tmp_path):
    # A cron job counts CURRENT elsewhere on the reference's bins (and pairs), then compares.
    ref, cur = flipped
    ref_profile, cur_profile = (
        str(tmp_path / "ref.kldrift.json"),
        str(tmp_path / "cur.kldrift.json"),
    )
    runner.invoke(app, ["profile", ref, "-o", ref_profile, "--pairs", "income,age"])
    made = runner.invoke(app, ["profile", cur, "-o", cur_profile, "--bins-from", ref_profile])
    assert made.exit_code == 0 and "1 pair tables" in made.stdout, made.stderr
    flags = ["--pairs", "income,age", "-f", "json", "-q"]
    via_profiles = runner.invoke(app, ["compare", ref_profile, cur_profile, *flags])
    via_data = runner.invoke(app, ["compare", ref, cur, *flags])
    assert via_profiles.exit_code == via_data.exit_code == 1, via_profiles.stderr
    pairs_of = [_json(r)["relationships"]["pairs"] for r in (via_profiles, via_data)]
    assert pairs_of[0] == pairs_of[1]


def test_the_alert_names_the_drifted_pair_and_its_cells(flipped):
    from kldrift import alerts

    report = kldrift.compare(*flipped, pairs="all")
    (run,) = alerts.payload([report], [7])["runs"]
    (pair,) = run["drifted_pairs"]
    assert pair["name"] == "income × age" and pair["threshold"] == 0.01
    assert pair["relationship"] > 0.4 and len(pair["cells"]) == 3
    assert run["drifted_columns"] == []


def test_the_history_page_shows_the_pairs(flipped, tmp_path):
    ref, cur = flipped
    db = str(tmp_path / "h.db")
    for current in (ref, cur):
        runner.invoke(app, ["monitor", current, "-r", ref, "--history", db, "--pairs", "all", "-q"])
    page = runner.invoke(app, ["history", db, "-f", "html"]).stdout
    section = page[page.index('<h2 id="pairs">') :]
    assert section.count('<tr><th scope="row">') == 2
    assert '<th scope="col">income × age</th>' in section
    assert "<li><strong>income × age</strong>: income " in section and " → " in section


def test_pair_levels_are_settings(flipped, tmp_path):
    flags = ["--pairs", "income,age", "--pair-threshold", "0.9", "-f", "json", "-q"]
    result = runner.invoke(app, ["compare", *flipped, *flags])
    assert result.exit_code == 0, result.stderr  # 0.56 is below 0.9: a warning, which passes
    (pair,) = _json(result)["relationships"]["pairs"]
    assert (pair["status"], pair["threshold"], pair["warn"]) == ("warn", 0.9, 0.005)
    assert _json(result)["summary"]["status"] == "warn"
    low = kldrift.resolve({"pair_threshold": 0.002}).pair_levels
    assert (low.drift, low.warn) == (0.002, 0.002)
    config = tmp_path / "kldrift.toml"
    config.write_text("pair_threshold = 0.9\npair_warn = 0.95\n")
    bad = runner.invoke(app, ["compare", *flipped, "--config", str(config), "--pairs", "all"])
    assert bad.exit_code == 2
    assert "kldrift.toml: pair_warn: must not be above" in bad.stderr
    flag = runner.invoke(app, ["compare", *flipped, "--pairs", "all", "--pair-warn", "0"])
    assert flag.exit_code == 2 and "--pair-warn must be a finite number > 0" in flag.stderr


def test_spark_profiles_take_no_pairs(flipped, tmp_path):
    ref, _ = flipped
    out = str(tmp_path / "p.kldrift.json")
    result = runner.invoke(app, ["profile", ref, "-o", out, "--engine", "spark", "--pairs", "all"])
    assert result.exit_code == 2 and "--pairs needs --engine polars" in result.stderr
