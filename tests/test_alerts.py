"""Webhook alerts against local servers on 127.0.0.1: success, redirects, credentials, retries,
deadlines and servers that do not speak HTTP."""

import base64
import json
import re
import socket
import threading
import time
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
        self.location: str | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests.append((dict(self.headers), json.loads(body)))
                if server.hold:
                    server.release.wait(10)
                self.send_response(server.status)
                if server.location:
                    self.send_header("Location", server.location)
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


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("http://user:pw@127.0.0.1:{port}/hook?key=abc", None),
        ("http://127.0.0.1:{port}/hook?key=abc", "s3cret-token"),
    ],
)
def test_server_down_retries_with_backoff_then_fails(monkeypatch, url, token):
    if token:
        monkeypatch.setenv(alerts.TOKEN_ENV, token)
    waits = []
    url = url.format(port=_closed_port())
    with pytest.raises(alerts.WebhookError) as caught:
        alerts.post(url, {"a": 1}, timeout=1, retries=3, backoff=0.25, sleep=waits.append)
    assert waits == [0.25, 0.5, 1.0]
    message = str(caught.value)
    assert "(4 attempts)" in message and message.count("\n") == 0
    for secret in ("pw", "abc", "s3cret-token", "user"):
        assert secret not in message


def test_slow_server_times_out_and_is_retried(server):
    server.hold = True
    with pytest.raises(alerts.WebhookError, match="timed out after 0.2 s \\(2 attempts\\)"):
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
    assert alerts.redact("https://u:p@hooks.example/x/y?token=t#f") == "https://hooks.example/x/y?…"
    alerts.check_url("https://hooks.example/x")
    with pytest.raises(OptionError, match="http:// or https://"):
        alerts.check_url("ftp://hooks.example/x")


def test_the_token_never_follows_a_redirect_to_another_origin(server, monkeypatch):
    # Same host, another port: another origin, which must not see the token.
    monkeypatch.setenv(alerts.TOKEN_ENV, "s3cret-token")
    elsewhere = _Server()
    try:
        server.status, server.location = 307, elsewhere.url + "?moved=1"
        assert alerts.post(server.url, {"a": 1}, retries=0) == 200
        ((first, _),) = server.requests
        ((second, body),) = elsewhere.requests
        assert first["Authorization"] == "Bearer s3cret-token"
        assert "Authorization" not in second and body == {"a": 1}  # the POST and its body kept
    finally:
        elsewhere.close()


def test_a_redirect_within_the_origin_keeps_the_credentials(server):
    server.status, server.location = 308, "/moved"
    url = server.url.replace("http://", "http://alice:s%40cret@")
    with pytest.raises(alerts.WebhookError, match="more than 5 redirects"):
        alerts.post(url, {}, retries=0)
    expected = "Basic " + base64.b64encode(b"alice:s@cret").decode()
    assert len(server.requests) == 6
    assert {headers["Authorization"] for headers, _ in server.requests} == {expected}


def test_a_redirect_that_would_turn_the_post_into_a_get_is_an_error(server):
    server.status, server.location = 301, "http://u:pw@127.0.0.1:1/new?sig=x"
    with pytest.raises(alerts.WebhookError) as caught:
        alerts.post(server.url, {}, retries=2, sleep=lambda _: None)
    message = str(caught.value)
    assert "HTTP 301" in message and "to http://127.0.0.1:1/new" in message
    assert "(1 attempt)" in message and "pw" not in message and "sig" not in message


def test_basic_auth_from_the_url_reaches_the_server_and_its_password_is_never_shown(server):
    url = server.url.replace("http://", "http://alice:pa%3Ass@")
    assert alerts.post(url, {"a": 1}) == 200
    ((headers, _),) = server.requests
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"alice:pa:ss").decode()
    server.status = 500
    with pytest.raises(alerts.WebhookError) as caught:
        alerts.post(url, {"a": 1}, retries=0)
    assert "pa%3Ass" not in str(caught.value) and "pa:ss" not in str(caught.value)
    assert str(caught.value).startswith(f"webhook {server.url}: HTTP 500")


@pytest.mark.parametrize("password", ["t", "pt"])
def test_a_short_password_is_not_cut_out_of_the_words_of_the_message(server, password):
    server.status = 500
    url = server.url.replace("http://", f"http://alice:{password}@")
    with pytest.raises(alerts.WebhookError) as caught:
        alerts.post(url, {"a": 1}, retries=0)
    assert str(caught.value) == f"webhook {server.url}: HTTP 500 Internal Server Error (1 attempt)"


def test_the_credentials_are_scrubbed_from_what_an_attempt_met():
    url = "https://alice:s3cret@hooks.example/x?sig=abc"
    problem = f"cannot use {url}, alice:s3cret@hooks.example, s3cret and tok"
    assert alerts._scrub(problem, url, "tok") == "cannot use ***, ***@hooks.example, *** and ***"
    assert alerts._scrub("refused by alice:pw@host", "https://alice:pw@host/x") == (
        "refused by ***@host"
    )


def test_credentials_in_the_url_and_a_token_at_once_are_refused(monkeypatch):
    monkeypatch.setenv(alerts.TOKEN_ENV, "tok")
    with pytest.raises(OptionError, match="give one") as caught:
        alerts.check("https://u:secret@hooks.example/x")
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("timeout", [float("inf"), float("nan"), 0.0, -1.0, 1e9])
def test_unusable_timeouts_are_refused(timeout):
    with pytest.raises(OptionError, match="webhook_timeout must be seconds in"):
        alerts.check("https://hooks.example/x", timeout=timeout)


def _whole_request(data: bytes) -> bool:
    """Whether `data` holds a request's head and its Content-Length of body. A server that
    closes with part of the body unread makes the client's socket answer with a reset, which
    kldrift rightly retries: the tests below would then see two attempts, now and then."""
    head, end, body = data.partition(b"\r\n\r\n")
    if not end:
        return False
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return len(body) >= (int(length.group(1)) if length else 0)


class _RawServer:
    """A TCP server on 127.0.0.1 that reads a request and answers with `answer` bytes as given,
    `pause` seconds between chunks; it serves at most `limit` connections, for at most 10 s."""

    def __init__(self, answer: list[bytes], pause: float = 0.0, limit: int = 3):
        self.answer, self.pause, self.connections = answer, pause, 0
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)  # short, so the thread sees `stop` soon after close()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.thread = threading.Thread(target=self._serve, args=(limit,), daemon=True)
        self.thread.start()

    def _serve(self, limit):
        deadline = time.monotonic() + 10
        while self.connections < limit and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                if self.stop.is_set():
                    return
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(10)
                data = b""
                while not _whole_request(data):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                try:
                    for chunk in self.answer:
                        if self.stop.wait(self.pause):
                            return
                        conn.sendall(chunk)
                except OSError:
                    pass  # the client hung up, as it should when it gives up

    def close(self):
        self.stop.set()
        self.thread.join(10)
        self.sock.close()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([b"garbage\r\n\r\n"], "not an HTTP/1.x answer"),
        ([b"hello, this is HTTP/0.9"], "not an HTTP/1.x answer"),
        ([b"HTTP/1.1 abc OK\r\n\r\n"], "not an HTTP/1.x answer"),
        ([b"HTTP/1.1 200 " + b"x" * 70_000 + b"\r\n\r\n"], "a line over 64 KiB"),
        ([b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70_000 + b"\r\n\r\n"], "a line over 64 KiB"),
        ([b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 101 + b"\r\n"], "more than 100 headers"),
        ([b"HTTP/1.1 404 \x1b[31mred\x00\r\n\r\n"], "HTTP 404 ?[31mred?"),
    ],
)
def test_answers_that_are_not_http_are_one_line_and_not_retried(answer, message):
    raw = _RawServer(answer)
    try:
        with pytest.raises(alerts.WebhookError) as caught:
            alerts.post(raw.url, {}, timeout=5, retries=2, sleep=lambda _: None)
    finally:
        raw.close()
    text = str(caught.value)
    assert message in text and "(1 attempt)" in text
    assert text.isprintable() and len(text) < 300
    assert raw.connections == 1


def test_a_server_that_drips_its_answer_cannot_outlast_the_deadline():
    # One byte per 0.1 s: every read succeeds, so per-read timeouts alone would never fire.
    status = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 200 + b"\r\n\r\n"
    raw = _RawServer([bytes([b]) for b in status], pause=0.1)
    try:
        start = time.monotonic()
        with pytest.raises(alerts.WebhookError, match="timed out after 0.5 s \\(1 attempt\\)"):
            alerts.post(raw.url, {}, timeout=0.5, retries=0)
        elapsed = time.monotonic() - start
    finally:
        raw.close()
    assert elapsed < 5  # the whole answer would take 22 s
