"""The "relationships" section of the rich table: flagged pairs and the cells that moved."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kldrift.report.relationships import CAPTION, cells, flagged
from kldrift.report.table import STATUS_STYLE
from kldrift.report.text import p_value, score
from kldrift.result import DriftReport


def print_pairs(printer: Console, report: DriftReport) -> None:
    """The pairs that drifted or warn, most drifted first, then how many are ok."""
    shown = flagged(report)
    if shown:
        table = Table(title="relationships", caption=f"In {report.options.unit}. {CAPTION}")
        table.add_column("pair", overflow="fold")
        table.add_column("relationship", justify="right")
        table.add_column("noise", justify="right")
        table.add_column("p adj.", justify="right")
        table.add_column("status")
        table.add_column("cells that moved most")
        for pair in shown:
            table.add_row(
                pair.name,
                score(pair.relationship),
                score(pair.noise_floor.relationship),
                p_value(pair.p_adjusted),
                Text(pair.status.value, style=STATUS_STYLE[pair.status]),
                "\n".join(cells(pair)),
            )
        printer.print(table)
    calm = len(report.pairs) - len(shown)
    if calm:
        noun = "pair" if calm == 1 else "pairs"
        printer.print(f"relationships: {calm} {noun} ok")
