"""Profiles counted by Apache Spark: kldrift's bins and counts, computed in Spark SQL.

`profile(df, bins_from=...)` counts every column of a Spark DataFrame on a profile's bins in one
aggregation of Spark SQL expressions: nothing of kldrift, polars or Python runs on the executors,
so it works on any cluster, over Spark Connect and on shared Databricks compute. Without
`bins_from`, the bins are fitted as kldrift fits them: the evenly spaced sample of the rows is
brought to the driver and fitted with kldrift's own code, the categories are counted in Spark.
The result equals `kldrift profile` on the same rows, count for count; docs/profile-format.md
lists the rules ("Counting with another engine") that make it so.

pyspark is imported only inside the functions: install it with `pip install 'kldrift[spark]'`.
"""

from __future__ import annotations

import codecs
import glob
import importlib
import math
import os
import re
import socket
import urllib.parse
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from kldrift import profile_file
from kldrift.errors import ColumnError, InputError, OptionError
from kldrift.io import (
    FORMATS,
    POLARS_ENCODINGS,
    ReadOptions,
    Table,
    csv_separator,
    partition_keys,
    scan_table,
)
from kldrift.options import Kind, Options
from kldrift.plan import plan_columns
from kldrift.profile import (
    FIT_SAMPLE_ROWS,
    Binning,
    ColumnProfile,
    Profile,
    ValueRange,
    _categories,
    _tail_singletons,
    fit,
    has_range,
    kind_of,
    ranked,
    value_text,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

#: The source name of a profile made from a DataFrame passed in by a caller.
DATAFRAME = "<Spark DataFrame>"
_MICROS_PER_DAY = 86_400_000_000
#: monotonically_increasing_id() keeps a row's partition above this bit, its place below.
_PARTITION_SHIFT = 33
#: Spark readers by kldrift's format names; Spark reads ORC and Delta too.
_READERS = {"csv": "csv", "tsv": "csv", "parquet": "parquet", "ndjson": "json", "orc": "orc"}
#: Spark's own master forms (local, local[N], local[N,F], local-cluster[N,C,M], yarn) or a URL.
_MASTER = re.compile(
    r"local(\[(\*|[1-9]\d*)(,\s*\d+)?\])?|local-cluster\[\d+,\s*\d+,\s*\d+\]|yarn"
    r"|[a-z][a-z0-9+.-]*://\S+"
)
_MASTER_RULE = (
    "must be a Spark master (local[N], spark://HOST:PORT, yarn, k8s://URL) or sc://HOST:PORT"
)
#: The encodings Spark reads CSV in, by Python's codec names (kldrift's --encoding): Spark's
#: names. Spark decodes invalid UTF-8 as U+FFFD, as kldrift's utf8-lossy does.
_SPARK_CHARSETS = {
    "utf-8": "UTF-8",
    "iso8859-1": "ISO-8859-1",
    "ascii": "US-ASCII",
    "utf-16": "UTF-16",
    "utf-16-be": "UTF-16BE",
    "utf-16-le": "UTF-16LE",
    "utf-32": "UTF-32",
}
#: Spark Connect's port where the URL names none, and the seconds to wait for its TCP handshake.
CONNECT_PORT = 15002
CONNECT_TIMEOUT = 10.0
#: Environment variables (also upper case) through which gRPC reaches a server by a proxy.
_PROXY_VARIABLES = ("grpc_proxy", "https_proxy", "http_proxy")
#: What Spark Connect's client needs beside pyspark: pyspark's own `connect` extra.
CONNECT_INSTALL = "pip install 'kldrift[spark-connect]'"


def session(master: str | None = None) -> SparkSession:
    """The Spark session to profile with: the active one, or one on `master`.

    `master` is any Spark master URL (`local[4]`, `spark://host:7077`, `yarn`) or a Spark
    Connect URL (`sc://host:15002`). Without it, the active session (a notebook's, a Databricks
    job's) or a new local one.
    """
    from pyspark.sql import SparkSession

    check_master(master)
    active = SparkSession.getActiveSession()
    if active is not None and master in (None, _master(active)):
        return active
    builder: Any = SparkSession.builder.appName("kldrift")
    if master is not None and master.startswith("sc://"):
        check_connect_server(master)
        builder = builder.remote(master)
    else:
        if master is not None:
            builder = builder.master(master)
        # A command-line run reports on stdout and one line on stderr, not Spark's chatter.
        builder = builder.config("spark.log.level", "ERROR")
        builder = builder.config("spark.ui.showConsoleProgress", "false")
    with _starting(master), warnings.catch_warnings():
        # pyspark's Connect client warns on every start that it does not yet fully support
        # pandas 3, which it uses only for toPandas(); kldrift never calls it.
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
        started: SparkSession = builder.getOrCreate()
    return started


def check_master(master: str | None) -> None:
    """Raise OptionError unless `master` has the form of a Spark master or Connect URL.

    Spark itself is left to judge the rest (a host, a cluster manager's settings), so a
    custom cluster manager's `scheme://...` passes; a bare `host:7077` does not."""
    if master is not None and not _MASTER.fullmatch(master):
        raise OptionError("spark_master", shown_master(master), _MASTER_RULE)


def check_connect_server(master: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise InputError if nothing takes a TCP connection at Spark Connect URL `master`.

    pyspark's Connect client retries an unavailable server for about ten minutes, in silence,
    which is right for a server that is starting (a cluster waking up answers, then says it is
    unavailable) but not for a port nobody listens on or a host that does not resolve: those
    are said at once. Behind a proxy (grpc_proxy, https_proxy, http_proxy) the server is not
    reached directly, so it is left to the client.
    """
    if any(os.environ.get(v) for n in _PROXY_VARIABLES for v in (n, n.upper())):
        return
    try:
        parts = urllib.parse.urlsplit(master.split("/;", 1)[0])
        host, port = parts.hostname, parts.port or CONNECT_PORT
    except ValueError:
        raise OptionError("spark_master", shown_master(master), _MASTER_RULE) from None
    if not host:
        raise OptionError("spark_master", shown_master(master), _MASTER_RULE)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        where = shown_master(master)
        raise InputError(f"{where}: no Spark session: cannot connect: {why}") from None


def shown_master(master: str) -> str:
    """`master` fit for a message: no `user:password@`, no Connect parameters (`/;token=...`)."""
    return re.sub(r"//[^/@]*@", "//", master.split("/;", 1)[0])


def read(spark: SparkSession, source: str, options: ReadOptions | None = None) -> DataFrame:
    """`source` read by Spark: a file, directory or glob (by its suffix), or a table name.

    A name with no suffix and no path separator that is not a local path is a table
    (`catalog.schema.table`); a local directory with a `_delta_log` is a Delta table.
    """
    options = options or ReadOptions()
    fmt = _format(source)
    with _reading(source):
        if fmt is None:
            return spark.table(source)
        if fmt != "csv":
            return spark.read.format(fmt).load(source)
        return _read_csv(spark, source, options)


def _read_csv(spark: SparkSession, source: str, options: ReadOptions) -> DataFrame:
    """`source` read by Spark as kldrift reads it: a header line, the same encoding, and, for a
    source on this machine, kldrift's own separator and column types (a column of small
    integers is Int64 on both, a column of ISO dates a Date, a value that does not parse an
    error). Elsewhere (HDFS, s3a://), the separator given (else "," or a tab for .tsv) and the
    types Spark infers, its 32-bit and smaller integers widened to Int64 as polars reads them.
    """
    charset = _SPARK_CHARSETS.get(_codec_name(options.encoding))
    if charset is None:
        rule = f"is not one Spark reads CSV in ({', '.join(_SPARK_CHARSETS)})"
        raise OptionError("encoding", options.encoding, rule)
    reader = spark.read.format("csv").options(header=True, encoding=charset)
    if os.path.exists(source) or (set("*?[") & set(source) and glob.glob(source, recursive=True)):
        struct = _spark_schema(scan_table(source, options).schema)
        if struct is not None:
            reader = reader.options(sep=csv_separator(source, options), mode="FAILFAST")
            return reader.schema(struct).load(source)
    sep = options.separator or ("\t" if source.lower().endswith(".tsv") else ",")
    df = reader.options(sep=sep, inferSchema=True).load(source)
    from pyspark.sql import types as T

    small = (T.ByteType, T.ShortType, T.IntegerType)
    return df.select(
        [
            df[f.name].cast("bigint").alias(f.name) if isinstance(f.dataType, small) else df[f.name]
            for f in df.schema.fields
        ]
    )


def _codec_name(encoding: str) -> str:
    return "utf-8" if encoding in POLARS_ENCODINGS else codecs.lookup(encoding).name


def _spark_schema(schema: pl.Schema) -> StructType | None:
    """The Spark types of the columns kldrift reads from a CSV file (None if one has none)."""
    from pyspark.sql import types as T

    fields = []
    for name, dtype in schema.items():
        if isinstance(dtype, pl.Datetime):
            spark_type: Any = T.TimestampNTZType() if dtype.time_zone is None else None
        else:
            spark_type = {
                pl.Int64: T.LongType(),
                pl.Float64: T.DoubleType(),
                pl.String: T.StringType(),
                pl.Boolean: T.BooleanType(),
                pl.Date: T.DateType(),
            }.get(dtype.base_type())
        if spark_type is None:
            return None
        fields.append(T.StructField(name, spark_type))
    return T.StructType(fields)


def profile_data(
    source: str,
    *,
    master: str | None = None,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    options: Options | None = None,
    bins_from: Profile | str | os.PathLike[str] | None = None,
    read_options: ReadOptions | None = None,
) -> Profile:
    """`kldrift.reference.profile_data` on Spark: read `source` there, then `profile` it,
    leaving out the Hive partition keys of its paths unless `columns` names them, as kldrift
    does."""
    df = read(session(master), source, read_options)
    keys = hive_keys(df) if _format(source) is not None else ()
    return profile(
        df,
        bins_from,
        columns=columns,
        exclude=exclude,
        options=options,
        source=source,
        partitions=keys,
    )


def hive_keys(df: DataFrame) -> tuple[str, ...]:
    """The columns of `df` that are Hive partition keys of the files it reads ("date" of
    .../date=2026-11-01/part-0.parquet), by kldrift's rule for its own reads."""
    files = [urllib.parse.urlparse(f).path for f in df.inputFiles()]
    return partition_keys(files, polars_schema(df.schema))


def profiler(master: str | None) -> Callable[..., Profile]:
    """`profile_data` on the Spark at `master`: a drop-in for `kldrift.reference.profile_data`.

    Raises OptionError at once where pyspark is not installed, before any data is read."""
    for module in ("pyspark", "pyarrow"):  # pyarrow carries Spark's results to the driver
        try:
            importlib.import_module(module)
        except ImportError:
            rule = f"spark needs {module}: pip install 'kldrift[spark]'"
            raise OptionError("engine", "spark", rule, shown="") from None
    check_master(master)
    return partial(profile_data, master=master)


def profile(
    df: DataFrame,
    bins_from: Profile | str | os.PathLike[str] | None = None,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    options: Options | None = None,
    source: str = DATAFRAME,
    partitions: Sequence[str] = (),
) -> Profile:
    """The profile of a Spark DataFrame: the one `kldrift profile` writes for the same rows.

    `partitions` are Hive partition keys (`hive_keys`): like kldrift, a fitted profile
    leaves them out unless `columns` names them.

    With `bins_from` (a profile or profile file), every column is counted on that profile's
    bins in one scan of `df`. Without it, bins are fitted first (columns, exclude and options
    as for `kldrift profile`), which reads `df` three more times: rows per partition, then the
    sample of numeric columns, and the categories' value counts in one GROUPING SETS query.
    """
    schema = polars_schema(df.schema)
    if bins_from is not None:
        reference = bins_from if isinstance(bins_from, Profile) else profile_file.load(bins_from)
        _check_bins(source, schema, reference)
        binnings = reference.binnings
        options = reference.options
        kept = tuple(name for name, _ in reference.schema if name in schema)
        singletons: dict[str, int] = {}
    else:
        options = options or Options()
        table = Table(source, pl.LazyFrame(schema=schema), schema, partitions=tuple(partitions))
        kinds, _ = plan_columns(table, table, columns, exclude, options.categorical)
        binnings, singletons = _fit(df, source, schema, kinds, options)
        wanted = (set(columns) if columns else set(schema) - set(partitions)) - set(exclude)
        kept = tuple(name for name in schema if name in wanted)
    rows, counts = _count(df, source, schema, binnings)
    if rows == 0:
        raise InputError(f"{source}: no rows to profile")
    found = _ranges(df, source, schema, [n for n in binnings if has_range(schema[n])])
    profiled = {
        name: ColumnProfile(
            name, str(schema[name]), binning, counts[name], singletons.get(name), found.get(name)
        )
        for name, binning in binnings.items()
    }
    return Profile(source, rows, profiled, options, tuple((n, str(schema[n])) for n in kept))


def polars_schema(schema: StructType) -> pl.Schema:
    """The polars types polars would read for these Spark columns, so dtypes match by name.

    Spark timestamps are instants, read as UTC; TIMESTAMP_NTZ is a naive datetime; day-time
    intervals are microsecond durations. Types polars has no counterpart for are Unknown.
    """
    return pl.Schema({field.name: _polars_dtype(field.dataType) for field in schema.fields})


def _polars_dtype(spark_type: DataType) -> pl.DataType:
    from pyspark.sql import types as T

    simple: list[tuple[type, pl.DataType]] = [
        (T.ByteType, pl.Int8()),
        (T.ShortType, pl.Int16()),
        (T.IntegerType, pl.Int32()),
        (T.LongType, pl.Int64()),
        (T.FloatType, pl.Float32()),
        (T.DoubleType, pl.Float64()),
        (T.StringType, pl.String()),  # CHAR and VARCHAR too: both subclass StringType
        (T.BooleanType, pl.Boolean()),
        (T.BinaryType, pl.Binary()),
        (T.DateType, pl.Date()),
        (T.TimestampType, pl.Datetime("us", "UTC")),
        (T.TimestampNTZType, pl.Datetime("us")),
        (T.DayTimeIntervalType, pl.Duration("us")),
        (T.NullType, pl.Null()),
    ]
    for cls, dtype in simple:
        if isinstance(spark_type, cls):
            return dtype
    if isinstance(spark_type, T.DecimalType):
        return pl.Decimal(spark_type.precision, spark_type.scale)
    if isinstance(spark_type, T.ArrayType):
        return pl.List(_polars_dtype(spark_type.elementType))
    if isinstance(spark_type, T.MapType):
        pair = {
            "key": _polars_dtype(spark_type.keyType),
            "value": _polars_dtype(spark_type.valueType),
        }
        return pl.List(pl.Struct(pair))
    if isinstance(spark_type, T.StructType):
        return pl.Struct({f.name: _polars_dtype(f.dataType) for f in spark_type.fields})
    return pl.Unknown()


def _check_bins(source: str, schema: pl.Schema, reference: Profile) -> None:
    """Refuse columns the profile bins but `df` lacks or holds as another kind (as `recount`)."""
    for name, column in reference.columns.items():
        if name not in schema:
            problem = f"{source}: no column {name!r}, which the profile bins"
            raise ColumnError(name, source, problem=problem)
        kind = kind_of(schema[name])
        if kind is None or (
            kind is not column.binning.kind and column.binning.kind is not Kind.categorical
        ):
            problem = (
                f"{source}: column {name!r} is {schema[name]}, "
                f"but the profile bins it as {column.binning.kind.value}"
            )
            raise ColumnError(name, source, problem=problem)


def _fit(
    df: DataFrame, source: str, schema: pl.Schema, kinds: dict[str, Kind], options: Options
) -> tuple[dict[str, Binning], dict[str, int]]:
    """Bins fitted by kldrift's own code on the sample (numbers) and on Spark's value counts,
    and each categorical column's tail singletons (see `ColumnProfile`)."""
    numbers = {name: kind for name, kind in kinds.items() if kind is not Kind.categorical}
    binnings: dict[str, Binning] = {}
    if numbers:
        sample = _to_polars(
            _sample(df, source).select(*(_value(df, n) for n in numbers)), schema, source
        )
        table = Table(source, sample.lazy(), sample.schema, loaded=True)
        binnings, _ = fit(table, numbers, options, sample.height, streaming=False)
    categories = [name for name, kind in kinds.items() if kind is Kind.categorical]
    singletons = {}
    for name, counts in _value_counts(df, source, schema, categories).items():
        order = ranked(counts.lazy()).collect()
        binnings[name] = _categories(order, options.top_k)
        singletons[name] = _tail_singletons(binnings[name], order)
    return {name: binnings[name] for name in kinds}, singletons


def _value_counts(
    df: DataFrame, source: str, schema: pl.Schema, names: Sequence[str]
) -> dict[str, pl.DataFrame]:
    """(value, n) of each column, nulls included, in the column's polars type: one query.

    One GROUPING SETS aggregation, a set per column, reads `df` once. A float's -0.0 counts
    as 0.0, as kldrift counts categories (Spark's group-by makes them one value too).
    """
    from pyspark.sql import functions as F

    if not names:
        return {}
    keys = [_value(df, name).alias(f"v{i}") for i, name in enumerate(names)]
    sets = [[F.col(f"v{i}")] for i in range(len(names))]
    aggregates = [F.count(F.lit(1)).alias("n")]
    aggregates += [F.grouping(f"v{i}").alias(f"g{i}") for i in range(len(names))]
    grouped = df.select(*keys).groupingSets(sets, *(F.col(f"v{i}") for i in range(len(names))))
    frame = _collect_arrow(grouped.agg(*aggregates), source)
    counts: dict[str, pl.DataFrame] = {}
    for i, name in enumerate(names):
        part = frame.filter(pl.col(f"g{i}") == 0)
        value = pl.col(f"v{i}")
        if schema[name].is_float():
            value = pl.when(value == 0).then(0.0).otherwise(value)
        values = _to_polars_column(part.select(value).to_series(), schema[name])
        counts[name] = pl.DataFrame({"value": values, "n": part["n"]})
    return counts


def _ranges(
    df: DataFrame, source: str, schema: pl.Schema, names: Sequence[str]
) -> dict[str, ValueRange | None]:
    """Each integer, date and datetime column's range, as `kldrift.profile.value_ranges` finds it.

    Whether values strictly increase row by row is checked within each partition (a window in
    row order), then across partition boundaries on the driver: one more scan, no global sort.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not names:
        return {}
    row, part = F.col("#row"), F.shiftright(F.col("#row"), _PARTITION_SHIFT)
    rows = df.select(
        *(_value(df, n).alias(f"v{i}") for i, n in enumerate(names)),
        F.monotonically_increasing_id().alias("#row"),
    )
    order = Window.partitionBy(part).orderBy(row)
    for i in range(len(names)):
        v = F.col(f"v{i}")
        rows = rows.withColumn(f"up{i}", F.coalesce(v > F.lag(v).over(order), F.lit(True)))
    aggregates = [F.count(F.lit(1)).alias("rows")]
    for i in range(len(names)):
        v = F.col(f"v{i}")
        aggregates += [
            F.min(v).alias(f"lo{i}"),
            F.max(v).alias(f"hi{i}"),
            F.count(v).alias(f"n{i}"),
            F.min_by(v, row).alias(f"first{i}"),
            F.max_by(v, row).alias(f"last{i}"),
            F.bool_and(f"up{i}").alias(f"up{i}"),
        ]
    parts = sorted(_collect(rows.groupBy(part.alias("p")).agg(*aggregates), source))
    total = sum(p["rows"] for p in parts)
    found: dict[str, ValueRange | None] = {}
    for i, name in enumerate(names):
        lows = [p[f"lo{i}"] for p in parts if p[f"lo{i}"] is not None]
        if not lows:
            found[name] = None
            continue
        low, high = min(lows), max(p[f"hi{i}"] for p in parts if p[f"hi{i}"] is not None)
        ends = [(p[f"first{i}"], p[f"last{i}"]) for p in parts]
        increasing = (
            sum(p[f"n{i}"] for p in parts) == total >= 2
            and all(p[f"up{i}"] for p in parts)
            and all(a[1] < b[0] for a, b in zip(ends, ends[1:], strict=False))
        )
        dtype = schema[name]
        low_text, high_text = (
            value_text(_to_polars_column(pl.Series([v]), dtype)) for v in (low, high)
        )
        number = float if dtype.is_temporal() else int
        found[name] = ValueRange(number(low), number(high), low_text, high_text, increasing)
    return found


def _sample(df: DataFrame, source: str) -> DataFrame:
    """Every k-th row of `df` in its row order, k = ceil(rows / FIT_SAMPLE_ROWS), as kldrift.

    A row's place is its partition's offset plus its place in the partition, both read from
    monotonically_increasing_id(); for a file, Spark's row order is the file's.
    """
    from pyspark.sql import functions as F

    row_id = F.monotonically_increasing_id()
    partition = F.shiftright(row_id, _PARTITION_SHIFT)
    counted = _collect(df.select(partition.alias("p")).groupBy("p").count(), source)
    sizes: dict[int, int] = {int(p): int(n) for p, n in counted}
    rows = sum(sizes.values())
    step = max(1, math.ceil(rows / FIT_SAMPLE_ROWS))
    if step == 1:
        return df
    offsets, total = [], 0
    for p in range(max(sizes) + 1):
        offsets.append(total)
        total += sizes.get(p, 0)
    offset = F.element_at(F.array(*(F.lit(o) for o in offsets)), partition.cast("int") + 1)
    place = offset + row_id.bitwiseAND(F.lit((1 << _PARTITION_SHIFT) - 1))
    return df.where(place % step == 0)


def _count(
    df: DataFrame, source: str, schema: pl.Schema, binnings: dict[str, Binning]
) -> tuple[int, dict[str, tuple[int, ...]]]:
    """Row count and the histogram of every column on its bins, in one aggregation."""
    from pyspark.sql import functions as F

    exprs: list[Column] = [F.count(F.lit(1))]
    layout: list[tuple[str, int]] = []
    for name, binning in binnings.items():
        column = _categorical_counts if binning.method == "categories" else _number_counts
        parts = column(df, name, schema[name], binning)
        layout.append((name, len(parts)))
        exprs += parts
    row = _collect(df.agg(*(e.alias(f"c{i}") for i, e in enumerate(exprs))), source)[0]
    rows, cells = int(row[0]), [int(c or 0) for c in row[1:]]
    histograms: dict[str, tuple[int, ...]] = {}
    for name, width in layout:
        part, cells = cells[:width], cells[width:]
        histograms[name] = _histogram(binnings[name], part, rows)
    return rows, histograms


def _number_counts(df: DataFrame, name: str, dtype: pl.DataType, binning: Binning) -> list[Column]:
    """#(x <= e) per edge (or #(x == v) per value), then #non-null and #NaN.

    x is the column as a double, but a float32 column is compared in float32 with each edge
    rounded to float32, as polars compares a Float32 column with a float.
    """
    from pyspark.sql import functions as F

    x = _value(df, name)
    narrow = dtype == pl.Float32
    if not narrow:
        x = x.cast("double")

    def bound(value: float) -> Column:
        literal = F.lit(value)
        return literal.cast("float") if narrow else literal

    if binning.method == "quantile":
        tests = [F.count_if(x <= bound(e)) for e in binning.edges]
    else:
        tests = [F.count_if(x == bound(float(v))) for v in binning.values]
    nans = F.count_if(F.isnan(x)) if dtype.is_float() else F.lit(0)
    return [*tests, F.count(x), nans]


def _categorical_counts(
    df: DataFrame, name: str, dtype: pl.DataType, binning: Binning
) -> list[Column]:
    """#(x is v) per top category, #(x in the tail), #null.

    kldrift bins a categorical value by its polars string (`cast(pl.String)`); Spark formats
    many types differently ("1.0E20" for polars' "1e+20"), so the category strings are parsed
    back into the column's type on the driver and compared as values. A string that is not
    how polars writes any value of that type (say "01" for an integer) matches nothing.
    """
    from pyspark.sql import functions as F

    x = _value(df, name)
    values = _parse(binning.values, dtype)
    tail = [v for v in _parse(binning.rest, dtype) if v is not None]
    tests = [F.lit(0) if v is None else F.count_if(_same(x, v)) for v in values]
    other = F.count_if(_is_in(name, x, dtype, tail)) if tail else F.lit(0)
    return [*tests, other, F.count_if(x.isNull())]


def _is_in(name: str, x: Column, dtype: pl.DataType, values: list[Any]) -> Column:
    """x IN values. For a string or integer column, one SQL expression: Column.isin makes a py4j
    call per value on classic Spark (a tail of 10,000 categories: 6 s before the query runs).
    Strings go in as UTF-8 hex literals, so no value needs quoting; integers as BIGINT."""
    from pyspark.sql import functions as F

    if dtype in (pl.String, pl.Categorical):
        literals = [f"CAST(X'{str(v).encode().hex()}' AS STRING)" for v in values]
    elif dtype.is_integer() and dtype != pl.UInt64:  # UInt64 is a DECIMAL(20,0) in Spark
        literals = [f"{int(v)}L" for v in values]
    else:
        return x.isin(values)
    column = "`" + name.replace("`", "``") + "`"
    return F.expr(f"{column} IN ({', '.join(literals)})")


def _histogram(binning: Binning, cells: list[int], rows: int) -> tuple[int, ...]:
    """Bins from the cells of `_number_counts` or `_categorical_counts`, "(null)" last."""
    if binning.method == "categories":
        *body, other, nulls = cells
        return (*body, other, rows - sum(body) - other - nulls, nulls)
    *body, present, nans = cells
    valid, nulls = present - nans, rows - present + nans
    if binning.method == "quantile":
        cumulative = [0, *body, valid]
        return (*(b - a for a, b in zip(cumulative, cumulative[1:], strict=False)), nulls)
    return (*body, valid - sum(body), nulls)


def _value(df: DataFrame, name: str) -> Column:
    """A column as kldrift bins it: numbers as they are, temporal values as whole numbers.

    Dates count microseconds since 1970-01-01 (days, for categories), datetimes microseconds
    since 1970-01-01 UTC (a naive one read as UTC, whatever the session time zone), durations
    microseconds. `_to_polars` turns these back into the polars type.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    x = df[name]
    spark_type = df.schema[name].dataType
    if isinstance(spark_type, T.DateType):
        days = F.unix_date(x).cast("long")
        return (days * _MICROS_PER_DAY).alias(name)
    if isinstance(spark_type, T.TimestampType):
        return F.unix_micros(x).alias(name)
    if isinstance(spark_type, T.TimestampNTZType):
        epoch = F.expr("TIMESTAMP_NTZ'1970-01-01 00:00:00'")
        return F.timestamp_diff("MICROSECOND", epoch, x).alias(name)
    if isinstance(spark_type, T.DayTimeIntervalType):
        seconds = x.cast(T.DayTimeIntervalType(T.DayTimeIntervalType.SECOND)).cast("decimal(38,6)")
        return (seconds * 1_000_000).cast("long").alias(name)
    return x


def _to_polars(df: DataFrame, schema: pl.Schema, source: str) -> pl.DataFrame:
    """A (small) Spark frame of `_value` columns on the driver, in the polars types of `schema`."""
    frame = _collect_arrow(df, source)
    return pl.DataFrame([_to_polars_column(frame[name], schema[name]) for name in frame.columns])


def _to_polars_column(values: pl.Series, dtype: pl.DataType) -> pl.Series:
    if isinstance(dtype, pl.Date):
        values = (values // _MICROS_PER_DAY).cast(pl.Int32)
    elif isinstance(dtype, (pl.Datetime, pl.Duration)):
        values = values.cast(pl.Int64)
    cast: pl.Series = values.cast(dtype)
    return cast


def _parse(labels: Sequence[float | str], dtype: pl.DataType) -> list[Any]:
    """Each category label as the `_value` of the value polars writes so, or None if none does."""
    strings = pl.Series([str(label) for label in labels], dtype=pl.String)
    if dtype in (pl.String, pl.Categorical, pl.Null):
        return strings.to_list()
    if dtype == pl.Boolean:
        parsed = strings.replace_strict({"true": True, "false": False}, default=None)
    elif isinstance(dtype, pl.Date):
        parsed = strings.str.to_date("%Y-%m-%d", strict=False)
    elif isinstance(dtype, pl.Datetime):
        zone = "%:z" if dtype.time_zone else ""
        parsed = strings.str.to_datetime(
            f"%Y-%m-%d %H:%M:%S%.f{zone}", time_unit="us", time_zone=dtype.time_zone, strict=False
        )
    elif dtype.is_numeric():
        parsed = strings.cast(dtype, strict=False)
    else:
        return [None] * len(strings)
    # Only a label polars writes for a value stands for it: "01" is no integer's label.
    same = (parsed.cast(pl.String) == strings).fill_null(False)
    if isinstance(dtype, pl.Date):
        parsed = parsed.cast(pl.Int32).cast(pl.Int64) * _MICROS_PER_DAY
    elif isinstance(dtype, pl.Datetime):
        parsed = parsed.cast(pl.Int64)
    return [v if ok else None for v, ok in zip(parsed.to_list(), same.to_list(), strict=True)]


def _same(x: Column, value: Any) -> Column:
    """x has the category `value`; a float's -0.0 is the category 0.0, so "-0.0" is none."""
    from pyspark.sql import functions as F

    if isinstance(value, float) and value == 0 and math.copysign(1, value) < 0:
        return F.lit(False)
    return x == F.lit(value)  # Spark's 0.0 = -0.0, as kldrift's categories have it


def _format(source: str) -> str | None:
    """The Spark reader for `source`, or None when it names a table."""
    path, local = Path(source), "://" not in source
    if local and path.is_dir():
        if (path / "_delta_log").is_dir():
            return "delta"
        found = {_reader(p.suffix) for p in path.rglob("*") if p.is_file()} - {None}
        return min(found) if len(found) == 1 else "parquet"  # type: ignore[type-var]
    reader = _reader(path.suffix)
    if reader is None and local and os.sep not in source and not path.exists():
        return None
    return reader or "parquet"


def _reader(suffix: str) -> str | None:
    return "orc" if suffix.lower() == ".orc" else _READERS.get(FORMATS.get(suffix.lower(), ""))


def _master(spark: SparkSession) -> str | None:
    try:
        return spark.sparkContext.master
    except Exception:  # a Spark Connect session has no SparkContext
        return None


@contextmanager
def _starting(master: str | None) -> Iterator[None]:
    """A session that does not start as one line naming the master (or Spark's default)."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    where = "Spark" if master is None else shown_master(master)
    try:
        yield
    except ImportError as exc:  # pyspark's PySparkImportError: Connect's client packages
        if master is None or not master.startswith("sc://"):
            raise
        rule = f"needs Spark Connect's client packages: {CONNECT_INSTALL}"
        raise OptionError("spark_master", where, rule) from exc
    except (PySparkException, Py4JError) as exc:
        java = getattr(exc, "java_exception", None)  # Py4JJavaError: the JVM's own exception
        line = _first_line(str(java) if java is not None else str(exc), type(exc).__name__)
        raise InputError(f"{where}: no Spark session: {line}") from exc


@contextmanager
def _reading(source: str) -> Iterator[None]:
    """Spark's errors about `source` as one InputError line: the first, without the SQLSTATE."""
    from pyspark.errors import PySparkException

    try:
        yield
    except PySparkException as exc:
        raise InputError(f"{source}: {_first_line(str(exc), type(exc).__name__)}") from exc


def _first_line(message: str, fallback: str) -> str:
    """The first line of a Spark error, without its [ERROR_CLASS], SQLSTATE or final period."""
    line = (message.strip().splitlines() or [fallback])[0]
    line = line.split(" SQLSTATE:")[0].rstrip(".")
    if line.startswith("[") and "] " in line:
        line = line.split("] ", 1)[1]
    return line


def _collect(df: DataFrame, source: str) -> list[Any]:
    with _reading(source):
        return df.collect()


def _collect_arrow(df: DataFrame, source: str) -> pl.DataFrame:
    with _reading(source):
        table = df.toArrow()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
