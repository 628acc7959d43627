"""Agent runs recorded as notebooks (nbformat v4), under ``<user volume>/agent-runs``.

Layout: a Markdown summary cell (system, status, result or error, a table of actors with
their restarts, handled messages and status, "(paused)" when paused at the end), then
one Markdown cell per delivered message in delivery order: ``m000005 · ping: ping →
pong`` (control messages such as ``pause_actor`` show ``→ coordinator``), the payload
(JSON, at most :data:`PREVIEW` characters) and the handler's ``ctx.log`` lines.
The full log is in the notebook metadata ``llmos.agents`` (``{name, status, result,
error, started_at, duration_s, actors, messages}``) for tools (evolution, stats) to read.

Everything in it comes from actors (untrusted data): every string goes through
:func:`llmos_jupyter._redact.redact` (API keys) and becomes inert Markdown with
:func:`llmos_jupyter._trace.notebook.markdown_text` (HTML-escaped, Markdown specials
backslash-escaped); no cell is code, so opening or running the notebook runs nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from pathlib import Path
from typing import Any

from llmos_jupyter._actors.runtime import RunOutcome

__all__ = ["PREVIEW", "agent_runs_dir", "build_agent_trace", "write_agent_trace"]

PREVIEW = 400
"""Characters of a payload's JSON shown in its cell."""
_FILE_PART = re.compile(r"[^A-Za-z0-9_.-]+")


def agent_runs_dir(home: Path | None = None) -> Path:
    """``<user volume>/agent-runs``: where agent run notebooks are written."""
    from llmos_jupyter._paths import volume_dir

    return volume_dir("user", home) / "agent-runs"


def _md(text: Any) -> str:
    from llmos_jupyter._redact import redact
    from llmos_jupyter._trace.notebook import markdown_text

    return markdown_text(redact(text if isinstance(text, str) else str(text)))


def _json(value: Any, cap: int = PREVIEW) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= cap else text[:cap] + f"… ({len(text)} characters)"


def _redacted(value: Any) -> Any:
    from llmos_jupyter._redact import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v) for k, v in value.items()}
    return value


def build_agent_trace(outcome: RunOutcome) -> Any:
    """The run as an ``nbformat`` v4 notebook node (see the module docstring)."""
    from nbformat import v4

    started = dt.datetime.fromtimestamp(outcome.started_at, dt.UTC)
    lines = [f"# Agent run: {_md(outcome.name)}", "",
             f"Started {started:%Y-%m-%d %H:%M:%S} UTC, {outcome.duration_s:.2f} s, "
             f"status **{_md(outcome.status)}**"
             + (f" (ctx.exit by {_md(outcome.exited_by)})" if outcome.exited_by else "") + ".",
             ""]
    if outcome.result is not None:
        lines += [f"Result: {_md(_json(outcome.result))}", ""]
    if outcome.error:
        lines += ["Error:", ""] + [f"    {_md(line)}" for line in outcome.error.splitlines()] + [""]
    lines += ["| actor | skill | scope | restarts | handled | status |",
              "|---|---|---|---|---|---|"]
    for aid, a in outcome.actors.items():
        status = _md(a['status']) + (" (paused)" if a.get("paused") else "")
        lines.append(f"| {_md(aid)} | {_md(a['skill'])} | {_md(a['scope'])} | {a['restarts']} "
                     f"| {a['handled']} | {status} |")
    delivered = [m for m in outcome.messages if m.get("receiver")]
    lines += ["", (f"{len(delivered)} messages delivered "
                   f"({len(outcome.messages) - len(delivered)} undelivered).")]
    cells = [v4.new_markdown_cell("\n".join(lines))]
    for aid, a in outcome.actors.items():
        if a.get("start_log"):
            cells.append(v4.new_markdown_cell("\n".join(
                [f"**on_start log of {_md(aid)}**", ""] + [f"- {_md(x)}" for x in a["start_log"]])))
    for m in outcome.messages:
        head = (f"**{_md(m.get('id') or '')}** · **{_md(m.get('type'))}**: "
                f"{_md(m.get('sender'))} → {_md(m.get('receiver') or '(nobody subscribed)')}"
                f" · scope {_md(m.get('scope'))}"
                + (f" · reply to {_md(m['reply_to'])}" if m.get("reply_to") else "")
                + ("" if m.get("status") == "handled" else f" · **{_md(m.get('status'))}**"))
        body = [head, ""]
        if m.get("payload") is not None:
            body += [f"payload: {_md(_json(m['payload']))}", ""]
        if m.get("error"):
            body += [f"error: {_md(m['error'])}", ""]
        body += [f"- {_md(x)}" for x in m.get("log", [])]
        cells.append(v4.new_markdown_cell("\n".join(body).rstrip()))
    nb = v4.new_notebook(cells=cells)
    nb.metadata["llmos"] = {"agents": _redacted({
        "name": outcome.name, "status": outcome.status, "result": outcome.result,
        "error": outcome.error, "started_at": outcome.started_at,
        "duration_s": outcome.duration_s, "actors": outcome.actors,
        "messages": outcome.messages})}
    return nb


def write_agent_trace(outcome: RunOutcome, directory: str | Path | None = None) -> Path:
    """Write the run's notebook (atomically) and return its path; also sets
    ``outcome.trace``. Default folder: :func:`agent_runs_dir`.

    Raises:
        OSError: the folder cannot be created or written.
    """
    import nbformat

    from llmos_jupyter._atomic import atomic_write_text

    folder = Path(directory) if directory is not None else agent_runs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.fromtimestamp(outcome.started_at, dt.UTC)
    name = _FILE_PART.sub("-", outcome.name).strip("-.")[:60] or "agents"
    path = folder / f"{started:%Y%m%d-%H%M%S}-{name}-{secrets.token_hex(3)}.ipynb"
    atomic_write_text(path, nbformat.writes(build_agent_trace(outcome)))
    outcome.trace = str(path)
    return path
