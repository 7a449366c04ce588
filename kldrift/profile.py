"""Bin definitions fitted on the reference and per-column histograms, computed with polars.

Bins come from the reference only, so both sides share them:

* numeric and temporal columns with more than `discrete_max` distinct reference values get
  quantile edges e1 < ... < ek of the reference (k = bins - 1, equal-frequency bins, linear
  interpolation). The outer bins are open, (-inf, e1] and (ek, +inf), so current values outside the
  reference range are counted; edges that coincide (skewed data) are merged, leaving fewer bins;
* other numeric and temporal columns get one bin per reference value and an "(other)" bin;
* categorical columns get one bin per reference category for the `top_k` most frequent, an
  "(other)" bin for the remaining reference categories and a "(new)" bin for categories the
  reference never had;
* every column has a "(null)" bin holding nulls and NaN, so a change in null rate is drift too.

Temporal values are binned as numbers: microseconds since the epoch (dates, datetimes),
microseconds (durations) or nanoseconds since midnight (times).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from kldrift.config import Kind, Options
from kldrift.io import Table, read_error

Method = Literal["quantile", "discrete", "categories"]
Counts = NDArray[np.int64]

NULL_LABEL = "(null)"
OTHER_LABEL = "(other)"
NEW_LABEL = "(new)"
#: A categorical reference column with more distinct values than this share of its non-null rows
#: (and more than top_k of them) is ID-like: its histogram would be little more than "(other)".
HIGH_CARDINALITY_SHARE = 0.5


@dataclass(frozen=True)
class Binning:
    """How one column is cut into bins; the layout is the same for reference and current.

    Bin order: the value bins (quantile intervals, or one per value), then "(other)" for discrete
    and categorical columns, "(new)" for categorical ones, and "(null)" last.
    """

    kind: Kind
    method: Method
    edges: tuple[float, ...] = ()
    values: tuple[float | str, ...] = ()
    rest: tuple[str, ...] = ()
    temporal: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """One human-readable label per bin."""
        if self.method == "quantile":
            shown = [self._format(e) for e in self.edges]
            if not shown:
                value_bins = ["(all values)"]
            else:
                value_bins = [f"<= {shown[0]}"]
                value_bins += [f"({a}, {b}]" for a, b in zip(shown, shown[1:], strict=False)]
                value_bins.append(f"> {shown[-1]}")
            return (*value_bins, NULL_LABEL)
        extra = (OTHER_LABEL,) if self.method == "discrete" else (OTHER_LABEL, NEW_LABEL)
        return (*(self._format(v) for v in self.values), *extra, NULL_LABEL)

    def _format(self, value: float | str) -> str:
        if isinstance(value, str):
            return value
        return format_value(value, self.temporal)


@dataclass(frozen=True)
class ColumnProfile:
    """A column's binning and its bin counts on one dataset."""

    name: str
    dtype: str
    binning: Binning
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Profile:
    """Every profiled column of one dataset, and its row count."""

    source: str
    rows: int
    columns: dict[str, ColumnProfile]


def null_share(counts: tuple[int, ...]) -> float:
    """Share of counted rows in the last, "(null)", bin (0 when nothing was counted)."""
    total = sum(counts)
    return counts[-1] / total if total else 0.0


def kind_of(dtype: pl.DataType) -> Kind | None:
    """How a polars dtype is binned; None for nested and binary types kldrift cannot bin."""
    if dtype.is_numeric():
        return Kind.numeric
    if dtype.is_temporal():
        return Kind.temporal
    # Null is the type of an all-null Parquet column: every row lands in the "(null)" bin.
    if dtype in (pl.String, pl.Categorical, pl.Enum, pl.Boolean, pl.Null):
        return Kind.categorical
    return None


def high_cardinality(column: ColumnProfile, top_k: int) -> tuple[int, int] | None:
    """(distinct values, non-null rows) of an ID-like categorical reference column, else None."""
    binning = column.binning
    if binning.method != "categories":
        return None
    distinct, rows = len(binning.values) + len(binning.rest), sum(column.counts[:-1])
    if distinct > top_k and distinct > HIGH_CARDINALITY_SHARE * rows:
        return distinct, rows
    return None


def format_value(value: float, temporal: str | None) -> str:
    """A bin edge or value for display: 6 significant digits, or an ISO date/time."""
    if temporal is None:
        if float(value).is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    if temporal in ("date", "datetime"):
        stamp = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=round(value))
        if temporal == "date" or stamp.time() == dt.time(0):
            return stamp.date().isoformat()
        return stamp.isoformat(sep=" ")
    if temporal == "time":
        return (
            (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=value / 1000)).time().isoformat()
        )
    return str(dt.timedelta(microseconds=round(value)))


def fit(table: Table, kinds: Mapping[str, Kind], options: Options) -> dict[str, Binning]:
    """Fit every column's bins on the reference in one polars query."""
    exprs: list[pl.Expr] = []
    for i, (name, kind) in enumerate(kinds.items()):
        if kind is Kind.categorical:
            exprs.append(_as_string(name).drop_nulls().value_counts().implode().alias(f"vc{i}"))
            continue
        x = _as_number(name, table.schema[name])
        exprs.append(
            x.drop_nulls().unique().head(options.discrete_max + 1).implode().alias(f"u{i}")
        )
        if options.bins > 1:
            quantiles = [j / options.bins for j in range(1, options.bins)]
            exprs.append(x.quantile(quantiles, interpolation="linear").alias(f"q{i}"))
    frame = _collect(table, exprs)

    binnings: dict[str, Binning] = {}
    for i, (name, kind) in enumerate(kinds.items()):
        if kind is Kind.categorical:
            binnings[name] = _categories(frame[f"vc{i}"][0], options.top_k)
            continue
        temporal = _temporal_name(table.schema[name])
        distinct = sorted(v for v in frame[f"u{i}"][0].to_list() if v is not None)
        if len(distinct) <= options.discrete_max:
            values = tuple(float(v) for v in distinct)
            binnings[name] = Binning(kind, "discrete", values=values, temporal=temporal)
            continue
        raw = frame[f"q{i}"][0].to_list() if options.bins > 1 else []
        # Quantiles of data holding +-inf can be infinite or NaN; the open outer bins hold those.
        finite = [e for e in raw if e is not None and np.isfinite(e)]
        edges = tuple(float(e) for e in np.unique(finite))
        binnings[name] = Binning(kind, "quantile", edges=edges, temporal=temporal)
    return binnings


def count(table: Table, binnings: Mapping[str, Binning]) -> tuple[int, dict[str, Counts]]:
    """Row count of `table` and its histogram of every column on the given bins, in one query."""
    exprs: list[pl.Expr] = [pl.len().alias("rows")]
    sizes: list[int] = []
    for name, binning in binnings.items():
        column_exprs = _count_exprs(table, name, binning)
        offset = len(exprs)
        exprs += [e.alias(f"c{offset + j}") for j, e in enumerate(column_exprs)]
        sizes.append(len(column_exprs))
    rows, *values = _collect(table, exprs).row(0)

    histograms: dict[str, Counts] = {}
    start = 0
    for name, size in zip(binnings, sizes, strict=True):
        raw = [int(v or 0) for v in values[start : start + size]]
        histograms[name] = _bins_from_raw(binnings[name], raw)
        start += size
    return int(rows), histograms


def build(table: Table, kinds: Mapping[str, Kind], options: Options) -> Profile:
    """Fit bins on `table` and count it: the reference side of a comparison."""
    binnings = fit(table, kinds, options)
    rows, histograms = count(table, binnings)
    columns = {
        name: ColumnProfile(
            name, str(table.schema[name]), binnings[name], tuple(histograms[name].tolist())
        )
        for name in kinds
    }
    return Profile(table.name, rows, columns)


def _count_exprs(table: Table, name: str, binning: Binning) -> list[pl.Expr]:
    if binning.kind is Kind.categorical:
        x = _as_string(name)
    else:
        x = _as_number(name, table.schema[name])
    exprs: list[pl.Expr] = []
    if binning.method == "quantile":
        exprs += [(x <= edge).sum() for edge in binning.edges]
    else:
        exprs += [(x == value).sum() for value in binning.values]
        if binning.method == "categories":
            exprs.append(x.is_in(pl.Series(binning.rest, dtype=pl.String).implode()).sum())
    exprs += [x.count(), x.null_count()]
    return exprs


def _bins_from_raw(binning: Binning, raw: list[int]) -> Counts:
    *body, valid, nulls = raw
    if binning.method == "quantile":
        # body holds #(x <= e_j); differences of the cumulative counts are the interval counts.
        cumulative = np.array([0, *body, valid], dtype=np.int64)
        return np.append(np.diff(cumulative), nulls).astype(np.int64)
    if binning.method == "discrete":
        return np.array([*body, valid - sum(body), nulls], dtype=np.int64)
    *named, rest = body
    return np.array([*named, rest, valid - sum(named) - rest, nulls], dtype=np.int64)


def _categories(value_counts: pl.Series, top_k: int) -> Binning:
    frame = value_counts.struct.unnest()
    value, freq = frame.columns
    # Most frequent first; ties broken by value so the same data always gives the same bins.
    ordered = frame.sort([freq, value], descending=[True, False])[value].to_list()
    return Binning(
        Kind.categorical, "categories", values=tuple(ordered[:top_k]), rest=tuple(ordered[top_k:])
    )


def _as_string(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String)


def _as_number(name: str, dtype: pl.DataType) -> pl.Expr:
    x = pl.col(name)
    if dtype.is_float():
        return x.fill_nan(None)
    if isinstance(dtype, (pl.Date, pl.Datetime)):
        return x.dt.epoch("us").cast(pl.Float64)
    if isinstance(dtype, pl.Duration):
        return x.dt.total_microseconds().cast(pl.Float64)
    if isinstance(dtype, pl.Time):
        return x.cast(pl.Int64).cast(pl.Float64)
    if isinstance(dtype, pl.Decimal):
        return x.cast(pl.Float64)
    return x


def _temporal_name(dtype: pl.DataType) -> str | None:
    for cls, label in [
        (pl.Date, "date"),
        (pl.Datetime, "datetime"),
        (pl.Duration, "duration"),
        (pl.Time, "time"),
    ]:
        if isinstance(dtype, cls):
            return label
    return None


def _collect(table: Table, exprs: list[pl.Expr]) -> pl.DataFrame:
    try:
        return table.frame.select(exprs).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise read_error(table.name, exc) from exc
