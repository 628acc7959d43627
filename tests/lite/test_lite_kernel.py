"""The Pyodide kernel of the offline site, driven directly (no notebook UI), in Chromium.

* A skill's ``requires`` is loaded from the site's Pyodide distribution before it runs
  (a package of the offline lock that nothing loaded yet), synchronously through
  ``pyodide.ffi.run_sync``.
* ``circuit-rc`` with ``use_ngspice`` says plainly that the browser has no ngspice.
* The LLM layer's fetch transport reaches a stub Anthropic endpoint served by this test on
  127.0.0.1 (another origin, so CORS is real): the request carries the browser-access
  header and the dummy key, and the recorded Messages API reply comes back. The anthropic
  SDK itself cannot be installed in the offline site (compiled pydantic-core and jiter).

Uses the session's offline build (``conftest.lite_site``); no request may leave 127.0.0.1.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from lite.stub_messages_api import REPLY, StubAnthropic
from lite_chromium import ARGS, CHROMIUM, needs_browser, outside, sync_playwright

EXECUTE = """async (code) => {
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
  await f.done;
  return {out, err};
}"""

INSTALL = 'import piplite\nawait piplite.install(["llmos-jupyter", "httpx2"])\nprint("ok")'

AUTOLOAD = """
import importlib.metadata, json, pathlib
import pyodide_js
from pyodide.ffi import can_run_sync
from llmos_jupyter import Engine, SkillLibrary, Workflow

def installed(name):
    try:
        importlib.metadata.distribution(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False

# A package of the site's Pyodide lock that nothing has loaded yet.
name = sorted(n for n in pyodide_js._api.lockfile_packages.to_py() if not installed(n))[0]
skills = pathlib.Path("/tmp/autoload-skills"); skills.mkdir(exist_ok=True)
head = f"---\\nskill_id: needs-it\\nversion: '1.0'\\nrequires: [{name}]\\ninputs: []\\n"
head += "outputs: [{name: version, type: string}]\\n---\\n\\n# needs it\\n\\n"
code = f"import importlib.metadata\\n\\ndef execute(inputs):\\n"
code += f"    return {{'version': importlib.metadata.version('{name}')}}\\n"
(skills / "needs-it.md").write_text(head + "```python\\n" + code + "```\\n")
wf = Workflow.from_dict({"id": "w", "name": "w", "edges": [],
                         "nodes": [{"id": "n", "data": {"skill": "needs-it"}}]})
r = Engine(SkillLibrary(volumes=[("user", skills)]), trace=False).run(wf)
print(json.dumps({"package": name, "status": r.status, "outputs": r.nodes["n"].outputs,
                  "error": r.nodes["n"].error, "can_run_sync": can_run_sync(),
                  "after": installed(name)}))
"""


NGSPICE = """
import json
from llmos_jupyter import Engine, SkillLibrary, Workflow
wf = Workflow.from_dict({"id": "w", "name": "w", "edges": [], "nodes": [
    {"id": "a", "data": {"skill": "circuit-rc"}},
    {"id": "s", "data": {"skill": "circuit-rc", "params": {"use_ngspice": True}}}]})
r = Engine(SkillLibrary(), trace=False).run(wf)
print(json.dumps({"simulator": r.nodes["a"].outputs.get("simulator"),
                  "error": r.nodes["s"].error}))
"""

FETCH = """
import json
from llmos_jupyter._llm.fetch_transport import FetchTransport, browser_http_client
client = browser_http_client()
transport = client._transport
r = client.post("{url}/v1/messages", headers={{
    "x-api-key": "sk-ant-dummy-key", "anthropic-version": "2023-06-01"}},
    json={{"model": "claude-sonnet-5-5", "max_tokens": 64,
          "messages": [{{"role": "user", "content": "Say hello"}}]}})
print(json.dumps({{"status": r.status_code, "body": r.json(),
                  "request_id": r.headers.get("request-id"),
                  "via": "run_sync" if transport._run_sync else "xhr"}}))
"""


def _drive(site_url: str, api_url: str) -> dict:
    requests: list[str] = []
    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{site_url}/lab/index.html")
            page.wait_for_function("() => window.jupyterapp?.serviceManager.kernelspecs"
                                   ".specs?.kernelspecs?.python", timeout=90_000)

            def run(code: str) -> str:
                res = page.evaluate(EXECUTE, code)
                assert not res["err"], (code, res)
                return res["out"].strip().splitlines()[-1]

            assert run(INSTALL) == "ok"
            out["autoload"] = json.loads(run(AUTOLOAD))
            out["ngspice"] = json.loads(run(NGSPICE))
            out["fetch"] = json.loads(run(FETCH.format(url=api_url)))
        finally:
            browser.close()
    out["requests"] = requests
    return out


@needs_browser
def test_pyodide_kernel_autoloads_requires_and_reaches_the_llm_stub(site_url: str,
                                                                     stub_api: str) -> None:
    with ThreadPoolExecutor(1) as pool:  # own thread: see test_lite_site
        out = pool.submit(_drive, site_url, stub_api).result()
    print("\n", {k: v for k, v in out.items() if k != "requests"})

    auto = out["autoload"]
    assert auto["can_run_sync"] is True  # Chromium has JSPI: the engine can wait
    assert auto["status"] == "completed", auto["error"]  # loaded, then the skill ran
    assert auto["after"] and auto["outputs"]["version"].count(".") >= 1, auto

    assert out["ngspice"]["simulator"] == "analytic"
    assert "ngspice is not available in the browser" in out["ngspice"]["error"]

    fetch = out["fetch"]
    assert fetch["status"] == 200 and fetch["body"] == REPLY
    assert fetch["request_id"] == "req_011CSTUB"
    [seen] = StubAnthropic.seen
    assert seen["path"] == "/v1/messages"
    assert seen["headers"]["anthropic-dangerous-direct-browser-access"] == "true"
    assert seen["headers"]["x-api-key"] == "sk-ant-dummy-key"
    assert seen["body"]["messages"] == [{"role": "user", "content": "Say hello"}]
    assert not outside(out["requests"]), outside(out["requests"])
