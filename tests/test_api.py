"""The public API: what `import kldrift` offers, and the code-quality gates CI enforces."""

import inspect
import subprocess
import sys

import pytest

import kldrift

from .conftest import ROOT


def test_all_lists_every_public_name():
    public = {
        name
        for name, value in vars(kldrift).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public | {"__version__"} == set(kldrift.__all__)


def test_compare_accepts_paths_and_returns_a_polars_table():
    report = kldrift.compare(
        ROOT / "sample_data" / "reference.parquet", ROOT / "sample_data" / "current.parquet"
    )
    assert report.table.height == 10
    assert {c.name for c in report.drifted_columns} == {"income", "country", "latency_ms"}


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["mypy", "kldrift"],
    ],
)
def test_code_quality_gate(command):
    # Run with this interpreter, so the tools come from the test extra this suite installed.
    proc = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

