"""scan_table: turn a path, glob, directory or polars frame into a lazily read Table."""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl

from kldrift.errors import InputError, OptionError

#: File suffix -> reader name. Anything else is refused rather than guessed.
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".arrow": "ipc",
    ".ipc": "ipc",
    ".feather": "ipc",
}
#: Compressed files polars decompresses itself, named like "data.csv.gz".
COMPRESSED = (".gz",)
_GLOB_CHARS = set("*?[")
#: Rows polars reads to infer CSV column types; the default (100) misses late type changes.
CSV_INFER_ROWS = 10_000
#: Non-null values of a CSV text column that must look like dates for it to be tried as dates.
DATE_INFER_ROWS = 100
#: Separators tried on a CSV header when --separator is not given, preferred in this order on ties.
SNIFFED_SEPARATORS = (",", "\t", ";", "|")
#: Bytes read from the start of a CSV file to find its header line.
HEADER_BYTES = 1 << 16
#: Encodings polars reads natively while scanning lazily; any other is decoded in Python, eagerly.
POLARS_ENCODINGS = ("utf8", "utf8-lossy")
_NOT_UTF8 = "not valid UTF-8 text; pass --encoding (e.g. latin-1, cp1252 or utf8-lossy)"
_PARSE_ERROR = re.compile(r"could not parse `(.*)` as dtype `(.*)` at column '(.*)'")
_CONVERSION_ERROR = re.compile(
    r"conversion from `str` to `(.*)` failed in column '(.*)' for \d+ out of \d+ values: "
    r'\[("(?:[^"\\]|\\.)*"|[^,\]]*)'
)


@dataclass(frozen=True)
class ReadOptions:
    """How text files are parsed: the CSV separator (None: sniffed from the header) and encoding.

    `encoding` is "utf8" (the default; invalid bytes are an error), "utf8-lossy" (invalid bytes
    become U+FFFD) or any Python codec name such as "latin-1" or "cp1252" (such files are read
    into memory rather than scanned lazily).
    """

    separator: str | None = None
    encoding: str = "utf8"

    def __post_init__(self) -> None:
        separator = self.separator
        if separator is not None and (len(separator.encode()) != 1 or separator in _NOT_SEPARATORS):
            raise OptionError(
                "separator", separator, "must be one one-byte character, not a quote or line end"
            )
        if self.encoding not in POLARS_ENCODINGS:
            try:
                codec = codecs.lookup(self.encoding)
            except LookupError:
                raise OptionError("encoding", self.encoding, "is not a known encoding") from None
            # rot13, base64 and the like map bytes to bytes; idna and punycode encode host names.
            if not codec._is_text_encoding or codec.name in _NOT_TEXT_CODECS:
                raise OptionError("encoding", self.encoding, "is not a text encoding")
            if codec.name == "utf-8":
                # Any spelling of UTF-8 gets polars' own lazy reader.
                object.__setattr__(self, "encoding", "utf8")


#: One-byte separators a CSV cannot use: they end a line or quote a field.
_NOT_SEPARATORS = frozenset({"\n", "\r", '"'})
#: Codecs Python lists as text encodings that do not decode a file's text.
_NOT_TEXT_CODECS = frozenset({"idna", "punycode"})


@dataclass(frozen=True)
class Table:
    """A dataset to profile: a display name for messages and a lazy frame."""

    name: str
    frame: pl.LazyFrame
    schema: pl.Schema
    #: Estimated size of the data once decoded in memory, or None for a frame already there.
    memory: int | None = None
    #: Whether polars shares one scan among the queries of a collect_all. Parquet and Arrow
    #: scans are shared; CSV and NDJSON are parsed again for every query.
    shared_scans: bool = True
    #: Whether `frame` is already in memory, so that queries on it read no file.
    loaded: bool = False


def scan_table(
    source: str | os.PathLike[str] | pl.DataFrame | pl.LazyFrame,
    options: ReadOptions | None = None,
) -> Table:
    """Open `source` lazily and read its schema, raising InputError if it cannot be read."""
    if isinstance(source, pl.DataFrame):
        return Table("<DataFrame>", source.lazy(), source.schema, loaded=True)
    if isinstance(source, pl.LazyFrame):
        return Table("<LazyFrame>", source, _schema("<LazyFrame>", source))
    options = options or ReadOptions()
    name = os.fspath(source)
    files = _data_files(name)
    fmt = _format_of(name, files)
    if fmt in ("csv", "tsv"):
        separator = _csv_separator(files[0], fmt, options)
        frame = _scan_csv(name, files, separator, options.encoding)
        schema = _schema(name, frame)
    else:
        frame = _scan(name, fmt, files)
        schema = _schema(name, frame)
    memory = sum(os.path.getsize(f) * _decoded_per_file_byte(f, fmt) for f in files)
    shared = fmt in ("parquet", "ipc")
    if shared:
        memory = max(memory, _decoded_size(name, frame, schema))
    return Table(name, frame, schema, memory, shared_scans=shared)


def _decoded_size(name: str, frame: pl.LazyFrame, schema: pl.Schema) -> int:
    """Rows (from the file's metadata, a few ms) times the width of a decoded row.

    Dictionary- and run-length-encoded columns (few distinct strings, constants) decode to far
    more than 3 times their file size: 5,000 such string columns of 100k rows take 170 MB of
    Parquet and 8 GB in memory.
    """
    try:
        rows = int(frame.select(pl.len()).collect().item())
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise read_error(name, exc) from exc
    # A string is a 16-byte view (short ones inline); a boolean and a validity bit fit in a byte.
    widths = [
        1 if dtype == pl.Boolean else 16 if dtype == pl.String else 8 for dtype in schema.dtypes()
    ]
    return rows * sum(widths)


def read_error(name: str, exc: BaseException) -> InputError:
    """A one-line InputError for a polars or OS error met while reading `name`, with a hint."""
    message = polars_message(exc)
    if "invalid utf-8" in message.lower():
        return InputError(f"{name}: {_NOT_UTF8}")
    if "more fields than defined" in message:
        return InputError(f"{name}: ragged CSV: a line has more fields than the header")
    unparsed = _unparsed_value(message)
    if unparsed:
        value, dtype, column = unparsed
        return InputError(
            f"{name}: column {column!r}: cannot parse {value!r} as {dtype} (the type inferred "
            f"from the first {CSV_INFER_ROWS} rows)"
        )
    return InputError(f"{name}: cannot read: {message}")


def _unparsed_value(message: str) -> tuple[str, str, str] | None:
    """(value, dtype, column) of a value polars could not parse, from its error message."""
    if match := _PARSE_ERROR.search(message):
        value, dtype, column = match.groups()
        return value, dtype, column
    if match := _CONVERSION_ERROR.search(message):
        # Dates and times are read as text and parsed after (see _scan_csv).
        dtype, column, value = match.groups()
        return value.strip('"'), dtype, column
    return None


def polars_message(exc: BaseException) -> str:
    """The first meaningful line of a polars error, without its hints."""
    for line in str(exc).splitlines():
        line = line.strip()
        if line:
            return line.rstrip(":")
    return type(exc).__name__


def _data_files(name: str) -> list[str]:
    # A file whose name holds "[" or "?" is read as itself, not as a pattern that misses it.
    if _GLOB_CHARS & set(name) and not os.path.exists(name):
        files = sorted(f for f in glob.glob(name, recursive=True) if os.path.isfile(f))
        if not files:
            raise InputError(f"{name}: no files match this pattern")
        return files
    path = Path(name)
    if path.is_dir():
        files = sorted(
            str(f) for f in path.rglob("*") if f.is_file() and _format_name(str(f)) is not None
        )
        if not files:
            raise InputError(f"{name}: directory holds no data files ({_known_suffixes()})")
        return files
    if not path.exists():
        raise InputError(f"{name}: no such file")
    return [name]


def _format_of(name: str, files: list[str]) -> str:
    formats = {_format_name(f) for f in files}
    if None in formats:
        raise InputError(f"{name}: unknown file type; expected one of {_known_suffixes()}")
    if len(formats) > 1:
        raise InputError(f"{name}: mixes file types ({', '.join(sorted(map(str, formats)))})")
    for f in files:
        if not os.access(f, os.R_OK):
            raise InputError(f"{f}: permission denied")
        if os.path.getsize(f) == 0:
            raise InputError(f"{f}: file is empty (0 bytes)")
    return formats.pop() or ""


def _format_name(path: str) -> str | None:
    """Reader name for a file's suffix, looking through a compression suffix such as ".gz"."""
    p = Path(path)
    if p.suffix.lower() in COMPRESSED:
        fmt = FORMATS.get(Path(p.stem).suffix.lower())
        return fmt if fmt in ("csv", "tsv", "ndjson") else None
    return FORMATS.get(p.suffix.lower())


def _header_text(path: str, encoding: str) -> str:
    """The start of a text file, decompressed and decoded leniently, without a byte-order mark."""
    try:
        opener = gzip.open if path.lower().endswith(".gz") else open
        with opener(path, "rb") as f:
            head = f.read(HEADER_BYTES)
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    if encoding == "utf8":
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the end of the chunk is no evidence of bad bytes.
            if len(head) < HEADER_BYTES or exc.start < len(head) - 3:
                raise InputError(f"{path}: {_NOT_UTF8} (at byte {exc.start})") from None
    codec = "utf-8" if encoding in POLARS_ENCODINGS else encoding
    return head.decode(codec, errors="replace").removeprefix("\ufeff")


def _header(text: str, separator: str) -> list[str]:
    """Column names in the first CSV record of `text` (quoted fields may hold separators)."""
    return next(csv.reader(io.StringIO(text), delimiter=separator), [])


def _csv_separator(path: str, fmt: str, options: ReadOptions) -> str:
    """The given separator, or the one that splits the header into the most fields.

    Also refuses duplicate column names, which polars would silently rename.
    """
    text = _header_text(path, options.encoding)
    if options.separator is not None:
        separator = options.separator
    elif fmt == "tsv":
        separator = "\t"
    else:
        # max() keeps the first of equals, so "," wins a tie, as in a single-column file.
        separator = max(SNIFFED_SEPARATORS, key=lambda sep: len(_header(text, sep)))
    seen: set[str] = set()
    for column in _header(text, separator):
        if column in seen:
            raise InputError(f"{path}: duplicate column name {column!r}")
        seen.add(column)
    return separator


def _scan_csv(name: str, files: list[str], separator: str, encoding: str) -> pl.LazyFrame:
    try:
        if encoding in POLARS_ENCODINGS:
            source: str | list[str] = files[0] if len(files) == 1 else files
            return _typed_scan(
                partial(
                    pl.scan_csv,
                    source,
                    glob=False,  # files are already expanded: a "[" in a name is literal
                    separator=separator,
                    encoding="utf8-lossy" if encoding == "utf8-lossy" else "utf8",
                )
            )
        # polars reads only UTF-8: other encodings are decoded here, into memory, file by file.
        frames = [
            _typed_scan(partial(pl.scan_csv, _decoded(f, encoding), separator=separator))
            for f in files
        ]
        return pl.concat(frames, how="vertical")
    except (pl.exceptions.PolarsError, OSError, EOFError) as exc:
        raise read_error(name, exc) from exc


def _typed_scan(scan: Callable[..., pl.LazyFrame]) -> pl.LazyFrame:
    """The CSV scan with the column types of `_csv_schema`, given so that no query infers again.

    polars' CSV reader works out a date pattern value by value: one datetime column cost 0.5 s
    of a 1.5 s read of 1M rows x 26 columns. So dates and times are read as text and parsed by
    str.strptime, which infers the pattern once per column: 0.1 s.
    """
    schema = _csv_schema(scan)
    temporal = {column: dtype for column, dtype in schema.items() if dtype.is_temporal()}
    text = {column: pl.String if column in temporal else t for column, t in schema.items()}
    return scan(schema=text).with_columns(
        pl.col(column).str.strptime(dtype)  # type: ignore[arg-type]
        for column, dtype in temporal.items()
    )


def _csv_schema(scan: Callable[..., pl.LazyFrame]) -> pl.Schema:
    """Column types of a CSV scan from its first CSV_INFER_ROWS rows, dates and times included.

    polars' own date inference (`try_parse_dates`) tries every pattern on every field: 0.3 s per
    10,000 rows of 26 columns, as much as parsing 250,000 rows. So types come from an inference
    without dates, and a column left as text becomes a date (or datetime, or time) column when
    polars reads its first DATE_INFER_ROWS non-null values as dates and all of its first
    CSV_INFER_ROWS values parse as that type.
    """
    schema = scan(infer_schema_length=CSV_INFER_ROWS).collect_schema()
    texts = [column for column, dtype in schema.items() if dtype == pl.String]
    if not texts:
        return schema
    head = scan(infer_schema=False).select(texts).head(CSV_INFER_ROWS).collect()
    for column, dtype in _date_candidates(head).items():
        values = head[column]
        try:
            parsed = values.str.strptime(dtype, strict=False)  # type: ignore[arg-type]
        except pl.exceptions.PolarsError:
            continue
        if parsed.null_count() == values.null_count():
            schema[column] = dtype
    return schema


def _date_candidates(head: pl.DataFrame) -> dict[str, pl.DataType]:
    """Columns of `head` (all text) whose first DATE_INFER_ROWS non-null values polars' CSV
    date inference reads as dates or times, with the type it found. Leading empty values, as in
    a mostly empty `closed_at`, do not hide a date column."""
    firsts = [head[column].drop_nulls().head(DATE_INFER_ROWS) for column in head.columns]
    rows = max(len(values) for values in firsts)
    if rows == 0:
        return {}
    sample = pl.DataFrame([v.extend_constant(None, rows - len(v)) for v in firsts])
    dated = pl.read_csv(sample.write_csv().encode(), try_parse_dates=True, infer_schema_length=rows)
    return {column: dtype for column, dtype in dated.schema.items() if dtype.is_temporal()}


def _decoded_per_file_byte(path: str, fmt: str) -> int:
    # Rough, measured on the bench data: compressed Parquet decodes to ~3x its size, gzip text
    # to ~3x, while CSV and NDJSON text shrink once parsed (numbers become 8 bytes).
    return 3 if fmt == "parquet" or path.lower().endswith(".gz") else 1


def _decoded(path: str, encoding: str) -> bytes:
    opener = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode(encoding).encode()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid {encoding} text at byte {exc.start}") from None


def _scan(name: str, fmt: str, files: list[str]) -> pl.LazyFrame:
    source: str | list[str] = files[0] if len(files) == 1 else files
    try:
        if fmt == "parquet":
            return pl.scan_parquet(source, glob=False)  # files are already expanded
        if fmt == "ndjson":
            # scan_ndjson always globs, so a "[" in a file name is escaped instead.
            escaped = [glob.escape(f) for f in files]
            return pl.scan_ndjson(escaped, infer_schema_length=CSV_INFER_ROWS)
        return pl.scan_ipc(source, glob=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{name}: cannot read as {fmt}: {polars_message(exc)}") from exc


def _schema(name: str, frame: pl.LazyFrame) -> pl.Schema:
    try:
        return frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise read_error(name, exc) from exc


def _known_suffixes() -> str:
    return ", ".join([*FORMATS, ".csv.gz", ".tsv.gz", ".ndjson.gz"])


#: Without an explicit choice, stream when the data would take more than this share of RAM.
STREAMING_MEMORY_SHARE = 0.5


#: Below this share of RAM, reference and current are read at once, so the reads overlap; above
#: it, one after the other, which halves peak memory when memory starts to matter.
TOGETHER_MEMORY_SHARE = 0.125


def read_policy(files: Sequence[Table], streaming: bool | None) -> tuple[bool, bool]:
    """(streaming, together): how to read these files, `streaming` None choosing by their size.

    Only files are read together: a frame has no size estimate, and a LazyFrame current is
    counted straight from its query.
    """
    share = memory_share(*files)
    if streaming is None:
        # A wide Parquet table is read a batch of columns at a time instead (see batches()).
        streaming = share > STREAMING_MEMORY_SHARE and not all(batched(t) for t in files)
    together = (
        not streaming and share < TOGETHER_MEMORY_SHARE and all(t.memory is not None for t in files)
    )
    return streaming, together


#: Estimated decoded bytes of the columns one batch reads from a table (see batches()).
BATCH_MEMORY = 512 << 20
#: A table is batched only if a batch holds at least this many of its columns: fewer mean long
#: columns, which streaming handles in bounded memory and batches would not.
BATCH_MIN_COLUMNS = 16


def batched(table: Table) -> bool:
    """Whether `table` is read a batch of columns at a time: a file format that reads only the
    columns asked for (Parquet, Arrow) and more decoded data than one batch holds."""
    return (
        table.shared_scans
        and not table.loaded
        and table.memory is not None
        and table.memory > BATCH_MEMORY
        and table.memory // max(1, len(table.schema)) * BATCH_MIN_COLUMNS <= BATCH_MEMORY
    )


def batches(table: Table, columns: Sequence[str]) -> list[list[str]]:
    """`columns` in batches of about BATCH_MEMORY decoded bytes each, or all in one.

    Profiling a wide table a batch at a time bounds memory by the batch, not the table, and
    costs one read of each column all the same, since Parquet reads only the columns asked for.
    """
    if not columns or not batched(table):
        return [list(columns)]
    assert table.memory is not None
    size = max(1, BATCH_MEMORY // max(1, table.memory // len(table.schema)))
    return [list(columns[i : i + size]) for i in range(0, len(columns), size)]


def memory_share(*tables: Table) -> float:
    """The share of RAM these tables would take decoded in memory (frames, which have no size
    estimate, count 0)."""
    in_memory = sum(t.memory or 0 for t in tables)
    return in_memory / (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
