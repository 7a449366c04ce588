"""DriftReport -> a GitHub-flavoured Markdown summary, fit for a pull-request comment."""

from __future__ import annotations

import math
from typing import TextIO

from kldrift.options import Status
from kldrift.report import relationships
from kldrift.report.text import METRIC_LABELS, decision_text, p_value, printable
from kldrift.result import ColumnDrift, DriftReport

EMOJI = {Status.ok: "✅", Status.warn: "⚠️", Status.drift: "❌"}


def dumps(report: DriftReport) -> str:
    """The report as Markdown: verdict heading, flagged columns, then the rest folded away."""
    verdict = report.verdict
    # The heading follows the gate, so tolerated drift does not look like a failed check.
    if not verdict.passed:
        icon = EMOJI[Status.drift]
    else:
        icon = EMOJI[Status.ok] if report.status is Status.ok else EMOJI[Status.warn]
    lines = [
        f"### {icon} kldrift: {_escape(report.summary)}",
        "",
        f"{_code(printable(report.reference))} ({report.reference_rows:,} rows) → "
        f"{_code(printable(report.current))} ({report.current_rows:,} rows). "
        f"KL = D(reference ‖ current) in {report.options.unit}; noise = the KL sampling alone "
        f"gives at these sizes; p adj. = G-test p-value adjusted across columns. "
        f"{decision_text(report)}",
        "",
        f"**Gate: {'passed' if verdict.passed else 'failed'}** "
        f"(rule `{verdict.rule}`): {_escape(verdict.reason)}.",
    ]
    flagged = [c for c in report.columns if c.status is not Status.ok]
    calm = [c for c in report.columns if c.status is Status.ok]
    if flagged:
        lines += ["", *_columns_table(report, flagged)]
    if report.pairs:
        lines += ["", *_relationships(report)]
    if report.schema:
        lines += ["", "**Schema changes**", "", "| | column | change |", "|---|---|---|"]
        lines += [
            f"| {'❌' if s.breaking else '⚠️'} | {_code(printable(s.column))} "
            f"| {_escape(s.description)} |"
            for s in report.schema
        ]
    if calm:
        noun = "column" if len(calm) == 1 else "columns"
        lines += ["", f"<details><summary>{len(calm)} {noun} ok</summary>", ""]
        lines += [*_columns_table(report, calm), "", "</details>"]
    return "\n".join(lines) + "\n"


def write(report: DriftReport, out: TextIO) -> None:
    """Write the Markdown report to `out`."""
    out.write(dumps(report))


def number(value: float) -> str:
    """A score rounded for people: 4 decimals, 2 significant digits below 0.0001, ∞ for inf."""
    if math.isinf(value):
        return "∞"
    if value == 0 or abs(value) >= 0.0001:
        return f"{value:.4f}"
    return f"{value:.1e}"


def _columns_table(report: DriftReport, columns: list[ColumnDrift]) -> list[str]:
    metric = report.thresholds.metric
    rows = [
        f"| | column | kind | KL | {METRIC_LABELS[metric]} | noise | p adj. | H(P,Q) | H(P) "
        "| null % ref → cur | drift at |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    rows += [
        f"| {EMOJI[c.status]} | {_code(printable(c.name))} | {c.kind.value} | {number(c.kl)} "
        f"| {number(c.score(metric))} | {number(c.noise_floor)} | {p_value(c.p_adjusted)} "
        f"| {number(c.cross_entropy)} | {number(c.entropy)} "
        f"| {c.null_share_reference:.1%} → {c.null_share_current:.1%} | {c.threshold:g} |"
        for c in columns
    ]
    return rows


def _relationships(report: DriftReport) -> list[str]:
    lines = [
        f"**Relationships**: {report.pairs_summary}. {relationships.CAPTION}",
    ]
    shown = relationships.flagged(report)
    if shown:
        lines += [
            "",
            "| | pair | relationship | noise | p adj. | cells that moved most |",
            "|---|---|--:|--:|--:|---|",
        ]
        lines += [
            f"| {EMOJI[p.status]} | {_code(relationships.name(p.columns))} "
            f"| {number(p.relationship)} | {number(p.noise_floor.relationship)} "
            f"| {p_value(p.p_adjusted)} "
            f"| {'<br>'.join(_escape(c) for c in relationships.cells(p))} |"
            for p in shown
        ]
    return lines


def _code(text: str) -> str:
    # A backtick would end the code span early; such names are shown as escaped plain text.
    if "`" in text:
        return _escape(text)
    # In a table a "|" splits the cell even inside a code span; a newline ends the row.
    return "`" + " ".join(text.split()).replace("|", "\\|") + "`"


def _escape(text: str) -> str:
    text = " ".join(text.split()).replace("\\", "\\\\")
    return text.replace("|", "\\|").replace("<", "&lt;").replace("*", "\\*").replace("_", "\\_")
