"""Benchmark: kldrift.spark's profile on local[2] (warm session) next to kldrift's own profile.

On the benchmark's generated data (bench/generate.py; made here if missing), per row count:

* polars --bins-from: `kldrift.reference.profile_data(cur, bins_from=ref)`, kldrift's own counting;
* spark floor: Spark reading every column of cur once (`count(col)` for each), the least any
  Spark job that looks at all the data pays;
* spark --bins-from: `kldrift.spark.profile(df, bins_from=ref)`, the one-scan count;
* spark fit: `kldrift.spark.profile(df)`, fitting bins on the reference and counting.

Each case runs once to warm the session up (JIT, file cache) on the first row count, then
`--repeat` times on every row count; wall and CPU are
medians, CPU being this process plus the Spark JVM (its executors run inside it on local[2]).
The table is written between markers in bench/RESULTS.md with `--write`.

    python bench/spark.py --rows 1000000 10000000 --write
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layout import DEFAULT_OUT, dataset_path

BENCH = Path(__file__).resolve().parent
RESULTS_MD = BENCH / "RESULTS.md"
BEGIN, END = "<!-- spark: begin -->", "<!-- spark: end -->"


def _jvm_cpu(pid: int) -> float:
    """CPU seconds (user + system) the JVM has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(run: Callable[[], object], repeat: int, jvm: int, warm: bool) -> tuple[float, float]:
    if not warm:
        run()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time() + _jvm_cpu(jvm)
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() + _jvm_cpu(jvm) - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _cases(session: Any, ref: Path, cur: Path) -> dict[str, Callable[[], object]]:
    from pyspark.sql import functions as F

    from kldrift import spark
    from kldrift.reference import profile_data

    reference = profile_data(str(ref))
    df, ref_df = session.read.parquet(str(cur)), session.read.parquet(str(ref))
    # The Spark profile must equal kldrift's, or its time means nothing.
    ours = profile_data(str(cur), bins_from=reference)
    assert spark.profile(df, reference, source=str(cur)) == ours
    return {
        "polars --bins-from": lambda: profile_data(str(cur), bins_from=reference),
        "spark floor": lambda: df.agg(*(F.count(c) for c in df.columns)).collect(),
        "spark --bins-from": lambda: spark.profile(df, reference),
        "spark fit": lambda: spark.profile(ref_df),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--write", action="store_true", help="Update bench/RESULTS.md.")
    args = parser.parse_args()

    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.memory", "6g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.log.level", "ERROR")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    jvm = int(session.sparkContext._jvm.ProcessHandle.current().pid())  # type: ignore[union-attr]
    lines = []
    for i, rows in enumerate(args.rows):
        ref, cur = (dataset_path(args.out, rows, "parquet", side) for side in ("ref", "cur"))
        if not cur.exists():
            generate = [sys.executable, str(BENCH / "generate.py"), "--rows", str(rows)]
            subprocess.run([*generate, "--format", "parquet", "--out", str(args.out)], check=True)
        for case, run in _cases(session, ref, cur).items():
            wall, cpu = _measure(run, args.repeat, jvm, warm=i > 0)
            lines.append(f"| {case} | {rows:,} | {wall:.2f} | {cpu:.2f} | {args.repeat} |")
            print(lines[-1], flush=True)
    session.stop()
    table = "\n".join(
        [
            BEGIN,
            "## Spark (kldrift.spark, local[2], warm session)",
            "",
            f"`python bench/spark.py {shlex.join(sys.argv[1:])}` on "
            f"{platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end, "
            f"{time.strftime('%Y-%m-%d')}. Wall and CPU (driver + JVM) are medians, in seconds; "
            "26 columns of bench/generate.py's Parquet data.",
            "",
            "| case | rows | median wall s | median CPU s | runs |",
            "|---|---:|---:|---:|---:|",
            *lines,
            END,
        ]
    )
    print(table)
    if args.write:
        text = RESULTS_MD.read_text() if RESULTS_MD.exists() else ""
        pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
        text = pattern.sub(table, text) if pattern.search(text) else text.rstrip() + "\n\n" + table
        RESULTS_MD.write_text(text.rstrip() + "\n")


if __name__ == "__main__":
    main()
