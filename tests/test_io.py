"""Reading: formats, globs, directories, and one-line errors for files that cannot be read."""

import polars as pl
import pytest

from kldrift.errors import InputError
from kldrift.io import scan_table


@pytest.fixture
def frame():
    return pl.DataFrame({"x": [1.5, 2.5, 3.5], "s": ["a", "b", "a"]})


@pytest.mark.parametrize(
    ("suffix", "writer"),
    [
        (".csv", lambda f, p: f.write_csv(p)),
        (".tsv", lambda f, p: f.write_csv(p, separator="\t")),
        (".parquet", lambda f, p: f.write_parquet(p)),
        (".ndjson", lambda f, p: f.write_ndjson(p)),
        (".arrow", lambda f, p: f.write_ipc(p)),
    ],
)
def test_reads_every_format_by_extension(tmp_path, frame, suffix, writer):
    path = tmp_path / f"data{suffix}"
    writer(frame, path)
    table = scan_table(path)
    assert table.name == str(path)
    assert table.frame.collect().equals(frame)


def test_reads_a_glob_and_a_directory_of_parquet_parts(tmp_path, frame):
    parts = tmp_path / "parts"
    parts.mkdir()
    frame.head(2).write_parquet(parts / "part-0.parquet")
    frame.tail(1).write_parquet(parts / "part-1.parquet")
    for source in (parts, str(parts / "*.parquet")):
        assert scan_table(source).frame.collect().equals(frame)


def test_accepts_polars_frames(frame):
    assert scan_table(frame).schema == frame.schema
    assert scan_table(frame.lazy()).frame.collect().equals(frame)


def test_csv_dates_are_parsed_as_dates(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("day\n2024-01-01\n2024-02-03\n")
    assert scan_table(path).schema["day"] == pl.Date


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.csv", "missing.csv: no such file"),
        (lambda d: _write(d / "empty.csv", b""), "empty.csv: file is empty"),
        (lambda d: _write(d / "data.xlsx", b"x"), "data.xlsx: unknown file type"),
        (lambda d: _write(d / "fake.parquet", b"not parquet at all"), "fake.parquet: cannot read"),
        (lambda d: str(d / "*.parquet"), "no files match"),
        (lambda d: _mkdir(d / "nothing"), "nothing: directory holds no data files"),
    ],
)
def test_unreadable_inputs_raise_one_line_input_errors(tmp_path, make, message):
    with pytest.raises(InputError, match=message) as info:
        scan_table(make(tmp_path))
    assert "\n" not in str(info.value)


def _write(path, data):
    path.write_bytes(data)
    return path


def _mkdir(path):
    path.mkdir()
    return path
