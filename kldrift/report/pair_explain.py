"""Why a pair's relationship drifted: both joint tables side by side and the cells behind it."""

from __future__ import annotations

from typing import TextIO

from rich import box
from rich.columns import Columns
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kldrift.options import Color
from kldrift.pairs import explain
from kldrift.report import table as table_report
from kldrift.report.relationships import name, reason
from kldrift.report.text import printable
from kldrift.result import DriftReport, PairDrift, percent


def write(
    report: DriftReport, pair: PairDrift, out: TextIO, top: int = 10, color: Color = Color.auto
) -> None:
    """Print `pair`: its verdict, both joint tables (cell shares) and its top cells."""
    console = table_report.console(out, color)
    print_pair(console, report, pair, top)


def print_pair(console: Console, report: DriftReport, pair: PairDrift, top: int = 10) -> None:
    """The pair's header, reference and current joint tables side by side, then its cells."""
    console.print(_header(report, pair))
    sides = [("reference", pair.reference_table), ("current", pair.current_table)]
    console.print(Columns([_joint(pair, side, counts) for side, counts in sides], padding=(0, 2)))
    console.print(_legend(pair))
    console.print(_cells(report, pair, top))


def _header(report: DriftReport, pair: PairDrift) -> Text:
    score = table_report.score
    x, y = map(printable, pair.columns)
    text = Text(f"{name(pair.columns)}: ", style="bold")
    text.append(pair.status.value, style=table_report.STATUS_STYLE[pair.status])
    unit = report.options.unit
    text.append(
        f"  relationship {score(pair.relationship)} {unit} "
        f"(noise {score(pair.noise_floor.relationship)}) = joint KL {score(pair.kl.joint)} - "
        f"{x} {score(pair.kl.marginal_x)} - {y} "
        f"{score(pair.kl.marginal_y)} - noise. {reason(report, pair)}"
    )
    return text


def _joint(pair: PairDrift, side: str, counts: tuple[tuple[int, ...], ...]) -> Table:
    """One side's joint table in % of its rows: X's bins down, Y's bins (numbered) across."""
    x, y = map(printable, pair.columns)
    total = sum(map(sum, counts)) or 1
    table = Table(title=f"{side}, % of rows", box=box.SIMPLE_HEAD, pad_edge=False, padding=0)
    table.add_column(f"{x} \\ {y}", overflow="fold", max_width=20)
    for number in range(1, len(pair.labels[1]) + 1):
        table.add_column(str(number), justify="right")
    for label, row in zip(pair.labels[0], counts, strict=True):
        table.add_row(printable(label), *(f"{100 * n / total:.1f}" for n in row))
    return table


def _legend(pair: PairDrift) -> Text:
    # Numbered columns keep the two tables narrow enough to stand side by side.
    labels = enumerate(pair.labels[1], start=1)
    bins = ", ".join(f"{i} {printable(label)}" for i, label in labels)
    return Text(f"{printable(pair.columns[1])} bins: {bins}")


def _cells(report: DriftReport, pair: PairDrift, top: int) -> Table:
    cells = explain(pair, report.options)
    shown = cells[:top]
    table = Table(
        caption=(
            f"part = p(x, y) (PMI_ref - PMI_cur), PMI = log p(x, y) / (p(x) p(y)), in "
            f"{report.options.unit}: they sum to the relationship before the noise is taken off; "
            f"negative where the columns go together more than before. "
            f"Top {len(shown)} of {len(cells)} cells."
        )
    )
    x, y = map(printable, pair.columns)
    table.add_column("cell", overflow="fold")
    table.add_column("reference", justify="right")
    table.add_column("current", justify="right")
    table.add_column("part", justify="right")
    for cell in shown:
        table.add_row(
            f"{x} {printable(cell.x)} × {y} {printable(cell.y)}",
            percent(cell.reference_share),
            percent(cell.current_share),
            table_report.score(cell.contribution),
        )
    return table
