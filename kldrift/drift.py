"""compare(reference, current) -> DriftReport: plan the columns, profile, score and decide."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import polars as pl

from kldrift import metrics, profile, profile_file, remote, significance
from kldrift.config import Adjustment, FailOn, Gate, Kind, Metric, Options, Status, Thresholds
from kldrift.errors import ColumnError, InputError, OptionError
from kldrift.io import ReadOptions, Table, scan_table

#: Without an explicit choice, stream when the data would take more than this share of RAM.
STREAMING_MEMORY_SHARE = 0.5
#: Below this share of RAM, reference and current are read at once, so the reads overlap; above
#: it, one after the other, which halves peak memory when memory starts to matter.
TOGETHER_MEMORY_SHARE = 0.125

#: Schema changes that make a dataset fail like a drifted column: data a consumer relied on is gone
#: or can no longer be read the same way.
BREAKING_CHANGES = frozenset({"missing_in_current", "kind_changed"})
#: A change of at least this much in a column's null share (0.01 = 1 percentage point) is listed
#: among the schema changes; whether it is drift is for the column's KL to say.
NULL_RATE_CHANGE = 0.01
#: Gone categories shown by name in a schema change's description; the rest are counted.
SHOWN_CATEGORIES = 5

DataSource = str | os.PathLike[str] | pl.DataFrame | pl.LazyFrame
#: A reference is data, a loaded Profile, or a path to a profile file (`*.json`).
ReferenceSource = DataSource | profile.Profile


@dataclass(frozen=True)
class ColumnDrift:
    """Scores and verdict for one column, with the two histograms they came from.

    `kl`, `cross_entropy`, `entropy`, `kl_corrected`, `noise_floor`, `js_divergence`,
    `js_distance` and `psi` are in units of the report's log base (`hellinger` has no unit);
    `warn` and `threshold` are the levels applied to the chosen metric, in nats. The G-test
    fields describe the test on the raw counts; `p_adjusted` is adjusted across the report's
    columns.
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
    kl_corrected: float = 0.0
    noise_floor: float = 0.0
    js_divergence: float = 0.0
    js_distance: float = 0.0
    psi: float = 0.0
    hellinger: float = 0.0
    g_statistic: float = 0.0
    dof: int = 0
    p_value: float = 1.0
    p_adjusted: float = 1.0
    test_method: str = ""

    def score(self, metric: Metric) -> float:
        """The value of `metric` in the report's units (bias-corrected for KL)."""
        return {
            Metric.kl: self.kl_corrected,
            Metric.js_divergence: self.js_divergence,
            Metric.js_distance: self.js_distance,
            Metric.psi: self.psi,
            Metric.hellinger: self.hellinger,
        }[metric]

    def effect(self, metric: Metric, base: float) -> float:
        """The effect size compared with the thresholds: `score(metric)` in nats.

        JS distance is the square root of a divergence, so it scales with the root of ln(base);
        Hellinger has no unit.
        """
        value = self.score(metric)
        if metric is Metric.hellinger:
            return value
        if metric is Metric.js_distance:
            return value * math.sqrt(math.log(base))
        return value * math.log(base)

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
    """One bin's part in a column's KL: raw shares of each side and its term p log(p/q)."""

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
        return self.change in ("unsupported", "high_cardinality")

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
        return apply_gate(self, self.gate)

    def column(self, name: str) -> ColumnDrift:
        """The scored column `name`; ColumnError if it was not compared."""
        for column in self.columns:
            if column.name == name:
                return column
        change = next((s for s in self.schema if s.column == name), None)
        if change is not None:
            raise ColumnError(f"--column: {name!r} was not scored: {change.description}")
        raise ColumnError(f"--column: no column {name!r} in {self.reference} or {self.current}")

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
    reference: ReferenceSource,
    current: ReferenceSource,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    options: Options | None = None,
    thresholds: Thresholds | None = None,
    streaming: bool | None = None,
    progress: Callable[[str], None] | None = None,
    read_options: ReadOptions | None = None,
    gate: Gate | None = None,
) -> DriftReport:
    """Compare CURRENT with REFERENCE column by column (P = reference, Q = current).

    REFERENCE may be a Profile or a profile file (`*.json`): its bins and counts stand in for the
    reference data, and its binning options replace those in `options` (see `fitted_options`).
    CURRENT may be a profile too, counted on the reference's bins (`kldrift profile --bins-from`):
    its counts are compared as they are, so both sides can be counted elsewhere (Spark).
    `streaming` runs every query on polars' streaming engine in bounded memory; None chooses it
    when the files look too large for memory. `progress` is called with a short note as each
    step starts.
    """
    thresholds = thresholds or Thresholds()
    note = progress or (lambda _: None)
    ref, cur = open_reference(reference, read_options), open_reference(current, read_options)
    files = [t for t in (ref, cur) if isinstance(t, Table)]
    share = memory_share(*files)
    if streaming is None:
        streaming = share > STREAMING_MEMORY_SHARE
    # Only files are read together: a frame has no size estimate, and a LazyFrame current is
    # counted straight from its query.
    together = (
        not streaming and share < TOGETHER_MEMORY_SHARE and all(t.memory is not None for t in files)
    )
    plan = prepare(ref, cur, columns, exclude, options, thresholds, streaming, note, together)
    binnings = {name: p.binning for name, p in plan.reference.columns.items()}
    if isinstance(plan.current, profile.Profile):
        cur_rows, cur_counts = profile_counts(plan.current, binnings, reference_name(ref))
    else:
        note(f"counting {plan.current.name}")
        cur_rows, cur_counts = profile.count(plan.current, binnings, streaming=streaming)
    return assemble(
        reference_name(ref),
        plan.reference,
        reference_name(cur),
        cur_rows,
        cur_counts,
        plan.options,
        thresholds,
        plan.schema,
        gate,
    )


@dataclass(frozen=True)
class Plan:
    """What is compared: the reference's profile of the planned columns, the options it was
    fitted with, the schema changes found on the way, and the current data to count (read into
    memory already when the plan read both sides at once)."""

    reference: profile.Profile
    options: Options
    schema: list[SchemaChange]
    current: Table | profile.Profile


def profile_counts(
    current: profile.Profile, binnings: Mapping[str, profile.Binning], reference: str
) -> tuple[int, dict[str, profile.Counts]]:
    """The rows and counts of a CURRENT profile, which must be counted on the reference's bins."""
    counts: dict[str, profile.Counts] = {}
    for name, binning in binnings.items():
        column = current.columns.get(name)
        if column is None or column.binning != binning:
            raise InputError(
                f"{current.source}: column {name!r} is not counted on the bins of {reference}; "
                f"profile CURRENT with --bins-from {reference}"
            )
        counts[name] = np.asarray(column.counts, dtype=np.int64)
    return current.rows, counts


def prepare(
    ref: Table | profile.Profile,
    cur: Table | profile.Profile,
    columns: Sequence[str] | None,
    exclude: Sequence[str],
    options: Options | None,
    thresholds: Thresholds,
    streaming: bool = False,
    note: Callable[[str], None] = lambda _: None,
    together: bool = False,
) -> Plan:
    """Plan the columns, check the names the user gave, and profile the reference (or take its
    profile), leaving out ID-like columns: everything before the current data is counted.

    With `together` (and reference data rather than a profile), the planned columns of both
    sides are read into memory at once, so the two reads overlap.
    """
    fitted = fitted_options(ref, options or Options())
    kinds, schema = plan_columns(ref, cur, columns, exclude, fitted.categorical)
    _check_named_columns(ref, cur, thresholds.columns, "--column-threshold")
    if not kinds and not set(_reference_kinds(ref)) & set(dict(cur.schema)):
        raise ColumnError(f"{reference_name(cur)}: no column in common with {reference_name(ref)}")
    if together and kinds and isinstance(ref, Table) and isinstance(cur, Table):
        note(f"reading {ref.name} and {cur.name}")
        ref, cur = profile.load([ref, cur], list(kinds))
    note(f"profiling {reference_name(ref)}")
    built = reference_profile(ref, kinds, fitted, streaming=streaming)
    ref_profile, skipped = _skip_high_cardinality(built, cur, fitted)
    return Plan(ref_profile, fitted, [*schema, *skipped], cur)


def assemble(
    reference_name: str,
    reference: profile.Profile,
    current_name: str,
    current_rows: int,
    current_counts: Mapping[str, profile.Counts],
    options: Options,
    thresholds: Thresholds,
    schema: Sequence[SchemaChange],
    gate: Gate | None = None,
) -> DriftReport:
    """Score every column of `reference` against the current histograms, most drifted first."""
    for name, rows in [(reference_name, reference.rows), (current_name, current_rows)]:
        if rows == 0:
            raise InputError(f"{name}: no rows to compare")

    results = [
        score_column(p, tuple(current_counts[name].tolist()), options, thresholds)
        for name, p in reference.columns.items()
    ]
    results = adjust(results, options, thresholds)
    results.sort(key=lambda c: (-c.kl, c.name))
    schema = [*schema, *content_changes(results)]
    return DriftReport(
        reference=reference_name,
        current=current_name,
        reference_rows=reference.rows,
        current_rows=current_rows,
        options=options,
        thresholds=thresholds,
        columns=tuple(results),
        schema=tuple(schema),
        gate=gate or Gate(),
    )


def open_reference(
    reference: ReferenceSource, read_options: ReadOptions | None = None
) -> Table | profile.Profile:
    """A Table for reference data; the Profile itself for a profile or a profile file."""
    if isinstance(reference, profile.Profile):
        return reference
    if profile_file.is_profile_source(reference):
        storage = read_options.storage_options if read_options else ()
        loaded = profile_file.load(reference, storage)
        # Reports and history name the file the user gave, not the data it was made from.
        return replace(loaded, source=remote.redact(os.fspath(reference)))
    return scan_table(reference, read_options)


def fitted_options(reference: Table | profile.Profile, options: Options) -> Options:
    """`options` with a profile's binning options (bins, top_k, discrete_max, categorical).

    An option left at its default takes the profile's value; one set to another value than the
    profile was fitted with raises OptionError, since the bins cannot be refitted. Smoothing and
    base are scoring options and may differ.
    """
    if not isinstance(reference, profile.Profile):
        return options
    fitted = profile.binning_options(reference.options)
    given = profile.binning_options(options)
    default = profile.binning_options(Options())
    for key, value in given.items():
        if value != fitted[key] and value != default[key]:
            flag = "--" + key.replace("_", "-")
            raise OptionError(
                f"{reference.source}: profile was fitted with {flag} {_show(fitted[key])}, "
                f"not {_show(value)}; bins cannot be refitted from a profile"
            )
    used = reference.options or Options()
    return replace(
        options,
        bins=used.bins,
        top_k=used.top_k,
        discrete_max=used.discrete_max,
        categorical=used.categorical,
    )


def reference_profile(
    reference: Table | profile.Profile,
    kinds: Mapping[str, Kind],
    options: Options,
    *,
    streaming: bool = False,
) -> profile.Profile:
    """The reference side of a comparison: built from data, or the planned columns of a profile."""
    if isinstance(reference, profile.Profile):
        columns = {name: reference.columns[name] for name in kinds}
        return replace(reference, columns=columns)
    return profile.build(reference, kinds, options, streaming=streaming)


def profile_data(
    source: DataSource,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    options: Options | None = None,
    bins_from: profile.Profile | str | os.PathLike[str] | None = None,
    read_options: ReadOptions | None = None,
) -> profile.Profile:
    """Profile a dataset so the profile can stand in for it as a reference.

    With `bins_from` (a profile or profile file), the data is counted on that profile's bins
    instead of fitting new ones, so parts of one dataset can be profiled apart and merged.
    """
    table = scan_table(source, read_options)
    if bins_from is not None:
        reference = (
            bins_from
            if isinstance(bins_from, profile.Profile)
            else profile_file.load(bins_from, read_options.storage_options if read_options else ())
        )
        return profile.recount(table, reference)
    options = options or Options()
    kinds, _ = plan_columns(table, table, columns, exclude, options.categorical)
    built = profile.build(table, kinds, options)
    if built.rows == 0:
        raise InputError(f"{table.name}: no rows to profile")
    wanted = set(columns) if columns else set(table.schema) - set(table.partitions)
    wanted -= set(exclude)
    schema = tuple((name, str(dtype)) for name, dtype in table.schema.items() if name in wanted)
    return replace(built, options=options, schema=schema)


def score_column(
    reference: profile.ColumnProfile,
    current_counts: tuple[int, ...],
    options: Options,
    thresholds: Thresholds,
) -> ColumnDrift:
    """Score one column's current histogram against its reference profile.

    The status uses the column's own p-value; `compare` re-decides it once the p-values of all
    columns are adjusted together (`adjust`).
    """
    _, merged_ref, merged_cur = scored_bins(reference.binning, reference.counts, current_counts)
    ref, cur = metrics.drop_empty_bins(merged_ref, merged_cur)
    smoothing, base = options.smoothing, options.base
    scores = metrics.divergences(ref, cur, smoothing, base)
    warn, threshold = thresholds.for_column(reference.name)
    # The test runs on the raw counts: a pseudocount would invent observations.
    test = significance.g_test(ref, cur)
    occupied, n_ref, n_cur = ref.size, float(ref.sum()), float(cur.sum())
    floor = significance.noise_floor(occupied, n_ref, n_cur, base) if n_ref and n_cur else 0.0
    column = ColumnDrift(
        name=reference.name,
        kind=reference.binning.kind,
        dtype=reference.dtype,
        status=Status.ok,
        kl=scores.kl,
        cross_entropy=scores.cross_entropy,
        entropy=scores.entropy,
        warn=warn,
        threshold=threshold,
        binning=reference.binning,
        reference_counts=reference.counts,
        current_counts=current_counts,
        kl_corrected=(
            significance.miller_madow_kl(ref, cur, smoothing, base) if n_ref and n_cur else 0.0
        ),
        noise_floor=floor,
        js_divergence=metrics.js_divergence(ref, cur, smoothing, base),
        js_distance=metrics.js_distance(ref, cur, smoothing, base),
        psi=metrics.psi(ref, cur, smoothing, base),
        hellinger=metrics.hellinger(ref, cur, smoothing, base),
        g_statistic=test.statistic,
        dof=test.dof,
        p_value=test.p_value,
        p_adjusted=test.p_value,
        test_method=test.method,
    )
    return _decided(column, options, thresholds)


def scored_bins(
    binning: profile.Binning, reference: Sequence[int], current: Sequence[int]
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """Labels and both histograms on the bins that are scored and tested.

    These are the binning's bins, except that a categorical column whose reference has a tail
    (an "(other)" bin) scores "(new)" together with "(other)": the reference's top-K and tail
    split is random, and a tail that the reference sampled only in part puts unseen but ordinary
    categories into "(new)" (always empty in the reference), which alone would flag a long-tailed
    column as drifted on samples of one distribution.
    """
    labels = binning.labels
    if binning.method != "categories" or not binning.rest:
        return labels, tuple(reference), tuple(current)
    other = labels.index(profile.OTHER_LABEL)  # "(new)" follows it

    def merge(counts: Sequence[int]) -> tuple[int, ...]:
        return (*counts[:other], counts[other] + counts[other + 1], *counts[other + 2 :])

    merged = (*labels[:other], f"{profile.OTHER_LABEL[:-1]} or new)", *labels[other + 2 :])
    return merged, merge(reference), merge(current)


def adjust(
    columns: Sequence[ColumnDrift], options: Options, thresholds: Thresholds
) -> list[ColumnDrift]:
    """The columns with p-values adjusted across all of them, and their statuses re-decided."""
    if not columns:
        return []
    method: Literal["bh", "bonferroni"] = (
        "bonferroni" if thresholds.adjustment is Adjustment.bonferroni else "bh"
    )
    adjusted = significance.adjust_p_values([c.p_value for c in columns], method)
    return [
        _decided(dataclasses.replace(c, p_adjusted=p), options, thresholds)
        for c, p in zip(columns, adjusted, strict=True)
    ]


def _decided(column: ColumnDrift, options: Options, thresholds: Thresholds) -> ColumnDrift:
    effect = column.effect(thresholds.metric, options.base)
    status = thresholds.decide(column.name, effect, column.p_adjusted)
    return dataclasses.replace(column, status=status)


def explain(column: ColumnDrift, options: Options) -> tuple[BinContribution, ...]:
    """The bins behind a column's KL, largest |contribution| first (in the report's units).

    Contributions are the terms p_i log(p_i / q_i) on the smoothed bins the score uses (bins
    empty on both sides are left out), so they sum to `column.kl`; the shares are the raw ones.
    """
    bins = scored_bins(column.binning, column.reference_counts, column.current_counts)
    kept = [(label, r, c) for label, r, c in zip(*bins, strict=True) if r or c]
    if not kept:
        return ()
    labels, ref, cur = zip(*kept, strict=True)
    terms = metrics.kl_contributions(ref, cur, options.smoothing, options.base)
    n_ref, n_cur = sum(ref), sum(cur)
    contributions = [
        BinContribution(
            label=label,
            reference_share=r / n_ref if n_ref else 0.0,
            current_share=c / n_cur if n_cur else 0.0,
            contribution=float(term),
        )
        for label, r, c, term in zip(labels, ref, cur, terms, strict=True)
    ]
    # A stable sort keeps bin order among equal contributions.
    return tuple(sorted(contributions, key=lambda b: -abs(b.contribution)))


def plan_columns(
    ref: Table | profile.Profile,
    cur: Table | profile.Profile,
    columns: Sequence[str] | None,
    exclude: Sequence[str],
    categorical: Sequence[str],
) -> tuple[dict[str, Kind], list[SchemaChange]]:
    """Which columns to compare and how to bin them, and the schema changes found on the way.

    Hive partition keys (date=... in the paths) are compared only when named in `columns`.
    """
    _check_named_columns(ref, cur, columns or (), "--columns")
    _check_named_columns(ref, cur, exclude, "--exclude")
    _check_named_columns(ref, cur, categorical, "--categorical")
    cur_schema = dict(cur.schema)
    wanted = set(columns) if columns else set(dict(ref.schema)) | set(cur_schema)
    wanted -= set(exclude)
    if not columns:
        wanted -= {key for t in (ref, cur) if isinstance(t, Table) for key in t.partitions}

    kinds: dict[str, Kind] = {}
    changes: list[SchemaChange] = []
    ref_kinds, cur_kinds = _reference_kinds(ref), _reference_kinds(cur)
    for name, ref_dtype in dict(ref.schema).items():
        if name not in wanted:
            continue
        if name not in cur_schema:
            changes.append(SchemaChange(name, "missing_in_current", str(ref_dtype), None))
            continue
        cur_dtype = cur_schema[name]
        ref_kind, cur_kind = ref_kinds[name], cur_kinds[name]
        if name in categorical and ref_kind is not None and cur_kind is not None:
            kinds[name] = Kind.categorical
        elif ref_kind is None:
            changes.append(SchemaChange(name, "unsupported", str(ref_dtype), str(cur_dtype)))
        elif ref_kind is not cur_kind:
            changes.append(SchemaChange(name, "kind_changed", str(ref_dtype), str(cur_dtype)))
        else:
            kinds[name] = ref_kind
        if name in kinds and str(ref_dtype) != str(cur_dtype):  # a profile stores dtype names
            changes.append(SchemaChange(name, "dtype_changed", str(ref_dtype), str(cur_dtype)))
    changes += [
        SchemaChange(name, "new_in_current", None, str(dtype))
        for name, dtype in cur_schema.items()
        if name in wanted and name not in ref_kinds
    ]
    return kinds, changes


def memory_share(*tables: Table) -> float:
    """The share of RAM these tables would take decoded in memory (frames, which have no size
    estimate, count 0)."""
    in_memory = sum(t.memory or 0 for t in tables)
    return in_memory / (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _reference_kinds(ref: Table | profile.Profile) -> dict[str, Kind | None]:
    if isinstance(ref, profile.Profile):
        # A profile bins every column it can; a column it holds without bins cannot be binned.
        return {
            name: ref.columns[name].binning.kind if name in ref.columns else None
            for name, _ in ref.schema
        }
    return {name: profile.kind_of(dtype) for name, dtype in ref.schema.items()}


def reference_name(ref: Table | profile.Profile) -> str:
    """Display name of a reference: the data source, or the profile (file) name."""
    return ref.source if isinstance(ref, profile.Profile) else ref.name


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(value) or "(none)"
    return str(value)


def content_changes(columns: Iterable[ColumnDrift]) -> list[SchemaChange]:
    """Null-rate changes and new or gone categories of compared columns, in column order."""
    changes: list[SchemaChange] = []
    for c in sorted(columns, key=lambda c: c.name):
        ref_null, cur_null = c.null_share_reference, c.null_share_current
        if abs(cur_null - ref_null) >= NULL_RATE_CHANGE:
            detail = f"{ref_null:.1%} -> {cur_null:.1%}"
            changes.append(SchemaChange(c.name, "null_rate_changed", c.dtype, c.dtype, detail))
        if c.new_category_rows:
            share = c.new_category_share
            detail = f"{c.new_category_rows} current rows ({share:.1%}) not in reference"
            changes.append(SchemaChange(c.name, "new_categories", c.dtype, c.dtype, detail))
        gone = c.gone_categories
        if gone:
            shown = ", ".join(_short(g) for g in gone[:SHOWN_CATEGORIES])
            more = len(gone) - SHOWN_CATEGORIES
            detail = shown + (f" and {more} more" if more > 0 else "")
            changes.append(SchemaChange(c.name, "gone_categories", c.dtype, c.dtype, detail))
    return changes


def _skip_high_cardinality(
    ref_profile: profile.Profile, cur: Table | profile.Profile, options: Options
) -> tuple[profile.Profile, list[SchemaChange]]:
    """`ref_profile` without its ID-like categorical columns (unless forced with --categorical)."""
    changes: list[SchemaChange] = []
    for name, column in ref_profile.columns.items():
        found = profile.high_cardinality(column, options.top_k)
        if found is None or name in options.categorical:
            continue
        detail = f"high cardinality ({found[0]} distinct of {found[1]} rows)"
        changes.append(
            SchemaChange(
                name, "high_cardinality", column.dtype, str(dict(cur.schema)[name]), detail
            )
        )
    skipped = {change.column for change in changes}
    kept = {name: c for name, c in ref_profile.columns.items() if name not in skipped}
    return replace(ref_profile, columns=kept), changes


def _short(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def _check_named_columns(
    ref: Table | profile.Profile, cur: Table | profile.Profile, names: Iterable[str], option: str
) -> None:
    ref_names, cur_names = _reference_kinds(ref), dict(cur.schema)
    for name in names:
        if name not in ref_names and name not in cur_names:
            raise ColumnError(
                f"{option}: no column {name!r} in {reference_name(ref)} or {reference_name(cur)}"
            )


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
