"""Option values: kldrift's own coercion gives what typer's would, without importing pydantic."""

import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.main

from kldrift import clihelp
from kldrift.cli import app

from .conftest import ROOT

if clihelp.SEEDS:  # typer >= 0.29
    from typer._coercion import build_runtime_param

pytestmark = pytest.mark.skipif(
    not clihelp.SEEDS, reason="typer before 0.29 coerces through click, not pydantic"
)

#: Values every kind of option is tried with: the plain forms kldrift coerces itself and the
#: odd ones it hands to typer (spaces, underscores, a zero fraction, inf, nan, nonsense).
VALUES = [
    *("7", "-3", "+2", "0", "007", "0.25", "-1.5", ".5", "5.", "1e-3", "2E+2"),
    *(" 4", "4 ", "1_000", "3.0", "3.5", "inf", "-inf", "nan", "NaN", "", "3x", "e3", "--"),
    *("kl", "psi", "PSI", "json", "JSON", "never", "auto", "bonferroni", "any", "table", "fdr"),
    *("data.csv", "s3://bucket/x.parquet", "-", "a=b", "\u00e9t\u00e9"),
]


def _params():
    """Every parameter of every kldrift command, with the group's own."""
    group = typer.main.get_command(app)
    with typer.Context(group) as ctx:
        yield from (("kldrift", p) for p in group.get_params(ctx))
        for name, command in group.commands.items():
            with typer.Context(command, parent=ctx) as sub:
                yield from ((name, p) for p in command.get_params(sub))


def _outcome(coercion, value, param, ctx):
    try:
        return "ok", coercion.coerce(value, param=param, ctx=ctx)
    except typer.BadParameter as exc:
        return "error", exc.format_message()


def test_every_value_of_every_option_comes_out_as_typers_coercion_gives_it():
    compared = 0
    group = typer.main.get_command(app)
    for command, param in _params():
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None:
            continue
        ours = clihelp._Coercion(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
        )
        theirs = build_runtime_param(descriptor)
        multiple = param.multiple or param.nargs == -1
        with typer.Context(group) as ctx:
            for value in VALUES:
                given = (value, "7") if multiple else value
                want = _outcome(theirs, given, param, ctx)
                got = _outcome(ours, given, param, ctx)
                assert repr(got) == repr(want), (command, param.name, value)  # nan != nan
                assert type(got[1]) is type(want[1]), (command, param.name, value)
                compared += 1
    assert compared > 1000


def test_kldrift_coerces_the_plain_values_itself():
    # The equality above would hold if every value went to typer; these must not.
    info = typer.models.OptionInfo()
    for annotation, value, want in [
        (int, "7", 7),
        (int, "-3", -3),
        (float, "0.25", 0.25),
        (float, "1e-3", 0.001),
        (str, "a=b", "a=b"),
        (Path, "data.csv", Path("data.csv")),
    ]:
        got = clihelp._plain(annotation, value, info, None, None)
        assert got == want and type(got) is type(want)
    for annotation, value in [(int, "1_000"), (int, " 4"), (float, "inf"), (int, "3x")]:
        assert clihelp._plain(annotation, value, info, None, None) is clihelp._MISSING


def test_a_compare_profile_and_version_import_no_pydantic(tmp_path):
    data = ROOT / "sample_data"
    code = f"""
import sys
from kldrift import cli
runs = [
    ["profile", {str(data / "reference.csv")!r}, "-o", {str(tmp_path / "p.json")!r}, "-q"],
    ["compare", {str(data / "reference.csv")!r}, {str(data / "current.csv")!r}, "-q",
     "-f", "json", "--bins", "7", "--metric", "psi", "--threshold", "0.2", "-c", "income",
     "--columns", "country", "--no-config"],
    ["--version"],
]
for argv in runs:
    sys.argv = ["kldrift", *argv]
    try:
        cli.run()
    except SystemExit as exc:
        print(exc.code, "pydantic" in sys.modules, file=sys.stderr)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stderr.split() == ["0", "False", "1", "False", "0", "False"], proc.stderr


def test_a_bad_value_still_gets_typers_message_and_exit_code_2():
    data = ROOT / "sample_data"
    proc = subprocess.run(
        [sys.executable, "-m", "kldrift", "compare", str(data / "reference.csv"),
         str(data / "current.csv"), "--bins", "3x", "--no-config"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Invalid value for '--bins': Input should be a valid integer" in proc.stderr
    assert "Traceback" not in proc.stderr
