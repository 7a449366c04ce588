"""Remote sources: object-store and HTTP(S) URIs, their storage options, and their errors.

polars reads these itself (its Rust object_store client), with credentials from the standard
environment variables (AWS_*, GOOGLE_*, AZURE_*) and any storage options given. Names shown in
messages and reports never carry credentials: see `redact`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import SplitResult, urlsplit, urlunsplit

import polars as pl

from kldrift.errors import InputError, OptionError

#: URI schemes polars reads natively; anything else with "://" is refused rather than guessed.
SCHEMES = ("s3", "s3a", "gs", "gcs", "az", "azure", "abfs", "abfss", "adl", "http", "https")
#: Azure schemes whose user part names the container (abfss://container@account.dfs...).
_CONTAINER_AT_ACCOUNT = ("abfs", "abfss")
#: Storage options polars itself takes (not the cloud client's); polars wants numbers for them.
_POLARS_KEYS = frozenset(
    {
        "file_cache_ttl",
        "max_retries",
        "retry_timeout_ms",
        "retry_init_backoff_ms",
        "retry_max_backoff_ms",
        "retry_base_multiplier",
    }
)
#: polars retries a failed request up to 8 times over 2-4 s by default (10 over longer for HTTP,
#: where polars 2.1 ignores these options). One quick retry still rides out a dropped
#: connection, and a missing key or a refused connection is reported at once.
DEFAULT_RETRIES: Mapping[str, int] = {
    "max_retries": 1,
    "retry_init_backoff_ms": 100,
    "retry_max_backoff_ms": 500,
}
# Status codes only with their reason phrase: bare digits turn up in ports and timings
# ("127.0.0.1:40321", "in 1.403ms").
_NOT_FOUND = re.compile(r"not found|NoSuchKey|NoSuchBucket|\b404 Not Found", re.IGNORECASE)
_DENIED = re.compile(
    r"\b403 Forbidden|\b401 Unauthorized|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|"
    r"ExpiredToken|AuthorizationFailure|lacked the necessary privileges|permission denied",
    re.IGNORECASE,
)
_UNREACHABLE = re.compile(
    r"connection refused|error sending request|dns error|failed to lookup|timed out|"
    r"tcp connect|certificate|connection reset",
    re.IGNORECASE,
)


@contextmanager
def region_lookup() -> Iterator[None]:
    """Silence polars' multi-line warning that it asks an S3 bucket for its region when none is
    set (AWS_REGION or aws_region): it finds the region, and the warning is not one line."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"'\(default_\)region' not set", category=UserWarning
        )
        yield


def is_remote(source: object) -> bool:
    """Whether `source` is a URI with a scheme ("s3://...", "https://..."), not a local path."""
    return isinstance(source, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", source) is not None


def check_scheme(uri: str) -> None:
    """Raise InputError for a URI whose scheme polars cannot read."""
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "file":
        return
    if scheme not in SCHEMES:
        raise InputError(
            f"{redact(uri)}: unsupported URI scheme {scheme!r}; expected one of "
            + ", ".join(f"{s}://" for s in SCHEMES)
        )
    try:
        _ = urlsplit(uri).port  # parsing the port is the check
    except ValueError as exc:  # "Invalid IPv6 URL", a port that is no number or out of range
        raise InputError(f"{redact(uri)}: malformed URI: {exc}") from None


def redact(uri: str) -> str:
    """`uri` without credentials: no user:password@, no query string (SAS tokens, signatures).

    A URI too malformed to split into its parts shows only its scheme, since where its
    credentials end cannot be told; a port that is no number or out of range is shown as
    written (`written_port`), so a message can say what is wrong with it."""
    if not is_remote(uri):
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:
        return f"{uri.split('://', 1)[0]}://<malformed URI>"
    port = written_port(parts)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets, or its port could not be told
    if parts.scheme.lower() in _CONTAINER_AT_ACCOUNT and parts.password is None and parts.username:
        host = f"{parts.username}@{host}"  # abfss://container@account...: a name, not a secret
    if port:
        host = f"{host}:{port}"
    query = "…" if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def written_port(parts: SplitResult) -> str:
    """The port of `parts` as written, "" if none: also one urllib refuses ("99999", "abc").

    Taken from after the last "@" of the network location, so it never holds credentials."""
    try:
        port = parts.port
    except ValueError:
        pass
    else:
        return "" if port is None else str(port)
    host = parts.netloc.rpartition("@")[2]
    if host.startswith("["):  # an IPv6 literal: the port follows its closing bracket
        return host.partition("]")[2].removeprefix(":")
    return host.partition(":")[2]


def parse_storage_options(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """KEY=VALUE pairs, in order; a later KEY wins. An OptionError shows a malformed item only
    when it holds no "=", so never a value, which may be a secret."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            shown = repr(item) if not sep else ""
            raise OptionError("storage_options", item, "must be KEY=VALUE", shown=shown)
        pairs[key] = value
    return tuple(pairs.items())


def storage_options(given: Iterable[tuple[str, str]]) -> dict[str, object]:
    """The storage options polars gets: kldrift's quick retries, overridden by `given`."""
    options: dict[str, object] = dict(DEFAULT_RETRIES)
    for key, value in given:
        options[key] = _number(key, value) if key in _POLARS_KEYS else value
    return options


def _number(key: str, value: str) -> int | float:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            rule = f"value of {key} must be a number"
            raise OptionError("storage_options", value, rule) from None


def read_error(uri: str, exc: BaseException) -> InputError | None:
    """A one-line InputError for a failure to reach or read `uri`, or None if `exc` is about the
    data rather than the store (a parse error, worded by the caller)."""
    text = str(exc)
    name = redact(uri)
    # Denial first: "The AWS Access Key Id you provided does not exist" is no missing object.
    if isinstance(exc, PermissionError) or ("object-store error" in text and _DENIED.search(text)):
        return InputError(f"{name}: access denied (check the credentials and their permissions)")
    if isinstance(exc, FileNotFoundError) or (
        "object-store error" in text and _NOT_FOUND.search(text)
    ):
        what = "bucket" if "NoSuchBucket" in text or "ContainerNotFound" in text else "key"
        if uri.lower().startswith(("http://", "https://")):
            what = "file"
        return InputError(f"{name}: no such {what} (not found on the server)")
    if "expanded paths were empty" in text:
        return InputError(f"{name}: no files match this pattern or prefix")
    if isinstance(exc, (ConnectionError, TimeoutError)) or _UNREACHABLE.search(text):
        reason = "invalid certificate" if "certificate" in text else "unreachable endpoint"
        return InputError(f"{name}: cannot connect ({reason}{_endpoint(text)})")
    if "object-store error" in text or isinstance(exc, OSError):
        return InputError(f"{name}: cannot read: {scrub(text)}")
    return None


def _endpoint(text: str) -> str:
    # "Error performing GET http://127.0.0.1:1/bucket/key ..." -> the endpoint, without the path.
    match = re.search(r"(?:performing \w+ |for url \()(\w+://[^/\s)]+)", text)
    return f": {redact(match.group(1))}" if match else ""


def scrub(text: str) -> str:
    """The first line of an error message, any URI in it redacted and any XML body dropped."""
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    line = re.sub(r"<\?xml.*", "", line).strip()
    return re.sub(r"\w+://[^\s)]+", lambda m: redact(m.group(0)), line)


def read_text(uri: str, options: Mapping[str, object]) -> str:
    """The whole of a small remote text file, such as a profile."""
    return header_lines(uri, options, None)


def header_lines(
    uri: str, options: Mapping[str, object], lines: int | None, *, encoding: str = "utf8-lossy"
) -> str:
    """The first `lines` lines (None: all) of a remote text file (the first file of a glob).

    polars fetches the object in byte ranges and drops the ranges it prefetched once it has the
    lines: of an 80 MB CSV on a local HTTPS server it asked for the first 256 KiB, plus
    prefetches it cancelled. Lines are read unquoted and split on a byte text does not hold.
    With `encoding` "utf8", invalid UTF-8 in them raises polars' error, for the caller to word
    as for a local file: the scan that follows never checks the header line itself.
    """
    frame = pl.scan_csv(
        uri,
        has_header=False,
        separator="\x1f",
        quote_char=None,
        n_rows=lines,
        infer_schema=False,
        encoding="utf8-lossy" if encoding == "utf8-lossy" else "utf8",
        storage_options=dict(options),
        truncate_ragged_lines=True,
    )
    try:
        with region_lookup():
            head = frame.collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        if encoding != "utf8-lossy" and "invalid utf-8" in str(exc).lower():
            raise
        known = read_error(uri, exc)
        raise known or InputError(f"{redact(uri)}: cannot read: {scrub(str(exc))}") from None
    if head.width == 0:
        return ""
    return "\n".join(v if v is not None else "" for v in head.to_series(0).to_list())
