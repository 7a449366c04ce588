"""DriftReport -> one self-contained HTML page: inline SVG, one style block, one small script.

The page loads nothing: no URL but `#fragments`, no fonts, no images, no `style=""`. Its one
style block and one script are allowed by hashes in a CSP meta tag, and everything still reads
where a viewer blocks both (Jenkins serves archived files with `sandbox; default-src 'none'`):
the order, the links, `<details>`, numbers as text, and SVG charts whose sizes and colours are
presentation attributes. The same report gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any, TextIO

from kldrift import jsonvalues
from kldrift.__version__ import __version__
from kldrift.drift import explain
from kldrift.gate import passed
from kldrift.options import Kind, Status
from kldrift.profile import format_value, scored_bins
from kldrift.registry import METRICS, Metric
from kldrift.report import json as json_report
from kldrift.report import relationships
from kldrift.report.text import METRIC_LABELS, column_reason, decision_text, p_value, score
from kldrift.result import ColumnDrift, DriftReport, SchemaChange, Window, plural

if TYPE_CHECKING:
    from kldrift.historydb import ColumnResult, Run

#: Above this many columns the page is lean: per-column charts are drawn by the script, on
#: demand, from the embedded data, which keeps 1,000 columns to a few MB.
LEAN_COLUMNS = 300
#: Status as icon and word (its value), never colour alone.
ICON = {Status.ok: "✔", Status.warn: "▲", Status.drift: "✖"}
#: Okabe-Ito blue and vermillion: a pair colour-blind readers tell apart. Light-scheme values;
#: the style block swaps in lighter ones for dark.
REF, CUR, PART = "#0072b2", "#d55e00", "#7a4a9a"
FG, MUTED, RULE = "#1f2328", "#59636e", "#d1d9e0"
STATUS_FILL = {Status.ok: "#1a7f37", Status.warn: "#9a6700", Status.drift: "#d1242f"}
#: A column's scored bins: labels, reference and current counts, each bin's part of the KL.
ScoredBins = tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...], list[float]]
#: Bins named in a column's one-sentence explanation, at most.
NAMED_BINS = 3

STYLE = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--mu:#59636e;--bd:#d1d9e0;--card:#f6f8fa;
--ref:#0072b2;--cur:#d55e00;--kl:#7a4a9a;--ok:#1a7f37;--warn:#9a6700;--drift:#d1242f}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mu:#9198a1;--bd:#3d444d;
--card:#151b23;--ref:#56b4e9;--cur:#e69f00;--kl:#cc79a7;--ok:#3fb950;--warn:#d29922;
--drift:#ff7b72}}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif}
main,footer{max-width:1100px;margin:0 auto;padding:0 20px}
h1{font-size:1.35rem;margin:.3em 0}h2{font-size:1.15rem;margin:1.6em 0 .5em;
border-bottom:1px solid var(--bd);padding-bottom:.2em}h3{font-size:1rem}
a{color:var(--ref)}.mu{color:var(--mu)}code{font:.9em ui-monospace,monospace}
header.banner{margin:16px max(20px,calc((100% - 1100px)/2)) 0;box-sizing:border-box;
border:1px solid var(--bd);border-left:6px solid var(--ok);
border-radius:6px;background:var(--card);padding:10px 20px}
header.st-warn{border-left-color:var(--warn)}header.st-drift{border-left-color:var(--drift)}
.verdict{font-size:1.2rem;font-weight:600;margin:.2em 0}
.st-ok .icon,td.st-ok,span.st-ok{color:var(--ok)}.st-warn .icon,td.st-warn,span.st-warn{
color:var(--warn)}.st-drift .icon,td.st-drift,span.st-drift{color:var(--drift)}
span.st{font-weight:600;white-space:nowrap}
nav.cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
nav.cards a{display:block;min-width:110px;padding:8px 14px;border:1px solid var(--bd);
border-radius:6px;background:var(--card);color:var(--fg);text-decoration:none}
nav.cards a:hover,nav.cards a:focus{border-color:var(--ref)}
nav.cards b{display:block;font-size:1.5rem}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid var(--bd);text-align:left;vertical-align:middle}
td.n,th.n{text-align:right;white-space:nowrap}thead th{position:sticky;top:0;background:var(--bg)}
.wrap{overflow-x:auto;max-width:100%}table.grid td,table.grid th{white-space:nowrap}
.trends{display:flex;flex-wrap:wrap;gap:8px 28px}.trends section{width:340px}
.trends figure{margin:0}.trends h3{margin:.6em 0 .2em}
button.sort{all:unset;cursor:pointer}button.sort:focus-visible{outline:2px solid var(--ref)}
th[aria-sort=ascending] button.sort::after{content:" ▲"}
th[aria-sort=descending] button.sort::after{content:" ▼"}
#controls{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:8px 0}
#controls[hidden]{display:none}
#controls select,#controls input,#controls button{font:inherit;color:var(--fg);
background:var(--card);border:1px solid var(--bd);border-radius:4px;padding:2px 6px}
details.col{border:1px solid var(--bd);border-radius:6px;margin:8px 0;padding:0 14px}
details.col>summary{cursor:pointer;padding:8px 0;font-weight:600}
details.col[open]>summary{border-bottom:1px solid var(--bd);margin-bottom:8px}
svg{max-width:100%;height:auto;overflow:visible}
svg text{fill:var(--fg);font:12px system-ui,sans-serif}svg .mu{fill:var(--mu)}
svg .ref{fill:var(--ref)}svg .cur{fill:var(--cur)}svg .kl{fill:var(--kl)}
svg .lref{stroke:var(--ref)}svg .lcur{stroke:var(--cur)}svg .ax{stroke:var(--bd)}
svg .lv{stroke:var(--mu)}svg .fl{stroke:var(--fg)}
svg .s-ok{fill:var(--ok)}svg .s-warn{fill:var(--warn)}svg .s-drift{fill:var(--drift)}
.key{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 .8em;border-radius:2px}
.key.ref{background:var(--ref)}.key.cur{background:var(--cur)}.key.kl{background:var(--kl)}
figure{margin:10px 0}figcaption{color:var(--mu);font-size:.9em}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dl.kv dd{margin:0}
footer{color:var(--mu);font-size:.9em;margin:30px auto}
@media print{#controls{display:none}details.col{break-inside:avoid}
details::details-content{content-visibility:visible;display:block}}
"""

SCRIPT = """
(function(){"use strict";var d=document,A=Array.prototype.slice;
function all(s,r){return A.call((r||d).querySelectorAll(s));}
function key(c){var v=c.getAttribute("data-v");if(v===null)return c.textContent.toLowerCase();
return v==="inf"?Infinity:parseFloat(v);}
all("table.sortable").forEach(function(t){all("thead th",t).forEach(function(th,i){
var b=d.createElement("button");b.type="button";b.className="sort";
while(th.firstChild)b.appendChild(th.firstChild);th.appendChild(b);
b.addEventListener("click",function(){var up=th.getAttribute("aria-sort")!=="ascending";
all("thead th",t).forEach(function(h){h.removeAttribute("aria-sort");});
th.setAttribute("aria-sort",up?"ascending":"descending");var body=t.tBodies[0];
A.call(body.rows).sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]);
return (x<y?-1:x>y?1:0)*(up?1:-1);}).forEach(function(r){body.appendChild(r);});});});});
var ctl=d.getElementById("controls");
if(ctl){ctl.hidden=false;var f=function(id){return d.getElementById(id);};
var run=function(){var s=f("f-status").value,k=f("f-kind").value,
n=f("f-name").value.toLowerCase(),shown=0,rows=all("tr[data-name]");
all("[data-name]").forEach(function(e){var ok=(!s||e.getAttribute("data-status")===s)&&
(!k||e.getAttribute("data-kind")===k)&&e.getAttribute("data-name").toLowerCase().indexOf(n)>=0;
e.hidden=!ok;if(ok&&e.tagName==="TR")shown++;});
f("f-count").textContent=shown+" of "+rows.length+" columns shown";};
["f-status","f-kind","f-name"].forEach(function(id){f(id).addEventListener("input",run);});
f("expand").addEventListener("click",function(){all("details").forEach(function(e){
e.open=true;});});f("collapse").addEventListener("click",function(){all("details").forEach(
function(e){e.open=false;});});}
addEventListener("beforeprint",function(){all("details").forEach(function(e){e.open=true;});});
var bins=d.getElementById("kldrift-bins");if(!bins)return;var B=JSON.parse(bins.textContent),
NS="http://www.w3.org/2000/svg";
function el(n,a,p){var e=d.createElementNS(NS,n);for(var k in a)e.setAttribute(k,a[k]);
if(p)p.appendChild(e);return e;}
function text(s,a,p){var e=el("text",a,p);e.textContent=s;return e;}
function pc(v){return isFinite(v)?(100*v).toFixed(1)+"%":"\u2013";}
function draw(box){var c=B[box.getAttribute("data-col")],L=c[0],R=c[1],C=c[2],
P=c[3].map(function(v){return v==="inf"?Infinity:v;}),n=L.length,h=22*n+30,
top=Math.max.apply(null,R.concat(C,[1e-12])),
kl=P.filter(isFinite).reduce(function(a,b){return a+b;},0)||1,
s=el("svg",{width:640,height:h,viewBox:"0 0 640 "+h,role:"img",
"aria-label":"Reference and current share per bin and each bin's part of the KL"},box);
text("share of rows",{x:160,y:12,"class":"mu",fill:"#59636e"},s);
text("part of the KL",{x:520,y:12,"class":"mu",fill:"#59636e"},s);
for(var i=0;i<n;i++){var y=20+22*i;
text(L[i].length>22?L[i].slice(0,21)+"\\u2026":L[i],{x:152,y:y+14,"text-anchor":"end",
fill:"#1f2328"},s);
el("rect",{x:160,y:y+2,width:Math.max(240*R[i]/top,.5),height:8,"class":"ref",
fill:"#0072b2"},s);el("rect",{x:160,y:y+11,width:Math.max(240*C[i]/top,.5),height:8,
"class":"cur",fill:"#d55e00"},s);text((100*R[i]).toFixed(1)+"% \u2192 "+(100*C[i]).toFixed(1)
+"%",{x:408,y:y+14,"class":"mu",fill:"#59636e"},s);var w=isFinite(P[i])?P[i]/kl:1;
el("rect",{x:520,y:y+4,width:Math.max(80*w,.5),height:12,"class":"kl",fill:"#7a4a9a"},s);
text((100*w).toFixed(0)+"%",{x:606,y:y+14,fill:"#1f2328"},s);}
var t=d.createElement("table"),cap=t.createCaption(),hr=t.createTHead().insertRow(),
tb=t.createTBody();cap.className="mu";cap.textContent="Bins: share of each side and "+
"each bin's part of the KL";["bin","ref. share","cur. share","of KL"].forEach(function(x,j){
var th=d.createElement("th");th.scope="col";th.className=j?"n":"";th.textContent=x;
hr.appendChild(th);});for(i=0;i<n;i++){var r=tb.insertRow(),th=d.createElement("th");
th.scope="row";th.textContent=L[i];r.appendChild(th);[R[i],C[i],isFinite(P[i])?P[i]/kl:NaN]
.forEach(function(v){var td=r.insertCell();td.className="n";td.textContent=pc(v);});}
box.appendChild(t);}
all("details.col").forEach(function(e){e.addEventListener("toggle",function(){
var box=e.querySelector("div.lazy");if(e.open&&box&&!box.firstChild)draw(box);});
if(e.open)e.dispatchEvent(new Event("toggle"));});})();
"""


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


#: The page's own policy: its style block and script by hash, nothing else from anywhere.
CSP = (
    f"default-src 'none'; style-src 'sha256-{_sha256(STYLE)}'; "
    f"script-src 'sha256-{_sha256(SCRIPT)}'; img-src 'none'; base-uri 'none'; form-action 'none'"
)


def dumps(report: DriftReport) -> str:
    """The report as one HTML page."""
    lean = len(report.columns) > LEAN_COLUMNS
    bins = {c.name: _scored(report, c) for c in report.columns}
    by_effect = _most_drifted(report)
    ids = {c.name: f"c{i}" for i, c in enumerate(report.columns)}
    verdict = report.verdict
    skipped = [s for s in report.schema if s.skipped]
    changes = [s for s in report.schema if not s.skipped]
    counts = [
        (len(report.drifted_columns), "drifted", "#drift", Status.drift),
        (len(report.warned_columns), "warned", "#warn", Status.warn),
        (len(report.columns) - len(report.drifted_columns) - len(report.warned_columns),
         "ok", "#ok", Status.ok),
        (len(changes), plural(len(changes), "schema change"), "#schema", None),
        (len(skipped), "skipped", "#skipped", None),
    ]  # fmt: skip
    gate = "passed" if verdict.passed else "failed"
    banner = [
        f'<p class="verdict">{_status(report.status)} · gate {gate}</p>',
        f"<h1>kldrift: {_e(report.summary)}</h1>",
        f"<p><strong>Gate {gate}</strong> (rule <code>{_e(verdict.rule)}</code>): "
        f"{_e(verdict.reason)}.</p>",
        '<dl class="kv">',
        f"<dt>Reference</dt><dd><code>{_e(report.reference)}</code> "
        f"({report.reference_rows:,} rows)</dd>",
        f"<dt>Current</dt><dd><code>{_e(report.current)}</code> "
        f"({report.current_rows:,} rows)</dd>",
        "</dl>",
        f"<p>{_e(decision_text(report))} KL = D(reference ‖ current) in "
        f"{_e(report.options.unit)}; noise floor = the KL that sampling alone gives at these "
        "sizes.</p>",
    ]
    body = [
        _cards(counts),
        '<h2 id="overview">Effect size by column</h2>',
        _overview(report, by_effect),
        '<h2 id="columns">Columns</h2>',
        _controls(report),
        _column_table(report, by_effect, ids, histograms=not lean),
    ]
    for status, title in [
        (Status.drift, "Drifted columns"),
        (Status.warn, "Warned columns"),
        (Status.ok, "Columns without drift"),
    ]:
        group = [c for c in by_effect if c.status is status]
        body.append(f'<section id="{status.value}" aria-labelledby="h-{status.value}">')
        body.append(f'<h2 id="h-{status.value}">{title} ({len(group)})</h2>')
        body += [_column_section(report, c, ids[c.name], bins[c.name], lean) for c in group]
        if not group:
            body.append('<p class="mu">None.</p>')
        body.append("</section>")
    if report.pairs:
        body += _relationships(report)
    body += _schema_sections(changes, skipped)
    body += _options(report)
    data: list[tuple[str, Any]] = [("kldrift-report", json_report.document(report))]
    if lean:
        data.append(("kldrift-bins", [_lean_bins(*bins[c.name]) for c in report.columns]))
    title = f"kldrift: {report.summary}"
    return _page(title, report.status, banner, body, data)


def write(report: DriftReport, out: TextIO) -> None:
    """Write the HTML page to `out`."""
    out.write(dumps(report))


def dumps_windows(windows: Sequence[DriftReport]) -> str:
    """Per-window comparisons as one HTML page: a windows x columns status grid, then each
    window's column table."""
    from kldrift.report import windows as window_report

    first = windows[0]
    overall = _worst(w.status for w in windows)
    worst: dict[str, float] = {}
    for w in windows:
        for c in w.columns:
            worst[c.name] = max(worst.get(c.name, -1.0), _effect(w, c))
    names = sorted(worst, key=lambda n: (-worst[n], n))
    gate = "passed" if passed(windows) else "failed"
    banner = [
        f'<p class="verdict">{_status(overall)} · gate {gate}</p>',
        f"<h1>kldrift: {_e(window_report.summary(windows))}</h1>",
        '<dl class="kv">',
        f"<dt>Reference</dt><dd><code>{_e(first.reference)}</code> "
        f"({first.reference_rows:,} rows)</dd>",
        f"<dt>Current</dt><dd><code>{_e(first.current)}</code> "
        f"({sum(w.current_rows for w in windows):,} rows in {len(windows)} "
        f"{plural(len(windows), 'window')})</dd>",
        "</dl>",
        f"<p>{_e(decision_text(first))} Each window is compared with the whole reference.</p>",
    ]
    by_status = {s: sum(w.status is s for w in windows) for s in Status}
    counts = [
        (by_status[s], f"{plural(by_status[s], 'window')} {label}", "#windows", s)
        for s, label in ((Status.drift, "drifted"), (Status.warn, "warned"), (Status.ok, "ok"))
    ]
    head = "".join(f'<th scope="col">{_e(n)}</th>' for n in names)
    rows = []
    spans = [w.window or Window("", "") for w in windows]
    for i, w in enumerate(windows):
        cols = {c.name: c for c in w.columns}
        cells = "".join(_grid_cell(cols.get(n), w) for n in names)
        rows.append(
            f'<tr><th scope="row"><a href="#w{i}">{_e(spans[i].start)}</a></th>'
            f'<td class="n">{w.current_rows:,}</td>'
            f'<td class="st-{w.status.value}">{_status(w.status)}</td>{cells}</tr>'
        )
    body = [
        _cards(counts),
        '<h2 id="windows">Windows × columns</h2>',
        f'<p class="mu">Each cell: the column\'s status and {_effect_label(first)} in that '
        "window; columns most drifted (in their worst window) first.</p>",
        '<div class="wrap" role="region" aria-label="Windows by columns" tabindex="0">'
        '<table class="grid"><thead><tr><th scope="col">window start</th>'
        f'<th scope="col" class="n">rows</th><th scope="col">status</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>",
        '<h2 id="details">Windows</h2>',
    ]
    for i, w in enumerate(windows):
        is_open = " open" if w.status is not Status.ok else ""
        body.append(
            f'<details class="col" id="w{i}"{is_open}><summary>{_status(w.status)} '
            f"{_e(spans[i].start)} – {_e(spans[i].end)}: {_e(w.summary)}</summary>"
        )
        body.append(_column_table(w, _most_drifted(w), {}, histograms=False))
        body.append("</details>")
    structural = [s for s in first.schema if s.change not in _PER_WINDOW]
    body += _schema_sections(
        [s for s in structural if not s.skipped], [s for s in structural if s.skipped]
    )
    body += _options(first)
    data = [("kldrift-windows", window_report.document(windows))]
    return _page(f"kldrift: {window_report.summary(windows)}", overall, banner, body, data)


def write_windows(windows: Sequence[DriftReport], out: TextIO) -> None:
    """Write the per-window HTML page to `out`."""
    out.write(dumps_windows(windows))


def dumps_history(runs: Sequence[Run]) -> str:
    """Recorded runs as one HTML page: a runs x columns status grid and a trend per column."""
    from kldrift.report import history as history_report

    names = sorted({c.name for run in runs for c in run.columns})
    latest = Status(runs[-1].status) if runs else Status.ok
    # Each run's scores are those its levels apply to: the metric it decided by.
    metrics = sorted({METRICS[Metric(run.metric)].label for run in runs})
    label = metrics[0] if len(metrics) == 1 else "the decision metric (" + ", ".join(metrics) + ")"
    unit = "" if all(METRICS[Metric(r.metric)].unit == "none" for r in runs) else " (nats)"
    banner = [
        f'<p class="verdict">{_status(latest)} in the latest run</p>',
        f"<h1>kldrift history: {len(runs)} run{'' if len(runs) == 1 else 's'}, "
        f"{len(names)} columns</h1>",
    ]
    if runs:
        banner.append(
            f"<p>From {_e(_when(runs[0]))} to {_e(_when(runs[-1]))} UTC. Latest: "
            f"<code>{_e(runs[-1].current)}</code> against <code>{_e(runs[-1].reference)}</code>"
            f": {_e(runs[-1].summary)}.</p>"
        )
    counts = [
        (sum(r.status == s.value for r in runs), f"runs {s.value}", "#runs", s)
        for s in (Status.drift, Status.warn, Status.ok)
    ]
    head = "".join(f'<th scope="col">{_e(n)}</th>' for n in names)
    rows = []
    for run in runs:
        cols = {c.name: c for c in run.columns}
        cells = [
            _run_cell(c.status, run.decision_score(c)) if c else '<td class="mu">–</td>'
            for c in (cols.get(name) for name in names)
        ]
        window = f" {_e(run.window_start)}" if run.window_start else ""
        st = Status(run.status)
        rows.append(
            f'<tr><th scope="row">{run.id}</th><td>{_e(_when(run))}'
            f"{window}</td><td><code>{_e(run.current)}</code></td>"
            f'<td class="st-{st.value}">{_status(st)}</td>{"".join(cells)}</tr>'
        )
    body = [
        _cards(counts),
        '<h2 id="runs">Runs × columns</h2>',
        f'<p class="mu">Each cell: the column\'s status and {_e(label)}{unit} in that run, '
        "oldest run first.</p>",
        '<div class="wrap" role="region" aria-label="Runs by columns" tabindex="0">'
        '<table class="grid sortable"><thead><tr><th scope="col">run</th>'
        '<th scope="col">time (UTC)</th><th scope="col">current</th><th scope="col">status</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>",
        '<h2 id="trends">Trend per column</h2>',
        f'<p class="mu">{_e(label)}{unit} per run, oldest first, with the column\'s warn and '
        "drift levels (dashed); each point is coloured and shaped by that run's status.</p>",
    ]
    body.append('<div class="trends">')
    for name in names:
        results = [next((c for c in run.columns if c.name == name), None) for run in runs]
        trend = _trend(name, runs, results, label)
        body.append(f"<section><h3>{_e(name)}</h3>{trend}</section>")
    body.append("</div>")
    if any(run.pairs for run in runs):
        body += _pair_history(runs)
    data = [("kldrift-history", history_report.document(runs))]
    return _page("kldrift history", latest, banner, body, data)


def _run_cell(status: str, value: float | None) -> str:
    """A cell of a runs grid: the status and score (if recorded), sortable by the score."""
    st = Status(status)
    if value is None:
        return f'<td class="st-{st.value}">{_status(st)}</td>'
    return f'<td class="st-{st.value}" data-v="{_num(value)}">{_status(st)} {score(value)}</td>'


def _pair_history(runs: Sequence[Run]) -> list[str]:
    """Runs x column pairs: each pair's status and relationship score, and its latest cells."""
    names = sorted({p.name for run in runs for p in run.pairs})
    head = "".join(f'<th scope="col">{_e(n)}</th>' for n in names)
    rows = []
    for run in runs:
        scored = {p.name: p for p in run.pairs}
        cells = [
            _run_cell(p.status, p.relationship) if p else '<td class="mu">–</td>'
            for p in (scored.get(name) for name in names)
        ]
        rows.append(f'<tr><th scope="row">{run.id}</th>{"".join(cells)}</tr>')
    latest = [p for p in runs[-1].pairs if p.status != Status.ok.value]
    moved = "".join(
        f"<li><strong>{_e(p.name)}</strong>: {_e('; '.join(p.cells))}</li>" for p in latest
    )
    return [
        '<h2 id="pairs">Runs × column pairs</h2>',
        '<p class="mu">Each cell: the pair\'s status and relationship score in that run.</p>',
        '<div class="wrap" role="region" aria-label="Runs by column pairs" tabindex="0">'
        '<table class="grid sortable"><thead><tr><th scope="col">run</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>",
        f"<ul>{moved}</ul>"
        if moved
        else '<p class="mu">No pair drifted or warned in the latest run.</p>',
    ]


def write_history(runs: Sequence[Run], out: TextIO) -> None:
    """Write the history HTML page to `out`."""
    out.write(dumps_history(runs))


_PER_WINDOW = ("null_rate_changed", "new_categories", "gone_categories")


def _page(
    title: str,
    status: Status,
    banner: list[str],
    body: list[str],
    data: list[tuple[str, Any]],
) -> str:
    blocks = "".join(
        f'<script type="application/json" id="{name}">{_json(value)}</script>\n'
        for name, value in data
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f'<header class="banner st-{status.value}">\n' + "\n".join(banner) + "\n</header>\n"
        "<main>\n" + "\n".join(body) + "\n</main>\n"
        f"<footer>kldrift {_e(__version__)} · a self-contained page: it loads nothing.</footer>\n"
        f"{blocks}<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _cards(counts: Sequence[tuple[int, str, str, Status | None]]) -> str:
    cards = "".join(
        f'<a href="{href}"{f" class=st-{st.value}" if st else ""}><b>{n:,}</b>'
        f"{f'<span class=icon>{ICON[st]}</span> ' if st else ''}{_e(label)}</a>"
        for n, label, href, st in counts
    )
    return f'<nav class="cards" aria-label="Counts">{cards}</nav>'


def _overview(report: DriftReport, columns: Sequence[ColumnDrift]) -> str:
    """One bar per column (most drifted first) against the warn and drift levels."""
    if not columns:
        return '<p class="mu">No column was compared.</p>'
    metric, base = report.thresholds.metric, report.options.base
    levels = [level for c in columns for level in (c.warn, c.threshold)]
    finite = [e for e in (_effect(report, c) for c in columns) if math.isfinite(e)]
    top_level = max(levels)
    # Wide enough for every level; a column far beyond them is cut and marked, so it does not
    # flatten all the others.
    scale = max(1.25 * top_level, min(max(finite, default=0.0), 5 * top_level))
    label_w, bar_w, row = 190, 520, 20
    height = row * len(columns) + 34
    x = _scaler(0, scale, label_w, label_w + bar_w)
    parts = [
        _svg_open(
            label_w + bar_w + 110,
            height,
            f"Effect size ({_effect_label(report)}) per column, most drifted first",
        )
    ]
    show_floor = metric is Metric.kl
    for i, c in enumerate(columns):
        y = 24 + i * row
        effect = _effect(report, c)
        cut = not math.isfinite(effect) or effect > scale
        st = c.status.value
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end" fill="{FG}">'
            f"{_e(_clip(c.name, 26))}<title>{_e(c.name)}</title></text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{_f(max(x(min(effect, scale)) - label_w, 1))}"'
            f' height="13" class="s-{st}" fill="{STATUS_FILL[c.status]}"/>'
            f'<text x="{_f(x(min(effect, scale)) + 5)}" y="{y + 13}" fill="{FG}">'
            f"{score(effect)}{' »' if cut else ''} {ICON[c.status]}</text>"
        )
        for level in (c.warn, c.threshold):
            parts.append(_vline(x(level), y, y + row, "lv", MUTED, dashed=True))
        if show_floor and c.noise_floor:
            parts.append(_vline(x(min(c.noise_floor * math.log(base), scale)), y + 1, y + 18,
                                "fl", FG))  # fmt: skip
    tw, td = report.thresholds.warn_level, report.thresholds.drift_level
    parts.append(
        # Anchored away from each other: the warn level sits just left of the drift level, often
        # only a few pixels apart on the chart's scale, so centred labels would overprint.
        f'<text x="{_f(x(tw) - 2)}" y="14" text-anchor="end" class="mu" fill="{MUTED}">warn {tw:g}'
        f'</text><text x="{_f(x(td) + 2)}" y="14" text-anchor="start" class="mu" fill="{MUTED}">'
        f"drift {td:g}</text></svg>"
    )
    note = (
        "; the short solid tick is the noise floor, the KL sampling alone gives at these sizes"
        if show_floor
        else ""
    )
    return (
        '<figure><div class="wrap" role="region" aria-label="Effect size overview" tabindex="0">'
        + "".join(parts)
        + f"</div><figcaption>{_e(_effect_label(report))} per column; dashed lines: the warn "
        f"and drift levels{note}; » marks a bar cut at the chart's edge.</figcaption></figure>"
    )


def _controls(report: DriftReport) -> str:
    kinds = sorted({c.kind.value for c in report.columns})
    status = "".join(f'<option value="{s.value}">{s.value}</option>' for s in Status)
    kind = "".join(f'<option value="{k}">{k}</option>' for k in kinds)
    return (
        '<div id="controls" hidden>'
        f'<label>Status <select id="f-status"><option value="">all</option>{status}</select>'
        f'</label><label>Kind <select id="f-kind"><option value="">all</option>{kind}</select>'
        '</label><label>Name <input id="f-name" type="search"></label>'
        '<button type="button" id="expand">Expand all</button>'
        '<button type="button" id="collapse">Collapse all</button>'
        '<span id="f-count" class="mu" aria-live="polite"></span></div>'
    )


def _column_table(
    report: DriftReport,
    columns: Sequence[ColumnDrift],
    ids: dict[str, str],  # column -> id of its section, for the names that have one
    *,
    histograms: bool,
) -> str:
    heads = [
        ("column", ""), ("status", ""), ("kind", ""), (_effect_label(report), "n"), ("KL", "n"),
        ("noise floor", "n"), ("p adj.", "n"), ("PSI", "n"), ("JS", "n"), ("Hellinger", "n"),
        ("null ref.", "n"), ("null cur.", "n"),
    ]  # fmt: skip
    if histograms:
        heads.append(("histogram", ""))
    head = "".join(f'<th scope="col"{f" class={k}" if k else ""}>{_e(h)}</th>' for h, k in heads)
    rows = []
    for c in columns:
        name = f'<a href="#{ids[c.name]}">{_e(c.name)}</a>' if ids.get(c.name) else _e(c.name)
        numbers = [
            _effect(report, c), c.kl, c.noise_floor, c.p_adjusted, c.psi, c.js_divergence,
            c.hellinger, c.null_share_reference, c.null_share_current,
        ]  # fmt: skip
        shown = [score(v) for v in numbers[:3]] + [p_value(c.p_adjusted)]
        shown += [score(v) for v in numbers[4:7]] + [f"{v:.1%}" for v in numbers[7:]]
        cells = "".join(
            f'<td class="n" data-v="{_num(v)}">{s}</td>'
            for v, s in zip(numbers, shown, strict=True)
        )
        rank = {Status.ok: 0, Status.warn: 1, Status.drift: 2}[c.status]
        rows.append(
            f'<tr data-name="{_e(c.name)}" data-status="{c.status.value}" '
            f'data-kind="{c.kind.value}"><th scope="row">{name}</th>'
            f'<td class="st-{c.status.value}" data-v="{rank}">{_status(c.status)}</td>'
            f"<td>{c.kind.value}</td>{cells}"
            + (f"<td>{_spark(c)}</td>" if histograms else "")
            + "</tr>"
        )
    return (
        '<div class="wrap" role="region" aria-label="Column table" tabindex="0">'
        f'<table class="cols sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _column_section(
    report: DriftReport, c: ColumnDrift, cid: str, bins: ScoredBins, lean: bool
) -> str:
    labels, ref, cur, parts = bins
    is_open = " open" if c.status is not Status.ok else ""
    head = (
        f'<details class="col" id="{cid}" data-name="{_e(c.name)}" '
        f'data-status="{c.status.value}" data-kind="{c.kind.value}"{is_open}>'
        f"<summary>{_status(c.status)} {_e(c.name)} "
        f'<span class="mu">{c.kind.value} · {_e(c.dtype)} · {_e(_effect_label(report))} '
        f"{score(_effect(report, c))}</span></summary>"
    )
    body = [
        head,
        f"<p>{_e(_decision_sentence(report, c))}</p>",
        f"<p>{_e(_bins_sentence(c, labels, parts))}</p>",
    ]
    key = (
        '<p class="mu" aria-hidden="true"><span class="key ref"></span>reference'
        '<span class="key cur"></span>current<span class="key kl"></span>part of the KL</p>'
    )
    if lean:
        # The script draws the chart and the bin table when the section opens.
        body.append(f'{key}<div class="lazy" data-col="{cid[1:]}"></div>')
    else:
        body.append(key + _bins_chart(labels, ref, cur, parts))
        density = _density(c)
        if density:
            body.append(density)
        body.append(_bins_table(report, labels, ref, cur, parts))
    body.append("</details>")
    return "\n".join(body)


def _scored(report: DriftReport, c: ColumnDrift) -> ScoredBins:
    """The bins the score uses, both histograms on them, and each bin's non-negative part of
    the KL (0 for bins empty on both sides), from `drift.explain`."""
    labels, ref, cur = scored_bins(c.binning, c.reference_counts, c.current_counts)
    found = {b.label: b.contribution for b in explain(c, report.options)}
    return labels, ref, cur, [found.get(label, 0.0) for label in labels]


def _decision_sentence(report: DriftReport, c: ColumnDrift) -> str:
    reason = column_reason(report, c)
    if c.status is Status.drift:
        return f"Drift: {reason}."
    if c.status is Status.warn:
        return f"Warn: {reason}."
    if " but " in reason:
        return f"Ok, kept so by the significance gate: {reason}."
    return f"Ok: {reason}."


def _bins_sentence(c: ColumnDrift, labels: Sequence[str], parts: Sequence[float]) -> str:
    if math.isinf(c.kl):
        empty = [lab for lab, p in zip(labels, parts, strict=True) if math.isinf(p)]
        return (
            f"KL is infinite: {_quote(empty)} {'has' if len(empty) == 1 else 'have'} "
            "reference rows and no current rows (no smoothing)."
        )
    total = sum(parts)
    if total <= 0:
        return "Both histograms are the same: no bin carries any KL."
    ranked = sorted(range(len(parts)), key=lambda i: -parts[i])
    named: list[int] = []
    for i in ranked[:NAMED_BINS]:
        named.append(i)
        if sum(parts[j] for j in named) >= 0.8 * total:
            break
    share = sum(parts[j] for j in named) / total
    items = ", ".join(f"{_q(labels[i])} ({parts[i] / total:.0%})" for i in named)
    verb = "carries" if len(named) == 1 else "carry"
    return f"{len(named)} of {len(labels)} bins {verb} {share:.0%} of the KL: {items}."


def _bins_chart(
    labels: Sequence[str], ref: Sequence[int], cur: Sequence[int], parts: Sequence[float]
) -> str:
    """Reference and current share per bin (two bars) and each bin's share of the KL."""
    p, q = _shares(ref), _shares(cur)
    top = max([*p, *q, 1e-12])
    finite = sum(v for v in parts if math.isfinite(v)) or 1.0
    height = 22 * len(labels) + 30
    out = [
        _svg_open(640, height, "Reference and current share per bin and each bin's part of the KL"),
        f'<text x="160" y="12" class="mu" fill="{MUTED}">share of rows</text>'
        f'<text x="520" y="12" class="mu" fill="{MUTED}">part of the KL</text>',
    ]
    for i, label in enumerate(labels):
        y = 20 + 22 * i
        share = 1.0 if math.isinf(parts[i]) else parts[i] / finite
        out.append(
            f'<text x="152" y="{y + 14}" text-anchor="end" fill="{FG}">{_e(_clip(label, 22))}'
            f"<title>{_e(label)}</title></text>"
            f'<rect x="160" y="{y + 2}" width="{_f(max(240 * p[i] / top, 0.5))}" height="8" '
            f'class="ref" fill="{REF}"/><rect x="160" y="{y + 11}" '
            f'width="{_f(max(240 * q[i] / top, 0.5))}" height="8" class="cur" fill="{CUR}"/>'
            f'<text x="408" y="{y + 14}" class="mu" fill="{MUTED}">{p[i]:.1%} → {q[i]:.1%}</text>'
            f'<rect x="520" y="{y + 4}" width="{_f(max(80 * share, 0.5))}" height="12" '
            f'class="kl" fill="{PART}"/><text x="606" y="{y + 14}" fill="{FG}">{share:.0%}</text>'
        )
    out.append("</svg>")
    return f"<figure>{''.join(out)}</figure>"


def _density(c: ColumnDrift) -> str:
    """Density of both sides on the real value axis: steps over quantile bins, stems for
    discrete values. Only for numeric columns; the open-ended outer bins have no width."""
    b = c.binning
    if c.kind is not Kind.numeric:
        return ""
    w, h, left, bottom = 640, 170, 50, 140
    if b.method == "quantile" and len(b.edges) >= 2:
        edges = list(b.edges)
        inner = slice(1, len(edges))  # bins between consecutive edges
        p, q = _shares(c.reference_counts), _shares(c.current_counts)
        widths = [hi - lo for lo, hi in zip(edges, edges[1:], strict=False)]
        dens = [
            [s / wd if wd > 0 else 0.0 for s, wd in zip(side[inner], widths, strict=True)]
            for side in (p, q)
        ]
        peak = max([*dens[0], *dens[1], 1e-300])
        x = _scaler(edges[0], edges[-1], left, w - 20)

        def path(values: list[float]) -> str:
            y = [bottom - 120 * v / peak for v in values]
            points = [f"M{_f(x(edges[0]))},{bottom}"]
            for i, v in enumerate(y):
                points.append(f"L{_f(x(edges[i]))},{_f(v)}L{_f(x(edges[i + 1]))},{_f(v)}")
            points.append(f"L{_f(x(edges[-1]))},{bottom}")
            return "".join(points)

        shapes = (
            f'<path d="{path(dens[0])}" fill="none" stroke="{REF}" stroke-width="2" class="lref"/>'
            f'<path d="{path(dens[1])}" fill="none" stroke="{CUR}" stroke-width="2" '
            f'stroke-dasharray="5 3" class="lcur"/>'
        )
        lo, hi = edges[0], edges[-1]
        caption = (
            "Density (share per unit) between the first and last bin edges; reference solid, "
            f"current dashed. Outside: {p[0]:.1%} → {q[0]:.1%} below {format_value(lo, None)}, "
            f"{p[len(edges)]:.1%} → {q[len(edges)]:.1%} above {format_value(hi, None)}."
        )
    elif b.method == "discrete" and b.values:
        values = [float(v) for v in b.values]
        p, q = _shares(c.reference_counts), _shares(c.current_counts)
        lo, hi = min(values), max(values)
        if hi == lo:
            return ""
        peak = max([*p[: len(values)], *q[: len(values)], 1e-300])
        x = _scaler(lo, hi, left + 10, w - 30)
        stems = []
        for i, v in enumerate(values):
            for side, shift, colour, cls in ((p, -2, REF, "lref"), (q, 2, CUR, "lcur")):
                y = bottom - 120 * side[i] / peak
                stems.append(
                    f'<line x1="{_f(x(v) + shift)}" x2="{_f(x(v) + shift)}" y1="{bottom}" '
                    f'y2="{_f(y)}" stroke="{colour}" stroke-width="3" class="{cls}"/>'
                )
        shapes = "".join(stems)
        caption = (
            "Share of rows at each value, on the value axis: reference left, current right of "
            "each pair."
        )
    else:
        return ""
    axis = (
        f'<line x1="{left}" x2="{w - 20}" y1="{bottom}" y2="{bottom}" class="ax" stroke="{RULE}"/>'
    )
    ticks = "".join(
        f'<text x="{_f(x(v))}" y="{bottom + 16}" text-anchor="middle" fill="{FG}">'
        f"{_e(format_value(v, None))}</text>"
        for v in _ticks(lo, hi)
    )
    svg = _svg_open(w, h, f"Density of {c.name} on its value axis, reference and current")
    caption = f"<figcaption>{_e(caption)}</figcaption>"
    return f"<figure>{svg}{axis}{shapes}{ticks}</svg>{caption}</figure>"


def _bins_table(
    report: DriftReport,
    labels: Sequence[str],
    ref: Sequence[int],
    cur: Sequence[int],
    parts: Sequence[float],
) -> str:
    p, q = _shares(ref), _shares(cur)
    finite = sum(v for v in parts if math.isfinite(v)) or 1.0
    rows = "".join(
        f"<tr><th scope=row>{_e(label)}</th><td class=n>{r:,}</td><td class=n>{pi:.1%}</td>"
        f"<td class=n>{k:,}</td><td class=n>{qi:.1%}</td><td class=n>{score(part)}</td>"
        f"<td class=n>{'–' if math.isinf(part) else f'{part / finite:.1%}'}</td></tr>"
        for label, r, pi, k, qi, part in zip(labels, ref, p, cur, q, parts, strict=True)
    )
    unit = _e(report.options.unit)
    return (
        "<table><caption class=mu>Bins: rows and shares of each side, and each bin's part of "
        f"the KL ({unit})</caption><thead><tr><th scope=col>bin</th><th scope=col class=n>ref. "
        "rows</th><th scope=col class=n>ref. share</th><th scope=col class=n>cur. rows</th>"
        "<th scope=col class=n>cur. share</th><th scope=col class=n>KL part</th>"
        f"<th scope=col class=n>of KL</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _relationships(report: DriftReport) -> list[str]:
    """The pairs that drifted or warn, with the cells that carry their relationship score."""
    out = [
        '<h2 id="relationships">Relationships</h2>',
        f"<p>{_e(report.pairs_summary)}. In {_e(report.options.unit)}; "
        f"{_e(relationships.CAPTION)}</p>",
    ]
    shown = relationships.flagged(report)
    if not shown:
        out.append('<p class="mu">No pair drifted or warned.</p>')
        return out
    out.append(
        "<table><thead><tr><th scope=col>pair</th>"
        "<th scope=col>relationship</th><th scope=col>noise</th><th scope=col>p adj.</th>"
        "<th scope=col>status</th><th scope=col>cells that moved most</th></tr></thead><tbody>"
        + "".join(
            f"<tr><th scope=row>{_e(p.name)}</th>"
            f"<td>{score(p.relationship)}</td><td>{score(p.noise_floor.relationship)}</td>"
            f"<td>{p_value(p.p_adjusted)}</td><td>{_status(p.status)}</td>"
            f"<td>{'<br>'.join(_e(c) for c in relationships.cells(p))}</td></tr>"
            for p in shown
        )
        + "</tbody></table>"
    )
    return out


def _schema_sections(changes: Sequence[SchemaChange], skipped: Sequence[SchemaChange]) -> list[str]:
    out = ['<h2 id="schema">Schema changes</h2>']
    if changes:
        out.append(
            "<table><thead><tr><th scope=col>column</th><th scope=col>change</th>"
            "<th scope=col>counts as drift</th></tr></thead><tbody>"
            + "".join(
                f"<tr><th scope=row>{_e(s.column)}</th><td>{_e(s.description)}</td>"
                f"<td>{'yes' if s.breaking else 'no'}</td></tr>"
                for s in changes
            )
            + "</tbody></table>"
        )
    else:
        out.append('<p class="mu">None.</p>')
    out.append('<h2 id="skipped">Skipped columns</h2>')
    if skipped:
        out.append(
            "<table><thead><tr><th scope=col>column</th><th scope=col>reason</th></tr></thead>"
            "<tbody>"
            + "".join(
                f"<tr><th scope=row>{_e(s.column)}</th>"
                f"<td>{_e(s.description.removeprefix('skipped: '))}</td></tr>"
                for s in skipped
            )
            + "</tbody></table>"
        )
    else:
        out.append('<p class="mu">None.</p>')
    return out


def _options(report: DriftReport) -> list[str]:
    t, g = report.thresholds, report.gate
    items: list[tuple[str, object]] = [
        *report.options.as_dict().items(),
        ("metric", t.metric.value), ("decision", t.decision.value), ("alpha", t.alpha),
        ("adjustment", t.adjustment.value), ("warn", t.warn_level), ("drift", t.drift_level),
        *((f"drift level of {k}", v) for k, v in sorted(t.columns.items())),
        ("fail on", g.fail_on.value), ("max drifted", g.max_drifted),
        ("max drifted share", g.max_drifted_share),
    ]  # fmt: skip
    rows = "".join(f"<dt>{_e(k)}</dt><dd><code>{_e(_show(v))}</code></dd>" for k, v in items)
    return ['<h2 id="options">Options</h2>', f'<dl class="kv">{rows}</dl>']


def _trend(
    name: str, runs: Sequence[Run], results: Sequence[ColumnResult | None], label: str
) -> str:
    values = [r.decision_score(c) if c else None for r, c in zip(runs, results, strict=True)]
    present = [c for c in results if c is not None]
    levels = (present[-1].warn, present[-1].threshold)
    finite = [v for v in values if v is not None and math.isfinite(v)]
    top = max([*finite, 1.25 * levels[1]])
    w, h, left, right, bottom = 320, 90, 44, 300, 70
    x = _scaler(0, max(len(runs) - 1, 1), left, right)
    y = _scaler(0, top, bottom, 10)
    out = [_svg_open(w, h, f"Trend of {name}: {label} per run with warn and drift levels")]
    for level, word in zip(levels, ("warn", "drift"), strict=True):
        out.append(_hline(left, right, y(level), "lv", MUTED))
        out.append(
            f'<text x="{right + 4}" y="{_f(y(level) + 4)}" class="mu" fill="{MUTED}">{word}</text>'
        )
    points = [(x(i), y(min(v, top))) for i, v in enumerate(values) if v is not None]
    if len(points) > 1:
        d = "".join(f"{'ML'[i > 0]}{_f(px)},{_f(py)}" for i, (px, py) in enumerate(points))
        out.append(f'<path d="{d}" fill="none" stroke="{REF}" stroke-width="1.5" class="lref"/>')
    for i, (v, c) in enumerate(zip(values, results, strict=True)):
        if v is None or c is None:
            continue
        st = Status(c.status)
        cx, cy = x(i), y(min(v, top))
        shape = (
            f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="3.5"'
            if st is Status.ok
            else f'<rect x="{_f(cx - 4)}" y="{_f(cy - 4)}" width="8" height="8"'
        )
        out.append(
            f'{shape} class="s-{st.value}" fill="{STATUS_FILL[st]}"><title>run {runs[i].id}: '
            f"{score(v)} ({st.value})</title>{'</circle>' if st is Status.ok else '</rect>'}"
        )
    out.append(
        f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" class="ax" stroke="{RULE}"/>'
        f'<text x="{left - 4}" y="{bottom + 4}" text-anchor="end" fill="{FG}">0</text>'
        f'<text x="{left - 4}" y="14" text-anchor="end" fill="{FG}">{score(top)}</text>'
        f'<text x="{left}" y="{bottom + 16}" class="mu" fill="{MUTED}">run {runs[0].id}</text>'
        f'<text x="{right}" y="{bottom + 16}" text-anchor="end" class="mu" fill="{MUTED}">'
        f"run {runs[-1].id}</text></svg>"
    )
    latest = present[-1]
    text = (
        f"latest {score(values[-1] if values[-1] is not None else math.nan)}, "
        f"{latest.status}; min {score(min(finite, default=0.0))}, "
        f"max {score(max(finite, default=0.0))} over {len(present)} runs"
    )
    return f"<figure>{''.join(out)}<figcaption>{_e(text)}</figcaption></figure>"


def _when(run: Run) -> str:
    return run.time[:16].replace("T", " ")


def _spark(c: ColumnDrift) -> str:
    """A small histogram: reference bar then current bar for every bin."""
    p, q = _shares(c.reference_counts), _shares(c.current_counts)
    top = max([*p, *q, 1e-12])
    n = len(p)
    step = min(12.0, 120 / n)
    bar = max(step / 2 - 0.5, 0.5)
    rects = "".join(
        f'<rect x="{_f(i * step)}" y="{_f(20 - 20 * p[i] / top)}" width="{_f(bar)}" '
        f'height="{_f(max(20 * p[i] / top, 0.5))}" class="ref" fill="{REF}"/>'
        f'<rect x="{_f(i * step + bar)}" y="{_f(20 - 20 * q[i] / top)}" width="{_f(bar)}" '
        f'height="{_f(max(20 * q[i] / top, 0.5))}" class="cur" fill="{CUR}"/>'
        for i in range(n)
    )
    label = f"Histogram of {c.name}: reference and current share per bin"
    return f"{_svg_open(round(n * step), 20, label)}{rects}</svg>"


def _lean_bins(
    labels: Sequence[str], ref: Sequence[int], cur: Sequence[int], parts: Sequence[float]
) -> list[Any]:
    """One column's labels, both sides' shares and the KL parts, for the script to draw."""
    return [
        list(labels),
        [round(v, 5) for v in _shares(ref)],
        [round(v, 5) for v in _shares(cur)],
        [_num_json(v) for v in parts],
    ]


def _grid_cell(c: ColumnDrift | None, report: DriftReport) -> str:
    if c is None:
        return '<td class="mu">–</td>'
    effect = _effect(report, c)
    return (
        f'<td class="st-{c.status.value}" data-v="{_num(effect)}">'
        f"{_status(c.status)} {score(effect)}</td>"
    )


def _most_drifted(report: DriftReport) -> list[ColumnDrift]:
    rank = {Status.drift: 0, Status.warn: 1, Status.ok: 2}
    return sorted(report.columns, key=lambda c: (rank[c.status], -_effect(report, c), c.name))


def _effect(report: DriftReport, c: ColumnDrift) -> float:
    return c.effect(report.thresholds.metric, report.options.base)


def _effect_label(report: DriftReport) -> str:
    metric = report.thresholds.metric
    return METRIC_LABELS[metric] + (" (nats)" if METRICS[metric].unit == "nats" else "")


def _worst(statuses: Iterable[Status]) -> Status:
    found = set(statuses)
    return next((s for s in (Status.drift, Status.warn) if s in found), Status.ok)


def _status(status: Status) -> str:
    icon = f'<span class="icon">{ICON[status]}</span>'
    return f'<span class="st st-{status.value}">{icon} {status.value}</span>'


def _svg_open(width: float, height: float, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" height="{_f(height)}" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" role="img" aria-label="{_e(label)}">'
    )


def _vline(x: float, y1: float, y2: float, cls: str, colour: str, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="3 3"' if dashed else ' stroke-width="2"'
    return (
        f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{_f(y1)}" y2="{_f(y2)}" class="{cls}" '
        f'stroke="{colour}"{dash}/>'
    )


def _hline(x1: float, x2: float, y: float, cls: str, colour: str) -> str:
    return (
        f'<line x1="{_f(x1)}" x2="{_f(x2)}" y1="{_f(y)}" y2="{_f(y)}" class="{cls}" '
        f'stroke="{colour}" stroke-dasharray="4 3"/>'
    )


def _scaler(lo: float, hi: float, out_lo: float, out_hi: float) -> Callable[[float], float]:
    span = (hi - lo) or 1.0

    def scale(v: float) -> float:
        return out_lo + (v - lo) / span * (out_hi - out_lo)

    return scale


def _ticks(lo: float, hi: float) -> list[float]:
    return [lo + (hi - lo) * i / 4 for i in range(5)]


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts) or 1
    return [n / total for n in counts]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _q(label: str) -> str:
    return f"“{label}”"


def _quote(labels: Sequence[str]) -> str:
    return ", ".join(_q(lab) for lab in labels)


def _show(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return "(none)" if value is None else str(value)


def _f(value: float) -> str:
    """An SVG coordinate: one decimal, no trailing zero."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _num(value: float) -> str:
    """A number for a data-v sort key."""
    return "inf" if math.isinf(value) else repr(round(value, 12))


def _num_json(value: float) -> float | str:
    return "inf" if math.isinf(value) else round(value, 6)


def _e(text: str) -> str:
    return escape(text, quote=True)


def _json(value: Any) -> str:
    """JSON that cannot end its script element or open a comment in it."""
    text = jsonvalues.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
