"""DriftReport -> text: one module per format behind render(report, fmt)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # rendering modules import polars via drift; the CLI imports this one at startup
    from kldrift.config import Metric
    from kldrift.drift import ColumnDrift, DriftReport


class Format(str, Enum):
    """Output formats of `kldrift compare`."""

    table = "table"
    json = "json"


class HistoryFormat(str, Enum):
    """Output formats of `kldrift history`."""

    table = "table"
    json = "json"
    csv = "csv"


def render(
    report: DriftReport,
    fmt: Format,
    out: TextIO | None = None,
    show: Sequence[Metric] = (),
    explain: bool = False,
) -> None:
    """Write `report` to `out` (stdout by default) in format `fmt`.

    `show` (extra metric columns) and `explain` (the bins behind drifted columns) apply to the
    table; JSON always carries every metric and the bins.
    """
    out = out or sys.stdout
    if fmt is Format.json:
        from kldrift.report import json

        out.write(json.dumps(report))
    else:
        from kldrift.report import table

        table.write(report, out, show, explain)


def render_explanation(
    report: DriftReport, column: ColumnDrift, out: TextIO | None = None, top: int = 10
) -> None:
    """Write the bins behind `column`'s score and both histograms to `out` (stdout by default)."""
    from kldrift.report import explain

    explain.write(report, column, out or sys.stdout, top)


def print_error(message: str) -> None:
    """One line on stderr, whatever the message holds."""
    sys.stderr.write(f"kldrift: error: {' '.join(message.split())}\n")
