"""A workflow's ``triggers``: what starts a run without a person pressing Run.

A ``*.workflow.json`` may declare (kept by :class:`~llmos_jupyter.Workflow` in
``extra["triggers"]``)::

    "triggers": [
      {"type": "schedule", "cron": "*/5 * * * *"},
      {"type": "file", "path": "inbox/", "pattern": "*.csv", "input": "load.path"},
      {"type": "webhook", "path": "/hooks/orders", "input": "parse.data",
       "secret_env": "HOOK_SECRET"}
    ]

* ``schedule``: a five-field cron expression (minute hour day-of-month month day-of-week,
  evaluated in UTC by ``croniter``); optional ``"overrides": {"node.port": value}``.
* ``file``: a folder (relative paths are relative to the workflow file's folder) and an
  ``fnmatch`` pattern of file names (default ``*``); each new matching file's absolute
  path (a string) becomes the ``input`` port's value.
* ``webhook``: a URL path (``/`` then letters, digits, ``_ - . /``); a POST's JSON body
  becomes the ``input`` port's value. With ``secret_env``, requests must carry an
  HMAC-SHA256 signature made with the secret read from that environment variable
  (docs/triggers.md).

:func:`parse_triggers` checks the shape (errors name the file, ``triggers[i]`` and the
field); :func:`check_inputs` checks each ``input`` against the workflow and the skill
library: the node exists, its skill has that input port, and the workflow is valid when
that port is supplied at run time (no placeholder value is invented: validation problems
``missing-input`` on that very port are the ones the trigger resolves).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import SkillNotFound, WorkflowError
from llmos_jupyter._workflow.model import Workflow

__all__ = ["TRIGGER_KINDS", "FileTrigger", "ScheduleTrigger", "Trigger", "TriggerInvalid",
           "WebhookTrigger", "check_inputs", "load_triggers", "next_times", "parse_triggers",
           "previous_time"]

TRIGGER_KINDS = ("schedule", "file", "webhook")
_WEBHOOK_PATH = re.compile(r"^/[A-Za-z0-9_./-]{1,200}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_INPUT = re.compile(r"^[^.\s]+\.[^.\s]+$")


class TriggerInvalid(WorkflowError):
    """A workflow's ``triggers`` are malformed or point at a node/port that cannot take
    the triggered value. ``problems`` lists each one as ``"triggers[i].field: why"``."""

    def __init__(self, problems: Sequence[str], *, path: str | Path | None = None):
        self.problems = list(problems)
        head = "invalid triggers" if len(self.problems) != 1 else "invalid trigger"
        super().__init__(f"{head}: " + "; ".join(self.problems), path=path)


@dataclass(frozen=True, slots=True)
class ScheduleTrigger:
    """Run on a cron schedule (UTC). ``overrides``: fixed run-time inputs of each run."""

    index: int
    cron: str
    overrides: dict[str, Any] = field(default_factory=dict)
    type: str = "schedule"

    @property
    def label(self) -> str:
        return f"schedule {self.cron}"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "cron": self.cron, **({"overrides": self.overrides}
                                                         if self.overrides else {})}


@dataclass(frozen=True, slots=True)
class FileTrigger:
    """Run once per new file in ``folder`` (absolute) whose name matches ``pattern``; the
    file's absolute path goes to ``input`` (``"node.port"``)."""

    index: int
    folder: Path
    pattern: str
    input: str
    type: str = "file"

    @property
    def label(self) -> str:
        return f"file {self.folder / self.pattern} -> {self.input}"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "path": str(self.folder), "pattern": self.pattern,
                "input": self.input}


@dataclass(frozen=True, slots=True)
class WebhookTrigger:
    """Run once per POST to ``path``; the JSON body goes to ``input``. ``secret_env``
    names the environment variable holding the HMAC key (``None``: unsigned requests are
    accepted, which is only sane on localhost)."""

    index: int
    path: str
    input: str
    secret_env: str | None = None
    type: str = "webhook"

    @property
    def label(self) -> str:
        signed = f" (signed, ${self.secret_env})" if self.secret_env else " (unsigned)"
        return f"webhook POST {self.path} -> {self.input}{signed}"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "path": self.path, "input": self.input,
                **({"secret_env": self.secret_env} if self.secret_env else {})}


Trigger = ScheduleTrigger | FileTrigger | WebhookTrigger

_FIELDS = {"schedule": {"type", "cron", "overrides"},
           "file": {"type", "path", "pattern", "input"},
           "webhook": {"type", "path", "input", "secret_env"}}


def _cron_problem(expr: str) -> str | None:
    from croniter import croniter

    if len(expr.split()) != 5:
        return (f"{expr!r} is not a five-field cron expression (minute hour day month "
                "weekday)")
    try:
        croniter(expr, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    except (ValueError, KeyError) as exc:  # croniter's CroniterBadCronError is a ValueError
        return f"{expr!r} is not a valid cron expression ({exc})"
    return None


def parse_triggers(workflow: Workflow, *, source: str | Path | None = None) -> list[Trigger]:
    """The triggers a workflow declares (``[]`` when it has no ``triggers`` key).

    Args:
        workflow: the loaded workflow; its ``extra["triggers"]`` is read.
        source: the workflow file (default ``workflow.path`` when set): named in errors;
            relative ``file`` folders are resolved against its folder (else the current
            directory).

    Raises:
        TriggerInvalid: every shape problem, each as ``triggers[i].field: why``.
    """
    source = source if source is not None else getattr(workflow, "path", None)
    base = Path(source).resolve().parent if source else Path.cwd()
    raw = workflow.extra.get("triggers")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TriggerInvalid([f"triggers: expected a list of objects, got {type(raw).__name__}"],
                             path=source)
    problems: list[str] = []
    out: list[Trigger] = []
    hooks: dict[str, int] = {}
    for i, t in enumerate(raw):
        where = f"triggers[{i}]"
        if not isinstance(t, Mapping):
            problems.append(f"{where}: expected an object, got {type(t).__name__}")
            continue
        kind = t.get("type")
        if kind not in TRIGGER_KINDS:
            problems.append(f"{where}.type: {kind!r} is not one of {', '.join(TRIGGER_KINDS)}")
            continue
        before = len(problems)
        unknown = sorted(set(t) - _FIELDS[kind])
        if unknown:
            problems.append(f"{where}: unknown field(s) {', '.join(map(repr, unknown))} for a "
                            f"{kind} trigger (allowed: {', '.join(sorted(_FIELDS[kind]))})")

        def text(name: str, required: bool = True, t: Mapping[str, Any] = t,
                 where: str = where) -> str | None:
            v = t.get(name)
            if v is None and not required:
                return None
            if not isinstance(v, str) or not v.strip():
                problems.append(f"{where}.{name}: expected a non-empty string, got "
                                f"{'nothing' if v is None else repr(v)[:60]}")
                return None
            return v

        if kind == "schedule":
            cron = text("cron")
            if cron is not None and (why := _cron_problem(cron)):
                problems.append(f"{where}.cron: {why}")
            overrides = t.get("overrides", {})
            if not isinstance(overrides, Mapping) or not all(
                    isinstance(k, str) and _INPUT.match(k) for k in overrides):
                problems.append(f"{where}.overrides: expected an object of 'node.port': value")
            if len(problems) == before:
                out.append(ScheduleTrigger(i, " ".join(cron.split()), dict(overrides)))  # type: ignore[union-attr]
            continue
        target = text("input")
        if target is not None and not _INPUT.match(target):
            problems.append(f"{where}.input: {target!r} is not 'node.port'")
        if kind == "file":
            folder, pattern = text("path"), text("pattern", required=False) or "*"
            if "/" in pattern or "\\" in pattern:
                problems.append(f"{where}.pattern: {pattern!r} must match file names, not paths "
                                "(put the folder in 'path')")
            if len(problems) == before:
                p = Path(folder).expanduser()  # type: ignore[arg-type]
                out.append(FileTrigger(i, (p if p.is_absolute() else base / p).resolve(),
                                       pattern, target))  # type: ignore[arg-type]
        else:
            path = text("path")
            secret = text("secret_env", required=False)
            if path is not None and (not _WEBHOOK_PATH.match(path) or "//" in path
                                     or "/../" in path + "/" or "/./" in path + "/"):
                problems.append(f"{where}.path: {path!r} is not a URL path like /hooks/NAME "
                                "(letters, digits, _ - . /)")
            if secret is not None and not _ENV_NAME.match(secret):
                problems.append(f"{where}.secret_env: {secret!r} is not an environment "
                                "variable name")
            if path is not None and path in hooks:
                problems.append(f"{where}.path: {path!r} is already used by "
                                f"triggers[{hooks[path]}]")
            if len(problems) == before:
                hooks[path] = i  # type: ignore[index]
                out.append(WebhookTrigger(i, path, target, secret))  # type: ignore[arg-type]
    if problems:
        raise TriggerInvalid(problems, path=source)
    return out


def check_inputs(workflow: Workflow, triggers: Sequence[Trigger], library: Any, *,
                 source: str | Path | None = None) -> None:
    """Check that each trigger can start a valid run of ``workflow``.

    For a ``file``/``webhook`` trigger: its ``input`` node exists, the node's skill has
    that input port, and the workflow validates (``validate()`` of the engine's planner)
    with no problem other than ``missing-input`` on that port, which the trigger
    supplies. For a ``schedule`` trigger: the workflow validates with its ``overrides``.

    Raises:
        TriggerInvalid: every problem, as ``triggers[i].input: why``.
    """
    from llmos_jupyter._workflow.validate import validate

    source = source if source is not None else getattr(workflow, "path", None)
    nodes = {n.id: n for n in workflow.nodes}
    lib = library
    if workflow.extra.get("inline_skills"):
        try:
            lib = library.overlay(workflow.inline_skills())
        except Exception:  # noqa: BLE001 - validate() reports broken inline skills itself
            lib = library
    problems: list[str] = []
    base_problems = None
    for t in triggers:
        where = f"triggers[{t.index}]"
        if isinstance(t, ScheduleTrigger):
            found = validate(workflow, library, t.overrides)
            problems += [f"{where}: the workflow cannot run on this schedule: {p}" for p in found]
            continue
        node_id, port = t.input.split(".", 1)
        node = nodes.get(node_id)
        if node is None:
            import difflib

            close = difflib.get_close_matches(node_id, list(nodes), n=1)
            problems.append(f"{where}.input: {t.input!r}: no node {node_id!r} in the workflow"
                            + (f"; did you mean {close[0]!r}?" if close else ""))
            continue
        try:
            skill = lib.get(node.skill)
        except SkillNotFound as exc:
            problems.append(f"{where}.input: {t.input!r}: {exc}")
            continue
        ports = skill.input_ports
        if port not in ports:
            problems.append(f"{where}.input: {t.input!r}: skill {skill.skill_id!r} has no input "
                            f"{port!r} (inputs: {', '.join(ports) or 'none'})")
            continue
        if isinstance(t, FileTrigger) and ports[port].type not in ("string", "any"):
            problems.append(f"{where}.input: {t.input!r} is {ports[port].type}, but a file "
                            "trigger passes the file's path (a string)")
        if base_problems is None:
            base_problems = validate(workflow, library)
        for p in base_problems:
            if p.code == "missing-input" and (p.node, p.port) == (node_id, port):
                continue
            problems.append(f"{where}: the workflow cannot run when this trigger fires: {p}")
    if problems:
        raise TriggerInvalid(list(dict.fromkeys(problems)), path=source)


def load_triggers(path: str | Path, library: Any) -> tuple[Workflow, list[Trigger]]:
    """Load ``path`` and return the workflow with its checked triggers.

    Raises:
        WorkflowError: the file cannot be read.
        TriggerInvalid: the triggers are malformed or cannot feed the workflow.
    """
    workflow = Workflow.load(path)
    triggers = parse_triggers(workflow, source=path)
    check_inputs(workflow, triggers, library, source=path)
    return workflow, triggers


def next_times(cron: str, start: dt.datetime, n: int = 1) -> list[dt.datetime]:
    """The next ``n`` fire times of ``cron`` strictly after ``start`` (aware UTC
    datetimes; a naive ``start`` is taken as UTC)."""
    from croniter import croniter

    start = start.replace(tzinfo=dt.UTC) if start.tzinfo is None else start.astimezone(dt.UTC)
    it = croniter(cron, start)
    return [it.get_next(dt.datetime).astimezone(dt.UTC) for _ in range(n)]


def previous_time(cron: str, now: dt.datetime) -> dt.datetime:
    """The latest fire time of ``cron`` at or before ``now`` (aware UTC)."""
    from croniter import croniter

    now = now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)
    if croniter.match(cron, now) and now.second == 0 and now.microsecond == 0:
        return now
    return croniter(cron, now).get_prev(dt.datetime).astimezone(dt.UTC)

