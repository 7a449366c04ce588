"""Where bench/generate.py puts datasets; kept free of heavy imports so that run.py stays small."""

from __future__ import annotations

from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "data"
SIDES = ("ref", "cur")
FORMATS = ("parquet", "csv")


#: Columns of a generated table unless --columns asks for a wide one.
BASE_COLUMNS = 26


def dataset_path(
    out: Path, rows: int, fmt: str, side: str, parts: int = 1, columns: int = BASE_COLUMNS
) -> Path:
    """Where one side of a dataset lives: a file, or a directory of part files if parts > 1."""
    name = f"rows-{rows}" if columns == BASE_COLUMNS else f"rows-{rows}-columns-{columns}"
    if parts == 1:
        return out / name / f"{side}.{fmt}"
    return out / f"{name}-parts-{parts}" / fmt / side
