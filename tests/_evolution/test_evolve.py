"""Evolution over traces of real runs: the issue's scenarios end to end.

The traces are written by running the H2 workflow (hamiltonian → vqe → plot) with varied
parameters once per module; each test copies the ones it needs into its own LLMOS_HOME.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

import llmos_jupyter._api as api
from llmos_jupyter import Engine, SkillLibrary, Workflow, run
from llmos_jupyter._evolution import evolve, iter_traces, read_trace, trace_files
from llmos_jupyter._volumes import Volume

REPO = Path(__file__).resolve().parents[2]
H2 = REPO / "notebooks" / "h2-vqe.workflow.json"


@pytest.fixture(scope="module")
def h2_traces(tmp_path_factory):
    """Trace paths: ``ok`` (iterations 100, 150, 120) and ``failed`` (a bad ansatz)."""
    home = tmp_path_factory.mktemp("h2-home")
    engine = Engine(SkillLibrary(home), max_workers=1, cache=False)
    wf = Workflow.load(H2)
    ok = [engine.run(wf, {"vqe.iterations": it}).trace for it in (100, 150, 120)]
    bad = engine.run(wf, {"vqe.ansatz": "XX"})
    assert bad.nodes["vqe"].status == "failed"
    engine.close()
    return {"ok": ok, "failed": bad.trace}


def _use(home: Path, *paths: str) -> None:
    target = home / "user" / "traces"
    target.mkdir(parents=True, exist_ok=True)
    for p in paths:
        shutil.copy(p, target)


def _frontmatter(path: Path) -> dict:
    return yaml.safe_load(path.read_text().split("---\n")[1])


def test_three_runs_make_one_compound_with_learned_defaults(llmos_home, h2_traces):
    _use(llmos_home, *h2_traces["ok"])
    report = evolve(min_runs=3)
    assert report.traces == 3
    [cand] = report.candidates
    assert cand.action == "create"
    assert cand.skill_id.startswith("compound-hamiltonian-vqe-plot-")
    fm = _frontmatter(cand.path)
    ports = {p["name"]: p for p in fm["inputs"]}
    assert ports["iterations"]["default"] == 120
    assert ports["bond_length"]["default"] == 0.735
    assert ports["ansatz"]["default"] == "RY"
    assert "hamiltonian" not in ports and "energy_offset" not in ports and "data" not in ports
    assert {"eigenvalue", "image", "inner_run"} <= {p["name"] for p in fm["outputs"]}
    assert "convergence_trace" not in {p["name"] for p in fm["outputs"]}  # consumed inside
    prov = fm["derived_from"]
    assert prov["runs"] == 3 and prov["pattern"] == cand.pattern.hash
    runs = sorted((read_trace(p) for p in h2_traces["ok"]), key=lambda t: t["started_at"])
    assert prov["traces"] == [t["run_id"] for t in runs]  # oldest first
    assert [m["skill_id"] for m in prov["members"]] == [
        "quantum-hamiltonian", "quantum-vqe", "plot-convergence"]
    assert prov["learned"]["iterations"] == {"default": 120, "rule": "median", "n": 3,
                                             "distinct": 3, "min": 100, "max": 150}

    # In the library, in a commit of the user volume.
    lib = SkillLibrary()
    assert lib.get(cand.skill_id).volume == "user"
    head = Volume("user").log()[0]
    assert head.summary.startswith(f"evolve: Add compound skill {cand.skill_id} from 3 runs")
    assert head.paths == (f"skills/{cand.skill_id}.md",)

    # Run, it gives the explicit workflow's eigenvalue, and its trace shows the inner nodes.
    wf = Workflow(id="use-compound")
    wf.add_node(cand.skill_id, id="h2")
    result = run(wf, library=lib)
    assert result.status == "completed", result.nodes["h2"].error
    explicit = run(Workflow.load(H2), {"vqe.iterations": 120}, trace=False, library=lib)
    assert result["h2"].outputs["eigenvalue"] == explicit["vqe"].outputs["eigenvalue"]
    inner = result["h2"].outputs["inner_run"]["nodes"]
    assert list(inner) == ["hamiltonian", "vqe", "plot"]
    assert inner["vqe"]["params"]["iterations"] == 120
    nb = nbformat.read(result.trace, as_version=4)
    shown = next(c for c in nb.cells if c.get("metadata", {}).get("llmos", {}).get("node") == "h2")
    data = next(o for o in shown.outputs if o.output_type == "execute_result").data
    assert set(data["application/json"]["inner_run"]["nodes"]) == {"hamiltonian", "vqe", "plot"}


def test_two_runs_make_nothing(llmos_home, h2_traces):
    _use(llmos_home, *h2_traces["ok"][:2])
    report = evolve(min_runs=3)
    assert report.candidates == [] and "nothing to write" in report.explain()
    assert not (llmos_home / "user" / "skills").exists()
    assert evolve(min_runs=2, dry_run=True).candidates[0].action == "create"


def test_failed_runs_do_not_count(llmos_home, h2_traces):
    _use(llmos_home, *h2_traces["ok"][:2], h2_traces["failed"])
    report = evolve(min_runs=3)
    assert report.traces == 3 and report.candidates == []


def test_dry_run_explains_and_writes_nothing(llmos_home, h2_traces):
    _use(llmos_home, *h2_traces["ok"])
    report = evolve(min_runs=3, dry_run=True)
    text = report.explain()
    assert "dry run, nothing written" in text
    assert "(3 runs, 3 occurrences" in text
    assert "member vqe: quantum-vqe v1.1.0" in text
    assert "input  iterations = 120  [median; min 100, max 150, 3 distinct in 3 runs]" in text
    assert "wire   vqe.convergence_trace -> plot.data" in text
    assert not (llmos_home / "user" / "skills").exists()
    assert not Volume("user").is_repository


def test_rerun_is_idempotent_and_updates_defaults_with_more_runs(llmos_home, h2_traces):
    _use(llmos_home, *h2_traces["ok"])
    first = evolve(min_runs=3).candidates[0]
    again = evolve(min_runs=3)
    assert [c.action for c in again.candidates] == ["unchanged"]
    assert len(Volume("user").log()) == 2  # the initial commit + the compound
    # A fourth run with 200 iterations moves the median to 135: same skill, updated.
    api._library = None
    r = run(Workflow.load(H2), {"vqe.iterations": 200}, library=SkillLibrary())
    assert r.status == "completed"
    [upd] = evolve(min_runs=3).candidates
    assert upd.action == "update" and upd.skill_id == first.skill_id and upd.path == first.path
    fm = _frontmatter(upd.path)
    assert {p["name"]: p for p in fm["inputs"]}["iterations"]["default"] == 135
    assert fm["derived_from"]["runs"] == 4
    assert len(list((llmos_home / "user" / "skills").glob("*.md"))) == 1
    assert Volume("user").log()[0].summary.startswith("evolve: Update compound skill")


def test_traces_read_from_the_tail_match_a_full_parse(h2_traces):
    for path in h2_traces["ok"] + [h2_traces["failed"]]:
        full = json.loads(Path(path).read_text())["metadata"]["llmos"]["trace"]
        fast = read_trace(path)
        fast.pop("path")
        assert fast == full
    assert len(list(iter_traces(trace_files(Path(h2_traces["ok"][0]).parent)))) == 4
