"""Drift alerts: a JSON summary POSTed to a webhook, under one deadline per attempt, with retries.

A token for the webhook comes from the environment (TOKEN_ENV) and is sent as a bearer header;
`user:password@` in the URL is sent as basic authentication instead. Credentials go only to the
URL's own scheme, host and port: a redirect elsewhere is followed without them. They are never
part of a payload, a message or the history; messages show the URL without its credentials,
query string or fragment. docs/alerts.md states the deadline and the retry policy.
"""

from __future__ import annotations

import base64
import http.client
import math
import os
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kldrift import jsonvalues, remote
from kldrift.__version__ import __version__
from kldrift.errors import OptionError, WebhookError
from kldrift.jsonvalues import json_value
from kldrift.result import DriftReport, plural
from kldrift.retry import Backoff, retry

#: Environment variable holding a token sent as "Authorization: Bearer <token>".
TOKEN_ENV = "KLDRIFT_WEBHOOK_TOKEN"
#: Seconds one attempt may take in all: connecting, sending, redirects and the answer's head.
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 3600.0
#: Attempts after the first one; waits between them double from DEFAULT_BACKOFF seconds.
DEFAULT_RETRIES = 3
MAX_RETRIES = 10
DEFAULT_BACKOFF = 1.0
#: Redirects followed within one attempt (307 and 308 only: they keep the POST and its body).
MAX_REDIRECTS = 5
#: The highest TCP port; port 0 cannot be connected to.
MAX_PORT = 65535


def check(url: str, *, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES) -> None:
    """Raise OptionError unless the webhook URL, timeout and retry count can be used."""
    check_url(url)
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise OptionError("webhook_timeout", timeout, f"must be seconds in (0, {MAX_TIMEOUT:g}]")
    if not 0 <= retries <= MAX_RETRIES:
        raise OptionError("webhook_retries", retries, f"must be 0 to {MAX_RETRIES}")


def check_url(url: str) -> None:
    """Raise OptionError unless `url` is an http(s) URL with a host, a port from 1 to 65535 if
    any, and nothing unprintable."""
    shown = redact(url)
    try:
        parts = urllib.parse.urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        valid = valid and not any(ch.isspace() or not ch.isprintable() for ch in url)
    except ValueError:  # urlsplit refuses some malformed URLs outright, e.g. "http://[x"
        valid = False
    if not valid:
        raise OptionError("webhook", shown, "must be an http:// or https:// URL", shown=repr(shown))
    port = remote.written_port(parts)
    if port and not (port.isascii() and port.isdigit()):
        raise OptionError("webhook", shown, "must have a port that is a number", shown=repr(shown))
    if port and not 1 <= int(port) <= MAX_PORT:
        rule = f"must have a port from 1 to {MAX_PORT}"
        raise OptionError("webhook", shown, rule, shown=repr(shown))
    if parts.username is not None and os.environ.get(TOKEN_ENV):
        raise OptionError(
            "webhook",
            redact(url),
            f"must not hold credentials when ${TOKEN_ENV} is set too: give one",
            shown=repr(redact(url)),
        )


def redact(url: str) -> str:
    """`url` as `remote.redact` shows a URI (no credentials, query string or fragment; a bad
    port as written), with anything unprintable as "?": safe to show."""
    return "".join(ch if ch.isprintable() else "?" for ch in remote.redact(url))


def payload(
    reports: Sequence[DriftReport], run_ids: Sequence[int] = ()
) -> dict[str, Any]:
    """The alert body: overall status and, per run, the drifted columns, breaking changes and
    drifted column pairs.

    `text` holds a one-line summary, which chat webhooks (Slack, Mattermost) display as is.
    """
    runs = []
    for i, report in enumerate(reports):
        window = report.window and {"start": report.window.start, "end": report.window.end}
        runs.append(
            {
                "run_id": run_ids[i] if i < len(run_ids) else None,
                "window": window,
                "status": report.status.value,
                "summary": report.summary,
                "drifted_columns": [
                    {"name": c.name, "kl": json_value(c.kl), "threshold": c.threshold}
                    for c in report.drifted_columns
                ],
                "schema_changes": [
                    {"column": s.column, "change": s.change} for s in report.breaking_schema_changes
                ],
                "drifted_pairs": [
                    {
                        "name": p.name,
                        "relationship": json_value(p.relationship),
                        "threshold": p.threshold,
                        "cells": [p.describe(cell) for cell in p.cells],
                    }
                    for p in report.drifted_pairs
                ],
            }
        )
    first = reports[0]
    drifted = [r for r in runs if r["status"] == "drift"]
    where = f" in {len(drifted)} of {len(runs)} windows" if len(runs) > 1 else ""
    return {
        "format": "kldrift-alert",
        "format_version": 1,
        "kldrift_version": __version__,
        "text": f"kldrift: drift{where}: {first.current} vs {first.reference}: "
        + "; ".join(str(r["summary"]) for r in drifted),
        "status": "drift" if drifted else first.status.value,
        "reference": first.reference,
        "current": first.current,
        "runs": runs,
    }


def post(
    url: str,
    body: dict[str, Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST `body` as JSON to `url`; the HTTP status of the accepted attempt.

    Each attempt ends `timeout` seconds after it began, whatever the server does (a server
    that sends one byte a second included). Connection errors, timeouts, 429 and 5xx answers
    are retried `retries` times, waiting backoff, 2*backoff, ... seconds; other answers,
    including an answer that is not HTTP/1.x, are final. Raises WebhookError when no attempt
    succeeded, with a message that holds neither the URL's secrets nor the token.
    """
    check(url, timeout=timeout, retries=retries)
    data = jsonvalues.dumps(body, ascii_only=True).encode()
    token = os.environ.get(TOKEN_ENV)
    target = _Target.of(url, token)
    attempts = 0

    def attempt() -> int:
        nonlocal attempts
        attempts += 1
        return _attempt(target, data, timeout)

    try:
        return retry(
            attempt,
            lambda exc: isinstance(exc, _Failure) and exc.retryable,
            Backoff(first=backoff, tries=retries + 1),
            sleep=sleep,
        )
    except _Failure as exc:
        problem = _scrub(str(exc), url, token, target.auth)
        message = f"webhook {redact(url)}: {problem} ({attempts} {plural(attempts, 'attempt')})"
        raise WebhookError(message) from None


class _Failure(Exception):
    """One attempt failed; `retryable` says whether another attempt may do better."""

    def __init__(self, problem: str, retryable: bool) -> None:
        super().__init__(problem)
        self.retryable = retryable


@dataclass(frozen=True)
class _Target:
    """Where a request goes, and the Authorization header that may go only to its origin."""

    scheme: str
    host: str
    port: int
    path: str
    auth: str | None

    @classmethod
    def of(cls, url: str, token: str | None = None) -> _Target:
        parts = urllib.parse.urlsplit(url)
        auth = f"Bearer {token}" if token else None
        if parts.username is not None:
            pair = f"{urllib.parse.unquote(parts.username)}:"
            pair += urllib.parse.unquote(parts.password or "")
            auth = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        default = 443 if parts.scheme == "https" else 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.scheme, parts.hostname or "", parts.port or default, path, auth)

    def follow(self, location: str) -> _Target:
        """The target a redirect names, with the credentials only if the origin is the same."""
        url = urllib.parse.urljoin(self.url, location)
        try:
            check_url(url)
            nxt = _Target.of(url)  # the Location's own user:password@ is never used
        except (OptionError, ValueError):
            raise _Failure(f"redirected to an unusable URL {redact(url)!r}", False) from None
        same = (nxt.scheme, nxt.host, nxt.port) == (self.scheme, self.host, self.port)
        return _Target(nxt.scheme, nxt.host, nxt.port, nxt.path, self.auth if same else None)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def _attempt(target: _Target, data: bytes, timeout: float) -> int:
    """One attempt, redirects included, cut off at `timeout` seconds from now."""
    # The attempt runs in a daemon thread so that nothing (a slow DNS answer, a server that
    # drips its headers) can outlast the deadline: when it passes, the connection is shut.
    outcome: list[int | BaseException] = []
    connections: list[http.client.HTTPConnection] = []
    deadline = time.monotonic() + timeout

    def work() -> None:
        try:
            outcome.append(_exchange(target, data, deadline, connections, timeout))
        except BaseException as exc:  # handed to the waiting thread
            outcome.append(exc)

    worker = threading.Thread(target=work, name="kldrift-webhook", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        for conn in connections:
            _shut(conn)
        raise _Failure(f"timed out after {timeout:g} s", True)
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _exchange(
    target: _Target,
    data: bytes,
    deadline: float,
    connections: list[http.client.HTTPConnection],
    timeout: float,
) -> int:
    for _ in range(MAX_REDIRECTS + 1):
        remaining = max(deadline - time.monotonic(), 0.001)
        conn: http.client.HTTPConnection
        if target.scheme == "https":
            context = ssl.create_default_context()
            conn = http.client.HTTPSConnection(
                target.host, target.port, timeout=remaining, context=context
            )
        else:
            conn = http.client.HTTPConnection(target.host, target.port, timeout=remaining)
        connections.append(conn)
        headers = {"Content-Type": "application/json", "User-Agent": f"kldrift/{__version__}"}
        if target.auth:
            headers["Authorization"] = target.auth
        try:
            conn.request("POST", target.path, body=data, headers=headers)
            with conn.getresponse() as response:  # the body is not needed: the status says it all
                status, reason = response.status, _printable(response.reason)
                location = response.getheader("Location")
        except http.client.RemoteDisconnected:
            raise _Failure("closed the connection without answering", True) from None
        except http.client.LineTooLong:
            raise _Failure("not a usable HTTP answer (a line over 64 KiB)", False) from None
        except http.client.BadStatusLine:
            raise _Failure("not an HTTP/1.x answer (bad status line)", False) from None
        except http.client.HTTPException as exc:
            detail = _printable(str(exc)) or type(exc).__name__
            raise _Failure(f"not a usable HTTP answer ({detail})", False) from None
        except TimeoutError:
            raise _Failure(f"timed out after {timeout:g} s", True) from None
        except ssl.SSLError as exc:
            raise _Failure(f"TLS: {exc.reason or exc}", False) from None
        except OSError as exc:
            raise _Failure(str(exc.strerror or exc), True) from None
        except (UnicodeError, ValueError) as exc:  # e.g. a host name IDNA cannot encode
            raise _Failure(f"cannot use this URL ({_printable(str(exc))})", False) from None
        finally:
            conn.close()
        if 200 <= status < 300:
            return status
        if status in (307, 308) and location:
            target = target.follow(location)
            continue
        problem = f"HTTP {status} {reason}".strip()
        if 300 <= status < 400:
            where = f" to {redact(urllib.parse.urljoin(target.url, location))}" if location else ""
            raise _Failure(f"{problem}: a redirect{where} that would drop the POST", False)
        raise _Failure(problem, status == 429 or status >= 500)
    raise _Failure(f"more than {MAX_REDIRECTS} redirects", False)


def _printable(text: str, limit: int = 80) -> str:
    """`text` on one short line, fit for a message: a server's words are not trusted."""
    return "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))[:limit]


def _shut(conn: http.client.HTTPConnection) -> None:
    # shutdown, unlike close, wakes a thread blocked reading from the socket.
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(2)
        except OSError:
            pass


def _scrub(problem: str, url: str, *secrets: str | None) -> str:
    """`problem` (what an attempt met) without the URL's credentials or the token.

    Belt and braces: the messages of the libraries under it should not echo the URL or token,
    but that is never trusted. A short password is scrubbed only with its user name ("u:pw"),
    which is how a URL would show it: alone, one or two letters would also be cut out of the
    words around it ("Connection refu***ed").
    """
    parts = urllib.parse.urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else None
    password = parts.password if parts.password and len(parts.password) >= 4 else None
    for secret in (url if url != redact(url) else None, userinfo, password, *secrets):
        if secret:
            problem = problem.replace(secret, "***")
    return problem
