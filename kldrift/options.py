"""Options, thresholds and their documented defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from kldrift.errors import OptionError
from kldrift.registry import METRICS, Metric

#: Quantile bins per numeric column (deciles, as PSI practice uses).
DEFAULT_BINS = 10
#: Categories of a categorical column that get a bin of their own; the rest share "(other)".
DEFAULT_TOP_K = 20
#: A numeric column with at most this many distinct reference values gets one bin per value.
DEFAULT_DISCRETE_MAX = 20
#: Pseudocount added to every bin of both histograms (Jeffreys / Krichevsky-Trofimov prior).
DEFAULT_SMOOTHING = 0.5
#: Significance level for the adjusted G-test p-value of a column.
DEFAULT_ALPHA = 0.05
#: Largest bin count (bins, top_k, discrete_max): far beyond what a histogram can resolve, and
#: small enough that every histogram and its profile fit in memory.
MAX_BINS = 10_000
#: Largest pseudocount per bin: beyond it every histogram is flat and every score zero.
MAX_SMOOTHING = 1e6
#: Default relationship levels, in nats of the bias-corrected relationship score: chosen on
#: bench/calibration_pairs.py (docs/calibration.md, "Pairs of columns").
DEFAULT_PAIR_DRIFT = 0.01
DEFAULT_PAIR_WARN = 0.005
#: The value of the `pairs` setting that asks for every pair of compared columns.
ALL_PAIRS: Literal["all"] = "all"
#: The `pairs` setting: named (X, Y) pairs, or every pair of compared columns.
PairsSetting = tuple[tuple[str, str], ...] | Literal["all"]


class Kind(str, Enum):
    """How a column is binned."""

    numeric = "numeric"
    categorical = "categorical"
    temporal = "temporal"


class Format(str, Enum):
    """Output formats of `kldrift compare`; each value names a module of kldrift.report."""

    table = "table"
    json = "json"
    markdown = "markdown"
    junit = "junit"
    csv = "csv"
    html = "html"


#: The formats of a report over time windows, and of monitor's.
WINDOW_FORMATS = (Format.table, Format.json, Format.html)


def spelled(formats: Sequence[Format]) -> str:
    """`formats` as a person reads them: "table, json or html"."""
    names = [f.value for f in formats]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


class Color(str, Enum):
    """When terminal output is coloured: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces)."""

    auto = "auto"
    always = "always"
    never = "never"


class Engine(str, Enum):
    """What counts `kldrift profile`'s histograms: polars here, or Spark (kldrift.spark)."""

    polars = "polars"
    spark = "spark"


class HistoryFormat(str, Enum):
    """Output formats of `kldrift history`."""

    table = "table"
    json = "json"
    csv = "csv"
    html = "html"


class Status(str, Enum):
    """Verdict for one column."""

    ok = "ok"
    warn = "warn"
    drift = "drift"


class Decision(str, Enum):
    """Which gates make a column drift: effect size, significance, or both."""

    threshold = "threshold"
    significance = "significance"
    both = "both"


class Adjustment(str, Enum):
    """How p-values are adjusted for testing every column at once."""

    bh = "bh"
    bonferroni = "bonferroni"


#: Default (drift, warn) levels per metric, in nats (Hellinger has no unit): see kldrift.registry.
METRIC_LEVELS: dict[Metric, tuple[float, float]] = {m: i.levels for m, i in METRICS.items()}


@dataclass(frozen=True)
class Options:
    """How histograms are built and scored."""

    bins: int = DEFAULT_BINS
    top_k: int = DEFAULT_TOP_K
    discrete_max: int = DEFAULT_DISCRETE_MAX
    smoothing: float = DEFAULT_SMOOTHING
    base: float = math.e
    categorical: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("bins", "top_k"):
            _check_count(name, getattr(self, name), 1)
        _check_count("discrete_max", self.discrete_max, 0)
        if not (math.isfinite(self.smoothing) and 0 <= self.smoothing <= MAX_SMOOTHING):
            raise OptionError(
                "smoothing", self.smoothing, f"must be a number from 0 to {MAX_SMOOTHING:g}"
            )
        # Below 1 every logarithm, hence every divergence, would be negative.
        if not (math.isfinite(self.base) and self.base > 1):
            raise OptionError("base", self.base, "must be a finite number greater than 1")

    def as_dict(self) -> dict[str, object]:
        """The options as JSON-ready data, with the unit their log base gives."""
        return {
            "bins": self.bins,
            "top_k": self.top_k,
            "discrete_max": self.discrete_max,
            "smoothing": self.smoothing,
            "base": self.base,
            "unit": self.unit,
            "categorical": list(self.categorical),
        }

    @property
    def unit(self) -> str:
        """Name of the information unit the base gives."""
        if self.base == math.e:
            return "nats"
        if self.base == 2:
            return "bits"
        if self.base == 10:
            return "hartleys"
        return f"log{self.base:g} units"


@dataclass(frozen=True)
class Thresholds:
    """Drift and warn levels for the chosen metric, in nats whatever the report's log base.

    `drift` and `warn` left None take the metric's defaults (`METRIC_LEVELS`), also after
    `dataclasses.replace(t, metric=...)`; `drift_level` and `warn_level` are the levels in force
    (an unset warn level never exceeds the drift level). `alpha`, `decision` and `adjustment`
    set the significance gate.
    """

    drift: float | None = None
    warn: float | None = None
    columns: Mapping[str, float] = field(default_factory=dict)
    metric: Metric = Metric.kl
    alpha: float = DEFAULT_ALPHA
    decision: Decision = Decision.both
    adjustment: Adjustment = Adjustment.bh

    def __post_init__(self) -> None:
        # Accept the enums' string values too, as the Python API is typed loosely in practice.
        enums: list[tuple[str, type[Enum]]] = [
            ("metric", Metric),
            ("decision", Decision),
            ("adjustment", Adjustment),
        ]
        for name, enum in enums:
            try:
                object.__setattr__(self, name, enum(getattr(self, name)))
            except ValueError:
                choices = ", ".join(e.value for e in enum)
                raise OptionError(name, getattr(self, name), f"must be one of {choices}") from None
        if not (math.isfinite(self.alpha) and 0 < self.alpha < 1):
            raise OptionError("alpha", self.alpha, "must be a number between 0 and 1")
        for name, value in [("threshold", self.drift), ("warn", self.warn)]:
            if value is not None:
                _check_level(name, value)
        for column, value in self.columns.items():
            _check_level(f"column.{column}.threshold", value)
        if self.warn_level > self.drift_level:
            raise OptionError(
                "warn", self.warn_level, f"must not be above {{threshold}} ({self.drift_level:g})"
            )

    @property
    def drift_level(self) -> float:
        """The drift level in force: `drift`, else the metric's default."""
        return METRIC_LEVELS[self.metric][0] if self.drift is None else self.drift

    @property
    def warn_level(self) -> float:
        """The warn level in force: `warn`, else the metric's default (at most the drift level)."""
        if self.warn is not None:
            return self.warn
        return min(METRIC_LEVELS[self.metric][1], self.drift_level)

    def for_column(self, column: str) -> tuple[float, float]:
        """(warn, drift) levels for `column`.

        A per-column threshold replaces the drift level; the warn level keeps the same ratio to
        it as the global levels have, so a stricter column also warns earlier.
        """
        drift = self.columns.get(column, self.drift_level)
        if column not in self.columns:
            return self.warn_level, drift
        return self.warn_level * drift / self.drift_level, drift

    def decide(self, column: str, effect: float, p_adjusted: float) -> Status:
        """Verdict from the effect size (the metric, in nats) and the adjusted p-value.

        drift: effect >= drift level and p_adjusted < alpha (only the gate `decision` names
        counts when it is not "both"); warn: effect >= warn level and the significance gate
        passes (with "threshold", effect >= warn level alone); otherwise ok.
        """
        return decide(self.decision, self.for_column(column), self.alpha, effect, p_adjusted)


def decide(
    rule: Decision, levels: tuple[float, float], alpha: float, effect: float, p_adjusted: float
) -> Status:
    """Verdict of `rule` for an effect size against (warn, drift) levels and an adjusted p-value.

    The one place the decision rule lives, so the calibration benchmark can apply every rule to
    the same scores.
    """
    warn, drift = levels
    significant = p_adjusted < alpha
    if rule is Decision.significance:
        return Status.drift if significant else Status.ok
    if rule is Decision.both and not significant:
        return Status.ok
    if effect >= drift:
        return Status.drift
    if effect >= warn:
        return Status.warn
    return Status.ok


def _check_level(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise OptionError(name, value, "must be a finite number > 0")


def _check_count(name: str, value: int, least: int) -> None:
    if not least <= value <= MAX_BINS:
        raise OptionError(name, value, f"must be from {least} to {MAX_BINS}")


def parse_metrics(names: list[str]) -> tuple[Metric, ...]:
    """Parse metric names (as `show` takes them), keeping their order."""
    parsed: list[Metric] = []
    for name in names:
        try:
            parsed.append(Metric(name))
        except ValueError:
            choices = ", ".join(m.value for m in Metric)
            raise OptionError("show", name, f"must name metrics among {choices}") from None
    return tuple(parsed)


def parse_base(value: object) -> float:
    """A log base as a user gives it: "e" or a number (a flag's text, such as "2", too).

    The one converter of the config reader and the command line; raises ValueError otherwise.
    """
    if value == "e":
        return math.e
    if isinstance(value, str) and value.strip():
        return float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"not a log base: {value!r}")


def parse_column_thresholds(items: list[str]) -> dict[str, float]:
    """Parse repeated `COLUMN=VALUE` strings (the last "=" splits, so names may contain one)."""
    parsed: dict[str, float] = {}
    for item in items:
        column, sep, value = item.rpartition("=")
        if not sep or not column:
            raise OptionError("column_threshold", item, "expects COLUMN=VALUE")
        try:
            parsed[column] = float(value)
        except ValueError:
            raise OptionError("column_threshold", item, "expects a number after =") from None
    return parsed


class FailOn(str, Enum):
    """Which column statuses count against the dataset-level gate."""

    drift = "drift"
    warn = "warn"
    never = "never"


@dataclass(frozen=True)
class Gate:
    """Dataset-level rule: which columns count against the dataset and how many may.

    With neither limit set, any counted column fails the dataset. With both, the stricter wins.
    Columns missing from current or whose kind changed count like drifted columns.
    """

    def named(self, setting: str) -> str:
        """`setting`, its value and where it came from if known: "max_drifted 5 (kldrift.toml)"."""
        value = getattr(self, setting)
        text = f"{setting} {value.value if isinstance(value, Enum) else format(value, 'g')}"
        source = dict(self.sources).get(setting)
        return f"{text} ({source})" if source else text

    fail_on: FailOn = FailOn.drift
    max_drifted: int | None = None
    max_drifted_share: float | None = None
    #: (setting, where it came from) for the settings above that were given, for the reason.
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # As Thresholds does: the Python API is typed loosely in practice, and the gate compares
        # fail_on by identity, so a string left as it is would fall through to the default rule.
        try:
            object.__setattr__(self, "fail_on", FailOn(self.fail_on))
        except ValueError:
            choices = ", ".join(e.value for e in FailOn)
            raise OptionError("fail_on", self.fail_on, f"must be one of {choices}") from None
        if self.max_drifted is not None and self.max_drifted < 0:
            raise OptionError("max_drifted", self.max_drifted, "must be 0 or more")
        share = self.max_drifted_share
        if share is not None and not (math.isfinite(share) and 0 <= share <= 1):
            raise OptionError("max_drifted_share", share, "must be between 0 and 1")


@dataclass(frozen=True)
class PairLevels:
    """Drift and warn levels of a pair's relationship score, in nats.

    Significance (alpha, decision rule, adjustment) comes from the column `Thresholds`; pairs are
    adjusted as their own family, so asking for pairs never changes a column's verdict.
    """

    drift: float = DEFAULT_PAIR_DRIFT
    warn: float = DEFAULT_PAIR_WARN

    def __post_init__(self) -> None:
        for name, value in (("pair_threshold", self.drift), ("pair_warn", self.warn)):
            if not (math.isfinite(value) and value > 0):
                raise OptionError(name, value, "must be a finite number > 0")
        if self.warn > self.drift:
            raise OptionError("pair_warn", self.warn, "must not be above {pair_threshold}")


def parse_pairs(items: list[str], *, setting: str = "pairs") -> PairsSetting:
    """Parse repeated `A,B` strings into pairs, or "all" (`ALL_PAIRS`) given alone.

    `setting` names the setting they were given for in errors: "pair" (explain's one pair)
    takes no "all".
    """
    if ALL_PAIRS in items:
        if setting != "pairs":
            raise OptionError(setting, ALL_PAIRS, "names one pair of columns, A,B")
        if len(items) > 1:
            raise OptionError("pairs", ALL_PAIRS, "stands alone: give all or named pairs")
        return ALL_PAIRS
    parsed: list[tuple[str, str]] = []
    for item in items:
        names = [part.strip() for part in item.split(",")]
        if len(names) != 2 or not all(names):
            hint = " (or all)" if setting == "pairs" else ""
            raise OptionError(setting, item, f"expects two column names, A,B{hint}")
        if setting != "pairs" and names[0] == names[1]:
            raise OptionError(setting, item, "expects two different columns")
        parsed.append((names[0], names[1]))
    return tuple(parsed)


def with_pair(setting: PairsSetting | None, pair: tuple[str, str]) -> PairsSetting:
    """The `pairs` setting extended to score `pair` too (unchanged if it already does)."""
    if setting == ALL_PAIRS:
        return ALL_PAIRS
    named = setting or ()
    if any(set(p) == set(pair) for p in named):
        return named
    return (*named, pair)
