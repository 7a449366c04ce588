"""Webhook alerts against a local HTTP server on 127.0.0.1: success, server down, slow server."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest

from kldrift import alerts, drift
from kldrift.errors import OptionError


class _Server:
    """A local webhook that records requests; `status` is its answer, `hold` delays it."""

    def __init__(self, status: int = 200):
        self.status, self.requests = status, []
        self.release = threading.Event()
        self.hold = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests.append((dict(self.headers), json.loads(body)))
                if server.hold:
                    server.release.wait(10)
                self.send_response(server.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


def _drifted():
    return drift.compare(
        pl.DataFrame({"x": [float(i % 20) for i in range(200)]}),
        pl.DataFrame({"x": [float(i % 20) + 30 for i in range(200)]}),
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_success_posts_the_summary_with_the_token_header(server, monkeypatch):
    monkeypatch.setenv(alerts.TOKEN_ENV, "s3cret-token")
    report = _drifted()
    assert alerts.post(server.url, alerts.payload([report], [7])) == 200
    ((headers, body),) = server.requests
    assert headers["Authorization"] == "Bearer s3cret-token"
    assert body["status"] == "drift" and body["format"] == "kldrift-alert"
    assert body["runs"][0]["run_id"] == 7
    assert [c["name"] for c in body["runs"][0]["drifted_columns"]] == ["x"]
    assert "s3cret-token" not in json.dumps(body)


def test_server_down_retries_with_backoff_then_fails(monkeypatch):
    monkeypatch.setenv(alerts.TOKEN_ENV, "s3cret-token")
    waits = []
    url = f"http://user:pw@127.0.0.1:{_closed_port()}/hook?key=abc"
    with pytest.raises(alerts.WebhookError) as caught:
        alerts.post(url, {"a": 1}, timeout=1, retries=3, backoff=0.25, sleep=waits.append)
    assert waits == [0.25, 0.5, 1.0]
    message = str(caught.value)
    assert "(4 attempts)" in message
    for secret in ("pw", "abc", "s3cret-token", "user"):
        assert secret not in message


def test_slow_server_times_out_and_is_retried(server):
    server.hold = True
    with pytest.raises(alerts.WebhookError, match="timed out \\(2 attempts\\)"):
        alerts.post(server.url, {"a": 1}, timeout=0.2, retries=1, backoff=0, sleep=lambda s: None)
    assert len(server.requests) == 2


def test_client_errors_are_not_retried_but_server_errors_are():
    for status, attempts in [(404, 1), (503, 3)]:
        s = _Server(status)
        try:
            with pytest.raises(alerts.WebhookError, match=f"HTTP {status}"):
                alerts.post(s.url, {}, retries=2, backoff=0, sleep=lambda _: None)
            assert len(s.requests) == attempts
        finally:
            s.close()


def test_urls_are_checked_and_redacted():
    assert alerts.redact("https://u:p@hooks.example/x/y?token=t#f") == "https://hooks.example/x/y"
    alerts.check_url("https://hooks.example/x")
    with pytest.raises(OptionError, match="http:// or https://"):
        alerts.check_url("ftp://hooks.example/x")
