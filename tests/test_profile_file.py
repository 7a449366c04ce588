"""Profile files: exact round trips, comparing via a profile, merging partitions."""

import dataclasses
import datetime as dt
import json
import math
import os

import polars as pl
import pytest

import kldrift
from kldrift import drift, profile, profile_file
from kldrift.errors import InputError, OptionError, OutputError
from kldrift.options import Options, Thresholds

from .conftest import SAMPLE


def _mixed(n: int, shift: float = 0.0) -> pl.DataFrame:
    """Every kind of column: quantile, discrete, categorical, temporal, nulls, inf, unsupported."""
    return pl.DataFrame(
        {
            "x": [math.sin(i) * 10 + shift + i / 7 for i in range(n)],
            "k": [i % 5 for i in range(n)],
            "cat": [["a", "b", "c", "d"][i % 4 if i % 9 else 3] for i in range(n)],
            "day": [dt.date(2026, 1, 1) + dt.timedelta(days=i % 40) for i in range(n)],
            "at": [dt.datetime(2026, 1, 1) + dt.timedelta(minutes=37 * i) for i in range(n)],
            "maybe": [None if i % 6 == 0 else float(i) / 3 for i in range(n)],
            "wild": [math.inf if i % 3 == 0 else float(i) for i in range(n)],
            "spiky": [math.inf if i % 3 == 0 else float(i % 4) for i in range(n)],
            "tags": [[i] for i in range(n)],
        }
    )


def _file(tmp_path, data, name="ref.kldrift.json", **kwargs):
    path = tmp_path / name
    profile_file.save(kldrift.profile_data(data, **kwargs), path)
    return path


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        (SAMPLE / "reference.csv", SAMPLE / "current.csv"),
        (_mixed(400), _mixed(300, shift=2.0).drop("k").with_columns(extra=pl.lit(1))),
    ],
)
def test_compare_via_profile_equals_compare_via_data_to_the_last_digit(
    tmp_path, reference, current
):
    path = _file(tmp_path, reference)
    via_data = drift.compare(reference, current)
    via_file = drift.compare(path, current)
    assert via_file.reference == str(path)
    assert dataclasses.replace(via_file, reference=via_data.reference) == via_data
    assert via_data.columns
    if isinstance(reference, pl.DataFrame):  # missing k, unsupported tags, new extra
        assert {s.change for s in via_data.schema} == {
            "missing_in_current",
            "unsupported",
            "new_in_current",
        }


def test_profile_keeps_fitting_options_and_refuses_conflicting_ones(tmp_path):
    options = Options(bins=4, top_k=2, categorical=("k",))
    path = _file(tmp_path, _mixed(200), options=options)
    current = _mixed(150, shift=1.0)
    expected = drift.compare(
        _mixed(200), current, options=dataclasses.replace(options, smoothing=0)
    )
    # Options not given take the profile's values; scoring options may differ.
    got = drift.compare(path, current, options={"smoothing": 0})
    assert got.columns == expected.columns
    assert got.options.bins == 4 and got.options.categorical == ("k",)
    with pytest.raises(OptionError, match="bins cannot be refitted: .* was fitted with 4, got 7"):
        drift.compare(path, current, options={"bins": 7})
    with pytest.raises(OptionError, match="^categorical cannot be refitted"):
        drift.compare(path, current, options={"categorical": ("cat",)})
    # An Options given whole is given in every field: its default bins (10) are not silently
    # replaced by the profile's 4.
    with pytest.raises(OptionError, match="bins cannot be refitted: .* was fitted with 4, got 10"):
        drift.compare(path, current, options=Options(bins=10, top_k=2, categorical=("k",)))
    same = Options(bins=4, top_k=2, categorical=("k",), smoothing=0)
    assert drift.compare(path, current, options=same).columns == expected.columns


def test_file_round_trip_is_exact(tmp_path):
    original = kldrift.profile_data(_mixed(500), options=Options(bins=7))
    path = tmp_path / "p.kldrift.json"
    profile_file.save(original, path)
    loaded = profile_file.load(path)
    assert loaded == original
    doc = json.loads(path.read_text())
    assert doc["format"] == "kldrift-profile" and doc["format_version"] == 1
    columns = {c["name"]: c for c in doc["columns"]}
    # Infinite values fall in the open outer bin, so edges stay finite; a discrete column keeps
    # inf as a value, written as the string "inf".
    assert all(math.isfinite(e) for e in columns["wild"]["edges"])
    assert "inf" in columns["spiky"]["values"]
    assert {"name": "tags", "dtype": "List(Int64)"} in doc["schema"]


def test_merged_partition_profiles_equal_the_profile_of_the_whole(tmp_path):
    whole = _mixed(900, shift=1.0)
    reference = kldrift.profile_data(_mixed(600), options=Options(bins=6))
    parts = [whole[:100], whole[100:550], whole[550:]]
    paths = []
    for i, part in enumerate(parts):
        paths.append(tmp_path / f"part{i}.kldrift.json")
        profile_file.save(kldrift.profile_data(part, bins_from=reference), paths[-1])
    merged = profile.merge([profile_file.load(p) for p in paths])
    expected = kldrift.profile_data(whole, bins_from=reference)
    assert dataclasses.replace(merged, source=expected.source) == expected
    assert merged.rows == 900
    assert merged.columns["x"].binning == reference.columns["x"].binning


def test_profiles_on_different_bins_are_refused(tmp_path):
    a = kldrift.profile_data(_mixed(300))
    b = kldrift.profile_data(_mixed(300, shift=5.0))
    with pytest.raises(InputError, match="column 'x' has different bins"):
        profile.merge([a, b])
    c = kldrift.profile_data(_mixed(300), options=Options(bins=3))
    with pytest.raises(InputError, match="binning options differ") as caught:
        profile.merge([a, c])
    assert str(caught.value).endswith("(profile each part with bins_from)")
    assert caught.value.worded(lambda s: "--" + s.replace("_", "-")).endswith("with --bins-from)")
    d = kldrift.profile_data(_mixed(300), exclude=["cat"])
    with pytest.raises(InputError, match="different columns"):
        profile.merge([a, d])


def test_bins_from_refuses_data_without_a_binned_column():
    reference = kldrift.profile_data(_mixed(100))
    with pytest.raises(Exception, match="no column 'x'"):
        kldrift.profile_data(_mixed(50).drop("x"), bins_from=reference)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "invalid JSON"),
        ('{"format": "kldrift-report"}', "not a kldrift profile"),
        ('{"format": "kldrift-profile", "format_version": 9}', "format_version 9"),
        ('{"format": "kldrift-profile", "format_version": true}', "format_version True"),
        ('{"format": "kldrift-profile", "format_version": 1.0}', "format_version 1.0"),
        ('{"format": "kldrift-profile", "format_version": 1}', "missing field"),
        ('{"format": "kldrift-profile", "rows": 1' + "0" * 5000 + "}", "a number too long"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_profile_files_are_input_errors(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        drift.compare(path, SAMPLE / "current.csv")


def test_counts_that_do_not_fit_the_bins_are_refused(tmp_path):
    path = _file(tmp_path, _mixed(50))
    doc = json.loads(path.read_text())
    doc["columns"][0]["counts"].append(1)
    path.write_text(json.dumps(doc))
    expected = "malformed kldrift profile: column 'x': counts: expected 11 counts, got 12"
    with pytest.raises(InputError, match=expected):
        profile_file.load(path)


def test_thresholds_apply_to_a_profile_reference(tmp_path):
    path = _file(tmp_path, SAMPLE / "reference.csv")
    report = drift.compare(path, SAMPLE / "current.csv", thresholds=Thresholds(drift=10, warn=5))
    assert not report.drifted


def _edited(tmp_path, edit):
    path = _file(tmp_path, _mixed(50))
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    return path


def _set(column, key, value):
    def edit(doc):
        target = next(c for c in doc["columns"] if c["name"] == column) if column else doc
        target[key] = value(target[key]) if callable(value) else value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("k", "counts", lambda c: [1e300, *c[1:]]), "column 'k': counts[0]: expected a whole"),
        (_set("k", "counts", lambda c: [-1, *c[1:]]), "column 'k': counts[0]: expected a whole"),
        (_set("k", "counts", lambda c: [c[0] + 1, *c[1:]]), "column 'k': counts: add up to 51"),
        (_set("x", "edges", lambda e: e[::-1]), "column 'x': edges[1]: not in increasing order"),
        (_set("x", "edges", lambda e: ["-inf", *e[1:]]), "column 'x': edges[0]: expected a finite"),
        (_set("x", "edges", lambda e: list(range(200_000))), "column 'x': edges: expected fewer"),
        (_set("at", "edges", lambda e: [1e30]), "column 'at': edges[0]: 1e+30 is out of"),
        (_set("cat", "values", "abcd"), "column 'cat': values: expected a list"),
        (_set("cat", "values", lambda v: [1, *v[1:]]), "column 'cat': values[0]: expected a str"),
        (_set(None, "rows", 2**63), "rows: expected a whole number from 0 to 9007199254740991"),
        (_set(None, "rows", 0), "rows: a profile holds at least one row"),
        (_set("k", "range", lambda r: {**r, "low": 9}), "column 'k': range: low (9) is above"),
        (_set("k", "range", lambda r: {**r, "increasing": 1}), "range.increasing: expected bool"),
        (_set("k", "range", lambda r: {**r, "high": "inf"}), "range.high: expected"),
        (_set("k", "range", [1, 2]), "column 'k': range: expected an object"),
        (_set("x", "range", {"low": 1}), "column 'x': range: a Float64 column has no range"),
        (_set(None, "options", lambda o: {**o, "bins": 200_001}), "options.bins: expected at most"),
        (_set("k", "method", "quantile"), "column 'k': edges: expected fewer"),
        (_set("cat", "singletons", 5), "column 'cat': singletons: more than the 0 categories"),
    ],
)
def test_hand_edited_profiles_are_checked_and_errors_name_the_file_and_key(tmp_path, edit, message):
    path = _edited(tmp_path, edit)
    with pytest.raises(InputError) as caught:
        drift.compare(path, _mixed(50))
    assert str(caught.value).startswith(f"{path}: malformed kldrift profile: ")
    assert message in str(caught.value)


def test_all_zero_counts_with_no_smoothing_are_an_error_not_a_crash(tmp_path):
    path = _edited(tmp_path, _set("k", "counts", lambda c: [0 for _ in c]))
    with pytest.raises(InputError, match="column 'k': counts: add up to 0, not rows"):
        drift.compare(path, _mixed(50), options={"smoothing": 0})


def _cli_error(args, *names):
    from typer.testing import CliRunner

    from kldrift.cli import app

    from .test_cli import _one_line_error

    return _one_line_error(CliRunner().invoke(app, args), *names)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_profile_or_config_is_a_one_line_error(tmp_path, device):
    cur = str(SAMPLE / "current.csv")
    _cli_error(["profile", cur, "--bins-from", device, "-o", str(tmp_path / "p.json")], device)
    _cli_error(["compare", str(SAMPLE / "reference.csv"), cur, "--config", device], device)


def test_a_fifo_as_profile_is_read_within_a_deadline(tmp_path, monkeypatch):
    monkeypatch.setattr("kldrift.io.SPECIAL_FILE_SECONDS", 0.3)
    fifo = tmp_path / "ref.json"
    os.mkfifo(fifo)
    # No writer: the FIFO reads as empty at once.
    _cli_error(["compare", str(fifo), str(SAMPLE / "current.csv")], str(fifo), "not a kldrift")
    # A writer that never writes nor closes: abandoned after the deadline.
    writer = os.open(fifo, os.O_RDWR)
    try:
        _cli_error(["compare", str(fifo), str(SAMPLE / "current.csv")], "no end of data after")
    finally:
        os.close(writer)


def test_a_profile_with_more_categories_than_can_be_read_back_is_not_written(monkeypatch):
    monkeypatch.setattr(profile_file, "MAX_CATEGORIES", 3)
    built = kldrift.profile_data(_mixed(50))
    with pytest.raises(OutputError, match="'cat' has 4 categories; a profile holds at most 3"):
        profile_file.dumps(built)
