"""The "relationships" section of the rich table: flagged pairs and the cells that moved."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from kldrift.report import layout
from kldrift.report.layout import Field
from kldrift.report.relationships import CAPTION, cells, flagged, name
from kldrift.report.table import STATUS_STYLE
from kldrift.report.text import p_value, score
from kldrift.result import DriftReport


def print_pairs(printer: Console, report: DriftReport) -> None:
    """The pairs that drifted or warn, most drifted first, then how many are ok."""
    shown = flagged(report)
    if shown:
        fields = [
            Field("pair", [name(p.columns) for p in shown], 0, shorten=True),
            Field("relationship", [score(p.relationship) for p in shown], 0, "right"),
            Field("status", [Text(p.status.value, style=STATUS_STYLE[p.status]) for p in shown], 0),
            Field("p adj.", [p_value(p.p_adjusted) for p in shown], 1, "right"),
            Field("noise", [score(p.noise_floor.relationship) for p in shown], 2, "right"),
        ]
        caption = f"In {report.options.unit}. {CAPTION}"
        printer.print(layout.tables(fields, printer.width, title="relationships", caption=caption))
        # The cells are sentences: one line each under the table reads at any width.
        for pair in shown:
            printer.print(Text(f"{name(pair.columns)}, cells that moved most:", style="bold"))
            for line in cells(pair):
                printer.print(f"  {line}")
    calm = len(report.pairs) - len(shown)
    if calm:
        noun = "pair" if calm == 1 else "pairs"
        printer.print(f"relationships: {calm} {noun} ok")
