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
#: KL divergence, in nats, at or above which a column has drifted.
DEFAULT_THRESHOLD = 0.1
#: KL divergence, in nats, at or above which a column is flagged "warn".
DEFAULT_WARN = 0.05


class Kind(str, Enum):
    """How a column is binned."""

    numeric = "numeric"
    categorical = "categorical"
    temporal = "temporal"


class Status(str, Enum):
    """Verdict for one column."""

    ok = "ok"
    warn = "warn"
    drift = "drift"


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
    """Drift and warn levels for KL divergence, in nats whatever the report's log base."""

    drift: float = DEFAULT_THRESHOLD
    warn: float = DEFAULT_WARN
    columns: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
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

    def status(self, column: str, kl_nats: float) -> Status:
        """Verdict for a KL value in nats."""
        warn, drift = self.for_column(column)
        if kl_nats >= drift:
            return Status.drift
        if kl_nats >= warn:
            return Status.warn
        return Status.ok


def _check_level(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise OptionError(f"{name} must be a finite number > 0, got {value}")


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
