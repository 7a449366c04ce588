"""Profile files: a dataset's bins and counts as versioned JSON (docs/profile-format.md)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any, TypeGuard, cast

from kldrift import files, jsonvalues, remote
from kldrift.__version__ import __version__
from kldrift.errors import InputError, OptionError, OutputError
from kldrift.io import read_bounded
from kldrift.jsonvalues import json_value
from kldrift.options import MAX_BINS, Kind, Options
from kldrift.profile import Binning, ColumnProfile, Method, Profile, ValueRange

FORMAT = "kldrift-profile"
#: Bumped when a field changes meaning or disappears; adding fields does not bump it.
FORMAT_VERSION = 1

#: Limits a profile is checked against when read (docs/limits.md). The largest file read:
MAX_PROFILE_BYTES = 256 << 20
#: The largest row count and bin count: 2**53 - 1, the largest whole number a float64 (the
#: metrics) and every JSON reader hold exactly; SQLite's INTEGER (the history) holds it too.
MAX_COUNT = 2**53 - 1
#: The most categories (top-K and the rest) of one categorical column.
MAX_CATEGORIES = 1_000_000
#: Range of temporal edges and values: microseconds (dates, datetimes and durations, as far as
#: an Int64 of milliseconds reaches) or nanoseconds since midnight (times).
_RANGES = {
    "date": (-(2.0**63) * 1e3, 2.0**63 * 1e3),
    "datetime": (-(2.0**63) * 1e3, 2.0**63 * 1e3),
    "duration": (-(2.0**63) * 1e3, 2.0**63 * 1e3),
    "time": (0.0, 86_400e9),
}


def is_profile_source(source: object) -> TypeGuard[str | os.PathLike[str]]:
    """Whether `source` names a profile file rather than data (a path ending in `.json`)."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    return os.fspath(source).lower().endswith(".json")


def load_parts(sources: Sequence[str | os.PathLike[str]]) -> Iterator[Profile]:
    """Each profile of `sources` to merge, loaded in turn; InputError, before any is read, if
    two name one file, whose counts would be added twice."""
    if pair := files.repeated(sources):
        first, again = pair
        what = "given twice" if first == again else f"the same file as {first}"
        raise InputError(f"{again}: {what}; merging would add its counts twice")
    for source in sources:
        yield load(source)


def dumps(profile: Profile) -> str:
    """The profile as a JSON document (strict JSON; floats written to round-trip exactly)."""
    options = profile.options or Options()
    for column in profile.columns.values():
        categories = len(column.binning.values) + len(column.binning.rest)
        if column.binning.method == "categories" and categories > MAX_CATEGORIES:
            raise OutputError(
                f"{profile.source}: column {column.name!r} has {categories} categories; a profile "
                f"holds at most {MAX_CATEGORIES} per column"
            )
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kldrift_version": __version__,
        "source": profile.source,
        "rows": profile.rows,
        "options": {
            "bins": options.bins,
            "top_k": options.top_k,
            "discrete_max": options.discrete_max,
            "categorical": list(options.categorical),
        },
        "schema": [{"name": name, "dtype": dtype} for name, dtype in profile.schema],
        "columns": [_column(c) for c in profile.columns.values()],
        "pairs": [
            {"columns": list(pair), "counts": [list(row) for row in counts]}
            for pair, counts in profile.pairs.items()
        ],
    }
    return jsonvalues.dumps(document, indent=1) + "\n"


def check_target(path: str | os.PathLike[str]) -> None:
    """Raise OutputError now if `save` would refuse `path`, before a profile is made for it."""
    _refuse_uri(path)
    files.check_target(path)


def save(profile: Profile, path: str | os.PathLike[str]) -> None:
    """Write the profile to `path`, replacing it atomically so a reader never sees half a file."""
    _refuse_uri(path)
    files.write_text(path, dumps(profile))


def _refuse_uri(path: str | os.PathLike[str]) -> None:
    if remote.is_remote(os.fspath(path)):
        raise OutputError(
            f"{remote.redact(os.fspath(path))}: profiles are written to local files; "
            "upload the file to the store after"
        )


def load(
    path: str | os.PathLike[str], storage_options: tuple[tuple[str, str], ...] = ()
) -> Profile:
    """Read a profile file (or s3://, https://... URI), raising InputError if it is missing or not
    a kldrift profile."""
    name = os.fspath(path)
    if remote.is_remote(name):
        remote.check_scheme(name)
        text = remote.read_text(name, remote.storage_options(storage_options))
        return loads(text, remote.redact(name))
    try:
        text = read_bounded(name, MAX_PROFILE_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except UnicodeDecodeError:
        # A data file (Parquet, Arrow, gzip) given where a profile was expected.
        raise InputError(
            f"{name}: not a kldrift profile (binary data, not JSON text); a profile is the "
            "JSON file `kldrift profile` writes"
        ) from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read profile: {exc.strerror or exc}") from None
    return loads(text, name)


def loads(text: str, name: str = "<profile>") -> Profile:
    """Parse a profile document and check it against its schema; `name` is used in errors."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: not a kldrift profile (invalid JSON: {exc.msg})") from None
    except RecursionError:
        raise InputError(f"{name}: not a kldrift profile (nested too deeply)") from None
    except ValueError:  # Python refuses to read an integer of more than 4300 digits
        raise InputError(f"{name}: not a kldrift profile (a number too long)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f'{name}: not a kldrift profile (no "format": "{FORMAT}")')
    version = doc.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:  # true == 1 in Python
        raise InputError(
            f"{name}: profile format_version {version!r}; this kldrift reads {FORMAT_VERSION}"
        )
    try:
        return _profile(doc)
    except _Invalid as exc:
        raise InputError(f"{name}: malformed kldrift profile: {exc.key}: {exc.problem}") from None
    except OptionError as exc:
        raise InputError(f"{name}: malformed kldrift profile: options: {exc}") from None


def _column(column: ColumnProfile) -> dict[str, Any]:
    binning = column.binning
    numeric = binning.kind is not Kind.categorical
    return {
        "name": column.name,
        "dtype": column.dtype,
        "kind": binning.kind.value,
        "method": binning.method,
        "temporal": binning.temporal,
        "edges": [json_value(e) for e in binning.edges],
        "values": [json_value(v) if numeric else v for v in binning.values],
        "rest": list(binning.rest),
        # For people reading the file; ignored when it is read back.
        "labels": list(binning.labels),
        "counts": list(column.counts),
        "singletons": column.singletons,
        "range": None if column.range is None else dataclasses.asdict(column.range),
    }


class _Invalid(Exception):
    """A profile field that breaks the schema: where (`key`, as a JSON path) and why."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


def _field(doc: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    """doc[key], which must be of `kind`; `where` prefixes the key in errors ("options.")."""
    path = where + key
    if key not in doc:
        raise _Invalid(path, "missing field")
    value = doc[key]
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in _types(kind):
        raise _Invalid(path, f"expected {_type_name(kind)}, got {_shown(value)}")
    return value


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {list: "a list", dict: "an object", str: "a string", int: "a whole number"}
    names |= {type(None): "null"}
    return " or ".join(names.get(k, k.__name__) for k in _types(kind))


def _shown(value: object) -> str:
    """A field's value as written in the file, cut to 40 characters."""
    try:
        text = repr(value) if isinstance(value, float) else jsonvalues.dumps(value)
    except ValueError:  # a NaN or infinity inside a list
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _count(value: object, key: str) -> int:
    """A count: a whole number from 0 to MAX_COUNT (a float such as 4.0 is accepted as 4)."""
    whole = isinstance(value, int) or isinstance(value, float) and value.is_integer()
    if isinstance(value, bool) or not whole or not 0 <= value <= MAX_COUNT:  # type: ignore[operator]
        raise _Invalid(key, f"expected a whole number from 0 to {MAX_COUNT}, got {_shown(value)}")
    return int(value)  # type: ignore[call-overload,no-any-return]


def _profile(doc: dict[str, Any]) -> Profile:
    opts = _field(doc, "options", dict)
    for key in ("bins", "top_k", "discrete_max"):
        if not 0 <= _field(opts, key, int, "options.") <= MAX_BINS:
            raise _Invalid(f"options.{key}", f"expected at most {MAX_BINS}, got {opts[key]}")
    options = Options(
        bins=_field(opts, "bins", int, "options."),
        top_k=_field(opts, "top_k", int, "options."),
        discrete_max=_field(opts, "discrete_max", int, "options."),
        categorical=tuple(_strings(_field(opts, "categorical", list, "options."), "options.")),
    )
    rows = _count(_field(doc, "rows", (int, float)), "rows")
    if rows == 0:
        raise _Invalid("rows", "a profile holds at least one row")
    columns: dict[str, ColumnProfile] = {}
    for i, raw in enumerate(_field(doc, "columns", list)):
        if not isinstance(raw, dict):
            raise _Invalid(f"columns[{i}]", f"expected an object, got {_shown(raw)}")
        column = _column_profile(raw, f"columns[{i}]", options, rows)
        if column.name in columns:
            raise _Invalid(f"columns[{i}]", f"column {column.name!r} is profiled twice")
        columns[column.name] = column
    schema = []
    for i, entry in enumerate(_field(doc, "schema", list)):
        if not isinstance(entry, dict):
            raise _Invalid(f"schema[{i}]", f"expected an object, got {_shown(entry)}")
        where = f"schema[{i}]."
        schema.append((_field(entry, "name", str, where), _field(entry, "dtype", str, where)))
    if len({name for name, _ in schema}) < len(schema):
        raise _Invalid("schema", "a column name appears twice")
    pairs = dict(_pair_table(raw, f"pairs[{i}]", columns) for i, raw in enumerate(_pairs(doc)))
    return Profile(_field(doc, "source", str), rows, columns, options, tuple(schema), pairs)


def _pairs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The pair tables of a profile (none in files older than the key)."""
    pairs = _field(doc, "pairs", list) if "pairs" in doc else []
    for i, raw in enumerate(pairs):
        if not isinstance(raw, dict):
            raise _Invalid(f"pairs[{i}]", f"expected an object, got {_shown(raw)}")
    return pairs


def _pair_table(
    raw: dict[str, Any], where: str, columns: dict[str, ColumnProfile]
) -> tuple[tuple[str, str], tuple[tuple[int, ...], ...]]:
    names = _strings(_field(raw, "columns", list, f"{where}."), f"{where}.columns")
    if len(names) != 2:
        raise _Invalid(f"{where}.columns", f"expected two column names, got {len(names)}")
    x, y = names
    pair = f"pair {x},{y}"
    for name in (x, y):
        if name not in columns:
            raise _Invalid(pair, f"no binned column {name!r}")
    shape = (len(columns[x].binning.labels), len(columns[y].binning.labels))
    rows = _field(raw, "counts", list, f"{pair}: ")
    if len(rows) != shape[0] or any(not isinstance(r, list) or len(r) != shape[1] for r in rows):
        raise _Invalid(pair, f"expected {shape[0]} x {shape[1]} counts")
    counts = tuple(
        tuple(_count(c, f"{pair}: counts[{i}][{j}]") for j, c in enumerate(row))
        for i, row in enumerate(rows)
    )
    # Each row holds the rows of one X bin across Y's bins, and each column the reverse.
    if tuple(sum(row) for row in counts) != columns[x].counts:
        raise _Invalid(f"{pair}: counts", f"rows do not add up to the counts of {x!r}")
    if tuple(sum(col) for col in zip(*counts, strict=True)) != columns[y].counts:
        raise _Invalid(f"{pair}: counts", f"columns do not add up to the counts of {y!r}")
    return (x, y), counts


def _strings(values: list[Any], key: str) -> list[str]:
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise _Invalid(f"{key}[{i}]", f"expected a string, got {_shown(value)}")
    return values


def _column_profile(raw: dict[str, Any], where: str, options: Options, rows: int) -> ColumnProfile:
    name = _field(raw, "name", str, f"{where}.")
    where = f"column {name!r}: "
    try:
        kind = Kind(raw.get("kind"))
    except ValueError:
        raise _Invalid(f"{where}kind", f"unknown kind {_shown(raw.get('kind'))}") from None
    method = raw.get("method")
    allowed = ("categories",) if kind is Kind.categorical else ("quantile", "discrete")
    if method not in allowed:
        problem = f"{_shown(method)} is not one of {allowed} for {kind.value}"
        raise _Invalid(f"{where}method", problem)
    temporal = _field(raw, "temporal", (str, type(None)), where)
    if (temporal is not None) != (kind is Kind.temporal) or temporal not in (None, *_RANGES):
        raise _Invalid(f"{where}temporal", f"{_shown(temporal)} does not fit kind {kind.value}")
    edges = _numbers(_field(raw, "edges", list, where), f"{where}edges", temporal, finite=True)
    rest = _strings(_field(raw, "rest", list, where), f"{where}rest")
    values_raw = _field(raw, "values", list, where)
    values: tuple[float | str, ...]
    if kind is Kind.categorical:
        values = tuple(_strings(values_raw, f"{where}values"))
        if len(values) > options.top_k or rest and len(values) < options.top_k:
            raise _Invalid(f"{where}values", f"expected top_k ({options.top_k}) categories")
        if len(values) + len(rest) > MAX_CATEGORIES:
            raise _Invalid(f"{where}rest", f"more than {MAX_CATEGORIES} categories")
        if len(set(values) | set(rest)) < len(values) + len(rest):
            raise _Invalid(f"{where}values", "a category appears twice")
    else:
        values = tuple(_numbers(values_raw, f"{where}values", temporal, finite=False))
        if method == "discrete" and len(values) > options.discrete_max:
            raise _Invalid(f"{where}values", f"more than discrete_max ({options.discrete_max})")
    if method == "quantile" and (values or len(edges) >= options.bins):
        raise _Invalid(f"{where}edges", f"expected fewer than bins ({options.bins}) edges only")
    if method != "quantile" and edges or method != "categories" and rest:
        raise _Invalid(f"{where}edges", f"a {method} column has no edges or rest")
    binning = Binning(kind, cast(Method, method), tuple(edges), values, tuple(rest), temporal)
    counts_raw = _field(raw, "counts", list, where)
    if len(counts_raw) != len(binning.labels):
        raise _Invalid(
            f"{where}counts", f"expected {len(binning.labels)} counts, got {len(counts_raw)}"
        )
    counts = tuple(_count(c, f"{where}counts[{i}]") for i, c in enumerate(counts_raw))
    if sum(counts) != rows:
        raise _Invalid(f"{where}counts", f"add up to {sum(counts)}, not rows ({rows})")
    singletons = raw.get("singletons")  # absent from profiles older than this field
    if singletons is not None:
        singletons = _count(singletons, f"{where}singletons")
        if singletons > len(rest):
            raise _Invalid(f"{where}singletons", f"more than the {len(rest)} categories of rest")
    dtype = _field(raw, "dtype", str, where)
    value_range = _range(raw.get("range"), f"{where}range", kind, dtype)  # absent from older ones
    return ColumnProfile(name, dtype, binning, counts, singletons, value_range)


def _range(raw: object, where: str, kind: Kind, dtype: str) -> ValueRange | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _Invalid(where, f"expected an object, got {_shown(raw)}")
    if kind is Kind.numeric and not dtype.startswith(("Int", "UInt")):
        raise _Invalid(where, f"a {dtype} column has no range (dates, times and integers do)")
    unknown = set(raw) - {"low", "high", "low_text", "high_text", "increasing"}
    if unknown:
        raise _Invalid(where, f"unknown keys {sorted(unknown)}")
    low, high = (_field(raw, k, (int, float), where + ".") for k in ("low", "high"))
    for key, value in [("low", low), ("high", high)]:
        if not math.isfinite(value):
            raise _Invalid(f"{where}.{key}", f"expected a finite number, got {_shown(value)}")
    if low > high:
        raise _Invalid(where, f"low ({low}) is above high ({high})")
    low_text, high_text = (_field(raw, k, str, where + ".") for k in ("low_text", "high_text"))
    increasing = _field(raw, "increasing", bool, where + ".")
    return ValueRange(low, high, low_text, high_text, increasing)


def _numbers(raw: list[Any], key: str, temporal: str | None, *, finite: bool) -> list[float]:
    """Strictly increasing numbers (±inf allowed unless `finite`), within a temporal range."""
    numbers = [_float(v, f"{key}[{i}]") for i, v in enumerate(raw)]
    low, high = _RANGES.get(temporal or "", (-math.inf, math.inf))
    for i, value in enumerate(numbers):
        if math.isnan(value) or finite and math.isinf(value):
            raise _Invalid(f"{key}[{i}]", f"expected a finite number, got {_shown(raw[i])}")
        if temporal and not low <= value <= high:
            raise _Invalid(f"{key}[{i}]", f"{value!r} is out of range for a {temporal}")
        if i and not numbers[i - 1] < value:
            raise _Invalid(f"{key}[{i}]", "not in increasing order")
    return numbers


def _float(value: object, key: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, int) and abs(value) > 2**1023:
            raise _Invalid(key, f"number out of range: {_shown(value)}")
        return float(value)
    if value in ("inf", "-inf"):
        return float(value)
    raise _Invalid(key, f"expected a number, got {_shown(value)}")
