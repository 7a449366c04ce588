"""The entry point's last resort and its standard streams: crashes, full or closed stdout, and
a reader that goes away, each ending with a defined exit code and at most one line."""

import importlib.metadata
import os
import subprocess
import sys

import pytest
import typer

from kldrift import guard

from .conftest import SAMPLE

REF, CUR = str(SAMPLE / "reference.csv"), str(SAMPLE / "current.csv")
KLDRIFT = [sys.executable, "-m", "kldrift"]


def _crash():
    raise RuntimeError("boom\nsecond line")


def _app(body):
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(body)
    return app


def test_an_unexpected_exception_is_one_line_and_exit_2_never_1(capsys, monkeypatch):
    monkeypatch.delenv(guard.DEBUG_ENV, raising=False)
    monkeypatch.setattr(sys, "argv", ["kldrift"])
    with pytest.raises(SystemExit) as caught:
        guard.run(_app(_crash))
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err == "kldrift: error: unexpected RuntimeError: boom second line\n"


def test_a_panic_in_polars_native_code_is_one_line_and_exit_2_never_1(capsys, monkeypatch):
    # pyo3's PanicException derives from BaseException, past `except Exception`.
    import polars as pl

    def panic():
        raise pl.exceptions.PanicException("called `Result::unwrap()` on an `Err` value")

    assert not issubclass(pl.exceptions.PanicException, Exception)
    monkeypatch.delenv(guard.DEBUG_ENV, raising=False)
    monkeypatch.setattr(sys, "argv", ["kldrift"])
    with pytest.raises(SystemExit) as caught:
        guard.run(_app(panic))
    assert caught.value.code == 2
    assert capsys.readouterr().err == (
        "kldrift: error: unexpected PanicException: called `Result::unwrap()` on an `Err` value\n"
    )


def test_kldrift_debug_adds_the_traceback(capsys, monkeypatch):
    monkeypatch.setenv(guard.DEBUG_ENV, "1")
    monkeypatch.setattr(sys, "argv", ["kldrift"])
    with pytest.raises(SystemExit) as caught:
        guard.run(_app(_crash))
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "_crash" in err
    assert err.endswith("kldrift: error: unexpected RuntimeError: boom second line\n")


@pytest.mark.parametrize("code", [0, 1, 2])
def test_the_commands_exit_codes_pass_through(monkeypatch, code):
    def command():
        raise typer.Exit(code)

    monkeypatch.setattr(sys, "argv", ["kldrift"])
    with pytest.raises(SystemExit) as caught:
        guard.run(_app(command))
    assert caught.value.code == code


def test_the_console_script_and_python_m_go_through_the_guard():
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="kldrift")
    assert script.value == "kldrift.cli:run"


@pytest.mark.slow
@pytest.mark.parametrize(("args", "code"), [([REF, CUR], 1), ([REF, REF], 0)])
def test_a_reader_that_went_away_leaves_the_verdicts_exit_code_and_no_message(args, code):
    read, write = os.pipe()
    os.close(read)  # `| head -1` that has already exited: every write gets EPIPE
    try:
        proc = subprocess.run(
            [*KLDRIFT, "compare", *args, "-f", "json"], stdout=write, capture_output=False,
            stderr=subprocess.PIPE, text=True, check=False, timeout=120,
        )  # fmt: skip
    finally:
        os.close(write)
    assert proc.returncode == code
    assert proc.stderr == ""


@pytest.mark.slow
def test_a_pipe_to_head_keeps_the_verdict():
    script = f'{" ".join(KLDRIFT)} compare {REF} {CUR} | head -c 10 >/dev/null; echo "$?"'
    shell = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert shell.stdout.strip() == "1" and shell.stderr == ""


@pytest.mark.slow
def test_a_full_stdout_is_a_one_line_error_with_exit_2():
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [*KLDRIFT, "compare", REF, CUR], stdout=full, stderr=subprocess.PIPE, text=True,
            check=False, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == "kldrift: error: cannot write to stdout: No space left on device\n"


@pytest.mark.slow
def test_a_closed_stdout_is_a_one_line_error_unless_nothing_goes_to_stdout(tmp_path):
    def closed(*args):
        return subprocess.run(
            ["sh", "-c", 'exec "$@" >&-', "sh", *KLDRIFT, *args], capture_output=False,
            stderr=subprocess.PIPE, text=True, check=False, timeout=120,
        )  # fmt: skip

    proc = closed("compare", REF, CUR)
    assert proc.returncode == 2
    assert proc.stderr == "kldrift: error: cannot write to stdout: it is closed\n"
    out = tmp_path / "r.json"
    proc = closed("compare", REF, CUR, "-f", "json", "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    assert out.read_text().startswith("{")
