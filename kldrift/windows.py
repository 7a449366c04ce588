"""Drift per time window: current data cut on a time column, each window against one reference."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from kldrift import drift, profile, profile_file
from kldrift.config import Gate, Options, Thresholds
from kldrift.drift import DataSource, DriftReport, ReferenceSource
from kldrift.errors import ColumnError, InputError, OptionError
from kldrift.io import ReadOptions, polars_message, scan_table


@dataclass(frozen=True)
class WindowReport:
    """The comparison of one time window [start, end) of the current data with the reference."""

    start: str
    end: str
    report: DriftReport


def compare_windows(
    reference: ReferenceSource,
    current: DataSource,
    *,
    time_column: str,
    every: str,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    options: Options | None = None,
    thresholds: Thresholds | None = None,
    read_options: ReadOptions | None = None,
    gate: Gate | None = None,
) -> tuple[WindowReport, ...]:
    """Compare each `every`-long window of CURRENT on `time_column` with REFERENCE, oldest first.

    Windows are aligned on `time_column.dt.truncate(every)` (polars duration strings: "1d",
    "6h", "1w", "1mo"); only windows holding rows are reported, and rows without a time are left
    out. The time column itself is not compared: its values move with time by design. The
    reference is fitted (or loaded) once and every window is counted in one query.
    """
    thresholds = thresholds or Thresholds()
    if profile_file.is_profile_source(current):
        raise OptionError(
            f"{current}: a profile has no rows to cut into time windows; give CURRENT as data"
        )
    ref = drift.open_reference(reference, read_options)
    cur = scan_table(current, read_options)
    dtype = cur.schema.get(time_column)
    if dtype is None:
        raise ColumnError(f"--time-column: no column {time_column!r} in {cur.name}")
    if not isinstance(dtype, (pl.Date, pl.Datetime)):
        raise ColumnError(
            f"--time-column {time_column!r} is {dtype} in {cur.name}; expected a date or datetime"
        )
    _check_every(every)
    if time_column not in exclude:
        exclude = (*exclude, time_column)
    plan = drift.prepare(ref, cur, columns, exclude, options, thresholds)
    binnings = {name: p.binning for name, p in plan.reference.columns.items()}
    key = pl.col(time_column).dt.truncate(every)
    groups = profile.count_groups(cur, binnings, key)
    if not groups:
        raise InputError(f"{cur.name}: no rows with a {time_column!r} value to cut into windows")
    starts = pl.Series([start for start, _, _ in groups], dtype=dtype)
    ends = starts.dt.offset_by(every).to_list()
    ref_name = drift.reference_name(ref)
    return tuple(
        WindowReport(
            _iso(start),
            _iso(end),
            drift.assemble(
                ref_name,
                plan.reference,
                cur.name,
                rows,
                counts,
                plan.options,
                thresholds,
                plan.schema,
                gate,
            ),
        )
        for (start, rows, counts), end in zip(groups, ends, strict=True)
    )


def _check_every(every: str) -> None:
    start = pl.lit(dt.datetime(2000, 1, 1))
    try:
        later = pl.select(start.dt.offset_by(every) > start.dt.truncate(every)).item()
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise OptionError(
            f"--every {every!r}: not a polars duration such as 1d, 6h, 1w or 1mo "
            f"({polars_message(exc)})"
        ) from None
    if not later:
        raise OptionError(f"--every {every!r}: expected a positive duration such as 1d or 6h")


def _iso(value: dt.date | dt.datetime) -> str:
    return value.isoformat()
