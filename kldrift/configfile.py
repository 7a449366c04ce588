"""The config file: finding kldrift.toml (or [tool.kldrift]) and reading it into a ConfigFile."""

from __future__ import annotations

import difflib
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from kldrift.errors import ConfigError
from kldrift.io import read_bounded
from kldrift.options import (
    ALL_PAIRS,
    Adjustment,
    Decision,
    FailOn,
    Format,
    Kind,
    PairsSetting,
    parse_base,
)
from kldrift.registry import Metric
from kldrift.spec import ColumnSettings, ConfigFile, resolve

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: The largest config file read (docs/limits.md).
MAX_CONFIG_BYTES = 16 << 20
#: A file of its own, looked for first in each directory.
CONFIG_NAME = "kldrift.toml"
#: Or a [tool.kldrift] table in the project's pyproject.toml.
PYPROJECT = "pyproject.toml"

E = TypeVar("E", bound=Enum)


def find(start: Path) -> Path | None:
    """The nearest kldrift.toml, or pyproject.toml with [tool.kldrift], from `start` upward.

    The search stops at the repository root (a directory holding .git), so a file above the
    project never applies by accident.
    """
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
        if (directory / ".git").exists():
            break
    return None


def load(path: str | os.PathLike[str] | None = None, *, start: Path | None = None) -> ConfigFile:
    """Settings from `path`, else from the file find() finds from `start` (cwd); empty if none."""
    if path is not None:
        target, source = Path(path), os.fspath(path)
    else:
        found = find(start or Path.cwd())
        if found is None:
            return ConfigFile()
        target, source = found, _display(found)
    # Read by the name as given: Path drops a final "/", and "kldrift.toml/" names no file.
    document = _read(target if path is None else path, source)
    if target.name == PYPROJECT:
        tool = document.get("tool", {})
        table = tool.get("kldrift") if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            raise ConfigError(source, "no [tool.kldrift] table")
        return parse(table, source, prefix="tool.kldrift.")
    return parse(document, source)


def parse(table: Mapping[str, Any], source: str, prefix: str = "") -> ConfigFile:
    """Check and convert one config table; any problem is a ConfigError naming `source` and key.

    Values are checked by the same rules as the flags (by resolving the file alone), so a bad
    value is reported against its key even when a flag would override it.
    """
    values: dict[str, Any] = {}
    column: dict[str, ColumnSettings] = {}
    for key, value in table.items():
        if key == "column":
            column = _column_tables(value, source, f"{prefix}column")
        elif key in _CONVERTERS:
            try:
                values[key] = _CONVERTERS[key](value)
            except _Expected as exc:
                raise ConfigError(
                    source, f"expected {exc}, got {_shown(value)}", key=prefix + key
                ) from None
        else:
            hint = difflib.get_close_matches(key, [*_CONVERTERS, "column"], n=1)
            also = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(
                source, f"unknown key{also} (see README, Configuration)", key=prefix + key
            )
    found = ConfigFile(values=values, column=column, source=source, prefix=prefix)
    resolve(file=found)
    return found


class _Expected(Exception):
    """What a value should have been, for the error message."""


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Expected("an integer")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Expected("a number")
    return float(value)


def _base(value: object) -> float:
    try:
        return parse_base(value)
    except ValueError:
        raise _Expected('a number or "e"') from None


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, dict):
        raise _Expected("a list of column names (per-column settings go in [column.NAME])")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Expected("a list of column names")
    return tuple(value)


def _pairs(value: object) -> PairsSetting:
    if value == ALL_PAIRS:
        return ALL_PAIRS
    if not isinstance(value, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(n, str) for n in p) for p in value
    ):
        raise _Expected('"all" or a list of column pairs such as [["income", "age"]]')
    return tuple((p[0], p[1]) for p in value)


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Expected("true or false")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _Expected("a string")
    return value


def _choice(enum: type[E]) -> Callable[[object], E]:
    def convert(value: object) -> E:
        allowed = [member.value for member in enum]
        if value not in allowed:
            raise _Expected("one of " + ", ".join(f'"{a}"' for a in allowed))
        return enum(value)

    return convert


def _kind(value: object) -> Kind | None:
    if value == "auto":
        return None
    if value != Kind.categorical.value:
        raise _Expected('"categorical" or "auto"')
    return Kind.categorical


def _storage_options(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or any(isinstance(v, (dict, list)) for v in value.values()):
        raise _Expected("a table of KEY = VALUE")
    # TOML true/false become "true"/"false", as object stores spell them (aws_allow_http).
    return tuple(
        (str(k), str(v).lower() if isinstance(v, bool) else str(v)) for k, v in value.items()
    )


_CONVERTERS: dict[str, Callable[[object], Any]] = {
    "threshold": _number,
    "warn": _number,
    "bins": _integer,
    "top_k": _integer,
    "smoothing": _number,
    "base": _base,
    "columns": _names,
    "exclude": _names,
    "pairs": _pairs,
    "pair_threshold": _number,
    "pair_warn": _number,
    "categorical": _names,
    "fail_on": _choice(FailOn),
    "max_drifted": _integer,
    "max_drifted_share": _number,
    "format": _choice(Format),
    "step_summary": _boolean,
    "streaming": _boolean,
    "metric": _choice(Metric),
    "decision": _choice(Decision),
    "alpha": _number,
    "adjustment": _choice(Adjustment),
    "separator": _text,
    "encoding": _text,
    "storage_options": _storage_options,
}
_COLUMN_CONVERTERS: dict[str, Callable[[object], Any]] = {"threshold": _number, "kind": _kind}


def _column_tables(value: object, source: str, label: str) -> dict[str, ColumnSettings]:
    if not isinstance(value, dict):
        raise ConfigError(
            source, f"expected tables like [column.NAME], got {_shown(value)}", key=label
        )
    columns: dict[str, ColumnSettings] = {}
    for name, table in value.items():
        where = f"{label}.{toml_key(name)}"
        if not isinstance(table, dict):
            raise ConfigError(
                source, f"expected a table of threshold and kind, got {_shown(table)}", key=where
            )
        settings: dict[str, Any] = {}
        for key, item in table.items():
            if key not in _COLUMN_CONVERTERS:
                raise ConfigError(
                    source, "unknown key (known: threshold, kind)", key=f"{where}.{toml_key(key)}"
                )
            try:
                settings[key] = _COLUMN_CONVERTERS[key](item)
            except _Expected as exc:
                raise ConfigError(
                    source, f"expected {exc}, got {_shown(item)}", key=f"{where}.{key}"
                ) from None
        threshold = settings.get("threshold")
        if threshold is not None and not (math.isfinite(threshold) and threshold > 0):
            raise ConfigError(
                source, f"must be a finite number > 0, got {threshold}", key=f"{where}.threshold"
            )
        columns[name] = ColumnSettings(**settings)
    return columns


def _read(path: str | os.PathLike[str], source: str) -> dict[str, Any]:
    try:
        # utf-8-sig: a byte-order mark (Notepad writes one) is ignored, as in a CSV file.
        text = read_bounded(path, MAX_CONFIG_BYTES).decode("utf-8-sig")
        document: dict[str, Any] = tomllib.loads(text)
        return document
    except FileNotFoundError:
        raise ConfigError(source, "no such file") from None
    except OSError as exc:
        raise ConfigError(source, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(source, "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"invalid TOML: {exc}") from None


def _has_tool_table(pyproject: Path) -> bool:
    try:
        text = read_bounded(pyproject, MAX_CONFIG_BYTES)
    except OSError:
        return False
    # A cheap look first, so an unrelated pyproject.toml is never parsed (or blamed).
    if b"kldrift" not in text:
        return False
    tool = _read(pyproject, _display(pyproject)).get("tool", {})
    return isinstance(tool, dict) and "kldrift" in tool


def _display(path: Path) -> str:
    # Relative when the file is in the working directory (the usual case), absolute above it.
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def toml_key(name: str) -> str:
    # A column name that is not a bare TOML key is quoted, as it would be written in the file:
    # a basic string, with its escapes (\" \\ \n \u001b).
    if re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return name
    return '"' + "".join(_TOML_ESCAPES.get(ch) or _toml_char(ch) for ch in name) + '"'


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _toml_char(ch: str) -> str:
    if ch.isprintable():
        return ch
    return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{value!r} ({type(value).__name__})"
