"""Where bench/generate.py puts datasets; kept free of heavy imports so that run.py stays small."""

from __future__ import annotations

from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "data"
SIDES = ("ref", "cur")
FORMATS = ("parquet", "csv")


def dataset_path(out: Path, rows: int, fmt: str, side: str, parts: int = 1) -> Path:
    """Where one side of a dataset lives: a file, or a directory of part files if parts > 1."""
    if parts == 1:
        return out / f"rows-{rows}" / f"{side}.{fmt}"
    return out / f"rows-{rows}-parts-{parts}" / fmt / side
