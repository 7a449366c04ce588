"""scan_table: turn a path, glob, directory or polars frame into a lazily read Table."""

from __future__ import annotations

import codecs
import csv
import errno
import glob
import gzip
import io
import math
import os
import re
import select
import stat
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl

from kldrift import remote
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
#: Lines read from the start of a remote CSV file to find its header (a header may hold quoted
#: line breaks).
REMOTE_HEADER_LINES = 20
#: The longest header line read; a longer one is an error rather than a guess.
MAX_HEADER_BYTES = 16 << 20
#: Seconds that reading a FIFO, socket or device (a profile or config file) may take.
SPECIAL_FILE_SECONDS = 10.0
#: Encodings polars reads natively while scanning lazily; any other is decoded in Python, eagerly.
POLARS_ENCODINGS = ("utf8", "utf8-lossy")
#: Names the setting in braces, for each front end to spell (InputError.settings).
_NOT_UTF8 = "not valid UTF-8 text; choose an {encoding} (e.g. latin-1, cp1252 or utf8-lossy)"
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
    into memory rather than scanned lazily). `storage_options` are KEY=VALUE pairs for polars'
    object-store client, used for URIs only (see kldrift.remote).
    """

    separator: str | None = None
    encoding: str = "utf8"
    storage_options: tuple[tuple[str, str], ...] = ()

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
        for key, value in self.storage_options:
            # The object-store client puts them in URLs and HTTP headers, and panics on a
            # control character there. The value is never shown: it may be a secret.
            if not key.isprintable():
                rule = "keys must hold no control character"
                raise OptionError("storage_options", key, rule, shown=repr(key))
            if not value.isprintable():
                rule = f"value of {key} must hold no control character (a line end, an escape)"
                raise OptionError("storage_options", key, rule, shown="")


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
    #: Estimated size of the data once decoded in memory, or None when unknown (a frame, a URI).
    memory: int | None = None
    #: Whether polars shares one scan among the queries of a collect_all. Parquet and Arrow
    #: scans are shared; CSV and NDJSON are parsed again for every query.
    shared_scans: bool = True
    #: Whether `frame` is already in memory, so that queries on it read no file.
    loaded: bool = False
    #: The files read, in order: those a glob or directory matched, or the one file named.
    files: tuple[str, ...] = ()
    #: Hive partition keys read from the paths (date=2026-11-01/...): not compared by default.
    partitions: tuple[str, ...] = ()


def scan_table(
    source: str | os.PathLike[str] | pl.DataFrame | pl.LazyFrame,
    options: ReadOptions | None = None,
) -> Table:
    """Open `source` lazily and read its schema, raising InputError if it cannot be read."""
    if isinstance(source, pl.DataFrame):
        frame = with_dates(source.lazy())
        return Table("<DataFrame>", frame, _schema("<DataFrame>", frame), loaded=True)
    if isinstance(source, pl.LazyFrame):
        frame = with_dates(source)
        return Table("<LazyFrame>", frame, _schema("<LazyFrame>", frame))
    options = options or ReadOptions()
    name = os.fspath(source)
    if remote.is_remote(name):
        return _scan_uri(name, options)
    files = _data_files(name)
    fmt = _format_of(name, files)
    if fmt in ("csv", "tsv"):
        separator = _csv_separator(files[0], fmt, options)
        _check_headers(files, separator, options.encoding)
        frame = _scan_csv(name, files, separator, options.encoding)
        schema = _schema(name, frame)
    else:
        frame = _scan(name, fmt, files, hive=files != [name])
        schema = _schema(name, frame)
    memory = sum(_decoded_size(f, fmt) for f in files)
    shared = fmt in ("parquet", "ipc")
    if shared:
        memory = max(memory, _decoded_rows(name, frame, schema))
    keys = partition_keys(files, schema) if files != [name] and shared else ()
    return Table(
        name, frame, schema, memory, shared_scans=shared, partitions=keys, files=tuple(files)
    )


def _decoded_rows(name: str, frame: pl.LazyFrame, schema: pl.Schema) -> int:
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
    if isinstance(exc, zlib.error):
        return InputError(f"{name}: cannot read: {_gzip_message(exc)}")
    message = polars_message(exc)
    if remote.is_remote(name):
        if store_error := remote.read_error(name, exc):
            return store_error
        message = remote.scrub(message)
    if "invalid utf-8" in message.lower():
        return InputError(f"{name}: {_NOT_UTF8}", settings=("encoding",))
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


def local_files(source: str) -> list[str]:
    """The local files `source` (a file, glob or directory) names, as `scan_table` would read
    them; none for a URI, or where it names nothing (which reading it reports)."""
    if remote.is_remote(source):
        return []
    try:
        return _data_files(source)
    except (InputError, OSError):
        return []


def _data_files(name: str) -> list[str]:
    # A file whose name holds "[" or "?" is read as itself, not as a pattern that misses it.
    if _GLOB_CHARS & set(name) and not os.path.exists(name):
        files = _once(sorted(f for f in _glob(name) if os.path.isfile(f)))
        if not files:
            raise InputError(f"{name}: no files match this pattern")
        return files
    path = Path(name)
    if path.is_dir():
        files = _once(
            sorted(
                str(f) for f in path.rglob("*") if f.is_file() and _format_name(str(f)) is not None
            )
        )
        if not files:
            raise InputError(f"{name}: directory holds no data files ({_known_suffixes()})")
        return files
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if name.endswith((os.sep, os.sep + ".")):  # Path drops it: "ref.csv/" exists as "ref.csv"
        raise InputError(f"{name}: not a directory")
    return [name]


def _glob(pattern: str) -> list[str]:
    """Paths matching `pattern`, where "**" matches any number of directories, each directory
    visited once however symlinks loop (glob.glob would walk a loop until ELOOP, or forever)."""
    parts = pattern.split(os.sep)
    if "**" not in parts:
        return glob.glob(pattern)
    cut = parts.index("**")
    head, tail = os.sep.join(parts[:cut]), os.sep.join(parts[cut + 1 :]) or "*"
    roots = glob.glob(head) if head else ["."] if not pattern.startswith(os.sep) else [os.sep]
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    for root in roots:
        for folder, subfolders, _ in os.walk(root, followlinks=True):
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in seen:
                subfolders.clear()
                continue
            seen.add((info.st_dev, info.st_ino))
            subfolders[:] = [d for d in subfolders if not d.startswith(".")]  # as glob skips them
            prefix = "" if os.path.normpath(folder) == "." else os.path.normpath(folder)
            found += _glob(os.path.join(glob.escape(prefix), tail) if prefix else tail)
    return found


def _once(files: list[str]) -> list[str]:
    """`files` without the later paths to a file already listed (through a symlink)."""
    seen: set[str] = set()
    kept = []
    for f in files:
        real = os.path.realpath(f)
        if real not in seen:
            seen.add(real)
            kept.append(f)
    return kept


def _format_of(name: str, files: list[str]) -> str:
    formats = {_format_name(f) for f in files}
    if None in formats:
        raise InputError(f"{name}: unknown file type; expected one of {_known_suffixes()}")
    if len(formats) > 1:
        raise InputError(f"{name}: mixes file types ({', '.join(sorted(map(str, formats)))})")
    for f in files:
        if not os.access(f, os.R_OK):
            raise InputError(f"{f}: permission denied")
        if not os.path.isfile(f):  # polars would wait on a FIFO, or read a device forever
            raise InputError(f"{f}: not a regular file; kldrift reads data from files only")
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
            # Read on until the first record ends, so a long header is never cut short.
            while len(head) % HEADER_BYTES == 0 and not _record_ends(head):
                more = f.read(HEADER_BYTES)
                if not more:
                    break
                if len(head) >= MAX_HEADER_BYTES:
                    limit = MAX_HEADER_BYTES >> 20
                    raise InputError(f"{path}: header line longer than {limit} MiB")
                head += more
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read: {_gzip_message(exc)}") from None
    if encoding == "utf8":
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the end of the chunk is no evidence of bad bytes.
            if len(head) % HEADER_BYTES or exc.start < len(head) - 3:
                raise InputError(
                    f"{path}: {_NOT_UTF8} (at byte {exc.start})", settings=("encoding",)
                ) from None
    codec = "utf-8" if encoding in POLARS_ENCODINGS else encoding
    return head.decode(codec, errors="replace").removeprefix("\ufeff")


def _check_headers(files: list[str], separator: str, encoding: str) -> None:
    """Raise InputError naming the first of `files` whose header differs from the first's and
    how: polars only says that "schema names differ" for the directory or glob as a whole."""
    first = _header(_header_text(files[0], encoding), separator)
    for path in files[1:]:
        names = _header(_header_text(path, encoding), separator)
        if names == first:
            continue
        missing = [n for n in first if n not in names]
        extra = [n for n in names if n not in first]
        if missing:
            how = f"no column {missing[0]!r}, which {files[0]} has"
        elif extra:
            how = f"a column {extra[0]!r}, which {files[0]} has not"
        else:
            how = f"its columns in another order than {files[0]}"
        raise InputError(f"{path}: {how}")


def _record_ends(head: bytes) -> bool:
    """Whether `head` holds a line end outside quotes: the end of the first CSV record."""
    end = head.find(b"\n")
    while end != -1:
        if head.count(b'"', 0, end) % 2 == 0:
            return True
        end = head.find(b"\n", end + 1)
    return False


def _header(text: str, separator: str) -> list[str]:
    """Column names in the first CSV record of `text` (quoted fields may hold separators)."""
    return next(csv.reader(io.StringIO(text), delimiter=separator), [])


def _fields(text: str, separator: str) -> int:
    """Fields in the header split by `separator`; 0 if that makes a field too long to be one."""
    try:
        return len(_header(text, separator))
    except csv.Error:
        return 0


def csv_separator(source: str, options: ReadOptions) -> str:
    """The separator kldrift reads the local CSV or TSV `source` (a file, directory or glob)
    with: the given one, or the one sniffed from its first file's header."""
    files = _data_files(source)
    return _csv_separator(files[0], _format_of(source, files), options)


def _csv_separator(path: str, fmt: str, options: ReadOptions) -> str:
    """The given separator, or the one that splits the header into the most fields.

    Also refuses duplicate column names, which polars would silently rename.
    """
    return _sniffed_separator(path, _header_text(path, options.encoding), fmt, options)


def _sniffed_separator(path: str, text: str, fmt: str, options: ReadOptions) -> str:
    try:
        if options.separator is not None:
            separator = options.separator
        elif fmt == "tsv":
            separator = "\t"
        else:
            # max() keeps the first of equals, so "," wins a tie, as in a single-column file.
            separator = max(SNIFFED_SEPARATORS, key=lambda sep: _fields(text, sep))
        names = _header(text, separator)
    except csv.Error as exc:  # a column name longer than csv.field_size_limit(), 128 KiB
        cr = text.find("\r")
        if cr >= 0 and text[cr + 1 : cr + 2] != "\n":
            # Python's csv then asks for "universal-newline mode"; polars would read one line.
            problem = "its lines end in a carriage return alone; kldrift reads \\n or \\r\\n"
            raise InputError(f"{path}: {problem} line ends") from None
        raise InputError(f"{path}: cannot read the header line: {exc}") from None
    seen: set[str] = set()
    for column in names:
        if column in seen:
            shown = repr(column) if len(column) <= 60 else f"{column[:40]!r}... ({len(column)})"
            raise InputError(f"{path}: duplicate column name {shown}")
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
    except (pl.exceptions.PolarsError, OSError, EOFError, zlib.error) as exc:
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
    schema.update(_dated(head))
    return schema


def _dated(head: pl.DataFrame) -> dict[str, pl.DataType]:
    """Columns of `head` (all text) that are dates or times: polars reads their first
    DATE_INFER_ROWS non-null values as such, and all of `head` parses as that type."""
    found: dict[str, pl.DataType] = {}
    for column, dtype in _date_candidates(head).items():
        values = head[column]
        try:
            parsed = values.str.strptime(dtype, strict=False)  # type: ignore[arg-type]
        except pl.exceptions.PolarsError:
            continue
        if parsed.null_count() == values.null_count():
            found[column] = dtype
    return found


def _date_candidates(head: pl.DataFrame) -> dict[str, pl.DataType]:
    """Columns of `head` (all text) whose first DATE_INFER_ROWS non-null values polars' CSV
    date inference reads as dates or times, with the type it found. Leading empty values, as in
    a mostly empty `closed_at`, do not hide a date column."""
    firsts = [head[column].drop_nulls().head(DATE_INFER_ROWS) for column in head.columns]
    rows = max(len(values) for values in firsts)
    if rows == 0:
        return {}
    sample = pl.DataFrame([v.extend_constant(None, rows - len(v)) for v in firsts])
    try:
        return _temporal_columns(sample)
    except pl.exceptions.PolarsError:
        # polars fixes a column's date pattern on its first value and fails on a later value
        # in another pattern (01/02/2024, then 2024-01-01): that column is text, the rest may
        # still be dates.
        found: dict[str, pl.DataType] = {}
        for column in sample.columns:
            try:
                found |= _temporal_columns(sample.select(column))
            except pl.exceptions.PolarsError:
                continue
        return found


def _temporal_columns(sample: pl.DataFrame) -> dict[str, pl.DataType]:
    """The columns of `sample` (text) that polars' CSV date inference reads as temporal."""
    text = sample.write_csv().encode()
    dated = pl.read_csv(text, try_parse_dates=True, infer_schema_length=sample.height)
    return {column: dtype for column, dtype in dated.schema.items() if dtype.is_temporal()}


def _decoded_size(path: str, fmt: str) -> int:
    # Rough, measured on the bench data: compressed Parquet decodes to ~3x its size, while CSV
    # and NDJSON text shrink once parsed (numbers become 8 bytes). Gzip text is measured: polars
    # holds all of it while it parses it, and its fields may be short (see _parsed_per_byte).
    if path.lower().endswith(".gz"):
        return math.ceil(gzip_size(path) * (1 + _parsed_per_byte(path)))
    return os.path.getsize(path) * (3 if fmt == "parquet" else 1)


def _parsed_per_byte(path: str) -> float:
    """Bytes polars takes per byte of a gzip file's text once parsed, from its first 64 KiB.

    Each field becomes about 9 bytes (8 and its validity), so short fields weigh more than
    their text: "0\n" rows take 4.5 times their size (a 1 GB gzip bomb of them took 4.3 GB).
    """
    try:
        with gzip.open(path, "rb") as f:
            sample = f.read(HEADER_BYTES)
    except (OSError, EOFError, zlib.error):
        return MAX_PARSED_PER_BYTE  # a damaged file is reported when it is read
    header = sample.split(b"\n", 1)[0]
    columns = 1 + max(header.count(sep.encode()) for sep in SNIFFED_SEPARATORS)
    fields = columns * max(1, sample.count(b"\n"))
    return min(MAX_PARSED_PER_BYTE, max(1.0, 9 * fields / max(1, len(sample))))


def _decoded(path: str, encoding: str) -> bytes:
    opener = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode(encoding).encode()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid {encoding} text at byte {exc.start}") from None


def _scan(name: str, fmt: str, files: list[str], hive: bool = False) -> pl.LazyFrame:
    source: str | list[str] = files[0] if len(files) == 1 else files
    # Only a directory or glob is read as a Hive tree; a file named alone is read as itself.
    partitioned = True if hive else None
    try:
        if fmt == "parquet":
            # files are already expanded
            return pl.scan_parquet(source, glob=False, hive_partitioning=partitioned)
        if fmt == "ndjson":
            # scan_ndjson always globs, so a "[" in a file name is escaped instead.
            escaped = [glob.escape(f) for f in files]
            return pl.scan_ndjson(escaped, infer_schema_length=CSV_INFER_ROWS)
        return pl.scan_ipc(source, glob=False, hive_partitioning=partitioned)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{name}: cannot read as {fmt}: {polars_message(exc)}") from exc


def partition_keys(files: list[str], schema: pl.Schema) -> tuple[str, ...]:
    """The Hive partition keys polars read from the paths of `files` ("date" of date=.../)."""
    keys = {part.partition("=")[0] for f in files for part in Path(f).parts[:-1] if "=" in part}
    return tuple(name for name in schema if name in keys)


def with_dates(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`frame` with its text columns that hold dates or times parsed, as CSV files are read.

    A frame made by pl.scan_csv or pl.read_csv without try_parse_dates holds dates as text; the
    same rule as for CSV files (`_csv_schema`) finds them in the first CSV_INFER_ROWS rows.
    """
    try:
        schema = frame.collect_schema()
        texts = [column for column, dtype in schema.items() if dtype == pl.String]
        if not texts:
            return frame
        head = frame.select(texts).head(CSV_INFER_ROWS).collect()
    except (pl.exceptions.PolarsError, OSError):
        return frame  # the error is reported, with the frame's name, when its schema is read
    dates = _dated(head)
    return frame.with_columns(
        pl.col(column).str.strptime(dtype)  # type: ignore[arg-type]
        for column, dtype in dates.items()
    )


def _scan_uri(uri: str, options: ReadOptions) -> Table:
    """Open an object-store or HTTP(S) URI: a file, a glob, or a prefix (read as a Parquet,
    possibly Hive-partitioned, dataset). polars lists, fetches and globs the objects itself."""
    with remote.region_lookup():  # polars builds (and keeps) its client on the first read
        return _opened_uri(uri, options)


def _opened_uri(uri: str, options: ReadOptions) -> Table:
    remote.check_scheme(uri)
    name = remote.redact(uri)
    storage = remote.storage_options(options.storage_options)
    pattern = bool(_GLOB_CHARS & set(uri.split("?", 1)[0].split("://", 1)[1]))
    fmt = _format_name(uri.split("?", 1)[0])
    prefix = fmt is None
    if fmt is None:
        if uri.lower().startswith(("http://", "https://")):
            raise InputError(f"{name}: unknown file type; expected one of {_known_suffixes()}")
        uri, fmt, pattern = uri.rstrip("/") + "/", "parquet", True  # a prefix
    if fmt in ("csv", "tsv"):
        if options.encoding not in POLARS_ENCODINGS:
            rule = f"must be utf8 or utf8-lossy to read {name} (others are for local files)"
            raise OptionError("encoding", options.encoding, rule)
        try:
            text = remote.header_lines(
                uri, storage, REMOTE_HEADER_LINES, encoding=options.encoding
            )
        except pl.exceptions.PolarsError as exc:  # invalid UTF-8
            raise read_error(name, exc) from None
        separator = _sniffed_separator(name, text.removeprefix("\ufeff"), fmt, options)
        scan = partial(
            pl.scan_csv,
            uri,
            separator=separator,
            encoding="utf8-lossy" if options.encoding == "utf8-lossy" else "utf8",
            storage_options=storage,
        )
        try:
            frame = _typed_scan(scan)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise read_error(name, exc) from exc
    elif fmt == "ndjson":
        frame = pl.scan_ndjson(uri, infer_schema_length=CSV_INFER_ROWS, storage_options=storage)
    else:
        hive = True if pattern else None
        reader = pl.scan_parquet if fmt == "parquet" else pl.scan_ipc
        frame = reader(uri, hive_partitioning=hive, storage_options=storage)
    try:
        schema = _schema(name, frame)
    except InputError as exc:
        if not prefix or "parquet" not in str(exc):
            raise
        glob_hint = remote.redact(uri) + "*.csv"
        hint = f"a prefix is read as Parquet; for other files give a glob: {glob_hint}"
        raise InputError(f"{exc.message} ({hint})", settings=exc.settings) from None
    keys: tuple[str, ...] = ()
    if pattern and fmt in ("parquet", "ipc"):
        reader = pl.scan_parquet if fmt == "parquet" else pl.scan_ipc
        plain = _schema(name, reader(uri, hive_partitioning=False, storage_options=storage))
        keys = tuple(column for column in schema if column not in plain)
    return Table(name, frame, schema, None, shared_scans=fmt in ("parquet", "ipc"), partitions=keys)


def _schema(name: str, frame: pl.LazyFrame) -> pl.Schema:
    try:
        return frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise read_error(name, exc) from exc


def _known_suffixes() -> str:
    return ", ".join([*FORMATS, ".csv.gz", ".tsv.gz", ".ndjson.gz"])


def read_bounded(path: str | os.PathLike[str], limit: int) -> bytes:
    """The whole of a small file (a profile or config file) of at most `limit` bytes.

    Never hangs nor fills memory on a special file: a FIFO is opened without waiting for a
    writer (none: it reads as empty) and read until its writer closes it, for at most
    SPECIAL_FILE_SECONDS; a device such as /dev/zero is read no further than `limit`. Raises
    OSError (errno EFBIG past the limit, ETIMEDOUT past the time), as an ordinary read would.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise OSError(errno.EFBIG, f"larger than the {limit >> 20} MiB kldrift reads")
        deadline = time.monotonic() + SPECIAL_FILE_SECONDS
        data = bytearray()
        while len(data) <= limit:
            try:
                chunk = os.read(fd, min(1 << 20, limit + 1 - len(data)))
            except BlockingIOError:
                chunk = None
            if chunk == b"":
                return bytes(data)
            if chunk:
                data += chunk
            left = deadline - time.monotonic()
            if left <= 0 or chunk is None and not select.select([fd], [], [], left)[0]:
                if stat.S_ISREG(info.st_mode):
                    continue  # a regular file is read to its end, however slow the disk
                raise OSError(errno.ETIMEDOUT, f"no end of data after {SPECIAL_FILE_SECONDS:g} s")
        raise OSError(errno.EFBIG, f"larger than the {limit >> 20} MiB kldrift reads")
    finally:
        os.close(fd)


#: Parsed bytes per byte of text at most: one-byte fields and their line ends ("0\n").
MAX_PARSED_PER_BYTE = 4.5


def gzip_size(path: str) -> int:
    """Bytes a gzip file decompresses to, for deciding whether it fits in memory.

    Counted by decompressing it, in bounded memory, up to the machine's RAM (beyond that, the
    answer is "too big"): the trailer's ISIZE holds the size modulo 2**32 and of the last member
    only, so it lies for a bomb. The count also checks each member's CRC, so a corrupt stream
    is an InputError naming the file, not data parsed from garbage.
    """
    try:
        with open(path, "rb") as f:
            return _counted(f, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read: {_gzip_message(exc)}") from None


def _counted(f: io.BufferedReader, cap: int) -> int:
    """Decompressed bytes of the gzip members in `f`, counting no further than `cap`."""
    total, pending = 0, b""
    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    while total <= cap:
        if not pending:
            pending = f.read(1 << 20)
            if not pending:
                if not inflate.eof:
                    raise EOFError("compressed file ended before the end-of-stream marker")
                return total
        if inflate.eof:  # a further member follows
            inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        total += len(inflate.decompress(pending, 1 << 22))
        pending = inflate.unconsumed_tail or inflate.unused_data
    return total


def _gzip_message(exc: BaseException) -> str:
    if isinstance(exc, zlib.error):
        return "corrupt gzip data (the deflate stream is damaged)"
    return str(exc) or type(exc).__name__


#: Without an explicit choice, stream when the data would take more than this share of RAM.
STREAMING_MEMORY_SHARE = 0.5


#: Below this share of RAM, a Parquet or Arrow current is read into memory after the reference's
#: profile (into the memory its data freed) and counted there; above it, counted from the file,
#: which never holds it whole.
IN_MEMORY_SHARE = 0.125


def read_policy(files: Sequence[Table], streaming: bool | None) -> tuple[bool, bool]:
    """(streaming, in_memory): how to read these files, `streaming` None choosing by their size.

    Only files are `in_memory`: a frame has no size estimate, and a LazyFrame current is
    counted straight from its query.
    """
    share = memory_share(*files)
    if streaming is None:
        # A wide Parquet table is read a batch of columns at a time instead (see batches()).
        streaming = share > STREAMING_MEMORY_SHARE and not all(batched(t) for t in files)
    in_memory = (
        not streaming and share < IN_MEMORY_SHARE and all(t.memory is not None for t in files)
    )
    return streaming, in_memory


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
