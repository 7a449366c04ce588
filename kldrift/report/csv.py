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
            ]
        )


def text(value: str) -> str:
    """A text cell made safe for spreadsheets: a leading "'" when it would start a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value
