"""Where one `kldrift compare` spends its CPU, step by step (the "Where the time goes" table).

    python bench/phases.py [--repeat N] -- REF CUR [kldrift compare options]

Runs `kldrift compare REF CUR ...` N times (default 5), each in a fresh process, with
`time.process_time()` (every thread's CPU) around the imports and kldrift's steps: reading into
memory (`profile.load`), the fit, counting the reference's numeric columns and the current, the
event-time/ID ranges, and scoring (`drift.assemble`). Prints each run and the medians. A timed
step called by another is counted in the outer one only (`profile.count`, the reference's count,
calls `profile.count_naming_new`, the current's). The report itself is discarded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CHILD = "KLDRIFT_PHASES_CHILD"


def child(argv: list[str]) -> None:
    """One compare in this process; prints its step times as one JSON object."""
    import contextlib
    import gc
    import io

    t0 = time.process_time()
    import polars  # noqa: F401

    t1 = time.process_time()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as kldrift's entry point does
    import numpy  # noqa: F401

    t2 = time.process_time()
    from kldrift import cli, drift, profile

    t3 = time.process_time()
    spent = {"import polars": t1 - t0, "import numpy": t2 - t1, "import kldrift": t3 - t2}
    running: list[str] = []  # the timed steps under way, outermost first

    def timed(module: object, name: str, label: str) -> None:
        work = getattr(module, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            if running:  # inside another timed step, which counts it
                return work(*args, **kwargs)
            running.append(label)
            start = time.process_time()
            try:
                return work(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - start
                running.pop()

        setattr(module, name, wrapper)

    timed(profile, "load", "read")
    timed(profile, "fit", "fit")
    timed(profile, "count", "count reference")
    timed(profile, "count_naming_new", "count current")
    timed(profile, "value_ranges", "ranges")
    timed(drift, "assemble", "score")
    sys.argv = ["kldrift", "compare", *argv]
    gc.set_threshold(*cli.GC_THRESHOLDS)
    start = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        cli.app()
    spent["compare"] = time.process_time() - start
    print(json.dumps(spent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("compare", nargs=argparse.REMAINDER, help="-- REF CUR [options]")
    args = parser.parse_args()
    argv = args.compare[1:] if args.compare[:1] == ["--"] else args.compare
    if len(argv) < 2:
        parser.error("give REF and CUR after --")
    env = {**os.environ, CHILD: "1"}
    runs: list[dict[str, float]] = []
    for i in range(args.repeat):
        out = subprocess.run(
            [sys.executable, __file__, *argv], env=env, capture_output=True, text=True, check=True
        )
        runs.append(json.loads(out.stdout.splitlines()[-1]))
        print(f"run {i + 1}: " + "  ".join(f"{k} {v:.3f}" for k, v in runs[-1].items()))
    steps = list(runs[0])
    print("median: " + "  ".join(f"{k} {statistics.median(r[k] for r in runs):.3f}" for k in steps))


if __name__ == "__main__":
    if os.environ.get(CHILD):
        child(sys.argv[1:])
    else:
        main()
