"""DriftReport -> CSV: one row per compared column, full precision, for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io
from typing import TextIO

from kldrift.registry import METRICS, Metric
from kldrift.result import DriftReport


def _metric_columns(metric: Metric, field: str) -> tuple[str, ...]:
    # KL's noise floor follows KL's score, as in the JSON report.
    return (field, "noise_floor") if metric is Metric.kl else (field,)


def _metric_values(metric: Metric, score: float, noise_floor: float) -> tuple[float, ...]:
    return (score, noise_floor) if metric is Metric.kl else (score,)


#: New columns go at the end, so readers that index columns by position keep working (the
#: registry's metrics sit where the first ones were).
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
    *(f for metric, info in METRICS.items() for f in _metric_columns(metric, info.field)),
    "g_statistic",
    "dof",
    "p_value",
    "p_adjusted",
    "test_method",
    # Pairs of columns (kind "pair", after the columns): the relationship score and the cells
    # that carry it; empty on a column's row.
    "relationship",
    "cells",
    # The smallest KL (report units) the G-test detects at these sizes; "inf" under two bins.
    "detectable_kl",
)
#: A text cell starting with one of these is run as a formula by spreadsheet programs (tab and
#: carriage return too, as OWASP's CSV-injection advice lists them).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
                text(c.name),
                c.kind.value,
                text(c.dtype),
                c.status.value,
                repr(c.kl),
                repr(c.cross_entropy),
                repr(c.entropy),
                text(unit),
                c.warn,
                c.threshold,
                c.null_share_reference,
                c.null_share_current,
                sum(c.reference_counts),
                sum(c.current_counts),
                *(
                    repr(value)
                    for metric in METRICS
                    for value in _metric_values(metric, c.score(metric), c.noise_floor)
                ),
                repr(c.g_statistic),
                c.dof,
                repr(c.p_value),
                repr(c.p_adjusted),
                text(c.test_method),
                "",
                "",
                repr(c.detectable),
            ]
        )
    for p in report.pairs:
        # A pair's kl is its joint KL; the metric columns are a column's and stay empty.
        writer.writerow(
            [
                text(p.name),
                "pair",
                "",
                p.status.value,
                repr(p.kl.joint),
                "",
                "",
                text(unit),
                p.warn,
                p.threshold,
                "",
                "",
                report.reference_rows,
                report.current_rows,
                *("" for metric in METRICS for _ in _metric_columns(metric, "")),
                repr(p.g_statistic),
                p.dof,
                repr(p.p_value),
                repr(p.p_adjusted),
                text(p.test_method),
                repr(p.relationship),
                text("; ".join(p.describe(cell) for cell in p.cells)),
                "",
            ]
        )


def text(value: str) -> str:
    """A text cell made safe for spreadsheets: a leading "'" when it would start a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value
