"""Reading from object stores and URLs: a local S3 server (moto) and a local HTTPS server."""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import http.server
import ipaddress
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import numpy as np
import polars as pl
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from moto.server import ThreadedMotoServer

from kldrift import remote
from kldrift.errors import InputError, OptionError
from kldrift.io import ReadOptions, scan_table

from .conftest import compare_json, run_cli, without_new_values

BUCKET = "kldrift-test"
REGION = "us-east-1"
#: A failure must be reported before polars' default retries would give up (2-4 s for one store
#: error, far more with exponential backoff on a refused endpoint); this is a behaviour check, not a
#: speed claim, so it leaves room for a loaded CI runner (a quiet machine takes 0.2-0.5 s).
FAST = 3.0


@pytest.fixture
def closed() -> Iterator[str]:
    """An endpoint on 127.0.0.1 that refuses connections: a port held bound but not listening,
    so no other process on this shared machine can start a server there meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(15)
    n = 2_000

    def frame(shift: float, countries: list[str], start: dt.date) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "income": rng.lognormal(10 + shift, 0.5, n),
                "age": rng.integers(18, 90, n),
                "country": rng.choice(countries, n),
                "signup": [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 300, n)],
            }
        )

    ref = frame(0.0, ["DE", "FR", "US"], dt.date(2025, 1, 1))
    cur = frame(0.3, ["DE", "FR", "US", "BR"], dt.date(2025, 3, 1))
    return ref, cur


@dataclass(frozen=True)
class Store:
    """The local S3 server, the files put on it (also kept locally) and its credentials."""

    endpoint: str
    local: Path
    key_id: str
    secret: str
    denied_key_id: str
    denied_secret: str


def _write_local(root: Path) -> None:
    ref, cur = _frames()
    for name, frame in [("ref", ref), ("cur", cur)]:
        frame.write_parquet(root / f"{name}.parquet")
        frame.write_csv(root / f"{name}.csv", separator=";")
        frame.write_ndjson(root / f"{name}.ndjson")
        (root / f"{name}-latin1.csv").write_bytes(
            frame.write_csv().encode().replace(b"DE", b"D\xc9")
        )
        (root / f"{name}.csv.gz").write_bytes(gzip.compress(frame.write_csv().encode()))
        # Latin-1 in the header line only, which polars' scan does not check.
        (root / f"{name}-latin1-header.csv").write_bytes(
            frame.write_csv().encode().replace(b"country", b"pa\xefs", 1)
        )
        (root / "csv-parts").mkdir(exist_ok=True)
        frame.write_csv(root / "csv-parts" / f"{name}.csv")
        parts = root / f"{name}-parts"
        parts.mkdir()
        for i, chunk in enumerate(frame.iter_slices(700)):
            chunk.write_parquet(parts / f"part-{i}.parquet")
        # A Hive tree: one directory per day, the day only in the path.
        days = pl.int_range(0, pl.len()) % 3
        dated = frame.with_columns(day=pl.date(2026, 11, 1) + pl.duration(days=days))
        for (day,), part in dated.partition_by("day", as_dict=True).items():
            folder = root / f"{name}-hive" / f"day={day}"
            folder.mkdir(parents=True)
            part.drop("day").write_parquet(folder / "part-0.parquet")


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """moto's S3 server on a free loopback port, with IAM checks on: one user may read the
    bucket, another may not."""
    local = tmp_path_factory.mktemp("s3-data")
    _write_local(local)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    admin = {"aws_access_key_id": "admin", "aws_secret_access_key": "admin"}
    try:
        iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION, **admin)
        keys = {}
        for user, actions in [("reader", ["s3:*"]), ("stranger", ["sqs:ListQueues"])]:
            iam.create_user(UserName=user)
            policy = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }
            iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy))
            keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
        client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **admin)
        client.create_bucket(Bucket=BUCKET)
        for path in sorted(local.rglob("*")):
            if path.is_file():
                client.upload_file(str(path), BUCKET, path.relative_to(local).as_posix())
        # From here on every request must be signed by a known key with the right policy.
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=5).raise_for_status()
        yield Store(
            endpoint,
            local,
            keys["reader"]["AccessKeyId"],
            keys["reader"]["SecretAccessKey"],
            keys["stranger"]["AccessKeyId"],
            keys["stranger"]["SecretAccessKey"],
        )
    finally:
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"inf", timeout=5)
        server.stop()


@pytest.fixture
def aws_env(s3: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The standard AWS_* variables pointing at the local server, nothing else from the host."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    monkeypatch.setenv("AWS_REGION", REGION)
    return s3


def _without_sources(document: dict[str, object]) -> dict[str, object]:
    # polars lists an object store's files itself, so a remote report names none.
    document = {**document, "current": {**document["current"], "files": None}}  # type: ignore[dict-item]
    text = json.dumps(document)
    for side in ("reference", "current"):
        source = document[side]["source"]  # type: ignore[index]
        text = text.replace(json.dumps(source), '"<source>"')
    result: dict[str, object] = json.loads(text)
    return result


def _same_report(remote_args: list[str], local_args: list[str]) -> dict[str, object]:
    on_s3, on_disk = compare_json(*remote_args), compare_json(*local_args)
    assert on_s3["reference"]["source"] == remote_args[0]  # type: ignore[index]
    assert _without_sources(on_s3) == _without_sources(on_disk)
    return on_s3


def _columns(document: dict[str, object]) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in document["columns"]}  # type: ignore[attr-defined]


def test_parquet_on_s3_gives_the_local_report(aws_env: Store) -> None:
    local = aws_env.local
    document = _same_report(
        [f"s3://{BUCKET}/ref.parquet", f"s3://{BUCKET}/cur.parquet"],
        [str(local / "ref.parquet"), str(local / "cur.parquet")],
    )
    assert set(_columns(document)) == {"income", "age", "country", "signup"}
    assert _columns(document)["income"]["status"] == "drift"


def test_csv_on_s3_is_sniffed_and_dated_as_locally(aws_env: Store) -> None:
    local = aws_env.local
    document = _same_report(
        [f"s3://{BUCKET}/ref.csv", f"s3://{BUCKET}/cur.csv"],
        [str(local / "ref.csv"), str(local / "cur.csv")],
    )
    # ";" was sniffed (else one column), and the dates were read as dates.
    assert set(_columns(document)) == {"income", "age", "country", "signup"}
    table = scan_table(f"s3://{BUCKET}/ref.csv")
    assert table.schema["signup"] == pl.Date


@pytest.mark.parametrize("suffix", ["ndjson", "csv.gz"])
def test_ndjson_and_gzip_on_s3(aws_env: Store, suffix: str) -> None:
    local = aws_env.local
    _same_report(
        [f"s3://{BUCKET}/ref.{suffix}", f"s3://{BUCKET}/cur.{suffix}"],
        [str(local / f"ref.{suffix}"), str(local / f"cur.{suffix}")],
    )


def test_glob_and_prefix_on_s3(aws_env: Store) -> None:
    local = aws_env.local
    _same_report(
        [f"s3://{BUCKET}/ref-parts/*.parquet", f"s3://{BUCKET}/cur-parts/"],
        [str(local / "ref-parts"), str(local / "cur-parts/*.parquet")],
    )
    assert scan_table(f"s3://{BUCKET}/ref-parts").frame.select(pl.len()).collect().item() == 2000


def test_hive_tree_on_s3_reads_keys_without_comparing_them(aws_env: Store) -> None:
    local = aws_env.local
    table = scan_table(f"s3://{BUCKET}/cur-hive/")
    assert table.schema["day"] == pl.Date
    assert table.partitions == ("day",)
    document = _same_report(
        [f"s3://{BUCKET}/ref-hive/", f"s3://{BUCKET}/cur-hive/"],
        [str(local / "ref-hive"), str(local / "cur-hive")],
    )
    assert "day" not in _columns(document)
    code, out, err = run_cli(
        "compare",
        f"s3://{BUCKET}/ref.parquet",
        f"s3://{BUCKET}/cur-hive/",
        "--time-column",
        "day",
        "--every",
        "1d",
        "-f",
        "json",
    )
    assert code in (0, 1), err
    windows = json.loads(out)["windows"]
    assert [w["start"] for w in windows] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert sum(w["rows"] for w in windows) == 2000
    assert "day" not in windows[0]["columns"]


def test_profile_of_s3_data_stands_in_for_it(aws_env: Store, tmp_path: Path) -> None:
    out = tmp_path / "ref.kldrift.json"
    code, _, err = run_cli("profile", f"s3://{BUCKET}/ref.parquet", "-o", str(out))
    assert code == 0, err
    assert json.loads(out.read_text())["source"] == f"s3://{BUCKET}/ref.parquet"
    from_profile = compare_json(str(out), f"s3://{BUCKET}/cur.parquet")
    from_data = compare_json(f"s3://{BUCKET}/ref.parquet", f"s3://{BUCKET}/cur.parquet")
    assert _without_sources(from_profile) == _without_sources(from_data)
    # Profiles kept on the store: as REFERENCE, as --bins-from, and as CURRENT.
    client = boto3.client(
        "s3",
        endpoint_url=aws_env.endpoint,
        region_name=REGION,
        aws_access_key_id=aws_env.key_id,
        aws_secret_access_key=aws_env.secret,
    )
    client.upload_file(str(out), BUCKET, "profiles/ref.kldrift.json")
    ref = f"s3://{BUCKET}/profiles/ref.kldrift.json"
    cur = tmp_path / "cur.kldrift.json"
    code, _, err = run_cli("profile", f"s3://{BUCKET}/cur.csv", "--bins-from", ref, "-o", str(cur))
    assert code == 0, err
    client.upload_file(str(cur), BUCKET, "profiles/cur.kldrift.json")
    both = compare_json(ref, f"s3://{BUCKET}/profiles/cur.kldrift.json")
    assert both["reference"]["source"] == ref  # type: ignore[index]
    assert _without_sources(both) == without_new_values(_without_sources(from_data))


def _kldrift(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """kldrift in a process of its own: polars keeps its clients and credentials per process,
    so a test that changes the AWS_* variables must not share them with the others."""
    command = [sys.executable, "-m", "kldrift", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_storage_options_replace_the_environment(s3: Store, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_REGION"] = REGION
    flags = [
        f"--storage-option=aws_endpoint_url={s3.endpoint}",
        "--storage-option=aws_allow_http=true",
        f"--storage-option=aws_access_key_id={s3.key_id}",
        f"--storage-option=aws_secret_access_key={s3.secret}",
    ]
    ref, cur = f"s3://{BUCKET}/ref.parquet", f"s3://{BUCKET}/cur.parquet"
    run = _kldrift("compare", ref, cur, *flags, env=env)
    assert run.returncode == 1, run.stderr
    # The same from the config file.
    (tmp_path / "kldrift.toml").write_text(
        "[storage_options]\n"
        f'aws_endpoint_url = "{s3.endpoint}"\n'
        "aws_allow_http = true\n"
        f'aws_access_key_id = "{s3.key_id}"\n'
        f'aws_secret_access_key = "{s3.secret}"\n'
    )
    run = _kldrift("compare", ref, cur, "--config", str(tmp_path / "kldrift.toml"), env=env)
    assert run.returncode == 1, run.stderr


def _error(*args: str) -> str:
    start = time.perf_counter()
    code, out, err = run_cli(*args)
    elapsed = time.perf_counter() - start
    assert code == 2, (out, err)
    assert elapsed < FAST, f"{elapsed:.1f} s"
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_missing_key_and_bucket(aws_env: Store) -> None:
    uri = f"s3://{BUCKET}/nope.parquet"
    assert (
        _error("compare", uri, f"s3://{BUCKET}/cur.parquet")
        == f"kldrift: error: {uri}: no such key (not found on the server)"
    )
    other = "s3://no-such-bucket/ref.parquet"
    assert "no such bucket" in _error("compare", f"s3://{BUCKET}/ref.parquet", other)
    assert "no files match" in _error("compare", f"s3://{BUCKET}/nothing-here/", other)


def test_bad_and_insufficient_credentials(aws_env: Store) -> None:
    uri = f"s3://{BUCKET}/ref.parquet"
    # Given as storage options: polars keeps a client per set of options within a process.
    unknown = [
        "--storage-option=aws_access_key_id=AKIANOSUCHKEY",
        "--storage-option=aws_secret_access_key=x",
    ]
    message = _error("compare", uri, uri, *unknown)
    assert (
        message
        == f"kldrift: error: {uri}: access denied (check the credentials and their permissions)"
    )
    denied = [
        f"--storage-option=aws_access_key_id={aws_env.denied_key_id}",
        f"--storage-option=aws_secret_access_key={aws_env.denied_secret}",
    ]
    message = _error("compare", uri, uri, *denied)
    assert "access denied" in message and aws_env.denied_secret not in message


def test_bad_credentials_from_the_environment(aws_env: Store) -> None:
    uri = f"s3://{BUCKET}/ref.parquet"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIANOSUCHKEY", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
    run = _kldrift("compare", uri, uri, env=env)
    assert run.returncode == 2, run.stderr
    denied = "access denied (check the credentials and their permissions)"
    assert run.stderr == f"kldrift: error: {uri}: {denied}\n"


@pytest.mark.parametrize("name", ["ref.csv", "ref.parquet"])
def test_unreachable_endpoint_is_reported_at_once(aws_env: Store, name: str, closed: str) -> None:
    uri = f"s3://{BUCKET}/{name}"
    message = _error(
        "compare", uri, f"s3://{BUCKET}/cur.parquet", f"--storage-option=aws_endpoint_url={closed}"
    )
    assert message == f"kldrift: error: {uri}: cannot connect (unreachable endpoint: {closed})"


def test_monitor_reads_s3(aws_env: Store, tmp_path: Path) -> None:
    history = str(tmp_path / "history.db")
    cur, ref = f"s3://{BUCKET}/cur.parquet", f"s3://{BUCKET}/ref.parquet"
    code, _, err = run_cli("monitor", cur, "--reference", ref, "--history", history)
    assert code == 1, err
    code, out, err = run_cli("history", history, "-f", "json")
    assert code == 0, err
    assert cur in out and ref in out


def test_invalid_utf8_on_s3_is_reported_as_locally(aws_env: Store) -> None:
    uri = f"s3://{BUCKET}/ref-latin1.csv"
    message = _error("compare", uri, uri)
    local = _error("compare", str(aws_env.local / "ref-latin1.csv"), uri)
    assert message.startswith(f"kldrift: error: {uri}: not valid UTF-8 text; choose an --encoding")
    assert message.replace(uri, "<source>") == local.split(" (at byte")[0].replace(
        str(aws_env.local / "ref-latin1.csv"), "<source>"
    )
    lossy = compare_json(uri, uri, "--encoding", "utf8-lossy")
    assert lossy["summary"]["columns_compared"] == 4  # type: ignore[index]
    # Was read with the name decoded leniently ('pa\ufffds'): not what a local file gives.
    header = f"s3://{BUCKET}/ref-latin1-header.csv"
    message = _error("compare", header, header)
    local = _error("compare", str(aws_env.local / "ref-latin1-header.csv"), header)
    assert message == (
        f"kldrift: error: {header}: not valid UTF-8 text; choose an --encoding (e.g. latin-1,"
        " cp1252 or utf8-lossy)"
    )
    assert local.startswith(f"kldrift: error: {aws_env.local / 'ref-latin1-header.csv'}: not val")


def test_storage_option_errors(aws_env: Store) -> None:
    uri = f"s3://{BUCKET}/ref.parquet"
    message = _error("compare", uri, uri, "--storage-option", "oops")
    assert message == "kldrift: error: --storage-option must be KEY=VALUE, got 'oops'"
    message = _error("compare", uri, uri, "--storage-option", "=s3cr3t")
    assert message == "kldrift: error: --storage-option must be KEY=VALUE"
    message = _error("compare", uri, uri, "--storage-option", "max_retries=many")
    expected = "--storage-option value of max_retries must be a number, got 'many'"
    assert message == f"kldrift: error: {expected}"


@pytest.mark.parametrize("option", ["aws_region=eu\x1b[31m", "aws_session_token=s3cr3t\n"])
def test_a_storage_option_with_a_control_character_is_refused_before_polars_panics(
    aws_env: Store, tmp_path: Path, option: str
) -> None:
    # The object-store client panicked on the header: a Rust backtrace, and exit code 1.
    uri = f"s3://{BUCKET}/ref.parquet"
    key = option.partition("=")[0]
    expected = f"value of {key} must hold no control character (a line end, an escape)"
    message = _error("compare", uri, uri, "--storage-option", option)
    assert message == f"kldrift: error: --storage-option {expected}"
    config = tmp_path / "kldrift.toml"
    config.write_text(f"[storage_options]\n{key} = {json.dumps(option.partition('=')[2])}\n")
    message = _error("compare", uri, uri, "--config", str(config))
    assert message == f"kldrift: error: {config}: storage_options: {expected}"
    assert "s3cr3t" not in message


@pytest.mark.parametrize(
    ("uri", "shown", "reason"),
    [
        ("https://u:s3cr3t@[x/a.csv", "https://<malformed URI>", "Invalid IPv6 URL"),
        (
            "s3://bucket:xx/a.parquet",
            "s3://bucket:xx/a.parquet",
            "Port could not be cast to integer value as 'xx'",
        ),
        (
            "s3://u:s3cr3t@bucket:99999/a.parquet",
            "s3://bucket:99999/a.parquet",
            "Port out of range 0-65535",
        ),
    ],
)
@pytest.mark.parametrize("side", ["reference", "current", "output"])
def test_a_malformed_uri_is_a_one_line_error(
    tmp_path: Path, uri: str, shown: str, reason: str, side: str
) -> None:
    local = str(tmp_path / "a.csv")
    Path(local).write_text("x\n1\n2\n")
    args = {
        "reference": [uri, local],
        "current": [local, uri],
        "output": [local, local, "-o", uri],
    }[side]
    said = "reports are written to local files" if side == "output" else f"malformed URI: {reason}"
    message = _error("compare", *args)
    assert message.startswith(f"kldrift: error: {shown}: {said}")
    assert "s3cr3t" not in message


def test_unsupported_scheme_and_remote_encoding() -> None:
    assert "unsupported URI scheme 'ftp'" in _error("compare", "ftp://host/a.csv", "b.csv")
    with pytest.raises(OptionError, match="others are for local files"):
        scan_table("s3://bucket/a.csv", ReadOptions(encoding="latin-1"))


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        (
            "https://user:pa55@example.org/data.csv?sig=s3cr3t&se=1",
            "https://example.org/data.csv?…",
        ),
        ("az://container/path/x.parquet", "az://container/path/x.parquet"),
        ("s3://key:secret@bucket/x.parquet", "s3://bucket/x.parquet"),
        ("abfss://fs@acct.dfs.core.windows.net/x/", "abfss://fs@acct.dfs.core.windows.net/x/"),
        ("abfss://fs:key@acct.dfs.core.windows.net/x", "abfss://acct.dfs.core.windows.net/x"),
        ("https://token@example.org/x.csv", "https://example.org/x.csv"),
        ("http://u:p@[::1]:9000/x.csv", "http://[::1]:9000/x.csv"),
        ("https://u:p@[x/a.csv", "https://<malformed URI>"),
        ("s3://u:p@bucket:99999/x.parquet", "s3://bucket:99999/x.parquet"),
        ("http://u:p@[::1]:abc/x.csv?sig=s", "http://[::1]:abc/x.csv?…"),
        ("data/local.csv", "data/local.csv"),
    ],
)
def test_redact_drops_credentials(uri: str, shown: str) -> None:
    assert remote.redact(uri) == shown


def test_scrub_keeps_one_line_without_credentials() -> None:
    text = (
        "object-store error: Generic error performing GET https://u:p@h/x.csv?sig=abc in 1ms:"
        ' <?xml version="1.0"?><Error><Code>X</Code></Error> (path: https://u:p@h/x.csv?sig=abc)'
        "\n\nCaused by:\n 0: more"
    )
    assert remote.scrub(text) == (
        "object-store error: Generic error performing GET https://h/x.csv?… in 1ms:"
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # Digits of a status code inside a port or a timing decide nothing.
        ("object-store error: GET https://127.0.0.1:40403/x in 1.401ms - 404 Not Found", "no such"),
        ("object-store error: GET http://127.0.0.1:44041/x in 2.404ms - 403 Forbidden", "denied"),
        (
            "object-store error: GET http://127.0.0.1:54030/x - HTTP error: connection refused",
            "connect",
        ),
    ],
)
def test_store_errors_are_told_apart_by_their_status(text: str, kind: str) -> None:
    error = remote.read_error("s3://b/x", OSError(text))
    assert error is not None and kind in str(error)


def test_error_names_the_uri_without_credentials() -> None:
    uri = "https://user:pa55@127.0.0.1:9/data.parquet?sig=s3cr3t"
    error = remote.read_error(uri, FileNotFoundError("object-store error: not found"))
    assert isinstance(error, InputError)
    assert (
        str(error) == "https://127.0.0.1:9/data.parquet?…: no such file (not found on the server)"
    )


# HTTPS: a range-capable server with a certificate signed by a CA made for the test, trusted
# through SSL_CERT_FILE (read by polars' TLS client), with verification left on.


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with byte ranges (bytes=A-B, A-, -N), as object stores and CDNs do."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_head(self):  # type: ignore[no-untyped-def]
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return None
        size = os.path.getsize(path)
        handle = open(path, "rb")  # noqa: SIM115 - closed by the base class after copyfile
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if match:
            first, last = match.groups()
            start = max(size - int(last), 0) if not first else int(first)
            end = min(int(last), size - 1) if first and last else size - 1
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            handle.seek(start)
            self.length = end - start + 1
        else:
            self.send_response(200)
            self.length = size
        self.send_header("Content-Length", str(self.length))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return handle

    def copyfile(self, source, outputfile):  # type: ignore[no-untyped-def]
        try:
            outputfile.write(source.read(self.length))
        except (ConnectionError, ssl.SSLError):
            pass  # polars cancels the ranges it prefetched once it has what it needs


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA certificate, and a certificate and key for 127.0.0.1 signed by it."""
    now = dt.datetime.now(dt.timezone.utc)

    def build(subject: str, issuer: str, public, signer, ca: bool):  # type: ignore[no-untyped-def]
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build("kldrift test CA", "kldrift test CA", ca_key.public_key(), ca_key, True)
    leaf = build("127.0.0.1", "kldrift test CA", key.public_key(), ca_key, False)
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@dataclass(frozen=True)
class Site:
    url: str
    local: Path
    ca: Path


@pytest.fixture(scope="session")
def https_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    local = tmp_path_factory.mktemp("https-data")
    _write_local(local)
    ca, cert, key = _certificates(tmp_path_factory.mktemp("tls"))
    handler = functools.partial(_RangeHandler, directory=str(local))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"https://127.0.0.1:{server.server_address[1]}", local, ca)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def trusted(https_site: Site, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.setenv("SSL_CERT_FILE", str(https_site.ca))
    return https_site


def test_https_range_server_serves_ranges(trusted: Site) -> None:
    response = requests.get(
        f"{trusted.url}/ref.csv", headers={"Range": "bytes=0-5"}, verify=trusted.ca, timeout=5
    )
    assert response.status_code == 206
    assert response.content == (trusted.local / "ref.csv").read_bytes()[:6]


@pytest.mark.parametrize("name", ["parquet", "csv"])
def test_https_gives_the_local_report(trusted: Site, name: str) -> None:
    ref, cur = f"ref.{name}", f"cur.{name}"
    _same_report(
        [f"{trusted.url}/{ref}", f"{trusted.url}/{cur}"],
        [str(trusted.local / ref), str(trusted.local / cur)],
    )


def test_https_missing_file(trusted: Site) -> None:
    uri = f"{trusted.url}/nope.parquet"
    assert (
        _error("compare", uri, uri)
        == f"kldrift: error: {uri}: no such file (not found on the server)"
    )


def test_region_lookup_silences_only_polars_region_warning() -> None:
    # polars' own wording (from its Rust client), raised when S3 has no region set.
    with remote.region_lookup():
        warnings.warn(
            "'(default_)region' not set; polars will try to get it from bucket",
            UserWarning,
            stacklevel=1,
        )
    with pytest.raises(UserWarning), remote.region_lookup():
        warnings.warn("another warning", UserWarning, stacklevel=1)


def test_azure_uri_reaches_its_endpoint(closed: str) -> None:
    options = [
        "--storage-option=azure_storage_account_name=devaccount",
        "--storage-option=azure_storage_account_key=c2VjcmV0",
        f"--storage-option=azure_endpoint={closed}",
        "--storage-option=azure_allow_http=true",
    ]
    uri = "abfss://data@devaccount.dfs.core.windows.net/ref.parquet"
    message = _error("compare", uri, uri, *options)
    assert message == f"kldrift: error: {uri}: cannot connect (unreachable endpoint: {closed})"
    assert "c2VjcmV0" not in message


def test_a_csv_prefix_asks_for_a_glob(aws_env: Store) -> None:
    message = _error("compare", f"s3://{BUCKET}/csv-parts", f"s3://{BUCKET}/cur.parquet")
    assert message.endswith(
        f"(a prefix is read as Parquet; for other files give a glob: s3://{BUCKET}/csv-parts/*.csv)"
    )


def test_profiles_are_written_locally(aws_env: Store) -> None:
    message = _error("profile", f"s3://{BUCKET}/ref.parquet", "-o", f"s3://{BUCKET}/p.kldrift.json")
    assert message == (
        f"kldrift: error: s3://{BUCKET}/p.kldrift.json: profiles are written to local files; "
        "upload the file to the store after"
    )


def test_config_storage_options_must_be_a_table(tmp_path: Path) -> None:
    config = tmp_path / "kldrift.toml"
    config.write_text('storage_options = "aws_region=eu-west-1"\n')
    message = _error("compare", "s3://b/r.parquet", "s3://b/c.parquet", "--config", str(config))
    assert message == (
        f"kldrift: error: {config}: storage_options: expected a table of KEY = VALUE, "
        "got 'aws_region=eu-west-1' (str)"
    )
