"""The dataset-level gate: whether a report (or a run of window reports) passes, and why."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kldrift.options import FailOn, Gate, Status

if TYPE_CHECKING:  # the reports hold their gate, and ask this module for its verdict
    from kldrift.result import DriftReport


@dataclass(frozen=True)
class Verdict:
    """Outcome of a report's dataset-level gate.

    `rule` names what decided: "default" (no limit set: any counted column fails),
    "max_drifted", "max_drifted_share" (the stricter limit when both are set) or "fail_on_never".
    """

    passed: bool
    rule: str
    fail_on: FailOn
    failing: tuple[str, ...]
    considered: int
    allowed: int | None
    reason: str


def apply_gate(report: DriftReport, gate: Gate) -> Verdict:
    """Pass or fail `report` by `gate`: count the columns the gate cares about against its limit.

    A scored pair of columns counts like a column: a drifted (or, with fail_on warn, warned)
    relationship fails like a drifted column, and every scored pair adds one to those considered.
    """
    counted = {Status.drift, Status.warn} if gate.fail_on is FailOn.warn else {Status.drift}
    failing = (
        tuple(c.name for c in report.columns if c.status in counted)
        + tuple(s.column for s in report.breaking_schema_changes)
        + tuple(p.name for p in report.pairs if p.status in counted)
    )
    considered = len(report.columns) + len(report.breaking_schema_changes) + len(report.pairs)
    noun = "drifted or warned" if gate.fail_on is FailOn.warn else "drifted"
    things = ("column", "columns") if not report.pairs else ("column or pair", "columns or pairs")
    found = f"{len(failing)} {noun} {things[len(failing) != 1]} of {considered}"
    if gate.fail_on is FailOn.never:
        reason = f"{found}; {gate.named('fail_on')} reports drift but never fails"
        return Verdict(True, "fail_on_never", gate.fail_on, failing, considered, None, reason)

    limits: list[tuple[int, str, str]] = []
    if gate.max_drifted is not None:
        limits.append((gate.max_drifted, "max_drifted", gate.named("max_drifted")))
    if gate.max_drifted_share is not None:
        # A count above share * considered fails; the epsilon keeps 0.29 * 100 from becoming 28.
        allowed = math.floor(gate.max_drifted_share * considered + 1e-9)
        limits.append((allowed, "max_drifted_share", gate.named("max_drifted_share")))
    if not limits:
        passed = not failing
        reason = f"{found}; any {noun} {things[0]} fails"
        return Verdict(passed, "default", gate.fail_on, failing, considered, 0, reason)
    allowed, rule, limit = min(limits, key=lambda item: item[0])  # the stricter; ties: first
    passed = len(failing) <= allowed
    relation = "within" if passed else "more than"
    reason = f"{found}, {relation} the {allowed} allowed by {limit}"
    return Verdict(passed, rule, gate.fail_on, failing, considered, allowed, reason)


def passed(reports: Sequence[DriftReport]) -> bool:
    """Whether a run of reports (e.g. one per time window) passes: every one passes its gate."""
    return all(r.verdict.passed for r in reports)
