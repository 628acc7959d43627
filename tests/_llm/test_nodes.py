"""The LLM workflow nodes (llm-chat, llm-structured, llm-router) through the real engine,
the real Anthropic SDK and real HTTP: a local server replays the Messages API's exact
response shapes (``POST /v1/messages``), as the LLM layer's other tests do."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from _llm.anthropic_replay import KEY, error, message, text_block, tool_use

import llmos_jupyter._llm.nodes as nodes
from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._engine.control import BRANCH_NOT_TAKEN

pytest.importorskip("anthropic")


class MessagesApi:
    """Answers each POST /v1/messages with the next scripted reply; keeps the requests."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.requests.append({"path": self.path, "body": body,
                                     "key": self.headers.get("x-api-key") or (self.headers.get("authorization") or "").removeprefix("Bearer ")})
                reply = api.script.pop(0)
                status, payload, headers = reply if isinstance(reply, tuple) else (200, reply, {})
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def api(monkeypatch):
    servers = []

    def start(*script):
        server = MessagesApi(script)
        servers.append(server)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("LLMOS_LLM_RETRIES", "1")
        monkeypatch.setattr(nodes, "_clients", {})
        return server

    yield start
    for s in servers:
        s.server.shutdown()


def one(skill, params):
    wf = Workflow(id="llm")
    wf.add_node(skill, id="n", params=params)
    return wf


@pytest.fixture
def engine():
    e = Engine(SkillLibrary(), trace=False)
    yield e
    e.close()


def test_chat_renders_the_template_and_reports_usage_and_cost(api, engine):
    server = api(message(text_block("H₂ has a bond length of about 0.74 Å."),
                         input_tokens=20, output_tokens=12))
    res = engine.run(one("llm-chat", {"prompt": "Bond length of {{ data.molecule }}?",
                                      "data": {"molecule": "H2"}, "system": "Be brief."}))
    out = res.nodes["n"].outputs
    assert out["text"] == "H₂ has a bond length of about 0.74 Å."
    assert out["usage"]["input_tokens"] == 20 and out["usage"]["output_tokens"] == 12
    assert out["cost_usd"] > 0
    body = server.requests[0]["body"]
    assert server.requests[0]["path"] == "/v1/messages"
    assert body["messages"] == [{"role": "user", "content": "Bond length of H2?"}]
    assert body["system"] == "Be brief."
    assert server.requests[0]["key"] == KEY


def test_chat_without_a_key_fails_with_one_line_naming_the_variable(monkeypatch, engine):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("LLMOS_HOME", str(engine.library.home))
    monkeypatch.setattr(nodes, "_clients", {})
    res = engine.run(one("llm-chat", {"prompt": "hi"}))
    error_line = res.nodes["n"].error
    assert res.nodes["n"].status == "failed"
    assert "ANTHROPIC_API_KEY" in error_line and "\n" not in error_line


def test_template_injection_is_refused(api, engine):
    api()
    res = engine.run(one("llm-chat", {"prompt": "{{ data.__class__.__mro__ }}", "data": {}}))
    assert res.nodes["n"].status == "failed"
    assert "SecurityError" in res.nodes["n"].error or "UndefinedError" in res.nodes["n"].error


def test_structured_validates_and_retries_once_with_the_error(api, engine):
    schema = {"type": "object", "required": ["name", "atoms"],
              "properties": {"name": {"type": "string"}, "atoms": {"type": "integer"}}}
    server = api(message(tool_use("answer", {"name": "water", "atoms": "three"})),
                 message(tool_use("answer", {"name": "water", "atoms": 3})))
    res = engine.run(one("llm-structured", {"prompt": "Describe {{ data }}", "data": "H2O",
                                            "schema": schema}))
    assert res.nodes["n"].outputs["data"] == {"name": "water", "atoms": 3}
    assert res.nodes["n"].outputs["usage"]["calls"] == 2
    retry = server.requests[1]["body"]["messages"][-1]["content"][0]
    assert retry["type"] == "tool_result" and retry["is_error"] is True
    assert "atoms" in retry["content"]


def test_structured_fails_after_two_bad_answers(api, engine):
    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    api(message(tool_use("answer", {"n": "x"})), message(text_block("I refuse")))
    res = engine.run(one("llm-structured", {"prompt": "p", "schema": schema}))
    assert res.nodes["n"].status == "failed"
    assert "does not match the schema after a retry" in res.nodes["n"].error


def test_router_sends_the_value_down_the_chosen_route_only(api, engine):
    api(message(tool_use("route", {"route": "bug"})))
    wf = Workflow(id="triage")
    wf.add_node("llm-router", id="r", params={
        "value": "The app crashes when I save.",
        "routes": {"billing": "invoices and payments", "bug": "a defect report"}})
    wf.add_node("template", id="b", params={"template": "billing: {{ data }}"})
    wf.add_node("template", id="g", params={"template": "bug: {{ data }}"})
    wf.connect("r", "billing", "b", "data")
    wf.connect("r", "bug", "g", "data")
    res = engine.run(wf)
    assert res.status == "completed"
    assert res.nodes["r"].outputs["route"] == "bug"
    assert res.nodes["g"].outputs["text"] == "bug: The app crashes when I save."
    assert res.nodes["b"].status == "skipped" and res.nodes["b"].error == BRANCH_NOT_TAKEN


def test_router_routes_are_declared_ports(engine):
    from llmos_jupyter._workflow.validate import validate

    wf = Workflow(id="r")
    wf.add_node("llm-router", id="r", params={"value": 1, "routes": {"a": "x"}})
    wf.add_node("template", id="t", params={"template": "{{ data }}"})
    wf.connect("r", "b", "t", "data")
    assert [(p.code, p.port) for p in validate(wf, engine.library)] == [("missing-port", "b")]
    wf2 = Workflow(id="r2")
    wf2.add_node("llm-router", id="r", params={"value": 1, "routes": {"route": "clash"}})
    assert [p.code for p in validate(wf2, engine.library)] == ["bad-param"]


def test_a_server_error_is_retried_by_the_client(api, engine):
    server = api(error(529, "overloaded_error", "Overloaded", {"retry-after": "0"}),
                 message(text_block("ok")))
    res = engine.run(one("llm-chat", {"prompt": "p"}))
    assert res.nodes["n"].outputs["text"] == "ok"
    assert len(server.requests) == 2
