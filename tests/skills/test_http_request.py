"""skills/http-request.md through the engine against a local http.server in a thread:
statuses, JSON vs text, charsets, Retry-After, redirects, timeouts, size caps and secret
headers kept out of the trace notebook."""

from __future__ import annotations

import base64
import email.utils
import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from skill_nodes import error, outputs, run_node

from llmos_jupyter._redact import REDACTED

FLAKY: dict[str, int] = {}
FLAKY_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep the test output clean
        pass

    def send(self, status, body=b"", content_type="text/plain; charset=utf-8", extra=()):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except OSError:  # the client gave up (timeout tests)
                pass

    def handle_any(self):
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        received = self.rfile.read(length) if length else b""
        if path == "/echo":
            self.send(200, json.dumps({
                "method": self.command, "path": path, "query": query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": received.decode("utf-8")}).encode(), "application/json")
        elif path == "/json":
            self.send(200, b'{"energy": -1.137, "atoms": ["H", "H"]}', "application/json")
        elif path == "/problem":
            self.send(200, b'{"ok": true}', "application/problem+json")
        elif path == "/bad-json":
            self.send(200, b'{"ok": tru', "application/json")
        elif path == "/nan-json":
            self.send(200, b'{"x": NaN}', "application/json")
        elif path == "/text":
            self.send(200, "héllo ✓".encode(), "text/plain; charset=utf-8")
        elif path == "/latin1":
            self.send(200, b"caf\xe9", "text/plain; charset=iso-8859-1")
        elif path == "/not-utf8":
            self.send(200, b"ok \xff\xfe end", "application/octet-stream")
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            extra = [("Retry-After", query["retry"][0])] if "retry" in query else []
            self.send(status, b'{"error": "nope"}\n  second line', "application/json", extra)
        elif path == "/flaky":  # 503 (Retry-After 0) for the first `fail` calls per key
            with FLAKY_LOCK:
                key = query["key"][0]
                FLAKY[key] = FLAKY.get(key, 0) + 1
                calls = FLAKY[key]
            if calls <= int(query["fail"][0]):
                self.send(503, b"busy", extra=[("Retry-After", "0")])
            else:
                self.send(200, json.dumps({"calls": calls}).encode(), "application/json")
        elif path == "/redirect":
            self.send(302, b"", None, [("Location", "/json")])
        elif path == "/loop":
            self.send(302, b"", None, [("Location", "/loop")])
        elif path == "/cookie":
            self.send(200, b"set", extra=[("Set-Cookie", "session=cookie-secret-4567; HttpOnly")])
        elif path == "/slow":
            time.sleep(1.5)
            self.send(200, b"late")
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "40")
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
        elif path == "/big":
            self.send(200, b"a" * 5000)
        elif path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"3e8\r\n" + b"b" * 1000 + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/gzip-bomb":
            self.send(200, gzip.compress(b"\0" * 2_000_000), "text/plain",
                      [("Content-Encoding", "gzip")])
        else:
            self.send(404, b"no such path")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_json_response_is_parsed(server):
    out = outputs("http-request", url=f"{server}/json")
    assert out["status"] == 200
    assert out["json"] == {"energy": -1.137, "atoms": ["H", "H"]}
    assert out["text"] == '{"energy": -1.137, "atoms": ["H", "H"]}'
    assert out["headers"]["content-type"] == "application/json"
    assert outputs("http-request", url=f"{server}/problem")["json"] == {"ok": True}


def test_text_and_charsets(server):
    out = outputs("http-request", url=f"{server}/text")
    assert (out["json"], out["text"]) == (None, "héllo ✓")
    assert outputs("http-request", url=f"{server}/latin1")["text"] == "café"
    assert outputs("http-request", url=f"{server}/not-utf8")["text"] == "ok \ufffd\ufffd end"


def test_method_query_headers_and_bodies_are_sent(server):
    out = outputs("http-request", url=f"{server}/echo?fixed=1", method="POST",
                  query={"q": "H2", "n": 3, "flag": True, "multi": ["a", "b"]},
                  headers={"X-Trace": "abc", "X-Number": 7}, json={"bond": 0.735})
    sent = out["json"]
    assert sent["method"] == "POST"
    assert sent["query"] == {"fixed": ["1"], "q": ["H2"], "n": ["3"], "flag": ["true"],
                             "multi": ["a", "b"]}
    assert sent["headers"]["x-trace"] == "abc" and sent["headers"]["x-number"] == "7"
    assert sent["headers"]["content-type"] == "application/json"
    assert json.loads(sent["body"]) == {"bond": 0.735}
    raw = outputs("http-request", url=f"{server}/echo", method="PUT", body="plain ü",
                  headers={"Content-Type": "text/plain; charset=utf-8"})["json"]
    assert (raw["method"], raw["body"]) == ("PUT", "plain ü")
    head = outputs("http-request", url=f"{server}/json", method="HEAD")
    assert (head["status"], head["text"], head["json"]) == (200, "", None)


def test_error_status_fails_with_one_clear_line(server):
    message = error("http-request", url=f"{server}/status/404")
    assert message == (f"HttpStatusError: HTTP 404 Not Found from GET {server}/status/404: "
                       '{"error": "nope"} second line')
    out = outputs("http-request", url=f"{server}/status/500", allow_error_status=True)
    assert out["status"] == 500 and out["json"] is None  # invalid JSON tolerated on errors


def test_retry_after_seconds_and_date_are_exposed(server):
    message = error("http-request", url=f"{server}/status/503?retry=2")
    assert "HTTP 503 Service Unavailable" in message and "(Retry-After 2 s)" in message
    future = email.utils.formatdate(time.time() + 120, usegmt=True)
    _, node = run_node("http-request", url=f"{server}/status/429?retry={future}")
    assert node.status == "failed" and "HTTP 429 Too Many Requests" in node.error
    assert "(Retry-After 1" in node.error  # about 120 s


def test_http_status_error_carries_retry_after_s(server):
    from skill_nodes import fresh_execute

    execute = fresh_execute("http-request")
    with pytest.raises(Exception) as caught:
        execute({"url": f"{server}/status/503?retry=7"})
    exc = caught.value
    assert type(exc).__name__ == "HttpStatusError"
    assert (exc.status, exc.reason, exc.retry_after_s) == (503, "Service Unavailable", 7.0)
    assert exc.url == f"{server}/status/503?retry=7"
    with pytest.raises(Exception) as caught:
        execute({"url": f"{server}/status/404?retry=7"})
    assert caught.value.retry_after_s is None  # only 429 and 503 carry a delay
    past = email.utils.formatdate(time.time() - 3600, usegmt=True)
    with pytest.raises(Exception) as caught:
        execute({"url": f"{server}/status/429?retry={past}"})
    assert caught.value.retry_after_s == 0.0
    with pytest.raises(Exception) as caught:
        execute({"url": f"{server}/status/429?retry=soon"})
    assert caught.value.retry_after_s is None


def test_the_engine_retry_policy_retries_http_status_errors(server):
    from skill_nodes import system_library

    from llmos_jupyter import Engine, Workflow

    def run(key, fail, on):
        wf = Workflow(id="retry", name="retry")
        node = wf.add_node("http-request", id="n",
                           params={"url": f"{server}/flaky?key={key}&fail={fail}"})
        node.data_extra["retry"] = {"attempts": 3, "backoff_s": 0, "on": on}
        return Engine(system_library(), max_workers=1).run(wf, trace=False).nodes["n"]

    node = run("a", 2, ["HttpStatusError"])
    assert node.status == "completed" and node.outputs["json"] == {"calls": 3}
    assert node.attempts == 3
    node = run("b", 5, ["HttpStatusError"])
    assert node.status == "failed" and node.attempts == 3 and "HTTP 503" in node.error
    node = run("c", 1, ["TimeoutError"])  # another error type: not retried
    assert node.status == "failed" and node.attempts == 1


def test_retry_delay_honours_retry_after(server):
    from skill_nodes import fresh_execute

    from llmos_jupyter._engine.control import RetryPolicy

    with pytest.raises(Exception) as caught:
        fresh_execute("http-request")({"url": f"{server}/status/503?retry=7"})
    policy = RetryPolicy({"attempts": 3, "backoff_s": 1, "on": ["HttpStatusError"]})
    assert policy.matches(caught.value)
    assert policy.delay(1, caught.value) == 7.0  # max(backoff 1 s, Retry-After 7 s)
    assert policy.delay(4, caught.value) == 8.0  # backoff 1·2³ is longer


def test_redirects(server):
    out = outputs("http-request", url=f"{server}/redirect")
    assert out["status"] == 200 and out["json"]["energy"] == -1.137
    out = outputs("http-request", url=f"{server}/redirect", follow_redirects=False)
    assert out["status"] == 302 and out["headers"]["location"] == "/json"
    assert error("http-request", url=f"{server}/loop") == \
        f"ConnectionError: GET {server}/loop: too many redirects"


def test_timeouts(server):
    assert error("http-request", url=f"{server}/slow", timeout_s=0.2) == \
        f"TimeoutError: GET {server}/slow: no response within 0.2 s"
    # each byte arrives in time, the whole body does not: the exchange has one deadline
    message = error("http-request", url=f"{server}/drip", timeout_s=0.5)
    assert message.startswith("TimeoutError: GET ") and "within 0.5 s" in message


def test_connection_errors_are_named(server):
    port = int(server.rsplit(":", 1)[1])
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert free != port
    message = error("http-request", url=f"http://127.0.0.1:{free}/x", timeout_s=2)
    assert message.startswith(f"ConnectionError: GET http://127.0.0.1:{free}/x: ConnectError")


@pytest.mark.parametrize("path", ["/big", "/big-chunked", "/gzip-bomb"])
def test_response_size_is_capped(server, path):
    message = error("http-request", url=f"{server}{path}", max_response_bytes=1000)
    assert message.startswith("ValueError: GET ") and "max_response_bytes = 1000" in message
    if path != "/gzip-bomb":
        assert len(outputs("http-request", url=f"{server}{path}")["text"]) >= 5000


@pytest.mark.parametrize("params, fragment", [
    ({"url": "ftp://example.org/x"}, "absolute http:// or https:// URL"),
    ({"url": "/relative"}, "absolute http:// or https:// URL"),
    ({"url": "file:///etc/passwd"}, "absolute http:// or https:// URL"),
    ({"url": "http://h/", "json": {"a": 1}, "body": "x"}, "either json or body"),
    ({"url": "http://h/", "headers": {"X-A": "v\r\nInjected: 1"}}, "CR, LF, NUL are refused"),
    ({"url": "http://h/", "headers": {"X-A": {"nested": 1}}}, "must be a string"),
    ({"url": "http://h/", "query": {"a": {"b": 1}}}, "must be a string, number or boolean"),
])
def test_bad_inputs(params, fragment):
    message = error("http-request", **params)
    assert message.startswith("ValueError: ") and fragment in message


def test_methods_outside_the_enum_are_refused_before_running():
    from llmos_jupyter import WorkflowInvalid

    with pytest.raises(WorkflowInvalid, match="'TRACE' is not one of 'GET'"):
        run_node("http-request", url="http://h/", method="TRACE")
    with pytest.raises(WorkflowInvalid, match="0 s is below the minimum 0.001 s"):
        run_node("http-request", url="http://h/", timeout_s=0)


def test_invalid_json_bodies(server):
    assert "is not valid JSON" in error("http-request", url=f"{server}/bad-json")
    assert "NaN is not a JSON value" in error("http-request", url=f"{server}/nan-json")


def test_secrets_stay_out_of_the_trace_and_errors(server, llmos_home):
    token = "Bearer tok-9f8e7d6c5b4a-secret"
    key = "apikey-0123456789-zyx"
    host = server.replace("http://", "")
    run, node = run_node("http-request", trace=True,
                         url=f"{server}/echo?access_token=qs-secret-777",
                         headers={"Authorization": token, "X-Api-Key": key, "Accept": "*/*"})
    assert node.status == "completed", node.error
    echoed = node.outputs["json"]["headers"]
    assert echoed["authorization"] == token and echoed["x-api-key"] == key  # really sent
    assert echoed["accept"] == "*/*"
    text = Path(run.trace).read_text(encoding="utf-8")
    for secret in (token, key, "qs-secret-777", "tok-9f8e7d6c5b4a-secret"):
        assert secret not in text, secret
    assert REDACTED in text and "Accept" in text
    # URL credentials: sent as Basic auth, absent from the trace in either form
    run, node = run_node("http-request", trace=True, url=f"http://alice:pw-hunter22@{host}/echo")
    basic = node.outputs["json"]["headers"]["authorization"]
    assert basic == "Basic " + base64.b64encode(b"alice:pw-hunter22").decode()
    text = Path(run.trace).read_text(encoding="utf-8")
    assert "pw-hunter22" not in text and basic.split()[1] not in text
    assert "credentials either in the URL or in an Authorization header" in error(
        "http-request", url=f"http://alice:pw-hunter22@{host}/echo",
        headers={"authorization": "Bearer x"})
    # a failing request: the error shows the URL without credentials
    run, node = run_node("http-request", trace=True,
                         url=f"http://bob:pw-second-9@{host}/status/401?api_key=k-secret-88")
    assert node.error.startswith(f"HttpStatusError: HTTP 401 Unauthorized from GET "
                                 f"http://{host}/status/401?api_key={REDACTED}")
    text = Path(run.trace).read_text(encoding="utf-8")
    assert "pw-second-9" not in text and "k-secret-88" not in text


def test_response_cookies_are_redacted_in_the_trace(server):
    run, node = run_node("http-request", trace=True, url=f"{server}/cookie")
    assert node.outputs["headers"]["set-cookie"].startswith("session=cookie-secret-4567")
    assert "cookie-secret-4567" not in Path(run.trace).read_text(encoding="utf-8")


def test_the_skill_declares_the_network_capability():
    from skill_nodes import system_library

    skill = system_library().get("http-request")
    assert skill.frontmatter["capabilities"] == ["network"]
    assert "httpx" in skill.requires


def test_http_to_json_query_to_template_and_sql_pipeline(server, tmp_path, monkeypatch):
    """The §7 pipeline wired through one engine run: HTTP → JSON query → template, and
    the query's result bound as the parameters of an INSERT into a SQLite file."""
    import sqlite3

    from skill_nodes import system_library

    from llmos_jupyter import Engine, Workflow

    monkeypatch.chdir(tmp_path)
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        conn.execute("CREATE TABLE runs (energy REAL, atoms INTEGER)")
    conn.close()
    wf = Workflow(id="http-to-sql", name="HTTP to SQL")
    wf.add_node("http-request", id="fetch", params={"url": f"{server}/json"})
    wf.add_node("json-query", id="pick",
                params={"expression": "{energy: energy, atoms: length(atoms)}"})
    wf.add_node("template", id="report",
                params={"template": "E = {{ '%.4f' | format(data.energy) }} Ha, "
                                    "{{ data.atoms }} atoms"})
    wf.add_node("sql-query", id="store", params={
        "url": "sqlite:///runs.db", "allow_write": True,
        "query": "INSERT INTO runs (energy, atoms) VALUES (:energy, :atoms)"})
    wf.connect("fetch", "json", "pick", "data")
    wf.connect("pick", "result", "report", "data")
    wf.connect("pick", "result", "store", "parameters")
    result = Engine(system_library(), max_workers=2).run(wf, trace=False)
    assert result.status == "completed", {n: r.error for n, r in result.nodes.items()}
    assert result["pick"]["result"] == {"energy": -1.137, "atoms": 2}
    assert result["report"]["text"] == "E = -1.1370 Ha, 2 atoms"
    assert result["store"]["row_count"] == 1
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        assert conn.execute("SELECT energy, atoms FROM runs").fetchall() == [(-1.137, 2)]
    conn.close()
