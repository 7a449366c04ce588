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

Numeric columns of a reference with more than FIT_SAMPLE_ROWS rows are fitted on an evenly spaced
sample of that many rows (every k-th row): the quantile edges, and whether the column has few
enough distinct values to be discrete. Each edge then lands within about 0.2% of its exact
quantile (standard error sqrt(p(1-p)/n) <= 0.0016), and a value too rare to be sampled falls in
"(other)". Both sides share the bins, so a slightly unequal bin is still compared exactly; the
sample only spares sorting every row (quantiles of 20 columns: 0.21 s on 500,000 rows, 0.05 s on
100,000). Category counts and all histograms use every row.

Temporal values are binned as numbers: microseconds since the epoch (dates, datetimes),
microseconds (durations) or nanoseconds since midnight (times).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from kldrift.errors import ColumnError, InputError
from kldrift.io import Table, batches, read_error
from kldrift.options import Kind, Options

if TYPE_CHECKING:
    from polars._typing import EngineType

Method = Literal["quantile", "discrete", "categories"]
Counts = NDArray[np.int64]

#: Rows of the reference that quantile edges are estimated from (see the module docstring).
FIT_SAMPLE_ROWS = 100_000
#: Engine for the fit's sample queries. polars' default engine (streaming, in polars 2) sorts
#: for quantiles at about 3 times the CPU of the in-memory one: 5.5 s against 3.1 s for the
#: 800 numeric columns of a 1,000-column table, and the share grows with the column count.
SAMPLE_ENGINE: EngineType = "in-memory"

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
    """Every profiled column of one dataset, and its row count.

    `options` are the binning options the bins were fitted with and `schema` every column of the
    dataset (name, dtype) in order, binned or not; both are recorded when a profile is meant to
    stand in for its dataset (see `kldrift.drift.profile_data`).
    """

    source: str
    rows: int
    columns: dict[str, ColumnProfile]
    options: Options | None = None
    schema: tuple[tuple[str, str], ...] = ()


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


def fit(
    table: Table, kinds: Mapping[str, Kind], options: Options, rows: int | None, streaming: bool
) -> tuple[dict[str, Binning], dict[str, pl.DataFrame]]:
    """Bins, and the value counts of the categorical columns (their reference histogram).

    Numeric columns are fitted on the evenly spaced sample (see FIT_SAMPLE_ROWS): quantile
    edges and a distinct-value estimate in one query, and exact distinct values for the few
    that may be discrete. Categorical columns are value-counted on every row, one group-by
    each; polars runs them all in one pass with `collect_all` (with the sample query too when
    streaming, so the files are scanned once).
    """
    if rows is None:
        rows = int(_collect(table, [pl.len()], streaming).item())
    sample = _every(table, max(1, math.ceil(rows / FIT_SAMPLE_ROWS)))
    levels = [j / options.bins for j in range(1, options.bins)]
    numbers: list[pl.Expr] = []
    for i, (name, kind) in enumerate(kinds.items()):
        if kind is not Kind.categorical:
            x = _as_number(name, table.schema[name])
            # HyperLogLog is exact enough at small counts to rule a column in or out as
            # discrete; only the candidates get an exact look below.
            numbers.append(x.drop_nulls().approx_n_unique().alias(f"n{i}"))
            if levels:
                numbers.append(x.quantile(levels, interpolation="linear").alias(f"q{i}"))
    categories = [name for name, kind in kinds.items() if kind is Kind.categorical]
    queries = [_group_count(table, name) for name in categories]
    if streaming:  # one scan of the files for both
        *counted, estimates = _collect_all(table, [*queries, sample.frame.select(numbers)], True)
    else:
        counted = _collect_all(table, queries, False)
        estimates = _collect(sample, numbers, False, SAMPLE_ENGINE)
    value_tables = dict(zip(categories, counted, strict=True))
    distinct = _distinct_values(sample, kinds, estimates, options.discrete_max, streaming)

    binnings: dict[str, Binning] = {}
    for i, (name, kind) in enumerate(kinds.items()):
        if kind is Kind.categorical:
            binnings[name] = _categories(value_tables[name], options.top_k)
            continue
        temporal = _temporal_name(table.schema[name])
        if name in distinct:
            values = tuple(float(v) for v in distinct[name])
            binnings[name] = Binning(kind, "discrete", values=values, temporal=temporal)
            continue
        raw = estimates[f"q{i}"][0].to_list() if levels else []
        # Quantiles of data holding +-inf can be infinite or NaN; the open outer bins hold those.
        finite = [e for e in raw if e is not None and np.isfinite(e)]
        edges = tuple(float(e) for e in np.unique(finite))
        binnings[name] = Binning(kind, "quantile", edges=edges, temporal=temporal)
    return binnings, value_tables


def load(tables: Sequence[Table], columns: Sequence[str]) -> list[Table]:
    """`tables` with these columns read into memory, so later queries do not read the files.

    polars reads them side by side in one collect_all: at 1M Parquet rows a side, both take
    0.23 s instead of 0.42 s one after the other in a warm process (less of a gain in a fresh
    one, where faulting in new memory costs as much as decoding).
    """
    if len(tables) > 1:
        try:
            frames = pl.collect_all([t.frame.select(columns) for t in tables])
            return [_loaded(t, f) for t, f in zip(tables, frames, strict=True)]
        except (pl.exceptions.PolarsError, OSError):
            pass  # read them one at a time below, so that the error names its file
    exprs = [pl.col(name) for name in columns]
    return [_loaded(t, _collect(t, exprs, streaming=False)) for t in tables]


def _loaded(table: Table, frame: pl.DataFrame) -> Table:
    return Table(table.name, frame.lazy(), table.schema, loaded=True)


def _every(table: Table, step: int) -> Table:
    """Every `step`-th row of `table`, starting with the first, by a filter streaming can run."""
    if step == 1:
        return table
    rows = table.frame.with_row_index("#row").filter(pl.col("#row") % step == 0)
    return Table(table.name, rows, table.schema, table.memory)


def _distinct_values(
    table: Table, kinds: Mapping[str, Kind], estimates: pl.DataFrame, limit: int, streaming: bool
) -> dict[str, list[float]]:
    """Sorted distinct values of the numeric columns that have at most `limit` of them."""
    candidates = [
        name
        for i, (name, kind) in enumerate(kinds.items())
        if kind is not Kind.categorical and estimates[f"n{i}"][0] <= 2 * limit + 10
    ]
    if not candidates:
        return {}
    exprs = [
        _as_number(name, table.schema[name]).drop_nulls().unique().head(limit + 1).implode()
        for name in candidates
    ]
    frame = _collect(
        table, [e.alias(f"u{j}") for j, e in enumerate(exprs)], streaming, SAMPLE_ENGINE
    )
    found = {name: sorted(frame[f"u{j}"][0].to_list()) for j, name in enumerate(candidates)}
    return {name: values for name, values in found.items() if len(values) <= limit}


def count(
    table: Table, binnings: Mapping[str, Binning], *, streaming: bool = False
) -> tuple[int, dict[str, Counts]]:
    """Row count of `table` and its histogram of every column on the given bins, in one pass.

    Numeric columns are counted by one select of comparisons with the edges; each categorical
    column by a group-by (several times faster than value_counts inside a select). polars runs
    them together with `collect_all`, sharing one scan of the data (of one batch of columns, for
    a wide Parquet table: `io.batches`).
    """
    if not streaming and len(parts := batches(table, list(binnings))) > 1:
        counted = [count(table, {n: binnings[n] for n in part}) for part in parts]
        return counted[0][0], {n: h for _, part in counted for n, h in part.items()}
    if binnings and not streaming and not table.shared_scans:
        table = load([table], list(binnings))[0]  # parse a text file once, not once per query
    numbers = {n: b for n, b in binnings.items() if b.method != "categories"}
    categories = [n for n, b in binnings.items() if b.method == "categories"]
    exprs = [pl.len().alias("rows"), *_number_exprs(table, numbers)]
    frames = _collect_all(
        table,
        [table.frame.select(exprs), *(_group_count(table, name) for name in categories)],
        streaming,
    )
    histograms = _number_histograms(frames[0], 0, numbers)
    for name, counts in zip(categories, frames[1:], strict=True):
        histograms[name] = _category_counts(binnings[name], counts)
    return int(frames[0]["rows"][0]), {name: histograms[name] for name in binnings}


def build(
    table: Table, kinds: Mapping[str, Kind], options: Options, *, streaming: bool = False
) -> Profile:
    """Fit bins on `table` and count it: the reference side of a comparison.

    By default the compared columns are read once into memory, so fitting and counting do not
    read the files twice; a wide Parquet table a batch of columns at a time (`io.batches`).
    With `streaming`, nothing is held whole: polars' streaming engine reads the data in several
    passes (row count, fit, distinct values, counts), in bounded memory.
    """
    if not streaming and len(parts := batches(table, list(kinds))) > 1:
        built = [build(table, {n: kinds[n] for n in part}, options) for part in parts]
        columns = {name: c for part in built for name, c in part.columns.items()}
        return Profile(table.name, built[0].rows, columns)
    rows = None
    if kinds and not streaming:
        if not table.loaded:
            table = load([table], list(kinds))[0]
        rows = int(_collect(table, [pl.len()], streaming).item())
    binnings, value_tables = fit(table, kinds, options, rows, streaming)
    # The fit's category counts already are the reference histograms of categorical columns.
    numbers = {n: b for n, b in binnings.items() if n not in value_tables}
    rows, histograms = count(table, numbers, streaming=streaming)
    for name, counts in value_tables.items():
        histograms[name] = _category_counts(binnings[name], counts)
    columns = {
        name: ColumnProfile(
            name, str(table.schema[name]), binnings[name], tuple(histograms[name].tolist())
        )
        for name in kinds
    }
    return Profile(table.name, rows, columns)


def count_groups(
    table: Table, binnings: Mapping[str, Binning], key: pl.Expr
) -> list[tuple[Any, int, dict[str, Counts]]]:
    """(key, rows, histograms) for each group of rows sharing `key`, in key order, in one query.

    Rows whose key is null belong to no group.
    """
    numbers = {n: b for n, b in binnings.items() if b.method != "categories"}
    categories = [n for n, b in binnings.items() if b.method == "categories"]
    exprs = [
        pl.len().alias("rows"),
        *_number_exprs(table, numbers),
        *(pl.col(n).value_counts(name=f"{n}#n").alias(f"vc{n}") for n in categories),
    ]
    try:
        frame = (
            table.frame.group_by(key.alias("__key"))
            .agg(exprs)
            .drop_nulls("__key")
            .sort("__key")
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise read_error(table.name, exc) from exc
    groups: list[tuple[Any, int, dict[str, Counts]]] = []
    for row in range(frame.height):
        histograms = _number_histograms(frame, row, numbers)
        for name in categories:
            counts = _value_table(frame[f"vc{name}"][row])
            histograms[name] = _category_counts(binnings[name], counts)
        groups.append((frame["__key"][row], int(frame["rows"][row]), histograms))
    return groups


def recount(table: Table, reference: Profile) -> Profile:
    """Profile `table` on the bins of `reference` (same columns, options and bins, new counts)."""
    for name, column in reference.columns.items():
        if name not in table.schema:
            problem = f"{table.name}: no column {name!r}, which the profile bins"
            raise ColumnError(name, table.name, problem=problem)
        kind = kind_of(table.schema[name])
        if kind is None or (
            kind is not column.binning.kind and column.binning.kind is not Kind.categorical
        ):
            problem = (
                f"{table.name}: column {name!r} is {table.schema[name]}, "
                f"but the profile bins it as {column.binning.kind.value}"
            )
            raise ColumnError(name, table.name, problem=problem)
    binnings = {name: column.binning for name, column in reference.columns.items()}
    rows, histograms = count(table, binnings)
    if rows == 0:
        raise InputError(f"{table.name}: no rows to profile")
    columns = {
        name: ColumnProfile(
            name, str(table.schema[name]), binnings[name], tuple(histograms[name].tolist())
        )
        for name in binnings
    }
    schema = tuple(
        (name, str(table.schema[name])) for name, _ in reference.schema if name in table.schema
    )
    return Profile(table.name, rows, columns, reference.options, schema)


def merge(profiles: Sequence[Profile]) -> Profile:
    """Add up the counts of profiles made on the same bins (for instance partitions of one dataset).

    Raises InputError when the profiles differ in columns, dtypes, binning options or bins.
    """
    if not profiles:
        raise ValueError("merge needs at least one profile")
    first, *others = profiles
    for other in others:
        _check_mergeable(first, other)
    columns = {
        name: replace(
            column,
            counts=tuple(
                int(sum(counts))
                for counts in zip(*(p.columns[name].counts for p in profiles), strict=True)
            ),
        )
        for name, column in first.columns.items()
    }
    source = " + ".join(p.source for p in profiles)
    return Profile(source, sum(p.rows for p in profiles), columns, first.options, first.schema)


def binning_options(options: Options | None) -> dict[str, object]:
    """The options that decide bins (bins, top_k, discrete_max, categorical), by name."""
    options = options or Options()
    return {
        "bins": options.bins,
        "top_k": options.top_k,
        "discrete_max": options.discrete_max,
        "categorical": tuple(sorted(options.categorical)),
    }


def _check_mergeable(first: Profile, other: Profile) -> None:
    why = f"{other.source} cannot be merged with {first.source}:"
    hint = "profiles merge only when made on the same bins (profile each part with --bins-from)"
    if binning_options(first.options) != binning_options(other.options):
        raise InputError(f"{why} binning options differ; {hint}")
    if list(first.columns) != list(other.columns):
        raise InputError(f"{why} they profile different columns; {hint}")
    if first.schema != other.schema:
        raise InputError(f"{why} column types differ ({_schema_diff(first, other)}); {hint}")
    for name, column in first.columns.items():
        if column.binning != other.columns[name].binning:
            raise InputError(f"{why} column {name!r} has different bins; {hint}")


def _schema_diff(first: Profile, other: Profile) -> str:
    a, b = dict(first.schema), dict(other.schema)
    for name in a.keys() | b.keys():
        if a.get(name) != b.get(name):
            return f"{name}: {a.get(name)} vs {b.get(name)}"
    return "column order"


def _number_exprs(table: Table, binnings: Mapping[str, Binning]) -> list[pl.Expr]:
    """Counts that histogram numeric columns, decoded by `_number_histograms`.

    Per column: #(x <= e) for each edge (or #(x == v) for each value), the non-null count,
    the null count and the NaN count. NaN compares false and is counted apart rather than
    turned into null first, which would copy every float column.
    """
    exprs: list[pl.Expr] = []
    for i, (name, binning) in enumerate(binnings.items()):
        dtype = table.schema[name]
        x = pl.col(name) if dtype.is_float() else _as_number(name, dtype)
        if binning.method == "quantile":
            tests = [(x <= edge).sum() for edge in binning.edges]
        else:
            tests = [(x == value).sum() for value in binning.values]
        nans = x.is_nan().sum() if dtype.is_float() else pl.lit(0)
        column = [*tests, x.count(), x.null_count(), nans]
        exprs += [e.alias(f"c{i}_{j}") for j, e in enumerate(column)]
    return exprs


def _number_histograms(
    frame: pl.DataFrame, row: int, binnings: Mapping[str, Binning]
) -> dict[str, Counts]:
    """Decode one row of a frame computed from `_number_exprs`."""
    histograms: dict[str, Counts] = {}
    for i, (name, binning) in enumerate(binnings.items()):
        tests = len(binning.edges) if binning.method == "quantile" else len(binning.values)
        *body, present, nulls, nans = [int(frame[f"c{i}_{j}"][row] or 0) for j in range(tests + 3)]
        valid, nulls = present - nans, nulls + nans
        if binning.method == "quantile":
            # body holds #(x <= e_j); differences of the cumulative counts are the intervals.
            cumulative = np.array([0, *body, valid], dtype=np.int64)
            histograms[name] = np.append(np.diff(cumulative), nulls).astype(np.int64)
        else:
            histograms[name] = np.array([*body, valid - sum(body), nulls], dtype=np.int64)
    return histograms


def _group_count(table: Table, name: str) -> pl.LazyFrame:
    """Rows per distinct value of one column (nulls included), as (value, n)."""
    return table.frame.group_by(pl.col(name).alias("value")).agg(pl.len().alias("n"))


def _value_table(cell: pl.Series) -> pl.DataFrame:
    """The value counts of one column (a list of structs from value_counts) as (value, n)."""
    frame = cell.struct.unnest()
    value, n = frame.columns
    return frame.select(pl.col(value).alias("value"), pl.col(n).alias("n"))


def _category_counts(binning: Binning, counts: pl.DataFrame) -> Counts:
    """A categorical column's histogram from its (value, n) counts."""
    table = counts.select(pl.col("value").cast(pl.String), pl.col("n"))
    top = len(binning.values)
    index = {v: i for i, v in enumerate(binning.values)} | dict.fromkeys(binning.rest, top)
    bins = table.select(
        pl.when(pl.col("value").is_null())
        .then(top + 2)
        .otherwise(pl.col("value").replace_strict(index, default=top + 1, return_dtype=pl.Int64))
    ).to_series()
    weights = table["n"].to_numpy()
    histogram: Counts = np.bincount(bins.to_numpy(), weights, minlength=top + 3).astype(np.int64)
    return histogram


def _categories(counts: pl.DataFrame, top_k: int) -> Binning:
    table = counts.select(pl.col("value").cast(pl.String), pl.col("n")).drop_nulls("value")
    # Most frequent first; ties broken by value so the same data always gives the same bins.
    ordered = table.sort(["n", "value"], descending=[True, False])["value"].to_list()
    return Binning(
        Kind.categorical, "categories", values=tuple(ordered[:top_k]), rest=tuple(ordered[top_k:])
    )


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


def _collect_all(table: Table, queries: list[pl.LazyFrame], streaming: bool) -> list[pl.DataFrame]:
    try:
        return pl.collect_all(queries, engine="streaming" if streaming else "auto")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise read_error(table.name, exc) from exc


def _collect(
    table: Table, exprs: list[pl.Expr], streaming: bool, engine: EngineType = "auto"
) -> pl.DataFrame:
    try:
        return table.frame.select(exprs).collect(engine="streaming" if streaming else engine)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise read_error(table.name, exc) from exc
