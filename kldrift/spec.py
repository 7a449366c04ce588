"""Spec, what a comparison is told, and resolve(): a flag beats the config file, then the default.

Every comparing command (compare, explain, monitor, time windows) builds one `Spec` with
`resolve` and hands it to the library. Until then a setting nobody gave is `NOT_GIVEN`, so the
spec knows which settings were chosen (`given`) and where each came from (`sources`): a profile
reference keeps its own bins for what was not given, and errors and the gate's reason name the
file a value came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final

from kldrift.errors import ConfigError, LeftOutError, OptionError
from kldrift.io import ReadOptions
from kldrift.options import (
    DEFAULT_PAIR_WARN,
    Format,
    Gate,
    Kind,
    Options,
    PairLevels,
    PairsSetting,
    Thresholds,
)


class NotGiven:
    """The type of `NOT_GIVEN`: a setting the user did not give (distinct from None and 0)."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN: Final = NotGiven()


@dataclass(frozen=True)
class ColumnSettings:
    """Settings for one column: its drift threshold in nats and how to bin it."""

    threshold: float | None = None
    kind: Kind | None = None


@dataclass(frozen=True)
class ConfigFile:
    """The settings a config file gives, checked for type, by setting name; empty if no file.

    `source` names the file and `prefix` is put before its keys in messages ("tool.kldrift.").
    """

    values: Mapping[str, Any] = field(default_factory=dict)
    column: Mapping[str, ColumnSettings] = field(default_factory=dict)
    source: str | None = None
    prefix: str = ""


#: Every setting, by name, and the part of the spec it sets (its field there). This is the one
#: list: the config file's keys, the CLI's comparing flags and `resolve` all follow it.
SETTINGS: Final[Mapping[str, tuple[str, str]]] = {
    "columns": ("spec", "columns"),
    "exclude": ("spec", "exclude"),
    "pairs": ("spec", "pairs"),
    "pair_threshold": ("pair_levels", "drift"),
    "pair_warn": ("pair_levels", "warn"),
    "categorical": ("options", "categorical"),
    "bins": ("options", "bins"),
    "top_k": ("options", "top_k"),
    "smoothing": ("options", "smoothing"),
    "base": ("options", "base"),
    "threshold": ("thresholds", "drift"),
    "warn": ("thresholds", "warn"),
    "column_threshold": ("thresholds", "columns"),
    "metric": ("thresholds", "metric"),
    "decision": ("thresholds", "decision"),
    "alpha": ("thresholds", "alpha"),
    "adjustment": ("thresholds", "adjustment"),
    "fail_on": ("gate", "fail_on"),
    "max_drifted": ("gate", "max_drifted"),
    "max_drifted_share": ("gate", "max_drifted_share"),
    "separator": ("read_options", "separator"),
    "encoding": ("read_options", "encoding"),
    "storage_options": ("read_options", "storage_options"),
    "streaming": ("spec", "streaming"),
    "format": ("spec", "format"),
    "step_summary": ("spec", "step_summary"),
}


@dataclass(frozen=True, kw_only=True)
class Spec:
    """Everything one comparison needs, resolved: columns, binning, thresholds, gate and reading.

    `given` names the settings someone chose (the rest are defaults): with a profile as the
    reference, a binning option not given takes the profile's value. `sources` maps a setting
    (or "column.NAME", for a column's table in the file) to where it came from, e.g.
    "kldrift.toml", or "command line" for a flag (see `source`). `streaming` None chooses by
    the data's size; `format` None and `step_summary` None leave it to the front end. `pairs`
    asks for the relationship drift of these column pairs, or "all" of them (None: no pairs),
    decided by `pair_levels`.
    """

    columns: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    pairs: PairsSetting | None = None
    pair_levels: PairLevels = PairLevels()
    options: Options = Options()
    thresholds: Thresholds = Thresholds()
    gate: Gate = Gate()
    read_options: ReadOptions = ReadOptions()
    streaming: bool | None = None
    format: Format | None = None
    step_summary: bool | None = None
    given: frozenset[str] = frozenset()
    sources: Mapping[str, str] = field(default_factory=dict)
    #: The config file resolved over, as its reader named it; None without one.
    config_file: str | None = None

    def source(self, setting: str) -> str | None:
        """Where `setting` came from: a config file, the `given_by` of `resolve` (the CLI's
        "command line"), or None (a default, or given through the Python API)."""
        return self.sources.get(setting)

    def check_compared(self, column: str, *, setting: str) -> None:
        """Raise LeftOutError if `exclude`, or `columns` without it, leave out `column`, which
        `setting` asks about: known before any data is read."""
        if column in self.exclude:
            raise LeftOutError(column, setting=setting, by="exclude")
        if self.columns is not None and column not in self.columns:
            raise LeftOutError(column, setting=setting, by="columns")


#: What a separator may be spelled as, since a tab is awkward to type in a shell.
_TAB = ("tab", "\\t")


def resolve(
    flags: Mapping[str, Any] | None = None,
    file: ConfigFile | None = None,
    *,
    given_by: str | None = None,
) -> Spec:
    """The spec `flags` (a value or NOT_GIVEN per setting) and `file` give, defaults for the rest.

    The one place precedence lives: a flag beats the file, the file beats the default. A list
    (columns, exclude) from a flag replaces the file's; categorical columns from both add up and
    per-column thresholds merge column by column. A value that breaks a rule raises OptionError,
    or ConfigError naming the key when it came from the file. `given_by` names where `flags`
    come from in the gate's reason (e.g. "command line").
    """
    flags, file = flags or {}, file or ConfigFile()
    unknown = set(flags) - set(SETTINGS)
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
    chosen: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in SETTINGS:
        value = flags.get(name, NOT_GIVEN)
        if value is not NOT_GIVEN:
            chosen[name] = value
            if given_by is not None:
                sources[name] = given_by
        elif name in file.values:
            chosen[name] = file.values[name]
            if file.source is not None:
                sources[name] = file.source
    if file.source is not None:
        sources.update({f"column.{name}": file.source for name in file.column})
    categorical = [*file.values.get("categorical", ())]
    categorical += [n for n, c in file.column.items() if c.kind is Kind.categorical]
    categorical += flags.get("categorical") or ()
    if categorical:
        chosen["categorical"] = tuple(dict.fromkeys(categorical))
    levels = {n: c.threshold for n, c in file.column.items() if c.threshold is not None}
    if levels and file.source is not None:
        sources.setdefault("column_threshold", file.source)
    levels.update(flags.get("column_threshold") or {})
    if levels:
        chosen["column_threshold"] = levels
    if chosen.get("separator") in _TAB:
        chosen["separator"] = "\t"
    try:
        return replace(_build(chosen, sources), config_file=file.source)
    except OptionError as exc:
        where = sources.get(exc.setting)
        if where is None or where != file.source or isinstance(exc, ConfigError):
            raise
        rule = exc.worded(lambda s: s).removeprefix(exc.setting + " ")
        raise ConfigError(where, rule, key=file.prefix + exc.setting) from None


def _build(chosen: Mapping[str, Any], sources: Mapping[str, str]) -> Spec:
    parts: dict[str, dict[str, Any]] = {}
    for name, value in chosen.items():
        part, attribute = SETTINGS[name]
        parts.setdefault(part, {})[attribute] = value
    top = parts.get("spec", {})
    gate_sources = tuple(
        (n, s) for n, s in sources.items() if n in SETTINGS and SETTINGS[n][0] == "gate"
    )
    spec = Spec(
        columns=tuple(top["columns"]) if top.get("columns") else None,
        exclude=tuple(top.get("exclude") or ()),
        pairs=top.get("pairs"),
        options=Options(**parts.get("options", {})),
        thresholds=Thresholds(**parts.get("thresholds", {})),
        gate=Gate(**parts.get("gate", {}), sources=gate_sources),
        pair_levels=_pair_levels(parts.get("pair_levels", {})),
        read_options=ReadOptions(**parts.get("read_options", {})),
        streaming=top.get("streaming"),
        format=top.get("format"),
        step_summary=top.get("step_summary"),
        given=frozenset(chosen),
        sources=dict(sources),
    )
    if isinstance(spec.pairs, tuple):  # a pair of a left-out column is known before any data
        for name in dict.fromkeys(name for pair in spec.pairs for name in pair):
            spec.check_compared(name, setting="pairs")
    return spec


def _pair_levels(given: Mapping[str, float]) -> PairLevels:
    # As for columns, an unset warn level never exceeds the drift level given.
    if "drift" in given and "warn" not in given:
        return PairLevels(drift=given["drift"], warn=min(DEFAULT_PAIR_WARN, given["drift"]))
    return PairLevels(**given)


def with_changes(spec: Spec | None, changes: Mapping[str, Any]) -> Spec:
    """`spec` (default: Spec()) with fields replaced, for the Python API's keyword arguments.

    `options` given as an Options counts as given whole: every binning field of it must match
    a profile reference's (an Options cannot tell a default from a value chosen to equal it). To
    change some options only, give a mapping, e.g. `options={"smoothing": 0}`: those fields
    replace the spec's and only they count as given.
    """
    names = {f.name for f in fields(Spec)}
    unknown = set(changes) - names
    if unknown:
        raise TypeError(f"unknown Spec fields: {', '.join(sorted(unknown))}")
    spec = spec or Spec()
    given = set(spec.given)
    changes = dict(changes)
    options = changes.get("options")
    if isinstance(options, Options):
        given |= {f.name for f in fields(Options)}
    elif isinstance(options, Mapping):
        known = {f.name for f in fields(Options)}
        if set(options) - known:
            raise TypeError(f"unknown Options fields: {', '.join(sorted(set(options) - known))}")
        changes["options"] = replace(spec.options, **options)
        given |= set(options)
    kept = {k: v for k, v in changes.items() if v is not None or k in ("columns", "streaming")}
    return replace(spec, **kept, given=frozenset(given))
