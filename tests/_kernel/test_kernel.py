"""The llmos kernel, driven over ZeroMQ with jupyter_client as any front-end drives it:
installed as a kernelspec in a temporary JUPYTER_PATH, started by name, magics without
%load_ext, completion of skill ids and node ids, inspection of a skill."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from kernel_client import kernel_client

jupyter_client = pytest.importorskip("jupyter_client")
from jupyter_client.kernelspec import KernelSpecManager

from llmos_jupyter._kernel import KERNEL_NAME, KERNELSPEC_DIR

TIMEOUT = 60


def _skill(skill_id: str, description: str) -> str:
    return textwrap.dedent(f"""\
        ---
        skill_id: {skill_id}
        name: {skill_id.title()}
        description: {description}
        inputs:
          - {{name: x, type: number, default: 1.5, unit: Hartree, description: the input}}
          - {{name: n, type: integer, default: 3}}
        outputs:
          - {{name: y, type: number, unit: Hartree}}
        ---

        # {skill_id}

        ```python
        def execute(inputs):
            return {{"y": inputs["x"] * inputs["n"]}}
        ```
        """)


@pytest.fixture(scope="module")
def jupyter_env(tmp_path_factory):
    """A prefix holding the installed kernelspec, JUPYTER_PATH pointing at it, and an
    LLMOS_HOME whose user volume holds two skills of a prefix no system skill has."""
    root = tmp_path_factory.mktemp("llmos-kernel")
    prefix = root / "prefix"
    out = subprocess.run([sys.executable, "-m", "llmos_jupyter._kernel", "install", "--prefix",
                          str(prefix)], capture_output=True, text=True, timeout=TIMEOUT,
                         check=False)
    assert out.returncode == 0, out.stderr
    home = root / "home"
    skills = home / "user" / "skills"
    skills.mkdir(parents=True)
    (skills / "zeta-alpha.md").write_text(_skill("zeta-alpha", "Alpha <b>bold</b> [x](javascript:alert(1))"))
    (skills / "zeta-beta.md").write_text(_skill("zeta-beta", "Beta triples x"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
        mp.setenv("LLMOS_HOME", str(home))
        yield {"prefix": prefix, "home": home}


@pytest.fixture(scope="module")
def kernel(jupyter_env):
    with kernel_client(KERNEL_NAME, jupyter_env["home"], TIMEOUT) as kc:
        yield kc


def run(kc, code: str) -> tuple[dict, list[dict]]:
    outputs: list[dict] = []
    reply = kc.execute_interactive(code, timeout=TIMEOUT, output_hook=outputs.append)
    return reply["content"], outputs


def ask(kc, method: str, code: str, cursor_pos: int | None = None, **kw) -> dict:
    cursor_pos = len(code) if cursor_pos is None else cursor_pos
    msg_id = getattr(kc, method)(code, cursor_pos, **kw)
    while True:
        msg = kc.get_shell_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg["content"]


def test_the_installed_kernelspec(jupyter_env):
    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    assert spec.display_name == "Python 3 (llmos)"
    assert spec.language == "python"
    assert spec.argv == [sys.executable, "-m", "llmos_jupyter._kernel", "-f", "{connection_file}"]
    assert Path(spec.resource_dir, "logo-svg.svg").is_file()
    shipped = json.loads((KERNELSPEC_DIR / "kernel.json").read_text())
    assert shipped["argv"][0] == "python"  # jupyter_client runs it with its own Python
    assert {k: v for k, v in shipped.items() if k != "argv"} == {
        "display_name": spec.display_name, "language": "python", "metadata": spec.metadata}


def test_kernel_info_says_llmos(kernel):
    kernel.kernel_info()
    info = kernel.get_shell_msg(timeout=TIMEOUT)["content"]
    assert info["implementation"] == "llmos"
    assert info["language_info"]["name"] == "python"


def test_skill_cells_run_without_load_ext(kernel):
    reply, outputs = run(kernel, "%%skill tripled --uses zeta-beta\nx = 2.0\n")
    assert reply["status"] == "ok", outputs
    reply, outputs = run(kernel, "tripled.y")
    results = [o["content"]["data"]["text/plain"] for o in outputs
               if o["msg_type"] == "execute_result"]
    assert results == ["6.0"]
    # An existing notebook's %load_ext is a silent no-op that keeps the kernel's session.
    reply, outputs = run(kernel, "%load_ext llmos_jupyter\n%workflow status")
    assert reply["status"] == "ok"
    assert [o["msg_type"] for o in outputs if o["msg_type"] != "status"] == ["execute_input",
                                                                               "execute_result"]
    result = next(o for o in outputs if o["msg_type"] == "execute_result")
    assert "tripled" in result["content"]["data"]["text/plain"]


def test_uses_completes_skill_ids(kernel):
    code = "%%skill node --uses zeta-"
    reply = ask(kernel, "complete", code)
    assert reply["status"] == "ok"
    assert reply["matches"] == ["zeta-alpha", "zeta-beta"]
    assert (reply["cursor_start"], reply["cursor_end"]) == (code.index("zeta-"), len(code))
    types = reply["metadata"]["_jupyter_types_experimental"]
    assert [t["type"] for t in types] == ["skill", "skill"]
    assert types[1]["signature"] == "Beta triples x"


def test_uses_without_a_node_id_lists_every_executable_skill(kernel, jupyter_env):
    from llmos_jupyter import SkillLibrary

    library = SkillLibrary(home=jupyter_env["home"])
    expected = sorted(s.skill_id for s in library.list() if s.executable)
    assert {"zeta-alpha", "zeta-beta", "quantum-vqe"} <= set(expected)
    assert ask(kernel, "complete", "%%skill --uses ")["matches"] == expected


def test_node_ids_ports_and_python_completion(kernel):
    run(kernel, "%%skill tripled --uses zeta-beta\nx = 2.0\n")
    assert ask(kernel, "complete", "%%skill tr")["matches"] == ["tripled"]
    reply = ask(kernel, "complete", "%%skill n --uses zeta-alpha --set ")
    assert reply["matches"] == ["x=", "n="]
    assert [t["signature"] for t in reply["metadata"]["_jupyter_types_experimental"]] == [
        "number [Hartree] = 1.5", "integer = 3"]
    body = "%%skill n --uses zeta-alpha\nn = 2\n"
    assert ask(kernel, "complete", body)["matches"] == ["x"]  # n is set already
    wire = "%%skill n --uses zeta-alpha --in x=tripled."
    assert ask(kernel, "complete", wire)["matches"] == ["y"]
    # Outside skill cells (and in a parameter's expression) IPython completes Python.
    assert "import_module" in ask(kernel, "complete", "import importlib\nimportlib.imp")["matches"]
    assert "tripled" in ask(kernel, "complete", "%%skill n --uses zeta-alpha\nx = trip")["matches"]


def test_inspect_shows_the_skill_as_inert_markdown(kernel, jupyter_env):
    code = "%%skill node --uses zeta-alpha\nx = 2\n"
    reply = ask(kernel, "inspect", code, code.index("zeta-alpha") + 3)
    assert reply["status"] == "ok" and reply["found"] is True
    plain = reply["data"]["text/plain"]
    assert plain.splitlines()[:3] == ["zeta-alpha — Zeta-Alpha", "",
                                      "Alpha <b>bold</b> [x](javascript:alert(1))"]
    assert f"Source: {jupyter_env['home'] / 'user' / 'skills' / 'zeta-alpha.md'}" in plain
    assert "  x: number [Hartree] = 1.5 — the input" in plain
    md = reply["data"]["text/markdown"]
    assert r"Alpha \<b\>bold\<\/b\> \[x\]\(javascript\:alert\(1\)\)" in md
    assert "<b>" not in md and "](javascript" not in md
    # A parameter line inspects its skill too; a Python name falls back to IPython.
    assert ask(kernel, "inspect", code, len(code) - 3)["data"]["text/plain"] == plain
    assert "text/markdown" not in ask(kernel, "inspect", "len", 2).get("data", {})


def test_a_notebook_runs_with_nbclient_on_the_llmos_kernel(jupyter_env, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("LLMOS_HOME", str(jupyter_env["home"]))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%%skill a --uses zeta-beta\nx = 1.0\nn = 4\n"),
                nbformat.v4.new_code_cell("%%skill b --uses zeta-beta --in x=a.y\nn = 10\n"),
                nbformat.v4.new_code_cell("b.y")]
    nbclient.NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=TIMEOUT,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    last = [o for o in nb.cells[2].outputs if o["output_type"] == "execute_result"]
    assert [o["data"]["text/plain"] for o in last] == ["40.0"]
