"""Relationship drift: joint tables of column pairs, counted in one pass, scored and decided.

Each pair (X, Y) is tabulated on the columns' own reference bins (the bins of the per-column
compare), so the table's margins are the columns' histograms. Where the smaller sample is too
small for k x l cells, both tables are coarsened the same way before scoring (`cell_limit`,
`groups`); the maths is in `kldrift.joint` and docs/statistics.md, "Pairs of columns".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from kldrift import drift, joint, profile, significance
from kldrift.errors import ColumnError, InputError, OptionError
from kldrift.io import Table, read_error, scan_table
from kldrift.options import Adjustment, Options, Status, Thresholds, decide
from kldrift.plan import plan_columns, reference_name
from kldrift.reference import DataSource, ReferenceSource, fitted_options, open_reference
from kldrift.result import DriftReport
from kldrift.spec import Spec, with_changes

Pair = tuple[str, str]
PairTable = NDArray[np.int64]

#: Fewest expected rows per cell of a joint table under independence that the coarsening aims
#: for: each column keeps at most floor(sqrt(min(N, M) / MIN_CELL_ROWS)) bins, "(null)" included.
MIN_CELL_ROWS = 5
#: No column is coarsened below this many bins (one value bin and "(null)" carry no relationship).
MIN_BINS = 3
#: Cells listed per pair, largest share of the conditional KL first.
TOP_CELLS = 3
#: Default relationship levels, in nats of bias-corrected conditional KL: chosen on
#: bench/calibration_pairs.py (docs/calibration.md, "Pairs of columns").
DEFAULT_PAIR_DRIFT = 0.01
DEFAULT_PAIR_WARN = 0.005


@dataclass(frozen=True)
class PairLevels:
    """Drift and warn levels of a pair's relationship score, in nats.

    Significance (alpha, decision rule, adjustment) comes from the column `Thresholds`; pairs are
    adjusted as their own family, so asking for pairs never changes a column's verdict.
    """

    drift: float = DEFAULT_PAIR_DRIFT
    warn: float = DEFAULT_PAIR_WARN

    def __post_init__(self) -> None:
        for name, value in (("pair_drift", self.drift), ("pair_warn", self.warn)):
            if not (math.isfinite(value) and value > 0):
                raise OptionError(name, value, "must be a finite number > 0")
        if self.warn > self.drift:
            raise OptionError("pair_warn", self.warn, "must not be above {pair_drift}")


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
    base. `relationship` is the smaller bias-corrected conditional KL, the score the levels
    (`warn`, `threshold`, in nats) apply to; `given` names the column it conditions on. The test
    is the conditional G-test in that direction's partner with the larger p-value (both must
    reject: an intersection-union test); `p_adjusted` is BH (or Bonferroni) across the pairs.
    `cells` are the cells carrying most of that conditional KL.
    """

    columns: Pair
    status: Status
    kl: joint.JointDivergences
    noise_floor: joint.JointDivergences
    kl_corrected: joint.JointDivergences
    relationship: float
    given: str
    shape: tuple[int, int]
    warn: float
    threshold: float
    g_statistic: float
    dof: int
    p_value: float
    p_adjusted: float
    test_method: str
    cells: tuple[CellShift, ...]

    def describe(self, cell: CellShift) -> str:
        """One line for people, e.g. "income > 61000 x age <= 31: 4% -> 19%"."""
        x, y = self.columns
        before, after = _percent(cell.reference_share), _percent(cell.current_share)
        return f"{x} {cell.x} x {y} {cell.y}: {before} -> {after}"


@dataclass(frozen=True)
class PairReport:
    """The per-column report and the pairs' relationship drift, most drifted first."""

    columns: DriftReport
    pairs: tuple[PairDrift, ...]

    @property
    def drifted_pairs(self) -> tuple[PairDrift, ...]:
        """Pairs whose status is drift."""
        return tuple(p for p in self.pairs if p.status is Status.drift)

    @property
    def drifted(self) -> bool:
        """True when a column or a pair drifted (or a column went missing or changed type)."""
        return self.columns.drifted or bool(self.drifted_pairs)


def all_pairs(columns: Sequence[str]) -> list[Pair]:
    """Every unordered pair of `columns`, in column order."""
    return list(itertools.combinations(columns, 2))


def resolve_pairs(pairs: Sequence[Sequence[str]] | None, columns: Sequence[str]) -> list[Pair]:
    """The pairs to score: all pairs of `columns` for None, else the given ones, checked.

    Raises ColumnError for a pair that is not two different compared columns; a pair given twice
    (in either order) is scored once.
    """
    if pairs is None:
        return all_pairs(columns)
    known, resolved, seen = set(columns), [], set()
    for pair in pairs:
        shown = ",".join(pair)
        if len(pair) != 2 or pair[0] == pair[1]:
            problem = f"{shown!r} is not two different columns"
            raise ColumnError(None, "", setting="pairs", problem=problem)
        for name in pair:
            if name not in known:
                problem = f"{shown!r}: {name!r} is not a compared column"
                raise ColumnError(name, "", setting="pairs", problem=problem)
        if frozenset(pair) not in seen:
            seen.add(frozenset(pair))
            resolved.append((pair[0], pair[1]))
    return resolved


def count_pairs(
    table: Table, binnings: Mapping[str, profile.Binning], pairs: Sequence[Pair]
) -> dict[Pair, PairTable]:
    """The k x l table of every pair on the columns' bins, from one query over `table`.

    polars computes every involved column's bin numbers in one select (`profile.bin_index`).
    numpy then counts the joint table of a few columns at a time with one bincount of their
    combined bin number and adds up its margins for each pair it holds (`_cover`): at 1M rows,
    325 pairs cost 67 bincounts, 0.27 s of CPU, against 0.88 s for one bincount per pair and
    2 s for one polars group-by per pair.
    """
    names = list(dict.fromkeys(name for pair in pairs for name in pair))
    if not names:
        return {}
    narrow = pl.UInt16 if max(len(binnings[n].labels) for n in names) <= 2**16 else pl.UInt32
    exprs = [profile.bin_index(n, table.schema[n], binnings[n]).cast(narrow) for n in names]
    try:
        frame = table.frame.select(exprs).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise read_error(table.name, exc) from exc
    sizes = {n: len(binnings[n].labels) for n in names}
    index = {n: frame[n].to_numpy() for n in names}
    tables: dict[Pair, PairTable] = {}
    for group in _cover(pairs, sizes):
        shape = tuple(sizes[n] for n in group)
        # The narrowest codes the group's table allows: less memory to stream through.
        cells = math.prod(shape)
        wide = next(t for t in (np.uint16, np.uint32, np.int64) if cells <= np.iinfo(t).max + 1)
        if np.dtype(wide).itemsize < index[group[0]].dtype.itemsize:
            wide = index[group[0]].dtype.type
        code = index[group[0]].astype(wide)
        for name in group[1:]:
            code *= wide(sizes[name])
            code += index[name]
        counts = np.bincount(code, minlength=math.prod(shape)).reshape(shape)
        for x, y in pairs:
            if (x, y) not in tables and x in group and y in group:
                a, b = group.index(x), group.index(y)
                other = tuple(k for k in range(len(group)) if k not in (a, b))
                pair_table = counts.sum(axis=other) if other else counts
                tables[(x, y)] = (pair_table if a < b else pair_table.T).astype(np.int64)
    return {pair: tables[pair] for pair in pairs}


#: Columns counted together by one bincount, and the most cells their joint table may have.
_GROUP_WIDTH = 4
_GROUP_CELLS = 2**18


def _cover(pairs: Sequence[Pair], sizes: Mapping[str, int]) -> list[list[str]]:
    """Groups of up to _GROUP_WIDTH columns whose joint tables hold every pair (greedily).

    Each group starts from the first pair not yet held and adds, while the table stays within
    _GROUP_CELLS cells, the column that brings the most such pairs along.
    """
    wanted = [frozenset(p) for p in pairs]
    left = set(wanted)
    candidates = list(sizes)
    groups: list[list[str]] = []
    for pair in wanted:
        if pair not in left:
            continue
        group = sorted(pair, key=candidates.index)
        while len(group) < _GROUP_WIDTH:
            cells = math.prod(sizes[n] for n in group)
            gains = [
                (sum(frozenset((c, g)) in left for g in group), c)
                for c in candidates
                if c not in group and cells * sizes[c] <= _GROUP_CELLS
            ]
            best = max(gains, key=lambda gain: gain[0], default=(0, ""))
            if best[0] == 0:
                break
            group.append(best[1])
        groups.append(group)
        left -= {frozenset(p) for p in itertools.combinations(group, 2)}
    return groups


def cell_limit(n_ref: int, n_cur: int) -> int:
    """Most bins a column keeps in a pair's table: floor(sqrt(min(N, M) / MIN_CELL_ROWS))."""
    return max(MIN_BINS, math.isqrt(min(n_ref, n_cur) // MIN_CELL_ROWS))


def groups(
    binning: profile.Binning, reference: Sequence[int], limit: int
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Which coarse bin each of a column's bins goes to, and the coarse bins' labels.

    First "(new)" joins "(other)" where the reference has a tail, as in the per-column score
    (`drift.scored_bins`). Then, if more than `limit` bins are left, "(null)" keeps its own bin
    and the value bins are merged into `limit - 1`: quantile bins into runs of neighbours holding
    about equal reference shares, other bins by keeping the `limit - 2` with the most reference
    rows and pooling the rest. `reference` is the column's reference histogram.
    """
    labels = binning.labels
    base = list(range(len(labels)))
    if binning.method == "categories" and binning.rest:
        other = labels.index(profile.OTHER_LABEL)
        base = [b if b <= other else b - 1 for b in base]
    names, _, _ = drift.scored_bins(binning, reference, reference)
    merged = np.bincount(base, weights=np.asarray(reference, dtype=np.float64))
    values = len(merged) - 1  # the last bin is "(null)"
    if values + 1 <= limit:
        return tuple(base), tuple(names)
    target = limit - 1
    if binning.method == "quantile":
        shares = merged[:values] / max(merged[:values].sum(), 1.0)
        middle = np.cumsum(shares) - shares / 2
        value_group = np.minimum((middle * target).astype(np.int64), target - 1)
        value_group = np.unique(value_group, return_inverse=True)[1]
        coarse_names = [
            _interval(binning, np.flatnonzero(value_group == g))
            for g in range(value_group.max() + 1)
        ]
    else:
        # Most reference rows first; a stable sort keeps bin order among ties.
        kept = sorted(np.argsort(-merged[:values], kind="stable")[: target - 1])
        rank = {b: i for i, b in enumerate(kept)}
        value_group = np.array([rank.get(b, len(kept)) for b in range(values)])
        pooled = [names[b] for b in range(values) if b not in rank]
        rest = pooled[0] if len(pooled) == 1 else f"({len(pooled)} bins pooled)"
        coarse_names = [names[b] for b in kept] + [rest]
    null = int(value_group.max()) + 1
    mapping = [null if b == values else int(value_group[b]) for b in base]
    return tuple(mapping), (*coarse_names, profile.NULL_LABEL)


def score_pair(
    columns: Pair,
    reference: ArrayLike,
    current: ArrayLike,
    labels: tuple[tuple[str, ...], tuple[str, ...]],
    options: Options,
    levels: PairLevels,
) -> PairDrift:
    """Score one pair's (coarsened) tables; the status uses its own p-value until `adjust`."""
    ref, cur = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    smoothing, base = options.smoothing, options.base
    plug_in = joint.joint_divergences(ref, cur, smoothing, base)
    floors = joint.noise_floors(ref, cur, base)
    fixed = joint.corrected(plug_in, floors)
    # The relationship is the smaller conditional; its direction picks the cells shown.
    given: joint.Given = 0 if fixed.conditional_y_given_x <= fixed.conditional_x_given_y else 1
    tests = [joint.conditional_g_test(ref, cur, d) for d in (0, 1)]
    binding = max(tests, key=lambda t: t.p_value)  # both must reject: intersection-union
    terms = joint.conditional_contributions(ref, cur, given, smoothing, base)
    n_ref, n_cur = ref.sum(), cur.sum()
    order = np.argsort(-terms, axis=None, kind="stable")[:TOP_CELLS]
    cells = tuple(
        CellShift(
            x=labels[0][i],
            y=labels[1][j],
            reference_share=float(ref[i, j] / n_ref),
            current_share=float(cur[i, j] / n_cur),
            contribution=float(terms[i, j]),
        )
        for i, j in (np.unravel_index(o, terms.shape) for o in order)
        if ref[i, j] or cur[i, j]
    )
    return PairDrift(
        columns=columns,
        status=Status.ok,
        kl=plug_in,
        noise_floor=floors,
        kl_corrected=fixed,
        relationship=fixed.relationship,
        given=columns[given],
        shape=(int(ref.shape[0]), int(ref.shape[1])),
        warn=levels.warn,
        threshold=levels.drift,
        g_statistic=binding.statistic,
        dof=binding.dof,
        p_value=binding.p_value,
        p_adjusted=binding.p_value,
        test_method=binding.method,
        cells=cells,
    )


def score_pairs(
    reference: Mapping[Pair, PairTable],
    current: Mapping[Pair, PairTable],
    columns: Mapping[str, profile.ColumnProfile],
    n_ref: int,
    n_cur: int,
    options: Options,
    thresholds: Thresholds,
    levels: PairLevels,
) -> tuple[PairDrift, ...]:
    """Coarsen, score, adjust across pairs and decide every pair, most drifted first.

    `columns` are the reference's column profiles (their bins and reference histograms, which
    decide the coarsening); `n_ref` and `n_cur` the row counts the cell limit comes from.
    """
    limit = cell_limit(n_ref, n_cur)
    scored = []
    for (x, y), ref in reference.items():
        (gx, lx), (gy, ly) = (groups(columns[c].binning, columns[c].counts, limit) for c in (x, y))
        coarse_ref = joint.coarsen(ref, gx, gy)
        coarse_cur = joint.coarsen(current[(x, y)], gx, gy)
        scored.append(score_pair((x, y), coarse_ref, coarse_cur, (lx, ly), options, levels))
    if not scored:
        return ()
    method: Literal["bh", "bonferroni"] = (
        "bonferroni" if thresholds.adjustment is Adjustment.bonferroni else "bh"
    )
    adjusted = significance.adjust_p_values([p.p_value for p in scored], method)
    decided = []
    for pair, p in zip(scored, adjusted, strict=True):
        effect = pair.relationship * math.log(options.base)
        status = decide(
            thresholds.decision, (levels.warn, levels.drift), thresholds.alpha, effect, p
        )
        decided.append(replace(pair, p_adjusted=p, status=status))
    return tuple(sorted(decided, key=lambda p: (-p.relationship, p.columns)))


def compare_pairs(
    reference: ReferenceSource,
    current: DataSource,
    pairs: Sequence[Sequence[str]] | None = None,
    spec: Spec | None = None,
    *,
    levels: PairLevels | None = None,
    **changes: object,
) -> PairReport:
    """Compare CURRENT with REFERENCE column by column and pair by pair, reading each once.

    `pairs` are (X, Y) column names; None scores every pair of compared columns. `spec` and
    keyword arguments are those of `kldrift.compare`. A profile reference must store the table
    of every pair asked for (`with_pair_tables`). Both sides' compared columns are read into
    memory (no streaming).
    """
    spec = with_changes(spec, changes)
    ref = open_reference(reference, spec.read_options)
    cur = scan_table(current, spec.read_options)
    fitted = fitted_options(ref, spec.options, spec.given)
    kinds, _ = plan_columns(ref, cur, spec.columns, spec.exclude, fitted.categorical)
    if kinds:
        if isinstance(ref, Table):
            ref, cur = profile.load([ref, cur], list(kinds))
        else:
            cur = profile.load([cur], list(kinds))[0]
    plan = drift.prepare(ref, cur, spec)
    binnings = {name: p.binning for name, p in plan.reference.columns.items()}
    cur_rows, cur_counts = profile.count(cur, binnings)  # plan.current is `cur`, read already
    report = drift.assemble(
        reference_name(ref),
        plan.reference,
        cur.name,
        cur_rows,
        cur_counts,
        plan.options,
        spec.thresholds,
        plan.schema,
        spec.gate,
    )
    wanted = resolve_pairs(pairs, list(plan.reference.columns))
    if isinstance(ref, profile.Profile):
        ref_tables = stored_tables(ref, wanted)
    else:
        ref_tables = count_pairs(ref, binnings, wanted)
    cur_tables = count_pairs(cur, binnings, wanted)
    results = score_pairs(
        ref_tables,
        cur_tables,
        plan.reference.columns,
        report.reference_rows,
        report.current_rows,
        plan.options,
        spec.thresholds,
        levels or PairLevels(),
    )
    return PairReport(report, results)


def with_pair_tables(
    built: profile.Profile, source: DataSource, pairs: Sequence[Sequence[str]] | None = None
) -> profile.Profile:
    """`built` (a profile of `source`) with the tables of `pairs` (None: all pairs) stored in it,
    so that it can stand in for `source` as the reference of `compare_pairs`."""
    table = scan_table(source)
    wanted = resolve_pairs(pairs, list(built.columns))
    binnings = {name: c.binning for name, c in built.columns.items()}
    tables = count_pairs(table, binnings, wanted)
    stored = {pair: tuple(tuple(int(v) for v in row) for row in t) for pair, t in tables.items()}
    return replace(built, pairs={**built.pairs, **stored})


def stored_tables(reference: profile.Profile, pairs: Sequence[Pair]) -> dict[Pair, PairTable]:
    """The tables of `pairs` a profile stores (a pair stored as (Y, X) is transposed)."""
    tables: dict[Pair, PairTable] = {}
    for x, y in pairs:
        if (x, y) in reference.pairs:
            tables[(x, y)] = np.array(reference.pairs[(x, y)], dtype=np.int64)
        elif (y, x) in reference.pairs:
            tables[(x, y)] = np.array(reference.pairs[(y, x)], dtype=np.int64).T
        else:
            raise InputError(
                f"{reference.source}: the profile stores no table for the pair {x},{y}"
            )
    return tables


def _interval(binning: profile.Binning, bins: NDArray[np.int64]) -> str:
    """Label of a run of neighbouring quantile bins, from the outer edges of the run."""
    first, last = int(bins[0]), int(bins[-1])
    edges = binning.edges
    lower = None if first == 0 else profile.format_value(edges[first - 1], binning.temporal)
    upper = None if last >= len(edges) else profile.format_value(edges[last], binning.temporal)
    if lower is None and upper is None:
        return "(all values)"
    if lower is None:
        return f"<= {upper}"
    if upper is None:
        return f"> {lower}"
    return f"({lower}, {upper}]"


def _percent(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.1%}"
