"""HTML report generation time and size, against the JSON report it embeds as the floor.

The page cannot be made faster than the JSON document inside it, so each round renders both, in
turn, from the same in-memory report, and the HTML is reported as a multiple of the JSON too.
The report is sample_data's (10 columns), its columns repeated under new names up to each width:
26 columns is the issue's budget (<= 50 ms, <= 450 KB), 301 the first lean page, 1,000 the
largest the lean mode is sized for (< 4 MB).

    python bench/html_report.py [--rounds 21] [--columns 26 301 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import kldrift
from kldrift.drift import DriftReport
from kldrift.report import html
from kldrift.report import json as json_report

ROOT = Path(__file__).resolve().parent.parent


def wide(base: DriftReport, n: int) -> DriftReport:
    """`base` with its columns repeated under new names up to `n` columns."""
    columns = tuple(
        dataclasses.replace(c, name=f"{c.name}_{i}")
        for i, c in ((i, base.columns[i % len(base.columns)]) for i in range(n))
    )
    return dataclasses.replace(base, columns=columns, schema=())


def timed(render: Callable[[], str]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    render()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--columns", type=int, nargs="+", default=[26, 301, 1000])
    args = parser.parse_args()
    os.chdir(ROOT)
    base = kldrift.compare("sample_data/reference.csv", "sample_data/current.csv")
    print(f"{'columns':>8} {'bytes':>10} {'html wall ms':>13} {'html cpu ms':>12} "
          f"{'json wall ms':>13} {'ratio':>6}")  # fmt: skip
    for n in args.columns:
        report = wide(base, n)
        size = len(html.dumps(report).encode())  # also warms both paths up
        json_report.dumps(report)
        rounds: dict[str, list[tuple[float, float]]] = {"html": [], "json": []}
        for _ in range(args.rounds):
            rounds["html"].append(timed(lambda r=report: html.dumps(r)))
            rounds["json"].append(timed(lambda r=report: json_report.dumps(r)))
        ratios = [h[0] / j[0] for h, j in zip(rounds["html"], rounds["json"], strict=True)]
        wall = statistics.median(w for w, _ in rounds["html"]) * 1000
        cpu = statistics.median(c for _, c in rounds["html"]) * 1000
        floor = statistics.median(w for w, _ in rounds["json"]) * 1000
        print(
            f"{n:>8} {size:>10,} {wall:>13.1f} {cpu:>12.1f} {floor:>13.1f} "
            f"{statistics.median(ratios):>6.1f}"
        )


if __name__ == "__main__":
    main()
