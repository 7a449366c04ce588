"""The floor: read REF and CUR (or one file) completely with polars, every column decoded.

kldrift has to read its inputs too, so its time and memory are reported as multiples of this
script's. Both frames stay alive until the end, as they would in a tool that holds reference and
current at once.

    python bench/floor.py REF CUR
    python bench/floor.py CUR              # the floor of comparing a stored profile with CUR
    python bench/floor.py --count REF CUR  # the counting floor (below)

`--count` adds the least counting an exact histogram of every row takes in polars: nine edges
for every numeric column from the extremes of a 100k-row sample of the first file, then each
file counted on them in one select of comparison sums (kldrift's own counting form, the cheapest
of those measured: bench/RESULTS.md), three sums per boolean column and one group-by per string
column. No numpy, no CLI, no real fit, no scoring, no report. Its cost above the plain floor is
counting that kldrift cannot skip, so it bounds kldrift's ratios from below.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

SAMPLE_ROWS = 100_000


def read(path: Path) -> pl.DataFrame:
    """Read a .parquet/.csv file, or a directory of part files, into memory."""
    if path.is_dir():
        fmt = next(path.glob("part-*")).suffix
        source = str(path / f"*{fmt}")
    else:
        fmt, source = path.suffix, str(path)
    if fmt == ".parquet":
        return pl.read_parquet(source)
    # CSV carries no types: infer them, dates included, as a tool that is not told the schema must.
    return pl.read_csv(source, try_parse_dates=True)


def edges(frame: pl.DataFrame) -> dict[str, list[float]]:
    """Nine evenly spaced edges between the least and greatest value of every numeric column
    in every k-th row (about SAMPLE_ROWS of them): the cheapest fit there is, and counting
    costs the same whatever the edges are."""
    numeric = [n for n, t in frame.schema.items() if t.is_numeric()]
    sample = frame.select(numeric).gather_every(max(1, frame.height // SAMPLE_ROWS))
    bounds = sample.select(pl.all().min().name.suffix("#min"), pl.all().max().name.suffix("#max"))
    cuts = {}
    for name in numeric:
        low, high = bounds[f"{name}#min"][0], bounds[f"{name}#max"][0]
        if low is not None:  # a column of nulls in the sample has no edges
            low, high = float(low), float(high)
            cuts[name] = [low + (high - low) * j / 10 for j in range(1, 10)]
    return cuts


def count(frame: pl.DataFrame, bins: dict[str, list[float]]) -> list[pl.DataFrame]:
    """One select of sums (#(x <= e), nulls and NaNs; a boolean's trues, falses and nulls),
    one group-by per string column."""
    sums = [pl.len().alias("rows")]
    for name, cuts in bins.items():
        x = pl.col(name)
        sums += [(x <= e).sum().alias(f"{name}<={e}") for e in cuts]
        sums += [x.null_count().alias(f"{name}#null")]
        if frame.schema[name].is_float():
            sums += [x.is_nan().sum().alias(f"{name}#nan")]
    for name in (n for n, t in frame.schema.items() if t == pl.Boolean):
        x = pl.col(name)
        sums += [x.sum().alias(f"{name}#true"), (~x).sum().alias(f"{name}#false")]
        sums += [x.null_count().alias(f"{name}#null")]
    lazy = frame.lazy()
    strings = [n for n, t in frame.schema.items() if t == pl.String]
    queries = [lazy.select(sums), *(lazy.group_by(n).agg(pl.len()) for n in strings)]
    return pl.collect_all(queries)


def main() -> None:
    args = sys.argv[1:]
    counting = args[:1] == ["--count"]
    paths = [Path(arg) for arg in args[counting:]]
    if len(paths) not in (1, 2):
        sys.exit(f"usage: {Path(sys.argv[0]).name} [--count] [REF] CUR")
    frames = [read(path) for path in paths]
    if counting:
        bins = edges(frames[0])
        for frame in frames:
            count(frame, bins)
    for path, frame in zip(paths, frames, strict=True):
        print(f"{path}: {frame.height} rows x {frame.width} columns")


if __name__ == "__main__":
    main()
