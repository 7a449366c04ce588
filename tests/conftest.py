"""Shared fixtures: small tables written to tmp_path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from kldrift.cli import app

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"


def run_cli(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one kldrift command run in-process."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def compare_json(*args: str) -> dict[str, object]:
    """The JSON report of `kldrift compare ARGS`, which must have run (exit code 0 or 1)."""
    code, out, err = run_cli("compare", *args, "-f", "json")
    assert code in (0, 1), err
    document: dict[str, object] = json.loads(out)
    return document


def without_new_values(document: dict[str, object]) -> dict[str, object]:
    """A JSON report without the new categories it names: a profile as CURRENT counts the rows
    of values its reference never saw, but cannot name them."""
    categories = document["schema"]["categories"]  # type: ignore[index]
    for column in categories.values():
        column["largest_new"] = []
    return document


@pytest.fixture
def write_table(tmp_path: Path) -> Callable[..., Path]:
    """Write the given columns to tmp_path/name as CSV or Parquet, by the name's suffix."""

    def _write(name: str, **columns: list[object]) -> Path:
        path, frame = tmp_path / name, pl.DataFrame(columns, strict=False)
        if path.suffix == ".csv":
            frame.write_csv(path)
        else:
            frame.write_parquet(path)
        return path

    return _write


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run inside GitHub Actions must not append reports to the real step summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def forbid(monkeypatch: pytest.MonkeyPatch, *functions: str) -> None:
    """Make each of `functions` ("kldrift.drift.compare") fail the test if it is called: for
    the tests of what is refused before the work starts."""
    for path in functions:

        def no_work(*args: object, _path: str = path, **kwargs: object) -> None:
            raise AssertionError(f"{_path} ran: the run was refused only after the work")

        monkeypatch.setattr(path, no_work)
