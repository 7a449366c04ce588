"""kldrift.spark on a real Spark: a standalone master and two workers on loopback.

Every test compares Spark's profile with kldrift's own on the same rows, byte for byte.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyspark
import pytest
from typer.testing import CliRunner

from kldrift import profile_file, spark
from kldrift.cli import app
from kldrift.errors import ColumnError, InputError, OptionError
from kldrift.io import ReadOptions
from kldrift.options import Kind, Options
from kldrift.profile import Profile
from kldrift.reference import profile_data

pytestmark = pytest.mark.slow

#: Made categorical with --categorical: types whose values Spark writes unlike polars.
CATEGORICAL = (
    "cat_f64", "cat_f32", "cat_i64", "cat_i16", "cat_d", "cat_ts", "cat_tsz", "cat_dec"
)  # fmt: skip
LOOPBACK = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _spark_class(main: str, *args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    script = Path(pyspark.__file__).parent / "bin" / "spark-class"
    with log.open("wb") as out:
        # A process group of its own, so teardown also ends the executors a worker started.
        return subprocess.Popen(
            ["bash", str(script), main, *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for_workers(ui_port: int, workers: int, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a Spark daemon exited while starting; see its log in tmp")
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{ui_port}/json/", timeout=2) as r:
                if json.load(r).get("aliveworkers", 0) >= workers:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the Spark workers did not register with the master within 90 s")


@pytest.fixture(scope="session")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark standalone master and two workers, separate JVMs on free loopback ports."""
    home = tmp_path_factory.mktemp("spark-cluster")
    env = {
        **os.environ,
        "SPARK_HOME": str(Path(pyspark.__file__).parent),
        "SPARK_LOCAL_IP": LOOPBACK,
        "SPARK_LOG_DIR": str(home),
        "SPARK_WORKER_DIR": str(home / "work"),
        "SPARK_DAEMON_MEMORY": "256m",
        "SPARK_NO_DAEMONIZE": "1",
    }
    port, ui = _free_port(), _free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            _spark_class(
                "org.apache.spark.deploy.master.Master",
                *("--host", LOOPBACK, "--port", str(port), "--webui-port", str(ui)),
                env=env,
                log=home / "master.log",
            )
        )
        for i in range(2):
            procs.append(
                _spark_class(
                    "org.apache.spark.deploy.worker.Worker",
                    f"spark://{LOOPBACK}:{port}",
                    *("--host", LOOPBACK, "--port", str(_free_port())),
                    *("--webui-port", str(_free_port()), "--cores", "1", "--memory", "768m"),
                    env=env,
                    log=home / f"worker{i}.log",
                )
            )
        _wait_for_workers(ui, 2, procs)
        yield f"spark://{LOOPBACK}:{port}"
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()


@pytest.fixture(scope="session")
def session(standalone: str) -> Iterator[object]:
    """A SparkSession on the standalone cluster, shared by the tests.

    Only the cluster: its executors are other JVMs, so rows are split, shipped and merged as on
    a real one, where a local master runs the same code in one JVM (the CLI's own local Spark
    is tested on its own, by test_cli_fits_on_its_own_spark_like_kldrift).
    """
    from pyspark.sql import SparkSession

    master = standalone
    os.environ["SPARK_LOCAL_IP"] = LOOPBACK
    builder = (
        SparkSession.builder.master(master)
        .appName("kldrift-tests")
        .config("spark.driver.host", LOOPBACK)
        .config("spark.driver.bindAddress", LOOPBACK)
        .config("spark.ui.enabled", "false")
        .config("spark.log.level", "ERROR")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.executor.memory", "512m")
        .config("spark.sql.shuffle.partitions", "4")
        # Small file splits: a test file spans several partitions, as data does on a cluster.
        .config("spark.sql.files.maxPartitionBytes", "1m")
        .config("spark.sql.session.timeZone", "America/New_York")
    )
    active = builder.getOrCreate()
    try:
        yield active
    finally:
        active.stop()


def _data(rows: int, seed: int, shift: float = 0.0) -> pl.DataFrame:
    """Every column kind Spark and polars share, with nulls, NaN, infinities and ties."""
    rng = np.random.default_rng(seed)

    def holes(values: np.ndarray, dtype: pl.DataType, share: float = 0.05) -> pl.Series:
        missing = pl.Series(rng.random(rows) < share)
        return pl.select(pl.when(missing).then(None).otherwise(pl.Series(values).cast(dtype)))[:, 0]

    f64 = rng.normal(shift, 1, rows)
    f64[rng.random(rows) < 0.02] = np.nan
    f64[:2] = [np.inf, -np.inf]
    f32 = rng.normal(shift, 3, rows).astype(np.float32)
    f32[rng.random(rows) < 0.02] = np.nan
    micros = (1.7e15 + rng.normal(shift, 1, rows) * 3e13).astype(np.int64)
    days = (19_000 + rng.normal(shift, 1, rows) * 300).astype(np.int32)
    zipf = np.minimum(rng.zipf(1.3, rows), 60)
    return pl.DataFrame(
        {
            "id": pl.Series(np.arange(rows) * 3 + seed),  # strictly increasing: an ID column
            "i8": holes(rng.integers(-100, 100, rows), pl.Int8),
            "i16": holes(rng.integers(-30_000, 30_000, rows), pl.Int16),
            "i32": holes(rng.integers(0, 6, rows) + int(shift), pl.Int32),
            "i64": holes(rng.integers(-(10**15), 10**15, rows), pl.Int64),
            "f32": holes(f32, pl.Float32),
            "f64": holes(f64, pl.Float64),
            "f64_discrete": holes(rng.choice([0.5, 1.5, 2.25], rows), pl.Float64),
            "dec": holes(np.round(rng.normal(shift, 100, rows), 3), pl.Decimal(12, 3)),
            "s": holes(np.char.add("c", zipf.astype(str)), pl.String),
            # A tail of categories that would need quoting in SQL: a quote, a backslash, a
            # backtick, a newline and a non-ASCII letter.
            "s_odd": holes(np.char.add("o'\\`\né", (zipf % 20).astype(str)), pl.String),
            "flag": holes(rng.random(rows) < 0.3 + 0.1 * shift, pl.Boolean),
            "d": holes(days, pl.Int32).cast(pl.Date),
            "ts": holes(micros, pl.Int64).cast(pl.Datetime("us")),
            "tsz": holes(micros, pl.Int64).cast(pl.Datetime("us", "UTC")),
            "cat_f64": holes(rng.choice([0.1, 1e20, 1.0, np.nan, 2.5e-7, -0.0], rows), pl.Float64),
            "cat_f32": holes(rng.choice([0.1, 3.0e38, 16777216.0], rows), pl.Float32),
            "cat_i64": holes(rng.choice([-(10**18), 0, 7], rows), pl.Int64),
            "cat_i16": holes(zipf % 30 - 5, pl.Int16),  # more categories than top_k: a tail
            "cat_d": holes(rng.choice([0, 19_000, -400], rows), pl.Int32).cast(pl.Date),
            "cat_ts": holes(rng.choice([0, 1_700_000_000_123_456], rows), pl.Int64).cast(
                pl.Datetime("us")
            ),
            "cat_tsz": holes(rng.choice([0, 1_700_000_000_000_000], rows), pl.Int64).cast(
                pl.Datetime("us", "UTC")
            ),
            "cat_dec": holes(np.round(rng.choice([0.1, 2.0, -3.25], rows), 2), pl.Decimal(8, 2)),
            "empty": pl.Series([None] * rows, dtype=pl.String),
            "tags": [[int(v)] for v in rng.integers(0, 3, rows)],
        }
    )


def _on_edges(data: pl.DataFrame, reference: Profile) -> pl.DataFrame:
    """`data` plus rows whose values sit exactly on the reference's edges and discrete values,
    and a category the reference never saw: the values an engine most easily misplaces."""
    picks: dict[str, pl.Series] = {}
    for name, column in reference.columns.items():
        binning, dtype = column.binning, data.schema[name]
        if binning.kind is Kind.categorical:
            continue
        numbers = pl.Series([*binning.edges, *binning.values], dtype=pl.Float64)
        if dtype == pl.Date:
            picks[name] = (numbers // 86_400_000_000).cast(pl.Int32).cast(pl.Date)
        elif isinstance(dtype, pl.Datetime):
            picks[name] = numbers.cast(pl.Int64).cast(dtype)
        else:
            picks[name] = numbers.cast(dtype, strict=False)
    size = max(len(s) for s in picks.values())
    edges = pl.DataFrame(
        {name: s.extend_constant(s[0], size - len(s)) for name, s in picks.items()}
    )
    unseen = pl.DataFrame({"s": ["never-seen"] * size})
    return pl.concat([data, pl.concat([edges, unseen], how="horizontal")], how="diagonal_relaxed")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """ref.parquet, its kldrift profile, and cur.parquet with on-edge values and new categories."""
    root = tmp_path_factory.mktemp("spark-data")
    paths = {name: root / name for name in ("ref.parquet", "cur.parquet", "ref.json")}
    _data(20_000, seed=1).write_parquet(paths["ref.parquet"], row_group_size=2_000)
    result = CliRunner().invoke(
        app,
        ["profile", str(paths["ref.parquet"]), "-o", str(paths["ref.json"]), "--top-k", "8"]
        + [f"--categorical={c}" for c in CATEGORICAL],
    )
    assert result.exit_code == 0, result.output
    reference = profile_file.load(paths["ref.json"])
    current = _on_edges(_data(15_000, seed=2, shift=0.4), reference)
    current.write_parquet(paths["cur.parquet"], row_group_size=2_000)
    return paths


def _profile_cli(*args: str) -> str:
    result = CliRunner().invoke(app, ["profile", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_bins_from_counts_equal_kldrift_byte_for_byte(session, files, tmp_path):
    ours, theirs = tmp_path / "polars.json", tmp_path / "spark.json"
    common = [str(files["cur.parquet"]), "--bins-from", str(files["ref.json"])]
    _profile_cli(*common, "-o", str(ours))
    master = session.sparkContext.master
    _profile_cli(*common, "--engine", "spark", "--spark-master", master, "-o", str(theirs))
    assert theirs.read_bytes() == ours.read_bytes()
    # The comparison is worth something: the data hits edges, tails and the other bins.
    profile = profile_file.load(theirs)
    assert profile.rows > 15_000
    assert profile.columns["s"].counts[-2] > 0  # "(new)": the unseen category
    for tailed in ("s", "s_odd", "cat_i16"):  # "(other)": the tail, counted by one IN
        assert profile.columns[tailed].binning.rest and profile.columns[tailed].counts[-3] > 0
    assert profile.columns["f64"].counts[-1] > 0  # "(null)": nulls and NaN
    assert {c.binning.method for c in profile.columns.values()} == {
        "quantile",
        "discrete",
        "categories",
    }


def test_fitted_profile_equals_kldrift_beyond_the_fit_sample(session, tmp_path):
    # More rows than FIT_SAMPLE_ROWS: both must fit on the same every-k-th-row sample.
    path = tmp_path / "big.parquet"
    # The columns whose bins come from the sample, and a float category holding -0.0.
    kept = ["id", "i8", "i64", "f32", "f64", "f64_discrete", "dec", "d", "ts", "tsz", "s"]
    kept.append("cat_f64")
    _data(120_000, seed=3).select(kept).write_parquet(path, row_group_size=20_000)
    options = Options(top_k=8, categorical=("cat_f64",))
    ours = profile_data(path.as_posix(), options=options)
    df = session.read.parquet(path.as_posix())
    theirs = spark.profile(df, options=options, source=path.as_posix())
    assert df.rdd.getNumPartitions() > 1
    assert profile_file.dumps(theirs) == profile_file.dumps(ours)
    # Increasing across the partitions' boundaries, as kldrift sees the file row by row.
    assert theirs.columns["id"].range is not None and theirs.columns["id"].range.increasing


def test_right_closed_edges_float32_and_known_counts(session, tmp_path):
    # Bucketizer would put 2.0 into [2, 3); kldrift's bins are (-inf, 2], (2, 3], (3, inf).
    reference = profile_data(
        pl.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0.0, 0.1, 0.1, 0.2]}),
        options=Options(bins=3, discrete_max=0),
    )
    assert reference.columns["x"].binning.edges == (2.0, 3.0)
    assert reference.columns["y"].binning.edges == (0.1,)
    rows = pl.DataFrame(
        {
            "x": pl.Series([2.0, 2.0, 3.0, 3.5, None, float("nan")]),
            "y": pl.Series([0.1, 0.1, 0.2, None, 0.1, float("nan")], dtype=pl.Float32),
        }
    )
    counted = spark.profile(session.createDataFrame(rows.to_arrow()), reference)
    assert counted.columns["x"].counts == (2, 1, 1, 2)
    # float32(0.1) > 0.1 in float64, but on the edge once the edge is float32 too.
    assert counted.columns["y"].counts == (3, 1, 2)
    assert counted == replace(profile_data(rows, bins_from=reference), source=spark.DATAFRAME)


def test_durations_and_naive_timestamps_ignore_the_session_time_zone(session, tmp_path):
    rows = 3_000
    rng = np.random.default_rng(5)
    frame = pl.DataFrame(
        {
            "dur": pl.Series([None, None, *rng.integers(-(10**12), 10**12, rows - 2)]).cast(
                pl.Duration("us")
            ),
            "ts": pl.Series(rng.integers(0, 2 * 10**15, rows)).cast(pl.Datetime("us")),
        }
    )
    frame.select("ts").write_parquet(tmp_path / "ts.parquet")
    frames = {  # Arrow durations become day-time intervals; Parquet keeps timestamps naive
        "dur": session.createDataFrame(frame.select("dur").to_arrow()),
        "ts": session.read.parquet(str(tmp_path / "ts.parquet")),
    }
    assert session.conf.get("spark.sql.session.timeZone") == "America/New_York"
    for name, df in frames.items():
        assert [f.dataType.simpleString() for f in df.schema] == [
            {"dur": "interval day to second", "ts": "timestamp_ntz"}[name]
        ]
        reference = profile_data(frame.select(name), options=Options(bins=7))
        assert spark.profile(df, reference) == replace(reference, source=spark.DATAFRAME)
        fitted = spark.profile(df, options=Options(bins=7))
        assert replace(fitted, source="<DataFrame>") == reference


def test_missing_column_and_unreadable_source_are_one_line_errors(session, files, tmp_path):
    df = session.read.parquet(str(files["cur.parquet"])).drop("f64")
    with pytest.raises(ColumnError, match="no column 'f64', which the profile bins"):
        spark.profile(df, str(files["ref.json"]))
    result = CliRunner().invoke(
        app,
        ["profile", str(tmp_path / "absent.parquet"), "--engine", "spark", "-o", "x.json"]
        + ["--spark-master", session.sparkContext.master],
    )
    assert result.exit_code == 2
    assert "absent.parquet" in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    with pytest.raises(InputError, match="no_such_table"):
        spark.read(session, "no_such_table").count()


def test_categories_match_polars_labels_across_types_and_tables(session):
    # A profile made on strings, counted on integers: polars bins 7 by its label "7", and
    # "01" is no integer's label; the same rows read through a table name count alike.
    reference = profile_data(
        pl.DataFrame({"n": ["7", "7", "01", "1", "x", None]}), options=Options(top_k=2)
    )
    assert reference.columns["n"].binning.values == ("7", "01")
    assert reference.columns["n"].binning.rest == ("1", "x")
    rows = pl.DataFrame({"n": pl.Series([7, 7, 1, 1, 1, 8, None], dtype=pl.Int64)})
    session.createDataFrame(rows.to_arrow()).createOrReplaceTempView("kldrift_numbers")
    master = session.sparkContext.master
    counted = spark.profile_data("kldrift_numbers", master=master, bins_from=reference)
    # "7", "01", "(other)" (the tail: 1), "(new)" (8), "(null)"
    assert counted.columns["n"].counts == (2, 0, 3, 1, 1)
    ours = profile_data(rows, bins_from=reference)
    assert counted == replace(ours, source="kldrift_numbers")


@pytest.mark.parametrize("missing", ["pyspark", "pyarrow"])
def test_the_spark_engine_without_its_extra_is_a_one_line_error(tmp_path, monkeypatch, missing):
    data = tmp_path / "x.csv"
    data.write_text("x\n1\n")
    monkeypatch.setitem(sys.modules, missing, None)  # `import` now raises ImportError
    result = CliRunner().invoke(
        app, ["profile", str(data), "--engine", "spark", "-o", str(tmp_path / "p")]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"kldrift: error: --engine spark needs {missing}: pip install 'kldrift[spark]'\n"
    )
    assert not (tmp_path / "p").exists()


def test_spark_master_needs_the_spark_engine(tmp_path):
    result = CliRunner().invoke(
        app, ["profile", "x.parquet", "--spark-master", "local[1]", "-o", str(tmp_path / "p")]
    )
    assert result.exit_code == 2
    assert "--spark-master needs --engine spark, got 'local[1]'" in result.stderr


def test_cli_fits_on_its_own_spark_like_kldrift(tmp_path):
    # A real `kldrift profile --engine spark` process: it starts its own Spark and fits bins.
    data = tmp_path / "data.parquet"
    _data(2_000, seed=7).select("f64", "s", "d", "cat_f64").write_parquet(data)
    options = ["--top-k", "8", "--categorical=cat_f64"]
    _profile_cli(str(data), *options, "-o", str(tmp_path / "polars.json"))
    spark_run = [sys.executable, "-m", "kldrift", "profile", str(data), *options]
    spark_run += ["--engine", "spark", "--spark-master", "local[1]", "-o", "spark.json"]
    env = {**os.environ, "SPARK_LOCAL_IP": LOOPBACK}
    done = subprocess.run(spark_run, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("spark.json: ")
    assert (tmp_path / "spark.json").read_bytes() == (tmp_path / "polars.json").read_bytes()


def test_hive_partition_keys_are_left_out_as_kldrift_leaves_them(session, tmp_path):
    # A Hive tree (date=.../part.parquet): the key is a column to both engines, and both leave
    # it out of a fitted profile unless it is named.
    root = tmp_path / "hive"
    data = _data(3_000, seed=5).select("f64", "s")
    for i, day in enumerate(["2026-11-01", "2026-11-02", "2026-11-03"]):
        (root / f"date={day}").mkdir(parents=True)
        data.slice(i * 1_000, 1_000).write_parquet(root / f"date={day}" / "part-0.parquet")
    master = session.sparkContext.master
    for named in ([], ["--columns", "f64,date"]):
        ours, theirs = tmp_path / "polars.json", tmp_path / "spark.json"
        _profile_cli(str(root), "--top-k", "8", *named, "-o", str(ours))
        spark_args = ["--engine", "spark", "--spark-master", master, "-o", str(theirs)]
        _profile_cli(str(root), "--top-k", "8", *named, *spark_args)
        assert theirs.read_bytes() == ours.read_bytes()
        columns = set(profile_file.load(theirs).columns)
        assert columns == ({"f64", "date"} if named else {"f64", "s"})
    df = session.read.parquet(str(root))
    assert spark.hive_keys(df) == ("date",)


@pytest.fixture(scope="session")
def connect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark Connect server (on a local[1] Spark) on a free loopback port: its sc:// URL."""
    home = tmp_path_factory.mktemp("spark-connect")
    spark_home = Path(pyspark.__file__).parent
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": LOOPBACK}
    port = _free_port()
    log = home / "connect.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", str(spark_home / "bin" / "spark-submit"), "--master", "local[1]"]
            + ["--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
            + ["--conf", f"spark.connect.grpc.binding.address={LOOPBACK}"]
            + ["--conf", f"spark.connect.grpc.binding.port={port}"]
            + ["--conf", f"spark.driver.host={LOOPBACK}", "--conf", "spark.ui.enabled=false"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while b"Spark Connect server started" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Spark Connect server did not start; see {log}")
            time.sleep(0.25)
        yield f"sc://{LOOPBACK}:{port}"
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def _kldrift(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A `kldrift` process in `cwd`, its Spark on loopback."""
    return subprocess.run(
        [sys.executable, "-m", "kldrift", *args],
        cwd=cwd,
        env={**os.environ, "SPARK_LOCAL_IP": LOOPBACK},
        capture_output=True,
        text=True,
    )


def test_spark_connect_profiles_equal_kldrift_byte_for_byte(connect, files, tmp_path):
    # Fitted bins, then counts on a profile's bins, each through a real Spark Connect server.
    options = ["--top-k", "8", *(f"--categorical={c}" for c in CATEGORICAL)]
    ref, cur = str(files["ref.parquet"]), str(files["cur.parquet"])
    engine = ["--engine", "spark", "--spark-master", connect]
    fitted = _kldrift("profile", ref, *options, *engine, "-o", "ref.json", cwd=tmp_path)
    assert (fitted.returncode, fitted.stderr) == (0, "")
    assert (tmp_path / "ref.json").read_bytes() == files["ref.json"].read_bytes()
    bins = ["--bins-from", str(files["ref.json"])]
    _profile_cli(cur, *bins, "-o", str(tmp_path / "polars.json"))
    counted = _kldrift("profile", cur, *bins, *engine, "-o", "cur.json", cwd=tmp_path)
    assert (counted.returncode, counted.stderr) == (0, "")
    assert (tmp_path / "cur.json").read_bytes() == (tmp_path / "polars.json").read_bytes()


def test_a_spark_master_of_no_known_form_is_refused_before_spark_starts(tmp_path):
    for master in ("host:7077", "local[x]", "local[0]", "spark:/host:7077"):
        result = CliRunner().invoke(
            app,
            ["profile", "x.parquet", "--engine", "spark", "--spark-master", master]
            + ["-o", str(tmp_path / "p.json")],
        )
        assert result.exit_code == 2
        assert result.stderr == (
            "kldrift: error: --spark-master must be a Spark master (local[N], spark://HOST:PORT,"
            f" yarn, k8s://URL) or sc://HOST:PORT, got '{master}'\n"
        )
    for master in ("local", "local[*]", "local[4, 2]", "local-cluster[2, 1, 512]", "yarn"):
        spark.check_master(master)
    spark.check_master("k8s://https://host:443")


def test_a_spark_master_is_shown_without_its_credentials():
    assert spark.shown_master("sc://me:pw@host:15002/;token=SECRET") == "sc://host:15002"
    assert spark.shown_master("spark://a:7077,b:7077") == "spark://a:7077,b:7077"
    assert spark.shown_master("k8s://https://u:p@host:443") == "k8s://https://host:443"


def test_a_spark_session_that_does_not_start_is_one_line(tmp_path):
    # yarn without HADOOP_CONF_DIR: spark-submit refuses it and its JVM exits at once.
    env = {k: v for k, v in os.environ.items() if k not in ("HADOOP_CONF_DIR", "YARN_CONF_DIR")}
    (tmp_path / "x.csv").write_text("x\n1\n")
    args = ["profile", "x.csv", "--engine", "spark", "--spark-master", "yarn", "-o", "p.json"]
    done = subprocess.run(
        [sys.executable, "-m", "kldrift", *args],
        cwd=tmp_path,
        env={**env, "SPARK_LOCAL_IP": LOOPBACK},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    # Above it, spark-submit's own complaint (its JVM writes to the same stderr).
    assert "HADOOP_CONF_DIR or YARN_CONF_DIR must be set" in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "kldrift: error: yarn: no Spark session: "
        "Java gateway process exited before sending its port number"
    )
    assert "Traceback" not in done.stderr and not (tmp_path / "p.json").exists()


def test_a_spark_connect_server_nobody_listens_on_is_one_line_at_once(tmp_path):
    # pyspark's client would retry it for ten minutes; nothing there is starting up.
    with socket.socket() as unused:
        unused.bind((LOOPBACK, 0))
        port = unused.getsockname()[1]
    (tmp_path / "x.csv").write_text("x\n1\n")
    master = f"sc://me:pw@{LOOPBACK}:{port}/;token=SECRET"
    args = ["profile", "x.csv", "--engine", "spark", "--spark-master", master, "-o", "p.json"]
    proxies = ("grpc_proxy", "https_proxy", "http_proxy")
    env = {k: v for k, v in os.environ.items() if k.lower() not in proxies}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "kldrift", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert time.monotonic() - started < 60
    assert done.returncode == 2
    assert done.stderr == (
        f"kldrift: error: sc://{LOOPBACK}:{port}: no Spark session: cannot connect: "
        "Connection refused\n"
    )
    assert not (tmp_path / "p.json").exists()


def test_a_spark_connect_server_is_probed_unless_a_proxy_reaches_it(monkeypatch):
    tried = []

    def refuse(address, timeout):
        tried.append((address, timeout))
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in ("grpc_proxy", "https_proxy", "http_proxy"):
        for variable in (name, name.upper()):
            monkeypatch.delenv(variable, raising=False)
    with pytest.raises(
        InputError, match=r"^sc://host: no Spark session: cannot connect: timed out$"
    ):
        spark.check_connect_server("sc://host/;token=x")
    assert tried == [(("host", 15002), 10.0)]
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    spark.check_connect_server("sc://host:443")
    assert len(tried) == 1


def test_spark_connect_without_its_client_packages_is_one_line(connect, tmp_path):
    (tmp_path / "x.csv").write_text("x\n1\n")
    # This process has pyspark[connect]; the run sees no grpc, as without the extra. (A file,
    # not `python -c`: pyspark takes a __main__ without __file__ for its doctests.)
    (tmp_path / "run.py").write_text(
        "import sys\nsys.modules['grpc'] = None\nfrom kldrift.cli import run\nrun()\n"
    )
    args = ["profile", "x.csv", "--engine", "spark", "--spark-master", f"{connect}/;token=SECRET"]
    done = subprocess.run(
        [sys.executable, "run.py", *args, "-o", "p.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "kldrift: error: --spark-master needs Spark Connect's client packages: "
        f"pip install 'kldrift[spark-connect]', got '{connect}'\n"
    )


def _csv_text(rows: int, seed: int, separator: str) -> str:
    """A CSV whose columns kldrift types as Int64, Float64, String, Boolean, Date, Datetime."""
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "id": np.arange(rows),
            "small": rng.integers(0, 9, rows),
            "x": np.round(rng.normal(0, 1, rows), 4),
            "city": rng.choice(["Zürich", "Malmö", "Paris", "Köln"], rows),
            "flag": rng.random(rows) < 0.3,
            "day": pl.date_range(
                date(2024, 1, 1), date(2024, 1, 1) + timedelta(rows - 1), eager=True
            ),
            "at": pl.datetime_range(
                datetime(2024, 1, 1),
                datetime(2024, 1, 1) + timedelta(minutes=rows - 1),
                "1m",
                eager=True,
            ),
        }
    ).with_columns(x=pl.when(pl.col("id") % 17 == 0).then(None).otherwise(pl.col("x")))
    return frame.write_csv(separator=separator)


def test_a_local_csv_reads_on_spark_as_kldrift_reads_it(session, tmp_path):
    # A ";"-separated Latin-1 file: kldrift's separator, encoding and column types on Spark.
    path = tmp_path / "semi.csv"
    path.write_bytes(_csv_text(3_000, seed=8, separator=";").encode("latin-1"))
    read_options = ReadOptions(encoding="latin-1")
    options = Options(top_k=8)
    ours = profile_data(str(path), options=options, read_options=read_options)
    assert dict(ours.schema)["small"] == "Int64" and dict(ours.schema)["day"] == "Date"
    master = session.sparkContext.master
    theirs = spark.profile_data(
        str(path), master=master, options=options, read_options=read_options
    )
    assert profile_file.dumps(theirs) == profile_file.dumps(ours)
    counted = spark.profile_data(
        str(path), master=master, bins_from=ours, read_options=read_options
    )
    assert counted == profile_data(str(path), bins_from=ours, read_options=read_options)


def test_a_csv_spark_reads_elsewhere_gets_spark_types_with_integers_widened(session, tmp_path):
    # A file:// URL is not a path on this machine to kldrift: Spark infers the types. (Not
    # those of naive datetimes: Spark reads them as instants in the session's time zone.)
    path = tmp_path / "comma.csv"
    text = pl.read_csv(_csv_text(2_000, seed=9, separator=",").encode()).drop("at").write_csv()
    path.write_text(text)
    ours = profile_data(str(path), options=Options(top_k=8))
    url = path.as_uri()
    theirs = spark.profile_data(url, master=session.sparkContext.master, options=Options(top_k=8))
    assert replace(theirs, source=str(path)) == ours


def test_a_csv_in_an_encoding_spark_cannot_read_is_refused(session, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("x\n1\n")
    with pytest.raises(OptionError, match=r"encoding is not one Spark reads CSV in \(utf-8, "):
        spark.read(session, str(path), ReadOptions(encoding="cp1252"))
