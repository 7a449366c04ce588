"""The metric registry: one record per effect-size metric, which every part of kldrift iterates.

A metric is declared here only: its `Metric` member and its `MetricInfo` (label, unit, default
levels, the function that scores it). The scoring, the decision, JSON, CSV, the history, the
tables and the `--metric` choices all read this module, so adding a metric touches it alone.
It imports no numpy: the CLI lists the choices before any data is read.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Literal, cast

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

#: Bias-corrected KL, in nats, at or above which a (significant) column drifts: a 0.1 sd mean
#: shift of a normal distribution (KL = d^2 / 2). Chosen with bench/calibration.py (see
#: docs/calibration.md).
DEFAULT_THRESHOLD = 0.005
#: Bias-corrected KL, in nats, at or above which a (significant) column warns (a 0.07 sd shift).
DEFAULT_WARN = 0.0025

Score = Callable[["ArrayLike", "ArrayLike", float, float], float]


class Metric(str, Enum):
    """The score whose thresholds decide drift."""

    kl = "kl"
    js_divergence = "js_divergence"
    js_distance = "js_distance"
    psi = "psi"
    hellinger = "hellinger"


@dataclass(frozen=True)
class MetricInfo:
    """What kldrift knows of one metric.

    `field` names its score in ColumnDrift, JSON, CSV and the history. `unit` is "nats" when
    the score is a divergence (levels are compared in nats whatever the report's log base) or
    "none" (Hellinger). `scale` says how a score in the report's base becomes nats: "log"
    (multiply by ln base), "root_log" (a square root of a divergence: multiply by
    sqrt(ln base)) or "none". `levels` are the default (drift, warn) levels. `function` is
    "module:name" of a function (reference counts, current counts, smoothing, base) -> score.
    """

    label: str
    field: str
    unit: Literal["nats", "none"]
    scale: Literal["log", "root_log", "none"]
    levels: tuple[float, float]
    function: str

    def score(
        self, reference: ArrayLike, current: ArrayLike, smoothing: float, base: float
    ) -> float:
        """The metric of the two histograms, in the report's units; 0 when a side has no rows
        (there is nothing to compare, and KL's bias correction would divide by zero)."""
        import numpy as np

        if not (np.asarray(reference).sum() and np.asarray(current).sum()):
            return 0.0
        return float(self.compute(reference, current, smoothing, base))

    @functools.cached_property
    def compute(self) -> Score:
        """The function `function` names, imported once."""
        module, _, name = self.function.partition(":")
        return cast(Score, getattr(importlib.import_module(module), name))

    def in_nats(self, value: float, base: float) -> float:
        """`value` (in units of `base`) as the levels measure it."""
        if self.scale == "log":
            return value * math.log(base)
        if self.scale == "root_log":
            return value * math.sqrt(math.log(base))
        return value


#: Default levels: KL's come from the calibration; PSI's the customary 0.25 / 0.1 bands; JS
#: divergence, JS distance and Hellinger get the values that match KL's for small shifts
#: (JS ~ H^2 ~ KL / 4): see docs/statistics.md.
METRICS: dict[Metric, MetricInfo] = {
    Metric.kl: MetricInfo(
        "KL corr.",
        "kl_corrected",
        "nats",
        "log",
        (DEFAULT_THRESHOLD, DEFAULT_WARN),
        "kldrift.significance:miller_madow_kl",
    ),
    Metric.js_divergence: MetricInfo(
        "JS", "js_divergence", "nats", "log", (0.00125, 0.000625), "kldrift.metrics:js_divergence"
    ),
    Metric.js_distance: MetricInfo(
        "JS dist.", "js_distance", "nats", "root_log", (0.035, 0.025), "kldrift.metrics:js_distance"
    ),
    Metric.psi: MetricInfo("PSI", "psi", "nats", "log", (0.25, 0.1), "kldrift.metrics:psi"),
    Metric.hellinger: MetricInfo(
        "Hellinger", "hellinger", "none", "none", (0.035, 0.025), "kldrift.metrics:hellinger"
    ),
}
