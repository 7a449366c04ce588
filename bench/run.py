"""Benchmark harness: wall time, CPU time and peak RSS of whole processes, kldrift vs the floor.

Every case runs as a child process, `--repeat` times, the cases of one dataset interleaved
(floor, table, json, floor, ...); the table reports the median and minimum
wall time, the median CPU time and the largest peak RSS over the repeats. Data comes from
bench/generate.py.

    python bench/run.py --rows 1000000 10000000 --formats parquet csv --write

This script deliberately imports neither polars nor numpy: on Linux a child's peak RSS starts from
the harness's own RSS (fork, then exec), so the harness must stay small.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from layout import BASE_COLUMNS, DEFAULT_OUT, FORMATS, SIDES, dataset_path

BENCH = Path(__file__).resolve().parent
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = BENCH / "results.json"
#: RESULTS.md from this line on is written by hand and kept by --write.
NOTES = "<!-- notes: kept by run.py --write -->"
FLOOR = "floor"
COMPARE_CASES = {"table": [], "json": ["--format", "json"]}
STARTUP_CASES = {"help": ["--help"], "version": ["--version"]}
# Interpreter start plus `import polars`: what any polars tool pays before doing work, so it is
# the floor for the startup cases.
IMPORT_FLOOR = "import-polars"
# The cron path: a stored profile of REF (written once, unmeasured) against CUR, whose floor is
# reading CUR alone.
CRON, CRON_FLOOR = "cron", "floor-current"
# The counting floors (`floor.py --count`): reading plus the least counting an exact histogram
# of every column takes in polars. Shown as multiples of the plain floors, they bound from below
# what kldrift's ratios can be.
COUNT_FLOOR, CRON_COUNT_FLOOR = "floor-count", "floor-count-current"
ALL_CASES = [
    FLOOR,
    COUNT_FLOOR,
    *COMPARE_CASES,
    CRON_FLOOR,
    CRON_COUNT_FLOOR,
    CRON,
    IMPORT_FLOOR,
    *STARTUP_CASES,
]
KLDRIFT_CASES = {*COMPARE_CASES, CRON, *STARTUP_CASES}
FLOORS = {FLOOR, CRON_FLOOR, IMPORT_FLOOR}
# Exit 1 from `kldrift compare` means "drift found": a successful run for the benchmark.
COMPARE_OK = (0, 1)
# Children run as an installed tool does: with Python's bytecode cache. Without it (some sandboxes
# and CI images set PYTHONDONTWRITEBYTECODE), an editable install recompiles kldrift's modules on
# every run, ~0.05 s that no user of a pip-installed kldrift pays.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# Recorded with the results; results measured on a different setup are dropped, not mixed. The
# OS string (kernel build included) is part of it: a virtual machine's CPU name ("AMD EPYC")
# can be the same on hardware of different generations.
SETUP_KEYS = ("cpu", "cores", "memory_gib", "os", "python", "polars")


@dataclass
class Result:
    """All repeats of one case on one dataset; rows and format are "-" for startup cases."""

    case: str
    rows: str
    format: str
    walls: list[float]
    cpus: list[float]
    peak_rss_kib: list[int]
    #: When the run.py invocation that measured it started: the cases of one dataset measured in
    #: the same batch ran round-robin, so their i-th runs are pairs.
    batch: str = ""
    #: Why the case stopped early ("exited with 2", "killed after the 1800 s timeout"); its
    #: earlier runs are kept, its later rounds skipped, and the other cases go on.
    failed: str = ""
    #: The user part of `cpus`. The system part is mostly the kernel handing out fresh memory,
    #: which swings with the page cache's state (the floor allocates the most), so user CPU is
    #: the steadier ratio. Empty in results from before it was recorded.
    users: list[float] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.case, self.rows, self.format)

    def paired_ratio(self, floor: Result) -> float | None:
        """Median over rounds of this case's wall time over the floor's in the same round."""
        if (
            not self.walls
            or not self.batch
            or self.batch != floor.batch
            or len(self.walls) != len(floor.walls)
        ):
            return None
        return statistics.median(w / f for w, f in zip(self.walls, floor.walls, strict=True))


class RunError(Exception):
    """A child process failed: `reason` is one line for the table, `detail` its stderr."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Command:
    """A child process to measure and the exit codes that count as success."""

    argv: list[str]
    ok: tuple[int, ...] = (0,)
    memory_bytes: int | None = None
    #: A memory cgroup to run in: its limit caps resident memory (page cache is reclaimed).
    cgroup: Path | None = None


def measure(command: Command, timeout: float) -> tuple[float, float, float, int]:
    """Run the command once, stdout to /dev/null: wall seconds, CPU seconds (user + system),
    user CPU seconds, peak RSS in KiB."""
    preexec: Callable[[], None] | None = None
    if command.memory_bytes is not None:
        limit = command.memory_bytes

        # RLIMIT_AS caps address space, not RSS: the closest a plain process gets to "this much
        # memory" without cgroups. Allocators reserve more than they touch, and polars maps
        # whole Parquet files into the address space, so it is strict.
        def preexec() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    elif command.cgroup is not None:
        procs = command.cgroup / "cgroup.procs"

        def preexec() -> None:
            # The child joins the group before exec, so everything it allocates counts.
            procs.write_text(str(os.getpid()))

    argv = command.argv
    # A file, not a pipe: a chatty child can never block on a full pipe while we wait for it.
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=preexec, env=CHILD_ENV
        )
        # A child that runs out of memory can hang instead of dying (polars under RLIMIT_AS does).
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        # wait4 rather than child.wait(): it is the only way to get the child's own rusage.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        timer.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
        if wall >= timeout:
            raise RunError(f"killed after the {timeout:g} s timeout", shlex.join(argv))
        if child.returncode not in command.ok:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace")[-4000:]
            raise RunError(f"exited with {child.returncode}", f"{shlex.join(argv)}\n{tail}")
    # ru_maxrss is in KiB on Linux.
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_utime, usage.ru_maxrss


@dataclass(frozen=True)
class Measurement:
    """One case on one dataset; `inputs` are read into the page cache before it first runs."""

    case: str
    rows: str
    format: str
    command: Command
    inputs: tuple[Path, ...] = ()
    #: Run once, unmeasured, before the case's first run (the cron case's stored profile).
    prepare: tuple[str, ...] = ()


def rounds(group: Sequence[Measurement], times: int, timeout: float, batch: str) -> list[Result]:
    """Measure the cases of one dataset `times` times, round-robin: floor, table, json, floor, ...

    Interleaving puts every case in the same stretches of a noisy machine, so the ratios to the
    floor stay fair when the machine's speed drifts during the benchmark. A case whose run fails
    is marked failed and skipped in the later rounds; the other cases go on.
    """
    results = [Result(m.case, m.rows, m.format, [], [], [], batch) for m in group]
    for round_ in range(1, times + 1):
        for m, result in zip(group, results, strict=True):
            if result.failed:
                continue
            try:
                wall, cpu, user, rss = measure(m.command, timeout)
            except RunError as exc:
                result.failed = exc.reason
                print(f"{_label(result)} run {round_}: {exc.reason}\n{exc.detail}", file=sys.stderr)
                continue
            result.walls.append(wall)
            result.cpus.append(cpu)
            result.users.append(user)
            result.peak_rss_kib.append(rss)
            print(
                f"{_label(result)} run {round_}/{times}: {wall:7.2f} s wall {cpu:7.2f} s CPU "
                f"({user:.2f} user) {rss / 1024:8,.0f} MiB",
                file=sys.stderr,
            )
    return results


def _label(r: Result) -> str:
    return f"{r.case:>14} {r.rows:>10} {r.format:>8}"


def warm_cache(path: Path) -> None:
    """Read path once so every case starts with it in the page cache, the first one included."""
    # One small reused buffer: big reads would raise the harness's RSS and so every child's peak.
    buffer = bytearray(1 << 20)
    for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
        with file.open("rb") as handle:
            while handle.readinto(buffer):
                pass


def machine(kldrift: Sequence[str] | None) -> dict[str, str | int | float]:
    """The setup the numbers were measured on."""
    meminfo = Path("/proc/meminfo").read_text().split()
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    # Asked of a child so that the harness itself never imports polars.
    polars = subprocess.run(
        [sys.executable, "-c", "import polars; print(polars.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    info: dict[str, str | int | float] = {
        "date": datetime.date.today().isoformat(),
        "cpu": models[0] if models else platform.machine(),
        "cores": os.cpu_count() or 0,
        "memory_gib": round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "polars": polars,
    }
    if kldrift is not None:
        version = subprocess.run([*kldrift, "--version"], capture_output=True, text=True)
        info["kldrift"] = (version.stdout or version.stderr).strip() or "unknown"
    return info


TABLE_HEADER = [
    "| case | rows | format | median wall s | min wall s | median CPU s | peak RSS MiB "
    "| wall ×floor | paired ×floor | CPU ×floor | user CPU ×floor | RSS ×floor | runs |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def render(setup: dict[str, str | int | float], results: list[Result]) -> str:
    """RESULTS.md: the setup, the table, and how to read and refill it."""
    lines = [
        "# kldrift benchmark results",
        "",
        "Generated by `bench/run.py --write`; see bench/README.md for how to rerun and read this.",
        "",
        "| setup | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in setup.items()),
        "",
        *TABLE_HEADER,
        *rows(results, results),
    ]
    if not any(r.case.split()[0] in KLDRIFT_CASES for r in results):
        lines += [
            "",
            "**kldrift rows are not measured yet.** Only the floor is above; fill in kldrift by "
            "rerunning with kldrift installed (see bench/README.md):",
            "",
            "    python bench/run.py --rows 1000000 10000000 --formats parquet csv "
            "--kldrift /path/to/venv/bin/kldrift --write",
        ]
    return "\n".join(lines) + "\n"


def rows(shown: list[Result], results: list[Result]) -> list[str]:
    """Table rows of `shown`, in order, with ratios to the floors found in `results`."""
    floors = {(r.case, r.rows, r.format): r for r in results if r.case in FLOORS and r.walls}
    lines = []
    for r in sorted(shown, key=_order):
        floor = floors.get((_floor_of(r.case), r.rows, r.format))
        wall_x = paired_x = cpu_x = user_x = rss_x = "–"
        median = min_wall = cpu = peak = "–"
        if r.walls:
            wall, peak_kib = statistics.median(r.walls), max(r.peak_rss_kib)
            median, min_wall, peak = f"{wall:.3f}", f"{min(r.walls):.3f}", f"{peak_kib / 1024:,.0f}"
            cpu = f"{statistics.median(r.cpus):.3f}"
            if floor is not None and floor is not r:
                wall_x = f"{wall / statistics.median(floor.walls):.2f}"
                paired = r.paired_ratio(floor)
                paired_x = "–" if paired is None else f"{paired:.2f}"
                cpu_x = f"{statistics.median(r.cpus) / statistics.median(floor.cpus):.2f}"
                if r.users and floor.users:
                    user_x = f"{statistics.median(r.users) / statistics.median(floor.users):.2f}"
                rss_x = f"{peak_kib / max(floor.peak_rss_kib):.2f}"
        shown_rows = f"{int(r.rows):,}" if r.rows.isdigit() else r.rows
        runs = f"{len(r.walls)}, then failed: {r.failed}" if r.failed else str(len(r.walls))
        lines.append(
            f"| {r.case} | {shown_rows} | {r.format} | {median} | {min_wall} | {cpu} | {peak} "
            f"| {wall_x} | {paired_x} | {cpu_x} | {user_x} | {rss_x} | {runs} |"
        )
    return lines


def _floor_of(case: str) -> str:
    name = case.split()[0]
    if name in STARTUP_CASES:
        return IMPORT_FLOOR
    return CRON_FLOOR if name in (CRON, CRON_FLOOR, CRON_COUNT_FLOOR) else FLOOR


def _order(r: Result) -> tuple[int, str, int, str]:
    # Datasets by size (wide ones after narrow ones), startup cases last; the floor first.
    rows = int(r.rows) if r.rows.isdigit() else sys.maxsize
    return (rows, r.format, ALL_CASES.index(r.case.split()[0]), r.case)


def write(setup: dict[str, str | int | float], results: list[Result]) -> None:
    """Merge results into results.json, new replacing old, and rewrite RESULTS.md from it."""
    merged = {r.key: r for r in results}
    if RESULTS_JSON.exists():
        stored = json.loads(RESULTS_JSON.read_text())
        if all(stored["setup"].get(k) == setup[k] for k in SETUP_KEYS):
            old = (Result(**r) for r in stored["results"])
            merged = {r.key: r for r in old} | merged
            # Keep what only an earlier run knew, such as the kldrift version of its rows.
            setup = stored["setup"] | setup
        else:
            print("results.json is from another setup; dropping its results", file=sys.stderr)
    kept = list(merged.values())
    payload = {"setup": setup, "results": [asdict(r) for r in kept]}
    RESULTS_JSON.write_text(json.dumps(payload, indent=1) + "\n")
    # What people wrote below the marker (the profile of where the time goes, the load, what
    # the numbers mean) stays: only the generated part above it is rewritten.
    notes = RESULTS_MD.read_text() if RESULTS_MD.exists() else ""
    notes = notes[notes.index(NOTES) :] if NOTES in notes else ""
    RESULTS_MD.write_text(render(setup, kept) + ("\n" + notes if notes else ""))
    print(f"wrote {RESULTS_MD} and {RESULTS_JSON}", file=sys.stderr)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--cases", nargs="+", choices=ALL_CASES, default=ALL_CASES)
    parser.add_argument("--repeat", type=int, default=5, help="runs per case and dataset")
    parser.add_argument("--startup-repeat", type=int, default=10, help="runs per startup case")
    parser.add_argument("--kldrift", default="kldrift", help="command that runs kldrift")
    parser.add_argument("--data", type=Path, default=DEFAULT_OUT, help="bench/generate.py --out")
    parser.add_argument("--parts", type=int, default=1, help="bench/generate.py --parts")
    parser.add_argument(
        "--columns", type=int, default=BASE_COLUMNS, help="bench/generate.py --columns"
    )
    parser.add_argument("--streaming", action="store_true", help="pass --streaming to kldrift")
    parser.add_argument(
        "--memory-limit",
        type=float,
        metavar="GiB",
        help="run kldrift compare with its address space capped (RLIMIT_AS) at GiB",
    )
    parser.add_argument(
        "--memory-cgroup",
        type=float,
        metavar="GiB",
        help="run kldrift compare in a memory cgroup limited to GiB (needs root and cgroups)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds before a run is killed and fails"
    )
    parser.add_argument("--write", action="store_true", help="update RESULTS.md/results.json")
    return parser.parse_args()


def memory_cgroup(gib: float) -> Path:
    """A memory cgroup (v2, else v1) limited to `gib` GiB, created if needed."""
    limit = str(int(gib * 2**30))
    unified = Path("/sys/fs/cgroup")
    controllers = unified / "cgroup.controllers"
    if controllers.exists() and "memory" in controllers.read_text().split():
        group = unified / "kldrift-bench"
        group.mkdir(exist_ok=True)
        (group / "memory.max").write_text(limit)
        (group / "memory.swap.max").write_text("0")
        return group
    group = unified / "memory" / "kldrift-bench"
    if not group.parent.is_dir():
        sys.exit("--memory-cgroup: no memory cgroup controller on this machine")
    group.mkdir(exist_ok=True)
    (group / "memory.limit_in_bytes").write_text(limit)
    return group


def plan(args: argparse.Namespace, kldrift: list[str] | None) -> list[Measurement]:
    """Every (case, dataset) to measure, in order; exits if a dataset has not been generated."""
    memory = None if args.memory_limit is None else int(args.memory_limit * 2**30)
    extra = ["--streaming"] if args.streaming else []
    # The label carries the variant, so streaming or capped runs never replace plain ones.
    variant = " --streaming" if args.streaming else ""
    if memory is not None:
        variant += f" (AS {args.memory_limit:g} GiB)"
    cgroup = None if args.memory_cgroup is None else memory_cgroup(args.memory_cgroup)
    if cgroup is not None:
        variant += f" (cgroup {args.memory_cgroup:g} GiB)"

    todo: list[Measurement] = []
    for rows in args.rows:
        for fmt in args.formats:
            ref, cur = (
                dataset_path(args.data, rows, fmt, side, args.parts, args.columns) for side in SIDES
            )
            missing = [str(path) for path in (ref, cur) if not path.exists()]
            if missing:
                sys.exit(
                    f"missing {', '.join(missing)}: run bench/generate.py --rows {rows} "
                    f"--format {fmt} --parts {args.parts} --columns {args.columns} "
                    f"--out {args.data}"
                )
            label = fmt if args.columns == BASE_COLUMNS else f"{fmt}, {args.columns} columns"
            floor = [sys.executable, str(BENCH / "floor.py")]
            if FLOOR in args.cases:
                todo.append(
                    Measurement(
                        FLOOR, str(rows), label, Command([*floor, str(ref), str(cur)]), (ref, cur)
                    )
                )
            if COUNT_FLOOR in args.cases:
                command = Command([*floor, "--count", str(ref), str(cur)])
                todo.append(Measurement(COUNT_FLOOR, str(rows), label, command, (ref, cur)))
            for case, flags in COMPARE_CASES.items():
                if kldrift and case in args.cases:
                    argv = [*kldrift, "compare", str(ref), str(cur), *flags, *extra]
                    command = Command(argv, COMPARE_OK, memory, cgroup)
                    todo.append(Measurement(case + variant, str(rows), label, command, (ref, cur)))
            if CRON_FLOOR in args.cases:
                todo.append(
                    Measurement(CRON_FLOOR, str(rows), label, Command([*floor, str(cur)]), (cur,))
                )
            if CRON_COUNT_FLOOR in args.cases:
                command = Command([*floor, "--count", str(cur)])
                todo.append(Measurement(CRON_COUNT_FLOOR, str(rows), label, command, (cur,)))
            if kldrift and CRON in args.cases:
                stored = ref.with_name(ref.name + ".kldrift.json")
                argv = [*kldrift, "compare", str(stored), str(cur), "--format", "json", *extra]
                command = Command(argv, COMPARE_OK, memory, cgroup)
                make = (*kldrift, "profile", str(ref), "-o", str(stored), "--quiet")
                todo.append(Measurement(CRON + variant, str(rows), label, command, (cur,), make))
    if IMPORT_FLOOR in args.cases:
        command = Command([sys.executable, "-c", "import polars"])
        todo.append(Measurement(IMPORT_FLOOR, "-", "-", command))
    for case, flags in STARTUP_CASES.items():
        if kldrift and case in args.cases:
            todo.append(Measurement(case, "-", "-", Command([*kldrift, *flags])))
    return todo


def main() -> None:
    args = parse_args()
    # Fail loudly rather than inflate every child's peak RSS (see the module docstring).
    assert "polars" not in sys.modules, "the harness must not import polars"
    kldrift: list[str] | None = shlex.split(args.kldrift)
    if kldrift and shutil.which(kldrift[0]) is None:
        skipped = [case for case in args.cases if case in KLDRIFT_CASES]
        if skipped:
            print(
                f"{kldrift[0]!r} is not on PATH: skipping {', '.join(skipped)}; "
                "point --kldrift at an installed kldrift to measure it",
                file=sys.stderr,
            )
        kldrift = None
    # Other processes on the machine slow the runs down; record how busy it was.
    load = os.getloadavg()[0]

    setup = machine(kldrift)
    setup["load_at_start"] = round(load, 2)
    results: list[Result] = []
    batch = datetime.datetime.now().isoformat(timespec="seconds")
    # The cases of one dataset (or the startup cases) run interleaved, see rounds().
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for m in plan(args, kldrift):
        groups.setdefault((m.rows, m.format), []).append(m)
    print("\n".join(TABLE_HEADER), flush=True)
    for (rows_, _), group in groups.items():
        for m in group:
            if m.prepare:
                subprocess.run(m.prepare, check=True, env=CHILD_ENV, stdout=subprocess.DEVNULL)
        for path in sorted({path for m in group for path in m.inputs}):
            warm_cache(path)
        times = args.startup_repeat if rows_ == "-" else args.repeat
        measured = rounds(group, times, args.timeout, batch)
        results += measured
        # Each dataset's rows as soon as it is done, and on disk too: a run that is stopped
        # later keeps what it measured.
        print("\n".join(rows(measured, results)), flush=True)
        if args.write:
            write(finish(setup), results)
    failed = [r for r in results if r.failed]
    if failed:
        names = ", ".join(f"{r.case} ({r.rows} {r.format})" for r in failed)
        sys.exit(f"failed: {names}; the other cases were measured")


def finish(setup: dict[str, str | int | float]) -> dict[str, str | int | float]:
    """The setup with what is known only after measuring: the load now, the harness's peak."""
    # Children start from the harness's memory image, so no peak RSS can be below this.
    harness = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return setup | {"load_at_end": round(os.getloadavg()[0], 2), "harness_rss_mib": harness}


if __name__ == "__main__":
    main()
