"""Workflow templates: each validates and passes its own tests; llmos new writes them."""

from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

import pytest

from llmos_jupyter import SkillLibrary, Workflow
from llmos_jupyter._cli import main
from llmos_jupyter._commands.new import TEMPLATES, new_workflow_files, template_files
from llmos_jupyter._testing.runner import load_file, run_case
from llmos_jupyter._workflow.validate import validate

ROOT = resources.files("llmos_jupyter") / "templates"
READINGS = {"station": "lab-1", "readings": [
    {"sensor": "a", "celsius": 21.5, "ok": True},
    {"sensor": "b", "celsius": 88.0, "ok": False},
    {"sensor": "c", "celsius": 19.25, "ok": True}]}


def _missing(template):
    """Skills a template's nodes use that the system volume does not hold (yet). Called
    at collection, before each test's own LLMOS_HOME: so the system volume only."""
    from llmos_jupyter._paths import system_skills_dir

    library = SkillLibrary(volumes=[("system", system_skills_dir())])
    used = set()
    for text in template_files(template).values():
        used |= {n["data"]["skill"] for n in json.loads(text)["nodes"]}
    return sorted(used - {s.skill_id for s in library.list()})


def params():
    # Skills written in parallel by others (sql-query): an expected failure until they
    # land, then these pass without an edit.
    out = []
    for t in TEMPLATES:
        missing = _missing(t)
        out.append(pytest.param(t, marks=pytest.mark.xfail(
            bool(missing), reason=f"skills not in the library yet: {', '.join(missing)}",
            strict=True)))
    return out


@pytest.fixture
def sandbox(tmp_path):
    """The templates' files written to a folder (sub-workflows beside them)."""
    def write(template):
        for rel, text in template_files(template).items():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text(text, encoding="utf-8")
        return tmp_path / f"{template}.workflow.json"
    return write


def test_the_folder_holds_the_templates_and_their_sub_workflows():
    names = {p.name for p in ROOT.iterdir() if p.name.endswith(".workflow.json")}
    used = set()
    for t in TEMPLATES:
        used |= set(template_files(t))
    assert names == used
    assert {f"{t}.workflow.json" for t in TEMPLATES} <= names


@pytest.mark.parametrize("template", params())
def test_every_template_validates(template, sandbox):
    path = sandbox(template)
    for file in path.parent.glob("*.workflow.json"):
        wf = Workflow.load(file)
        assert validate(wf, SkillLibrary()) == [], file.name
        assert isinstance(wf.extra.get("tests"), list), f"{file.name} has no tests block"


@pytest.fixture
def server():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(READINGS).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/readings"
    srv.shutdown()
    thread.join()


@pytest.mark.parametrize("template", params())
def test_every_template_passes_its_own_tests(template, sandbox, server):
    path = sandbox(template)
    library = SkillLibrary()
    workflow, cases = load_file(path, library)
    if template == "http-to-sql":  # the case's URL is the user's API: ours is local
        workflow.set_params("fetch", url=server)
    if template == "blank":
        assert cases == []
    if template == "rag-qa":  # the user's documents: a folder of ours
        docs = path.parent / "corpus"
        docs.mkdir()
        (docs / "a.md").write_text("Kilauea is a shield volcano on Hawaii.")
        (docs / "b.txt").write_text("Honey bees dance to show where nectar is.")
        workflow.set_params("load", path=str(docs))
        workflow.set_params("find", query="Which volcano is on Hawaii?")
    for case in cases:
        # A case that waits for the user's server is run here against ours.
        case = dataclasses.replace(case, skip=None)
        result = run_case(workflow, case, library=library)
        assert result.passed, result.messages


def test_new_writes_the_template_with_the_name(tmp_path, capsys, llmos_home):
    assert main(["new", "My H2 curve", "--template", "h2-curve", "--output", str(tmp_path)]) == 0
    main_file = tmp_path / "My-H2-curve.workflow.json"
    data = json.loads(main_file.read_text(encoding="utf-8"))
    template = json.loads((ROOT / "h2-curve.workflow.json").read_text(encoding="utf-8"))
    assert (data["id"], data["name"]) == ("My-H2-curve", "My H2 curve")
    assert {k: v for k, v in data.items() if k not in ("id", "name")} == {
        k: v for k, v in template.items() if k not in ("id", "name")}
    assert list(data) == list(template)  # the template's key order
    assert (tmp_path / "h2-point.workflow.json").read_text(encoding="utf-8") == (
        ROOT / "h2-point.workflow.json").read_text(encoding="utf-8")
    capsys.readouterr()
    # Again: the main file exists, so nothing is written.
    assert main(["new", "My H2 curve", "--template", "h2-curve", "--output", str(tmp_path)]) == 2
    assert "already there" in capsys.readouterr().err
    # Another workflow from the same template shares the identical sub-workflow.
    assert main(["new", "second", "--template", "h2-curve", "--output", str(tmp_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    (tmp_path / "h2-point.workflow.json").write_text("{}")
    assert main(["new", "third", "--template", "h2-curve", "--output", str(tmp_path)]) == 2
    assert "h2-point.workflow.json" in capsys.readouterr().err
    assert main(["new", "third", "--template", "h2-curve", "--output", str(tmp_path),
                 "--force"]) == 0


def test_new_defaults_to_blank_and_refuses_a_name_without_an_id(tmp_path, capsys):
    assert main(["new", "empty", "--output", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "empty.workflow.json").read_text())
    assert (data["nodes"], data["edges"], data["tests"]) == ([], [], [])
    assert main(["new", "//", "--output", str(tmp_path)]) == 2
    assert new_workflow_files("a b.c", "branching").keys() == {"a-b.c.workflow.json"}


def test_new_inside_the_user_volume_is_a_commit(llmos_home, capsys):
    from llmos_jupyter._volumes.volume import Volume

    folder = llmos_home / "user" / "workflows"
    folder.mkdir(parents=True)
    assert main(["new", "flow", "--template", "branching", "--output", str(folder)]) == 0
    [rev] = [r for r in Volume("user").log() if "workflows/flow.workflow.json" in r.paths]
    assert rev.summary == "New workflow flow.workflow.json from template branching"
