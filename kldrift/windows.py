"""Drift per time window: current data cut on a time column, each window against one reference."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any, Literal

import polars as pl

from kldrift import drift, profile, profile_file
from kldrift.errors import ColumnError, InputError, OptionError, ResolutionError
from kldrift.io import polars_message, scan_table
from kldrift.plan import SHOWN_CATEGORIES, reference_name
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
    if spec.pairs is not None:
        raise OptionError("pairs", spec.pairs, "applies to a single comparison, not windows")
    if profile_file.is_profile_source(current):
        raise InputError(
            f"{current}: a profile has no rows to cut into time windows; give CURRENT as data"
        )
    ref = open_reference(reference, spec.read_options)
    cur = scan_table(current, spec.read_options)
    dtype = cur.schema.get(time_column)
    if dtype is None:
        raise ColumnError(time_column, cur.name, setting="time_column")
    if not isinstance(dtype, (pl.Date, pl.Datetime)):
        problem = f"{time_column!r} is {dtype} in {cur.name}; expected a date or datetime"
        raise ColumnError(time_column, cur.name, setting="time_column", problem=problem)
    _check_every(every, time_column, dtype)
    if time_column not in spec.exclude:
        spec = replace(spec, exclude=(*spec.exclude, time_column))
    # The read policy and new categories of drift.compare, window by window.
    streaming, _ = drift.reading(ref, cur, spec)
    # Counted by windows from its own scan, which holds the time column the plan leaves out.
    plan = drift.prepare(ref, cur, spec, streaming, progress, counts_current=False)
    binnings = plan.reference.binnings
    # Grouped on whole units, so that no window start becomes a Python date (years 1 to 9999).
    key = pl.col(time_column).dt.truncate(every).to_physical()
    progress(f"counting {cur.name} by {every} windows")
    groups = profile.count_groups(cur, binnings, key, SHOWN_CATEGORIES, streaming=streaming)
    if not groups:
        raise InputError(f"{cur.name}: no rows with a {time_column!r} value to cut into windows")
    starts = pl.Series([start for start, *_ in groups]).cast(dtype)
    ends = starts.dt.offset_by(every)
    if ends.null_count() or _beyond_int64(starts, every):
        raise OptionError("every", every, "makes windows end after the last date polars can hold")
    start_labels, end_labels = profile.iso_timestamps(starts), profile.iso_timestamps(ends)
    ref_name = reference_name(ref)
    reports = []
    labels = zip(groups, start_labels, end_labels, strict=True)
    for n, ((_, rows, counts, new), start, end) in enumerate(labels):
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
            window=Window(start, end),
            new_categories=new,
        )
        reports.append(drift.recorded(report, cur, spec))
    return tuple(reports)

#: Microseconds in each unit of a polars duration string, months and years at their longest.
_UNIT_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6, "m": 6e7, "h": 3.6e9, "d": 8.64e10}
_UNIT_US |= {"w": 6.048e11, "mo": 2.6784e12, "q": 7.9488e12, "y": 3.16224e13}


def _beyond_int64(starts: pl.Series, every: str) -> bool:
    """Whether the last window's end overflows the Int64 polars adds `every` in (and wraps)."""
    spans = re.findall(r"(\d+)(ns|us|ms|mo|s|m|h|d|w|q|y)", every)
    span = sum(int(n) * _UNIT_US[unit] for n, unit in spans)
    dtype = starts.dtype
    unit = (dtype.time_unit or "us") if isinstance(dtype, pl.Datetime) else "d"
    last = float(starts.to_physical().max()) * _UNIT_US[unit]  # type: ignore[arg-type]
    # polars adds to dates in microseconds.
    return last + span >= 2.0**63 * _UNIT_US["us" if unit == "d" else unit]


#: Nanoseconds in each unit of a polars duration string shorter than a day.
_SUB_DAY_NS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_DAY_NS = 86_400 * 10**9


#: What each time unit a column may hold is called in a message, and a duration it takes.
_RESOLUTIONS = {
    "ns": ("a nanosecond", "any duration"),
    "us": ("a microsecond", "whole microseconds, such as 1us, 1ms or 1s"),
    "ms": ("a millisecond", "whole milliseconds, such as 1ms or 1s"),
    "d": ("a day", "whole days, such as 1d, 7d, 1w or 1mo"),
}


def _time_unit(dtype: pl.DataType) -> Literal["ns", "us", "ms", "d"]:
    """The unit a date ("d") or datetime ("ns", "us", "ms") column counts time in."""
    if isinstance(dtype, pl.Datetime):
        return dtype.time_unit or "us"
    return "d"


def _check_resolution(every: str, time_column: str, unit: str) -> None:
    """Refuse an `every` that is not a whole number of the time column's `unit`, which polars
    would cut on whole units anyway: a date column into daily windows (6h), into windows that
    end where they start, or not at all (1d6h); a millisecond column on 1ms for 1500us."""
    spans = re.findall(r"(\d+)(ns|us|ms|mo|s|m|h|d|w|q|y)", every)
    sub_day = sum(int(n) * _SUB_DAY_NS[u] for n, u in spans if u in _SUB_DAY_NS)
    step = _DAY_NS if unit == "d" else _SUB_DAY_NS[unit]
    if sub_day % step:
        resolution, whole = _RESOLUTIONS[unit]
        raise ResolutionError(
            "every",
            every,
            column=time_column,
            kind="date" if unit == "d" else f"datetime[{unit}]",
            resolution=resolution,
            hint=f"give {whole}",
        )
    if unit == "d" and sub_day and any(int(n) for n, u in spans if u not in _SUB_DAY_NS):
        rule = "mixes hours (or less) with days or more, which polars cannot cut a date column on"
        raise OptionError("every", every, rule + "; give whole days, such as 2d")


def _check_every(every: str, time_column: str, dtype: pl.DataType) -> None:
    # In the column's unit (a date's in microseconds), so that 1ns is a duration for a
    # nanosecond column, and 300y for a microsecond one.
    unit = _time_unit(dtype)
    start = pl.lit(dt.datetime(2000, 1, 1)).cast(pl.Datetime("us" if unit == "d" else unit))
    try:
        later = pl.select(start.dt.offset_by(every) > start.dt.truncate(every)).item()
    except (pl.exceptions.PolarsError, ValueError) as exc:
        rule = f"must be a polars duration such as 1d, 6h, 1w or 1mo ({polars_message(exc)})"
        raise OptionError("every", every, rule) from None
    _check_resolution(every, time_column, unit)
    if not later:
        raise OptionError("every", every, "must be a positive duration such as 1d or 6h")
