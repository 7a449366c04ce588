"""The public API: what `import kldrift` offers, and what it costs to start."""

import importlib
import subprocess
import sys

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


def test_the_version_has_a_module_of_its_own_and_the_package_ships_its_types():
    package = ROOT / "kldrift"
    assert (package / "py.typed").is_file()
    sources = [p.read_text() for p in package.rglob("*.py")]
    assert not any("from kldrift import __version__" in text for text in sources)
    assert kldrift.__version__ == importlib.import_module("kldrift.__version__").__version__


def test_profiling_windows_and_monitoring_are_public():
    for name in ("profile_data", "save_profile", "load_profile", "compare_windows"):
        assert callable(getattr(kldrift, name))
    assert callable(kldrift.record_runs) and callable(kldrift.read_runs)
    assert kldrift.resolve({"bins": 5}).options.bins == 5
