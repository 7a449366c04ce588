"""DriftReport -> a rich table for people, plain text when not on a terminal."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kldrift.options import Gate, Status
from kldrift.registry import Metric

# The pure-text helpers live in text.py so the other formats need not load rich; the "as" form
# re-exports them, as explain.py and older callers reach them through this module.
from kldrift.report.text import METRIC_LABELS as METRIC_LABELS
from kldrift.report.text import decision_text as decision_text
from kldrift.report.text import p_value as p_value
from kldrift.report.text import score as score
from kldrift.result import ColumnDrift, DriftReport

STATUS_STYLE = {Status.ok: "green", Status.warn: "yellow", Status.drift: "bold red"}
BARS = " ▁▂▃▄▅▆▇█"
#: Horizontal partial blocks, in eighths of a character.
EIGHTHS = " ▏▎▍▌▋▊▉"
#: Width used when output is not a terminal, so a piped table is not squeezed to 80 columns.
PLAIN_WIDTH = 160


def write(
    report: DriftReport, out: TextIO, show: Sequence[Metric] = (), explain: bool = False
) -> None:
    """Print the report as a table, a schema section and a one-line summary.

    `show` adds a column per metric; `explain` appends the bins behind each drifted column.
    """
    printer = console(out)
    if report.columns:
        printer.print(_columns_table(report, show))
    if report.schema:
        printer.print(_schema_table(report))
    if explain:
        from kldrift.report import explain as explain_report

        for column in report.drifted_columns:
            explain_report.print_column(printer, report, column)
    style = STATUS_STYLE[report.status]
    printer.print(Text(report.summary, style=style))
    if report.gate != Gate():
        # Only a non-default gate can disagree with the summary above, so only then say so.
        verdict = report.verdict
        passed = "passed" if verdict.passed else "failed"
        gate_style = STATUS_STYLE[Status.ok if verdict.passed else Status.drift]
        printer.print(Text(f"gate {passed}: {verdict.reason}", style=gate_style))


def sparkline(counts: tuple[int, ...], peak: float) -> str:
    """Bars for `counts` as shares, scaled so that a share of `peak` is a full block."""
    total = sum(counts)
    if not total or peak <= 0:
        return BARS[0] * len(counts)
    top = len(BARS) - 1
    return "".join(BARS[min(top, math.ceil(c / total / peak * top))] for c in counts)


def console(out: TextIO) -> Console:
    """A rich console on `out`: plain text when it is not a terminal or NO_COLOR is set.

    Strings are printed as they are: column names, categories and file names are data, and a
    name such as "a[/b]" or ":x:" must not be read as rich markup or an emoji code.
    """
    plain = bool(os.environ.get("NO_COLOR")) or not (hasattr(out, "isatty") and out.isatty())
    return Console(
        file=out,
        # color_system=None makes rich emit no escape codes at all, bold and italic included.
        color_system=None if plain else "auto",
        width=PLAIN_WIDTH if plain else None,
        highlight=False,
        markup=False,
        emoji=False,
    )


def _columns_table(report: DriftReport, show: Sequence[Metric]) -> Table:
    unit = report.options.unit
    metric = report.thresholds.metric
    extra = [m for m in dict.fromkeys(show) if m is not metric]
    table = Table(
        title=f"kldrift: {report.reference} -> {report.current}",
        caption=(
            f"KL = D(reference || current), in {unit}; KL corr. = KL - noise, the KL sampling "
            f"alone gives at these sizes. p adj.: G-test; detectable: the smallest KL it "
            f"catches 95% of the time at these sizes (smaller drift can read 'ok'). "
            f"{decision_text(report)}"
        ),
    )
    table.add_column("column", overflow="fold")
    table.add_column("kind")
    table.add_column("KL", justify="right")
    for shown in [metric, *extra]:
        table.add_column(METRIC_LABELS[shown], justify="right")
        if shown is metric:
            table.add_column("noise", justify="right")
            table.add_column("p adj.", justify="right")
            table.add_column("detectable", justify="right")
    table.add_column("H(P,Q)", justify="right")
    table.add_column("H(P)", justify="right")
    table.add_column("null % ref -> cur", justify="right")
    table.add_column("status")
    table.add_column("reference -> current", no_wrap=True)
    for column in report.columns:
        scores = [score(column.score(m)) for m in [metric, *extra]]
        table.add_row(
            column.name,
            column.kind.value,
            score(column.kl),
            scores[0],
            score(column.noise_floor),
            p_value(column.p_adjusted),
            _two_digits(column.detectable),
            *scores[1:],
            score(column.cross_entropy),
            score(column.entropy),
            f"{column.null_share_reference:.1%} -> {column.null_share_current:.1%}",
            Text(column.status.value, style=STATUS_STYLE[column.status]),
            _histograms(column),
        )
    return table


def _two_digits(value: float) -> str:
    # A detectable effect spans 1e-7 (10M rows) to 1 (100 rows): four decimals would show 0.
    return "inf" if math.isinf(value) else f"{value:.2g}"


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
