"""Settings for every comparing command: a flag beats kldrift.toml, which beats the default."""

from __future__ import annotations

import difflib
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from kldrift import drift
from kldrift.config import (
    DEFAULT_ALPHA,
    UNSET,
    Adjustment,
    Decision,
    FailOn,
    Format,
    Gate,
    Kind,
    Metric,
    Options,
    Thresholds,
)
from kldrift.errors import ColumnError, ConfigError, KldriftError, OptionError
from kldrift.io import ReadOptions, read_bounded, scan_table

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


@dataclass(frozen=True)
class ColumnSettings:
    """Settings for one column: its drift threshold in nats and how to bin it."""

    threshold: float | None = None
    kind: Kind | None = None


@dataclass(frozen=True)
class Settings:
    """Everything `kldrift compare` can be told; None means unset, so the next layer decides.

    `source` names the config file the values came from (None for flags and defaults).
    """

    threshold: float | None = None
    warn: float | None = None
    bins: int | None = None
    top_k: int | None = None
    smoothing: float | None = None
    base: float | None = None
    columns: tuple[str, ...] | None = None
    exclude: tuple[str, ...] | None = None
    categorical: tuple[str, ...] | None = None
    column: Mapping[str, ColumnSettings] = field(default_factory=dict)
    fail_on: FailOn | None = None
    max_drifted: int | None = None
    max_drifted_share: float | None = None
    format: Format | None = None
    step_summary: bool | None = None
    metric: Metric | None = None
    decision: Decision | None = None
    alpha: float | None = None
    adjustment: Adjustment | None = None
    separator: str | None = None
    encoding: str | None = None
    source: str | None = None

    def over(self, fallback: Settings) -> Settings:
        """These settings, with the unset ones taken from `fallback`.

        Lists (columns, exclude) are replaced, not merged, so a flag can undo the config; per-column
        settings merge column by column; categorical columns from both are combined.
        """
        merged: dict[str, Any] = {
            f.name: getattr(fallback, f.name)
            if getattr(self, f.name) is None
            else getattr(self, f.name)
            for f in fields(self)
            if f.name not in {"column", "categorical", "source"}
        }
        names = [*fallback.column, *(n for n in self.column if n not in fallback.column)]
        merged["column"] = {
            name: ColumnSettings(
                threshold=_first(
                    self.column.get(name, _NO_COLUMN).threshold,
                    fallback.column.get(name, _NO_COLUMN).threshold,
                ),
                kind=_first(
                    self.column.get(name, _NO_COLUMN).kind,
                    fallback.column.get(name, _NO_COLUMN).kind,
                ),
            )
            for name in names
        }
        categorical = (*(fallback.categorical or ()), *(self.categorical or ()))
        merged["categorical"] = tuple(dict.fromkeys(categorical)) if categorical else None
        merged["source"] = self.source or fallback.source
        return Settings(**merged)

    def options(self) -> Options:
        """Binning and scoring options, built-in defaults for what is unset."""
        defaults = Options()
        categorical = [*(self.categorical or ())]
        categorical += [n for n, c in self.column.items() if c.kind is Kind.categorical]
        return Options(
            bins=_first(self.bins, defaults.bins),
            top_k=_first(self.top_k, defaults.top_k),
            smoothing=_first(self.smoothing, defaults.smoothing),
            base=_first(self.base, defaults.base),
            categorical=tuple(dict.fromkeys(categorical)),
        )

    def thresholds(self) -> Thresholds:
        """Levels and decision rule; unset levels take the chosen metric's defaults."""
        return Thresholds(
            drift=_first(self.threshold, UNSET),
            warn=_first(self.warn, UNSET),
            columns={n: c.threshold for n, c in self.column.items() if c.threshold is not None},
            metric=_first(self.metric, Metric.kl),
            alpha=_first(self.alpha, DEFAULT_ALPHA),
            decision=_first(self.decision, Decision.both),
            adjustment=_first(self.adjustment, Adjustment.bh),
        )

    def read_options(self) -> ReadOptions:
        """How CSV files are read; "tab" and "\\t" stand for a tab, awkward to type in a shell."""
        separator = "\t" if self.separator in ("tab", "\\t") else self.separator
        return ReadOptions(separator=separator, encoding=_first(self.encoding, "utf8"))

    def gate(self) -> Gate:
        """The dataset-level rule, built-in defaults for what is unset."""
        return Gate(
            fail_on=_first(self.fail_on, FailOn.drift),
            max_drifted=self.max_drifted,
            max_drifted_share=self.max_drifted_share,
        )


_NO_COLUMN = ColumnSettings()
#: A warn level below any threshold, so checking a threshold alone never trips the warn rule.
_TINY = sys.float_info.min
T = TypeVar("T")


def _first(value: T | None, fallback: T) -> T:
    return fallback if value is None else value


def compare(
    reference: drift.ReferenceSource,
    current: drift.DataSource,
    flags: Settings,
    config: Settings,
    **run: Any,
) -> drift.DriftReport:
    """drift.compare with `flags` over `config` over the built-in defaults.

    `run` passes options that only steer the run (streaming, progress) straight through.
    """
    merged = flags.over(config)
    try:
        options, thresholds, gate = merged.options(), merged.thresholds(), merged.gate()
        read_options = merged.read_options()
    except OptionError as exc:
        if config.source is None:
            raise
        raise ConfigError(f"{exc} (with settings from {config.source})") from None
    try:
        return drift.compare(
            reference,
            current,
            columns=merged.columns or None,
            exclude=merged.exclude or (),
            options=options,
            thresholds=thresholds,
            gate=gate,
            read_options=read_options,
            **run,
        )
    except ColumnError:
        # Only now, on the error path, is it worth reading the schemas again to blame the file.
        _check_config_columns(reference, current, flags, config)
        raise


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


def load(path: str | os.PathLike[str] | None = None, *, start: Path | None = None) -> Settings:
    """Settings from `path`, else from the file find() finds from `start` (cwd); empty if none."""
    if path is not None:
        target, source = Path(path), os.fspath(path)
    else:
        found = find(start or Path.cwd())
        if found is None:
            return Settings()
        target, source = found, _display(found)
    document = _read(target, source)
    if target.name == PYPROJECT:
        tool = document.get("tool", {})
        table = tool.get("kldrift") if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: no [tool.kldrift] table")
        return parse(table, source, prefix="tool.kldrift.")
    return parse(document, source)


def parse(table: Mapping[str, Any], source: str, prefix: str = "") -> Settings:
    """Check and convert one config table; any problem is a ConfigError naming `source` and key."""
    values: dict[str, Any] = {"source": source}
    for key, value in table.items():
        label = f"{source}: {prefix}{key}"
        if key == "column":
            values["column"] = _column_tables(value, f"{source}: {prefix}column")
        elif key in _CONVERTERS:
            try:
                values[key] = _CONVERTERS[key](value)
            except _Expected as exc:
                raise ConfigError(f"{label}: expected {exc}, got {_shown(value)}") from None
        else:
            hint = difflib.get_close_matches(key, [*_CONVERTERS, "column"], n=1)
            also = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(f"{label}: unknown key{also} (see README, Configuration)")
    settings = Settings(**values)
    _check_ranges(settings, source, prefix)
    return settings


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
    if value == "e":
        return math.e
    try:
        return _number(value)
    except _Expected:
        raise _Expected('a number or "e"') from None


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, dict):
        raise _Expected("a list of column names (per-column settings go in [column.NAME])")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Expected("a list of column names")
    return tuple(value)


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


_CONVERTERS: dict[str, Callable[[object], Any]] = {
    "threshold": _number,
    "warn": _number,
    "bins": _integer,
    "top_k": _integer,
    "smoothing": _number,
    "base": _base,
    "columns": _names,
    "exclude": _names,
    "categorical": _names,
    "fail_on": _choice(FailOn),
    "max_drifted": _integer,
    "max_drifted_share": _number,
    "format": _choice(Format),
    "step_summary": _boolean,
    "metric": _choice(Metric),
    "decision": _choice(Decision),
    "alpha": _number,
    "adjustment": _choice(Adjustment),
    "separator": _text,
    "encoding": _text,
}
_COLUMN_CONVERTERS: dict[str, Callable[[object], Any]] = {"threshold": _number, "kind": _kind}


def _column_tables(value: object, label: str) -> dict[str, ColumnSettings]:
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: expected tables like [column.NAME], got {_shown(value)}")
    columns: dict[str, ColumnSettings] = {}
    for name, table in value.items():
        where = f"{label}.{_key(name)}"
        if not isinstance(table, dict):
            raise ConfigError(
                f"{where}: expected a table of threshold and kind, got {_shown(table)}"
            )
        settings: dict[str, Any] = {}
        for key, item in table.items():
            if key not in _COLUMN_CONVERTERS:
                raise ConfigError(f"{where}.{_key(key)}: unknown key (known: threshold, kind)")
            try:
                settings[key] = _COLUMN_CONVERTERS[key](item)
            except _Expected as exc:
                raise ConfigError(f"{where}.{key}: expected {exc}, got {_shown(item)}") from None
        threshold = settings.get("threshold")
        if threshold is not None and not (math.isfinite(threshold) and threshold > 0):
            raise ConfigError(f"{where}.threshold: must be a finite number > 0, got {threshold}")
        columns[name] = ColumnSettings(**settings)
    return columns


def _check_ranges(settings: Settings, source: str, prefix: str) -> None:
    """Range checks, by the same rules as the flags, reported against the config key."""
    checks: list[tuple[str, Callable[[], object]]] = [
        ("bins", lambda: Options(bins=_first(settings.bins, Options().bins))),
        ("top_k", lambda: Options(top_k=_first(settings.top_k, Options().top_k))),
        ("smoothing", lambda: Options(smoothing=_first(settings.smoothing, 0.0))),
        ("base", lambda: Options(base=_first(settings.base, math.e))),
        ("threshold", lambda: Thresholds(drift=_first(settings.threshold, 1.0), warn=_TINY)),
        ("warn", lambda: Thresholds(warn=_first(settings.warn, 1.0), drift=sys.float_info.max)),
        ("max_drifted", lambda: Gate(max_drifted=settings.max_drifted)),
        ("max_drifted_share", lambda: Gate(max_drifted_share=settings.max_drifted_share)),
    ]
    for key, check in checks:
        try:
            check()
        except OptionError as exc:
            raise ConfigError(f"{source}: {prefix}{key}: {_without_flag(exc)}") from None
    if settings.warn is not None and settings.threshold is not None:
        if settings.warn > settings.threshold:
            raise ConfigError(
                f"{source}: {prefix}warn: {settings.warn:g} must not be above "
                f"threshold ({settings.threshold:g})"
            )


def _without_flag(exc: KldriftError) -> str:
    # "--bins must be at least 1, got 0" -> "must be at least 1, got 0": the key is named already.
    return re.sub(r"^--[\w-]+ ", "", str(exc))


def _check_config_columns(
    reference: drift.ReferenceSource, current: drift.DataSource, flags: Settings, config: Settings
) -> None:
    """Raise a ConfigError naming the key if a column named only in the config does not exist."""
    if config.source is None:
        return
    read_options = flags.over(config).read_options()
    ref = drift.open_reference(reference, read_options)
    cur = scan_table(current, read_options)
    known = set(dict(ref.schema)) | set(cur.schema)
    named: list[tuple[str, Iterable[str]]] = [
        ("columns", (config.columns or ()) if flags.columns is None else ()),
        ("exclude", (config.exclude or ()) if flags.exclude is None else ()),
        ("categorical", config.categorical or ()),
    ]
    named += [(f"column.{_key(name)}", [name]) for name in config.column]
    prefix = "tool.kldrift." if Path(config.source).name == PYPROJECT else ""
    for key, names in named:
        for name in names:
            if name not in known:
                where = f"{config.source}: {prefix}{key}"
                source = drift.reference_name(ref)
                raise ConfigError(f"{where}: no column {name!r} in {source} or {cur.name}")


def _read(path: Path, source: str) -> dict[str, Any]:
    try:
        document: dict[str, Any] = tomllib.loads(read_bounded(path, MAX_CONFIG_BYTES).decode())
        return document
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None


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


def _key(name: str) -> str:
    # A column name that is not a bare TOML key is quoted, as it would be written in the file.
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{value!r} ({type(value).__name__})"
