"""Drift per time window: current data cut on a time column, each window against one reference."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import polars as pl

from kldrift import drift, profile
from kldrift.errors import ColumnError, InputError, OptionError
from kldrift.io import polars_message, scan_table
from kldrift.plan import reference_name
from kldrift.reference import DataSource, ReferenceSource, open_reference
from kldrift.result import DriftReport, Window
from kldrift.spec import Spec, with_changes
from kldrift.steps import Progress, silent


def compare_windows(
    reference: ReferenceSource,
    current: DataSource,
    spec: Spec | None = None,
    *,
    time_column: str,
    every: str,
    progress: Progress = silent,
    **changes: Any,
) -> tuple[DriftReport, ...]:
    """Compare each `every`-long window of CURRENT on `time_column` with REFERENCE, oldest first.

    Each report's `window` holds its [start, end). Windows are aligned on
    `time_column.dt.truncate(every)` (polars duration strings: "1d", "6h", "1w", "1mo"); only
    windows holding rows are reported, and rows without a time are left out. The time column
    itself is not compared: its values move with time by design. The reference is fitted (or
    loaded) once and every window is counted in one query. `spec` and keyword arguments are as
    for `kldrift.compare`; `progress` is told each step, and each window as it is scored.
    """
    spec = with_changes(spec, changes)
    ref = open_reference(reference, spec.read_options)
    cur = scan_table(current, spec.read_options)
    dtype = cur.schema.get(time_column)
    if dtype is None:
        raise ColumnError(time_column, cur.name, setting="time_column")
    if not isinstance(dtype, (pl.Date, pl.Datetime)):
        problem = f"{time_column!r} is {dtype} in {cur.name}; expected a date or datetime"
        raise ColumnError(time_column, cur.name, setting="time_column", problem=problem)
    _check_every(every)
    if time_column not in spec.exclude:
        spec = replace(spec, exclude=(*spec.exclude, time_column))
    plan = drift.prepare(ref, cur, spec, note=progress)
    binnings = {name: p.binning for name, p in plan.reference.columns.items()}
    key = pl.col(time_column).dt.truncate(every)
    progress(f"counting {cur.name} by {every} windows")
    groups = profile.count_groups(cur, binnings, key)
    if not groups:
        raise InputError(f"{cur.name}: no rows with a {time_column!r} value to cut into windows")
    starts = pl.Series([start for start, _, _ in groups], dtype=dtype)
    ends = starts.dt.offset_by(every).to_list()
    ref_name = reference_name(ref)
    reports = []
    for n, ((start, rows, counts), end) in enumerate(zip(groups, ends, strict=True)):
        progress("scoring windows", n, len(groups))
        report = drift.assemble(
            ref_name,
            plan.reference,
            cur.name,
            rows,
            counts,
            plan.options,
            spec.thresholds,
            plan.schema,
            spec.gate,
            window=Window(_iso(start), _iso(end)),
        )
        reports.append(drift.recorded(report, cur, spec))
    return tuple(reports)


def _check_every(every: str) -> None:
    start = pl.lit(dt.datetime(2000, 1, 1))
    try:
        later = pl.select(start.dt.offset_by(every) > start.dt.truncate(every)).item()
    except (pl.exceptions.PolarsError, ValueError) as exc:
        rule = f"must be a polars duration such as 1d, 6h, 1w or 1mo ({polars_message(exc)})"
        raise OptionError("every", every, rule) from None
    if not later:
        raise OptionError("every", every, "must be a positive duration such as 1d or 6h")


def _iso(value: dt.date | dt.datetime) -> str:
    return value.isoformat()
