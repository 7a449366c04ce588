"""The HTML report without a browser: golden file, budgets, the page's policy, escaping, CLI."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
import os
import re
import sqlite3
from html import escape
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

import kldrift
from kldrift import drift, metrics
from kldrift import historydb as history
from kldrift.cli import app
from kldrift.options import Options, Status
from kldrift.report import html
from kldrift.report import json as json_report
from kldrift.result import DriftReport

from .conftest import ROOT

runner = CliRunner()
GOLDEN = ROOT / "tests" / "golden" / "sample.html"
REGENERATE = os.environ.get("KLDRIFT_REGEN_GOLDEN") == "1"
SAMPLE_ARGS = ["compare", "sample_data/reference.csv", "sample_data/current.csv"]
_LONG_FLOAT = re.compile(r"-?\d+\.\d{8,}(?:e-?\d+)?")
DRIFT, OK = '<span class="icon">✖</span> drift', '<span class="icon">✔</span> ok'
_DATA = re.compile(r'(<script type="application/json" id="kldrift-report">)(.*?)(</script>)')


@pytest.fixture(scope="module")
def sample() -> DriftReport:
    here = os.getcwd()
    os.chdir(ROOT)  # relative source names, as the README's command gives them
    try:
        return kldrift.compare("sample_data/reference.csv", "sample_data/current.csv")
    finally:
        os.chdir(here)


def wide_report(base: DriftReport, n: int) -> DriftReport:
    """`base` with its columns repeated under new names up to `n` columns."""
    columns = tuple(
        dataclasses.replace(c, name=f"{c.name}_{i}")
        for i, c in ((i, base.columns[i % len(base.columns)]) for i in range(n))
    )
    return dataclasses.replace(base, columns=columns, schema=())


def embedded(page: str, name: str = "kldrift-report") -> object:
    found = re.search(f'<script type="application/json" id="{name}">(.*?)</script>', page)
    assert found is not None
    return json.loads(found.group(1))


class Elements(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _normalise(page: str) -> str:
    """What the golden file holds: no version, and floats in the JSON cut to 10 digits."""

    def cut(match: re.Match[str]) -> str:
        doc = json.loads(match.group(2))
        assert doc.pop("kldrift_version") == kldrift.__version__
        text = _LONG_FLOAT.sub(lambda m: f"{float(m.group()):.10g}", json.dumps(doc))
        return match.group(1) + text + match.group(3)

    page = page.replace(f"kldrift {kldrift.__version__} ·", "kldrift VERSION ·")
    return _DATA.sub(cut, page)


def test_sample_report_matches_its_golden_file(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "html"])
    assert result.exit_code == 1, result.stderr
    actual = _normalise(result.stdout)
    if REGENERATE:
        GOLDEN.write_text(actual, encoding="utf-8")
    assert actual == GOLDEN.read_text(encoding="utf-8"), "regenerate: see tests/golden/README.md"


def test_same_report_gives_the_same_bytes(sample):
    assert html.dumps(sample) == html.dumps(dataclasses.replace(sample))


def test_page_embeds_the_full_json_report(sample):
    assert embedded(html.dumps(sample)) == json.loads(json_report.dumps(sample))


@pytest.mark.parametrize("n", [10, 26])
def test_size_budget_60_kb_plus_15_kb_per_column(sample, n):
    page = html.dumps(wide_report(sample, n)).encode()
    assert len(page) <= (60 + 15 * n) * 1024
    assert "<svg" in page.decode() and 'class="lazy"' not in page.decode()


def test_lean_mode_above_300_columns_keeps_1000_columns_under_4_mb(sample):
    at_limit = html.dumps(wide_report(sample, html.LEAN_COLUMNS))
    assert 'class="lazy"' not in at_limit
    page = html.dumps(wide_report(sample, 1000))
    assert len(page.encode()) < 4_000_000
    bins = embedded(page, "kldrift-bins")
    assert isinstance(bins, list) and len(bins) == 1000
    assert page.count('<div class="lazy" data-col="') == 1000
    # The drawing data carries the same parts as the full page's bin table.
    labels, _, _, parts = bins[0]
    income = next(i for i, c in enumerate(sample.columns) if c.name == "income")
    first = wide_report(sample, 1000).columns[income]
    assert sum(bins[income][3]) == pytest.approx(first.kl, rel=1e-4)
    assert len(labels) == len(parts)


def test_page_policy_allows_only_its_own_style_and_script(sample):
    page = html.dumps(sample)
    parsed = Elements(page)
    policy = "Content-Security-Policy"
    csp = next(a["content"] for _, a in parsed.tags if a.get("http-equiv") == policy)
    assert csp is not None and "default-src 'none'" in csp
    runnable = re.findall(r"<(style|script)>(.*?)</\1>", page, re.S)
    assert [t for t, _ in runnable] == ["style", "script"]
    assert page.count("<style") == 1 and page.count("<script") == 2  # and one JSON block
    for tag, body in runnable:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in csp
    for tag, attrs in parsed.tags:
        assert "style" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), tag
        for name in ("href", "src", "action", "xlink:href"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, name, value)
    assert "data:" not in page and "url(" not in page and "@import" not in page
    # The one absolute URL is SVG's namespace name, which is never fetched.
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}


def test_every_data_string_is_escaped(write_table):
    evil = '</script><img src=x onerror=alert(1)>&"'
    ref = write_table("ref.parquet", **{evil: ["a", "b"] * 50, "x": list(range(100))})
    cur = write_table("cur.parquet", **{evil: ["a", "<kbd>"] * 50, "x": list(range(100))})
    page = html.dumps(kldrift.compare(ref, cur))
    assert "<img" not in page and "<kbd>" not in page
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&amp;&quot;" in page
    data = embedded(page)
    assert isinstance(data, dict) and data["columns"][0]["name"] in (evil, "x")
    assert {c["name"] for c in data["columns"]} == {evil, "x"}


def test_kl_parts_are_non_negative_and_sum_to_kl():
    parts = metrics.kl_contributions([5, 3, 2], [2, 3, 5])
    p, q = [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]
    expected = [pi * math.log(pi / qi) + qi - pi for pi, qi in zip(p, q, strict=True)]
    assert parts.tolist() == pytest.approx(expected, abs=1e-15)
    assert parts.min() >= 0 and parts.sum() == pytest.approx(metrics.kl_divergence(p, q))


def test_bin_table_shows_each_bins_share_of_the_kl(sample):
    page = html.dumps(sample)
    income = sample.column("income")
    section = page[page.index('<details class="col" id="c0" data-name="income"') :]
    section = section[: section.index("</details>")]
    parts = [b.contribution for b in drift.explain(income, sample.options)]
    top = max(parts)
    assert f"{html.score(top)}</td><td class=n>{top / sum(parts):.1%}</td>" in section
    shares = [float(s) for s in re.findall(r"<td class=n>([\d.]+)%</td></tr>", section)]
    assert sum(shares) == pytest.approx(100, abs=0.5)
    assert escape("Drift: KL corr. 0.3438 >= 0.005 and p adj. <1e-16 < 0.05.") in section


def test_content_comes_in_the_documented_order(sample):
    page = html.dumps(sample)
    marks = [
        'class="verdict"', "Gate failed", "(4,000 rows)", "Decision: both",
        'nav class="cards"', 'id="overview"', 'table class="cols', 'id="drift"', 'id="warn"',
        'id="ok"', 'id="schema"', 'id="skipped"', 'id="options"', 'id="kldrift-report"',
    ]  # fmt: skip
    positions = [page.index(m) for m in marks]
    assert positions == sorted(positions)
    drifted = re.findall(r'<details class="col" id="c\d+" data-name="([^"]+)" '
                         r'data-status="drift" data-kind="\w+" open>', page)  # fmt: skip
    assert sorted(drifted) == ["country", "income", "latency_ms"]
    assert page.count('<details class="col"') == 12
    assert DRIFT in page and OK in page


def test_cli_writes_html_beside_junit_on_stdout(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "report.html"
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "junit", "--html", str(out), "-q"])
    assert result.exit_code == 1, result.stderr
    assert result.stdout.startswith("<?xml")
    assert _normalise(out.read_text(encoding="utf-8")) == GOLDEN.read_text(encoding="utf-8")


def test_cli_windows_give_one_page_with_a_grid(tmp_path, write_table):
    days = [f"2024-01-0{1 + i // 50}" for i in range(150)]
    ref = write_table("ref.csv", x=[float(i % 10) for i in range(150)])
    cur = write_table("cur.csv", day=days, x=[float(i % 10 + (i >= 100) * 5) for i in range(150)])
    out = tmp_path / "windows.html"
    result = runner.invoke(
        app,
        ["compare", str(ref), str(cur), "--time-column", "day", "--every", "1d",
         "--html", str(out), "-f", "json"],
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)["summary"]["windows"] == 3
    page = out.read_text(encoding="utf-8")
    grid = page[page.index('<table class="grid">') : page.index("</table>")]
    assert grid.count("<tr>") == 4  # the header and three windows
    assert grid.count(DRIFT) == 2 and grid.count(OK) == 4  # window 3 and its x; the rest
    assert embedded(page, "kldrift-windows")["summary"]["windows"] == 3  # type: ignore[index]
    cards = page[page.index('<nav class="cards"') : page.index("</nav>")]
    labels = [re.sub(r"<[^>]+>", "", card) for card in cards.split("</a>")[:-1]]
    icon = {s: html.ICON[s] for s in Status}
    assert labels == [
        f"1{icon[Status.drift]} window drifted",
        f"0{icon[Status.warn]} windows warned",
        f"2{icon[Status.ok]} windows ok",
    ]
    assert "(150 rows in 3 windows)" in page


def test_cli_history_page_and_monitor_html(tmp_path, write_table):
    ref = write_table("ref.csv", x=[float(i % 10) for i in range(200)])
    same = write_table("same.csv", x=[float(i % 10) for i in range(200)])
    moved = write_table("moved.csv", x=[float(i % 10 + 4) for i in range(200)])
    db, latest = tmp_path / "h.sqlite", tmp_path / "latest.html"
    for cur, code in [(same, 0), (moved, 1)]:
        args = ["monitor", str(cur), "-r", str(ref), "--history", str(db), "--html", str(latest)]
        result = runner.invoke(app, args)
        assert result.exit_code == code, result.stderr
    assert "1 of 1 column drifted" in latest.read_text(encoding="utf-8")
    out = tmp_path / "history.html"
    result = runner.invoke(app, ["history", str(db), "-f", "html", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    page = out.read_text(encoding="utf-8")
    assert "kldrift history: 2 runs, 1 columns" in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 1  # one trend, column x
    assert "warn</text>" in page and "drift</text>" in page
    runs = history.read(db, last=10)
    assert [r.status for r in runs] == [Status.ok.value, Status.drift.value]
    assert html.dumps_history(runs) == page
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (2,)


def test_history_page_plots_the_metric_each_run_decided_by(tmp_path, write_table):
    # Runs decided by PSI are plotted in PSI against PSI's levels, in bits or nats alike.
    ref = write_table("ref.csv", x=[float(i % 10) for i in range(400)])
    moved = write_table("moved.csv", x=[float(i % 10 + (i % 3 == 0)) for i in range(400)])
    db = tmp_path / "h.sqlite"
    for extra in ([], ["--base", "2"]):
        args = ["monitor", str(moved), "-r", str(ref), "--history", str(db), "--metric", "psi"]
        assert runner.invoke(app, [*args, *extra, "-q"]).exit_code in (0, 1)
    runs = history.read(db, last=10)
    assert [r.metric for r in runs] == ["psi", "psi"]
    first, second = (r.columns[0] for r in runs)
    assert runs[0].decision_score(first) == pytest.approx(first.psi)
    assert runs[1].decision_score(second) == pytest.approx(second.psi * math.log(2))
    assert runs[1].decision_score(second) == pytest.approx(runs[0].decision_score(first))
    page = html.dumps_history(runs)
    assert "Trend of x: PSI per run" in page and "KL corr." not in page
    assert f"{html.score(runs[0].decision_score(first))}</td>" in page


def test_cli_rejects_html_to_an_unwritable_place(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, [*SAMPLE_ARGS, "--html", str(tmp_path / "no" / "r.html"), "-q"])
    assert result.exit_code == 2
    assert "r.html" in result.stderr and "Traceback" not in result.stderr


def test_infinite_kl_is_worded_not_drawn_as_nan(write_table):
    ref = write_table("ref.csv", s=["a", "b"] * 10)
    cur = write_table("cur.csv", s=["a"] * 20)
    report = kldrift.compare(ref, cur, options=Options(smoothing=0.0))
    page = html.dumps(report)
    assert "KL is infinite: “b” has reference rows and no current rows" in page
    assert ">nan" not in page and "NaN" not in page.replace(html.SCRIPT, "")


def test_report_without_compared_columns_still_renders(sample):
    page = html.dumps(dataclasses.replace(sample, columns=(), schema=()))
    assert "No column was compared." in page and "0 of 0 columns drifted" in page


def test_lean_data_has_labels_shares_and_parts_per_column(sample):
    page = html.dumps(wide_report(sample, html.LEAN_COLUMNS + 1))
    bins = embedded(page, "kldrift-bins")
    assert isinstance(bins, list)
    labels, ref, cur, parts = bins[0]
    assert len(labels) == len(ref) == len(cur) == len(parts)
    assert sum(ref) == pytest.approx(1, abs=1e-3) and sum(cur) == pytest.approx(1, abs=1e-3)
    assert min(parts) >= 0


def test_readme_states_the_sample_page_size(monkeypatch):
    # The size of the page as the README's command writes it, not of the normalised golden file.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"For the sample data the page is ([\d,]+) bytes", readme)
    assert stated is not None
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "html", "--no-step-summary"])
    assert result.exit_code == 1, result.stderr
    assert int(stated.group(1).replace(",", "")) == len(result.stdout.encode("utf-8"))
