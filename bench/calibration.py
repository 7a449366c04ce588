"""Calibration benchmark: false-alarm and detection rates of kldrift's drift decision.

Not part of the test suite. For each sample size n (per side) it draws many pairs of datasets:

* same-distribution pairs (normal, lognormal, Poisson, uniform, a 1,000-level Zipf categorical,
  a normal with 30% nulls): the share of columns flagged is the false-alarm rate;
* shifted pairs (mean +0.1 sd and +0.25 sd, sd x1.2, one category's share +5 points, null rate
  1% -> 5%, a boolean 30% -> 40% true, 10% of rows in five new categories): the share flagged
  is the detection rate.

Up to FIT_SAMPLE_ROWS rows a side, every pair goes through `kldrift.compare` on polars frames,
the code path of `kldrift compare`, with default options. Above it, kldrift fits a numeric
column's bins on an evenly spaced sample of FIT_SAMPLE_ROWS rows, and every other row only
lands in a bin; so the bench draws that sample as data (profiled by kldrift's own code) and
the other rows' bin counts directly from the multinomial their bins give, and categorical
counts from the multinomial over the levels. That is the same distribution of histograms, at a
cost that does not grow with n; the histograms then go through `kldrift.drift.assemble`, the
scoring and decision step of `compare`. The report's status is the default rule (both gates);
the other rules are applied to the same scores with `kldrift.options.decide`.

    python bench/calibration.py            # full run, writes the markdown tables to stdout
    python bench/calibration.py --quick    # a smoke run with few pairs
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

# One polars thread per worker process: the workers already use every core.
os.environ.setdefault("POLARS_MAX_THREADS", "1")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

import kldrift  # noqa: E402
from kldrift import drift, profile  # noqa: E402
from kldrift.io import scan_table  # noqa: E402
from kldrift.options import Decision, Kind, Options, Status, Thresholds, decide  # noqa: E402

SIZES = (100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)
#: Pairs per sample size: the one-sided 95% bound of 0 false alarms in 400 is 0.75%.
PAIRS = 400
#: Pairs per size in a --quick run.
QUICK_PAIRS = 10
SEED = 20260101
ZIPF_LEVELS = 1000
ZIPF_EXPONENT = 1.1
ALPHA = 0.05

Generator = np.random.Generator
FloatArray = np.ndarray


def _normal_cdf(x: FloatArray) -> FloatArray:
    return np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in np.asarray(x, dtype=float)])


@dataclass(frozen=True)
class Numeric:
    """A numeric column: iid values (`draw`), their CDF for quantile bins or pmf for discrete ones,
    and a share of nulls."""

    draw: Callable[[Generator, int], FloatArray]
    cdf: Callable[[FloatArray], FloatArray] | None = None
    pmf: Callable[[FloatArray], FloatArray] | None = None
    nulls: float = 0.0
    dtype: str = "Float64"

    def series(self, rng: Generator, n: int) -> pl.Series:
        values = pl.Series(self.draw(rng, n))
        if self.nulls:
            values = values.scatter(np.flatnonzero(rng.random(n) < self.nulls), None)
        return values

    def probabilities(self, binning: profile.Binning) -> FloatArray:
        """Probability of each bin of `binning` (null bin last) for one row."""
        if binning.method == "discrete":
            assert self.pmf is not None, "a discrete binning of a continuous column"
            values = self.pmf(np.asarray(binning.values, dtype=float))
            shares = np.append(values, max(0.0, 1 - values.sum()))  # "(other)"
        else:
            assert self.cdf is not None, "quantile bins of a column without a CDF"
            cdf = self.cdf(np.asarray(binning.edges, dtype=float))
            shares = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
        return np.append(shares * (1 - self.nulls), self.nulls)


@dataclass(frozen=True)
class Categorical:
    """A categorical column with given shares of named levels."""

    levels: tuple[str, ...]
    shares: FloatArray

    def series(self, rng: Generator, n: int) -> pl.Series:
        return pl.Series(self.levels).gather(rng.choice(len(self.levels), size=n, p=self.shares))

    def value_counts(self, rng: Generator, n: int) -> pl.DataFrame:
        """Rows per level of a sample of n, as kldrift's (value, n) group counts."""
        counts = rng.multinomial(n, self.shares)
        seen = counts > 0
        return pl.DataFrame(
            {"value": np.array(self.levels)[seen].tolist(), "n": counts[seen].tolist()},
            schema={"value": pl.String, "n": pl.UInt32},
        )


Column = Numeric | Categorical


def _normal(loc: float = 0.0, scale: float = 1.0, nulls: float = 0.0) -> Numeric:
    return Numeric(
        draw=lambda rng, n: rng.normal(loc, scale, size=n),
        cdf=lambda x: _normal_cdf((x - loc) / scale),
        nulls=nulls,
    )


def _poisson_pmf(x: FloatArray, mean: float = 4.0) -> FloatArray:
    return np.array(
        [math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1)) if k >= 0 else 0.0 for k in x]
    )


LOGNORMAL = Numeric(
    draw=lambda rng, n: rng.lognormal(0.0, 1.0, size=n),
    cdf=lambda x: _normal_cdf(np.log(np.maximum(x, 1e-300))) * (x > 0),
)
POISSON = Numeric(draw=lambda rng, n: rng.poisson(4.0, size=n), pmf=_poisson_pmf, dtype="Int64")
UNIFORM = Numeric(draw=lambda rng, n: rng.random(n), cdf=lambda x: np.clip(x, 0.0, 1.0))


def _zipf(boost: float = 0.0, new: float = 0.0, new_levels: int = 5) -> Categorical:
    """Zipf(1.1) on 1,000 levels; `boost` adds that share to level 0 and `new` spreads that
    share over `new_levels` levels of its own, scaling the rest down."""
    weights = 1.0 / np.arange(1, ZIPF_LEVELS + 1) ** ZIPF_EXPONENT
    shares = weights / weights.sum()
    if boost:
        rest = 1 - shares[0]
        shares = np.concatenate([[shares[0] + boost], shares[1:] * (rest - boost) / rest])
    levels = [f"c{i:04d}" for i in range(ZIPF_LEVELS)]
    if new:
        shares = np.concatenate([shares * (1 - new), np.full(new_levels, new / new_levels)])
        levels += [f"new{i}" for i in range(new_levels)]
    return Categorical(tuple(levels), shares)


def _boolean(true: float) -> Categorical:
    return Categorical(("false", "true"), np.array([1 - true, true]))


#: Same-distribution columns: name -> distribution (both sides).
NULL_COLUMNS: dict[str, Column] = {
    "normal": _normal(),
    "lognormal": LOGNORMAL,
    "poisson": POISSON,
    "uniform": UNIFORM,
    "zipf (1,000 levels)": _zipf(),
    "normal, 30% nulls": _normal(nulls=0.3),
}
#: Shifted columns: name -> (reference distribution, current distribution).
SHIFTS: dict[str, tuple[Column, Column]] = {
    "mean +0.1 sd": (_normal(), _normal(loc=0.1)),
    "mean +0.25 sd": (_normal(), _normal(loc=0.25)),
    "sd x1.2": (_normal(), _normal(scale=1.2)),
    "top category +5 points": (_zipf(), _zipf(boost=0.05)),
    "nulls 1% -> 5%": (_normal(nulls=0.01), _normal(nulls=0.05)),
    "boolean 30% -> 40% true": (_boolean(0.3), _boolean(0.4)),
    "10% of rows in 5 new categories": (_zipf(), _zipf(new=0.1)),
}
#: Rules compared: name -> verdict of one scored column.
RULES: dict[str, Callable[[kldrift.ColumnDrift, Thresholds], Status]] = {
    "kldrift default (both)": lambda c, t: c.status,
    "significance only": lambda c, t: decide(
        Decision.significance, t.for_column(c.name), t.alpha, c.kl_corrected, c.p_adjusted
    ),
    "threshold only (KL corr.)": lambda c, t: decide(
        Decision.threshold, t.for_column(c.name), t.alpha, c.kl_corrected, c.p_adjusted
    ),
}


def _frame(rng: Generator, n: int, columns: dict[str, Column]) -> pl.DataFrame:
    return pl.DataFrame({name: column.series(rng, n) for name, column in columns.items()})


def _compare_frames(
    rng: Generator, n: int, ref: dict[str, Column], cur: dict[str, Column], thresholds: Thresholds
) -> drift.DriftReport:
    return kldrift.compare(_frame(rng, n, ref), _frame(rng, n, cur), thresholds=thresholds)


def _compare_histograms(
    rng: Generator, n: int, ref: dict[str, Column], cur: dict[str, Column], thresholds: Thresholds
) -> drift.DriftReport:
    """`compare` on histograms drawn as the module docstring says, for n > FIT_SAMPLE_ROWS."""
    options = Options()
    step = math.ceil(n / profile.FIT_SAMPLE_ROWS)
    sample_rows = math.ceil(n / step)  # rows 0, step, 2 step, ... of n
    columns: dict[str, profile.ColumnProfile] = {}
    counts: dict[str, np.ndarray] = {}
    for name, spec in ref.items():
        current = cur[name]
        if isinstance(spec, Categorical):
            assert isinstance(current, Categorical)
            values = spec.value_counts(rng, n)
            binning = profile._categories(values, options.top_k)
            histogram = tuple(profile._category_counts(binning, values).tolist())
            singletons = profile._tail_singletons(binning, values)
            columns[name] = profile.ColumnProfile(name, "String", binning, histogram, singletons)
            counts[name] = profile._category_counts(binning, current.value_counts(rng, n))
            continue
        assert isinstance(current, Numeric)
        sample = pl.DataFrame({name: spec.series(rng, sample_rows)})
        fitted = profile.build(scan_table(sample), {name: Kind.numeric}, options).columns[name]
        others = rng.multinomial(n - sample_rows, spec.probabilities(fitted.binning))
        columns[name] = profile.ColumnProfile(
            name,
            spec.dtype,
            fitted.binning,
            tuple((np.asarray(fitted.counts) + others).tolist()),
        )
        counts[name] = rng.multinomial(n, current.probabilities(fitted.binning))
    reference = profile.Profile("reference", n, columns)
    return drift.assemble("reference", reference, "current", n, counts, options, thresholds, [])


def run_pair(task: tuple[int, int]) -> dict[str, object]:
    """Verdicts per rule and column for one same-distribution and one shifted pair at size n."""
    n, rep = task
    rng = np.random.default_rng([SEED, n, rep])
    thresholds = Thresholds(alpha=ALPHA)
    pair = _compare_frames if n <= profile.FIT_SAMPLE_ROWS else _compare_histograms
    same = pair(rng, n, NULL_COLUMNS, NULL_COLUMNS, thresholds)
    shifted = pair(
        rng,
        n,
        {k: v[0] for k, v in SHIFTS.items()},
        {k: v[1] for k, v in SHIFTS.items()},
        thresholds,
    )
    result: dict[str, object] = {"n": n}
    for kind, report in (("same", same), ("shifted", shifted)):
        # A column kldrift leaves out (the Zipf column is ID-like at n = 100) is not flagged.
        for change in report.schema:
            if change.skipped:
                for rule in RULES:
                    result[f"{kind}|{change.column}|{rule}"] = Status.ok
        for column in report.columns:
            for rule, verdict in RULES.items():
                result[f"{kind}|{column.name}|{rule}"] = verdict(column, thresholds)
            result[f"{kind}|{column.name}|kl_corrected"] = column.kl_corrected
            result[f"{kind}|{column.name}|detectable"] = column.detectable
    return result


def upper_bound(flagged: int, trials: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper confidence bound of a binomial proportion."""
    if flagged >= trials:
        return 1.0
    lo, hi = flagged / trials, 1.0
    for _ in range(60):  # bisection on P(X <= flagged; p) = 1 - confidence
        mid = (lo + hi) / 2
        cdf = sum(
            math.comb(trials, i) * mid**i * (1 - mid) ** (trials - i) for i in range(flagged + 1)
        )
        lo, hi = (mid, hi) if cdf > 1 - confidence else (lo, mid)
    return hi


def _sizes(results: list[dict[str, object]]) -> list[int]:
    return sorted({int(str(r["n"])) for r in results})


def rate(flags: list[bool], bound: bool) -> str:
    """The share of `flags` that are true, with its one-sided 95% upper bound if `bound`."""
    k, m = sum(flags), len(flags)
    cell = f"{k / m:.1%}"
    if bound:
        cell += f" ({k}/{m}, ≤{upper_bound(k, m):.1%})"
    return cell


def header(first: str, sizes: list[int]) -> list[str]:
    """The first two lines of a Markdown table with one column per sample size."""
    return [
        f"| {first} | " + " | ".join(f"n = {n:,}" for n in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]


def _table(
    results: list[dict[str, object]],
    kind: str,
    columns: list[str],
    rule: str,
    counted: set[Status],
    bound: bool,
) -> str:
    sizes = _sizes(results)
    lines = header("column", sizes)
    for column in columns:
        cells = []
        for n in sizes:
            flags = [r[f"{kind}|{column}|{rule}"] in counted for r in results if r["n"] == n]
            cells.append(rate(flags, bound))
        lines.append(f"| {column} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _means(
    results: list[dict[str, object]], kind: str, columns: list[str], field: str, digits: str
) -> str:
    sizes = _sizes(results)
    lines = header("column", sizes)
    for column in columns:
        cells = []
        for n in sizes:
            key = f"{kind}|{column}|{field}"
            values = [float(str(r[key])) for r in results if r["n"] == n and key in r]
            cells.append(f"{np.mean(values):{digits}}" if values else "skipped")
        lines.append(f"| {column} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few pairs, for a smoke run")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--pairs", type=int, default=PAIRS, help="pairs per size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    pairs = QUICK_PAIRS if args.quick else args.pairs
    tasks = [(n, rep) for n in sorted(sizes, reverse=True) for rep in range(pairs)]

    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(run_pair, tasks, chunksize=8))
    elapsed = time.perf_counter() - start

    thresholds = Thresholds(alpha=ALPHA)
    out = sys.stdout
    out.write(
        f"kldrift {kldrift.__version__}, default options (KL corr. drift >= "
        f"{thresholds.drift_level:g}, warn >= {thresholds.warn_level:g} nats, alpha {ALPHA}), "
        f"seed {SEED}; {pairs} pairs of each "
        f"kind per size, {len(tasks)} in all, in {elapsed:.0f} s on {args.workers} workers.\n\n"
    )
    drift_only, flagged = {Status.drift}, {Status.drift, Status.warn}
    bounded = "Share of columns flagged (flagged/pairs, one-sided 95% upper bound)."
    for rule in RULES:
        out.write(f"### False alarms (drift) on same-distribution pairs: {rule}\n\n{bounded}\n\n")
        out.write(_table(results, "same", list(NULL_COLUMNS), rule, drift_only, True) + "\n\n")
    out.write(f"### Warn or drift on same-distribution pairs: kldrift default\n\n{bounded}\n\n")
    default = next(iter(RULES))
    out.write(_table(results, "same", list(NULL_COLUMNS), default, flagged, True) + "\n\n")
    for rule in RULES:
        out.write(f"### Detection (drift) of named shifts: {rule}\n\n")
        out.write(_table(results, "shifted", list(SHIFTS), rule, drift_only, False) + "\n\n")
    out.write("### Detection (warn or drift) of named shifts: kldrift default\n\n")
    out.write(_table(results, "shifted", list(SHIFTS), default, flagged, False) + "\n\n")
    out.write("### Mean bias-corrected KL (nats) of the shifted columns\n\n")
    out.write(_means(results, "shifted", list(SHIFTS), "kl_corrected", ".4f") + "\n\n")
    out.write("### Mean detectable effect (nats, 95% power) of the shifted columns\n\n")
    out.write(_means(results, "shifted", list(SHIFTS), "detectable", ".2g") + "\n")


if __name__ == "__main__":
    main()
