"""DriftReport -> JSON (format documented in docs/json-format.md)."""

from __future__ import annotations

from typing import Any, TextIO

from kldrift import jsonvalues
from kldrift.__version__ import __version__
from kldrift.jsonvalues import json_value
from kldrift.registry import METRICS, Metric
from kldrift.result import ColumnDrift, DriftReport

#: Bumped when a field changes meaning or disappears; adding fields does not bump it.
#: 2: "schema" became an object of change groups (it was a flat list).
FORMAT_VERSION = 2
#: JSON has no infinity; an infinite score is written as this string.
INFINITY = "inf"


def dumps(report: DriftReport) -> str:
    """The report as a JSON document (strict: no NaN or Infinity tokens), newline-terminated."""
    return jsonvalues.dumps(document(report), indent=2) + "\n"


def document(report: DriftReport) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    options, thresholds = report.options, report.thresholds
    return {
        "format": "kldrift-report",
        "format_version": FORMAT_VERSION,
        "kldrift_version": __version__,
        "reference": {"source": report.reference, "rows": report.reference_rows},
        "current": {
            "source": report.current,
            "rows": report.current_rows,
            "files": list(report.current_files),
        },
        "config_file": report.config_file,
        "summary": {
            "status": report.status.value,
            "drifted": report.drifted,
            "columns_compared": len(report.columns),
            "columns_drifted": len(report.drifted_columns),
            "columns_warned": len(report.warned_columns),
            "breaking_schema_changes": len(report.breaking_schema_changes),
            "text": report.summary,
            "gate": _gate(report),
        },
        "options": options.as_dict(),
        "decision": {
            "rule": thresholds.decision.value,
            "metric": thresholds.metric.value,
            "alpha": thresholds.alpha,
            "adjustment": thresholds.adjustment.value,
        },
        "thresholds": {
            "metric": thresholds.metric.value,
            "unit": METRICS[thresholds.metric].unit,
            "warn": thresholds.warn_level,
            "drift": thresholds.drift_level,
            "columns": dict(thresholds.columns),
            "defaults": dict(
                zip(("drift", "warn"), METRICS[thresholds.metric].levels, strict=True)
            ),
        },
        "schema": schema(report),
        "columns": [_column(c) for c in report.columns],
    }


def schema(report: DriftReport) -> dict[str, Any]:
    """Schema and content changes grouped by what changed (see docs/json-format.md)."""
    columns = {c.name: c for c in report.columns}
    groups: dict[str, Any] = {
        "added": [],
        "removed": [],
        "type_changed": [],
        "null_rate_changed": [],
        "categories": {},
        "skipped": [],
        "sequences": [],
    }
    for change in report.schema:
        kind, name = change.change, change.column
        if kind == "new_in_current":
            groups["added"].append({"column": name, "dtype": change.current_dtype})
        elif kind == "missing_in_current":
            groups["removed"].append({"column": name, "dtype": change.reference_dtype})
        elif kind in ("kind_changed", "dtype_changed"):
            groups["type_changed"].append(
                {
                    "column": name,
                    "reference_dtype": change.reference_dtype,
                    "current_dtype": change.current_dtype,
                    "compared": kind == "dtype_changed",
                    "breaking": change.breaking,
                }
            )
        elif kind == "null_rate_changed":
            column = columns[name]
            groups["null_rate_changed"].append(
                {
                    "column": name,
                    "reference": column.null_share_reference,
                    "current": column.null_share_current,
                }
            )
        elif kind in ("new_categories", "gone_categories"):
            column = columns[name]
            total = sum(column.current_counts) or 1
            groups["categories"][name] = {
                "new_rows": column.new_category_rows,
                "new_share": column.new_category_share,
                "predicted_new_share": column.predicted_new_share,
                "largest_new": [
                    {"value": value, "rows": rows, "share": rows / total}
                    for value, rows in column.new_categories
                ],
                "gone": list(column.gone_categories),
            }
        elif kind in ("event_time", "increasing_id"):
            groups["sequences"].append(
                {
                    "column": name,
                    "kind": kind,
                    "dtype": change.reference_dtype,
                    "detail": change.detail,
                }
            )
        else:
            groups["skipped"].append(
                {
                    "column": name,
                    "reason": change.description.removeprefix("skipped: "),
                    "reference_dtype": change.reference_dtype,
                    "current_dtype": change.current_dtype,
                }
            )
    return groups


def _gate(report: DriftReport) -> dict[str, Any]:
    gate, verdict = report.gate, report.verdict
    return {
        "passed": verdict.passed,
        "rule": verdict.rule,
        "fail_on": gate.fail_on.value,
        "max_drifted": gate.max_drifted,
        "max_drifted_share": gate.max_drifted_share,
        "allowed": verdict.allowed,
        "considered": verdict.considered,
        "failing_columns": list(verdict.failing),
        "reason": verdict.reason,
    }


def _column(column: ColumnDrift) -> dict[str, Any]:
    binning = column.binning
    return {
        "name": column.name,
        "kind": column.kind.value,
        "dtype": column.dtype,
        "status": column.status.value,
        "kl": json_value(column.kl),
        "cross_entropy": json_value(column.cross_entropy),
        "entropy": json_value(column.entropy),
        **metric_fields(column),
        "detectable_kl": json_value(column.detectable),
        "significance": {
            "statistic": column.g_statistic,
            "dof": column.dof,
            "p_value": column.p_value,
            "p_adjusted": column.p_adjusted,
            "method": column.test_method,
        },
        "warn": column.warn,
        "threshold": column.threshold,
        "rows": {"reference": sum(column.reference_counts), "current": sum(column.current_counts)},
        "null_share": {
            "reference": column.null_share_reference,
            "current": column.null_share_current,
        },
        "binning": {
            "method": binning.method,
            "edges": [json_value(e) for e in binning.edges],
            "values": [json_value(v) for v in binning.values],
            "other_categories": len(binning.rest),
            "temporal": binning.temporal,
        },
        "bins": [
            {"label": label, "reference": ref, "current": cur}
            for label, ref, cur in zip(
                column.labels, column.reference_counts, column.current_counts, strict=True
            )
        ],
    }


def metric_fields(column: ColumnDrift) -> dict[str, Any]:
    """Every registered metric's score by its field name, KL's noise floor after KL's score."""
    fields: dict[str, Any] = {}
    for metric, info in METRICS.items():
        fields[info.field] = json_value(column.score(metric))
        if metric is Metric.kl:
            fields["noise_floor"] = column.noise_floor
    return fields


def write(report: DriftReport, out: TextIO) -> None:
    """Write the JSON document to `out`."""
    out.write(dumps(report))
