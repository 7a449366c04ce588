"""Drift alerts: a JSON summary POSTed to a webhook, with a timeout and retries with backoff.

A token for the webhook comes from the environment (TOKEN_ENV) and is sent as a bearer header;
it is never part of a payload, a message or the history. Messages show the URL without its
credentials, query string or fragment.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from kldrift import jsonvalues
from kldrift.__version__ import __version__
from kldrift.errors import OptionError, WebhookError
from kldrift.jsonvalues import json_value
from kldrift.result import DriftReport

#: Environment variable holding a token sent as "Authorization: Bearer <token>".
TOKEN_ENV = "KLDRIFT_WEBHOOK_TOKEN"
#: Seconds to wait for the webhook to answer one attempt.
DEFAULT_TIMEOUT = 10.0
#: Attempts after the first one; waits between them double from DEFAULT_BACKOFF seconds.
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 1.0


def check_url(url: str) -> None:
    """Raise OptionError unless `url` is an http(s) URL with a host."""
    try:
        parts = urllib.parse.urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # urlsplit refuses some malformed URLs outright, e.g. "http://[x"
        valid = False
    if not valid:
        raise OptionError(
            "webhook", redact(url), "must be an http:// or https:// URL", shown=repr(redact(url))
        )


def redact(url: str) -> str:
    """`url` without user, password, query string or fragment, safe to show."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host += f":{parts.port}"
    except ValueError:
        return "<invalid URL>"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def payload(
    reports: Sequence[DriftReport], run_ids: Sequence[int] = ()
) -> dict[str, Any]:
    """The alert body: overall status and, per run, the drifted columns and breaking changes.

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

    Connection errors, timeouts, 429 and 5xx answers are retried `retries` times, waiting
    backoff, 2*backoff, ... seconds; other answers are final. Raises WebhookError when no attempt
    succeeded, with a message that holds neither the URL's secrets nor the token.
    """
    data = jsonvalues.dumps(body, ascii_only=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"kldrift/{__version__}"}
    token = os.environ.get(TOKEN_ENV)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    shown = redact(url)
    problem = ""
    for attempt in range(retries + 1):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code} {exc.reason}"
            if exc.code != 429 and exc.code < 500:
                break
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            problem = "timed out" if isinstance(reason, TimeoutError) else str(reason)
    attempts = attempt + 1
    message = f"webhook {shown}: {problem} ({attempts} attempt{'s' if attempts > 1 else ''})"
    raise WebhookError(_scrub(message, url, shown, token))


def _scrub(message: str, url: str, shown: str, token: str | None) -> str:
    # Belt and braces: library messages should not echo the URL or token, but never trust that.
    for secret in (url if url != shown else None, token):
        if secret:
            message = message.replace(secret, "***")
    return message
