"""Run the data and integration skills (http-request, json-query, template, sql-query,
csv-read, csv-write) through the real engine: a system-volume library (trusted, so the
node runs in this process), one-node or chained workflows, the trace notebook written."""

from __future__ import annotations

from typing import Any

from llmos_jupyter import Engine, SkillLibrary, Workflow
from llmos_jupyter._paths import system_skills_dir

_LIBRARY: SkillLibrary | None = None


def system_library() -> SkillLibrary:
    """The shipped skills only (no user or team volume), loaded once per test session."""
    global _LIBRARY
    if _LIBRARY is None:
        _LIBRARY = SkillLibrary(volumes=[("system", system_skills_dir())])
    return _LIBRARY


def run_node(skill: str, trace: bool = False, **params: Any):
    """Run one ``skill`` node (id ``n``) with ``params``; returns (RunResult, NodeResult)."""
    wf = Workflow(id=f"test-{skill}", name=f"test {skill}")
    wf.add_node(skill, id="n", params=params)
    result = Engine(system_library(), max_workers=1).run(wf, trace=trace)
    return result, result.nodes["n"]


def outputs(skill: str, **params: Any) -> dict[str, Any]:
    """The outputs of one completed ``skill`` node (fails the test with its error)."""
    _, node = run_node(skill, **params)
    assert node.status == "completed", node.error
    return node.outputs


def error(skill: str, **params: Any) -> str:
    """The one-line error of a ``skill`` node that must fail."""
    _, node = run_node(skill, **params)
    assert node.status == "failed", f"expected a failure, got outputs {node.outputs!r}"
    return node.error


def fresh_execute(skill: str):
    """The skill's ``execute`` compiled into a namespace of its own (so a test may patch
    its globals without touching the library's cached function), defaults merged in."""
    s = system_library().get(skill)
    namespace: dict[str, Any] = {"__name__": f"fresh_{skill.replace('-', '_')}"}
    exec(compile(s.code, str(s.path), "exec"), namespace)  # noqa: S102 - a system skill's code, as the engine runs it
    execute = namespace["execute"]

    def run(inputs: dict[str, Any]) -> dict[str, Any]:
        return execute({**s.defaults, **inputs})

    run.namespace = namespace
    return run
