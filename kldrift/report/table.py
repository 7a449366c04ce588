"""DriftReport -> a rich table for people, plain text when not on a terminal."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console, RenderableType
from rich.text import Text

from kldrift.options import Color, Gate, Status
from kldrift.registry import Metric
from kldrift.report import layout
from kldrift.report.layout import Field

# The pure-text helpers live in text.py so the other formats need not load rich; the "as" form
# re-exports them, as explain.py and older callers reach them through this module.
from kldrift.report.text import METRIC_LABELS as METRIC_LABELS
from kldrift.report.text import decision_text as decision_text
from kldrift.report.text import p_value as p_value
from kldrift.report.text import printable
from kldrift.report.text import score as score
from kldrift.result import ColumnDrift, DriftReport

STATUS_STYLE = {Status.ok: "green", Status.warn: "yellow", Status.drift: "bold red"}
BARS = " ▁▂▃▄▅▆▇█"
#: Horizontal partial blocks, in eighths of a character.
EIGHTHS = " ▏▎▍▌▋▊▉"
#: Width used when output is not a terminal and COLUMNS is not set.
PLAIN_WIDTH = 100
#: Height rich is told when output is not a terminal and LINES is not set (tables ignore it).
PLAIN_HEIGHT = 25
#: Priority of each column of the table, 0 kept longest as the width shrinks. The column name is
#: always shown, whole before the columns from "whole name" on (shortened in the middle to make
#: room for those before). A new column takes a place in this list; see kldrift.report.layout.
PRIORITY = {
    "status": 0,
    "effect": 1,
    "p adj.": 2,
    "drift at": 3,
    "whole name": 4,
    "KL": 4,
    "detectable": 5,
    "shown": 6,
    "noise": 7,
    "null % ref -> cur": 8,
    "reference -> current": 9,
    "kind": 10,
    "H(P,Q)": 11,
    "H(P)": 12,
}


def write(
    report: DriftReport,
    out: TextIO,
    show: Sequence[Metric] = (),
    explain: bool = False,
    color: Color = Color.auto,
) -> None:
    """Print the report as a table, a schema section and a one-line summary.

    `show` adds a column per metric; `explain` appends the bins behind each drifted column.
    """
    printer = console(out, color)
    if report.columns:
        printer.print(_columns_tables(report, show, printer.width))
    if report.schema:
        printer.print(_schema_tables(report, printer.width))
    if report.pairs:
        from kldrift.report import pairs_table

        pairs_table.print_pairs(printer, report)
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


def terminal_width(out: TextIO) -> int:
    """The width to lay tables out in: $COLUMNS, else the terminal's, else PLAIN_WIDTH."""
    return _size(out, "COLUMNS", 0, PLAIN_WIDTH)


def _size(out: TextIO, variable: str, index: int, default: int) -> int:
    """$`variable`, else the terminal's size (`index` 0: columns, 1: lines), else `default`."""
    given = os.environ.get(variable, "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    if _is_terminal(out):
        try:
            size = os.get_terminal_size(out.fileno())[index]
        except (OSError, ValueError):
            pass
        else:
            if size > 0:  # a pseudo-terminal may say 0
                return size
    return default


def colored(out: TextIO, color: Color = Color.auto) -> bool:
    """Whether to colour output on `out`: --color, else NO_COLOR, FORCE_COLOR, a terminal."""
    if color is not Color.auto:
        return color is Color.always
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "").lower() not in ("", "0", "false"):
        return True
    return _is_terminal(out)


def console(out: TextIO, color: Color = Color.auto) -> Console:
    """A rich console on `out`, as wide as `terminal_width`, coloured as `colored` says.

    The width does not depend on colour or $TERM, so a coloured and a plain table have the same
    layout.
    Strings are printed as they are: column names, categories and file names are data, and a
    name such as "a[/b]" or ":x:" must not be read as rich markup or an emoji code.
    """
    on = colored(out, color)
    return Console(
        file=out,
        # color_system=None makes rich emit no escape codes at all, bold and italic included.
        color_system=("auto" if _is_terminal(out) else "standard") if on else None,
        force_terminal=on,
        no_color=not on,
        width=terminal_width(out),
        # Given a width but no height, rich sizes a TERM=dumb terminal (a real one, or any
        # output once colour forces terminal mode) at 80x25, whatever the width says.
        height=_size(out, "LINES", 1, PLAIN_HEIGHT),
        highlight=False,
        markup=False,
        emoji=False,
    )


def _is_terminal(out: TextIO) -> bool:
    return hasattr(out, "isatty") and out.isatty()


def _columns_tables(
    report: DriftReport, show: Sequence[Metric], width: int
) -> RenderableType:
    unit = report.options.unit
    metric = report.thresholds.metric
    extra = [m for m in dict.fromkeys(show) if m is not metric]
    cols = report.columns
    fields = [
        Field("column", [printable(c.name) for c in cols], 0, shorten=True),
        Field("kind", [c.kind.value for c in cols], PRIORITY["kind"]),
        Field("KL", [score(c.kl) for c in cols], PRIORITY["KL"], "right"),
        Field(METRIC_LABELS[metric], [score(c.score(metric)) for c in cols], PRIORITY["effect"],
              "right"),
    ]  # fmt: skip
    if report.thresholds.columns:
        levels = [f"{c.threshold:g}" for c in cols]
        fields.append(Field("drift at", levels, PRIORITY["drift at"], "right"))
    fields += [
        Field("noise", [score(c.noise_floor) for c in cols], PRIORITY["noise"], "right"),
        Field("p adj.", [p_value(c.p_adjusted) for c in cols], PRIORITY["p adj."], "right"),
        Field("detectable", [_two_digits(c.detectable) for c in cols], PRIORITY["detectable"],
              "right"),
        *(
            Field(METRIC_LABELS[m], [score(c.score(m)) for c in cols], PRIORITY["shown"], "right")
            for m in extra
        ),
        Field("H(P,Q)", [score(c.cross_entropy) for c in cols], PRIORITY["H(P,Q)"], "right"),
        Field("H(P)", [score(c.entropy) for c in cols], PRIORITY["H(P)"], "right"),
        Field(
            "null % ref -> cur",
            [f"{c.null_share_reference:.1%} -> {c.null_share_current:.1%}" for c in cols],
            PRIORITY["null % ref -> cur"],
            "right",
        ),
        Field(
            "status",
            [Text(c.status.value, style=STATUS_STYLE[c.status]) for c in cols],
            PRIORITY["status"],
        ),
        Field("reference -> current", [_histograms(c) for c in cols],
              PRIORITY["reference -> current"]),
    ]  # fmt: skip
    return layout.tables(
        fields,
        width,
        title=f"kldrift: {printable(report.reference)} -> {printable(report.current)}",
        caption=(
            f"KL = D(reference || current), in {unit}; KL corr. = KL - noise, the KL sampling "
            f"alone gives at these sizes. p adj.: G-test; detectable: the smallest KL it "
            f"catches 95% of the time at these sizes (smaller drift can read 'ok'). "
            f"{decision_text(report)}"
        ),
        whole_key=PRIORITY["whole name"],
    )


def _schema_tables(report: DriftReport, width: int) -> RenderableType:
    changes = report.schema
    described = [Text(c.description, style="bold red" if c.breaking else "yellow") for c in changes]
    fields = [
        Field("column", [printable(c.column) for c in changes], 0, shorten=True),
        Field("change", described, 0, wrap=True),
    ]
    return layout.tables(fields, width, title="schema changes")


def _two_digits(value: float) -> str:
    # A detectable effect spans 1e-7 (10M rows) to 1 (100 rows): four decimals would show 0.
    return "inf" if math.isinf(value) else f"{value:.2g}"


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
