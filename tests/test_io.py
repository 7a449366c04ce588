"""Reading: formats, globs, directories, and one-line errors for files that cannot be read."""

import datetime as dt
import gzip
import math
import os
import zlib

import polars as pl
import pytest

from kldrift import io
from kldrift.errors import InputError, OptionError
from kldrift.io import ReadOptions, read_error, scan_table

#: One writer per file type kldrift reads, by suffix.
WRITERS = {
    ".csv": lambda f, p: f.write_csv(p),
    ".tsv": lambda f, p: f.write_csv(p, separator="\t"),
    ".parquet": lambda f, p: f.write_parquet(p),
    ".ndjson": lambda f, p: f.write_ndjson(p),
    ".arrow": lambda f, p: f.write_ipc(p),
}


@pytest.fixture
def frame():
    return pl.DataFrame({"x": [1.5, 2.5, 3.5], "s": ["a", "b", "a"]})


@pytest.mark.parametrize(("suffix", "writer"), WRITERS.items())
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


def test_csv_types_come_from_the_first_10000_rows_dates_included(tmp_path):
    # On this data, the same types as polars' try_parse_dates over 10,000 rows gives.
    n = 10_000
    frame = pl.DataFrame(
        {
            "day": ["2024-01-01"] * n,
            "stamp": ["2024-01-01T03:52:07.000000"] * n,
            "zoned": ["2024-01-01T00:00:00+01:00", "2024-01-03T05:00:00Z"] * (n // 2),
            # Looks like dates in the first 100 rows, is not one at row 5,000: text.
            "late_text": ["2024-01-01"] * 5_000 + ["soon"] + ["2024-01-01"] * (n - 5_001),
            "late_float": ["1"] * 5_000 + ["1.5"] + ["2"] * (n - 5_001),
            "name": ["a", "b"] * (n // 2),
        }
    )
    path = tmp_path / "d.csv"
    frame.write_csv(path)
    polars_own = pl.scan_csv(path, try_parse_dates=True, infer_schema_length=n).collect_schema()
    schema = scan_table(path).schema
    assert schema == polars_own
    assert dict(schema) == {
        "day": pl.Date,
        "stamp": pl.Datetime("us"),
        "zoned": pl.Datetime("us", "UTC"),
        "late_text": pl.String,
        "late_float": pl.Float64,
        "name": pl.String,
    }
    read = scan_table(path).frame.collect()
    assert read["late_text"][5_000] == "soon"
    # Dates are read as text and parsed after, to the same values as polars' CSV reader gives.
    assert read.equals(pl.read_csv(path, try_parse_dates=True, infer_schema_length=n))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.csv", "missing.csv: no such file"),
        (lambda d: _write(d / "empty.csv", b""), "empty.csv: file is empty"),
        (lambda d: _write(d / "data.xlsx", b"x"), "data.xlsx: unknown file type"),
        (lambda d: _write(d / "fake.parquet", b"not parquet at all"), "fake.parquet: cannot read"),
        (lambda d: str(d / "*.parquet"), "no files match"),
        (lambda d: _mkdir(d / "nothing"), "nothing: directory holds no data files"),
        (lambda d: _write(d / "notes.txt.gz", b"x"), "notes.txt.gz: unknown file type"),
        (
            lambda d: _write(d / "cut.csv.gz", gzip.compress(b"x\n1\n2\n")[:12]),
            "cut.csv.gz: cannot read: Compressed file ended",
        ),
        (lambda d: _write(d / "fake.csv.gz", b"plain text"), "fake.csv.gz: cannot read"),
        # Path("data.csv/") is Path("data.csv"), but the name says a directory.
        (lambda d: f"{_write(d / 'data.csv', b'x')}/", "data.csv/: not a directory$"),
        (lambda d: f"{_write(d / 'data.csv', b'x')}/.", "data.csv/.: not a directory$"),
        (lambda d: f"{_write(d / 'p.json', b'{}')}/", "p.json/: not a directory$"),
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


def test_unreadable_file_is_reported_as_permission_denied(tmp_path, monkeypatch):
    path = _write(tmp_path / "secret.csv", b"x\n1\n")
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: make the OS say no for this file
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, m: str(p) != str(path) and real_access(p, m))
    with pytest.raises(InputError, match="secret.csv: permission denied"):
        scan_table(path)


EXPECTED = pl.DataFrame({"x": [1, 2, 3], "s": ["a", "b", "c"]})


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("semicolon.csv", b"x;s\n1;a\n2;b\n3;c\n"),
        ("tab.csv", b"x\ts\n1\ta\n2\tb\n3\tc\n"),
        ("pipe.csv", b"x|s\n1|a\n2|b\n3|c\n"),
        ("quoted.csv", b'x;s\n1;"a"\n2;"b"\n3;"c"\n'),
        ("bom.csv", b"\xef\xbb\xbfx,s\n1,a\n2,b\n3,c\n"),
        ("crlf.csv", b"x,s\r\n1,a\r\n2,b\r\n3,c\r\n"),
        ("data.csv.gz", gzip.compress(b"x,s\n1,a\n2,b\n3,c\n")),
        ("semicolon.csv.gz", gzip.compress(b"x;s\n1;a\n2;b\n3;c\n")),
        ("data.tsv.gz", gzip.compress(b"x\ts\n1\ta\n2\tb\n3\tc\n")),
    ],
)
def test_csv_dialects_bom_and_gzip_are_read_without_options(tmp_path, name, data):
    table = scan_table(_write(tmp_path / name, data))
    assert table.frame.collect().equals(EXPECTED)


def test_a_comma_inside_quotes_does_not_win_the_separator_vote(tmp_path):
    path = _write(tmp_path / "q.csv", b'"a,b,c";s\n1;x\n')
    assert scan_table(path).schema.names() == ["a,b,c", "s"]


def test_quoted_fields_may_hold_newlines(tmp_path):
    path = _write(tmp_path / "m.csv", b'x,s\n1,"line one\nline two"\n2,b\n')
    assert scan_table(path).frame.collect()["s"].to_list() == ["line one\nline two", "b"]


def test_an_explicit_separator_wins_over_sniffing(tmp_path):
    path = _write(tmp_path / "d.csv", b"a,b;c\n1,2;3\n")
    assert scan_table(path).schema.names() == ["a", "b;c"]
    assert scan_table(path, ReadOptions(separator=";")).schema.names() == ["a,b", "c"]


def test_latin1_needs_an_encoding(tmp_path):
    path = _write(tmp_path / "latin.csv", "x,s\n1,café\n2,naïve\n".encode("latin-1"))
    # The library names the setting; each front end spells it (no flag in a Python message).
    with pytest.raises(InputError, match="latin.csv: not valid UTF-8 text; choose an encoding "):
        scan_table(path)
    from typer.testing import CliRunner

    from kldrift.cli import app

    result = CliRunner().invoke(app, ["compare", str(path), str(path)])
    assert result.exit_code == 2
    assert "not valid UTF-8 text; choose an --encoding (e.g. latin-1" in result.stderr
    decoded = scan_table(path, ReadOptions(encoding="latin-1")).frame.collect()
    assert decoded["s"].to_list() == ["café", "naïve"]
    lossy = scan_table(path, ReadOptions(encoding="utf8-lossy")).frame.collect()
    assert lossy["s"].to_list() == ["caf\ufffd", "na\ufffdve"]


def test_invalid_utf8_after_the_inferred_rows_is_an_input_error_naming_the_file(tmp_path):
    path = _write(tmp_path / "late.csv", b"s\n" + b"a\n" * 40_000 + b"caf\xe9\n")  # > 64 KiB
    assert _collect_error(scan_table(path)).startswith(f"{path}: not valid UTF-8 text")


def test_a_bad_encoding_name_for_the_declared_codec_names_the_file(tmp_path):
    path = _write(tmp_path / "x.csv", "s\n€\n".encode())
    with pytest.raises(InputError, match="x.csv: not valid ascii text at byte 2"):
        scan_table(path, ReadOptions(encoding="ascii"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"separator": ";;"}, "separator must be one one-byte character"),
        ({"separator": ""}, "separator must be one one-byte character"),
        ({"separator": "§"}, "separator must be one one-byte character"),
        ({"encoding": "klingon"}, "encoding is not a known encoding, got 'klingon'"),
    ],
)
def test_bad_read_options_are_option_errors(options, message):
    with pytest.raises(OptionError, match=message):
        ReadOptions(**options)


def test_a_csv_whose_lines_end_in_a_carriage_return_alone_is_named_so(tmp_path):
    cr = _write(tmp_path / "cr.csv", b"a,b\r1,2\r3,4\r")
    with pytest.raises(InputError) as caught:
        scan_table(cr)
    assert str(caught.value) == (
        f"{cr}: its lines end in a carriage return alone; kldrift reads \\n or \\r\\n line ends"
    )
    # A carriage return inside a quoted name is a name, as are CRLF line ends.
    quoted = _write(tmp_path / "q.csv", b'"a\rb",c\r\n1,2\r\n')
    assert list(scan_table(quoted).schema) == ["a\rb", "c"]


def test_any_spelling_of_utf8_uses_the_lazy_reader():
    assert ReadOptions(encoding="UTF-8").encoding == "utf8"


def test_duplicate_csv_column_names_are_refused(tmp_path):
    with pytest.raises(InputError, match="dup.csv: duplicate column name 'x'"):
        scan_table(_write(tmp_path / "dup.csv", b"x,y,x\n1,2,3\n"))


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("ragged.csv", b"x,s\n1,a\n2,b,extra\n", "ragged.csv: ragged CSV: a line has more fields"),
        (
            "late.csv",
            b"x\n" + b"1\n" * 10_005 + b"oops\n",
            "late.csv: column 'x': cannot parse 'oops' as i64",
        ),
    ],
)
def test_malformed_csv_is_a_one_line_error_naming_file_and_column(tmp_path, name, data, message):
    error = _collect_error(scan_table(_write(tmp_path / name, data)))
    assert message in error
    assert "\n" not in error


def _collect_error(table):
    """The message kldrift gives for the polars error that collecting `table` raises."""
    with pytest.raises((pl.exceptions.PolarsError, OSError)) as info:
        table.frame.collect()
    return str(read_error(table.name, info.value))


def test_short_lines_are_read_as_nulls(tmp_path):
    path = _write(tmp_path / "short.csv", b"x,s\n1,a\n2\n3,c\n")
    assert scan_table(path).frame.collect()["s"].to_list() == ["a", None, "c"]


def test_truncated_parquet_names_the_file(tmp_path):
    whole = tmp_path / "whole.parquet"
    EXPECTED.write_parquet(whole)
    data = whole.read_bytes()
    with pytest.raises(InputError, match="cut.parquet: cannot read"):
        scan_table(_write(tmp_path / "cut.parquet", data[: len(data) // 2]))


def test_a_directory_finds_compressed_csv(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    _write(folder / "a.csv.gz", gzip.compress(b"x,s\n1,a\n"))
    _write(folder / "b.csv.gz", gzip.compress(b"x,s\n2,b\n3,c\n"))
    assert scan_table(folder).frame.collect().sort("x").equals(EXPECTED)


def test_non_utf8_files_of_a_glob_are_decoded_and_stacked(tmp_path):
    _write(tmp_path / "a.csv", "x,s\n1,a\n".encode("latin-1"))
    _write(tmp_path / "b.csv", "x,s\n2,é\n".encode("latin-1"))
    frame = scan_table(str(tmp_path / "*.csv"), ReadOptions(encoding="latin-1")).frame.collect()
    assert frame["s"].to_list() == ["a", "é"]


def test_memory_estimate_follows_the_format(tmp_path, frame):
    # Parquet is compressed (it decodes to more than its size); CSV text shrinks once parsed.
    frame.write_parquet(tmp_path / "d.parquet")
    frame.write_csv(tmp_path / "d.csv")
    parquet, csv = scan_table(tmp_path / "d.parquet"), scan_table(tmp_path / "d.csv")
    assert parquet.memory == 3 * (tmp_path / "d.parquet").stat().st_size
    assert csv.memory == (tmp_path / "d.csv").stat().st_size
    assert scan_table(frame).memory is None


@pytest.mark.parametrize(("suffix", "writer"), WRITERS.items())
def test_a_file_name_with_glob_characters_is_read_as_itself(tmp_path, frame, suffix, writer):
    path = tmp_path / f"run [2024] v?{suffix}"
    writer(frame, path)
    (tmp_path / f"run 2 v1{suffix}").write_text("a pattern would match this file")
    assert scan_table(path).frame.collect().equals(frame)


@pytest.mark.parametrize("encoding", ["utf8", "latin-1"])
def test_a_date_column_that_starts_empty_is_still_a_date_column(tmp_path, encoding):
    # A mostly empty `closed_at` has no date in its first 100 rows.
    path = tmp_path / "d.csv"
    lines = ["closed_at,name"] + [",é"] * 150 + ["2024-01-02,é", "2024-03-04,é"]
    path.write_bytes("\n".join(lines).encode(encoding))
    table = scan_table(path, ReadOptions(encoding=encoding))
    assert table.schema["closed_at"] == pl.Date
    assert table.frame.collect()["closed_at"].drop_nulls().to_list() == [
        dt.date(2024, 1, 2),
        dt.date(2024, 3, 4),
    ]


def test_a_column_of_dates_in_two_patterns_is_text_and_the_other_dates_stay_dates(tmp_path):
    # polars' date inference took 01/02/2024 for the pattern and failed on 2024-01-01: the
    # file was refused ("cannot parse '2024-01-01' as date"), though no date column is needed.
    path = tmp_path / "d.csv"
    patterns = ("01/02/2024", "2024-01-01")
    lines = ["mixed,day"] + [f"{m},2024-01-{1 + i % 28:02d}" for i in range(50) for m in patterns]
    path.write_text("\n".join(lines) + "\n")
    table = scan_table(path)
    assert dict(table.schema) == {"mixed": pl.String, "day": pl.Date}
    assert table.frame.collect()["mixed"].head(2).to_list() == ["01/02/2024", "2024-01-01"]


def test_a_value_with_a_comma_is_quoted_whole_in_a_parse_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("day\n" + "2024-01-01\n" * 10_005 + '"soon, later"\n')
    with pytest.raises(pl.exceptions.PolarsError) as info:
        scan_table(path).frame.collect()
    message = str(read_error("d.csv", info.value))
    assert message.startswith("d.csv: column 'day': cannot parse 'soon, later' as date")


# Special files, symlink loops, gzip bombs and long headers.


def test_a_glob_through_symlink_loops_counts_each_file_once(tmp_path, monkeypatch):
    part = tmp_path / "data" / "a"
    part.mkdir(parents=True)
    (part / "f.csv").write_text("x\n1\n2\n")
    (part / "up").symlink_to("..")  # two loops: glob.glob would walk 2**40 paths
    (part / "here").symlink_to(".")
    table = scan_table(f"{tmp_path}/data/**/*.csv")
    assert table.frame.collect()["x"].to_list() == [1, 2]
    assert scan_table(tmp_path / "data").frame.collect().height == 2
    (part / ".hidden").mkdir()  # skipped, as glob.glob skips it
    (part / ".hidden" / "g.csv").write_text("x\n3\n")
    (part / "b").mkdir()
    (part / "b" / "g.csv").write_text("x\n3\n")
    monkeypatch.chdir(tmp_path)
    assert io._glob("**/*.csv") == ["data/a/f.csv", "data/a/b/g.csv"]


def test_a_corrupt_gzip_stream_is_one_line_naming_the_file(tmp_path):
    data = gzip.compress(b"x,y\n" + b"1,2\n" * 100_000)
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(data[:30] + bytes(b ^ 0x55 for b in data[30:60]) + data[60:])
    with pytest.raises(InputError, match=f"^{path}: cannot read: corrupt gzip data"):
        scan_table(path)
    # Damage past the header is met by polars as it reads, with the same message.
    assert read_error(str(path), zlib.error("invalid distance")).args[0] == (
        f"{path}: cannot read: corrupt gzip data (the deflate stream is damaged)"
    )


def test_gzip_memory_is_measured_not_assumed(tmp_path):
    text = b"x\n" + b"0\n" * 2_000_000  # about 1000:1 once compressed
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(text) + gzip.compress(b"0\n"))  # two members
    # The trailer says 2 bytes (the last member's); the count is exact.
    assert int.from_bytes(path.read_bytes()[-4:], "little") == 2
    assert io.gzip_size(str(path)) == len(text) + 2
    # "0\n" rows: each 2-byte line becomes a 9-byte value, besides the text polars holds.
    assert scan_table(path).memory == math.ceil((len(text) + 2) * (1 + 4.5))


def test_gzip_damage_past_the_header_is_found_before_polars_parses_it(tmp_path):
    lines = b"".join(f"{i * 7919 % 10007},{i}\n".encode() for i in range(200_000))
    data = gzip.compress(b"x,y\n" + lines)
    half = len(data) // 2
    path = tmp_path / "late.csv.gz"
    damaged = bytes(b ^ 0x55 for b in data[half : half + 40])
    path.write_bytes(data[:half] + damaged + data[half + 40 :])
    with pytest.raises(InputError, match=f"^{path}: cannot read: corrupt gzip data"):
        scan_table(path)


def test_a_truncated_gzip_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "cut.csv.gz"
    data = gzip.compress(b"x\n" + b"1\n" * 10_000)
    path.write_bytes(data[: len(data) // 2])
    for read in (scan_table, io.gzip_size):  # the header, then the size count
        with pytest.raises(InputError, match=f"(?i)^{path}: cannot read: compressed file ended"):
            read(str(path))


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_a_header_over_64_kib_is_read_whole(tmp_path, suffix):
    long = "c" * 70_000
    opener = gzip.open if suffix.endswith(".gz") else open
    apart, same = tmp_path / f"apart{suffix}", tmp_path / f"same{suffix}"
    with opener(apart, "wt") as f:  # the same name only up to 64 KiB: no duplicate
        f.write(f"{long}a,b,{long}b\n1,2,3\n")
    with opener(same, "wt") as f:  # a real duplicate after 64 KiB
        f.write(f"a,{long},b,{long}\n1,2,3,4\n")
    assert scan_table(apart).schema.names() == [f"{long}a", "b", f"{long}b"]
    with pytest.raises(InputError, match=r"duplicate column name 'c{40}'\.\.\. \(70000\)"):
        scan_table(same)


def test_a_fifo_or_device_as_data_is_refused(tmp_path):
    fifo = tmp_path / "feed.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=f"^{fifo}: not a regular file"):
        scan_table(fifo)
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    with pytest.raises(InputError, match="zero.csv: not a regular file"):
        scan_table(tmp_path / "zero.csv")


def test_bounded_reads_stop_at_the_limit_on_devices_and_regular_files(tmp_path):
    with pytest.raises(OSError, match="larger than the 1 MiB kldrift reads"):
        io.read_bounded("/dev/zero", 1 << 20)
    path = tmp_path / "big.json"
    path.write_bytes(b" " * ((1 << 20) + 1))
    with pytest.raises(OSError, match="larger than"):
        io.read_bounded(path, 1 << 20)
    path.write_bytes(b"{}")
    assert io.read_bounded(path, 1 << 20) == b"{}"
