"""The trace record: what a trace notebook's ``metadata.llmos.trace`` holds, written and
read in one place.

A trace notebook (see :mod:`llmos_jupyter._trace.notebook`) carries its run as notebook
metadata, ``{"llmos": {"trace": {...}}}``::

    run_id        str     the engine's run id
    workflow      object  the workflow JSON (React Flow field names: id, name, nodes, edges)
    workflow_path str|null the file the workflow was loaded from
    overrides     object  {node id: {port: value}} given at run time
    status        str     "completed" | "failed" | "cancelled"
    started_at    str|null ISO 8601 UTC with milliseconds
    duration_ms   number  wall time of the whole run
    nodes         object  {node id: NODE}, in execution order
    versions      object  {"llmos_jupyter", "python", "platform"}
    trigger       object  optional: {type, index, detail} of a run `llmos serve` started

    NODE = {skill, version, code_hash, status ("completed" | "cached" | "failed" |
            "skipped"), duration_ms, started_at, params, wired {port: "node.port"},
            error, cache_key}
           + optional attempts (int > 1, a retry policy), subruns (a control node's
           nested runs: [{tag, run_id, status, duration_ms, nodes}]), usage and cost_usd
           (an LLM node's token counts and estimated USD)

The JSON Schema of this record is :data:`llmos_jupyter._contract.schemas` ``TraceRecord``
(the browser's run-history view reads the same fields).

:func:`trace_metadata` builds the record (the trace writer calls it);
:func:`read_trace_metadata` reads it back fast (only the end of the file);
:func:`parse_run_record` turns it into a typed :class:`RunRecord`;
:func:`read_run_records` lists the runs of a traces folder (``llmos stats``, the run
history).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["TRACE_KEY", "NodeRecord", "RunRecord", "node_metadata", "parse_run_record",
           "read_run_record", "read_run_records", "read_trace_metadata", "trace_files",
           "trace_metadata", "trace_record_of"]

TRACE_KEY = ("llmos", "trace")
"""Where the record lives in the notebook metadata: ``metadata["llmos"]["trace"]``."""

# nbformat writes JSON with sorted keys and a one-space indent, so the top-level
# "metadata" key is the one line reading '\n "metadata": {' (a raw newline never occurs
# inside a JSON string), followed only by "nbformat" and "nbformat_minor". The writer
# (_trace/notebook.py) keeps that layout; the reader parses the file's tail only.
_META = b'\n "metadata": {'
_END = b',\n "nbformat":'
_TAIL = 32768
_STAMP = re.compile(r"(\d{8}-\d{6})-")


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """One node of a recorded run.

    ``duration_ms`` is the wall time of the skill's ``execute`` (0 for cached and skipped
    nodes); ``cached`` is true when the outputs came from the cache (``status ==
    "cached"``); ``error`` is one line (``"ExceptionType: message"``, or the reason a node
    was skipped), ``None`` when there was none.
    """

    node_id: str
    skill_id: str | None
    status: str
    duration_ms: float
    cached: bool
    error: str | None
    started: dt.datetime | None = None
    cache_key: str | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One recorded run (one trace notebook).

    ``started``/``finished`` are timezone-aware UTC datetimes (``finished`` = ``started``
    + ``duration_ms``), ``None`` when the trace has no start time. ``workflow_name`` falls
    back to the workflow id when the workflow has no name. ``nodes`` are in execution
    order. ``path`` is the notebook's path (``None`` for a record parsed from a dict).
    ``raw`` is the metadata dict itself, for fields this class does not lift out.
    """

    run_id: str
    workflow_id: str | None
    workflow_name: str | None
    status: str
    started: dt.datetime | None
    finished: dt.datetime | None
    nodes: list[NodeRecord]
    duration_ms: float = 0.0
    path: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def workflow(self) -> Mapping[str, Any]:
        """The recorded workflow JSON (``{}`` when missing)."""
        wf = self.raw.get("workflow")
        return wf if isinstance(wf, Mapping) else {}

    @property
    def overrides(self) -> Mapping[str, Any]:
        """The run-time overrides, ``{node id: {port: value}}``."""
        o = self.raw.get("overrides")
        return o if isinstance(o, Mapping) else {}

    @property
    def trigger(self) -> Mapping[str, Any] | None:
        """What started the run (``{type, index, detail}``), ``None`` for a person."""
        t = self.raw.get("trigger")
        return t if isinstance(t, Mapping) else None

    @property
    def llm_cost_usd(self) -> float:
        """The estimated USD of the run's LLM nodes (their recorded ``cost_usd``)."""
        nodes = self.raw.get("nodes")
        if not isinstance(nodes, Mapping):
            return 0.0
        return float(sum(n.get("cost_usd") or 0.0 for n in nodes.values()
                         if isinstance(n, Mapping) and isinstance(n.get("cost_usd"), (int, float))
                         and not isinstance(n.get("cost_usd"), bool)))


def trace_metadata(*, run_id: Any, workflow: Any, workflow_path: str | None, overrides: Any,
                   status: Any, started_at: str | None, duration_ms: float,
                   nodes: Mapping[str, Mapping[str, Any]],
                   versions: Mapping[str, Any],
                   trigger: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The notebook metadata of a trace, ``{"llmos": {"trace": {...}}}`` (the record's
    fields as the module docstring lists them; values already made JSON-safe, masked and
    redacted by the caller). ``trigger`` (``{type, index, detail}``) is recorded for runs
    that ``llmos serve`` started."""
    extra = {"trigger": dict(trigger)} if trigger else {}
    return {"llmos": {"trace": {
        **extra,
        "run_id": run_id,
        "workflow": workflow,
        "workflow_path": workflow_path,
        "overrides": overrides,
        "status": status,
        "started_at": started_at,
        "duration_ms": duration_ms,
        "nodes": dict(nodes),
        "versions": dict(versions),
    }}}


def node_metadata(*, skill: Any, version: Any, code_hash: Any, status: Any, duration_ms: float,
                  started_at: str | None, params: Mapping[str, Any], wired: Mapping[str, str],
                  error: str | None, cache_key: str | None,
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One entry of the record's ``nodes`` (see the module docstring). ``extra`` adds the
    optional fields: ``attempts`` (> 1 under a retry policy), ``subruns`` (a control node's
    nested runs: ``[{tag, run_id, status, duration_ms, nodes: {id: {status, duration_ms,
    error}}}]``), ``usage`` and ``cost_usd`` (an LLM node's tokens and estimated USD)."""
    return {"skill": skill, "version": version, "code_hash": code_hash, "status": status,
            "duration_ms": duration_ms, "started_at": started_at, "params": dict(params),
            "wired": dict(wired), "error": error, "cache_key": cache_key, **(extra or {})}


def trace_record_of(notebook_metadata: Any) -> dict[str, Any] | None:
    """``metadata["llmos"]["trace"]`` of a notebook's metadata dict, or ``None`` when it is
    not a trace record (no such key, or ``nodes``/``workflow`` not objects)."""
    if not isinstance(notebook_metadata, Mapping):
        return None
    llmos = notebook_metadata.get("llmos")
    trace = llmos.get("trace") if isinstance(llmos, Mapping) else None
    if not isinstance(trace, dict) or not isinstance(trace.get("nodes"), dict):
        return None
    return trace


def read_trace_metadata(path: str | Path) -> dict[str, Any] | None:
    """The ``llmos.trace`` record of a trace notebook (with ``"path"`` added), or ``None``
    for a file that is not a trace or cannot be read.

    Reads only the file's tail when it has nbformat's layout (a trace is 50-100 kB of code
    and PNGs, its metadata a few kB at the end); parses the whole file otherwise.
    """
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            tail = min(size, _TAIL)
            while True:
                f.seek(size - tail)
                data = f.read(tail)
                start = data.rfind(_META)
                if start >= 0 or tail == size:
                    break
                tail = min(size, tail * 4)
    except OSError:
        return None
    meta = None
    if start >= 0:
        end = data.rfind(_END)
        if end > start:
            try:
                meta = json.loads(data[start + len(_META) - 1:end])
            except ValueError:
                meta = None
    if meta is None:  # not nbformat's layout: parse the whole notebook
        try:
            with open(path, "rb") as f:
                meta = json.loads(f.read()).get("metadata")
        except (OSError, ValueError, AttributeError):
            return None
    trace = trace_record_of(meta)
    if trace is None:
        return None
    trace["path"] = str(path)
    return trace


def trace_files(directory: str | Path) -> list[Path]:
    """The ``*.ipynb`` files directly in ``directory`` (hidden ones left out), sorted by
    name, which is start-time order (names begin with the UTC start time); ``[]`` when the
    folder does not exist."""
    try:
        entries = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    with entries:
        names = sorted(e.name for e in entries if e.name.endswith(".ipynb") and e.is_file()
                       and not e.name.startswith("."))
    return [Path(directory) / n for n in names]


def _time(value: Any) -> dt.datetime | None:
    """An ISO 8601 string (or Unix seconds) as an aware UTC datetime; ``None`` otherwise."""
    try:
        if isinstance(value, str):
            t = dt.datetime.fromisoformat(value)
            return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(value, dt.UTC)
    except (ValueError, OverflowError, OSError):
        pass
    return None


def _float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return 0.0


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_run_record(trace: Mapping[str, Any], path: str | Path | None = None) -> RunRecord:
    """The typed view of one ``llmos.trace`` record. Lenient: a missing or mistyped field
    becomes ``None``/``0``/``"unknown"`` rather than an error (traces written by older
    versions lack some fields).

    Raises:
        TypeError: ``trace`` is not a mapping.
        ValueError: ``trace`` has no ``nodes`` object.
    """
    if not isinstance(trace, Mapping):
        raise TypeError(f"{path or 'record'}: a trace record is a JSON object, not "
                        f"{type(trace).__name__}")
    entries = trace.get("nodes")
    if not isinstance(entries, Mapping):
        entries = None
    if entries is None:
        raise ValueError(f"{path or 'record'}: not an llmos trace record (no 'nodes' object)")
    wf = trace.get("workflow")
    wf = wf if isinstance(wf, Mapping) else {}
    workflow_id = _str(wf.get("id"))
    nodes = []
    for node_id, r in entries.items():
        if not isinstance(r, Mapping):
            continue
        status = _str(r.get("status")) or "unknown"
        key = r.get("cache_key")
        nodes.append(NodeRecord(
            node_id=str(node_id), skill_id=_str(r.get("skill")), status=status,
            duration_ms=_float(r.get("duration_ms")), cached=status == "cached",
            error=_str(r.get("error")), started=_time(r.get("started_at")),
            cache_key=_str(key)))
    started = _time(trace.get("started_at"))
    duration = _float(trace.get("duration_ms"))
    finished = started + dt.timedelta(milliseconds=duration) if started is not None else None
    where = path if path is not None else trace.get("path")
    return RunRecord(
        run_id=str(trace.get("run_id") or ""), workflow_id=workflow_id,
        workflow_name=_str(wf.get("name")) or workflow_id,
        status=_str(trace.get("status")) or "unknown",
        started=started, finished=finished, nodes=nodes, duration_ms=duration,
        path=str(where) if where is not None else None, raw=trace)


def read_run_record(path: str | Path) -> RunRecord | None:
    """The run recorded in one trace notebook, or ``None`` when the file is not a trace
    or cannot be read."""
    trace = read_trace_metadata(path)
    return parse_run_record(trace, path) if trace is not None else None


def _as_datetime(since: dt.datetime | float | str) -> dt.datetime:
    if isinstance(since, dt.datetime):
        return since.replace(tzinfo=dt.UTC) if since.tzinfo is None else since
    t = _time(since)
    if t is None:
        raise ValueError(f"since must be a datetime, Unix seconds or ISO 8601 text, got {since!r}")
    return t


def read_run_records(folder: str | Path, since: dt.datetime | float | str | None = None,
                     workflow: str | None = None) -> Iterator[RunRecord]:
    """The runs recorded in the trace notebooks directly in ``folder``, oldest first.

    Args:
        folder: a traces folder (usually :func:`llmos_jupyter._paths.traces_dir`); a
            missing folder yields nothing.
        since: only runs that started at or after this time (an aware or naive-as-UTC
            ``datetime``, Unix seconds, or ISO 8601 text). Runs without a start time are
            left out when ``since`` is given.
        workflow: only runs of this workflow, matched against the workflow id or name.

    Yields:
        :class:`RunRecord` per trace; files that are not traces or cannot be read are
        skipped silently (a traces folder may hold other notebooks).

    Raises:
        ValueError: ``since`` is not a time.
    """
    cutoff = _as_datetime(since) if since is not None else None
    for path in trace_files(folder):
        if cutoff is not None:
            # File names start with the UTC start second: skip older files unread.
            m = _STAMP.match(path.name)
            if m is not None:
                try:
                    stamp = dt.datetime.strptime(m.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=dt.UTC)
                except ValueError:
                    stamp = None
                if stamp is not None and stamp + dt.timedelta(seconds=1) <= cutoff:
                    continue
        record = read_run_record(path)
        if record is None:
            continue
        if cutoff is not None and (record.started is None or record.started < cutoff):
            continue
        if workflow is not None and workflow not in (record.workflow_id, record.workflow_name):
            continue
        yield record
