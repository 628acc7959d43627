"""Untrusted actors, run isolated: each handler call is one node of the isolation worker.

An actor skill the user does not trust (team volume, a system file's folder, anything not
signed) must not run in the coordinator's process. Its handlers run instead in the
isolation worker (:class:`llmos_jupyter._isolation.IsolatedRunner`: bubblewrap, rlimits,
scrubbed environment, no network; docs/isolation.md), one fresh forked process per call.
A handler call crosses as JSON data both ways, like every isolated node:

* in: the handler's name, ``ctx.state``, ``ctx.config``, ``actor_id``, ``scope`` and the
  message's fields;
* out: the new ``ctx.state`` and the turn's outbox (sends, replies, exit, log lines), which
  the runtime then carries out through the real ``ctx``, with the same checks as for any
  actor.

Because every call is a fresh process, an isolated actor keeps between messages only what
is in ``ctx.state``, which must hold JSON data; module globals start afresh each call. It
cannot ``ctx.spawn`` (a spawned trusted actor would run in-process with a config it
chose), ``ctx.run_workflow`` or ``ctx.llm`` (no files, network or API key in the sandbox):
those raise ``PermissionError`` inside it. Its output (stdout/stderr) is added to the
message's log.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from llmos_jupyter._actors.skill import Handlers, actor_code

__all__ = ["HOST_CODE", "IsolatedHost", "isolated_handlers"]

HOST_CODE = '''

# --- llmos actor host (appended to the actor's code; runs in the isolation worker) ---
class _LlmosActorMsg:
    def __init__(self, d):
        self.__dict__.update(d)

    def __getitem__(self, key):
        return self.__dict__[key]

    def get(self, key, default=None):
        return self.__dict__.get(key, default)


class _LlmosActorCtx:
    def __init__(self, inputs):
        self.actor_id = inputs["actor_id"]
        self.scope = inputs["scope"]
        self.config = inputs["config"]
        self.state = inputs["state"]
        self._outbox = []

    def send(self, type, payload=None, to=None, scope=None):
        self._outbox.append(["send", type, payload, to, scope, None])

    def reply(self, msg, type, payload=None):
        if msg.sender == "system":
            raise ValueError(f"message {msg.id} came from the coordinator; nobody to reply to")
        self._outbox.append(["send", type, payload, msg.sender, None, msg.id])

    def exit(self, result=None):
        self._outbox.append(["exit", result])

    def log(self, text):
        self._outbox.append(["log", str(text)])

    def spawn(self, *args, **kwargs):
        raise PermissionError("an isolated (untrusted) actor cannot spawn actors; "
                              "trust it to let it (llmos trust)")

    def run_workflow(self, *args, **kwargs):
        raise PermissionError("an isolated (untrusted) actor cannot run workflows")

    def llm(self, *args, **kwargs):
        raise PermissionError("an isolated (untrusted) actor cannot call the LLM")


def execute(inputs):
    import asyncio as _asyncio
    import inspect as _inspect

    _ctx = _LlmosActorCtx(inputs)
    _fn = globals().get(inputs["handler"])
    _args = [_ctx] if inputs["msg"] is None else [_ctx, _LlmosActorMsg(inputs["msg"])]
    _out = _fn(*_args)
    if _inspect.iscoroutine(_out):
        _asyncio.run(_out)
    return {"state": _ctx.state, "outbox": _ctx._outbox}
'''


@dataclass(frozen=True, eq=False)
class _HostSkill:
    """What :meth:`IsolatedRunner.run` reads of a skill: the actor's code with the host
    appended (so the actor's own lines keep their numbers in tracebacks)."""

    skill_id: str
    code: str
    code_line: int
    source_name: str
    code_hash: str
    path: Any = None
    runtime: str = "python"
    requires: tuple[str, ...] = ()


class IsolatedHost:
    """One isolation worker for the untrusted actors of one system (started on first use,
    closed with :meth:`close` when the run ends)."""

    def __init__(self, limits: Any = None) -> None:
        self._limits = limits
        self._runner: Any = None
        self._lock = threading.Lock()
        self.warning: str | None = None

    def runner(self) -> Any:
        with self._lock:
            if self._runner is None:
                from llmos_jupyter._isolation import IsolatedRunner

                self._runner = IsolatedRunner(self._limits, preload=())
                self.warning = self._runner.isolation_warning
            return self._runner

    def close(self) -> None:
        with self._lock:
            if self._runner is not None:
                self._runner.close()
                self._runner = None


def isolated_handlers(skill: Any, host: IsolatedHost, timeout: float | None = None) -> Handlers:
    """Handlers that run the actor's code in ``host`` (see the module docstring).

    Raises:
        SkillError: the skill has no single python block.
    """
    from llmos_jupyter._isolation.worker import code_hash

    code, line = actor_code(skill)
    full = code.rstrip("\n") + "\n" + HOST_CODE
    name = str(skill.path) if getattr(skill, "path", None) else f"<actor:{skill.skill_id}>"
    hs = _HostSkill(skill.skill_id, full, line, name, code_hash("python", [], full),
                    getattr(skill, "path", None))
    import ast

    has_stop = any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "on_stop"
                   for s in ast.parse(code).body)

    def call(handler: str, ctx: Any, msg: Any = None) -> None:
        from llmos_jupyter._isolation import IsolationError

        inputs = {"handler": handler, "state": ctx.state, "config": ctx.config,
                  "actor_id": ctx.actor_id, "scope": ctx.scope,
                  "msg": None if msg is None else {k: v for k, v in msg.to_dict().items()}}
        try:
            run = host.runner().run(hs, inputs, timeout=timeout)
        except IsolationError as exc:
            if exc.log:
                for text in exc.log.rstrip().splitlines()[-20:]:
                    ctx.log(f"[isolated] {text}")
            raise RuntimeError(f"{exc}\n{exc.traceback}".rstrip()) from None
        for text in run.log.rstrip().splitlines()[-20:] if run.log.strip() else ():
            ctx.log(f"[isolated] {text}")
        out = run.outputs
        state = out.get("state")
        ctx.state.clear()
        if isinstance(state, dict):
            ctx.state.update(state)
        for item in out.get("outbox") or []:
            if item[0] == "send":
                _, mtype, payload, to, scope, reply_to = item
                ctx.send(mtype, payload, to=to, scope=scope, _reply_to=reply_to)
            elif item[0] == "exit":
                ctx.exit(item[1])
            elif item[0] == "log":
                ctx.log(item[1])

    def on_start(ctx: Any) -> None:
        call("on_start", ctx)

    def on_message(ctx: Any, msg: Any) -> None:
        call("on_message", ctx, msg)

    def on_stop(ctx: Any) -> None:
        call("on_stop", ctx)

    return Handlers(on_start, on_message, on_stop if has_stop else None)
