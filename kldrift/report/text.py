"""Plain-text pieces every format shares: metric labels, number and p-value formatting, the rule.

Kept free of rich, so the Markdown, CSV and JUnit formats do not load it.
"""

from __future__ import annotations

import math

from kldrift.options import Adjustment, Decision
from kldrift.registry import METRICS
from kldrift.result import ColumnDrift, DriftReport

#: Column headers of the metrics, as the reports show them.
METRIC_LABELS = {metric: info.label for metric, info in METRICS.items()}


def printable(text: str) -> str:
    """`text` (a column name, a category) as reports for people show it: as it is when every
    character prints, else as a Python string literal, like the categories of a schema change.

    So an escape sequence, a bell or a newline in the data shows as text ('\\x1b[31mred',
    'name\\nnl') and never reaches the terminal, sets its title or splits a table row; and an
    empty name (a CSV header "a,") shows as '', not as a blank cell.
    """
    return text if text.isprintable() and text else repr(text)


def score(value: float) -> str:
    """A score with four decimals, or "inf"."""
    return "inf" if math.isinf(value) else f"{value:.4f}"


def p_value(value: float) -> str:
    """A p-value in a few characters: 0.034, 3.2e-05, or <1e-16 below double-precision noise."""
    if value < 1e-16:
        return "<1e-16"
    if value < 1e-3:
        return f"{value:.1e}"
    return f"{value:.3f}"


def decision_text(report: DriftReport) -> str:
    """The decision rule in force, in one sentence."""
    return _rule(report) + _own_levels(report)


def _own_levels(report: DriftReport) -> str:
    # A column with its own drift level is decided by it, not by the level the rule names.
    own = report.thresholds.columns
    if not own:
        return ""
    levels = ", ".join(f"{printable(name)} {level:g}" for name, level in sorted(own.items()))
    return f" Own drift levels: {levels}."


def _rule(report: DriftReport) -> str:
    t = report.thresholds
    effect = METRIC_LABELS[t.metric] + (" (nats)" if METRICS[t.metric].unit == "nats" else "")
    adjustment = "BH" if t.adjustment is Adjustment.bh else "Bonferroni"
    significant = f"{adjustment}-adjusted p < {t.alpha:g}"
    if t.decision is Decision.significance:
        return f"Decision: significance; drift when {significant}."
    drift = f"{effect} >= {t.drift_level:g}"
    if t.decision is Decision.threshold:
        return f"Decision: threshold; drift when {drift}, warn when >= {t.warn_level:g}."
    return (
        f"Decision: both; drift when {drift} and {significant}; "
        f"warn when >= {t.warn_level:g} and p < {t.alpha:g}."
    )


def column_reason(report: DriftReport, column: ColumnDrift) -> str:
    """What decided `column`'s status, gate by gate.

    E.g. "KL corr. 0.3412 >= 0.1 and p adj. <1e-16 < 0.05". The effect is in nats (or unitless
    for Hellinger), like the levels it is compared with, whatever the report's unit; only the
    gates `--decision` uses are named.
    """
    label = METRIC_LABELS[report.thresholds.metric]
    if report.options.unit != "nats" and METRICS[report.thresholds.metric].unit == "nats":
        label += " (nats)"
    effect = column.effect(report.thresholds.metric, report.options.base)
    return gate_reason(report, label, effect, (column.warn, column.threshold), column.p_adjusted)


def gate_reason(
    report: DriftReport, label: str, effect: float, levels: tuple[float, float], p_adjusted: float
) -> str:
    """What decided a status, gate by gate, for an `effect` (nats) named `label` against its
    (warn, drift) `levels` and adjusted p-value; only the gates `--decision` uses are named."""
    t = report.thresholds
    warn, threshold = levels
    significant = p_adjusted < t.alpha
    p = f"p adj. {p_value(p_adjusted)} {'<' if significant else '>='} {t.alpha:g}"
    if t.decision is Decision.significance:
        return p
    if effect >= threshold:
        passed, gate = True, f"{label} {score(effect)} >= {threshold:g}"
    elif effect >= warn:
        passed, gate = True, f"{label} {score(effect)} >= warn level {warn:g}"
    else:
        passed, gate = False, f"{label} {score(effect)} < warn level {warn:g}"
    if t.decision is Decision.threshold:
        return gate
    # "but" marks the case where one gate passed and the other held the column back.
    return f"{gate} {'and' if passed is significant else 'but'} {p}"
