"""What a comparison returns: per-column scores, schema changes and the DriftReport."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import polars as pl

from kldrift import joint, profile
from kldrift.errors import ColumnError
from kldrift.gate import Verdict, apply_gate
from kldrift.options import Gate, Kind, Options, Status, Thresholds
from kldrift.registry import METRICS, Metric

#: Schema changes that make a dataset fail like a drifted column: data a consumer relied on is gone
#: or can no longer be read the same way.
BREAKING_CHANGES = frozenset({"missing_in_current", "kind_changed"})


def plural(count: int, noun: str) -> str:
    """`noun` as it follows the number `count` in English: "1 column", "0 columns"."""
    return noun if count == 1 else f"{noun}s"


@dataclass(frozen=True)
class ColumnDrift:
    """Scores and verdict for one column, with the two histograms they came from.

    `scores` holds every registered metric (kldrift.registry), also readable by its field name
    (`column.psi`). `kl`, `cross_entropy`, `entropy`, `noise_floor` and the divergences are in
    units of the report's log base (Hellinger has no unit);
    `warn` and `threshold` are the levels applied to the chosen metric, in nats. The G-test
    fields describe the test on the raw counts; `p_adjusted` is adjusted across the report's
    columns. `reference_singletons` is the reference profile's count of tail categories seen
    once (see `profile.scored_bins`); `detectable` is the smallest KL (report units) the G-test
    would detect with 95% power at these sizes and bins, were this the only drifted column
    (`significance.minimum_detectable_effect`). `new_categories` are the largest current
    categories the reference never had, as (value, rows).
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
    scores: Mapping[Metric, float] = field(default_factory=dict)
    noise_floor: float = 0.0
    g_statistic: float = 0.0
    dof: int = 0
    p_value: float = 1.0
    p_adjusted: float = 1.0
    test_method: str = ""
    reference_singletons: int | None = None
    detectable: float = math.inf
    new_categories: tuple[tuple[str, int], ...] = ()

    def score(self, metric: Metric) -> float:
        """The value of `metric` in the report's units (bias-corrected for KL)."""
        return self.scores.get(metric, 0.0)

    def effect(self, metric: Metric, base: float) -> float:
        """The effect size compared with the thresholds: `score(metric)` in nats."""
        return METRICS[metric].in_nats(self.score(metric), base)

    def __getattr__(self, name: str) -> float:
        # Each metric's score by its field name too (column.psi, column.kl_corrected).
        if name != "scores":
            for metric, info in METRICS.items():
                if info.field == name:
                    return self.score(metric)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

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

    @property
    def new_category_rows(self) -> int:
        """Current rows in categories the reference never had (0 unless categorical)."""
        if self.binning.method != "categories":
            return 0
        return self.current_counts[self.labels.index(profile.NEW_LABEL)]

    @property
    def new_category_share(self) -> float:
        """Share of current rows in categories the reference never had."""
        return self.new_category_rows / (sum(self.current_counts) or 1)

    @property
    def predicted_new_share(self) -> float | None:
        """Share of current rows the reference predicts in categories it never saw (Good-Turing:
        tail singletons / reference rows); None when not a categorical column with a tail or
        when the profile does not know its singletons."""
        if self.binning.method != "categories" or not self.binning.rest:
            return None
        if self.reference_singletons is None:
            return None
        return self.reference_singletons / (sum(self.reference_counts) or 1)

    @property
    def gone_categories(self) -> tuple[str, ...]:
        """Top-K reference categories that have no current rows, in bin order."""
        if self.binning.method != "categories":
            return ()
        return tuple(
            str(value)
            for value, ref, cur in zip(
                self.binning.values, self.reference_counts, self.current_counts, strict=False
            )
            if ref and not cur
        )


@dataclass(frozen=True)
class BinContribution:
    """One bin's part in a column's KL: raw shares of each side and its part p log(p/q) + q - p."""

    label: str
    reference_share: float
    current_share: float
    contribution: float


@dataclass(frozen=True)
class SchemaChange:
    """A column that could not be compared, and why."""

    column: str
    change: str
    reference_dtype: str | None
    current_dtype: str | None
    detail: str = ""

    @property
    def breaking(self) -> bool:
        """Whether this change alone makes the comparison fail."""
        return self.change in BREAKING_CHANGES

    @property
    def skipped(self) -> bool:
        """Whether the column was left out of the comparison because of this change."""
        return self.change in ("unsupported", "high_cardinality", "event_time", "increasing_id")

    @property
    def description(self) -> str:
        """One line for people."""
        return {
            "missing_in_current": f"missing from current (reference: {self.reference_dtype})",
            "new_in_current": f"new in current ({self.current_dtype})",
            "kind_changed": f"type changed: {self.reference_dtype} -> {self.current_dtype}",
            "unsupported": f"skipped: cannot bin type {self.reference_dtype}",
            "dtype_changed": (
                f"type changed: {self.reference_dtype} -> {self.current_dtype} (still compared)"
            ),
            "high_cardinality": f"skipped: {self.detail}",
            "null_rate_changed": f"null share {self.detail}",
            "new_categories": f"new categories: {self.detail}",
            "gone_categories": f"categories gone from current: {self.detail}",
            "event_time": f"event time, not scored: {self.detail}",
            "increasing_id": f"increasing ID, not scored: {self.detail}",
        }[self.change]


@dataclass(frozen=True)
class CellShift:
    """One cell of a pair's coarsened table: raw joint shares and its conditional-KL term."""

    x: str
    y: str
    reference_share: float
    current_share: float
    contribution: float


@dataclass(frozen=True)
class PairDrift:
    """Relationship drift of one pair of columns (X, Y) = `columns`.

    `kl`, `noise_floor` and `kl_corrected` hold the joint, marginal and conditional KLs (plug-in
    with smoothing, the noise floor, and plug-in minus floor clipped at 0), in the report's log
    base. `relationship` is the bias-corrected joint KL left after both marginal KLs (joint -
    marginal_x - marginal_y less its noise floor, clipped at 0: see
    `joint.JointDivergences.relationship`), the score the levels (`warn`, `threshold`, in nats)
    apply to. The test is the G-test of no three-way interaction on the 2 x k x l table
    (`joint.interaction_g_test`); `p_adjusted` is BH (or Bonferroni) across the pairs. `cells`
    are the cells carrying most of the score. `labels` name the rows (X) and
    columns (Y) of the scored (coarsened) tables, `reference_table` and `current_table`.
    """

    columns: tuple[str, str]
    status: Status
    kl: joint.JointDivergences
    noise_floor: joint.JointDivergences
    kl_corrected: joint.JointDivergences
    relationship: float
    shape: tuple[int, int]
    warn: float
    threshold: float
    g_statistic: float
    dof: int
    p_value: float
    p_adjusted: float
    test_method: str
    cells: tuple[CellShift, ...]
    labels: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    reference_table: tuple[tuple[int, ...], ...] = ()
    current_table: tuple[tuple[int, ...], ...] = ()

    @property
    def name(self) -> str:
        """The pair as reports and the gate name it: "income × age"."""
        return " × ".join(self.columns)

    def describe(self, cell: CellShift, shown: Callable[[str], str] = str) -> str:
        """One line for people, e.g. "income > 61000 × age <= 31: 4% → 19%".

        `shown` gives the text of each name and bin label (reports escape what does not print).
        """
        x, y = map(shown, self.columns)
        before, after = percent(cell.reference_share), percent(cell.current_share)
        return f"{x} {shown(cell.x)} × {y} {shown(cell.y)}: {before} → {after}"


def percent(share: float) -> str:
    """A share as people read it: whole percents, one decimal below 1%."""
    return f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.1%}"


@dataclass(frozen=True)
class Window:
    """A time window [start, end) of the current data, as ISO dates or datetimes."""

    start: str
    end: str


@dataclass(frozen=True)
class DriftReport:
    """Result of comparing a current dataset with a reference, column by column.

    `window` is set when the current data is one time window of a larger dataset.
    `current_files` and `config_file` record where the data and settings came from. `pairs`
    holds the relationship drift of the column pairs asked for (`Spec.pairs`), most drifted
    first; a drifted pair counts like a drifted column.
    """

    reference: str
    current: str
    reference_rows: int
    current_rows: int
    options: Options
    thresholds: Thresholds
    columns: tuple[ColumnDrift, ...]
    schema: tuple[SchemaChange, ...] = field(default=())
    gate: Gate = field(default=Gate())
    window: Window | None = None
    #: The files CURRENT named (those its glob or directory matched), and the config file in
    #: force, if any.
    current_files: tuple[str, ...] = ()
    config_file: str | None = None
    pairs: tuple[PairDrift, ...] = ()

    @property
    def verdict(self) -> Verdict:
        """Whether the dataset passes its gate, and which rule decided."""
        return apply_gate(self, self.gate)

    def column(self, name: str) -> ColumnDrift:
        """The scored column `name`; ColumnError if it was not compared."""
        for column in self.columns:
            if column.name == name:
                return column
        change = next((s for s in self.schema if s.column == name), None)
        where = f"{self.reference} or {self.current}"
        if change is not None:
            problem = f"{name!r} was not scored: {change.description}"
            raise ColumnError(name, where, setting="column", problem=problem)
        known = [c.name for c in self.columns]
        raise ColumnError(name, where, setting="column", known=known)

    @property
    def drifted_columns(self) -> tuple[ColumnDrift, ...]:
        """Columns whose status is drift."""
        return tuple(c for c in self.columns if c.status is Status.drift)

    @property
    def warned_columns(self) -> tuple[ColumnDrift, ...]:
        """Columns whose status is warn."""
        return tuple(c for c in self.columns if c.status is Status.warn)

    @property
    def drifted_pairs(self) -> tuple[PairDrift, ...]:
        """Pairs whose relationship drifted."""
        return tuple(p for p in self.pairs if p.status is Status.drift)

    @property
    def warned_pairs(self) -> tuple[PairDrift, ...]:
        """Pairs whose relationship warns."""
        return tuple(p for p in self.pairs if p.status is Status.warn)

    def pair(self, x: str, y: str) -> PairDrift:
        """The scored pair of columns `x` and `y` (in either order); ColumnError if not scored."""
        for scored in self.pairs:
            if set(scored.columns) == {x, y}:
                return scored
        where = f"{self.reference} or {self.current}"
        problem = f"the pair {x},{y} was not scored"
        raise ColumnError(None, where, setting="pair", problem=problem)

    @property
    def breaking_schema_changes(self) -> tuple[SchemaChange, ...]:
        """Schema changes that count as drift."""
        return tuple(s for s in self.schema if s.breaking)

    @property
    def drifted(self) -> bool:
        """True when any column or pair drifted or a column went missing or changed type."""
        return bool(self.drifted_columns or self.drifted_pairs or self.breaking_schema_changes)

    @property
    def status(self) -> Status:
        """Overall verdict: drift, else warn if any column warns, else ok."""
        if self.drifted:
            return Status.drift
        return Status.warn if self.warned_columns or self.warned_pairs else Status.ok

    @property
    def summary(self) -> str:
        """One line for people, e.g. "3 of 26 columns drifted"."""
        total = len(self.columns)
        text = f"{len(self.drifted_columns)} of {total} {plural(total, 'column')} drifted"
        if self.warned_columns:
            text += f", {len(self.warned_columns)} warned"
        breaking = len(self.breaking_schema_changes)
        if breaking:
            text += f"; {breaking} {plural(breaking, 'schema change')} missing or retyped"
        return f"{text}; {self.pairs_summary}" if self.pairs else text

    @property
    def pairs_summary(self) -> str:
        """The pairs' line, e.g. "1 of 45 pairs drifted, 2 warned"."""
        text = f"{len(self.drifted_pairs)} of {len(self.pairs)} pairs drifted"
        return text + (f", {len(self.warned_pairs)} warned" if self.warned_pairs else "")

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
