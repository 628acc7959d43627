"""Trace notebooks: every run saved as an nbformat v4 notebook.

Layout of a trace:

* a Markdown cell summarising the workflow, its parameters and the outcome (at most
  :data:`SUMMARY_ROWS` rows per table; failures always listed);
* one code cell per executed node (completed, cached or failed) in execution order,
  holding the skill's code (unless the cell above ran the same skill's code) and a call
  of ``execute`` with the node's resolved inputs
  (wired inputs refer to the upstream node's variable, parameters are literals), and
  its real outputs: ``text/plain`` + ``application/json`` of the outputs and
  ``image/png`` for ``image`` ports; a failed node has its error as the output;
* notebook metadata ``llmos.trace`` (:mod:`llmos_jupyter._trace.record`) with the
  workflow JSON, the overrides, each node's status, timing and parameters, versions and
  the run id.

Nothing a workflow carries becomes code or markup. The only code pasted into a cell is
the skill's own code; every other piece of a code cell (node ids, port names, parameter
values, file names) is a Python literal made by :func:`repr` from plain data, or an
identifier made from ``[A-Za-z0-9_]`` only. Untrusted text in the Markdown summary is
HTML-escaped and Markdown-escaped. Values of ports a skill declares ``secret: true`` are
written as ``"●●●"``, and every string written goes through
:func:`llmos_jupyter._llm.redact.redact` (API keys, key-shaped strings).

Large values stay out of the notebook: a parameter or output whose JSON is longer than
:data:`VALUE_CAP` characters is written to ``<trace>.outputs/<node>.<port>.json`` next to
the trace; the cell loads it from there (path relative to the notebook, the directory a
Jupyter kernel starts in) and the outputs show a one-line summary.

A trace re-executes top to bottom in a plain Python kernel and reproduces the numeric
outputs (for deterministic skills). Files are written atomically, side files first.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import datetime as dt
import gc
import html
import json
import keyword
import math
import os
import platform
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmos_jupyter._atomic import atomic_write_text
from llmos_jupyter._engine.result import NodeResult, RunResult
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.ports import is_png, jsonable, png_bytes
from llmos_jupyter._trace.record import node_metadata, trace_metadata
from llmos_jupyter._version import __version__

__all__ = ["MASK", "SUMMARY_ROWS", "VALUE_CAP", "build_trace", "markdown_text", "trace_filename",
           "write_trace"]

VALUE_CAP = 16_384
"""Characters of JSON a single parameter or output may take inside the notebook."""
SUMMARY_ROWS = 200
"""Rows per table of the summary cell (failed nodes are listed whatever their number)."""
MASK = "●●●"
"""What a value of a ``secret: true`` port is written as."""

_SAFE = re.compile(r"[^0-9A-Za-z_]+")
_PLAIN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:>+=@#~/-]{0,127}\Z")
# Names the generated code itself uses: a node variable never takes one of them.
_RESERVED = frozenset({"execute", "display", "Image", "inputs", "json", "pathlib", "float",
                       "print", "open", "__builtins__", "__name__", "__file__"})
_MAX_DEPTH = 200
_BATCH = 512  # cells encoded per write: large enough for the C encoder, small in memory
_CELL_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,55}\Z")
_HEX = re.compile(r"[0-9a-f]{1,128}\Z")
_CTRL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Inline Markdown that could make a link, an image, emphasis, a code span, a table
# column, strikethrough or math (JupyterLab renders $...$ with MathJax).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")


class _TooDeep(Exception):
    """A value nests deeper than ``_MAX_DEPTH`` (or refers to itself)."""


def write_trace(result: RunResult, library: SkillLibrary, directory: str | Path) -> Path:
    """Build the trace of ``result`` and write it atomically into ``directory``.

    Returns:
        The notebook's path: ``<directory>/<UTC time>-<workflow id>-<run id>.ipynb``; large
        values go to ``<same name without .ipynb>.outputs/`` beside it.

    Raises:
        OSError: the folder cannot be written.
    """
    directory = Path(directory)
    name = trace_filename(result)
    path = directory / name
    side = _SideFiles(name.removesuffix(".ipynb") + ".outputs")
    directory.mkdir(parents=True, exist_ok=True)
    # Written as atomic_write_text does (a temporary file in the folder, then os.replace),
    # but streamed: cells are encoded and written a batch at a time.
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    # Building makes a dozen small containers per node and frees none of them: the
    # cyclic collector's passes over that young heap were a third of the cost at 20,000
    # nodes. Nothing built here is cyclic, so it is paused while building.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            trace = _Trace(result, library, side)
            f.write('{\n "cells": [' + _encode(trace.summary_cell()))
            batch: list[dict[str, Any]] = []
            for cell in trace.code_cells():
                batch.append(cell)
                if len(batch) == _BATCH:
                    f.write("," + _encode(batch)[1:-1])
                    batch.clear()
            if batch:
                f.write("," + _encode(batch)[1:-1])
            # The layout llmos_jupyter._trace.record.read_trace_metadata reads fast: a line
            # '\n "metadata": {' followed only by "nbformat" and "nbformat_minor".
            f.write(f'],\n "metadata": {_encode(trace.metadata())},\n "nbformat": 4,\n'
                    ' "nbformat_minor": 5\n}\n')
        for rel, content in side.files.items():
            atomic_write_text(directory / rel, content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        if was_enabled:
            gc.enable()
    return path


def trace_filename(result: RunResult) -> str:
    """``<UTC time>-<workflow id>-<run id>.ipynb``, both ids reduced to ``[A-Za-z0-9_.-]``."""
    try:
        stamp = dt.datetime.fromtimestamp(result.started_at, dt.UTC).strftime("%Y%m%d-%H%M%S")
    except (TypeError, ValueError, OverflowError, OSError):
        stamp = "00000000-000000"
    wid = _file_part(str(result.workflow.id)) or "workflow"
    rid = _file_part(str(result.run_id)) or "run"
    return f"{stamp}-{wid}-{rid}.ipynb"


def _file_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:80]


def build_trace(result: RunResult, library: SkillLibrary) -> Any:
    """The trace notebook of ``result`` as an ``nbformat.NotebookNode`` (every value
    inline: without a folder there is nowhere to put side files)."""
    import nbformat

    return nbformat.reads(_dumps(_build(result, library, _SideFiles(None))), as_version=4)


def _dumps(nb: dict[str, Any]) -> str:
    """The notebook as JSON text: the cells on one line, the metadata on the next.

    Keeps the layout ``llmos_jupyter._trace.record.read_trace_metadata`` reads fast (a line
    ``\\n "metadata": {`` followed only by ``"nbformat"`` and ``"nbformat_minor"``), while
    the compact encoder runs in C (``indent`` would switch json to its Python encoder).
    """
    return (f'{{\n "cells": {_encode(nb["cells"])},\n "metadata": {_encode(nb["metadata"])},\n'
            f' "nbformat": {nb["nbformat"]},\n "nbformat_minor": {nb["nbformat_minor"]}\n}}\n')


def _json_default(value: Any) -> Any:
    """What the JSON encoder writes for a value it does not know (see :func:`_json_value`)."""
    return _json_value(value)


# ensure_ascii: a lone surrogate (a skill's bytes decoded with surrogateescape) is written
# as a \\ud800 escape instead of making the UTF-8 encoding of the file fail.
_ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False,
                           default=_json_default).encode


def _encode(data: Any) -> str:
    """Compact JSON of ``data``; what plain JSON cannot hold (NaN, non-string keys of odd
    types, self-reference, extreme nesting) goes through :func:`_json_value` first."""
    try:
        return _ENCODE(data)
    except (ValueError, TypeError, RecursionError):
        return _ENCODE(_json_value(data))


# -- building ------------------------------------------------------------------------------
class _SideFiles:
    """Large values as JSON files in ``folder`` (relative to the notebook), or inline
    when ``folder`` is ``None``."""

    def __init__(self, folder: str | None) -> None:
        self.folder = folder
        self.files: dict[str, str] = {}
        self.by_text: dict[str, str] = {}

    def put(self, node_id: str, port: str, text: str) -> str | None:
        """Keep ``text`` (JSON) as a side file; its path relative to the notebook, or
        ``None`` when values stay inline."""
        if self.folder is None:
            return None
        known = self.by_text.get(text)
        if known is not None:  # the same value as a parameter and in the metadata
            return known
        base = f"{_file_part(node_id)[:60] or 'node'}.{_file_part(port)[:60] or 'value'}"
        rel, i = f"{self.folder}/{base}.json", 2
        while rel in self.files:
            rel, i = f"{self.folder}/{base}-{i}.json", i + 1
        self.files[rel] = text
        self.by_text[text] = rel
        return rel


@dataclass(slots=True)
class _SkillView:
    """What a trace shows of a skill (its code redacted when needed)."""

    code: str | None
    runtime: str
    version: Any
    code_hash: str
    secret_in: frozenset[str]
    secret_out: frozenset[str]
    header: str | None = None  # "skill ID vVERSION" for cell headers, made once


@dataclass(slots=True)
class _RunView:
    """What a trace shows of a run: the result's fields and the workflow as JSON data."""

    run_id: Any
    status: Any
    started_at: Any
    duration_ms: Any
    overrides: Any
    nodes: dict[Any, NodeResult]
    workflow: Any
    path: str | None
    path_name: str | None
    trigger: Any = None


_NO_SECRETS = frozenset[str]()


def _view(result: RunResult,
          library: SkillLibrary) -> tuple[_RunView, dict[Any, _SkillView | None]]:
    wf = result.workflow
    skills: dict[Any, _SkillView | None] = {}
    for nr in result.nodes.values():
        sid = nr.skill_id
        if sid not in skills:
            s = library.get(sid) if isinstance(sid, str) and sid in library else None
            skills[sid] = None if s is None else _SkillView(
                s.code.rstrip() if s.code else s.code, s.runtime, _plain(s.version), s.code_hash,
                _secret_ports(s, "input_ports"), _secret_ports(s, "output_ports"))
    data = wf.to_dict()
    for node in data.get("nodes", ()):  # the params of secret inputs are masked
        try:
            sid, params = node["data"]["skill"], node["data"]["params"]
            if sid not in skills and isinstance(sid, str) and sid in library:
                lib_skill = library.get(sid)
                sec = _secret_ports(lib_skill, "input_ports")
            else:
                known = skills.get(sid)
                sec = known.secret_in if known is not None else _NO_SECRETS
        except (KeyError, TypeError):
            continue
        if sec and isinstance(params, dict):
            node["data"]["params"] = {k: MASK if k in sec else v for k, v in params.items()}
    overrides = {}
    for node_id, values in (result.overrides or {}).items():
        ran = result.nodes.get(node_id)
        view = skills.get(ran.skill_id) if ran is not None else None
        sec = view.secret_in if view is not None else _NO_SECRETS
        overrides[node_id] = ({k: MASK if k in sec else v for k, v in values.items()}
                              if isinstance(values, dict) else values)
    path = str(wf.path) if wf.path else None
    run = _RunView(result.run_id, result.status, result.started_at, result.duration_ms,
                   overrides, result.nodes, data, path, Path(path).name if path else None,
                   getattr(result, "trigger", None))
    return run, skills


def _build(result: RunResult, library: SkillLibrary, side: _SideFiles) -> dict[str, Any]:
    """The whole notebook as a dict (``write_trace`` streams the same cells instead)."""
    trace = _Trace(result, library, side)
    return {"cells": [trace.summary_cell(), *trace.code_cells()], "metadata": trace.metadata(),
            "nbformat": 4, "nbformat_minor": 5}


class _Trace:
    """A run on its way into a notebook: the summary cell, the code cells one at a time
    (so a 100,000-node trace is written without holding all its cells), the metadata."""

    def __init__(self, result: RunResult, library: SkillLibrary, side: _SideFiles) -> None:
        # The one redaction step.
        from llmos_jupyter._redact import redact, register_secret, register_secrets_in

        run, skills = _view(result, library)
        # Nodes that ran in another process (processes/Dask executors, the sandbox)
        # registered their secret headers and URL passwords there: register them here too.
        for nr in run.nodes.values():
            register_secrets_in(nr.inputs)
        # A secret port's value is masked where it is that port's value, and redacted
        # wherever else it shows up (echoed into another output, an error message).
        for nr in run.nodes.values():
            view = skills.get(nr.skill_id)
            if view is not None and (view.secret_in or view.secret_out):
                for values, names in ((nr.inputs, view.secret_in), (nr.outputs, view.secret_out)):
                    for name in names:
                        value = (values or {}).get(name)
                        if isinstance(value, str):
                            register_secret(value)
        # Redaction works on what the run holds, before anything is quoted into code or
        # JSON: a secret with a quote or backslash in it would no longer be found verbatim
        # in the repr or the JSON text.
        if _holds_secret(run, skills, redact, result.workflow):
            run, skills = _redacted(run, skills, redact)
        reserved = set(_RESERVED)
        for view in skills.values():
            if view is not None and view.code:
                reserved |= _code_names(view.code)
        self.run, self.skills, self.side = run, skills, side
        self.names = _variable_names(run.nodes, reserved)

    def summary_cell(self) -> dict[str, Any]:
        return {"cell_type": "markdown", "id": "summary", "metadata": {},
                "source": _summary(self.run, self.skills)}

    def code_cells(self) -> Iterator[dict[str, Any]]:
        skills, names, side = self.skills, self.names, self.side
        cell_ids = {"summary"}
        count = 0
        above: tuple[Any, Any] | None = None  # (skill view, node id) of the cell above
        for node_id, nr in self.run.nodes.items():
            if nr.status == "skipped":
                continue
            view = skills.get(nr.skill_id)
            count += 1
            code_above = (above[1] if above is not None and view is not None and above[0] is view
                          else None)
            above = ((view, node_id) if view is not None and view.runtime == "python" and view.code
                     else None)
            cell: dict[str, Any] = {
                "cell_type": "code",
                "execution_count": count,
                "id": _cell_id(f"node-{node_id}", cell_ids),
                "metadata": {"llmos": {
                    "node": node_id,
                    "skill": nr.skill_id,
                    "version": view.version if view else None,
                    "code_hash": view.code_hash if view else None,
                    "status": nr.status,
                    "duration_ms": round(_number(nr.duration_ms), 3),
                }},
                "outputs": _cell_outputs(nr, count, view.secret_out if view else _NO_SECRETS, side),
                "source": _cell_source(nr, names[node_id], names, view, side, code_above),
            }
            if nr.status == "failed":
                cell["metadata"]["tags"] = ["raises-exception"]
            yield cell

    def metadata(self) -> dict[str, Any]:
        run, skills, side = self.run, self.skills, self.side
        nodes_meta = {}
        for n, r in run.nodes.items():
            view = skills.get(r.skill_id)
            sec_in = view.secret_in if view else _NO_SECRETS
            wired = r.wired or {}
            nodes_meta[n] = node_metadata(
                skill=r.skill_id,
                version=view.version if view else None,
                code_hash=view.code_hash if view else None,
                status=r.status,
                duration_ms=round(_number(r.duration_ms), 3),
                started_at=_iso(r.started_at) if r.started_at else None,
                params={k: MASK if k in sec_in else _meta_value(n, k, v, side)
                        for k, v in (r.inputs or {}).items() if k not in wired},
                wired={(k if type(k) is str else _key_text(k)): f"{s}.{p}"
                       for k, (s, p) in wired.items()},
                error=r.error if r.error is None or type(r.error) is str else _safe_repr(r.error),
                cache_key=(r.cache_key if type(r.cache_key) is str and _HEX.match(r.cache_key)
                           else None),
                extra=_node_extra(r),
            )
        return {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            **trace_metadata(
                run_id=_plain(run.run_id),
                workflow=_capped_workflow(run.workflow, side),
                workflow_path=run.path,
                overrides=run.overrides,
                status=_plain(run.status),
                started_at=_iso(run.started_at),
                duration_ms=round(_number(run.duration_ms), 3),
                nodes=nodes_meta,
                versions={
                    "llmos_jupyter": __version__,
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                trigger=run.trigger if isinstance(run.trigger, dict) else None,
            ),
        }


def _meta_value(node_id: Any, port: Any, value: Any, side: _SideFiles) -> Any:
    """A parameter for the metadata: as it is when small, else its capped summary."""
    t = type(value)
    if (t is int or t is float or t is bool or value is None
            or (t is str and len(value) <= VALUE_CAP)):
        return value
    return _capped(node_id, str(port), _json_value(value), side)


def _capped_workflow(data: Any, side: _SideFiles) -> Any:
    """The workflow JSON with large node params replaced by their capped summaries."""
    try:
        nodes = data["nodes"]
    except (KeyError, TypeError):
        return data
    out = None
    for i, node in enumerate(nodes):
        try:
            params = node["data"]["params"]
            capped = {k: _meta_value(node["id"], k, v, side) for k, v in params.items()}
        except (KeyError, TypeError, AttributeError):
            continue
        if any(capped[k] is not v for k, v in params.items()):
            if out is None:
                out = dict(data)
                out["nodes"] = list(nodes)
            out["nodes"][i] = {**node, "data": {**node["data"], "params": capped}}
    return data if out is None else out


def _holds_secret(run: _RunView, skills: dict[Any, _SkillView | None], redact: Any,
                  wf: Any) -> bool:
    """Whether any text of the run holds something ``redact`` replaces.

    One ``redact`` call over the distinct strings joined (a 5,000-node run repeats the
    same port names, statuses and code): a secret inside one string is still inside the
    joined text (a match spanning two strings only costs a needless, still correct,
    redacting pass). The workflow is read from its objects (``wf``), not from its JSON
    dict, which holds the same strings at twice the cost of a walk."""
    flat: list[Any] = [run.run_id, run.status, run.path]
    stack: list[Any] = [run.overrides]
    for view in skills.values():
        if view is not None:
            flat += (view.code, view.runtime, view.version)
    flat.extend(run.nodes)
    for nr in run.nodes.values():
        flat += (nr.node_id, nr.skill_id, nr.status, nr.error, nr.traceback,
                 getattr(nr, "log", None))
        stack += (nr.inputs, nr.outputs, nr.wired)
    for n in wf.nodes:
        flat += (n.id, n.skill, n.type)
        stack += (n.params, n.position)
        if n.extra or n.data_extra:
            stack += (n.extra, n.data_extra)
    for e in wf.edges:
        flat += (e.id, e.source, e.source_handle, e.target, e.target_handle)
        if e.extra:
            stack.append(e.extra)
    stack += (wf.id, wf.name, wf.extra)
    try:
        seen = set(flat)
    except TypeError:  # an unhashable id: walk it all
        seen = set()
        stack += flat
    else:
        odd = [x for x in seen if type(x) is not str]
        for x in odd:
            seen.discard(x)
        stack += odd
    _collect(seen, stack)
    joined = "\x00".join(seen)
    return redact(joined) != joined


def _collect(seen: set[str], stack: list[Any]) -> None:
    """Add to ``seen`` every string in ``stack`` (dict keys included; other objects by
    the text a trace would show of them). Consumes ``stack``. Scalars inside containers
    are handled in place, not pushed: this walk is a third of a big trace's cost."""
    push, pop, add = stack.append, stack.pop, seen.add
    guard = 0
    while stack:
        v = pop()
        t = type(v)
        if t is str:
            add(v)
        elif t is dict:
            for k, x in v.items():
                if type(k) is str:
                    add(k)
                else:
                    push(k)
                tx = type(x)
                if tx is str:
                    add(x)
                elif not (tx is int or tx is float or tx is bool or x is None):
                    push(x)
        elif t is list or t is tuple:
            for x in v:
                tx = type(x)
                if tx is str:
                    add(x)
                elif not (tx is int or tx is float or tx is bool or x is None):
                    push(x)
        elif v is None or t is int or t is float or t is bool:
            pass
        elif isinstance(v, (bytes, bytearray, memoryview)):
            if len(v) <= 65536 and not is_png(v):
                add(repr(bytes(v)))
        else:
            guard += 1
            if guard > 100_000:
                add("\x00".join(map(_safe_repr, stack)))  # give up walking: check all that is left
                break
            add(_safe_repr(v, 100_000))
            if isinstance(v, (str, dict, list, tuple)):  # subclasses: their items too
                push(str.__str__(v) if isinstance(v, str) else
                     dict(dict.items(v)) if isinstance(v, dict) else list(v))

def _node_extra(r: NodeResult) -> dict[str, Any]:
    """The optional fields of a node's record: retries, nested runs, LLM usage."""
    from llmos_jupyter._redact import redact_obj

    extra: dict[str, Any] = {}
    attempts = getattr(r, "attempts", 1)
    if type(attempts) is int and attempts > 1:
        extra["attempts"] = attempts
    subruns = getattr(r, "subruns", None)
    if isinstance(subruns, list) and subruns:
        extra["subruns"] = redact_obj(jsonable(subruns))
    outputs = r.outputs or {}
    usage, cost = outputs.get("usage"), outputs.get("cost_usd")
    if isinstance(usage, dict) and "input_tokens" in usage:
        extra["usage"] = {k: v for k, v in jsonable(usage).items()
                          if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            extra["cost_usd"] = float(cost)
    return extra


def _redacted(run: _RunView, skills: dict[Any, _SkillView | None],
              redact: Any) -> tuple[_RunView, dict[Any, _SkillView | None]]:
    """Copies of ``run`` and ``skills`` with every string redacted (ids and keys too)."""
    def r(v: Any) -> Any:
        return _redact_value(v, redact)

    nodes = {}
    for key, nr in run.nodes.items():
        wired = {r(k): (r(s), r(p)) for k, (s, p) in (nr.wired or {}).items()}
        nodes[r(key)] = dataclasses.replace(
            nr, node_id=r(nr.node_id), skill_id=r(nr.skill_id), status=r(nr.status),
            outputs=r(nr.outputs or {}), inputs=r(nr.inputs or {}), wired=wired,
            error=r(nr.error), traceback=r(nr.traceback), cache_key=r(nr.cache_key),
            **({"log": r(nr.log)} if getattr(nr, "log", None) is not None else {}))
    out_skills = {
        r(sid): None if v is None else _SkillView(r(v.code), r(v.runtime), r(v.version),
                                                  v.code_hash, v.secret_in, v.secret_out)
        for sid, v in skills.items()}
    path = r(run.path)
    return _RunView(r(run.run_id), r(run.status), run.started_at, run.duration_ms,
                    r(run.overrides), nodes, r(run.workflow), path,
                    Path(path).name if path else None, r(run.trigger)), out_skills


def _redact_value(value: Any, redact: Any, depth: int = 0) -> Any:
    """A copy of ``value`` with every string redacted; containers rebuilt (tuples stay
    tuples), bytes and numbers as they are, other objects as their redacted text."""
    t = type(value)
    if t is str:
        return redact(value)
    if value is None or t is int or t is float or t is bool:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    if depth >= _MAX_DEPTH:
        return "<value nested too deeply>"
    if isinstance(value, dict):
        return {_redact_value(k, redact, depth + 1): _redact_value(v, redact, depth + 1)
                for k, v in dict.items(value)}
    if isinstance(value, (list, tuple)):
        items = [_redact_value(v, redact, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, str):
        return redact(str.__str__(value))
    return redact(_safe_repr(value, 100_000))


def _secret_ports(skill: Any, kind: str) -> frozenset[str]:
    if skill is None:
        return frozenset()
    return frozenset(name for name, port in getattr(skill, kind).items()
                     if getattr(port, "secret", False))


_seconds: dict[int, str] = {}


def _iso(t: Any) -> str | None:
    """``t`` (Unix seconds) as ISO 8601 UTC with milliseconds, e.g.
    ``2026-11-30T12:00:00.123+00:00``; ``None`` for what is not a time. The nodes of a run
    start within a few seconds, so the text of each whole second is made once."""
    try:
        # As datetime.fromtimestamp does: round the fraction to microseconds; isoformat
        # then truncates to milliseconds.
        part, whole = math.modf(float(t))
        micro = round(part * 1e6)
        sec = int(whole) + (1 if micro >= 1_000_000 else -1 if micro < 0 else 0)
        frac = (micro % 1_000_000) // 1000
        head = _seconds.get(sec)
        if head is None:
            if len(_seconds) > 4096:
                _seconds.clear()
            head = _seconds[sec] = dt.datetime.fromtimestamp(sec, dt.UTC).isoformat()[:-6]
        return f"{head}.{frac:03d}+00:00"
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _number(x: Any) -> float:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return 0.0
    return f if math.isfinite(f) else 0.0


_code_names_cache: dict[str, frozenset[str]] = {}


def _code_names(code: str) -> frozenset[str]:
    """Every identifier a skill's code mentions: a node variable must not be rebound by
    the next cell's ``import math`` or ``CALLS = []``."""
    found = _code_names_cache.get(code)
    if found is None:
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            found = frozenset()
        else:
            names: set[str] = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.Name):
                    names.add(node.id)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(node.name)
                elif isinstance(node, ast.alias):
                    names.add((node.asname or node.name).split(".")[0])
                elif isinstance(node, (ast.Global, ast.Nonlocal)):
                    names.update(node.names)
            found = frozenset(names)
        if len(_code_names_cache) > 256:
            _code_names_cache.clear()
        _code_names_cache[code] = found
    return found


def _variable_names(nodes: Iterable[Any],
                    reserved: set[str] | frozenset[str] = _RESERVED) -> dict[Any, str]:
    """A distinct Python identifier per node id (``ham-1`` → ``ham_1``), made of
    ``[A-Za-z0-9_]`` only, never a keyword or a name in ``reserved``."""
    names: dict[Any, str] = {}
    used: set[str] = set()
    for node_id in nodes:
        name = _SAFE.sub("_", str(node_id)).strip("_")[:60] or "node"
        if name[0].isdigit():
            name = "n_" + name
        if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in reserved \
                or name.startswith("__"):
            name += "_node"
        base, i = name, 2
        while name in used or name in reserved:
            name, i = f"{base}_{i}", i + 1
        used.add(name)
        names[node_id] = name
    return names


def _cell_id(text: str, used: set[str]) -> str:
    """A cell id (``[A-Za-z0-9_-]``, ≤ 64 characters) not in ``used``."""
    if _CELL_ID.match(text) and text not in used:
        used.add(text)
        return text
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:56] or "node"
    cid, i = base, 2
    while cid in used:
        cid, i = f"{base}-{i}", i + 1
    used.add(cid)
    return cid


# -- literals: the only way a value gets into code -----------------------------------------
def _literal(value: Any, depth: int = 0) -> str:
    """Python source that evaluates to ``value``, built from :func:`repr` of ``str``,
    ``int``, ``float``, ``bool``, ``None`` and ``bytes`` only (containers rebuilt around
    them). Anything else becomes the string of its ``repr``: text, never code.

    Raises:
        _TooDeep: nested deeper than ``_MAX_DEPTH`` (or self-referential).
    """
    t = type(value)
    if t is str:
        return repr(value)
    if value is None or t is bool:
        return "True" if value is True else "False" if value is False else "None"
    if t is int:
        return _int_literal(value)
    if t is float:
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if depth >= _MAX_DEPTH:
        raise _TooDeep
    if t is list:
        return "[" + ", ".join([_literal(v, depth + 1) for v in value]) + "]"
    if t is dict:
        return "{" + ", ".join([f"{_key_literal(k)}: {_literal(v, depth + 1)}"
                                for k, v in value.items()]) + "}"
    if t is tuple:
        return "(" + "".join([_literal(v, depth + 1) + ", " for v in value]) + ")"
    # Subclasses and foreign types: through the base types' own methods, so an overridden
    # __repr__/__str__/__iter__ is never what writes code.
    if isinstance(value, bool):
        return "True" if int.__bool__(value) else "False"
    if isinstance(value, int):
        return _int_literal(int.__index__(value))
    if isinstance(value, float):
        return _literal(float.__float__(value), depth)
    if isinstance(value, str):
        return repr(str.__str__(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return repr(bytes(value))
    if isinstance(value, dict):
        return _literal(dict(dict.items(value)), depth)
    if isinstance(value, list):
        return _literal(list(list.__iter__(value)), depth)
    if isinstance(value, tuple):
        return _literal(tuple(tuple.__iter__(value)), depth)
    tolist = getattr(type(value), "tolist", None)
    if callable(tolist):  # numpy arrays and scalars
        try:
            return _literal(tolist(value), depth)
        except _TooDeep:
            raise
        except Exception:  # noqa: BLE001, S110 - any failure of foreign code: show its repr
            pass
    return repr(_safe_repr(value))


def _int_literal(value: int) -> str:
    try:
        return repr(value)
    except ValueError:  # more digits than int→str allows: hexadecimal has no limit
        return hex(value)


def _key_literal(key: Any) -> str:
    t = type(key)
    if t in (str, int, float, bool) or key is None:
        return _literal(key)
    return repr(_safe_repr(key))


def _safe_repr(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
        if not isinstance(text, str):
            raise TypeError
    except Exception:  # noqa: BLE001 - a raising __repr__ must not fail the trace
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _plain(value: Any) -> Any:
    """A scalar for metadata: str/int/float/bool/None as they are, others as text."""
    if value is None or type(value) in (str, int, bool):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else str(value)
    return _safe_repr(value)


def _json_value(value: Any, depth: int = 0) -> Any:
    """Plain JSON data of ``value`` (``jsonable``'s rules, written defensively): PNG →
    data URI, other bytes → ``{"$bytes": base64}``, non-finite floats → their text,
    tuples → lists, other objects → their ``repr`` (a raising one → a placeholder);
    deeper than ``_MAX_DEPTH`` → a placeholder string."""
    t = type(value)
    if t is str or t is bool or value is None:
        return value
    if t is int:  # beyond ~4,300 digits int→str refuses: hexadecimal text instead
        return value if value.bit_length() < 14_000 else hex(value)
    if t is float:
        return value if math.isfinite(value) else str(value)
    if depth >= _MAX_DEPTH:
        return "<value nested too deeply>"
    if t is dict:
        return {(k if type(k) is str else _key_text(k)): _json_value(v, depth + 1)
                for k, v in value.items()}
    if t is list or t is tuple:
        return [_json_value(v, depth + 1) for v in value]
    if isinstance(value, bool):
        return bool(int.__bool__(value))
    if isinstance(value, int):
        return _json_value(int.__index__(value))
    if isinstance(value, float):
        return _json_value(float.__float__(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if is_png(data):
            return "data:image/png;base64," + base64.b64encode(data).decode()
        return {"$bytes": base64.b64encode(data).decode()}
    if isinstance(value, dict):
        return _json_value(dict(dict.items(value)), depth)
    if isinstance(value, (list, tuple)):
        return [_json_value(v, depth + 1) for v in (list.__iter__(value) if isinstance(value, list)
                                                     else tuple.__iter__(value))]
    tolist = getattr(type(value), "tolist", None)
    if callable(tolist):
        try:
            return _json_value(tolist(value), depth + 1)
        except Exception:  # noqa: BLE001, S110 - any failure of foreign code: show its repr
            pass
    return _safe_repr(value)


def _key_text(key: Any) -> str:
    if type(key) in (int, float, bool) or key is None:
        return json.dumps(key) if type(key) is not float or math.isfinite(key) else str(key)
    return _safe_repr(key)


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return f"array of {len(value):,} items"
    if isinstance(value, dict):
        return f"object of {len(value):,} keys"
    if isinstance(value, str):
        return f"string of {len(value):,} characters"
    return type(value).__name__


# -- cells ---------------------------------------------------------------------------------
def _comment(text: Any) -> str:
    """``text`` as it may appear inside a ``#`` comment: plain ids as they are, anything
    else through :func:`repr` (no newline, no carriage return can end the comment)."""
    s = text if isinstance(text, str) else _safe_repr(text)
    return s if _PLAIN_ID.match(s) else repr(s)


def _header(nr: NodeResult, skill: _SkillView | None) -> str:
    if skill is not None:
        part = skill.header
        if part is None:
            part = skill.header = f"skill {_comment(nr.skill_id)} v{_comment(str(skill.version))}"
    else:
        part = f"skill {_comment(nr.skill_id)}"
    status = nr.status
    if status == "completed":
        status = f"completed in {_number(nr.duration_ms):.1f} ms"
    elif status not in ("cached", "failed"):
        status = _comment(status)
    return f"# node {_comment(nr.node_id)} · {part} · {status}"


def _value_source(node_id: Any, port: Any, value: Any, side: _SideFiles) -> str:
    """Source for a parameter value: a literal, or (large or too deep) the load of its
    side file."""
    try:
        text = _literal(value)
    except _TooDeep:
        text = None
    if text is not None and len(text) <= VALUE_CAP:
        return text
    rel = side.put(str(node_id), str(port), _json_text(value))
    if rel is None:
        return text if text is not None else repr("<value nested too deeply>")
    return f"json.loads(pathlib.Path({rel!r}).read_text(encoding='utf-8'))"


def _json_text(value: Any) -> str:
    try:
        return json.dumps(_json_value(value), ensure_ascii=True)
    except (ValueError, RecursionError):
        return json.dumps("<value nested too deeply>")


def _cell_source(nr: NodeResult, var: str, names: dict[Any, str], skill: _SkillView | None,
                 side: _SideFiles, code_above: Any = None) -> str:
    """A node's cell: header, the skill's code, the call of ``execute``.

    ``code_above`` is the node id of the cell right above when it ran the same skill
    code: ``execute`` is still the one that cell defined, so the code is not repeated
    (a chain of 5,000 nodes of one skill holds its code once). Any other skill in
    between and the code is written again: two skills' module-level names never meet.
    """
    runtime = skill.runtime if skill else "python"
    code = skill.code if skill else None
    secret_in = skill.secret_in if skill else _NO_SECRETS
    lines = [_header(nr, skill)]
    loads: list[str] = []

    def value(port: Any, v: Any) -> str:
        t = type(v)
        if t is int and -(10**15) < v < 10**15 or t is bool or v is None:
            return repr(v)  # the common case, without the general path's checks
        src = _value_source(nr.node_id, port, v, side)
        if src.startswith("json.loads("):
            loads.append(src)
        return src

    if runtime != "python":
        # JavaScript ran in the canvas' browser worker: a Python kernel cannot re-run it,
        # so the cell keeps the code as comments and binds the recorded outputs.
        lines.append(f"# runtime {_comment(runtime)}: ran in the canvas front-end (a browser "
                     "Web Worker); its code, not re-run here:")
        lines += [("#   " + line.replace("\x00", "\\x00")).rstrip()
                  for line in (code or "").rstrip().splitlines()]
        body = f"{var} = {value('outputs', _json_value(nr.outputs))}"
        if loads:
            lines.append("import json, pathlib")
        lines += [body, var]
        return "\n".join(lines)
    if code is not None and code_above is not None:
        lines += [f"# (the skill's code ran in the cell of node {_comment(code_above)} above)"]
    elif code is not None:
        lines += [code, ""]  # already stripped of trailing blank lines (see _view)
    else:
        lines += ["# (the skill is no longer in the library; its code is not available)", ""]
    args = []
    wired = nr.wired or {}
    for port, v in (nr.inputs or {}).items():
        key = repr(port) if type(port) is str else repr(_safe_repr(port))
        try:
            linked = port in wired and wired[port][0] in names
        except TypeError:  # an unhashable source id: show the value instead
            linked = False
        if linked:
            src, src_port = wired[port]
            sp = _literal(src_port) if type(src_port) is str else repr(_safe_repr(src_port))
            args.append(f"    {key}: {names[src]}[{sp}],")
        elif port in secret_in:
            args.append(f"    {key}: {MASK!r},")
        else:
            args.append(f"    {key}: {value(port, v)},")
    if loads:
        lines.append("import json, pathlib")
    lines.append(f"{var} = execute({{" + ("\n" + "\n".join(args) + "\n" if args else "") + "})")
    outputs = nr.outputs or {}
    images = [k for k, v in outputs.items() if type(k) is str and is_png(v)]
    if images:
        lines.append("from IPython.display import Image, display")
        lines += [f"display(Image(data={var}[{k!r}]))" for k in images]
        if any(k not in images for k in outputs):
            lines.append(f"{{k: v for k, v in {var}.items() if k not in {tuple(images)!r}}}")
    else:
        lines.append(var)
    return "\n".join(lines)


def _cell_outputs(nr: NodeResult, count: int, secret_out: frozenset[str],
                  side: _SideFiles) -> list[dict[str, Any]]:
    if nr.status == "failed":
        error = (nr.error if isinstance(nr.error, str)
                 else "" if nr.error is None else _safe_repr(nr.error))
        tb = nr.traceback if isinstance(nr.traceback, str) else ""
        ename, _, evalue = (error or "Error: ").partition(": ")
        return _log_output(nr) + [{"output_type": "error", "ename": ename, "evalue": evalue,
                                   "traceback": (tb or error).rstrip("\n").split("\n")}]
    outputs: list[dict[str, Any]] = _log_output(nr)
    plain: dict[str, Any] = {}
    for port, value in (nr.outputs or {}).items():
        key = port if type(port) is str else _key_text(port)
        t = type(value)
        if key in secret_out:
            plain[key] = MASK
        elif t is int or t is bool or value is None or (t is float and math.isfinite(value)):
            plain[key] = value if t is not int or value.bit_length() < 14_000 else hex(value)
        elif is_png(value):
            outputs.append({
                "output_type": "display_data",
                "data": {"image/png": base64.b64encode(png_bytes(value)).decode(),
                         "text/plain": f"<PNG image: {_comment(nr.node_id)}.{_comment(key)}>"},
                "metadata": {"llmos": {"port": key}},
            })
        else:
            plain[key] = _capped(nr.node_id, key, _json_value(value), side)
    if plain or not outputs:
        try:
            text = _literal(plain)
        except _TooDeep:
            text = repr("<outputs nested too deeply>")
        outputs.append({"output_type": "execute_result", "execution_count": count,
                        "data": {"text/plain": text, "application/json": plain},
                        "metadata": {}})
    return outputs


def _log_output(nr: NodeResult) -> list[dict[str, Any]]:
    """What the skill printed, as the cell's stream output (empty list when nothing)."""
    log = getattr(nr, "log", None)
    if not log:
        return []
    text = log if isinstance(log, str) else _safe_repr(log)
    return [{"output_type": "stream", "name": "stdout", "text": text}]


def _capped(node_id: Any, port: str, value: Any, side: _SideFiles) -> Any:
    """``value`` (JSON data), or a one-line summary when its JSON is over the cap."""
    t = type(value)
    if t is not list and t is not dict and (t is not str or len(value) <= VALUE_CAP):
        return value
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (ValueError, RecursionError):
        return "<value nested too deeply>"
    if len(text) <= VALUE_CAP:
        return value
    rel = side.put(str(node_id), port, text)
    where = f"; in full in {rel}" if rel else ""
    return f"<{_describe(value)}, {len(text):,} characters of JSON{where}>"


# -- the summary cell ----------------------------------------------------------------------
def _md(text: Any) -> str:
    """Untrusted text as inert Markdown: control characters shown escaped, HTML escaped,
    Markdown punctuation backslash-escaped; plain ids stay readable code spans."""
    s = text if isinstance(text, str) else _safe_repr(text)
    if _PLAIN_ID.match(s):
        return f"`{s}`"
    return markdown_text(s)


def markdown_text(text: Any) -> str:
    """Untrusted text as inert Markdown text: control characters shown escaped (``\\n``),
    ``&``/``<``/``>`` as HTML entities, and the characters that make links, images,
    emphasis, code spans, table columns and math backslash-escaped."""
    s = text if isinstance(text, str) else _safe_repr(text)
    s = _CTRL.sub(lambda m: ascii(m.group())[1:-1], s)
    return _MD_SPECIAL.sub(r"\\\1", html.escape(s, quote=False))


def _summary(run: _RunView, skills: dict[Any, _SkillView | None]) -> str:
    wf = run.workflow if isinstance(run.workflow, dict) else {}
    title = wf.get("name") or wf.get("id") or "workflow"
    source = f" from {_md(run.path_name)}" if run.path_name else ""
    lines = [
        f"# Trace: {_md(title)}",
        "",
        (f"Workflow {_md(wf.get('id'))}{source} · run {_md(run.run_id)} · "
         f"{markdown_text(_iso(run.started_at) or '')} · **{markdown_text(run.status)}** in "
         f"{_number(run.duration_ms):.0f} ms"),
        "",
        "| node | skill | status | time (ms) | outputs |",
        "|---|---|---|---:|---|",
    ]
    items = list(run.nodes.items())
    shown = items if len(items) <= SUMMARY_ROWS else (
        items[:SUMMARY_ROWS] + [(n, r) for n, r in items[SUMMARY_ROWS:] if r.status == "failed"])
    for node_id, r in shown:
        view = skills.get(r.skill_id)
        what = (r.error if r.status in ("failed", "skipped")
                else _preview(r.outputs or {}, view.secret_out if view else _NO_SECRETS))
        lines.append(f"| {_md(node_id)} | {_md(r.skill_id)} | {markdown_text(r.status)} | "
                     f"{_number(r.duration_ms):.1f} | {_md_cell(what)} |")
    if len(shown) < len(items):
        lines.append(f"| … {len(items) - len(shown):,} more nodes (see their cells below) "
                     "| | | | |")
    # Node params as the workflow holds them (secret inputs already masked in _view),
    # then the run-time overrides.
    params = []
    for n in wf.get("nodes") or ():
        try:
            params += [(n["id"], k, v) for k, v in n["data"]["params"].items()]
        except (KeyError, TypeError, AttributeError):
            continue
    for n, kv in (run.overrides or {}).items():
        if isinstance(kv, dict):
            params += [(n, k, v) for k, v in kv.items()]
    if params:
        lines += ["", "**Parameters** (node params, then run-time overrides)", "",
                  "| node | input | value |", "|---|---|---|"]
        lines += [f"| {_md(n)} | {_md(k)} | {_md_cell(_short(v))} |"
                  for n, k, v in params[:SUMMARY_ROWS]]
        if len(params) > SUMMARY_ROWS:
            lines.append(f"| … {len(params) - SUMMARY_ROWS:,} more | | |")
    lines += ["", ("Each code cell below holds a node's skill code and its resolved inputs; the "
                   "notebook re-runs top to bottom in a plain Python kernel.")]
    return "\n".join(lines)


def _md_cell(text: Any) -> str:
    s = text if isinstance(text, str) else _safe_repr(text)
    if len(s) > 300:
        s = s[:297] + "..."
    return markdown_text(s)  # ~~strikethrough~~ is plain-id text too: always escaped


def _short(value: Any) -> str:
    if is_png(value):
        return "PNG image"
    if type(value) is float:
        return f"{value:.10g}"
    if isinstance(value, list):
        return f"array of {len(value)}"
    if isinstance(value, dict):
        return f"object of {len(value)} keys"
    text = _safe_repr(value, 60)
    return text if len(text) <= 40 else text[:37] + "..."


def _preview(outputs: dict[Any, Any], secret_out: frozenset[str]) -> str:
    return ", ".join(f"{k} = {MASK if k in secret_out else _short(v)}" for k, v in outputs.items())
