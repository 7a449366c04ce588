"""DriftReport -> text: one module per format behind render(report, fmt)."""

from __future__ import annotations

import sys
from enum import Enum
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # rendering modules import polars via drift; the CLI imports this one at startup
    from kldrift.drift import DriftReport


class Format(str, Enum):
    """Output formats of `kldrift compare`."""

    table = "table"
    json = "json"


class HistoryFormat(str, Enum):
    """Output formats of `kldrift history`."""

    table = "table"
    json = "json"
    csv = "csv"


def render(report: DriftReport, fmt: Format, out: TextIO | None = None) -> None:
    """Write `report` to `out` (stdout by default) in format `fmt`."""
    out = out or sys.stdout
    if fmt is Format.json:
        from kldrift.report import json

        out.write(json.dumps(report))
    else:
        from kldrift.report import table

        table.write(report, out)


def print_error(message: str) -> None:
    """One line on stderr, whatever the message holds."""
    sys.stderr.write(f"kldrift: error: {' '.join(message.split())}\n")
