"""The HTML report in a real headless Chromium: Debian's /usr/bin/chromium driven by Playwright.

One browser for the session, with a fresh profile. Every request goes through one route: the
report's own URL is fulfilled from memory and anything else is aborted and recorded, so the page
can prove it asks for nothing; Chromium's own traffic is switched off and its host resolver maps
every name to nothing, so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, Route, sync_playwright

import kldrift
from kldrift import historydb as history
from kldrift.report import html
from kldrift.windows import compare_windows

from .test_html import wide_report

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
#: Loopback, and a port nothing listens on: the route answers before any connection is made.
ORIGIN = "http://127.0.0.1:9"
#: The policy Jenkins serves archived artifacts with (no script, no inline style, no data: URL).
JENKINS_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'self';"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
#: Set to write docs/report.png (light) and docs/report-dark.png from the screenshot test.
REGEN_ENV = "KLDRIFT_REGEN_SCREENSHOT"


class Served:
    """What the route serves, and every request it saw."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, dict[str, str]]] = {}
        self.requests: list[str] = []

    def handle(self, route: Route) -> None:
        url = route.request.url
        self.requests.append(url)
        if url in self.pages:
            body, headers = self.pages[url]
            route.fulfill(status=200, body=body, headers=headers)
        else:
            route.abort()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BrowserContext, Served]]:
    served = Served()
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1200, "height": 900},
            service_workers="block",
        )
        context.route("**/*", served.handle)
        try:
            yield context, served
        finally:
            context.close()


@pytest.fixture(scope="session")
def sample_report() -> kldrift.DriftReport:
    """The README's report: sample_data named as the README's command names it."""
    here = Path.cwd()
    os.chdir(ROOT)
    try:
        return kldrift.compare("sample_data/reference.csv", "sample_data/current.csv")
    finally:
        os.chdir(here)


@pytest.fixture(scope="session")
def sample_page(sample_report: kldrift.DriftReport) -> str:
    return html.dumps(sample_report)


def open_report(
    browser: tuple[BrowserContext, Served],
    name: str,
    body: str,
    *,
    csp: str | None = None,
    scheme: str = "light",
) -> tuple[Page, list[str]]:
    """Open `body` served at ORIGIN/name; returns the page and the console errors seen."""
    context, served = browser
    url = f"{ORIGIN}/{name}"
    headers = {"Content-Type": "text/html; charset=utf-8"}
    if csp:
        headers["Content-Security-Policy"] = csp
    served.pages[url] = (body, headers)
    served.requests.clear()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    page.goto(url, wait_until="load")
    return page, errors


def test_page_loads_clean_and_asks_for_nothing_but_itself(browser, sample_page):
    page, errors = open_report(browser, "clean.html", sample_page)
    try:
        page.wait_for_timeout(200)  # late requests (favicon, prefetch) would show up here
        assert errors == []
        assert browser[1].requests == [f"{ORIGIN}/clean.html"]
        assert page.locator("#controls").is_visible()  # the script ran under the page's CSP
        assert "drift" in page.locator("header .verdict").inner_text()
    finally:
        page.close()


def test_sort_filter_and_expand(browser, sample_page):
    page, errors = open_report(browser, "sort.html", sample_page)
    try:
        rows = page.locator("table.cols tbody tr")
        names = page.locator("table.cols tbody tr th")
        page.locator("table.cols thead th", has_text="PSI").locator("button").click()
        ascending = [float(v) for v in rows.evaluate_all(
            "rs => rs.map(r => r.cells[7].getAttribute('data-v'))")]  # fmt: skip
        assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
        page.locator("table.cols thead th", has_text="column").locator("button").click()
        assert names.all_inner_texts() == sorted(names.all_inner_texts(), key=str.lower)

        page.select_option("#f-status", "drift")
        visible = page.locator("table.cols tbody tr:visible th").all_inner_texts()
        assert sorted(visible) == ["country", "income", "latency_ms"]
        assert page.locator("#f-count").inner_text() == "3 of 10 columns shown"
        assert page.locator("details.col:visible").count() == 3
        page.select_option("#f-status", "")
        page.select_option("#f-kind", "categorical")
        page.fill("#f-name", "PLA")
        assert page.locator("table.cols tbody tr:visible th").all_inner_texts() == ["plan"]

        closed = page.locator("details.col:not([open])")
        assert closed.count() > 0
        page.click("#expand")
        assert page.locator("details.col:not([open])").count() == 0
        assert errors == []
    finally:
        page.close()


def test_print_opens_every_section(browser, sample_page):
    page, _ = open_report(browser, "print.html", sample_page)
    try:
        first_ok = page.locator("#ok details.col table").first
        assert not first_ok.is_visible()
        page.emulate_media(media="print")
        assert first_ok.is_visible()
    finally:
        page.close()


def test_jenkins_csp_keeps_charts_sized_and_verdict_visible(browser, sample_page):
    page, _ = open_report(browser, "jenkins.html", sample_page, csp=JENKINS_CSP)
    try:
        assert page.locator("#controls").is_hidden()  # no script ran
        # No inline CSS either: the banner has no coloured border, only the browser's defaults.
        border = page.locator("header").evaluate("e => getComputedStyle(e).borderLeftWidth")
        assert border == "0px"
        verdict = page.locator("header .verdict")
        assert verdict.is_visible() and "✖ drift" in verdict.inner_text()
        charts = page.locator("svg[role=img]:visible")
        assert charts.count() >= 10
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] >= 40 and box["height"] >= 18
        assert browser[1].requests == [f"{ORIGIN}/jenkins.html"]
    finally:
        page.close()


def test_axe_finds_no_violation_in_light_or_dark(browser, sample_page):
    page, _ = open_report(browser, "axe.html", sample_page)
    try:
        page.click("#expand")  # every section's text, table and chart is checked
        axe = Axe()
        page.evaluate(axe.axe_script)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
            results = page.evaluate(AXE_RUN)
            assert results["violations"] == [], scheme
            assert "color-contrast" in results["passes"], scheme
    finally:
        page.close()


#: axe-core over the whole page: the ids of the rules violated, with their first nodes, and passed.
AXE_RUN = """axe.run(document, {resultTypes: ["violations"]}).then(r => ({
  violations: r.violations.map(v => [v.id, v.nodes.slice(0, 3).map(n => n.target)]),
  passes: r.passes.map(p => p.id),
}))"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot_is_not_blank(browser, sample_page, scheme, tmp_path):
    page, _ = open_report(browser, f"shot-{scheme}.html", sample_page, scheme=scheme)
    try:
        png = screenshot(page, tmp_path / "report.png")
        colours = distinct_colours(browser[0], png)
        assert len(colours) > 50  # text, bars in both colours, status colours
        background = (13, 17, 23) if scheme == "dark" else (255, 255, 255)
        assert background in colours
        if os.environ.get(REGEN_ENV):
            suffix = "" if scheme == "light" else "-dark"
            (ROOT / f"docs/report{suffix}.png").write_bytes(png)
    finally:
        page.close()


def test_lean_page_draws_a_chart_when_a_section_opens(browser, sample_report):
    body = html.dumps(wide_report(sample_report, html.LEAN_COLUMNS + 1))
    page, errors = open_report(browser, "lean.html", body)
    try:
        section = page.locator("#ok details.col, #warn details.col").first
        assert section.locator("div.lazy svg").count() == 0
        section.locator("summary").click()
        bars = section.locator("div.lazy svg rect")
        assert bars.count() >= 3 * 3
        assert section.locator("div.lazy table tbody tr").count() * 3 == bars.count()
        box = section.locator("div.lazy svg").bounding_box()
        assert box is not None and box["width"] > 300
        opened = page.locator("details.col[open]").first
        assert opened.locator("div.lazy svg").count() == 1  # open from the start: drawn at load
        assert errors == []
    finally:
        page.close()


def test_windows_and_history_pages_load_clean(browser, sample_report, tmp_path):
    windows = compare_windows(
        ROOT / "sample_data/reference.csv",
        ROOT / "sample_data/current.csv",
        time_column="signup_date",
        every="3mo",
    )
    db = tmp_path / "h.sqlite"
    history.record(db, [dataclasses.replace(sample_report, columns=sample_report.columns[:4])])
    history.record(db, windows)
    pages = [("windows.html", html.dumps_windows(windows), len(windows)),
             ("history.html", html.dumps_history(history.read(db)), 1 + len(windows))]  # fmt: skip
    for name, body, rows in pages:
        page, errors = open_report(browser, name, body)
        try:
            assert errors == []
            assert browser[1].requests == [f"{ORIGIN}/{name}"]
            assert page.locator("table.grid tbody tr").count() == rows
            assert page.locator("header .verdict").is_visible()
        finally:
            page.close()


def screenshot(page: Page, path: Path) -> bytes:
    """The top of the page as PNG (the README's picture comes from here), also saved to `path`."""
    png = page.screenshot(path=str(path), full_page=False)
    return png


def distinct_colours(context: BrowserContext, png: bytes) -> set[tuple[int, int, int]]:
    """The RGB colours of a PNG, decoded by the browser on a blank page of its own."""
    page = context.new_page()
    try:
        packed = page.evaluate(DECODE, base64.b64encode(png).decode())
    finally:
        page.close()
    return {(v >> 16, (v >> 8) & 255, v & 255) for v in packed}


DECODE = """async b64 => {
  const bytes = Uint8Array.from(atob(b64), ch => ch.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], {type: "image/png"}));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext("2d");
  g.drawImage(bitmap, 0, 0);
  const d = g.getImageData(0, 0, bitmap.width, bitmap.height).data, seen = new Set();
  for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  return [...seen];
}"""
