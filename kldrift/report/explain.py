"""Why a column drifted: the bins behind its KL and an overlay of both histograms (rich)."""

from __future__ import annotations

import math
from typing import TextIO

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from kldrift.drift import explain
from kldrift.options import Color, Kind
from kldrift.profile import NEW_LABEL
from kldrift.report import layout
from kldrift.report import table as table_report
from kldrift.report.layout import Field
from kldrift.report.text import printable
from kldrift.result import ColumnDrift, DriftReport

#: Bins listed in the contributions table; the overlay shows every bin.
DEFAULT_TOP = 10
#: Characters of the longest bar in the overlay, at most and at least (on a narrow terminal).
BAR_WIDTH = 30
MIN_BAR = 8


def write(
    report: DriftReport,
    column: ColumnDrift,
    out: TextIO,
    top: int = DEFAULT_TOP,
    color: Color = Color.auto,
) -> None:
    """Print one column of `report`: its bins by contribution to KL, and both histograms."""
    console = table_report.console(out, color)
    print_column(console, report, column, top)


def print_column(
    console: Console, report: DriftReport, column: ColumnDrift, top: int = DEFAULT_TOP
) -> None:
    """Print the bins driving `column`'s KL and a reference/current histogram overlay."""
    console.print(_header(report, column))
    if column.new_categories:
        console.print(_new_categories(column))
    console.print(_contributions(report, column, top, console.width))
    console.print(_overlay(column, console.width))


def _header(report: DriftReport, column: ColumnDrift) -> Text:
    score = table_report.score
    style = table_report.STATUS_STYLE[column.status]
    text = Text(f"{printable(column.name)}: ", style="bold")
    text.append(column.status.value, style=style)
    text.append(
        f"  KL {score(column.kl)} {report.options.unit}, noise {score(column.noise_floor)}, "
        f"KL corr. {score(column.kl_corrected)}, p adj. {table_report.p_value(column.p_adjusted)}"
    )
    return text


def _new_categories(column: ColumnDrift) -> Text:
    total = sum(column.current_counts) or 1
    text = Text(f"new categories ({column.new_category_share:.1%} of current rows")
    predicted = column.predicted_new_share
    if predicted is not None:
        text.append(f"; the reference's unseen tail predicts {predicted:.1%}")
    text.append("), largest: ")
    largest = (f"{printable(value)} {rows / total:.1%}" for value, rows in column.new_categories)
    text.append(", ".join(largest))
    return text


def _contributions(
    report: DriftReport, column: ColumnDrift, top: int, width: int
) -> RenderableType:
    bins = explain(column, report.options)
    shown = bins[:top]
    caption = (
        f"contribution = p log(p/q) + q - p on the smoothed bins, in {report.options.unit}: "
        f"each >= 0, they sum to KL. Top {len(shown)} of {len(bins)} bins by contribution."
    )
    if any(b.label == NEW_LABEL for b in bins) and column.predicted_new_share is not None:
        caption += " The reference share of (new) is what its unseen tail predicts (Good-Turing)."
    # An infinite KL has no shares: its infinite bins are named by their contribution.
    shares = [
        "—" if math.isinf(column.kl) else f"{b.contribution / column.kl if column.kl else 0.0:.0%}"
        for b in shown
    ]
    categorical = column.kind is Kind.categorical
    fields = [
        # Numeric bins are intervals: shortening one would cut its numbers.
        Field("bin", [printable(b.label) for b in shown], 0, shorten=categorical),
        Field("reference", [f"{b.reference_share:.1%}" for b in shown], 1, "right"),
        Field("current", [f"{b.current_share:.1%}" for b in shown], 1, "right"),
        Field("contribution", [table_report.score(b.contribution) for b in shown], 0, "right"),
        Field("share of KL", shares, 2, "right"),
    ]
    return layout.tables(fields, width, caption=caption)


def _overlay(column: ColumnDrift, width: int) -> Table:
    """Every occupied bin in bin order, with a reference bar and a current bar side by side.

    The bars take the width the labels leave, between MIN_BAR and BAR_WIDTH characters.
    """
    pairs = [
        (printable(label), r, c)
        for label, r, c in zip(
            column.labels, column.reference_counts, column.current_counts, strict=True
        )
        if r or c
    ]
    n_ref = sum(r for _, r, _ in pairs) or 1
    n_cur = sum(c for _, _, c in pairs) or 1
    peak = max([r / n_ref for _, r, _ in pairs] + [c / n_cur for _, _, c in pairs] + [1e-12])
    shorten = column.kind is Kind.categorical
    label_width = max((cell_len(label) for label, _, _ in pairs), default=3)
    if shorten:  # numeric bins are intervals, never cut
        label_width = min(label_width, max(layout.SHORTEST, width // 3))
    # Two bars, each followed by " 100.0%", and the gaps between the three columns.
    bar = max(MIN_BAR, min(BAR_WIDTH, (width - label_width - 2 * 8 - 2) // 2))
    title = f"{printable(column.name)}: reference vs current"
    grid = Table(title=title, box=None, pad_edge=False)
    grid.add_column("bin", justify="right", no_wrap=True, width=label_width)
    grid.add_column("reference", no_wrap=True)
    grid.add_column("current", no_wrap=True)
    cur_style = table_report.STATUS_STYLE[column.status]
    for label, r, c in pairs:
        grid.add_row(
            layout.shorten(label, label_width) if shorten else label,
            _bar(r / n_ref, peak, "cyan", bar),
            _bar(c / n_cur, peak, cur_style, bar),
        )
    return grid


def _bar(share: float, peak: float, style: str, width: int = BAR_WIDTH) -> Text:
    eighths = round(share / peak * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (table_report.EIGHTHS[part] if part else "")
    text = Text(bar.ljust(width + 1), style=style)
    text.append(f"{share:6.1%}")
    return text
