"""Plain-text pieces of the "relationships" section that every format shares (no rich)."""

from __future__ import annotations

import math

from kldrift.options import Status
from kldrift.report.text import gate_reason, printable
from kldrift.result import DriftReport, PairDrift

#: What the section's numbers are, in one sentence.
CAPTION = (
    "relationship = joint KL - both columns' own KLs, bias-corrected: the drift of how the two "
    "columns move together beyond their own drift; cells: share of rows, reference → current."
)


def flagged(report: DriftReport) -> tuple[PairDrift, ...]:
    """The pairs that drifted or warn, most drifted first (the report's order)."""
    return tuple(p for p in report.pairs if p.status is not Status.ok)


def name(columns: tuple[str, str]) -> str:
    """A pair of columns as reports for people name it, "income × age" (names `printable`)."""
    return " × ".join(map(printable, columns))


def cells(pair: PairDrift) -> list[str]:
    """The cells carrying the relationship score, one line each: "x > 3 × y <= 1: 4% → 19%"."""
    return [pair.describe(cell, printable) for cell in pair.cells]


def reason(report: DriftReport, pair: PairDrift) -> str:
    """What decided `pair`'s status, e.g. "relationship 0.4512 >= 0.01 and p adj. <1e-16 < 0.05".

    The score is in nats, like the levels, whatever the report's unit.
    """
    effect = pair.relationship * math.log(report.options.base)
    label = "relationship" + (" (nats)" if report.options.unit != "nats" else "")
    return gate_reason(report, label, effect, (pair.warn, pair.threshold), pair.p_adjusted)
