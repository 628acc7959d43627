"""Actor skills: ``kind: actor`` skill files, their check, and their handlers.

An actor skill is a skill file whose frontmatter says ``kind: actor`` and lists the message
types it wants in ``subscribes``, and whose one ``python`` code block defines
``on_start(ctx)``, ``on_message(ctx, msg)`` and optionally ``on_stop(ctx)`` (plain or
``async def``)::

    ---
    skill_id: actor-pong
    name: Pong
    kind: actor
    subscribes: [ping]
    ---
    ```python
    def on_start(ctx):
        ctx.state["seen"] = 0

    def on_message(ctx, msg):
        ctx.state["seen"] += 1
        ctx.reply(msg, "pong", msg.payload)
    ```

The skill parser reads such a file as a *standard* skill (its block defines no
``execute``), so the code is taken from the skill's ``code`` when the parser kept it, else
from the one ``python`` fenced block of the file (found with markdown-it-py, CommonMark,
as the parser does). Each actor incarnation (start or restart) runs the code in a fresh
namespace: module-level variables do not survive a restart, like ``ctx.state``.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import SkillError

__all__ = ["ACTOR_KIND", "Handlers", "actor_code", "check_actor_skill", "is_actor",
           "load_handlers", "subscriptions"]

ACTOR_KIND = "actor"
"""The frontmatter ``kind`` of an actor skill."""
_TYPE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}\Z")
_HANDLERS = {"on_start": 1, "on_message": 2, "on_stop": 1}


def is_actor(skill: Any) -> bool:
    """True when the skill's frontmatter says ``kind: actor``."""
    fm = getattr(skill, "frontmatter", None) or {}
    return fm.get("kind") == ACTOR_KIND


def subscriptions(skill: Any) -> tuple[str, ...]:
    """The message types the actor skill subscribes to (``*`` means every type); empty
    when ``subscribes`` is missing or invalid (see :func:`check_actor_skill`)."""
    subs = (getattr(skill, "frontmatter", None) or {}).get("subscribes")
    if not isinstance(subs, list) or not all(isinstance(s, str) for s in subs):
        return ()
    return tuple(subs)


def actor_code(skill: Any) -> tuple[str, int]:
    """The actor's Python code and the 1-based line of its first line in the skill file.

    Raises:
        SkillError: the skill has no (or more than one) ``python`` code block.
    """
    if getattr(skill, "code", None) is not None:
        return skill.code, skill.code_line
    path = getattr(skill, "path", None)
    text, first = None, 1
    if path is not None:
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
    if text is not None:
        lines = text.lstrip("\ufeff").split("\n")
        start = 0
        if lines and lines[0].strip() == "---":
            for i in range(1, len(lines)):
                if lines[i].strip() == "---":
                    start = i + 1
                    break
        body, first = "\n".join(lines[start:]), start + 1
    else:
        body = getattr(skill, "body", "") or ""
    from markdown_it import MarkdownIt  # the parser's dependency too

    blocks = [(t.content, t.map[0] if t.map else 0)
              for t in MarkdownIt("commonmark").parse(body)
              if t.type == "fence" and t.info.strip().split(" ")[0] in ("python", "py", "python3")]
    if len(blocks) != 1:
        raise SkillError(f"an actor skill has exactly one ```python code block; found "
                         f"{len(blocks)}", path=path, field="code")
    code, fence = blocks[0]
    return code, first + fence + 1


def check_actor_skill(skill: Any) -> list[SkillError]:
    """Every problem of an actor skill (empty when valid; also empty for a skill that is
    not ``kind: actor``), for ``llmos skills check`` and ``llmos agents check``.

    Checks: ``subscribes`` is a list of message types (``[A-Za-z_][A-Za-z0-9_.:-]*`` or
    ``*``); one ``python`` block that parses and defines ``on_start(ctx)`` and
    ``on_message(ctx, msg)`` at top level (``on_stop(ctx)`` optional), each taking the
    right number of positional arguments.
    """
    if not is_actor(skill):
        return []
    path = getattr(skill, "path", None)
    problems: list[SkillError] = []
    subs = (getattr(skill, "frontmatter", None) or {}).get("subscribes")
    if subs is None:
        problems.append(SkillError("an actor skill lists the message types it handles in "
                                   "subscribes: [type, ...]", path=path, field="subscribes"))
    elif not isinstance(subs, list):
        problems.append(SkillError(f"subscribes must be a list of message types, got "
                                   f"{type(subs).__name__}", path=path, field="subscribes"))
    else:
        for s in subs:
            if not isinstance(s, str) or not (s == "*" or _TYPE_RE.match(s)):
                problems.append(SkillError(
                    f"subscribes: {s!r} is not a message type (letters, digits, _ . : -; "
                    "or * for every type)", path=path, field="subscribes"))
    if getattr(skill, "runtime", "python") != "python":
        problems.append(SkillError(f"an actor skill runs Python, not {skill.runtime!r}",
                                   path=path, field="runtime"))
        return problems
    try:
        code, line = actor_code(skill)
    except SkillError as exc:
        return [*problems, exc]
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        problems.append(SkillError(f"Python syntax error in the code block: {exc.msg}",
                                   path=path, line=line + (exc.lineno or 1) - 1, field="code"))
        return problems
    defs = {s.name: s for s in tree.body
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name in _HANDLERS}
    for name, arity in _HANDLERS.items():
        fn = defs.get(name)
        if fn is None:
            if name != "on_stop":
                sig = "on_start(ctx)" if name == "on_start" else "on_message(ctx, msg)"
                problems.append(SkillError(f"the code block does not define {sig} at top level",
                                           path=path, line=max(line - 1, 1), field="code"))
            continue
        n = len(fn.args.posonlyargs) + len(fn.args.args)
        if n != arity and fn.args.vararg is None:
            want = "ctx" if arity == 1 else "ctx, msg"
            problems.append(SkillError(f"{name} must take ({want}), it takes {n} argument(s)",
                                       path=path, line=line + fn.lineno - 1, field="code"))
    return problems


@dataclass(frozen=True)
class Handlers:
    """One incarnation's handlers (from a fresh namespace)."""

    on_start: Callable[..., Any]
    on_message: Callable[..., Any]
    on_stop: Callable[..., Any] | None

    @staticmethod
    def is_async(fn: Callable[..., Any]) -> bool:
        """True for an ``async def`` handler (awaited in the event loop)."""
        return inspect.iscoroutinefunction(fn)


_compiled: dict[tuple[str, str, int], Any] = {}


def load_handlers(skill: Any) -> Handlers:
    """Run the actor's code in a fresh namespace and return its handlers.

    The code is compiled with the skill file's name and its line offset, so a traceback
    points at the ``.md`` file's own lines. The compiled code object is cached; the
    namespace is not (each restart gets fresh module state).

    Raises:
        SkillError: not an actor skill, or a problem :func:`check_actor_skill` reports.
        Exception: whatever the code's top level raises.
    """
    if not is_actor(skill):
        raise SkillError(f"skill {skill.skill_id!r} is not an actor skill (kind: actor)",
                         path=getattr(skill, "path", None), field="kind")
    problems = check_actor_skill(skill)
    if problems:
        raise problems[0]
    code, line = actor_code(skill)
    name = str(skill.path) if getattr(skill, "path", None) else f"<actor:{skill.skill_id}>"
    key = (name, code, line)
    obj = _compiled.get(key)
    if obj is None:
        source = "\n" * (line - 1) + code
        if getattr(skill, "path", None) is None:
            linecache.cache[name] = (len(source), None, source.splitlines(keepends=True), name)
        obj = _compiled[key] = compile(source, name, "exec")
    namespace: dict[str, Any] = {"__name__": f"llmos_actor_{skill.skill_id.replace('-', '_')}"}
    exec(obj, namespace)  # noqa: S102 - running a trusted skill's code is the point
    return Handlers(namespace["on_start"], namespace["on_message"], namespace.get("on_stop"))
