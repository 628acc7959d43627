"""Actor systems in JupyterLite's Pyodide kernel (issue 18 §5), against the same systems run
natively in this test process.

* Browser (headless Debian Chromium, the session's offline site of ``conftest.lite_site``):
  the site's ``agents-ping-pong.ipynb`` runs cell by cell in the Pyodide kernel (top-level
  ``await arun_file(...)``, then ``%agents run``, which waits through JSPI); its message
  log must equal, entry for entry, the log of the same system run natively. An actor's
  LLM client is the ``fetch`` one, and its HTTP client reaches a stub Messages API on
  127.0.0.1 from inside a handler running inline on the WebLoop. A fan-out
  system (``actor-delegation-manager`` spawning workers that each run the site's pure-Python
  ``rc-stats`` workflow with ``ctx.run_workflow``) must give the native result. The example
  ``agents/h2-scan.toml`` itself cannot run in the offline site: its workflow needs numpy,
  which the offline site does not carry. Every kernel call is bounded (a JS timeout races
  the execution), and no request may leave 127.0.0.1.
* Unit level (``sys.platform`` set to ``emscripten``, fakes of the ``js`` and
  ``pyodide.ffi`` modules): an LLM actor (``agents/assistant.toml``) reaches the Messages
  API through the browser ``fetch`` transport with the LLM layer's retries; ``run_file``
  waits with ``run_sync`` and, without JSPI, names the ``await`` form. A real browser call
  to the API cannot be made offline (the anthropic SDK's compiled dependencies are not in
  the offline site; see ``test_lite_kernel`` for the transport against a stub endpoint).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from _llm.anthropic_replay import KEY, Replay, error, message, text_block, tool_use
from lite.stub_messages_api import REPLY, StubAnthropic
from lite_chromium import ARGS, CHROMIUM, needs_browser, outside, sync_playwright

from llmos_jupyter._actors import CannotWaitHere, arun_file, run_file
from llmos_jupyter._actors.pyodide import BrowserLlmClient
from llmos_jupyter._llm.fetch_transport import BROWSER_HEADER, FetchTransport

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "agents"
NOTEBOOK = "agents-ping-pong.ipynb"

# A fan-out the offline site can run: three rc-stats workflows (pure Python) in workers.
RC_SCAN = """[system]
name = "rc-scan"
timeout_s = 60

[[actors]]
id = "manager"
skill = "actor-delegation-manager"
config = { retries = 0, tasks = [
  { op = "workflow", workflow = "../rc-stats.workflow.json", overrides = { rc = { samples = 11 } }, outputs = [["stats", "count"], ["stats", "mean"]] },
  { op = "workflow", workflow = "../rc-stats.workflow.json", overrides = { rc = { samples = 101 } }, outputs = [["stats", "count"], ["stats", "mean"]] },
  { op = "workflow", workflow = "../rc-stats.workflow.json", overrides = { rc = { samples = 501, resistance = 2000 } }, outputs = [["stats", "count"], ["stats", "mean"]] },
] }
"""

# Execute code in the kernel; resolves with {out, err, done}, done 'timeout' after `ms`
# (the execution's promise is raced, never awaited unbounded).
EXECUTE = """async ([code, ms]) => {
  const app = window.jupyterapp;
  if (!window.__k) {
    await app.serviceManager.ready;
    window.__k = await app.serviceManager.kernels.startNew({name: 'python'});
  }
  let out = '', err = '';
  const f = window.__k.requestExecute({code, store_history: false});
  f.onIOPub = (msg) => {
    const t = msg.header.msg_type, c = msg.content;
    if (t === 'stream') out += c.text;
    else if (t === 'error') err += c.ename + ': ' + c.evalue;
    else if (t === 'execute_result') out += c.data['text/plain'];
  };
  const timer = new Promise(r => setTimeout(() => r('timeout'), ms));
  const done = await Promise.race([f.done.then(() => 'done'), timer]);
  return {out, err, done};
}"""

DUMP = """
import json
print(json.dumps({{"status": {name}.status, "result": {name}.result, "error": {name}.error,
                  "trace": {name}.trace,
                  "messages": [[m["id"], m["type"], m["sender"], m["receiver"], m["payload"],
                                m["status"]] for m in {name}.messages]}}))
"""

RC_RUN = """
import json, pathlib
pathlib.Path("/drive/agents/rc-scan.toml").write_text({toml!r})
from llmos_jupyter._actors import arun_file
rc = await arun_file("agents/rc-scan.toml", trace=False)
print(json.dumps({{"status": rc.status, "result": rc.result, "error": rc.error,
                  "types": sorted(m["type"] for m in rc.messages)}}))
"""

# An actor that posts to the Messages API with the HTTP client of the client its ctx.llm
# uses (the SDK itself is not in the offline site): the fetch bridge from inside a handler
# running inline on the WebLoop.
BRIDGE_SKILL = """---
skill_id: bridge-caller
name: Bridge caller
description: Posts one Messages API request through the system's LLM HTTP client.
version: "1.0.0"
kind: actor
subscribes: [start]
---

```python
def on_start(ctx):
    pass


def on_message(ctx, msg):
    from pyodide.ffi import can_run_sync

    client = ctx._system._llm_client  # what ctx.llm calls through (test-only peek)
    r = client.http_client.post(msg.payload["url"] + "/v1/messages", headers={
        "x-api-key": "sk-ant-dummy-key", "anthropic-version": "2023-06-01"},
        json={"model": "claude-sonnet-5-5", "max_tokens": 64,
              "messages": [{"role": "user", "content": "Say hello"}]})
    ctx.exit({"client": type(client).__name__,
              "transport": type(client.http_client._transport).__name__,
              "can_run_sync": can_run_sync(), "status": r.status_code, "body": r.json()})
```
"""

BRIDGE = """
import json, pathlib, piplite
await piplite.install(["httpx2"])
from llmos_jupyter._actors import arun_file
from llmos_jupyter._actors.config import check_system
from llmos_jupyter._trust import trust
d = pathlib.Path("/drive/agents-bridge")
(d / "skills").mkdir(parents=True, exist_ok=True)
(d / "skills" / "bridge-caller.md").write_text({skill!r})
(d / "bridge.toml").write_text('[system]\\nname = "bridge"\\ntimeout_s = 30\\n'
                               'skills = ["skills"]\\n\\n'
                               '[[actors]]\\nid = "caller"\\nskill = "bridge-caller"\\n')
trust(check_system(d / "bridge.toml")[0].skills.values())  # as `llmos agents trust` does
b = await arun_file(d / "bridge.toml", {{"url": {url!r}}}, trace=False)
print(json.dumps({{"status": b.status, "result": b.result, "error": b.error}}))
"""


def _log(outcome_messages: list[dict]) -> list[list]:
    return [[m["id"], m["type"], m["sender"], m["receiver"], m["payload"], m["status"]]
            for m in outcome_messages]


def _drive(site_url: str, cells: list[str], api_url: str) -> dict:
    requests: list[str] = []
    out: dict = {"cells": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{site_url}/lab/index.html")
            page.wait_for_function("() => window.jupyterapp?.serviceManager.kernelspecs"
                                   ".specs?.kernelspecs?.python", timeout=90_000)

            def run(code: str, ms: int = 90_000) -> str:
                res = page.evaluate(EXECUTE, [code, ms])
                assert res["done"] == "done", f"the kernel did not finish within {ms} ms: {code}"
                assert not res["err"], (code, res)
                return res["out"]

            for code in cells:
                out["cells"].append(run(code))
            out["ping_pong"] = json.loads(run(DUMP.format(name="outcome")).strip())
            out["magic"] = json.loads(run(DUMP.format(name="again")).strip())
            out["rc_scan"] = json.loads(run(RC_RUN.format(toml=RC_SCAN)).strip())
            out["bridge"] = json.loads(run(BRIDGE.format(skill=BRIDGE_SKILL, url=api_url))
                                       .strip().splitlines()[-1])
        finally:
            browser.close()
    out["requests"] = requests
    return out


def _native_rc_scan(tmp_path: Path):
    (tmp_path / "agents").mkdir()
    shutil.copy2(ROOT / "jupyterlite" / "files" / "rc-stats.workflow.json", tmp_path)
    (tmp_path / "agents" / "rc-scan.toml").write_text(RC_SCAN)
    return run_file(tmp_path / "agents" / "rc-scan.toml", trace=False)


@needs_browser
def test_actor_systems_run_in_the_pyodide_kernel_as_natively(lite_site: Path, site_url: str,
                                                              stub_api: str, llmos_home: Path,
                                                              tmp_path: Path) -> None:
    nb = json.loads((lite_site / "files" / NOTEBOOK).read_text("utf-8"))
    assert (lite_site / "files/agents/ping-pong.toml").is_file()
    assert (lite_site / "files/agents/h2-scan.toml").is_file()
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    with ThreadPoolExecutor(1) as pool:  # own thread: see test_lite_site
        out = pool.submit(_drive, site_url, cells, stub_api).result()
    print("\n" + "\n".join(out["cells"]))

    assert "on emscripten" in out["cells"][0]
    # The notebook's top-level-await run, entry for entry as the same system natively.
    native = run_file(AGENTS / "ping-pong.toml", {"rounds": 5}, trace=False)
    browser = out["ping_pong"]
    assert browser["status"] == native.status == "exited", browser["error"]
    assert browser["result"] == native.result == {"rounds": 5, "pongs": [1, 2, 3, 4, 5]}
    assert browser["messages"] == _log(native.messages)
    kinds = [m[1] for m in browser["messages"]]
    assert kinds == ["start"] + ["ping", "pong"] * 5
    assert browser["trace"].startswith("/drive/llmos/user/agent-runs/")
    # %agents run: waited through JSPI in the sync magic.
    native2 = run_file(AGENTS / "ping-pong.toml", {"rounds": 2}, trace=False)
    assert out["magic"]["result"] == native2.result
    assert out["magic"]["messages"] == _log(native2.messages)
    assert "{'rounds': 2, 'pongs': [1, 2]} 5 messages" in out["cells"][-1]

    # Spawned workers running workflows inline on the WebLoop, as natively.
    rc_native = _native_rc_scan(tmp_path)
    rc = out["rc_scan"]
    assert rc["status"] == rc_native.status == "exited", (rc["error"], rc_native.error)
    assert rc["types"] == sorted(m["type"] for m in rc_native.messages)
    assert len(rc["result"]["results"]) == 3
    for got, want in zip(rc["result"]["results"], rc_native.result["results"], strict=True):
        assert got["stats.count"] == want["stats.count"]
        assert got["stats.mean"] == pytest.approx(want["stats.mean"], rel=1e-12)
    assert [r["stats.count"] for r in rc["result"]["results"]] == [11, 101, 501]

    # An actor's LLM client is the fetch one, and it reaches the (stub) API from a handler.
    bridge = out["bridge"]
    assert bridge["status"] == "exited", bridge["error"]
    assert bridge["result"]["client"] == "BrowserLlmClient"
    assert bridge["result"]["transport"] == "FetchTransport"
    assert bridge["result"]["can_run_sync"] is True  # JSPI inside a WebLoop task too
    assert bridge["result"]["status"] == 200 and bridge["result"]["body"] == REPLY
    [seen] = StubAnthropic.seen
    assert seen["headers"][BROWSER_HEADER[0]] == BROWSER_HEADER[1]
    assert seen["body"]["messages"] == [{"role": "user", "content": "Say hello"}]
    assert not outside(out["requests"]), outside(out["requests"])


# -- unit level: Pyodide faked -------------------------------------------------------------
class FakeJsResponse:
    """What ``js.fetch`` resolves to, as the transport reads it."""

    def __init__(self, resp: httpx2.Response) -> None:
        self.status = resp.status_code
        self._headers = list(resp.headers.items())
        self._body = resp.content

    @property
    def headers(self):
        return types.SimpleNamespace(entries=lambda: self._headers)

    def arrayBuffer(self) -> bytes:  # noqa: N802 - the JS name
        return self._body


def _run_to_end(coro):
    """``asyncio.run(coro)`` in a thread of its own: the session's Playwright (sync API)
    leaves its event loop marked running in the main thread once a browser test ran."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=120)


@pytest.fixture
def fake_pyodide(monkeypatch):
    """``sys.platform == "emscripten"`` with ``js`` and ``pyodide.ffi`` modules whose
    ``fetch`` answers from a :class:`Replay`; ``run_sync`` drives coroutines to the end."""
    state = types.SimpleNamespace(replay=None, fetched=[], waited=[], jspi=True)

    def fetch(url, init):
        request = httpx2.Request(init["method"], url, headers=init["headers"],
                                 content=init.get("body"))
        state.fetched.append(request)
        return FakeJsResponse(state.replay(request))

    def run_sync(aw):
        state.waited.append(type(aw).__name__)
        return _run_to_end(aw) if asyncio.iscoroutine(aw) else aw

    js = types.ModuleType("js")
    js.fetch = fetch
    js.Object = types.SimpleNamespace(fromEntries=dict)
    ffi = types.ModuleType("pyodide.ffi")
    ffi.to_js = lambda value, dict_converter=None: value
    ffi.run_sync = run_sync
    ffi.can_run_sync = lambda: state.jspi
    pyodide = types.ModuleType("pyodide")
    pyodide.ffi = ffi
    for name, mod in (("js", js), ("pyodide", pyodide), ("pyodide.ffi", ffi)):
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setattr(sys, "platform", "emscripten")
    return state


def test_llm_actor_under_pyodide_calls_the_api_through_fetch_with_retries(
        fake_pyodide, llmos_home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    llmos_home.mkdir(parents=True, exist_ok=True)  # retry after 10 ms, not the default 0.5 s
    (llmos_home / "config.toml").write_text("[llm]\nbackoff_base = 0.01\n")
    fake_pyodide.replay = Replay([
        error(529, "overloaded_error", "Overloaded"),  # retried by the LLM layer
        message(tool_use("list_skills", {"query": "H2 energy"})),
        message(text_block("Use quantum-hamiltonian, then quantum-vqe.")),
    ])
    out = _run_to_end(arun_file(AGENTS / "assistant.toml",
                                {"prompt": "Which skills compute H2 energies?"}, trace=False))
    assert out.status == "exited", out.error
    assert out.result["answer"] == "Use quantum-hamiltonian, then quantum-vqe."
    assert out.result["tools"] == ["list_skills"]
    # Every call went through js.fetch (none through a socket), with the browser header.
    assert len(fake_pyodide.fetched) == 3
    for request in fake_pyodide.fetched:
        assert request.url.path == "/v1/messages"
        assert request.headers[BROWSER_HEADER[0]] == BROWSER_HEADER[1]
        auth = request.headers.get("x-api-key", "") + request.headers.get("authorization", "")
        assert KEY in auth  # the key from the environment, as in a local kernel
    first, retry, second = (json.loads(r.content) for r in fake_pyodide.fetched)
    assert first == retry  # the same request again after the 529
    assert second["messages"][-1]["content"][0]["type"] == "tool_result"


def test_browser_llm_client_is_built_on_first_use(fake_pyodide, llmos_home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    client = BrowserLlmClient()
    assert client._client is None  # a system without LLM actors never builds it
    assert isinstance(client.http_client._transport, FetchTransport)
    assert client.ledger.calls == [] and client.breaker.state == "closed"


def test_run_file_under_pyodide_waits_with_run_sync(fake_pyodide, llmos_home):
    out = run_file(AGENTS / "ping-pong.toml", {"rounds": 2}, trace=False)
    assert out.status == "exited" and out.result == {"rounds": 2, "pongs": [1, 2]}
    assert fake_pyodide.waited == ["coroutine"]


def test_without_jspi_run_file_and_the_magic_name_the_await_form(fake_pyodide, llmos_home,
                                                                  ip, capsys):
    fake_pyodide.jspi = False
    with pytest.raises(CannotWaitHere, match=r"await arun_file\("):
        run_file(AGENTS / "ping-pong.toml", trace=False)
    ip.run_line_magic("load_ext", "llmos_jupyter")
    assert ip.run_line_magic("agents", f"run {AGENTS / 'ping-pong.toml'}") is None
    err = capsys.readouterr().err
    assert "%agents run:" in err and "outcome = await arun_file(" in err, err
    assert fake_pyodide.waited == []


def test_agents_magic_uses_the_key_typed_with_llm_key(fake_pyodide, llmos_home, ip,
                                                      monkeypatch, capsys):
    """In JupyterLite the key is typed (``%llm key``) and held only by the ``%llm`` magics'
    client; ``%agents run`` hands that client (fetch transport) to the LLM actors."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    ip.run_line_magic("load_ext", "llmos_jupyter")
    llm = ip.magics_manager.registry["LlmMagics"]
    for attr in ("_key", "_client", "_agent"):  # the test shell is shared: restore after
        monkeypatch.setattr(llm, attr, None)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": KEY)
    ip.run_line_magic("llm", "key")
    fake_pyodide.replay = Replay([message(text_block("Hello."))])
    outcome = ip.run_line_magic(
        "agents", f"run {AGENTS / 'assistant.toml'} --input '{{\"prompt\": \"hi\"}}'")
    assert outcome is not None, capsys.readouterr().err
    assert outcome.status == "exited", outcome.error
    assert outcome.result["answer"] == "Hello."
    [request] = fake_pyodide.fetched  # through js.fetch, with the typed key
    assert KEY in request.headers.get("x-api-key", "") + request.headers.get("authorization", "")
    assert fake_pyodide.waited[0] == "coroutine"  # the sync magic waited with run_sync
