"""compare(reference, current, spec) -> DriftReport: the glue that profiles, scores and decides.

Result types live in kldrift.result, column planning in kldrift.plan, the reference side in
kldrift.reference, the gate in kldrift.gate and the read policy in kldrift.io.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from kldrift import metrics, pairs, profile, sequence, significance
from kldrift.errors import ColumnError, InputError
from kldrift.io import Table, read_policy
from kldrift.options import (
    ALL_PAIRS,
    Adjustment,
    Gate,
    Kind,
    Options,
    PairsSetting,
    Status,
    Thresholds,
)
from kldrift.plan import (
    SHOWN_CATEGORIES,
    check_compared,
    check_named_columns,
    content_changes,
    plan_columns,
    reference_kinds,
    reference_name,
    skip_high_cardinality,
)
from kldrift.profile import scored_bins
from kldrift.reference import (
    ReferenceSource,
    fitted_options,
    open_reference,
    reference_profile,
)
from kldrift.registry import METRICS
from kldrift.result import BinContribution, ColumnDrift, DriftReport, SchemaChange, Window
from kldrift.spec import Spec, with_changes
from kldrift.steps import Progress, silent


def compare(
    reference: ReferenceSource,
    current: ReferenceSource,
    spec: Spec | None = None,
    *,
    progress: Progress | None = None,
    **changes: Any,
) -> DriftReport:
    """Compare CURRENT with REFERENCE column by column (P = reference, Q = current).

    `spec` (see `kldrift.spec.resolve`) says which columns, how to bin and decide; keyword
    arguments replace its fields (`options=`, `thresholds=`, `columns=`, `streaming=` ...);
    `options=` may be a mapping of the Options fields to change (see `kldrift.spec.with_changes`).
    REFERENCE may be a Profile or a profile file (`*.json`): its bins and counts stand in for the
    reference data, and its binning options replace those not given (see `fitted_options`).
    CURRENT may be a profile too, counted on the reference's bins (`kldrift profile --bins-from`):
    its counts are compared as they are, so both sides can be counted elsewhere (Spark).
    `streaming` runs every query on polars' streaming engine in bounded memory; None chooses it
    when the files look too large for memory. `progress` is called with a short note as each
    step starts.
    """
    spec = with_changes(spec, changes)
    note = progress or silent
    ref = open_reference(reference, spec.read_options)
    cur = open_reference(current, spec.read_options)
    streaming, in_memory = reading(ref, cur, spec)
    plan = prepare(ref, cur, spec, streaming, note, in_memory)
    binnings = plan.reference.binnings
    chosen = None if spec.pairs is None else pairs.chosen_pairs(spec.pairs, list(binnings))
    cur_tables: profile.Profile | Mapping[pairs.Pair, pairs.PairTable] = {}
    if isinstance(plan.current, profile.Profile):
        cur_rows, cur_counts = profile_counts(plan.current, binnings, reference_name(ref))
        new: dict[str, tuple[tuple[str, int], ...]] = {}  # a profile does not name them
        cur_tables = plan.current
    elif chosen is None:
        note(f"counting {plan.current.name}")
        cur_rows, cur_counts, new = profile.count_naming_new(
            plan.current, binnings, SHOWN_CATEGORIES, streaming=streaming
        )
    else:
        data = plan.current
        if not streaming and not data.loaded:
            # Numbered on the bins, then counted for any column in no pair: read once.
            data = profile.load(data, list(binnings))
        note(f"counting {data.name}")
        cur_rows, cur_counts, new, cur_tables = pairs.count_naming_new(
            data, binnings, chosen, SHOWN_CATEGORIES, streaming=streaming
        )
    report = assemble(
        reference_name(ref),
        plan.reference,
        reference_name(cur),
        cur_rows,
        cur_counts,
        plan.options,
        spec.thresholds,
        plan.schema,
        spec.gate,
        new_categories=new,
    )
    if chosen is not None:
        note("scoring pairs")
        scored = pairs.relationships(
            plan.source,
            cur_tables,
            plan.reference,
            cur_rows,
            chosen,
            plan.options,
            spec.thresholds,
            spec.pair_levels,
            streaming=streaming,
        )
        report = dataclasses.replace(report, pairs=scored)
    return recorded(report, cur, spec)


def recorded(report: DriftReport, current: Table | profile.Profile, spec: Spec) -> DriftReport:
    """`report` with the files CURRENT matched (a profile: its file) and the config file."""
    config = os.path.abspath(spec.config_file) if spec.config_file else None
    files = current.files if isinstance(current, Table) else (current.source,)
    return dataclasses.replace(report, current_files=files, config_file=config)


def reading(
    ref: Table | profile.Profile, cur: Table | profile.Profile, spec: Spec
) -> tuple[bool, bool]:
    """(streaming, in_memory) for these two sides under `spec` (see `io.read_policy`)."""
    return read_policy([t for t in (ref, cur) if isinstance(t, Table)], spec.streaming)


@dataclass(frozen=True)
class Plan:
    """What is compared: the reference's profile of the planned columns, the options it was
    fitted with, the schema changes found on the way, and the current data to count (read into
    memory already where the plan read it after the reference's profile: see `prepare`).
    `source` is what the reference's pair tables are counted from: the reference as given (data
    or profile), or the bin numbers of its data where that was read into memory for the pairs
    (`pairs.bin_numbers`)."""

    reference: profile.Profile
    options: Options
    schema: list[SchemaChange]
    current: Table | profile.Profile
    source: Table | profile.Profile | pairs.BinNumbers


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
                f"profile it with {{bins_from}} {reference}",
                settings=("bins_from",),
            )
        counts[name] = np.asarray(column.counts, dtype=np.int64)
    return current.rows, counts


def prepare(
    ref: Table | profile.Profile,
    cur: Table | profile.Profile,
    spec: Spec,
    streaming: bool = False,
    note: Progress = silent,
    in_memory: bool = False,
    *,
    counts_current: bool = True,
) -> Plan:
    """Plan the columns, check the names the user gave, and profile the reference (or take its
    profile), leaving out ID-like columns: everything before the current data is counted.

    But for streaming, the reference's planned columns are read into memory for its profile
    (`profile.build`), and those of the current once the reference is profiled, so that the two
    sides are never in memory at once: a text current always (its ranges and its counts then
    come from one parse of the file), any other when both are `in_memory` (small: see
    `io.read_policy`) and the reference is data; not if the caller counts something other than
    `Plan.current` (`counts_current=False`). With `in_memory` and pairs, the reference's bin
    numbers are kept for its pair tables (`Plan.source`), not its data.
    """
    fitted = fitted_options(ref, spec.options, spec.given)
    kinds, schema = plan_columns(ref, cur, spec.columns, spec.exclude, fitted.categorical)
    check_named_columns(ref, cur, spec.thresholds.columns, "column_threshold")
    if not kinds and not set(reference_kinds(ref)) & set(dict(cur.schema)):
        cur_name = reference_name(cur)
        problem = f"{cur_name}: no column in common with {reference_name(ref)}"
        raise ColumnError(None, cur_name, problem=problem)
    unsupported = [c for c in schema if c.change == "unsupported"]
    if not kinds and unsupported and not any(c.breaking for c in schema):
        # Nothing could be compared: exit code 0 would claim "no drift" about data never read.
        types = ", ".join(f"{c.column} ({c.reference_dtype})" for c in unsupported[:5])
        problem = f"{reference_name(ref)}: no column of a type kldrift can bin: {types}"
        raise ColumnError(None, reference_name(ref), problem=problem)
    # A profile built from data holds the ranges of its date, datetime and integer columns:
    # the event times and IDs are found on it, and then left out.
    source: Table | profile.Profile | pairs.BinNumbers = ref
    if in_memory and spec.pairs is not None and kinds and isinstance(ref, Table):
        # The pairs are counted on the reference's data too: read once, it is profiled and
        # numbered on its bins, and only the numbers (1 or 2 bytes a value) are kept, so that
        # the current is still read into the memory the data frees.
        note(f"reading {ref.name}")
        data = profile.load(ref, list(kinds))
        note(f"profiling {ref.name}")
        built = reference_profile(data, kinds, fitted)
        numbered = _paired(built, cur, fitted, spec.pairs)
        source = pairs.bin_numbers(data, built.binnings, numbered)
        del data
    else:
        note(f"profiling {reference_name(ref)}")
        built = reference_profile(ref, kinds, fitted, streaming=streaming)
    if (
        isinstance(cur, Table)
        and not cur.loaded
        and (not cur.shared_scans or (in_memory and isinstance(ref, Table)))
        and kinds
        and counts_current
        and not streaming
    ):
        # A text current is parsed once, for its ranges and its counts, as counting would read
        # it into memory anyway. After the reference's profile, whose data is freed by then: the
        # current's read reuses its memory rather than faulting in fresh pages, the kernel's
        # work that is most of a read's system time (1M Parquet rows a side: 0.19 s of CPU and a
        # third of the peak memory saved against reading both at once). Where there is no such
        # memory to reuse (a large current, a stored reference), a Parquet current is counted
        # from the file, which reads only its range columns twice (1M rows against a stored
        # profile: 0.09 s of CPU less than reading it in).
        note(f"reading {cur.name}")
        cur = profile.load(cur, list(kinds))
    kinds, sequences = _leave_out_sequences(built, cur, kinds, spec.columns or ())
    schema += sequences
    built = dataclasses.replace(built, columns={n: built.columns[n] for n in kinds})
    ref_profile, skipped = skip_high_cardinality(built, cur, fitted)
    check_compared(ref, cur, ref_profile.columns, [*schema, *skipped])
    return Plan(ref_profile, fitted, [*schema, *skipped], cur, source)


def _paired(
    built: profile.Profile, cur: Table | profile.Profile, fitted: Options, wanted: PairsSetting
) -> list[str]:
    """The columns of `built` that the `wanted` pairs may take in, before the event times and
    IDs are found: every column high cardinality leaves, or those the pairs name."""
    kept = skip_high_cardinality(built, cur, fitted)[0].columns
    if wanted == ALL_PAIRS:
        return list(kept)
    named = {name for pair in wanted for name in pair}
    return [name for name in kept if name in named]


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
    window: Window | None = None,
    new_categories: Mapping[str, tuple[tuple[str, int], ...]] | None = None,
) -> DriftReport:
    """Score every column of `reference` against the current histograms, most drifted first.

    Most drifted means the largest score of the metric the thresholds apply to, then plug-in KL.

    `new_categories` names the largest categories of current columns that the reference never
    had (value, rows), as `profile.count_naming_new` gives them.
    """
    for name, rows in [(reference_name, reference.rows), (current_name, current_rows)]:
        if rows == 0:
            raise InputError(f"{name}: no rows to compare")

    new = new_categories or {}
    results = [
        dataclasses.replace(
            score_column(p, tuple(current_counts[name].tolist()), options, thresholds),
            new_categories=new.get(name, ()),
        )
        for name, p in reference.columns.items()
    ]
    results = adjust(results, options, thresholds)
    # By the effect the decision uses, so the order agrees with the statuses (--metric psi).
    metric = thresholds.metric
    results.sort(key=lambda c: (-c.score(metric), -c.kl, c.name))
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
        window=window,
    )


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
    _, merged_ref, merged_cur = scored_bins(
        reference.binning, reference.counts, current_counts, reference.singletons
    )
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
        scores={m: info.score(ref, cur, smoothing, base) for m, info in METRICS.items()},
        noise_floor=floor,
        g_statistic=test.statistic,
        dof=test.dof,
        p_value=test.p_value,
        p_adjusted=test.p_value,
        test_method=test.method,
        reference_singletons=reference.singletons,
    )
    return _decided(column, options, thresholds)


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
    # A lone drifted column must reach p < alpha / m under either adjustment: the detectable
    # effect is quoted at that level, so it holds however many columns drift.
    level = thresholds.alpha / len(columns)
    return [
        _decided(
            dataclasses.replace(c, p_adjusted=p, detectable=_detectable(c, level, options.base)),
            options,
            thresholds,
        )
        for c, p in zip(columns, adjusted, strict=True)
    ]


def _detectable(column: ColumnDrift, alpha: float, base: float) -> float:
    n_ref, n_cur = sum(column.reference_counts), sum(column.current_counts)
    if not (n_ref and n_cur):
        return math.inf
    return significance.minimum_detectable_effect(column.dof + 1, n_ref, n_cur, alpha, base=base)


def _decided(column: ColumnDrift, options: Options, thresholds: Thresholds) -> ColumnDrift:
    effect = column.effect(thresholds.metric, options.base)
    status = thresholds.decide(column.name, effect, column.p_adjusted)
    return dataclasses.replace(column, status=status)


def explain(column: ColumnDrift, options: Options) -> tuple[BinContribution, ...]:
    """The bins behind a column's KL, largest contribution first (in the report's units).

    Contributions are the non-negative parts p_i log(p_i / q_i) + q_i - p_i of the KL on the
    smoothed bins the score uses (bins empty on both sides are left out; see
    `metrics.kl_contributions`), so they sum to `column.kl`; the shares are the raw ones.
    """
    bins = scored_bins(
        column.binning, column.reference_counts, column.current_counts, column.reference_singletons
    )
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
    return tuple(sorted(contributions, key=lambda b: -b.contribution))


def _leave_out_sequences(
    ref: Table | profile.Profile,
    cur: Table | profile.Profile,
    kinds: dict[str, Kind],
    named: Sequence[str],
) -> tuple[dict[str, Kind], list[SchemaChange]]:
    """`kinds` without the event-time and increasing-ID columns the user did not name."""
    found = [s for s in sequence.detect(ref, cur, kinds) if s.column not in named]

    def dtype(side: Table | profile.Profile, name: str) -> str:
        return str(dict(side.schema)[name]) if isinstance(side, Table) else side.columns[name].dtype

    changes = [
        SchemaChange(s.column, s.kind, dtype(ref, s.column), dtype(cur, s.column), s.detail)
        for s in found
    ]
    left_out = {s.column for s in found}
    return {n: k for n, k in kinds.items() if n not in left_out}, changes
