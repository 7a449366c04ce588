"""Profile files: a dataset's bins and counts as versioned JSON (docs/profile-format.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TypeGuard

from kldrift import files, jsonvalues
from kldrift.__version__ import __version__
from kldrift.errors import InputError
from kldrift.jsonvalues import json_value
from kldrift.options import Kind, Options
from kldrift.profile import Binning, ColumnProfile, Profile

FORMAT = "kldrift-profile"
#: Bumped when a field changes meaning or disappears; adding fields does not bump it.
FORMAT_VERSION = 1
#: The suffix `kldrift profile` suggests; any `.json` source is read as a profile.
_METHODS = ("quantile", "discrete", "categories")


def is_profile_source(source: object) -> TypeGuard[str | os.PathLike[str]]:
    """Whether `source` names a profile file rather than data (a path ending in `.json`)."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    return os.fspath(source).lower().endswith(".json")


def dumps(profile: Profile) -> str:
    """The profile as a JSON document (strict JSON; floats written to round-trip exactly)."""
    options = profile.options or Options()
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


def save(profile: Profile, path: str | os.PathLike[str]) -> None:
    """Write the profile to `path`, replacing it atomically so a reader never sees half a file."""
    files.write_text(path, dumps(profile))


def load(path: str | os.PathLike[str]) -> Profile:
    """Read a profile file, raising InputError if it is missing or not a kldrift profile."""
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
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
    """Parse a profile document; `name` is used in error messages."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: not a kldrift profile (invalid JSON: {exc.msg})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f'{name}: not a kldrift profile (no "format": "{FORMAT}")')
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise InputError(
            f"{name}: profile format_version {version!r}; this kldrift reads {FORMAT_VERSION}"
        )
    try:
        return _profile(doc)
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise InputError(f"{name}: malformed kldrift profile: {detail}") from None


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
    }


def _profile(doc: dict[str, Any]) -> Profile:
    opts = doc["options"]
    options = Options(
        bins=int(opts["bins"]),
        top_k=int(opts["top_k"]),
        discrete_max=int(opts["discrete_max"]),
        categorical=tuple(str(c) for c in opts["categorical"]),
    )
    columns: dict[str, ColumnProfile] = {}
    for raw in doc["columns"]:
        column = _column_profile(raw)
        columns[column.name] = column
    schema = tuple((str(c["name"]), str(c["dtype"])) for c in doc["schema"])
    rows = doc["rows"]
    if not isinstance(rows, int) or rows < 0:
        raise ValueError(f"rows must be a count, got {rows!r}")
    pairs = dict(_pair_table(raw, columns) for raw in doc.get("pairs", []))
    return Profile(str(doc["source"]), rows, columns, options, schema, pairs)


def _pair_table(
    raw: dict[str, Any], columns: dict[str, ColumnProfile]
) -> tuple[tuple[str, str], tuple[tuple[int, ...], ...]]:
    x, y = (str(name) for name in raw["columns"])
    for name in (x, y):
        if name not in columns:
            raise ValueError(f"pair {x},{y}: no binned column {name!r}")
    shape = (len(columns[x].binning.labels), len(columns[y].binning.labels))
    counts = tuple(tuple(row) for row in raw["counts"])
    whole = all(isinstance(c, int) and c >= 0 for row in counts for c in row)
    if len(counts) != shape[0] or any(len(row) != shape[1] for row in counts) or not whole:
        raise ValueError(f"pair {x},{y}: expected {shape[0]} x {shape[1]} counts")
    return (x, y), counts


def _column_profile(raw: dict[str, Any]) -> ColumnProfile:
    name = str(raw["name"])
    kind = Kind(raw["kind"])
    method = raw["method"]
    if method not in _METHODS:
        raise ValueError(f"column {name!r}: unknown method {method!r}")
    if kind is Kind.categorical:
        values: tuple[float | str, ...] = tuple(str(v) for v in raw["values"])
    else:
        values = tuple(_float(v) for v in raw["values"])
    binning = Binning(
        kind=kind,
        method=method,
        edges=tuple(_float(e) for e in raw["edges"]),
        values=values,
        rest=tuple(str(r) for r in raw["rest"]),
        temporal=None if raw["temporal"] is None else str(raw["temporal"]),
    )
    counts = tuple(raw["counts"])
    if len(counts) != len(binning.labels) or not all(isinstance(c, int) and c >= 0 for c in counts):
        raise ValueError(f"column {name!r}: expected {len(binning.labels)} counts")
    singletons = raw.get("singletons")  # absent from profiles older than this field
    if singletons is not None and not (isinstance(singletons, int) and singletons >= 0):
        raise ValueError(f"column {name!r}: singletons must be a count, got {singletons!r}")
    return ColumnProfile(name, str(raw["dtype"]), binning, counts, singletons)


def _float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, str) and value not in ("inf", "-inf", "nan"):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)
