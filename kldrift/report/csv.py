"""DriftReport -> CSV: one row per compared column, full precision, for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io
import math
from typing import TextIO

from kldrift.drift import DriftReport

HEADER = (
    "column",
    "kind",
    "dtype",
    "status",
    "kl",
    "cross_entropy",
    "entropy",
    "unit",
    "warn",
    "threshold",
    "null_share_reference",
    "null_share_current",
    "rows_reference",
    "rows_current",
)


def dumps(report: DriftReport) -> str:
    """The report as CSV with a header row, most drifted column first."""
    out = io.StringIO()
    write(report, out)
    return out.getvalue()


def write(report: DriftReport, out: TextIO) -> None:
    """Write the CSV rows to `out`."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    unit = report.options.unit
    for c in report.columns:
        writer.writerow(
            [
                c.name,
                c.kind.value,
                c.dtype,
                c.status.value,
                _number(c.kl),
                _number(c.cross_entropy),
                _number(c.entropy),
                unit,
                c.warn,
                c.threshold,
                c.null_share_reference,
                c.null_share_current,
                sum(c.reference_counts),
                sum(c.current_counts),
            ]
        )


def _number(value: float) -> str:
    return "inf" if math.isinf(value) else repr(value)
