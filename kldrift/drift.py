"""compare(reference, current) -> DriftReport: plan the columns, profile, score and decide."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import polars as pl

from kldrift import metrics, profile
from kldrift.config import FailOn, Gate, Kind, Options, Status, Thresholds
from kldrift.errors import ColumnError, InputError
from kldrift.io import Table, scan_table

#: Schema changes that make a dataset fail like a drifted column: data a consumer relied on is gone
#: or can no longer be read the same way.
BREAKING_CHANGES = frozenset({"missing_in_current", "kind_changed"})

DataSource = str | os.PathLike[str] | pl.DataFrame | pl.LazyFrame


@dataclass(frozen=True)
class ColumnDrift:
    """Scores and verdict for one column, with the two histograms they came from.

    `kl`, `cross_entropy` and `entropy` are in units of the report's log base; `warn` and
    `threshold` are the levels applied to KL, in nats.
    """

    name: str
    kind: Kind
    dtype: str
    status: Status
    kl: float
    cross_entropy: float
    entropy: float
    warn: float
    threshold: float
    binning: profile.Binning
    reference_counts: tuple[int, ...]
    current_counts: tuple[int, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """One label per bin, aligned with the counts."""
        return self.binning.labels

    @property
    def null_share_reference(self) -> float:
        """Share of reference rows that are null or NaN."""
        return profile.null_share(self.reference_counts)

    @property
    def null_share_current(self) -> float:
        """Share of current rows that are null or NaN."""
        return profile.null_share(self.current_counts)


@dataclass(frozen=True)
class SchemaChange:
    """A column that could not be compared, and why."""

    column: str
    change: str
    reference_dtype: str | None
    current_dtype: str | None

    @property
    def breaking(self) -> bool:
        """Whether this change alone makes the comparison fail."""
        return self.change in BREAKING_CHANGES

    @property
    def description(self) -> str:
        """One line for people."""
        return {
            "missing_in_current": f"missing from current (reference: {self.reference_dtype})",
            "new_in_current": f"new in current ({self.current_dtype})",
            "kind_changed": f"type changed: {self.reference_dtype} -> {self.current_dtype}",
            "unsupported": f"skipped: cannot bin type {self.reference_dtype}",
        }[self.change]


@dataclass(frozen=True)
class DriftReport:
    """Result of comparing a current dataset with a reference, column by column."""

    reference: str
    current: str
    reference_rows: int
    current_rows: int
    options: Options
    thresholds: Thresholds
    columns: tuple[ColumnDrift, ...]
    schema: tuple[SchemaChange, ...] = field(default=())
    gate: Gate = field(default=Gate())

    @property
    def verdict(self) -> Verdict:
        """Whether the dataset passes its gate, and which rule decided."""
        return decide(self, self.gate)

    @property
    def drifted_columns(self) -> tuple[ColumnDrift, ...]:
        """Columns whose status is drift."""
        return tuple(c for c in self.columns if c.status is Status.drift)

    @property
    def warned_columns(self) -> tuple[ColumnDrift, ...]:
        """Columns whose status is warn."""
        return tuple(c for c in self.columns if c.status is Status.warn)

    @property
    def breaking_schema_changes(self) -> tuple[SchemaChange, ...]:
        """Schema changes that count as drift."""
        return tuple(s for s in self.schema if s.breaking)

    @property
    def drifted(self) -> bool:
        """True when any column drifted or a column went missing or changed type."""
        return bool(self.drifted_columns or self.breaking_schema_changes)

    @property
    def status(self) -> Status:
        """Overall verdict: drift, else warn if any column warns, else ok."""
        if self.drifted:
            return Status.drift
        return Status.warn if self.warned_columns else Status.ok

    @property
    def summary(self) -> str:
        """One line for people, e.g. "3 of 26 columns drifted"."""
        text = f"{len(self.drifted_columns)} of {len(self.columns)} columns drifted"
        if self.warned_columns:
            text += f", {len(self.warned_columns)} warned"
        breaking = len(self.breaking_schema_changes)
        if breaking:
            text += f"; {breaking} schema change{'s' if breaking > 1 else ''} missing or retyped"
        return text

    @property
    def table(self) -> pl.DataFrame:
        """One row per compared column, most drifted first."""
        return pl.DataFrame(
            {
                "column": [c.name for c in self.columns],
                "kind": [c.kind.value for c in self.columns],
                "kl": [c.kl for c in self.columns],
                "cross_entropy": [c.cross_entropy for c in self.columns],
                "entropy": [c.entropy for c in self.columns],
                "null_share_reference": [c.null_share_reference for c in self.columns],
                "null_share_current": [c.null_share_current for c in self.columns],
                "status": [c.status.value for c in self.columns],
            },
            schema={
                "column": pl.String,
                "kind": pl.String,
                "kl": pl.Float64,
                "cross_entropy": pl.Float64,
                "entropy": pl.Float64,
                "null_share_reference": pl.Float64,
                "null_share_current": pl.Float64,
                "status": pl.String,
            },
        )


def compare(
    reference: DataSource,
    current: DataSource,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    options: Options | None = None,
    thresholds: Thresholds | None = None,
    gate: Gate | None = None,
) -> DriftReport:
    """Compare CURRENT with REFERENCE column by column (P = reference, Q = current)."""
    options = options or Options()
    thresholds = thresholds or Thresholds()
    ref, cur = scan_table(reference), scan_table(current)
    kinds, schema = plan_columns(ref, cur, columns, exclude, options.categorical)
    _check_named_columns(ref, cur, thresholds.columns, "--column-threshold")

    ref_profile = profile.build(ref, kinds, options)
    binnings = {name: p.binning for name, p in ref_profile.columns.items()}
    cur_rows, cur_counts = profile.count(cur, binnings)
    for table, rows in [(ref, ref_profile.rows), (cur, cur_rows)]:
        if rows == 0:
            raise InputError(f"{table.name}: no rows to compare")

    results = [
        score_column(p, tuple(cur_counts[name].tolist()), options, thresholds)
        for name, p in ref_profile.columns.items()
    ]
    results.sort(key=lambda c: (-c.kl, c.name))
    return DriftReport(
        reference=ref.name,
        current=cur.name,
        reference_rows=ref_profile.rows,
        current_rows=cur_rows,
        options=options,
        thresholds=thresholds,
        columns=tuple(results),
        schema=tuple(schema),
        gate=gate or Gate(),
    )


def score_column(
    reference: profile.ColumnProfile,
    current_counts: tuple[int, ...],
    options: Options,
    thresholds: Thresholds,
) -> ColumnDrift:
    """Score one column's current histogram against its reference profile."""
    ref, cur = metrics.drop_empty_bins(reference.counts, current_counts)
    scores = metrics.divergences(ref, cur, options.smoothing, options.base)
    warn, threshold = thresholds.for_column(reference.name)
    return ColumnDrift(
        name=reference.name,
        kind=reference.binning.kind,
        dtype=reference.dtype,
        status=thresholds.status(reference.name, scores.kl * math.log(options.base)),
        kl=scores.kl,
        cross_entropy=scores.cross_entropy,
        entropy=scores.entropy,
        warn=warn,
        threshold=threshold,
        binning=reference.binning,
        reference_counts=reference.counts,
        current_counts=current_counts,
    )


def plan_columns(
    ref: Table,
    cur: Table,
    columns: Sequence[str] | None,
    exclude: Sequence[str],
    categorical: Sequence[str],
) -> tuple[dict[str, Kind], list[SchemaChange]]:
    """Which columns to compare and how to bin them, and the schema changes found on the way."""
    _check_named_columns(ref, cur, columns or (), "--columns")
    _check_named_columns(ref, cur, exclude, "--exclude")
    _check_named_columns(ref, cur, categorical, "--categorical")
    wanted = set(columns) if columns else set(ref.schema) | set(cur.schema)
    wanted -= set(exclude)

    kinds: dict[str, Kind] = {}
    changes: list[SchemaChange] = []
    for name, ref_dtype in ref.schema.items():
        if name not in wanted:
            continue
        if name not in cur.schema:
            changes.append(SchemaChange(name, "missing_in_current", str(ref_dtype), None))
            continue
        cur_dtype = cur.schema[name]
        ref_kind, cur_kind = profile.kind_of(ref_dtype), profile.kind_of(cur_dtype)
        if name in categorical and ref_kind is not None and cur_kind is not None:
            kinds[name] = Kind.categorical
        elif ref_kind is None:
            changes.append(SchemaChange(name, "unsupported", str(ref_dtype), str(cur_dtype)))
        elif ref_kind is not cur_kind:
            changes.append(SchemaChange(name, "kind_changed", str(ref_dtype), str(cur_dtype)))
        else:
            kinds[name] = ref_kind
    changes += [
        SchemaChange(name, "new_in_current", None, str(dtype))
        for name, dtype in cur.schema.items()
        if name in wanted and name not in ref.schema
    ]
    return kinds, changes


def _check_named_columns(ref: Table, cur: Table, names: Iterable[str], option: str) -> None:
    for name in names:
        if name not in ref.schema and name not in cur.schema:
            raise ColumnError(f"{option}: no column {name!r} in {ref.name} or {cur.name}")


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


def decide(report: DriftReport, gate: Gate) -> Verdict:
    """Pass or fail `report` by `gate`: count the columns the gate cares about against its limit."""
    counted = {Status.drift, Status.warn} if gate.fail_on is FailOn.warn else {Status.drift}
    failing = tuple(c.name for c in report.columns if c.status in counted) + tuple(
        s.column for s in report.breaking_schema_changes
    )
    considered = len(report.columns) + len(report.breaking_schema_changes)
    noun = "drifted or warned" if gate.fail_on is FailOn.warn else "drifted"
    found = f"{len(failing)} {noun} column{'' if len(failing) == 1 else 's'} of {considered}"
    if gate.fail_on is FailOn.never:
        reason = f"{found}; --fail-on never reports drift but never fails"
        return Verdict(True, "fail_on_never", gate.fail_on, failing, considered, None, reason)

    limits: list[tuple[int, str, str]] = []
    if gate.max_drifted is not None:
        limits.append((gate.max_drifted, "max_drifted", f"--max-drifted {gate.max_drifted}"))
    if gate.max_drifted_share is not None:
        # A count above share * considered fails; the epsilon keeps 0.29 * 100 from becoming 28.
        allowed = math.floor(gate.max_drifted_share * considered + 1e-9)
        limits.append(
            (allowed, "max_drifted_share", f"--max-drifted-share {gate.max_drifted_share:g}")
        )
    if not limits:
        passed = not failing
        reason = f"{found}; any {noun} column fails"
        return Verdict(passed, "default", gate.fail_on, failing, considered, 0, reason)
    allowed, rule, limit = min(limits, key=lambda item: item[0])  # the stricter; ties: first
    passed = len(failing) <= allowed
    relation = "within" if passed else "more than"
    reason = f"{found}, {relation} the {allowed} allowed by {limit}"
    return Verdict(passed, rule, gate.fail_on, failing, considered, allowed, reason)
