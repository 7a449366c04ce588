"""The resolved spec: precedence in resolve(), what "not given" means, the comparing flags
every command shares, and settings without a sane upper bound refused where they enter."""

import inspect
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kldrift import cli, configfile
from kldrift.cli import app
from kldrift.errors import ConfigError, OptionError
from kldrift.io import ReadOptions
from kldrift.options import MAX_BINS, MAX_SMOOTHING, Options
from kldrift.spec import NOT_GIVEN, SETTINGS, ConfigFile, Spec, resolve

from .conftest import SAMPLE
from .test_cli_monitor import _timed

runner = CliRunner()
REF_CSV, CUR_CSV = str(SAMPLE / "reference.csv"), str(SAMPLE / "current.csv")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project directory (a repository root) as the working directory."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def profile20(tmp_path):
    path = str(tmp_path / "p20.kldrift.json")
    result = runner.invoke(app, ["profile", REF_CSV, "--bins", "20", "-o", path])
    assert result.exit_code == 0, result.stderr
    return path


# --- resolve: precedence and "not given" ---------------------------------------------------


def test_flag_beats_file_beats_default_and_records_where_each_came_from():
    file = ConfigFile(values={"bins": 6, "top_k": 4}, source="kldrift.toml")
    spec = resolve({"bins": 8, "smoothing": NOT_GIVEN}, file, given_by="command line")
    assert (spec.options.bins, spec.options.top_k, spec.options.smoothing) == (8, 4, 0.5)
    assert spec.given == {"bins", "top_k"}
    assert spec.source("bins") == "command line"
    assert spec.source("top_k") == "kldrift.toml"
    assert spec.source("smoothing") is None


def test_nothing_given_is_the_default_spec():
    assert resolve() == Spec()
    assert resolve(dict.fromkeys(SETTINGS, NOT_GIVEN)) == Spec()


def test_an_unknown_setting_is_a_programming_error():
    with pytest.raises(TypeError, match="bogus"):
        resolve({"bogus": 1})


def test_a_bad_value_from_the_file_names_the_file_and_key():
    with pytest.raises(ConfigError) as caught:
        resolve(file=ConfigFile(values={"bins": 0}, source="kldrift.toml"))
    assert str(caught.value) == "kldrift.toml: bins: must be from 1 to 10000, got 0"


def test_a_library_error_names_the_setting_never_a_flag():
    with pytest.raises(OptionError) as caught:
        Options(bins=0)
    error = caught.value
    assert (error.setting, error.value) == ("bins", 0)
    assert str(error) == "bins must be from 1 to 10000, got 0"
    assert error.worded(lambda s: "--" + s) == "--bins must be from 1 to 10000, got 0"


def test_the_config_file_and_the_flags_share_one_list_of_settings():
    # Every setting has a config key (column_threshold is [column.NAME] threshold) and a flag.
    assert set(configfile._CONVERTERS) | {"column_threshold"} == set(SETTINGS)
    assert set(cli.SETTING_OPTIONS) == set(SETTINGS)


# --- the four bugs of issue 11 -------------------------------------------------------------


def test_a_bin_option_equal_to_the_default_is_still_checked_against_a_profile(profile20):
    # Failed before: --bins 10 equals the built-in default, so it was taken as "not given" and
    # the profile's 20 bins were used silently, while --bins 12 was refused.
    for bins in ("10", "12"):
        result = runner.invoke(app, ["compare", profile20, CUR_CSV, "--bins", bins])
        assert result.exit_code == 2, result.stdout
        assert f"--bins cannot be refitted: {profile20} was fitted with 20, got {bins}" in (
            result.stderr
        )
    assert runner.invoke(app, ["compare", profile20, CUR_CSV, "--bins", "20"]).exit_code == 1
    assert runner.invoke(app, ["compare", profile20, CUR_CSV]).exit_code == 1


def test_a_config_format_monitor_cannot_write_leaves_monitor_and_windows_working(project, tmp_path):
    # Failed before: format = "junit" in kldrift.toml broke every monitor and windows run with
    # an error blaming a --format flag nobody typed.
    (project / "kldrift.toml").write_text('format = "junit"\n')
    db = str(tmp_path / "runs.db")
    monitor = runner.invoke(app, ["monitor", CUR_CSV, "-r", REF_CSV, "--history", db])
    assert monitor.exit_code == 1, monitor.stderr
    assert "columns drifted" in monitor.stdout
    ref, cur = _timed(tmp_path)
    windows = runner.invoke(app, ["compare", ref, cur, "--time-column", "day", "--every", "1d"])
    assert windows.exit_code == 1, windows.stderr
    assert "windows drifted" in windows.stdout
    assert runner.invoke(app, ["compare", REF_CSV, CUR_CSV]).stdout.startswith("<?xml")
    flagged = runner.invoke(app, ["monitor", CUR_CSV, "-r", REF_CSV, "--history", db, "-f", "csv"])
    assert flagged.exit_code == 2
    assert "--format must be table, json or html" in flagged.stderr


def test_the_gate_reason_names_the_setting_and_the_file_it_came_from(project):
    # Failed before: the reason said "--max-drifted 5" when the limit came from kldrift.toml.
    (project / "kldrift.toml").write_text("max_drifted = 5\n")
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-f", "json"])
    assert result.exit_code == 0
    reason = json.loads(result.stdout)["summary"]["gate"]["reason"]
    assert reason.endswith("within the 5 allowed by max_drifted 5 (kldrift.toml)")
    flagged = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, "-f", "json", "--max-drifted", "4"])
    reason = json.loads(flagged.stdout)["summary"]["gate"]["reason"]
    assert reason.endswith("within the 4 allowed by max_drifted 4 (command line)")


# --- every comparing command takes the same flags ------------------------------------------


def _options(command):
    parameters = inspect.signature(command).parameters
    return {name for name in parameters if name in cli.SETTING_OPTIONS}


def test_compare_explain_and_monitor_take_the_same_comparing_flags():
    shared = set(SETTINGS) - {"format", "step_summary"}
    assert _options(cli.compare) == set(SETTINGS)
    assert _options(cli.monitor) == set(SETTINGS) - {"step_summary"}  # a cron job, not a CI step
    assert _options(cli.explain_column) == shared


def test_monitor_has_the_gate_streaming_quiet_and_output(tmp_path):
    db, out = str(tmp_path / "runs.db"), tmp_path / "report.json"
    args = ["monitor", CUR_CSV, "-r", REF_CSV, "--history", db, "--streaming"]
    result = runner.invoke(app, [*args, "--max-drifted", "3", "-f", "json", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text())["summary"]["gate"]["allowed"] == 3
    assert "pass: 3 drifted columns of 10, within the 3 allowed" in result.stderr
    args.append("-q")
    failing = runner.invoke(app, [*args, "--fail-on", "warn"])
    assert failing.exit_code == 1
    never = runner.invoke(app, [*args, "--fail-on", "never"])
    assert never.exit_code == 0


def test_explain_takes_columns_and_exclude_which_change_the_adjusted_p_value():
    base = ["explain", REF_CSV, CUR_CSV, "--column", "income", "-q"]
    alone = runner.invoke(app, [*base, "-c", "income"])
    assert alone.exit_code == 1, alone.stderr
    every = runner.invoke(app, base)
    assert every.exit_code == 1
    excluded = runner.invoke(app, [*base, "--exclude", "income"])
    assert excluded.exit_code == 2
    assert "--column: 'income' was not scored" in excluded.stderr or "income" in excluded.stderr


def test_dash_c_means_columns_in_history_too(tmp_path):
    db = str(tmp_path / "runs.db")
    assert runner.invoke(app, ["monitor", CUR_CSV, "-r", REF_CSV, "--history", db]).exit_code == 1
    for flag in ("-c", "--columns", "--column"):
        result = runner.invoke(app, ["history", db, flag, "income", "-f", "json"])
        assert result.exit_code == 0, result.stderr
        columns = json.loads(result.stdout)["runs"][0]["columns"]
        assert [c["name"] for c in columns] == ["income"]


# --- issue 16: options without an upper bound ----------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--bins", str(10**9), f"--bins must be from 1 to {MAX_BINS}, got 1000000000"),
        ("--bins", str(MAX_BINS + 1), f"--bins must be from 1 to {MAX_BINS}"),
        ("--top-k", str(10**9), f"--top-k must be from 1 to {MAX_BINS}"),
        ("--base", "0.5", "--base must be a finite number greater than 1, got 0.5"),
        ("--base", "1", "--base must be a finite number greater than 1"),
        ("--smoothing", "1e308", f"--smoothing must be a number from 0 to {MAX_SMOOTHING:g}"),
        ("--smoothing", "inf", "--smoothing must be a number from 0"),
        ("--separator", "\n", "--separator must be one one-byte character, not a quote or line"),
        ("--separator", "\r", "--separator must be one one-byte character"),
        ("--separator", "ab", "--separator must be one one-byte character"),
        ("--encoding", "rot13", "--encoding is not a text encoding, got 'rot13'"),
        ("--encoding", "base64", "--encoding is not a text encoding, got 'base64'"),
        ("--encoding", "idna", "--encoding is not a text encoding, got 'idna'"),
        ("--encoding", "punycode", "--encoding is not a text encoding, got 'punycode'"),
    ],
)
def test_out_of_range_flags_are_one_line_errors(flag, value, message):
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV, flag, value])
    assert result.exit_code == 2, result.stdout
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bins = 1000000000\n", f"kldrift.toml: bins: must be from 1 to {MAX_BINS}"),
        ("top_k = 1000000000\n", f"kldrift.toml: top_k: must be from 1 to {MAX_BINS}"),
        ("base = 0.5\n", "kldrift.toml: base: must be a finite number greater than 1"),
        ("smoothing = 1e308\n", "kldrift.toml: smoothing: must be a number from 0 to"),
        ('separator = "\\n"\n', "kldrift.toml: separator: must be one one-byte character"),
        ('encoding = "rot13"\n', "kldrift.toml: encoding: is not a text encoding"),
    ],
)
def test_out_of_range_config_values_name_the_key(project, text, message):
    (project / "kldrift.toml").write_text(text)
    result = runner.invoke(app, ["compare", REF_CSV, CUR_CSV])
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr


@pytest.mark.parametrize("encoding", ["rot13", "base64", "hex", "zlib", "idna", "punycode"])
def test_codecs_that_are_not_text_encodings_are_refused(encoding):
    with pytest.raises(OptionError, match="^encoding is not a text encoding"):
        ReadOptions(encoding=encoding)


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "UTF-8"])
def test_text_encodings_are_accepted(encoding):
    ReadOptions(encoding=encoding)


def test_the_largest_bin_count_is_accepted():
    assert Options(bins=MAX_BINS, top_k=MAX_BINS, discrete_max=MAX_BINS).bins == MAX_BINS


def test_config_file_paths_resolve_relative_to_the_working_directory(project):
    (project / "ci.toml").write_text("bins = 3\n")
    found = configfile.load(Path("ci.toml"))
    assert found.source == "ci.toml" and resolve(file=found).options.bins == 3


def test_data_whose_every_column_is_of_an_unsupported_type_is_an_error(tmp_path):
    # Failed before: nothing was compared and the exit code 0 said "no drift".
    import polars as pl

    frame = pl.DataFrame({"tags": [["a"], ["b", "c"]], "blob": [b"x", b"y"]})
    frame.write_parquet(tmp_path / "ref.parquet")
    frame.write_parquet(tmp_path / "cur.parquet")
    result = runner.invoke(
        app, ["compare", str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet")]
    )
    assert result.exit_code == 2, result.stdout
    assert "no column of a type kldrift can bin: tags (List(String))" in result.stderr
