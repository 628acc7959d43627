"""Trace notebooks: every run saved as an nbformat v4 notebook.

Layout of a trace:

* a Markdown cell summarising the workflow, its parameters and the outcome;
* one code cell per executed node (completed, cached or failed) in execution order,
  holding the skill's code and a call of ``execute`` with the node's resolved inputs
  (wired inputs refer to the upstream node's variable, parameters are literals), and
  its real outputs: ``text/plain`` + ``application/json`` of the outputs and
  ``image/png`` for ``image`` ports; a failed node has its error as the output;
* notebook metadata ``llmos.trace`` with the workflow JSON, the overrides, each node's
  status, timing and parameters, versions and the run id.

A trace re-executes top to bottom in a plain Python kernel and reproduces the numeric
outputs (for deterministic skills). Files are written atomically.
"""

from __future__ import annotations

import base64
import datetime as dt
import keyword
import math
import platform
import pprint
import re
from pathlib import Path
from typing import Any

from llmos_jupyter._atomic import atomic_write_text
from llmos_jupyter._engine.result import NodeResult, RunResult, jsonable
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.ports import is_png, png_bytes
from llmos_jupyter._version import __version__

__all__ = ["build_trace", "trace_filename", "write_trace"]

_SAFE = re.compile(r"[^0-9A-Za-z_]+")
_RESERVED = {"execute", "display", "Image", "inputs"}


def write_trace(result: RunResult, library: SkillLibrary, directory: str | Path) -> Path:
    """Build the trace of ``result`` and write it atomically into ``directory``.

    Returns:
        The notebook's path: ``<directory>/<UTC time>-<workflow id>-<run id>.ipynb``.

    Raises:
        nbformat.ValidationError: the notebook does not validate (a bug, never silent).
        OSError: the folder cannot be written.
    """
    import nbformat

    nb = build_trace(result, library)
    nbformat.validate(nb)
    path = Path(directory) / trace_filename(result)
    atomic_write_text(path, nbformat.writes(nb))
    return path


def trace_filename(result: RunResult) -> str:
    stamp = dt.datetime.fromtimestamp(result.started_at, dt.UTC).strftime("%Y%m%d-%H%M%S")
    wid = re.sub(r"[^A-Za-z0-9_.-]+", "-", result.workflow.id).strip("-") or "workflow"
    return f"{stamp}-{wid}-{result.run_id}.ipynb"


def build_trace(result: RunResult, library: SkillLibrary) -> Any:
    """The trace notebook of ``result`` as an ``nbformat.NotebookNode``."""
    from nbformat import v4

    names = _variable_names(result.nodes)
    wf = result.workflow
    cells = [v4.new_markdown_cell(_summary(result), id="summary")]
    count = 0
    for node_id, nr in result.nodes.items():
        if nr.status == "skipped":
            continue
        skill = library.get(nr.skill_id) if nr.skill_id in library else None
        count += 1
        cell = v4.new_code_cell(
            _cell_source(nr, names, skill.code if skill else None, _header(nr, skill),
                         skill.runtime if skill else "python"),
            id=f"node-{_SAFE.sub('-', node_id)[:58]}",
            execution_count=count,
        )
        cell.metadata["llmos"] = {
            "node": node_id,
            "skill": nr.skill_id,
            "version": skill.version if skill else None,
            "code_hash": skill.code_hash if skill else None,
            "status": nr.status,
            "duration_ms": round(nr.duration_ms, 3),
        }
        cell.outputs = _cell_outputs(nr, count)
        if nr.status == "failed":
            cell.metadata["tags"] = ["raises-exception"]
        cells.append(cell)

    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["llmos"] = {"trace": {
        "run_id": result.run_id,
        "workflow": wf.to_dict(),
        "workflow_path": str(wf.path) if wf.path else None,
        "overrides": jsonable(result.overrides),
        "status": result.status,
        "started_at": _iso(result.started_at),
        "duration_ms": round(result.duration_ms, 3),
        "nodes": {
            n: {
                "skill": r.skill_id,
                "version": library.get(r.skill_id).version if r.skill_id in library else None,
                "code_hash": library.get(r.skill_id).code_hash if r.skill_id in library else None,
                "status": r.status,
                "duration_ms": round(r.duration_ms, 3),
                "started_at": _iso(r.started_at) if r.started_at else None,
                "params": jsonable({k: v for k, v in r.inputs.items() if k not in r.wired}),
                "wired": {k: f"{s}.{p}" for k, (s, p) in r.wired.items()},
                "error": r.error,
                "cache_key": r.cache_key,
            }
            for n, r in result.nodes.items()
        },
        "versions": {
            "llmos_jupyter": __version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }}
    return nb


# -- pieces --------------------------------------------------------------------------------
def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="milliseconds")


def _variable_names(nodes: dict[str, NodeResult]) -> dict[str, str]:
    """A distinct Python identifier per node id (``ham-1`` → ``ham_1``)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for node_id in nodes:
        name = _SAFE.sub("_", node_id).strip("_") or "node"
        if name[0].isdigit():
            name = "n_" + name
        if keyword.iskeyword(name) or name in _RESERVED:
            name += "_node"
        base, i = name, 2
        while name in used:
            name, i = f"{base}_{i}", i + 1
        used.add(name)
        names[node_id] = name
    return names


def _literal(value: Any) -> str:
    """Python source that evaluates to ``value`` (JSON-like data; NaN/inf spelled out)."""
    if _has_nonfinite(value):
        return _exact_literal(value)
    return pprint.pformat(value, width=88, sort_dicts=False, compact=True)


def _has_nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_has_nonfinite(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nonfinite(v) for v in value.values())
    return False


def _exact_literal(value: Any) -> str:
    # pprint writes nan/inf, which are not Python literals.
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, list):
        return "[" + ", ".join(_exact_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + "".join(_exact_literal(v) + ", " for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_exact_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _header(nr: NodeResult, skill: Any) -> str:
    version = f" v{skill.version}" if skill else ""
    status = nr.status + (f" in {nr.duration_ms:.1f} ms" if nr.status == "completed" else "")
    return f"# node `{nr.node_id}` · skill `{nr.skill_id}`{version} · {status}"


def _cell_source(nr: NodeResult, names: dict[str, str], code: str | None, header: str,
                 runtime: str = "python") -> str:
    var = names[nr.node_id]
    lines = [header]
    if runtime != "python":
        # JavaScript ran in the canvas' browser worker: a Python kernel cannot re-run it,
        # so the cell keeps the code as comments and binds the recorded outputs.
        lines.append(f"# runtime {runtime}: ran in the canvas front-end (a browser Web Worker); "
                     "its code, not re-run here:")
        lines += [f"#   {line}".rstrip() for line in (code or "").rstrip().split("\n")]
        lines.append(f"{var} = {_literal(jsonable(nr.outputs))}")
        lines.append(var)
        return "\n".join(lines)
    if code is not None:
        lines += [code.rstrip(), ""]
    else:
        lines += ["# (the skill is no longer in the library; its code is not available)", ""]
    args = []
    for port, value in nr.inputs.items():
        if port in nr.wired:
            src, src_port = nr.wired[port]
            args.append(f"    {port!r}: {names[src]}[{src_port!r}],")
        else:
            args.append(f"    {port!r}: {_literal(value)},".replace("\n", "\n    "))
    lines.append(f"{var} = execute({{" + ("\n" + "\n".join(args) + "\n" if args else "") + "})")
    images = [k for k, v in nr.outputs.items() if is_png(v)]
    if images:
        lines.append("from IPython.display import Image, display")
        lines += [f"display(Image(data={var}[{k!r}]))" for k in images]
        rest = [k for k in nr.outputs if k not in images]
        if rest:
            lines.append(f"{{k: v for k, v in {var}.items() if k not in {tuple(images)!r}}}")
    else:
        lines.append(var)
    return "\n".join(lines)


def _cell_outputs(nr: NodeResult, count: int) -> list[Any]:
    from nbformat import v4

    if nr.status == "failed":
        tb = (nr.traceback or nr.error or "").rstrip("\n").split("\n")
        ename, _, evalue = (nr.error or "Error: ").partition(": ")
        return [v4.new_output("error", ename=ename, evalue=evalue, traceback=tb)]
    outputs = []
    plain = {}
    for port, value in nr.outputs.items():
        if is_png(value):
            outputs.append(v4.new_output(
                "display_data",
                data={"image/png": base64.b64encode(png_bytes(value)).decode(),
                      "text/plain": f"<PNG image: {nr.node_id}.{port}>"},
                metadata={"llmos": {"port": port}},
            ))
        else:
            plain[port] = value
    if plain or not outputs:
        outputs.append(v4.new_output(
            "execute_result",
            data={"text/plain": pprint.pformat(plain, width=88, sort_dicts=False),
                  "application/json": jsonable(plain)},
            execution_count=count,
        ))
    return outputs


def _summary(result: RunResult) -> str:
    wf = result.workflow
    title = wf.name or wf.id
    lines = [
        f"# Trace: {title}",
        "",
        f"Workflow `{wf.id}`" + (f" from `{wf.path.name}`" if wf.path else "")
        + f" · run `{result.run_id}` · {_iso(result.started_at)} · "
        f"**{result.status}** in {result.duration_ms:.0f} ms",
        "",
        "| node | skill | status | time (ms) | outputs |",
        "|---|---|---|---:|---|",
    ]
    for node_id, r in result.nodes.items():
        shown = r.error if r.status in ("failed", "skipped") else _preview(r.outputs)
        lines.append(f"| `{node_id}` | `{r.skill_id}` | {r.status} | {r.duration_ms:.1f} | "
                     f"{_md_cell(shown)} |")
    params = [(n.id, k, v) for n in wf.nodes for k, v in n.params.items()]
    params += [(n, k, v) for n, kv in result.overrides.items() for k, v in kv.items()]
    if params:
        lines += ["", "**Parameters** (node params, then run-time overrides)", "",
                  "| node | input | value |", "|---|---|---|"]
        lines += [f"| `{n}` | `{k}` | {_md_cell(_short(v))} |" for n, k, v in params]
    lines += ["", "Each code cell below holds a node's skill code and its resolved inputs; the "
              "notebook re-runs top to bottom in a plain Python kernel."]
    return "\n".join(lines)


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _short(value: Any) -> str:
    if is_png(value):
        return "PNG image"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, list):
        return f"array of {len(value)}"
    if isinstance(value, dict):
        return f"object of {len(value)} keys"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _preview(outputs: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {_short(v)}" for k, v in outputs.items())
