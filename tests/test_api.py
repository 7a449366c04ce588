"""The public API: what `import kldrift` offers, and what it costs to start."""

import ast
import importlib
import json
import os
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


def test_the_command_line_starts_numpy_with_one_blas_thread_unless_told_otherwise():
    # OpenBLAS's threads spin at numpy's import (~0.1 s of CPU on 2 cores) for work kldrift
    # never does; the library, imported by someone else's program, leaves the setting alone.
    code = (
        "import os, sys, kldrift, kldrift.cli; sys.argv = ['kldrift', '--version']\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'))\n"
        "try:\n    kldrift.cli.run()\nexcept SystemExit:\n    pass\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    version = ["kldrift", kldrift.__version__]
    for given, before, after in [(None, "None", "1"), ("3", "3", "3")]:
        run_env = env if given is None else {**env, "OPENBLAS_NUM_THREADS": given}
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=run_env
        )
        assert proc.stdout.split() == [before, *version, after]


def test_the_command_line_collects_garbage_less_often_and_the_library_leaves_it_alone():
    # Each full collection walks every object of the imported modules (20-35 ms on data-cold
    # caches); a run makes little garbage, so the command line collects it less often.
    code = (
        "import gc, sys, kldrift, kldrift.cli; sys.argv = ['kldrift', '--version']\n"
        "print(*gc.get_threshold(), sep=',')\n"
        "try:\n    kldrift.cli.run()\nexcept SystemExit:\n    pass\n"
        "print(*gc.get_threshold(), sep=',')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    from kldrift.cli import GC_THRESHOLDS

    before, _, _, after = proc.stdout.split()
    assert before == "700,10,10"
    assert tuple(map(int, after.split(","))) == GC_THRESHOLDS == (100_000, 20, 10)


@pytest.mark.parametrize("command_line", [True, False], ids=["command line", "library"])
def test_the_command_line_leaves_its_objects_to_the_process_exit(tmp_path, command_line):
    # The command line freezes what is left once its exit handlers have run, so that the
    # interpreter's last collections do not walk it; a program importing kldrift is left alone.
    # A report written by the run is whole either way.
    out = tmp_path / "report.json"
    args = ["kldrift", "compare", str(ROOT / "sample_data" / "reference.csv")]
    args += [str(ROOT / "sample_data" / "current.csv"), "-f", "json", "-o", str(out)]
    code = (
        "import atexit, gc, os, sys, kldrift, kldrift.cli\n"
        "atexit.register(lambda: os.write(1, str(gc.get_freeze_count() > 0).encode()))\n"
        f"sys.argv = {args!r}\n" + ("kldrift.cli.run()" if command_line else "sys.exit(0)")
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout == str(command_line)
    assert proc.returncode == (1 if command_line else 0), proc.stderr
    if command_line:
        assert json.loads(out.read_text())["summary"]["columns_drifted"] == 3


def test_compare_accepts_paths_and_returns_a_polars_table():
    report = kldrift.compare(
        ROOT / "sample_data" / "reference.parquet", ROOT / "sample_data" / "current.parquet"
    )
    assert report.table.height == 12
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


#: The layers data flows through, lowest first: a module imports only from its layer or below
#: (imports for type checking only are exempt).
LAYERS = [
    {"__version__", "errors", "registry", "jsonvalues", "files", "retry", "steps"},
    {"options", "remote"},
    {"io"},
    {"spec", "metrics", "significance", "joint"},
    {"profile", "sequence"},
    {"profile_file"},
    {"gate", "result"},
    {"plan", "pairs"},
    {"reference", "spark"},
    {"drift"},
    {"windows"},
    {"historydb", "alerts", "configfile"},
    {"report"},
    {"clihelp"},
    {"cli", "guard"},
    {"__main__"},
]


def _imports(path):
    tree = ast.parse(path.read_text())
    skipped = {
        id(node)
        for guard in ast.walk(tree)
        if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
        for node in ast.walk(guard)
    }
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kldrift"):
            parts = node.module.split(".")
            if len(parts) == 1:
                yield from (alias.name for alias in node.names)
            else:
                yield parts[1]
        elif isinstance(node, ast.Import):
            yield from (a.name.split(".")[1] for a in node.names if a.name.startswith("kldrift."))


def test_modules_import_only_along_the_flow():
    layer = {name: i for i, names in enumerate(LAYERS) for name in names}
    for path in (ROOT / "kldrift").rglob("*.py"):
        if path.name == "__init__.py" and path.parent.name == "kldrift":
            continue
        module = "report" if path.parent.name == "report" else path.stem
        for imported in _imports(path):
            assert layer[imported] <= layer[module], f"{path.name} imports {imported}"


def test_every_json_writer_uses_the_one_strict_dump():
    for path in (ROOT / "kldrift").rglob("*.py"):
        if path.name != "jsonvalues.py":
            assert "json.dumps(" not in path.read_text(), path
