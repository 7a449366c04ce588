"""Benchmark: the cost of relationship drift (all pairs) against a plain per-column compare.

Both cases run in fresh child processes, round-robin (plain, pairs, plain, ...), on the same
files from bench/generate.py (26 columns: 325 pairs), through the library calls the CLI makes:
`kldrift.compare(ref, cur)` and `kldrift.pairs.compare_pairs(ref, cur)` (every pair). Each child
times its own call (wall and CPU, after imports); the table gives medians and the median over
rounds of pairs / plain in the same round. On a busy machine compare the CPU ratio.

    python bench/generate.py --rows 1000000 --format parquet
    python bench/pairs_speed.py --rows 1000000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from layout import DEFAULT_OUT, dataset_path

CHILD = """
import json, sys, time
import kldrift
from kldrift import pairs
ref, cur, case = sys.argv[1:4]
wall, cpu = time.perf_counter(), time.process_time()
if case == "plain":
    result = kldrift.compare(ref, cur)
    detail = len(result.columns)
else:
    result = pairs.compare_pairs(ref, cur)
    detail = len(result.pairs)
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "detail": detail}))
"""
CASES = ("plain", "pairs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", default="parquet", choices=("parquet", "csv"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    ref, cur = (dataset_path(args.data, args.rows, args.format, side) for side in ("ref", "cur"))
    runs: dict[str, list[dict[str, float]]] = {case: [] for case in CASES}
    for _ in range(args.repeat):
        for case in CASES:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(ref), str(cur), case],
                check=True,
                capture_output=True,
                text=True,
            )
            runs[case].append(json.loads(out.stdout))
    print(f"{args.rows:,} rows, {args.format}, {args.repeat} rounds\n")
    print(
        "| case | scored | median wall s | median CPU s | paired wall ×plain | paired CPU ×plain |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for case in CASES:
        walls = [r["wall"] for r in runs[case]]
        ratio, cpu_ratio = (
            statistics.median(
                r[key] / p[key] for r, p in zip(runs[case], runs["plain"], strict=True)
            )
            for key in ("wall", "cpu")
        )
        detail = int(runs[case][0]["detail"])
        noun = "columns" if case == "plain" else "pairs"
        cpu = statistics.median(r["cpu"] for r in runs[case])
        print(
            f"| {case} | {detail} {noun} | {statistics.median(walls):.3f} | {cpu:.3f} "
            f"| {ratio:.2f} | {cpu_ratio:.2f} |"
        )


if __name__ == "__main__":
    main()
