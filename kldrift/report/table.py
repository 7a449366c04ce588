"""DriftReport -> a rich table for people, plain text when not on a terminal."""

from __future__ import annotations

import math
import os
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kldrift.config import Gate, Status
from kldrift.drift import ColumnDrift, DriftReport

STATUS_STYLE = {Status.ok: "green", Status.warn: "yellow", Status.drift: "bold red"}
BARS = " ▁▂▃▄▅▆▇█"
#: Width used when output is not a terminal, so a piped table is not squeezed to 80 columns.
PLAIN_WIDTH = 160


def write(report: DriftReport, out: TextIO) -> None:
    """Print the report as a table, a schema section and a one-line summary."""
    console = _console(out)
    if report.columns:
        console.print(_columns_table(report))
    if report.schema:
        console.print(_schema_table(report))
    style = STATUS_STYLE[report.status]
    console.print(Text(report.summary, style=style))
    if report.gate != Gate():
        # Only a non-default gate can disagree with the summary above, so only then say so.
        verdict = report.verdict
        passed = "passed" if verdict.passed else "failed"
        gate_style = STATUS_STYLE[Status.ok if verdict.passed else Status.drift]
        console.print(Text(f"gate {passed}: {verdict.reason}", style=gate_style))


def sparkline(counts: tuple[int, ...], peak: float) -> str:
    """Bars for `counts` as shares, scaled so that a share of `peak` is a full block."""
    total = sum(counts)
    if not total or peak <= 0:
        return BARS[0] * len(counts)
    top = len(BARS) - 1
    return "".join(BARS[min(top, math.ceil(c / total / peak * top))] for c in counts)


def _console(out: TextIO) -> Console:
    plain = bool(os.environ.get("NO_COLOR")) or not (hasattr(out, "isatty") and out.isatty())
    if plain:
        # color_system=None makes rich emit no escape codes at all, bold and italic included.
        return Console(file=out, color_system=None, width=PLAIN_WIDTH, highlight=False)
    return Console(file=out, highlight=False)


def _columns_table(report: DriftReport) -> Table:
    unit = report.options.unit
    table = Table(
        title=f"kldrift: {report.reference} -> {report.current}",
        caption=(
            f"KL = D(reference || current), in {unit}. Thresholds on KL in nats: "
            f"warn >= {report.thresholds.warn:g}, drift >= {report.thresholds.drift:g}"
        ),
    )
    table.add_column("column", overflow="fold")
    table.add_column("kind")
    table.add_column("KL", justify="right")
    table.add_column("H(P,Q)", justify="right")
    table.add_column("H(P)", justify="right")
    table.add_column("null % ref -> cur", justify="right")
    table.add_column("status")
    table.add_column("reference -> current", no_wrap=True)
    for column in report.columns:
        table.add_row(
            column.name,
            column.kind.value,
            _score(column.kl),
            _score(column.cross_entropy),
            _score(column.entropy),
            f"{column.null_share_reference:.1%} -> {column.null_share_current:.1%}",
            Text(column.status.value, style=STATUS_STYLE[column.status]),
            _histograms(column),
        )
    return table


def _schema_table(report: DriftReport) -> Table:
    table = Table(title="schema changes")
    table.add_column("column")
    table.add_column("change")
    for change in report.schema:
        style = "bold red" if change.breaking else "yellow"
        table.add_row(change.column, Text(change.description, style=style))
    return table


def _histograms(column: ColumnDrift) -> Text:
    # Bins empty on both sides are left out, as they are when scoring.
    pairs = [
        (r, c)
        for r, c in zip(column.reference_counts, column.current_counts, strict=True)
        if r or c
    ]
    ref = tuple(r for r, _ in pairs)
    cur = tuple(c for _, c in pairs)
    peak = max(_peak_share(ref), _peak_share(cur))
    text = Text(sparkline(ref, peak), style="cyan")
    text.append(" -> ")
    text.append(sparkline(cur, peak), style=STATUS_STYLE[column.status])
    return text


def _peak_share(counts: tuple[int, ...]) -> float:
    total = sum(counts)
    return max(counts) / total if total else 0.0


def _score(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.4f}"
