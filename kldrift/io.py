"""scan_table: turn a path, glob, directory or polars frame into a lazily read Table."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kldrift.errors import InputError

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
_GLOB_CHARS = set("*?[")
#: Rows polars reads to infer CSV column types; the default (100) misses late type changes.
CSV_INFER_ROWS = 10_000


@dataclass(frozen=True)
class Table:
    """A dataset to profile: a display name for messages and a lazy frame."""

    name: str
    frame: pl.LazyFrame
    schema: pl.Schema
    #: Size of the files on disk, or None for a frame given in memory.
    bytes: int | None = None


def scan_table(source: str | os.PathLike[str] | pl.DataFrame | pl.LazyFrame) -> Table:
    """Open `source` lazily and read its schema, raising InputError if it cannot be read."""
    if isinstance(source, pl.DataFrame):
        return Table("<DataFrame>", source.lazy(), source.schema)
    if isinstance(source, pl.LazyFrame):
        return Table("<LazyFrame>", source, _schema("<LazyFrame>", source))
    name = os.fspath(source)
    files = _data_files(name)
    fmt = _format_of(name, files)
    frame = _scan(name, fmt, files)
    return Table(name, frame, _schema(name, frame), sum(os.path.getsize(f) for f in files))


def polars_message(exc: BaseException) -> str:
    """The first meaningful line of a polars error, without its hints."""
    for line in str(exc).splitlines():
        line = line.strip()
        if line:
            return line.rstrip(":")
    return type(exc).__name__


def _data_files(name: str) -> list[str]:
    if _GLOB_CHARS & set(name):
        files = sorted(f for f in glob.glob(name, recursive=True) if os.path.isfile(f))
        if not files:
            raise InputError(f"{name}: no files match this pattern")
        return files
    path = Path(name)
    if path.is_dir():
        files = sorted(
            str(f) for f in path.rglob("*") if f.is_file() and f.suffix.lower() in FORMATS
        )
        if not files:
            raise InputError(f"{name}: directory holds no data files ({_known_suffixes()})")
        return files
    if not path.exists():
        raise InputError(f"{name}: no such file")
    return [name]


def _format_of(name: str, files: list[str]) -> str:
    formats = {FORMATS.get(Path(f).suffix.lower()) for f in files}
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


def _scan(name: str, fmt: str, files: list[str]) -> pl.LazyFrame:
    source: str | list[str] = files[0] if len(files) == 1 else files
    try:
        if fmt in ("csv", "tsv"):
            return pl.scan_csv(
                source,
                separator="\t" if fmt == "tsv" else ",",
                try_parse_dates=True,
                infer_schema_length=CSV_INFER_ROWS,
            )
        if fmt == "parquet":
            return pl.scan_parquet(source)
        if fmt == "ndjson":
            return pl.scan_ndjson(source, infer_schema_length=CSV_INFER_ROWS)
        return pl.scan_ipc(source)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{name}: cannot read as {fmt}: {polars_message(exc)}") from exc


def _schema(name: str, frame: pl.LazyFrame) -> pl.Schema:
    try:
        return frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{name}: cannot read: {polars_message(exc)}") from exc


def _known_suffixes() -> str:
    return ", ".join(FORMATS)
