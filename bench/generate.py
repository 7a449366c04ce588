"""Generate a reference/current pair of synthetic tables for benchmarking kldrift.

Each side has 26 columns (16 float, 4 integer, 4 string, 1 boolean, 1 datetime); the columns in
DRIFTED differ in distribution between the sides. Rows are generated in chunks of CHUNK_ROWS with
numpy and appended to the output, so memory stays flat however many rows are asked for. Every
finished file gets a JSON sidecar with its parameters, and a rerun with the same parameters skips
it.

    python bench/generate.py --rows 1000000 10000000 --format both

`--columns N` makes a wide table instead: the 26 columns repeated in blocks (block b's columns
suffixed `_b<b>`, each a random permutation of block 0's) and cut at N, so a wide table has the
same mix of types and drift as the narrow one:

    python bench/generate.py --rows 100000 --columns 5000 --format both
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from layout import BASE_COLUMNS, DEFAULT_OUT, FORMATS, SIDES, dataset_path
from numpy.typing import NDArray

# Bump when the generated data changes, so that stale files are regenerated instead of skipped.
GENERATOR_VERSION = 1
SEED = 20240601
# 1M rows x 26 columns is ~250 MiB as numpy arrays plus the polars frame: big enough for polars to
# write efficiently, small enough that the generator stays far below its memory budget.
CHUNK_ROWS = 1_000_000
NULL_RATE = 0.01
EPOCH_2024_S = int(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp())
DAY_S = 86_400

FloatArray = NDArray[np.float64]

#: Columns whose distribution differs between ref and cur, and how.
DRIFTED = {
    "f_normal": "mean shift of 0.25 sd",
    "f_lognormal": "scale change: log-sd 1.0 -> 1.3",
    "f_uniform": "null rate 1% -> 10%",
    "f_spiky": "share of exact zeros 95% -> 88%",
    "i_count": "Poisson mean 3.0 -> 3.6",
    "s_cat5": "category shares change: the two most frequent swap",
    "s_cat50": "new category 'c50_new' takes 5% of rows",
    "b_flag": "share of true 30% -> 38%",
    "dt_event": "dates shift by 30 days",
}


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _zipf(categories: int, exponent: float = 1.1) -> FloatArray:
    weights: FloatArray = 1.0 / np.arange(1, categories + 1, dtype=np.float64) ** exponent
    weights /= weights.sum()
    return weights


def _categorical(
    rng: np.random.Generator, name: str, vocab: list[str], probs: FloatArray, n: int
) -> pl.Series:
    # Sampling codes and gathering from a small Series is much faster than building Python strings.
    codes = rng.choice(len(vocab), size=n, p=probs)
    return pl.Series(name, vocab).gather(codes)


def _floats(rng: np.random.Generator, name: str, values: FloatArray, null_rate: float) -> pl.Series:
    values[rng.random(values.size) < null_rate] = np.nan
    return pl.Series(name, values, nan_to_null=True)


def _chunk(rng: np.random.Generator, n: int, first_row: int, current: bool) -> pl.DataFrame:
    """One chunk of n rows; `current` switches on the drift listed in DRIFTED."""
    spiky = np.where(rng.random(n) < (0.88 if current else 0.95), 0.0, rng.exponential(10.0, n))
    bimodal = np.where(rng.random(n) < 0.6, rng.normal(-2.0, 0.5, n), rng.normal(3.0, 1.0, n))
    floats = {
        "f_normal": rng.normal(0.25 if current else 0.0, 1.0, n),
        "f_normal_wide": rng.normal(1000.0, 250.0, n),
        "f_lognormal": rng.lognormal(3.0, 1.3 if current else 1.0, n),
        "f_uniform": rng.uniform(0.0, 1.0, n),
        "f_exponential": rng.exponential(2.0, n),
        "f_bimodal": bimodal,
        "f_student_t": rng.standard_t(3, n),
        "f_spiky": spiky,
        "f_gamma": rng.gamma(2.0, 2.0, n),
        "f_beta": rng.beta(2.0, 5.0, n),
        "f_pareto": (rng.pareto(2.5, n) + 1.0) * 10.0,
        "f_laplace": rng.laplace(0.0, 1.0, n),
        "f_logistic": rng.logistic(50.0, 5.0, n),
        "f_weibull": rng.weibull(1.5, n) * 10.0,
        # Prices have two decimals, so the column has many repeated values.
        "f_price": np.round(rng.lognormal(4.0, 0.6, n), 2),
        # A sensor reading with a tiny spread: bin edges must cope with a narrow range.
        "f_sensor": rng.normal(20.0, 0.001, n),
    }
    columns = [
        _floats(rng, name, values, 0.10 if current and name == "f_uniform" else NULL_RATE)
        for name, values in floats.items()
    ]

    cat5 = _zipf(5)
    if current:
        cat5[[0, 1]] = cat5[[1, 0]]
    vocab50 = [f"c50_{k:02d}" for k in range(50)]
    cat50 = _zipf(50)
    if current:
        vocab50.append("c50_new")
        cat50 = np.append(cat50 * 0.95, 0.05)

    # The current side's ids continue after the reference's, as a growing table's would.
    row_ids = np.arange(first_row, first_row + n, dtype=np.int64)
    seconds = EPOCH_2024_S + rng.integers(0, 365 * DAY_S, n) + (30 * DAY_S if current else 0)
    columns += [
        pl.Series("i_row_id", row_ids),
        pl.Series("i_count", rng.poisson(3.6 if current else 3.0, n)),
        pl.Series("i_dice", rng.integers(1, 7, n)),
        pl.Series("i_age", np.clip(rng.normal(40.0, 12.0, n), 18, 90).astype(np.int64)),
        _categorical(rng, "s_cat5", [f"c5_{k}" for k in range(5)], cat5, n),
        _categorical(rng, "s_cat50", vocab50, cat50, n),
        _categorical(rng, "s_cat1k", [f"c1k_{k:03d}" for k in range(1_000)], _zipf(1_000), n),
        _categorical(rng, "s_cat10k", [f"c10k_{k:04d}" for k in range(10_000)], _zipf(10_000), n),
        pl.Series("b_flag", rng.random(n) < (0.38 if current else 0.30)),
        pl.Series("dt_event", seconds * 1_000_000).cast(pl.Datetime("us")),
    ]
    return pl.DataFrame(columns)


def _chunks(
    rows: int, side: str, part: int, first_row: int, columns: int
) -> Iterator[pl.DataFrame]:
    current = side == "cur"
    # A wide table is made in fewer rows at a time, so a chunk stays under ~1 GiB (and a
    # Parquet row group at 25,000 rows or more) however wide.
    chunk_rows = max(25_000, CHUNK_ROWS * BASE_COLUMNS // max(columns, BASE_COLUMNS))
    for index, start in enumerate(range(0, rows, chunk_rows)):
        n = min(chunk_rows, rows - start)
        # One independent stream per (side, part, chunk) keeps the data fixed for given parameters.
        rng = np.random.default_rng([SEED, SIDES.index(side), part, index])
        if columns == BASE_COLUMNS:
            yield _chunk(rng, n, first_row + start, current)
            continue
        # Further blocks are the first one's columns, each shuffled on its own (a permutation
        # keeps the distribution and the drift): drawing every block anew would take minutes.
        first = _chunk(rng, n, first_row + start, current)
        blocks = [first.rename(lambda name: f"{name}_b0")]
        for block in range(1, -(-columns // BASE_COLUMNS)):
            shuffle = np.random.default_rng([SEED, SIDES.index(side), part, index, block])
            blocks.append(
                pl.DataFrame(
                    {f"{c.name}_b{block}": c.gather(shuffle.permutation(n)) for c in first}
                )
            )
        yield pl.concat(blocks, how="horizontal").select(pl.nth(range(columns)))


class _Sink(Protocol):
    def write(self, frame: pl.DataFrame) -> None: ...

    def close(self) -> None: ...


class _ParquetSink:
    """Appends each chunk as a row group, so a file of any size is written in constant memory."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._writer: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self._writer is None:
            # zstd is what polars' own write_parquet uses, so files look like users' files.
            self._writer = pq.ParquetWriter(self._path, table.schema, compression="zstd")
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class _CsvSink:
    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")
        self._header = True

    def write(self, frame: pl.DataFrame) -> None:
        frame.write_csv(self._file, include_header=self._header)
        self._header = False

    def close(self) -> None:
        self._file.close()


def _open_sink(fmt: str, path: Path) -> _Sink:
    return _ParquetSink(path) if fmt == "parquet" else _CsvSink(path)


def _is_current(path: Path, params: dict[str, object]) -> bool:
    sidecar = _sidecar(path)
    return (
        path.exists() and sidecar.exists() and json.loads(sidecar.read_text())["params"] == params
    )


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _size(path: Path) -> int:
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(f.stat().st_size for f in files if f.is_file())


def _params(rows: int, side: str, fmt: str, parts: int, columns: int) -> dict[str, object]:
    wide = {} if columns == BASE_COLUMNS else {"columns": columns}
    return wide | {
        "generator_version": GENERATOR_VERSION,
        "seed": SEED,
        "chunk_rows": CHUNK_ROWS,
        "rows": rows,
        "side": side,
        "format": fmt,
        "parts": parts,
    }


def generate_side(
    out: Path, rows: int, side: str, formats: list[str], parts: int, columns: int
) -> None:
    """Write one side in every requested format whose file is missing or stale."""
    targets: dict[str, Path] = {}
    for fmt in formats:
        path = dataset_path(out, rows, fmt, side, parts, columns)
        if _is_current(path, _params(rows, side, fmt, parts, columns)):
            print(f"skip  {path} (exists with the same parameters)")
            continue
        targets[fmt] = path

    if not targets:
        return
    started = time.perf_counter()
    # Write to staging names and rename at the end: an interrupted run never leaves a file that
    # looks finished.
    staging = {fmt: path.with_name(path.name + ".partial") for fmt, path in targets.items()}
    for stage in staging.values():
        _remove(stage)
        stage.parent.mkdir(parents=True, exist_ok=True)
        if parts > 1:
            stage.mkdir()

    for part in range(parts):
        first_row = part * rows // parts + (rows if side == "cur" else 0)
        part_rows = (part + 1) * rows // parts - part * rows // parts
        # Every chunk is generated once and written to all formats, which halves the cost of "both".
        sinks = [
            _open_sink(fmt, stage / f"part-{part:04d}.{fmt}" if parts > 1 else stage)
            for fmt, stage in staging.items()
        ]
        for frame in _chunks(part_rows, side, part, first_row, columns):
            for sink in sinks:
                sink.write(frame)
        for sink in sinks:
            sink.close()

    seconds = time.perf_counter() - started
    for fmt, path in targets.items():
        _remove(path)
        staging[fmt].rename(path)
        size = _size(path)
        record = {
            "params": _params(rows, side, fmt, parts, columns),
            "bytes": size,
            "generation_seconds": round(seconds, 2),  # for all formats written in this pass
        }
        _sidecar(path).write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {path}: {size / 2**20:,.0f} MiB")
    print(f"      {side} {rows:,} rows, {'+'.join(targets)}: {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000], help="rows per side")
    parser.add_argument("--format", choices=[*FORMATS, "both"], default="parquet")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--parts", type=int, default=1, help="split each side into N part files")
    parser.add_argument(
        "--columns", type=int, default=BASE_COLUMNS, help="columns per side (a wide table)"
    )
    args = parser.parse_args()
    formats = list(FORMATS) if args.format == "both" else [args.format]

    for rows in args.rows:
        for side in SIDES:
            generate_side(args.out, rows, side, formats, args.parts, args.columns)
    # ru_maxrss is in KiB on Linux.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"generator peak RSS: {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
