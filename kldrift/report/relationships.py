"""Plain-text pieces of the "relationships" section that every format shares (no rich)."""

from __future__ import annotations

import math

from kldrift.options import Decision, Status
from kldrift.report.text import p_value, score
from kldrift.result import DriftReport, PairDrift

#: What the section's numbers are, in one sentence.
CAPTION = (
    "relationship = joint KL - both columns' own KLs, bias-corrected: the drift of how the two "
    "columns move together beyond their own drift; cells: share of rows, reference → current."
)


def flagged(report: DriftReport) -> tuple[PairDrift, ...]:
    """The pairs that drifted or warn, most drifted first (the report's order)."""
    return tuple(p for p in report.pairs if p.status is not Status.ok)


def cells(pair: PairDrift) -> list[str]:
    """The cells carrying the conditional KL, one line each: "x > 3 × y <= 1: 4% → 19%"."""
    return [pair.describe(cell) for cell in pair.cells]


def reason(report: DriftReport, pair: PairDrift) -> str:
    """What decided `pair`'s status, e.g. "relationship 0.4512 >= 0.01 and p adj. <1e-16 < 0.05".

    The score is in nats, like the levels, whatever the report's unit.
    """
    t = report.thresholds
    significant = pair.p_adjusted < t.alpha
    p = f"p adj. {p_value(pair.p_adjusted)} {'<' if significant else '>='} {t.alpha:g}"
    if t.decision is Decision.significance:
        return p
    effect = pair.relationship * math.log(report.options.base)
    label = "relationship" + (" (nats)" if report.options.unit != "nats" else "")
    if effect >= pair.threshold:
        passed, gate = True, f"{label} {score(effect)} >= {pair.threshold:g}"
    elif effect >= pair.warn:
        passed, gate = True, f"{label} {score(effect)} >= warn level {pair.warn:g}"
    else:
        passed, gate = False, f"{label} {score(effect)} < warn level {pair.warn:g}"
    if t.decision is Decision.threshold:
        return gate
    return f"{gate} {'and' if passed is significant else 'but'} {p}"
