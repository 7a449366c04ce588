"""Options and thresholds: metric defaults, the decision rule and option errors."""

import dataclasses
import math

import pytest

from kldrift.errors import OptionError
from kldrift.options import (
    METRIC_LEVELS,
    Adjustment,
    Decision,
    Status,
    Thresholds,
    decide,
    parse_metrics,
)
from kldrift.registry import Metric


@pytest.mark.parametrize("metric", list(Metric))
def test_unset_levels_take_the_metrics_own_defaults(metric):
    thresholds = Thresholds(metric=metric)
    assert (thresholds.drift_level, thresholds.warn_level) == METRIC_LEVELS[metric]
    assert thresholds.warn_level < thresholds.drift_level


def test_documented_defaults():
    # Chosen with bench/calibration.py: see docs/calibration.md.
    assert METRIC_LEVELS[Metric.kl] == (0.005, 0.0025)
    assert METRIC_LEVELS[Metric.psi] == (0.25, 0.1)
    # JS ~ H^2 ~ KL / 4 for small shifts: the KL levels' equivalents.
    assert METRIC_LEVELS[Metric.js_divergence] == (0.00125, 0.000625)
    assert METRIC_LEVELS[Metric.hellinger] == pytest.approx((0.005**0.5 / 2, 0.0025**0.5 / 2), 0.02)
    defaults = Thresholds()
    assert (defaults.metric, defaults.decision, defaults.adjustment, defaults.alpha) == (
        Metric.kl,
        Decision.both,
        Adjustment.bh,
        0.05,
    )


def test_an_explicit_drift_level_below_the_default_warn_pulls_warn_down():
    thresholds = Thresholds(drift=0.002)
    assert (thresholds.drift_level, thresholds.warn_level) == (0.002, 0.002)
    assert Thresholds(drift=0.3, metric="psi").warn_level == 0.1  # strings are accepted, as enums


def test_a_nan_level_is_refused():
    with pytest.raises(OptionError, match="threshold must be a finite number"):
        Thresholds(drift=float("nan"))


def test_replacing_the_metric_of_default_thresholds_takes_the_new_metrics_levels():
    # Failed before: replace() kept KL's levels, resolved away by the NaN "unset" sentinel.
    replaced = dataclasses.replace(Thresholds(), metric=Metric.psi)
    assert replaced == Thresholds(metric=Metric.psi)
    assert (replaced.drift_level, replaced.warn_level) == METRIC_LEVELS[Metric.psi]


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, math.nan])
def test_alpha_must_lie_strictly_between_0_and_1(alpha):
    with pytest.raises(OptionError, match="^alpha must be a number between 0 and 1"):
        Thresholds(alpha=alpha)


def test_unknown_enum_values_are_option_errors():
    with pytest.raises(OptionError, match="^metric must be one of kl, .*, got 'tv'"):
        Thresholds(metric="tv")
    with pytest.raises(OptionError, match="^show must name metrics among"):
        parse_metrics(["psi", "tv"])
    assert parse_metrics(["psi", "kl"]) == (Metric.psi, Metric.kl)


LEVELS = (0.05, 0.1)  # warn, drift


@pytest.mark.parametrize(
    ("rule", "effect", "p", "expected"),
    [
        # both: each gate alone is not enough
        (Decision.both, 0.2, 0.01, Status.drift),
        (Decision.both, 0.2, 0.05, Status.ok),  # p must be below alpha, not equal
        (Decision.both, 0.07, 0.01, Status.warn),
        (Decision.both, 0.01, 1e-20, Status.ok),
        (Decision.both, 0.1, 0.049, Status.drift),  # at the threshold counts
        # threshold: the effect alone
        (Decision.threshold, 0.2, 1.0, Status.drift),
        (Decision.threshold, 0.05, 1.0, Status.warn),
        (Decision.threshold, 0.04, 0.0, Status.ok),
        # significance: the p-value alone, no warn level
        (Decision.significance, 0.0, 0.01, Status.drift),
        (Decision.significance, 0.5, 0.2, Status.ok),
    ],
)
def test_decision_rule(rule, effect, p, expected):
    assert decide(rule, LEVELS, 0.05, effect, p) is expected


def test_thresholds_decide_uses_the_per_column_level():
    thresholds = Thresholds(columns={"x": 0.5})
    assert thresholds.decide("x", 0.3, 0.0) is Status.warn  # warn = 0.05 * 0.5 / 0.1 = 0.25
    assert thresholds.decide("y", 0.3, 0.0) is Status.drift


def test_formats_are_spelled_as_a_person_reads_them_in_help_and_errors():
    from kldrift.options import WINDOW_FORMATS, Format, spelled

    assert spelled(WINDOW_FORMATS) == "table, json or html"
    assert spelled([Format.csv]) == "csv"
    assert spelled(list(Format)) == "table, json, markdown, junit, csv or html"
