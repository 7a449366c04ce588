"""Settings: the config file's keys, discovery, and flag > config > default precedence."""

import json
import math
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import kldrift
from kldrift import configfile as settings
from kldrift.cli import app
from kldrift.errors import ConfigError
from kldrift.options import FailOn, Format, Kind
from kldrift.spec import ColumnSettings, ConfigFile, resolve

from .conftest import SAMPLE

runner = CliRunner()
#: Filled by the `pair` fixture: small data, so the many CLI runs here stay fast.
PAIR: dict[str, str] = {}

EVERY_KEY = """
threshold = 0.2
warn = 0.1
bins = 5
top_k = 3
smoothing = 0
base = 2
columns = ["income", "score", "country", "plan"]
exclude = ["plan"]
categorical = ["plan"]
fail_on = "warn"
max_drifted = 2
max_drifted_share = 0.5
format = "json"
step_summary = false

[column.score]
threshold = 0.000001

[column.country]
kind = "categorical"
"""


@pytest.fixture(scope="module", autouse=True)
def pair(tmp_path_factory):
    """200 rows; income, country and plan drift, score moves a little (KL about 0.004 nats)."""
    folder = tmp_path_factory.mktemp("pair")
    n = 200
    reference = pl.DataFrame(
        {
            "income": [float(i) for i in range(n)],
            "score": [float(i % 10) for i in range(n)],
            "country": [["DE", "FR", "US", "JP"][i % 4] for i in range(n)],
            "plan": [["free", "pro"][i % 2] for i in range(n)],
        }
    )
    current = reference.with_columns(
        pl.col("income") + 100,
        pl.when(pl.int_range(n) < 10).then(0.0).otherwise(pl.col("score")).alias("score"),
        pl.when(pl.int_range(n) < 120)
        .then(pl.lit("DE"))
        .otherwise(pl.col("country"))
        .alias("country"),
        pl.when(pl.int_range(n) < 150).then(pl.lit("free")).otherwise(pl.col("plan")).alias("plan"),
    )
    for name, frame in [("reference", reference), ("current", current)]:
        PAIR[name] = str(folder / f"{name}.csv")
        frame.write_csv(PAIR[name])


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty repository root as the working directory."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _compare(*args):
    return runner.invoke(app, ["compare", PAIR["reference"], PAIR["current"], *args])


def test_the_pair_drifts_as_the_tests_assume():
    report = kldrift.compare(PAIR["reference"], PAIR["current"])
    assert {c.name for c in report.drifted_columns} == {"income", "country", "plan"}
    assert [c.status.value for c in report.columns if c.name == "score"] == ["ok"]


def _json(result):
    return json.loads(result.stdout)


def test_every_key_is_read_into_typed_settings(tmp_path):
    path = tmp_path / "kldrift.toml"
    path.write_text(EVERY_KEY)
    loaded = settings.load(path)
    assert loaded == ConfigFile(
        values={
            "threshold": 0.2,
            "warn": 0.1,
            "bins": 5,
            "top_k": 3,
            "smoothing": 0.0,
            "base": 2.0,
            "columns": ("income", "score", "country", "plan"),
            "exclude": ("plan",),
            "categorical": ("plan",),
            "fail_on": FailOn.warn,
            "max_drifted": 2,
            "max_drifted_share": 0.5,
            "format": Format.json,
            "step_summary": False,
        },
        column={
            "score": ColumnSettings(threshold=1e-6),
            "country": ColumnSettings(kind=Kind.categorical),
        },
        source=str(path),
    )
    spec = resolve(file=loaded)
    assert spec.options.categorical == ("plan", "country")
    assert spec.thresholds.for_column("score") == pytest.approx((5e-7, 1e-6))
    assert spec.source("bins") == str(path)


def test_the_documented_example_config_is_valid():
    # README's Configuration section shows this file; it must load as written.
    readme = (SAMPLE.parent / "README.md").read_text()
    block = readme.split("```toml\n# kldrift.toml\n", 1)[1].split("```", 1)[0]
    loaded = settings.parse(settings.tomllib.loads(block), "README.md")
    assert "threshold" in loaded.values and loaded.column
    # The format comment names every format, and html among those monitor and windows write.
    comment = block.split('format = "table"', 1)[1].split("\nstep_summary", 1)[0]
    from kldrift.options import Format

    assert all(f'"{f.value}"' in comment for f in Format)
    assert "table, json or html" in " ".join(comment.split())


def test_the_config_reaches_the_report(project):
    (project / "kldrift.toml").write_text(EVERY_KEY)
    result = _compare()
    doc = _json(result)  # format = "json" came from the file
    # fail_on = "warn": 3 columns fail; max_drifted_share 0.5 of 3 allows 1, stricter than 2.
    assert result.exit_code == 1, result.stderr
    assert doc["options"]["bins"] == 5 and doc["options"]["unit"] == "bits"
    assert {c["name"] for c in doc["columns"]} == {"income", "score", "country"}
    columns = {c["name"]: c for c in doc["columns"]}
    assert columns["score"]["threshold"] == 1e-6
    assert columns["country"]["kind"] == "categorical"
    assert doc["summary"]["gate"]["rule"] == "max_drifted_share"
    assert doc["summary"]["gate"]["allowed"] == 1
    assert doc["thresholds"]["drift"] == 0.2


@pytest.mark.parametrize(
    ("config", "flags", "check"),
    [
        # (config file, flags, what the JSON must show): none, config only, flag over config.
        ("", [], lambda d: d["options"]["bins"] == 10),
        ("bins = 5", [], lambda d: d["options"]["bins"] == 5),
        ("bins = 5", ["--bins", "7"], lambda d: d["options"]["bins"] == 7),
        ("", [], lambda d: d["thresholds"]["drift"] == 0.005),
        ("threshold = 0.3", [], lambda d: d["thresholds"]["drift"] == 0.3),
        ("threshold = 0.3", ["--threshold", "0.4"], lambda d: d["thresholds"]["drift"] == 0.4),
        ("base = 2", [], lambda d: d["options"]["unit"] == "bits"),
        ("base = 2", ["--base", "10"], lambda d: d["options"]["unit"] == "hartleys"),
        ("fail_on = 'never'", [], lambda d: d["summary"]["gate"]["fail_on"] == "never"),
        (
            "fail_on = 'never'",
            ["--fail-on", "warn"],
            lambda d: d["summary"]["gate"]["fail_on"] == "warn",
        ),
        (
            "[column.income]\nthreshold = 5",
            [],
            lambda d: d["thresholds"]["columns"] == {"income": 5.0},
        ),
        (
            "[column.income]\nthreshold = 5",
            ["--column-threshold", "income=6", "--column-threshold", "score=7"],
            lambda d: d["thresholds"]["columns"] == {"income": 6.0, "score": 7.0},
        ),
        (
            "exclude = ['income']",
            [],
            lambda d: "income" not in {c["name"] for c in d["columns"]},
        ),
        (
            "exclude = ['income']",
            ["--exclude", "score"],  # a list flag replaces the config's list
            lambda d: (
                {c["name"] for c in d["columns"]} >= {"income"} - {"score"}
                and "income" in {c["name"] for c in d["columns"]}
            ),
        ),
    ],
)
def test_flag_beats_config_beats_default(project, config, flags, check):
    (project / "kldrift.toml").write_text(config)
    result = _compare("-f", "json", *flags)
    assert result.exit_code in (0, 1), result.stderr
    assert check(_json(result))


def test_config_gate_decides_the_exit_code_and_a_flag_overrides_it(project):
    (project / "kldrift.toml").write_text("fail_on = 'never'\n")
    assert _compare("-f", "json").exit_code == 0
    assert _compare("-f", "json", "--fail-on", "drift").exit_code == 1
    (project / "kldrift.toml").write_text("max_drifted = 3\n")
    assert _compare("-f", "json").exit_code == 0
    assert _compare("-f", "json", "--max-drifted", "2").exit_code == 1


def test_pyproject_tool_table_is_found_from_a_subdirectory(project, monkeypatch):
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n[tool.kldrift]\nbins = 4\n")
    (project / "data" / "daily").mkdir(parents=True)
    monkeypatch.chdir(project / "data" / "daily")
    assert settings.find(Path.cwd()) == project / "pyproject.toml"
    assert _json(_compare("-f", "json"))["options"]["bins"] == 4


def test_kldrift_toml_wins_over_pyproject_in_the_same_directory(project):
    (project / "pyproject.toml").write_text("[tool.kldrift]\nbins = 4\n")
    (project / "kldrift.toml").write_text("bins = 6\n")
    assert _json(_compare("-f", "json"))["options"]["bins"] == 6


def test_a_pyproject_without_the_table_is_skipped(project, monkeypatch):
    (project / "kldrift.toml").write_text("bins = 6\n")
    (project / "sub").mkdir()
    (project / "sub" / "pyproject.toml").write_text("[project]\nname = 'sub'\n")
    monkeypatch.chdir(project / "sub")
    assert settings.find(Path.cwd()) == project / "kldrift.toml"


def test_the_search_stops_at_the_repository_root(tmp_path, monkeypatch):
    (tmp_path / "kldrift.toml").write_text("bins = 6\n")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo")
    assert settings.find(Path.cwd()) is None
    assert settings.load() == ConfigFile()


def test_explicit_config_path_is_used_instead_of_discovery(project):
    (project / "kldrift.toml").write_text("bins = 6\n")
    (project / "ci.toml").write_text("bins = 3\n")
    assert _json(_compare("-f", "json", "--config", "ci.toml"))["options"]["bins"] == 3


def test_base_accepts_e_by_name(tmp_path):
    path = tmp_path / "kldrift.toml"
    path.write_text('base = "e"\n')
    assert settings.load(path).values["base"] == math.e


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bins = 5\nbinz = 3\n", "kldrift.toml: binz: unknown key; did you mean 'bins'?"),
        ("bins = 'ten'\n", "kldrift.toml: bins: expected an integer, got 'ten' (str)"),
        ("bins = 5.5\n", "kldrift.toml: bins: expected an integer, got 5.5 (float)"),
        ("threshold = true\n", "kldrift.toml: threshold: expected a number, got True (bool)"),
        ("exclude = 'income'\n", "kldrift.toml: exclude: expected a list of column names"),
        ("[columns.income]\nthreshold = 1\n", "per-column settings go in [column.NAME]"),
        ("fail_on = 'sometimes'\n", 'kldrift.toml: fail_on: expected one of "drift", "warn"'),
        ("format = 'yaml'\n", "kldrift.toml: format: expected one of"),
        ("step_summary = 'no'\n", "kldrift.toml: step_summary: expected true or false"),
        ("[column.income]\nkind = 'text'\n", 'column.income.kind: expected "categorical" or'),
        ("[column.income]\nthreshhold = 1\n", "kldrift.toml: column.income.threshhold: unknown"),
        ("[column.income]\nthreshold = -1\n", "column.income.threshold: must be a finite number"),
        ("bins = 0\n", "kldrift.toml: bins: must be from 1 to 10000, got 0"),
        ("warn = -1\n", "kldrift.toml: warn: must be a finite number > 0, got -1"),
        ("max_drifted_share = 2\n", "kldrift.toml: max_drifted_share: must be between 0 and 1"),
        (
            "threshold = 0.1\nwarn = 0.2\n",
            "kldrift.toml: warn: must not be above threshold (0.1), got 0.2",
        ),
        ("bins = \n", "kldrift.toml: invalid TOML"),
        ("exclude = ['nope']\n", "kldrift.toml: exclude: no column 'nope' in"),
        ("columns = ['income', 'incme']\n", "kldrift.toml: columns: no column 'incme' in"),
        ("categorical = ['nope']\n", "kldrift.toml: categorical: no column 'nope'"),
        ("[column.incme]\nthreshold = 0.2\n", "kldrift.toml: column.incme: no column 'incme'"),
        ('[column."in come"]\nkind = "categorical"\n', 'kldrift.toml: column."in come": no'),
        # Quoted as written: it was column."in come" (the line end made a space) and "a"b".
        ('[column."in\\ncome"]\nkind = "categorical"\n', 'kldrift.toml: column."in\\ncome": no'),
        ('[column."a\\"b"]\nkind = "categorical"\n', 'kldrift.toml: column."a\\"b": no'),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key_with_exit_2(project, text, message):
    (project / "kldrift.toml").write_text(text)
    result = _compare("-f", "json")
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_pyproject_keys_are_named_with_their_table(project):
    (project / "pyproject.toml").write_text("[tool.kldrift]\nbins = 'x'\n")
    result = _compare()
    assert result.exit_code == 2
    assert "pyproject.toml: tool.kldrift.bins: expected an integer" in result.stderr


def test_a_flag_naming_an_unknown_column_is_still_blamed_on_the_flag(project):
    (project / "kldrift.toml").write_text("exclude = ['income']\n")
    result = _compare("--columns", "nope")
    assert result.exit_code == 2
    assert "--columns: no column 'nope'" in result.stderr
    assert "kldrift.toml" not in result.stderr


def test_a_flag_can_replace_a_config_list_naming_an_unknown_column(project):
    # The flag replaces the list, so the config's unknown name is never used.
    (project / "kldrift.toml").write_text("exclude = ['nope']\n")
    assert _compare("--exclude", "income", "-f", "json").exit_code == 1


def test_flag_and_config_values_that_conflict_name_the_config(project):
    # Below the default drift level (0.005), so the file alone is valid; the flag makes it not.
    (project / "kldrift.toml").write_text("warn = 0.004\n")
    result = _compare("--threshold", "0.003")
    assert result.exit_code == 2
    assert "kldrift.toml: warn: must not be above threshold (0.003), got 0.004" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "missing.toml"], "missing.toml: no such file"),
        (["--config", "pyproject.toml"], "pyproject.toml: no [tool.kldrift] table"),
    ],
)
def test_bad_config_path_exits_2(project, args, message):
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    result = _compare(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_config_path_named_like_a_directory_is_not_read_as_the_file(project):
    (project / "kldrift.toml").write_text("bins = 5\n")
    result = _compare("--config", "kldrift.toml/")
    assert result.exit_code == 2
    assert result.stderr == "kldrift: error: kldrift.toml/: cannot read: Not a directory\n"


@pytest.mark.parametrize("name", ["kldrift.toml", "pyproject.toml"])
def test_a_config_file_with_a_byte_order_mark_is_read(project, name):
    # Was "invalid TOML: Invalid statement (at line 1, column 1)"; a CSV's mark is ignored too.
    table = "[tool.kldrift]\n" if name == "pyproject.toml" else ""
    (project / name).write_bytes(b"\xef\xbb\xbf" + f'{table}bins = 5\nformat = "json"\n'.encode())
    result = _compare()
    assert result.exit_code == 1, result.stderr
    assert _json(result)["options"]["bins"] == 5


def test_config_errors_are_config_errors(tmp_path):
    path = tmp_path / "kldrift.toml"
    path.write_text("nope = 1\n")
    with pytest.raises(ConfigError, match=r"kldrift.toml: nope: unknown key"):
        settings.load(path)
