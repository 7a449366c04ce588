"""How long `kldrift --help` and each command's `--help` take, paired with a bare interpreter.

The help must stay under 0.3 s (issue 13): it is what a new user runs first, and shell completion
runs the same startup on every Tab. Each round runs the floor (`python -c pass`) and every help
command once, in turn, so a busy machine slows both alike; the table gives the median wall and
CPU time of each and its ratio to the floor's.

    python bench/help_time.py [--rounds 15] [--python /path/to/venv/bin/python]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = ["", "compare", "explain", "profile", "monitor", "history"]
LIMIT = 0.3


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child) of one run of `argv`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "80"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--python", default=sys.executable, help="interpreter with kldrift")
    args = parser.parse_args()
    cases = {"floor: python -c pass": [args.python, "-c", "pass"]}
    for command in COMMANDS:
        cases[f"kldrift {command} --help".replace("  ", " ")] = [
            args.python, "-m", "kldrift", *([command] if command else []), "--help",
        ]  # fmt: skip
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, argv in cases.items():
            runs[name].append(timed(argv))
    floor = statistics.median(w for w, _ in runs["floor: python -c pass"])
    print(f"{'case':<28} {'wall s':>8} {'cpu s':>8} {'x floor':>8}")
    worst = 0.0
    for name, results in runs.items():
        wall = statistics.median(w for w, _ in results)
        cpu = statistics.median(c for _, c in results)
        if name.startswith("kldrift"):
            worst = max(worst, wall)
        print(f"{name:<28} {wall:8.3f} {cpu:8.3f} {wall / floor:8.1f}")
    verdict = "under" if worst < LIMIT else "OVER"
    print(f"slowest help: {worst:.3f} s, {verdict} the {LIMIT} s limit ({args.rounds} rounds)")
    # A loaded machine stretches wall time but not CPU time: say which it was.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    sys.exit(0 if worst < LIMIT else 1)


if __name__ == "__main__":
    main()
