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
from dataclasses import replace
from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from kldrift import joint, profile, significance
from kldrift.errors import ColumnError, InputError
from kldrift.io import Table
from kldrift.options import (
    ALL_PAIRS,
    Adjustment,
    Options,
    PairLevels,
    PairsSetting,
    Status,
    Thresholds,
    decide,
)
from kldrift.result import CellShift, PairDrift

Pair = tuple[str, str]
PairTable = NDArray[np.int64]
#: Each row's bin number by column (`bin_numbers`): what a dataset's pair tables are counted
#: from, held in place of its data.
BinNumbers = Mapping[str, NDArray[np.unsignedinteger]]

#: Fewest expected rows per cell of a joint table under independence that the coarsening aims
#: for: each column keeps at most floor(sqrt(min(N, M) / MIN_CELL_ROWS)) bins, "(null)" included.
MIN_CELL_ROWS = 5
#: No column is coarsened below this many bins (one value bin and "(null)" carry no relationship).
MIN_BINS = 3
#: Cells listed per pair, largest part of the relationship score first.
TOP_CELLS = 3


def relationships(
    reference: Table | profile.Profile | BinNumbers,
    current: profile.Profile | Mapping[Pair, PairTable],
    built: profile.Profile,
    current_rows: int,
    chosen: Sequence[Pair],
    options: Options,
    thresholds: Thresholds,
    levels: PairLevels,
    *,
    streaming: bool = False,
) -> tuple[PairDrift, ...]:
    """Relationship drift of the `chosen` pairs of `built`'s columns (`chosen_pairs`), most
    drifted first.

    `built` is the reference profile the columns were scored on; `reference` is the data it was
    profiled from, the `bin_numbers` of that data taken while it was in memory, or a profile
    given as the reference, which must store the table of every pair chosen. `current` holds
    the current's tables, counted on `built`'s bins (`count_naming_new`), or is a profile
    counted on them that stores the tables too.
    """
    binnings = built.binnings
    if isinstance(reference, profile.Profile):
        ref_tables = stored_tables(reference, chosen)
    elif isinstance(reference, Table):
        ref_tables = count_pairs(reference, binnings, chosen, streaming=streaming)
    else:
        ref_tables = tabulate(reference, binnings, chosen)
    cur_tables = stored_tables(current, chosen) if isinstance(current, profile.Profile) else current
    return score_pairs(
        ref_tables,
        cur_tables,
        built.columns,
        built.rows,
        current_rows,
        options,
        thresholds,
        levels,
    )


def chosen_pairs(wanted: PairsSetting, columns: Sequence[str]) -> list[Pair]:
    """The pairs of `columns` that `wanted` (`ALL_PAIRS` or pairs of names) asks for, checked
    (`resolve_pairs`)."""
    return resolve_pairs(None if wanted == ALL_PAIRS else wanted, columns)


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
    table: Table,
    binnings: Mapping[str, profile.Binning],
    pairs: Sequence[Pair],
    *,
    streaming: bool = False,
) -> dict[Pair, PairTable]:
    """The k x l table of every pair on the columns' bins, from one pass over `table`: its
    `bin_numbers`, `tabulate`d."""
    names = list(dict.fromkeys(name for pair in pairs for name in pair))
    return tabulate(bin_numbers(table, binnings, names, streaming=streaming), binnings, pairs)


def count_naming_new(
    table: Table,
    binnings: Mapping[str, profile.Binning],
    chosen: Sequence[Pair],
    limit: int,
    *,
    streaming: bool = False,
) -> tuple[
    int, dict[str, profile.Counts], dict[str, tuple[tuple[str, int], ...]], dict[Pair, PairTable]
]:
    """`profile.count_naming_new` of `table`, and the tables of the `chosen` pairs.

    A paired column's histogram is a margin of each of its tables, so only the columns in no
    pair are counted again, and the categorical ones with rows in "(new)", whose `limit` largest
    new categories are named by their group-by (1M rows, 300 pairs: ~0.1 s of wall time saved).
    """
    tables = count_pairs(table, binnings, chosen, streaming=streaming)
    margins: dict[str, profile.Counts] = {}
    for (x, y), cells in tables.items():
        margins.setdefault(x, cells.sum(axis=1))
        margins.setdefault(y, cells.sum(axis=0))
    new_bin = {n: len(b.values) + 1 for n, b in binnings.items() if b.method == "categories"}
    recount = {
        name: binning
        for name, binning in binnings.items()
        if name not in margins or (limit and name in new_bin and margins[name][new_bin[name]])
    }
    if recount or not tables:
        rows, histograms, new = profile.count_naming_new(table, recount, limit, streaming=streaming)
    else:
        rows, histograms, new = int(next(iter(tables.values())).sum()), {}, {}
    counts = {n: histograms[n] if n in histograms else margins[n] for n in binnings}
    return rows, counts, new, tables


def bin_numbers(
    table: Table,
    binnings: Mapping[str, profile.Binning],
    names: Sequence[str],
    *,
    streaming: bool = False,
) -> BinNumbers:
    """Each row's bin number in each of `names`, from one pass over `table`: 1 or 2 bytes a
    value where the bins allow it, an eighth or a quarter of a float column's.

    polars computes the bin numbers in one select (`profile.bin_index`); for a table in memory,
    quantile bins are numbered by numpy (`profile.quantile_numbers`), at half the CPU.
    """
    if not names:
        return {}
    narrow = pl.UInt16 if max(len(binnings[n].labels) for n in names) <= 2**16 else pl.UInt32
    # Numbers already in memory are binned by numpy where that is cheaper (quantile bins), a
    # column at a time so that only one column's copy (nulls as NaN) is held; from files,
    # polars sends only the bin numbers, a quarter of the numbers' bytes.
    by_numpy = [
        n for n in names if table.loaded and not streaming and binnings[n].method == "quantile"
    ]
    by_polars = [n for n in names if n not in by_numpy]

    def numbered_by_polars() -> BinNumbers:
        exprs = [profile.bin_index(n, table.schema[n], binnings[n]).cast(narrow) for n in by_polars]
        frame = profile.collect(table, exprs, streaming)
        return {n: frame[n].to_numpy() for n in by_polars}

    def numbered_by_numpy() -> BinNumbers:
        index = {}
        for n in by_numpy:
            values = profile.collect(table, [profile.quantile_values(n, table.schema[n])], False)
            index[n] = profile.quantile_numbers(values[n].to_numpy(), binnings[n].edges)
        return index

    # Side by side: polars' query does not hold the GIL, nor do numpy's comparisons (1M rows,
    # 25 columns: 0.14 s of wall time instead of 0.17 s, for no more CPU).
    parts = profile.on_polars_threads(lambda work: work(), [numbered_by_polars, numbered_by_numpy])
    index = {n: numbers for part in parts for n, numbers in part.items()}
    return {n: index[n] for n in names}


def tabulate(
    index: BinNumbers, binnings: Mapping[str, profile.Binning], pairs: Sequence[Pair]
) -> dict[Pair, PairTable]:
    """The k x l table of every pair from the columns' `bin_numbers`.

    numpy counts the joint table of a few columns at a time with one bincount of their combined
    bin number and adds up its margins for each pair it holds (`_cover`): at 1M rows, 325 pairs
    cost 67 bincounts, 0.27 s of CPU, against 0.88 s for one bincount per pair and 2 s for one
    polars group-by per pair.
    """
    names = list(dict.fromkeys(name for pair in pairs for name in pair))
    if not names:
        return {}
    sizes = {n: len(binnings[n].labels) for n in names}
    cover = _cover(pairs, sizes)
    # Each pair from the first group that holds it; numpy lets go of the GIL while it codes and
    # counts, so the groups are counted on polars' threads (300 pairs at 1M rows: ~0.1 s less
    # wall time for ~0.03 s more CPU).
    held: dict[int, list[Pair]] = {}
    for pair in pairs:
        first = next(i for i, group in enumerate(cover) if pair[0] in group and pair[1] in group)
        held.setdefault(first, []).append(pair)

    def count_group(i: int) -> dict[Pair, PairTable]:
        group = cover[i]
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
        counts = np.bincount(code, minlength=cells).reshape(shape)
        tables = {}
        for x, y in held.get(i, []):
            a, b = group.index(x), group.index(y)
            other = tuple(k for k in range(len(group)) if k not in (a, b))
            pair_table = counts.sum(axis=other) if other else counts
            tables[(x, y)] = (pair_table if a < b else pair_table.T).astype(np.int64)
        return tables

    parts = profile.on_polars_threads(count_group, sorted(held))
    tables = {p: t for part in parts for p, t in part.items()}
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
    (`profile.scored_bins`). Then, if more than `limit` bins are left, "(null)" keeps its own bin
    and the value bins are merged into `limit - 1`: quantile bins into runs of neighbours holding
    about equal reference shares, other bins by keeping the `limit - 2` with the most reference
    rows and pooling the rest. `reference` is the column's reference histogram.
    """
    labels = binning.labels
    base = list(range(len(labels)))
    if binning.method == "categories" and binning.rest:
        other = labels.index(profile.OTHER_LABEL)
        base = [b if b <= other else b - 1 for b in base]
    names, _, _ = profile.scored_bins(binning, reference, reference)
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


def merge_sparse(
    binning: profile.Binning,
    mapping: Sequence[int],
    names: Sequence[str],
    sides: Sequence[ArrayLike],
    limit: int,
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """`groups`' mapping with value bins that hold under 1 / `limit` of the rows on either side
    merged, so that no row of a pair's table is sparse on one side: a shifted column would
    otherwise leave a few current rows in the reference's outer bins, where sampling noise
    looks like a changed relationship. Ordered bins merge into runs of neighbours, categories
    into one pooled bin; "(null)" stays. `sides` are the column's histograms (on its own bins)
    in both datasets. The merge depends on the margins only, so the test keeps its level.
    """
    null = len(names) - 1
    least = 1 / limit
    shares = []
    for counts in sides:
        coarse = np.bincount(
            mapping, weights=np.asarray(counts, dtype=np.float64), minlength=null + 1
        )
        shares.append(coarse[:null] / max(coarse[:null].sum(), 1.0))
    thin = np.minimum(*shares) < least
    if not thin.any():
        return tuple(mapping), tuple(names)
    if binning.method == "categories":
        kept = [g for g in range(null) if not thin[g]]
        if len(kept) >= null - 1:  # one thin category has nothing to pool with
            return tuple(mapping), tuple(names)
        pooled = [names[g] for g in range(null) if thin[g]]
        renumber = {g: i for i, g in enumerate(kept)}
        new_group = [renumber.get(g, len(kept)) for g in range(null)]
        new_names = [names[g] for g in kept] + [f"({len(pooled)} bins pooled)"]
    else:
        new_group, group, held = [], 0, np.zeros(2)
        for g in range(null):
            new_group.append(group)
            held += [shares[0][g], shares[1][g]]
            if held.min() >= least:
                group, held = group + 1, np.zeros(2)
        if held.any() and group > 0:  # a thin run left at the end joins the run before it
            new_group = [min(g, group - 1) for g in new_group]
        runs = int(max(new_group)) + 1
        if binning.method == "quantile":
            original = np.asarray(mapping)
            new_names = [
                _interval(
                    binning,
                    np.flatnonzero(
                        np.isin(original, [g for g in range(null) if new_group[g] == r])
                    ),
                )
                for r in range(runs)
            ]
        else:
            members = [[names[g] for g in range(null) if new_group[g] == r] for r in range(runs)]
            new_names = [m[0] if len(m) == 1 else f"{m[0]} .. {m[-1]}" for m in members]
    remapped = [len(new_names) if g == null else new_group[g] for g in mapping]
    return tuple(remapped), (*new_names, profile.NULL_LABEL)


def score_pair(
    columns: Pair,
    ref: NDArray[np.float64],
    cur: NDArray[np.float64],
    labels: tuple[tuple[str, ...], tuple[str, ...]],
    scored: joint.PairScores,
    levels: PairLevels,
) -> PairDrift:
    """One pair's record from its (coarsened) tables and their `joint.scores`; the status uses
    its own p-value until `score_pairs` adjusts it."""
    plug_in, floors, test = scored.kl, scored.noise_floor, scored.test
    cells = _cells(ref, cur, scored.contributions, labels, TOP_CELLS)
    return PairDrift(
        columns=columns,
        status=Status.ok,
        kl=plug_in,
        noise_floor=floors,
        kl_corrected=joint.corrected(plug_in, floors),
        relationship=max(plug_in.relationship - floors.relationship, 0.0),
        shape=(int(ref.shape[0]), int(ref.shape[1])),
        warn=levels.warn,
        threshold=levels.drift,
        g_statistic=test.statistic,
        dof=test.dof,
        p_value=test.p_value,
        p_adjusted=test.p_value,
        test_method=test.method,
        cells=cells,
        labels=labels,
        reference_table=_as_tuples(ref),
        current_table=_as_tuples(cur),
    )


def explain(pair: PairDrift, options: Options) -> tuple[CellShift, ...]:
    """Every occupied cell of `pair`'s scored tables, largest part of its relationship first.

    The parts are the cells' changes of pointwise mutual information, weighted by the reference
    (`joint.interaction_contributions`, on the smoothed tables: they sum to the plug-in score);
    the shares are the raw joint shares.
    """
    ref = np.asarray(pair.reference_table, dtype=np.float64)
    cur = np.asarray(pair.current_table, dtype=np.float64)
    terms = joint.interaction_contributions(ref, cur, options.smoothing, options.base)
    return _cells(ref, cur, terms, pair.labels)


def _cells(
    ref: NDArray[np.float64],
    cur: NDArray[np.float64],
    terms: NDArray[np.float64],
    labels: tuple[tuple[str, ...], tuple[str, ...]],
    limit: int | None = None,
) -> tuple[CellShift, ...]:
    """The occupied cells, largest part (`terms`, `joint.interaction_contributions`) first: the
    first `limit` of them, or all."""
    n_ref, n_cur = ref.sum() or 1.0, cur.sum() or 1.0
    # A stable sort keeps table order among equal parts.
    order = np.argsort(-np.abs(terms), axis=None, kind="stable")
    rows, cols = np.unravel_index(order, terms.shape)
    occupied = (ref[rows, cols] > 0) | (cur[rows, cols] > 0)
    rows, cols = rows[occupied][:limit], cols[occupied][:limit]
    return tuple(
        CellShift(
            x=labels[0][i],
            y=labels[1][j],
            reference_share=float(ref[i, j] / n_ref),
            current_share=float(cur[i, j] / n_cur),
            contribution=float(terms[i, j]),
        )
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True)
    )


def _as_tuples(table: NDArray[np.float64]) -> tuple[tuple[int, ...], ...]:
    return tuple(map(tuple, table.astype(np.int64).tolist()))


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
    # A column's margins are the same in each of its pairs (every table counts every row), so
    # its coarsening is worked out once, not once per pair (325 pairs: 650 times for 26).
    coarsened: dict[tuple[str, bytes, bytes], tuple[tuple[int, ...], tuple[str, ...]]] = {}

    def coarsening(
        name: str, margins: tuple[NDArray[np.int64], NDArray[np.int64]]
    ) -> tuple[tuple[int, ...], tuple[str, ...]]:
        key = (name, margins[0].tobytes(), margins[1].tobytes())
        if key not in coarsened:
            binning = columns[name].binning
            mapping, names = groups(binning, columns[name].counts, limit)
            coarsened[key] = merge_sparse(binning, mapping, names, margins, limit)
        return coarsened[key]

    coarse, labels = [], []
    for (x, y), ref in reference.items():
        cur = current[(x, y)]
        gx, lx = coarsening(x, (ref.sum(axis=1), cur.sum(axis=1)))
        gy, ly = coarsening(y, (ref.sum(axis=0), cur.sum(axis=0)))
        coarse.append((joint.coarsen(ref, gx, gy), joint.coarsen(cur, gx, gy)))
        labels.append((lx, ly))
    # Scored together: the G-tests of tables of the same shape are fitted at once.
    every = joint.scores_of(coarse, options.smoothing, options.base)
    scored = [
        score_pair(pair, ref, cur, names, scores, levels)
        for pair, (ref, cur), names, scores in zip(reference, coarse, labels, every, strict=True)
    ]
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


def with_pair_tables(
    built: profile.Profile, table: Table, pairs: Sequence[Sequence[str]] | None = None
) -> profile.Profile:
    """`built` (a profile of `table`) with the tables of `pairs` (None: all pairs) stored in it,
    so that it can stand in for `table` as the reference of a comparison with pairs."""
    wanted = resolve_pairs(pairs, list(built.columns))
    binnings = built.binnings
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
                f"{reference.source}: the profile stores no table for the pair {x},{y}; "
                f"make it with `kldrift profile DATA --pairs {x},{y}`"
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
