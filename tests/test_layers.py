"""The package's shape: lower layers never import upper ones, and the public surface
(the exception tree, py.typed, one version) is what the docs promise.

Layers, bottom to top (a module may import its own layer and the ones below)::

    0  _ids _types _exceptions _contract _config _version _atomic _safe_write _paths
       _redact _trust _overrides                          (no llmos import above 0)
    1  _skills _volumes                                   (skill files and their volumes)
    2  _workflow                                          (the pure model, graph, loader)
    3  _engine _executors _isolation                      (running nodes)
    4  _api                                               (the process-wide library/engine)
    5  _trace _evolution _stats _workflow_versions        (records of runs)
    6  _notebook _widget _llm _lab _cli _commands _magics _kernel _workbench _lite
       _testing _docs_nodes _mcp _actors _triggers _rag, __init__/__main__   (surfaces,
       tools, node libraries)

Every import statement counts, module level or inside a function (a lazy import is
still a dependency). The few upward imports that are design decisions are listed in
``ALLOWED`` with the reason; an entry no longer needed fails the test too, so the list
stays true.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import llmos_jupyter

PACKAGE = Path(llmos_jupyter.__file__).resolve().parent
REPO = PACKAGE.parent

LAYERS: dict[str, int] = {
    **dict.fromkeys(("_ids", "_types", "_exceptions", "_contract", "_config", "_version",
                     "_atomic", "_safe_write", "_paths", "_redact", "_trust", "_overrides"), 0),
    **dict.fromkeys(("_skills", "_volumes"), 1),
    "_workflow": 2,
    **dict.fromkeys(("_engine", "_executors", "_isolation"), 3),
    "_api": 4,
    **dict.fromkeys(("_trace", "_evolution", "_stats", "_workflow_versions"), 5),
    **dict.fromkeys(("_notebook", "_widget", "_llm", "_lab", "_cli", "_commands", "_magics",
                     "_kernel", "_workbench", "_lite", "_testing", "_docs_nodes", "_mcp",
                     "_actors", "_triggers", "_rag", "__init__", "__main__"), 6),
}

# (importing file, imported module) → why the upward import is right.
ALLOWED: dict[tuple[str, str], str] = {
    ("_workflow/files.py", "llmos_jupyter._notebook.mapping"):
        "the one workflow loader dispatches on the suffix: a .ipynb workflow is the notebook "
        "layer's %%skill mapping (imported inside load_workflow/save_workflow only)",
    ("_engine/engine.py", "llmos_jupyter._trace.notebook"):
        "the engine writes a run's trace notebook when the run ends (lazily, in that one "
        "place); the trace layer reads engine results, so it sits above",
    ("_engine/requirements.py", "llmos_jupyter._lite.pyodide_packages"):
        "in Pyodide a skill's requirements come from the JupyterLite distribution "
        "(imported only on emscripten)",
}


def _component(rel: Path) -> str:
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every llmos_jupyter module ``path`` imports (absolute or relative), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = ["llmos_jupyter", *path.relative_to(PACKAGE).with_suffix("").parts]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from llmos_jupyter import _ids` imports the module _ids.
            out += [(f"{module}.{a.name}" if module == "llmos_jupyter" else module, node.lineno)
                    for a in node.names]
    return [(m, line) for m, line in out if m.startswith("llmos_jupyter.")]


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "labextension" not in p.parts
                  and "static" not in p.parts)


def test_every_module_has_a_layer():
    missing = sorted({_component(p.relative_to(PACKAGE)) for p in _sources()} - set(LAYERS))
    assert not missing, f"add these to LAYERS in tests/test_layers.py: {missing}"


def test_lower_layers_never_import_upper_ones():
    violations, used = [], set()
    for path in _sources():
        rel = path.relative_to(PACKAGE)
        source = _component(rel)
        for module, line in _imports(path):
            target = module.split(".")[1]
            if target not in LAYERS or LAYERS[target] <= LAYERS.get(source, 99):
                continue
            key = (rel.as_posix(), module)
            if key in ALLOWED:
                used.add(key)
                continue
            violations.append(f"{rel}:{line} ({source}, layer {LAYERS[source]}) imports "
                              f"{module} (layer {LAYERS[target]})")
    assert not violations, "upward imports:\n" + "\n".join(violations)
    stale = set(ALLOWED) - used
    assert not stale, f"ALLOWED entries no longer needed (remove them): {sorted(stale)}"


def test_the_workflow_model_is_pure():
    """model.py imports nothing above its layer, not even lazily (file formats are
    _workflow/files.py's; the model's load/save only delegate to it)."""
    model = PACKAGE / "_workflow" / "model.py"
    assert [m for m, _ in _imports(model) if LAYERS[m.split(".")[1]] > LAYERS["_workflow"]] == []


# -- the public surface -------------------------------------------------------------------
PUBLIC_ERRORS = {
    "validation": ["SkillError", "SkillNotFound", "WorkflowError", "WorkflowInvalid",
                   "RequirementMissing"],
    "volume": ["VolumeError", "VolumeReadOnly", "RevisionNotFound", "VolumeLocked",
               "VolumeGitError"],
    "llm": ["LlmError", "LlmNotInstalled", "MissingApiKey", "AuthenticationFailed",
            "RequestRefused", "LlmUnavailable"],
    "runtime": ["IsolationError", "SkillRaised", "NodeCrashed", "SandboxUnavailable",
                "ExecutorUnavailable", "NodeTimeout", "BrowserSkillError", "BrowserTimeout"],
    "other": ["TrustError", "UnsafeWrite"],
}


@pytest.mark.parametrize("group", sorted(PUBLIC_ERRORS))
def test_errors_are_one_tree_exported_from_the_package(group):
    for name in PUBLIC_ERRORS[group]:
        assert name in llmos_jupyter.__all__, name
        cls = getattr(llmos_jupyter, name)
        assert issubclass(cls, llmos_jupyter.LlmosError), name
        doc = (PACKAGE / "_exceptions.py").read_text(encoding="utf-8")
        assert name in doc, f"{name} is missing from the tree in _exceptions.py's docstring"


def test_a_volume_error_is_catchable_without_a_private_import(llmos_home):
    from llmos_jupyter._volumes.volume import Volume

    with pytest.raises(llmos_jupyter.VolumeError, match="no history yet"):
        Volume("user").resolve("HEAD~99")


def test_the_package_is_typed_and_has_one_version():
    assert (PACKAGE / "py.typed").is_file()
    package_json = json.loads((REPO / "labextension" / "package.json").read_text(encoding="utf-8"))
    assert package_json["version"] == llmos_jupyter.__version__
    text = (PACKAGE / "_version.py").read_text(encoding="utf-8")
    # The line hatch's version source reads, and the gen-contract.mjs check too.
    assert re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE).group(1) == llmos_jupyter.__version__
    built = PACKAGE / "labextension" / "package.json"
    if built.is_file():  # the prebuilt extension, when built
        assert json.loads(built.read_text(encoding="utf-8"))["version"] == llmos_jupyter.__version__
