"""The public API: what `import kldrift` offers, and the code-quality gates CI enforces."""

import subprocess
import sys

import pytest

import kldrift

from .conftest import ROOT


def test_all_lists_every_public_name_and_each_resolves():
    # Public names load lazily: each one in __all__ must resolve, and none may be missing.
    assert set(kldrift.__all__) == set(kldrift._EXPORTS) | {"__version__"}
    for name in kldrift.__all__:
        assert getattr(kldrift, name) is not None


def test_help_and_version_start_without_polars():
    # Startup speed: nothing heavy may be imported before a command actually runs.
    code = "import sys, kldrift.cli; print('polars' in sys.modules, 'numpy' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["False", "False"]


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
