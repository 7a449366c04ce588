"""Renderers: strict JSON with explicit infinity, and a plain-text table off the terminal."""

import io
import json
import math

import polars as pl
import pytest

import kldrift
from kldrift import Options
from kldrift.options import Format
from kldrift.report import json as json_report
from kldrift.report import render
from kldrift.report.table import p_value, sparkline


def _strict_loads(text):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def infinite_report():
    reference = pl.DataFrame({"s": ["a", "b"] * 10, "x": [float(i) for i in range(20)]})
    current = pl.DataFrame({"s": ["a"] * 20, "x": [float(i) for i in range(20)]})
    return kldrift.compare(reference, current, options=Options(smoothing=0))


def test_json_is_strict_and_writes_infinity_as_a_string(infinite_report):
    out = io.StringIO()
    render(infinite_report, Format.json, out)
    doc = _strict_loads(out.getvalue())
    columns = {c["name"]: c for c in doc["columns"]}
    assert columns["s"]["kl"] == json_report.INFINITY == "inf"
    assert columns["s"]["cross_entropy"] == "inf"
    assert columns["x"]["kl"] == 0.0
    assert doc["format_version"] == 2
    assert doc["summary"]["status"] == "drift"
    assert doc["summary"]["columns_drifted"] == 1
    assert doc["thresholds"] == {
        "metric": "kl",
        "unit": "nats",
        "warn": 0.0025,
        "drift": 0.005,
        "columns": {},
        "defaults": {"drift": 0.005, "warn": 0.0025},
    }


def test_json_bins_carry_labels_and_both_counts(infinite_report):
    doc = json_report.document(infinite_report)
    s = next(c for c in doc["columns"] if c["name"] == "s")
    assert s["bins"][:2] == [
        {"label": "a", "reference": 10, "current": 20},
        {"label": "b", "reference": 10, "current": 0},
    ]
    assert s["binning"]["method"] == "categories"
    assert s["rows"] == {"reference": 20, "current": 20}


def test_plain_table_has_no_escape_codes_and_shows_the_summary(infinite_report, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    render(infinite_report, Format.table, out)
    text = out.getvalue()
    assert "\x1b[" not in text
    assert "1 of 2 columns drifted" in text
    assert "inf" in text


def test_sparkline_scales_to_the_shared_peak():
    assert sparkline((1, 1), peak=0.5) == "██"
    assert sparkline((1, 3), peak=0.75) == "▃█"
    assert sparkline((0, 0), peak=0.5) == "  "


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0, "<1e-16"), (1e-17, "<1e-16"), (3.2e-05, "3.2e-05"), (0.0123, "0.012"), (1.0, "1.000")],
)
def test_p_values_are_short(p, text):
    assert p_value(p) == text


def test_json_writes_infinite_corrected_kl_and_psi_as_strings(infinite_report):
    doc = _strict_loads(json_report.dumps(infinite_report))
    s = next(c for c in doc["columns"] if c["name"] == "s")
    assert s["kl_corrected"] == s["psi"] == "inf"
    # P = (1/2, 1/2), Q = (1, 0), M = (3/4, 1/4): JS = (KL(P||M) + KL(Q||M)) / 2.
    kl_pm = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert s["js_divergence"] == pytest.approx((kl_pm + math.log(1 / 0.75)) / 2, rel=1e-12)
    assert doc["decision"]["rule"] == "both"


def test_json_writes_infinite_bin_values_as_strings():
    # A discrete column holding inf has it as a bin value, not only as a score.
    frame = pl.DataFrame({"x": [1.0, 2.0, float("inf"), float("-inf")] * 5})
    out = io.StringIO()
    render(kldrift.compare(frame, frame), Format.json, out)
    values = _strict_loads(out.getvalue())["columns"][0]["binning"]["values"]
    assert values == ["-inf", 1.0, 2.0, "inf"]


def test_explain_names_new_categories_and_says_where_the_reference_share_of_new_comes_from():
    import numpy as np

    from kldrift.report import explain

    rng = np.random.default_rng(10)
    weights = 1 / np.arange(1, 1001) ** 1.1
    levels = np.array([f"c{i:04d}" for i in range(1000)])
    reference = levels[rng.choice(1000, 20_000, p=weights / weights.sum())]
    current = levels[rng.choice(1000, 20_000, p=weights / weights.sum())]
    fresh = rng.random(20_000) < 0.1
    current[fresh] = "fresh"  # as long as the level names: numpy keeps their width
    report = kldrift.compare(pl.DataFrame({"z": reference}), pl.DataFrame({"z": current}))
    out = io.StringIO()
    explain.write(report, report.column("z"), out, top=3)
    text = " ".join(out.getvalue().split())  # wrapped to the width
    assert "z: drift" in text
    assert "the reference's unseen tail predicts" in text and "largest: fresh 9.9%" in text
    assert "what its unseen tail predicts (Good-Turing)" in " ".join(text.split())


def test_a_report_is_never_written_to_a_uri_as_a_local_file(tmp_path, monkeypatch):
    from kldrift import report
    from kldrift.errors import OutputError

    monkeypatch.chdir(tmp_path)
    for uri in ("s3://bucket/x.json", "https://user:secret@host/x.json"):
        for call in (report.check_target, lambda p: report.write_atomic(p, lambda out: None)):
            with pytest.raises(OutputError, match="reports are written to local files") as caught:
                call(uri)
            assert "secret" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []
