"""Options, thresholds and their documented defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from kldrift.errors import OptionError

#: Quantile bins per numeric column (deciles, as PSI practice uses).
DEFAULT_BINS = 10
#: Categories of a categorical column that get a bin of their own; the rest share "(other)".
DEFAULT_TOP_K = 20
#: A numeric column with at most this many distinct reference values gets one bin per value.
DEFAULT_DISCRETE_MAX = 20
#: Pseudocount added to every bin of both histograms (Jeffreys / Krichevsky-Trofimov prior).
DEFAULT_SMOOTHING = 0.5
#: Bias-corrected KL, in nats, at or above which a (significant) column drifts: METRIC_LEVELS
#: holds these and the other metrics' default levels.
DEFAULT_THRESHOLD = 0.1
#: Bias-corrected KL, in nats, at or above which a (significant) column warns.
DEFAULT_WARN = 0.05
#: Significance level for the adjusted G-test p-value of a column.
DEFAULT_ALPHA = 0.05
#: Marks a level left to the chosen metric's default (compared by identity, so a NaN the user
#: passes is still rejected as not finite).
UNSET: float = float("nan")


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


class Engine(str, Enum):
    """What counts `kldrift profile`'s histograms: polars here, or Spark (kldrift.spark)."""

    polars = "polars"
    spark = "spark"


class HistoryFormat(str, Enum):
    """Output formats of `kldrift history`."""

    table = "table"
    json = "json"
    csv = "csv"


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


class Metric(str, Enum):
    """The score whose thresholds decide drift."""

    kl = "kl"
    js_divergence = "js_divergence"
    js_distance = "js_distance"
    psi = "psi"
    hellinger = "hellinger"


class Adjustment(str, Enum):
    """How p-values are adjusted for testing every column at once."""

    bh = "bh"
    bonferroni = "bonferroni"


#: Default (drift, warn) levels per metric, in nats (Hellinger has no unit). KL's are the
#: historical ones; PSI's are the customary 0.25 / 0.1 bands; JS divergence, JS distance and
#: Hellinger get the values that match KL's for small shifts (JS ~ H^2 ~ KL / 4): see
#: docs/statistics.md.
METRIC_LEVELS: dict[Metric, tuple[float, float]] = {
    Metric.kl: (DEFAULT_THRESHOLD, DEFAULT_WARN),
    Metric.js_divergence: (0.025, 0.0125),
    Metric.js_distance: (0.16, 0.11),
    Metric.psi: (0.25, 0.1),
    Metric.hellinger: (0.16, 0.11),
}


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
        if self.bins < 1:
            raise OptionError(f"--bins must be at least 1, got {self.bins}")
        if self.top_k < 1:
            raise OptionError(f"--top-k must be at least 1, got {self.top_k}")
        if self.discrete_max < 0:
            raise OptionError(f"discrete_max must be 0 or more, got {self.discrete_max}")
        if not (math.isfinite(self.smoothing) and self.smoothing >= 0):
            raise OptionError(f"--smoothing must be a finite number >= 0, got {self.smoothing}")
        if not (math.isfinite(self.base) and self.base > 0 and self.base != 1):
            raise OptionError(f"--base must be a positive number other than 1, got {self.base}")

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

    `drift` and `warn` left `UNSET` take the metric's defaults (`METRIC_LEVELS`); an unset warn
    level never exceeds the drift level. `alpha`, `decision` and `adjustment` set the
    significance gate.
    """

    drift: float = UNSET
    warn: float = UNSET
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
                raise OptionError(
                    f"--{name}: unknown value {getattr(self, name)!r}; use one of {choices}"
                ) from None
        default_drift, default_warn = METRIC_LEVELS[self.metric]
        if self.drift is UNSET:
            object.__setattr__(self, "drift", default_drift)
        if self.warn is UNSET:
            object.__setattr__(self, "warn", min(default_warn, self.drift))
        if not (math.isfinite(self.alpha) and 0 < self.alpha < 1):
            raise OptionError(f"--alpha must be a number between 0 and 1, got {self.alpha}")
        for name, value in [("--threshold", self.drift), ("--warn", self.warn)]:
            _check_level(name, value)
        for column, value in self.columns.items():
            _check_level(f"--column-threshold {column}", value)
        if self.warn > self.drift:
            raise OptionError(
                f"--warn ({self.warn:g}) must not be above --threshold ({self.drift:g})"
            )

    def for_column(self, column: str) -> tuple[float, float]:
        """(warn, drift) levels for `column`.

        A per-column threshold replaces the drift level; the warn level keeps the same ratio to
        it as the global levels have, so a stricter column also warns earlier.
        """
        drift = self.columns.get(column, self.drift)
        warn = self.warn if column not in self.columns else self.warn * drift / self.drift
        return warn, drift

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
        raise OptionError(f"{name} must be a finite number > 0, got {value}")


def parse_metrics(names: list[str]) -> tuple[Metric, ...]:
    """Parse metric names (as `--show` takes them), keeping their order."""
    parsed: list[Metric] = []
    for name in names:
        try:
            parsed.append(Metric(name))
        except ValueError:
            choices = ", ".join(m.value for m in Metric)
            raise OptionError(f"--show: unknown metric {name!r}; use one of {choices}") from None
    return tuple(parsed)


def parse_column_thresholds(items: list[str]) -> dict[str, float]:
    """Parse repeated `COLUMN=VALUE` strings (the last "=" splits, so names may contain one)."""
    parsed: dict[str, float] = {}
    for item in items:
        column, sep, value = item.rpartition("=")
        if not sep or not column:
            raise OptionError(f"--column-threshold expects COLUMN=VALUE, got {item!r}")
        try:
            parsed[column] = float(value)
        except ValueError:
            raise OptionError(f"--column-threshold {column}: {value!r} is not a number") from None
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

    fail_on: FailOn = FailOn.drift
    max_drifted: int | None = None
    max_drifted_share: float | None = None

    def __post_init__(self) -> None:
        if self.max_drifted is not None and self.max_drifted < 0:
            raise OptionError(f"--max-drifted must be 0 or more, got {self.max_drifted}")
        share = self.max_drifted_share
        if share is not None and not (math.isfinite(share) and 0 <= share <= 1):
            raise OptionError(f"--max-drifted-share must be between 0 and 1, got {share}")
