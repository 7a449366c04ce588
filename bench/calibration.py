"""Calibration benchmark: false-alarm and detection rates of kldrift's drift decision.

Not part of the test suite. For each sample size n (per side) it draws many pairs of datasets:

* same-distribution pairs (five columns: normal, lognormal, Poisson, a 1,000-level Zipf
  categorical, a normal with 30% nulls): the share of columns flagged is the false-alarm rate;
* shifted pairs (mean +0.1 sd, mean +0.25 sd, sd x1.2, one category's share +5 points, null
  rate 1% -> 5%): the share flagged is the detection rate.

Every pair goes through `kldrift.compare` on polars frames, the code path of `kldrift compare`,
with default options. The report's status is the default rule (both gates); the other rules are
applied to the same scores with `kldrift.options.decide`, the function `compare` uses.

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

# One polars thread per worker process: the workers already use every core.
os.environ.setdefault("POLARS_MAX_THREADS", "1")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

import kldrift  # noqa: E402
from kldrift.options import Decision, Status, Thresholds, decide  # noqa: E402

SIZES = (100, 1_000, 10_000, 100_000, 1_000_000)
#: Pairs per sample size; fewer at 1M, where each pair costs seconds.
PAIRS = {100: 400, 1_000: 400, 10_000: 400, 100_000: 200, 1_000_000: 100}
SEED = 20260101
ZIPF_LEVELS = 1000
ZIPF_EXPONENT = 1.1
ALPHA = 0.05

Generator = np.random.Generator
Column = Callable[[Generator, int], pl.Series]


def _zipf_shares(boost: float = 0.0) -> np.ndarray:
    """Zipf(1.1) shares of 1,000 levels; `boost` adds that much to level 0, scaling the rest."""
    weights = 1.0 / np.arange(1, ZIPF_LEVELS + 1) ** ZIPF_EXPONENT
    shares = weights / weights.sum()
    if boost:
        rest = 1 - shares[0]
        shares = np.concatenate([[shares[0] + boost], shares[1:] * (rest - boost) / rest])
    return shares


LEVELS = pl.Series([f"c{i:04d}" for i in range(ZIPF_LEVELS)])


def _categorical(shares: np.ndarray) -> Column:
    def draw(rng: Generator, n: int) -> pl.Series:
        return LEVELS.gather(rng.choice(ZIPF_LEVELS, size=n, p=shares))

    return draw


def _normal(loc: float = 0.0, scale: float = 1.0, nulls: float = 0.0) -> Column:
    def draw(rng: Generator, n: int) -> pl.Series:
        values = pl.Series(rng.normal(loc, scale, size=n))
        if nulls:
            values = values.scatter(np.flatnonzero(rng.random(n) < nulls), None)
        return values

    return draw


def _lognormal(rng: Generator, n: int) -> pl.Series:
    return pl.Series(rng.lognormal(0.0, 1.0, size=n))


def _poisson(rng: Generator, n: int) -> pl.Series:
    return pl.Series(rng.poisson(4.0, size=n))


#: Same-distribution columns: name -> generator (both sides).
NULL_COLUMNS: dict[str, Column] = {
    "normal": _normal(),
    "lognormal": _lognormal,
    "poisson": _poisson,
    "zipf (1,000 levels)": _categorical(_zipf_shares()),
    "normal, 30% nulls": _normal(nulls=0.3),
}
#: Shifted columns: name -> (reference generator, current generator).
SHIFTS: dict[str, tuple[Column, Column]] = {
    "mean +0.1 sd": (_normal(), _normal(loc=0.1)),
    "mean +0.25 sd": (_normal(), _normal(loc=0.25)),
    "sd x1.2": (_normal(), _normal(scale=1.2)),
    "top category +5 points": (_categorical(_zipf_shares()), _categorical(_zipf_shares(0.05))),
    "nulls 1% -> 5%": (_normal(nulls=0.01), _normal(nulls=0.05)),
}
#: Rules compared: name -> verdict of one scored column (True = flagged as drift).
RULES: dict[str, Callable[[kldrift.ColumnDrift, Thresholds], bool]] = {
    "kldrift default (both)": lambda c, t: c.status is Status.drift,
    "significance only": lambda c, t: (
        decide(Decision.significance, t.for_column(c.name), t.alpha, c.kl_corrected, c.p_adjusted)
        is Status.drift
    ),
    "threshold only (KL corr. >= 0.1)": lambda c, t: (
        decide(Decision.threshold, t.for_column(c.name), t.alpha, c.kl_corrected, c.p_adjusted)
        is Status.drift
    ),
    "fixed threshold (plain KL >= 0.1)": lambda c, t: c.kl >= t.drift_level,
}


def _frame(rng: Generator, n: int, columns: dict[str, Column]) -> pl.DataFrame:
    return pl.DataFrame({name: draw(rng, n) for name, draw in columns.items()})


def run_pair(task: tuple[int, int]) -> dict[str, object]:
    """Flags per rule and column for one same-distribution and one shifted pair at size n."""
    n, rep = task
    rng = np.random.default_rng([SEED, n, rep])
    thresholds = Thresholds(alpha=ALPHA)
    same = kldrift.compare(
        _frame(rng, n, NULL_COLUMNS), _frame(rng, n, NULL_COLUMNS), thresholds=thresholds
    )
    shifted = kldrift.compare(
        _frame(rng, n, {k: v[0] for k, v in SHIFTS.items()}),
        _frame(rng, n, {k: v[1] for k, v in SHIFTS.items()}),
        thresholds=thresholds,
    )
    result: dict[str, object] = {"n": n}
    for kind, report in (("same", same), ("shifted", shifted)):
        for column in report.columns:
            for rule, flagged in RULES.items():
                result[f"{kind}|{column.name}|{rule}"] = flagged(column, thresholds)
            result[f"{kind}|{column.name}|kl_corrected"] = column.kl_corrected
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


def _table(
    results: list[dict[str, object]], kind: str, columns: list[str], rule: str, bound: bool
) -> str:
    sizes = sorted({int(str(r["n"])) for r in results})
    header = "| column | " + " | ".join(f"n = {n:,}" for n in sizes) + " |"
    lines = [header, "|---|" + "---:|" * len(sizes)]
    for column in columns:
        cells = []
        for n in sizes:
            flags = [bool(r[f"{kind}|{column}|{rule}"]) for r in results if r["n"] == n]
            k, m = sum(flags), len(flags)
            cell = f"{k / m:.1%}"
            if bound:
                cell += f" ({k}/{m}, ≤{upper_bound(k, m):.1%})"
            cells.append(cell)
        lines.append(f"| {column} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _effects(results: list[dict[str, object]]) -> str:
    sizes = sorted({int(str(r["n"])) for r in results})
    lines = [
        "| shift | " + " | ".join(f"n = {n:,}" for n in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for column in SHIFTS:
        cells = []
        for n in sizes:
            values = [
                float(str(r[f"shifted|{column}|kl_corrected"])) for r in results if r["n"] == n
            ]
            cells.append(f"{np.mean(values):.4f}")
        lines.append(f"| {column} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few pairs, for a smoke run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    pairs = {n: (10 if args.quick else PAIRS[n]) for n in sizes}
    tasks = [(n, rep) for n in sorted(sizes, reverse=True) for rep in range(pairs[n])]

    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(run_pair, tasks, chunksize=4))
    elapsed = time.perf_counter() - start

    out = sys.stdout
    out.write(f"kldrift {kldrift.__version__}, default options, alpha {ALPHA}, seed {SEED}; ")
    out.write(f"{len(tasks)} pairs of each kind in {elapsed:.0f} s on {args.workers} workers.\n\n")
    for rule in RULES:
        out.write(f"### False alarms on same-distribution pairs: {rule}\n\n")
        out.write(
            "Share of columns flagged as drift (flagged/pairs, one-sided 95% upper bound).\n\n"
        )
        out.write(_table(results, "same", list(NULL_COLUMNS), rule, bound=True) + "\n\n")
    for rule in RULES:
        out.write(f"### Detection of named shifts: {rule}\n\n")
        out.write(_table(results, "shifted", list(SHIFTS), rule, bound=False) + "\n\n")
    out.write("### Mean bias-corrected KL (nats) of the shifted columns\n\n")
    out.write(_effects(results) + "\n")


if __name__ == "__main__":
    main()
