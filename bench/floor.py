"""The floor: read REF and CUR (or one file) completely with polars, every column decoded.

kldrift has to read its inputs too, so its time and memory are reported as multiples of this
script's. Both frames stay alive until the end, as they would in a tool that holds reference and
current at once.

    python bench/floor.py REF CUR
    python bench/floor.py CUR        # the floor of comparing a stored profile with CUR
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl


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


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit(f"usage: {Path(sys.argv[0]).name} [REF] CUR")
    frames = [read(Path(arg)) for arg in sys.argv[1:]]
    for arg, frame in zip(sys.argv[1:], frames, strict=True):
        print(f"{arg}: {frame.height} rows x {frame.width} columns")


if __name__ == "__main__":
    main()
