"""Calibration of relationship drift: false alarms on unchanged pairs, power on changed ones.

Not a test: a seeded simulation whose tables go into docs/calibration.md ("Pairs of columns").
Every comparison goes through `kldrift.compare(..., pairs="all")` on polars frames with default
options, all pairs of the dataset's four columns at once (so their p-values are BH-adjusted
together):

* same-distribution datasets: a and b standard normal with correlation 0.5, c a five-level
  category that depends on a, d lognormal with 10% nulls, independent of the rest; reference and
  current from one distribution. Every flagged pair is a false alarm;
* changed datasets: u and v standard normal with correlation 0 -> 0.3, s and t with 0.5 -> -0.5;
  every marginal is unchanged. (u, v) and (s, t) measure power; the four cross pairs are
  independent on both sides and count as more same-distribution pairs.

The default rule is the report's status; the other drift levels are applied to the same scores
with `kldrift.options.decide`, the function the comparison uses, so the table shows how the
default levels were chosen.

    python bench/calibration_pairs.py            # full run, markdown tables to stdout
    python bench/calibration_pairs.py --quick    # a smoke run with few datasets
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

# One polars thread per worker process: the workers already use every core.
os.environ.setdefault("POLARS_MAX_THREADS", "1")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from calibration import header, rate  # noqa: E402

import kldrift  # noqa: E402
from kldrift.options import Decision, PairLevels, Status, Thresholds, decide  # noqa: E402

SIZES = (1_000, 10_000, 100_000, 1_000_000)
#: Datasets per sample size; fewer at 1M, where each costs seconds.
DATASETS = {1_000: 400, 10_000: 400, 100_000: 200, 1_000_000: 40}
SEED = 20260117
ALPHA = 0.05
#: Drift levels (nats of the bias-corrected relationship score) compared when choosing the default.
LEVELS = (0.01, 0.02, 0.03, 0.05, 0.1)
SAME_PAIRS = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")]
CHANGES = {("u", "v"): "correlation 0 -> 0.3", ("s", "t"): "correlation 0.5 -> -0.5"}
CROSS_PAIRS = [("u", "s"), ("u", "t"), ("v", "s"), ("v", "t")]

Generator = np.random.Generator


def _normals(rng: Generator, n: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    z = rng.standard_normal((n, 2))
    return z[:, 0], rho * z[:, 0] + math.sqrt(1 - rho**2) * z[:, 1]


def _same(rng: Generator, n: int) -> pl.DataFrame:
    a, b = _normals(rng, n, 0.5)
    level = np.clip(np.floor(a + rng.normal(0, 0.7, n) + 2.5), 0, 4).astype(int)
    d = pl.Series(rng.lognormal(0, 1, n))
    return pl.DataFrame(
        {
            "a": a,
            "b": b,
            "c": pl.Series(["v", "w", "x", "y", "z"]).gather(level),
            "d": d.scatter(np.flatnonzero(rng.random(n) < 0.1), None),
        }
    )


def _changed(rng: Generator, n: int, current: bool) -> pl.DataFrame:
    u, v = _normals(rng, n, 0.3 if current else 0.0)
    s, t = _normals(rng, n, -0.5 if current else 0.5)
    return pl.DataFrame({"u": u, "v": v, "s": s, "t": t})


def run_dataset(task: tuple[int, int]) -> dict[str, object]:
    """Scores of every pair of one same-distribution and one changed comparison at size n."""
    n, rep = task
    rng = np.random.default_rng([SEED, n, rep])
    thresholds = Thresholds(alpha=ALPHA)
    same = kldrift.compare(_same(rng, n), _same(rng, n), thresholds=thresholds, pairs="all")
    changed = kldrift.compare(
        _changed(rng, n, current=False),
        _changed(rng, n, current=True),
        thresholds=thresholds,
        pairs="all",
    )
    result: dict[str, object] = {"n": n}
    for kind, report in (("same", same), ("changed", changed)):
        result[f"{kind}|columns flagged"] = len(report.drifted_columns)
        for pair in report.pairs:
            key = f"{kind}|{','.join(sorted(pair.columns))}"
            result[key] = (pair.status is Status.drift, pair.relationship, pair.p_adjusted)
    return result


def _flagged(score: object, level: float | None) -> bool:
    """Drift by the report's status (level None), the test alone (0) or `level` and the test."""
    status, relationship, p_adjusted = score  # type: ignore[misc]
    if level is None:
        return bool(status)
    if level == 0:
        return bool(p_adjusted < ALPHA)
    verdict = decide(Decision.both, (level / 2, level), ALPHA, relationship, p_adjusted)
    return verdict is Status.drift


def _key(kind: str, pair: tuple[str, str]) -> str:
    return f"{kind}|{','.join(sorted(pair))}"


def _rate_table(
    results: list[dict[str, object]], rows: dict[str, list[str]], level: float | None, bound: bool
) -> str:
    sizes = sorted({int(str(r["n"])) for r in results})
    lines = header("pairs", sizes)
    for label, keys in rows.items():
        cells = []
        for n in sizes:
            flags = [_flagged(r[k], level) for r in results if r["n"] == n for k in keys]
            cells.append(rate(flags, bound))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _level_table(results: list[dict[str, object]]) -> str:
    sizes = sorted({int(str(r["n"])) for r in results})
    lines = [
        "| drift level (nats) | change | " + " | ".join(f"n = {n:,}" for n in sizes) + " |",
        "|---:|---|" + "---:|" * len(sizes),
    ]
    for level in LEVELS:
        for pair, change in CHANGES.items():
            cells = []
            for n in sizes:
                flags = [_flagged(r[_key("changed", pair)], level) for r in results if r["n"] == n]
                cells.append(f"{sum(flags) / len(flags):.1%}")
            lines.append(f"| {level:g} | {change} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _effects(results: list[dict[str, object]]) -> str:
    sizes = sorted({int(str(r["n"])) for r in results})
    lines = header("change", sizes)
    for pair, change in CHANGES.items():
        cells = []
        for n in sizes:
            values = [r[_key("changed", pair)][1] for r in results if r["n"] == n]  # type: ignore[index]
            cells.append(f"{np.mean(values):.4f} ± {np.std(values):.4f}")
        lines.append(f"| {change} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few datasets, for a smoke run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    counts = {n: (10 if args.quick else DATASETS[n]) for n in sizes}
    tasks = [(n, rep) for n in sorted(sizes, reverse=True) for rep in range(counts[n])]

    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(run_dataset, tasks, chunksize=2))
    elapsed = time.perf_counter() - start

    levels = PairLevels()
    same_rows = {f"{x}, {y}": [_key("same", (x, y))] for x, y in SAME_PAIRS}
    same_rows["unchanged cross pairs of the changed datasets"] = [
        _key("changed", p) for p in CROSS_PAIRS
    ]
    same_rows["all unchanged pairs"] = [k for keys in same_rows.values() for k in keys]
    power_rows = {change: [_key("changed", p)] for p, change in CHANGES.items()}
    out = sys.stdout
    out.write(
        f"kldrift {kldrift.__version__}, default options, pair levels {levels.drift:g} / "
        f"{levels.warn:g} nats, alpha {ALPHA}, seed {SEED}; {len(tasks)} datasets of each kind "
        f"in {elapsed:.0f} s on {args.workers} workers.\n\n"
    )
    out.write("### False alarms on unchanged pairs: kldrift default\n\n")
    out.write("Share of pairs flagged as drift (flagged/pairs, one-sided 95% upper bound).\n\n")
    out.write(_rate_table(results, same_rows, None, bound=True) + "\n\n")
    out.write("### False alarms on unchanged pairs: significance only (BH p̃ < 0.05)\n\n")
    out.write(_rate_table(results, same_rows, 0, bound=True) + "\n\n")
    out.write("### Detection of changed relationships: kldrift default\n\n")
    out.write(_rate_table(results, power_rows, None, bound=False) + "\n\n")
    out.write("### Detection by drift level (BH p̃ < 0.05 and relationship ≥ level)\n\n")
    out.write(_level_table(results) + "\n\n")
    out.write("### Relationship score (nats, mean ± sd) of the changed pairs\n\n")
    out.write(_effects(results) + "\n\n")
    flagged_columns = sum(
        int(str(r[f"{kind}|columns flagged"])) for r in results for kind in ("same", "changed")
    )
    out.write(
        f"Columns flagged by the per-column compare in all these datasets: {flagged_columns}.\n"
    )


if __name__ == "__main__":
    main()
