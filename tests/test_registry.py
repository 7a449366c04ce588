"""The metric registry is the one place a metric is declared: everything else iterates it."""

import csv
import io
import json
import math
import re
import sqlite3

import pytest
from typer.testing import CliRunner

import kldrift
from kldrift import historydb as history
from kldrift.cli import app
from kldrift.options import METRIC_LEVELS, Thresholds
from kldrift.registry import METRICS, Metric
from kldrift.report import csv as csv_report
from kldrift.report import json as json_report
from kldrift.report.text import METRIC_LABELS

from .conftest import ROOT, SAMPLE

runner = CliRunner()
REF, CUR = SAMPLE / "reference.csv", SAMPLE / "current.csv"


@pytest.fixture(scope="module")
def report():
    return kldrift.compare(REF, CUR)


def test_every_metric_has_one_record():
    assert list(METRICS) == list(Metric)
    assert len({info.field for info in METRICS.values()}) == len(METRICS)
    assert METRIC_LEVELS == {m: info.levels for m, info in METRICS.items()}
    assert METRIC_LABELS == {m: info.label for m, info in METRICS.items()}


@pytest.mark.parametrize("metric", list(Metric))
def test_every_metric_is_scored_and_decides(report, metric):
    info = METRICS[metric]
    for column in report.columns:
        assert column.score(metric) == getattr(column, info.field)
        assert math.isfinite(column.score(metric)) or metric is Metric.psi
    decided = kldrift.compare(REF, CUR, thresholds=Thresholds(metric=metric))
    assert decided.thresholds.drift_level == info.levels[0]


def test_every_metric_reaches_json_and_csv(report):
    document = json.loads(json_report.dumps(report))
    rows = list(csv.DictReader(io.StringIO(csv_report.dumps(report))))
    for info in METRICS.values():
        assert all(info.field in column for column in document["columns"])
        assert info.field in csv_report.HEADER
        by_name = {c.name: c for c in report.columns}
        for row in rows:
            assert float(row[info.field]) == pytest.approx(
                getattr(by_name[row["column"]], info.field)
            )


@pytest.mark.parametrize("metric", list(Metric))
def test_every_metric_is_recorded_in_the_history(tmp_path, report, metric):
    # Failed before for js_distance: the history kept no decision score for it.
    db = tmp_path / "runs.db"
    decided = kldrift.compare(REF, CUR, thresholds=Thresholds(metric=metric))
    history.record(db, [decided])
    [run] = history.read(db)
    field = METRICS[metric].field
    by_name = {c.name: c for c in decided.columns}
    for column in run.columns:
        assert getattr(column, field) == pytest.approx(getattr(by_name[column.name], field))
    stored = {row[1] for row in sqlite3.connect(db).execute("PRAGMA table_info(column_results)")}
    assert field in stored


def test_the_metric_choices_of_the_cli_are_the_registry():
    result = runner.invoke(app, ["compare", "--help"], terminal_width=200)
    assert result.exit_code == 0
    choices = re.search(r"--metric \[([^\]]+)\]", result.stdout)
    assert choices is not None
    assert choices.group(1).split("|") == [m.value for m in METRICS]


def test_no_other_module_names_a_metric():
    # Beside the registry, only modules that must spell a metric out for a reason name one.
    names = [info.field for info in METRICS.values() if info.field not in ("kl_corrected",)]
    allowed = {"registry.py", "metrics.py", "significance.py", "historydb.py"}
    for path in (ROOT / "kldrift").rglob("*.py"):
        if path.name in allowed:
            continue
        text = path.read_text()
        for name in names:
            assert f'"{name}"' not in text, f"{path.name} names the metric {name!r}"
            assert f"Metric.{name}" not in text, f"{path.name} names the metric {name!r}"
