"""Actor systems in TOML: read, check and build them.

A system file (read with the standard library's :mod:`tomllib`, TOML 1.0)::

    [system]
    name = "ping-pong"
    timeout_s = 30            # end the run after this many seconds
    scope = "000000"          # scope of actors that name none (default: the root)
    mailbox_size = 100        # ordinary messages per mailbox before senders wait
    send_timeout_s = 30       # longest a send waits for room
    handler_timeout_s = 60    # longest one handler call (omit: no limit)
    skills = ["actors"]       # folders of actor skills, relative to this file

    [supervision]             # every scope's supervisor (Erlang/OTP semantics)
    strategy = "one_for_one"  # one_for_one | one_for_all | rest_for_one
    max_restarts = 3          # more restarts than this ...
    within_s = 5              # ... within this many seconds: give up and escalate
    backoff_s = 0             # wait backoff_s * 2^(k-1) before the k-th restart

    [scopes.a1b2c3]           # optional, per scope: its parent and supervisor overrides
    parent = "000000"
    strategy = "one_for_all"

    [[actors]]
    id = "ping"
    skill = "actor-ping"      # an actor skill of the library or of a `skills` folder
    scope = "000000"
    config = { rounds = 3 }   # the actor's ctx.config
    health = { interval_s = 1, deadline_s = 5 }   # optional health pings

    [llm]
    model = "claude-sonnet-5-5"
    max_cost_usd = 0.50

Skills in the ``skills`` folders are loaded as the volume ``"local"``: like the team volume
they are untrusted until signed (``llmos agents trust SYSTEM.toml``), since a system file
and its folder may come from anyone; untrusted actors run isolated
(:mod:`llmos_jupyter._actors.isolated`).

:func:`check_system` lists every problem (TOML syntax with line and column, unknown keys,
wrong types, unknown or non-actor skills, invalid actor skills, untrusted skills (a
warning: they run isolated), unknown
strategies, scope syntax, duplicate ids, subscriptions no actor sends).
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._actors.message import (
    COORDINATOR,
    ROOT_SCOPE,
    SCOPE_RE,
    SYSTEM,
    SYSTEM_TYPES,
)
from llmos_jupyter._actors.runtime import STRATEGIES, ActorSpec, ActorSystem, Supervision
from llmos_jupyter._actors.skill import actor_code, check_actor_skill, is_actor, subscriptions
from llmos_jupyter._exceptions import SkillError

__all__ = ["LOCAL_VOLUME", "Problem", "SystemConfig", "build_system", "check_system",
           "load_system", "static_messages"]

LOCAL_VOLUME = "local"
"""The volume name of skills loaded from a system file's ``skills`` folders."""

_KEYS = {
    "": {"system", "supervision", "scopes", "actors", "llm"},
    "system": {"name", "timeout_s", "scope", "mailbox_size", "send_timeout_s",
               "handler_timeout_s", "stop_timeout_s", "skills", "description"},
    "supervision": {"strategy", "max_restarts", "within_s", "backoff_s", "backoff_max_s"},
    "scope": {"parent", "strategy", "max_restarts", "within_s", "backoff_s", "backoff_max_s"},
    "actor": {"id", "skill", "scope", "config", "health"},
    "health": {"interval_s", "deadline_s"},
    "llm": {"model", "max_cost_usd"},
}


@dataclass(frozen=True)
class Problem:
    """One problem of a system file: ``where`` (``actors[2].skill``, ``system.scope``, or
    the file for TOML syntax, whose message names line and column), a ``code``, a message
    and a ``severity``: ``error`` (the system cannot run) or ``warning`` (it runs, but
    look: a subscription no actor sends, which a reusable actor skill may well have)."""

    where: str
    code: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        tag = "warning: " if self.severity == "warning" else ""
        return f"{self.where}: {tag}{self.message}"

    def to_json(self) -> dict[str, str]:
        """``{where, code, message, severity}``."""
        return {"where": self.where, "code": self.code, "message": self.message,
                "severity": self.severity}


@dataclass
class SystemConfig:
    """A system file as read (see the module docstring); ``skills`` are the actor skills
    of its ``skills`` folders by id."""

    path: Path | None
    name: str = "agents"
    description: str = ""
    timeout_s: float | None = None
    scope: str = ROOT_SCOPE
    mailbox_size: int = 100
    send_timeout_s: float = 30.0
    handler_timeout_s: float | None = None
    stop_timeout_s: float = 5.0
    supervision: dict[str, Any] = field(default_factory=dict)
    scopes: dict[str, dict[str, Any]] = field(default_factory=dict)
    actors: list[dict[str, Any]] = field(default_factory=list)
    llm: dict[str, Any] = field(default_factory=dict)
    skills: dict[str, Any] = field(default_factory=dict)
    skill_problems: list[SkillError] = field(default_factory=list)


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def load_system(path: str | Path, problems: list[Problem] | None = None) -> SystemConfig:
    """Read a system file. Structural problems are appended to ``problems`` (when given)
    or the first raises.

    Raises:
        ValueError: the file cannot be read or is not a valid system (without ``problems``).
    """
    path = Path(path)
    out: list[Problem] = [] if problems is None else problems
    n_before = len(out)
    cfg = SystemConfig(path=path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        out.append(Problem(str(path), "unreadable", f"cannot read: {exc.strerror or exc}"))
        data = None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        out.append(Problem(str(path), "toml", f"not valid TOML: {exc}"))
        data = None
    if data is not None:
        _read(data, cfg, path, out)
    if problems is None and len(out) > n_before:
        raise ValueError(str(out[n_before]))
    return cfg


def _unknown(table: dict[str, Any], kind: str, where: str, out: list[Problem]) -> None:
    for k in table:
        if k not in _KEYS[kind]:
            out.append(Problem(f"{where}.{k}" if where else k, "unknown-key",
                               f"unknown key {k!r} (expected: {', '.join(sorted(_KEYS[kind]))})"))


def _table(data: dict[str, Any], key: str, out: list[Problem]) -> dict[str, Any]:
    v = data.get(key, {})
    if not isinstance(v, dict):
        out.append(Problem(key, "type", f"[{key}] must be a table"))
        return {}
    return v


def _supervision(t: dict[str, Any], where: str, out: list[Problem]) -> dict[str, Any]:
    sup: dict[str, Any] = {}
    if "strategy" in t:
        if t["strategy"] not in STRATEGIES:
            out.append(Problem(f"{where}.strategy", "strategy",
                               f"unknown strategy {t['strategy']!r}; expected one of "
                               f"{', '.join(STRATEGIES)}"))
        else:
            sup["strategy"] = t["strategy"]
    for k, minimum, integer in (("max_restarts", 0, True), ("within_s", 0, False),
                                ("backoff_s", 0, False), ("backoff_max_s", 0, False)):
        if k not in t:
            continue
        v = t[k]
        ok = (isinstance(v, int) and not isinstance(v, bool)) if integer else _num(v)
        if not ok or v < minimum or (k == "within_s" and v == 0):
            what = "an integer >= 0" if integer else ("a number > 0" if k == "within_s"
                                                       else "a number >= 0")
            out.append(Problem(f"{where}.{k}", "type", f"{k} must be {what}, got {v!r}"))
        else:
            sup[k] = v
    return sup


def _read(data: dict[str, Any], cfg: SystemConfig, path: Path, out: list[Problem]) -> None:
    _unknown(data, "", "", out)
    system = _table(data, "system", out)
    _unknown(system, "system", "system", out)
    cfg.name = path.stem
    if "name" in system:
        if isinstance(system["name"], str) and system["name"].strip():
            cfg.name = system["name"]
        else:
            out.append(Problem("system.name", "type", "name must be a non-empty string"))
    if isinstance(system.get("description"), str):
        cfg.description = system["description"]
    # TOML has no null: an omitted timeout_s / handler_timeout_s is "no limit".
    for k in ("timeout_s", "send_timeout_s", "handler_timeout_s", "stop_timeout_s"):
        if k in system:
            v = system[k]
            if not _num(v) or v <= 0:
                out.append(Problem(f"system.{k}", "type", f"{k} must be a number > 0, got {v!r}"))
            else:
                setattr(cfg, k, float(v))
    if "mailbox_size" in system:
        v = system["mailbox_size"]
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            out.append(Problem("system.mailbox_size", "type",
                               f"mailbox_size must be an integer >= 1, got {v!r}"))
        else:
            cfg.mailbox_size = v
    if "scope" in system and _scope_ok(system["scope"], "system.scope", out):
        cfg.scope = system["scope"]
    folders = system.get("skills", [])
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        out.append(Problem("system.skills", "type", "skills must be a list of folder paths"))
        folders = []
    for folder in folders:
        _load_folder(path.parent / folder, f"system.skills ({folder})", cfg, out)

    sup = _table(data, "supervision", out)
    _unknown(sup, "supervision", "supervision", out)
    cfg.supervision = _supervision(sup, "supervision", out)

    scopes = _table(data, "scopes", out)
    for sid, t in scopes.items():
        where = f"scopes.{sid}"
        if not _scope_ok(sid, where, out):
            continue
        if not isinstance(t, dict):
            out.append(Problem(where, "type", f"[{where}] must be a table"))
            continue
        _unknown(t, "scope", where, out)
        entry = _supervision(t, where, out)
        if "parent" in t and _scope_ok(t["parent"], f"{where}.parent", out):
            entry["parent"] = t["parent"]
        cfg.scopes[sid] = entry

    actors = data.get("actors", [])
    if not isinstance(actors, list) or not actors:
        out.append(Problem("actors", "no-actors", "a system needs at least one [[actors]] "
                           "table (id, skill)"))
        actors = []
    seen: set[str] = set()
    for i, a in enumerate(actors, start=1):
        where = f"actors[{i}]"
        if not isinstance(a, dict):
            out.append(Problem(where, "type", "each [[actors]] entry must be a table"))
            continue
        _unknown(a, "actor", where, out)
        aid, skill = a.get("id"), a.get("skill")
        if not isinstance(aid, str) or not aid.strip():
            out.append(Problem(f"{where}.id", "missing", "every actor needs an id (a string)"))
            aid = None
        elif aid in seen or aid in (SYSTEM, COORDINATOR):
            out.append(Problem(f"{where}.id", "duplicate",
                               f"actor id {aid!r} is used twice (or reserved)"))
        else:
            seen.add(aid)
        if aid:
            where = f"actors[{i}] ({aid})"
        if not isinstance(skill, str) or not skill.strip():
            out.append(Problem(f"{where}.skill", "missing", "every actor needs a skill id"))
            skill = None
        scope = a.get("scope", cfg.scope)
        if not _scope_ok(scope, f"{where}.scope", out):
            scope = None
        conf = a.get("config", {})
        if not isinstance(conf, dict):
            out.append(Problem(f"{where}.config", "type", "config must be a table"))
            conf = {}
        health = a.get("health")
        if health is not None:
            if not isinstance(health, dict):
                out.append(Problem(f"{where}.health", "type", "health must be a table"))
                health = None
            else:
                _unknown(health, "health", f"{where}.health", out)
                for k in ("interval_s", "deadline_s"):
                    if k in health and (not _num(health[k]) or health[k] <= 0):
                        out.append(Problem(f"{where}.health.{k}", "type",
                                           f"{k} must be a number > 0"))
        cfg.actors.append({"id": aid, "skill": skill, "scope": scope, "config": conf,
                           "health": health, "where": where})

    llm = _table(data, "llm", out)
    _unknown(llm, "llm", "llm", out)
    if "model" in llm and not isinstance(llm["model"], str):
        out.append(Problem("llm.model", "type", "model must be a string"))
    if "max_cost_usd" in llm and (not _num(llm["max_cost_usd"]) or llm["max_cost_usd"] < 0):
        out.append(Problem("llm.max_cost_usd", "type", "max_cost_usd must be a number >= 0"))
    cfg.llm = dict(llm)


def _scope_ok(v: Any, where: str, out: list[Problem]) -> bool:
    if isinstance(v, str) and SCOPE_RE.match(v):
        return True
    out.append(Problem(where, "scope", f"{v!r} is not a scope id (6 lowercase letters or "
                       f"digits, e.g. {ROOT_SCOPE!r})"))
    return False


def _load_folder(folder: Path, where: str, cfg: SystemConfig, out: list[Problem]) -> None:
    from llmos_jupyter._skills.library import skill_files
    from llmos_jupyter._skills.parser import load_skill

    if not folder.is_dir():
        out.append(Problem(where, "skills-folder", f"no folder {folder}"))
        return
    for f in skill_files(folder):
        try:
            skill = load_skill(f, volume=LOCAL_VOLUME)
        except SkillError as exc:
            cfg.skill_problems.append(exc)
            continue
        if is_actor(skill):
            cfg.skills[skill.skill_id] = skill


def static_messages(skill: Any) -> tuple[set[str], set[str], bool]:
    """What an actor skill's code visibly does: ``(types it sends, skill ids it spawns,
    dynamic)``, from calls ``ctx.send("t", ...)``, ``ctx.reply(msg, "t", ...)`` and
    ``ctx.spawn("id", ...)`` with literal arguments. ``dynamic`` is True when some send
    names its type with an expression, so the sent types are not all known."""
    sends: set[str] = set()
    spawns: set[str] = set()
    dynamic = False
    try:
        tree = ast.parse(actor_code(skill)[0])
    except (SkillError, SyntaxError):
        return sends, spawns, True
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name, args = node.func.attr, node.args
        kw = {k.arg: k.value for k in node.keywords}
        arg = None
        if name == "send":
            arg = args[0] if args else kw.get("type")
        elif name == "reply":
            arg = args[1] if len(args) > 1 else kw.get("type")
        elif name == "spawn":
            a = args[0] if args else kw.get("skill_id")
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                spawns.add(a.value)
            continue
        else:
            continue
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            sends.add(arg.value)
        else:
            dynamic = True
    return sends, spawns, dynamic


def _lookup(skill_id: str, cfg: SystemConfig, library: Any) -> Any:
    if skill_id in cfg.skills:
        return cfg.skills[skill_id]
    try:
        return library.get(skill_id)
    except KeyError:
        return None


def check_system(path: str | Path, library: Any = None, home: Any = None,
                 trust: bool = True) -> tuple[SystemConfig, list[Problem]]:
    """Every problem of the system file at ``path``: errors (it cannot run) and warnings
    (see :class:`Problem`); no errors means it can run."""
    if library is None:
        from llmos_jupyter._skills.library import SkillLibrary

        library = SkillLibrary()
    problems: list[Problem] = []
    cfg = load_system(path, problems)
    for exc in cfg.skill_problems:
        problems.append(Problem(str(exc.path or path), "skill", exc.message +
                                (f" (line {exc.line})" if exc.line else "")))
    from llmos_jupyter._trust import is_trusted

    reachable: dict[str, Any] = {}
    for a in cfg.actors:
        if not a["skill"]:
            continue
        skill = _lookup(a["skill"], cfg, library)
        where = f"{a['where']}.skill"
        if skill is None:
            near = library.suggest(a["skill"]) if hasattr(library, "suggest") else []
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            problems.append(Problem(where, "unknown-skill", f"no skill {a['skill']!r}{hint}"))
            continue
        if not is_actor(skill):
            problems.append(Problem(where, "not-actor", f"skill {a['skill']!r} is not an actor "
                                    "skill (its frontmatter needs kind: actor)"))
            continue
        reachable[skill.skill_id] = skill
    # Skills spawned (with a literal id) by reachable skills send messages too.
    todo = list(reachable.values())
    while todo:
        for sid in static_messages(todo.pop())[1]:
            sk = _lookup(sid, cfg, library)
            if sk is None:
                continue
            if sid not in reachable and is_actor(sk):
                reachable[sid] = sk
                todo.append(sk)
    for skill in reachable.values():
        for exc in check_actor_skill(skill):
            problems.append(Problem(f"skill {skill.skill_id}", "invalid-actor", str(exc)))
        if trust and not is_trusted(skill, home):
            fix = ("llmos agents trust " + str(path)) if skill.volume == LOCAL_VOLUME \
                else f"llmos trust {skill.skill_id}"
            problems.append(Problem(f"skill {skill.skill_id}", "untrusted",
                                    f"not trusted ({skill.path}): it runs isolated (state as "
                                    "JSON, no spawn, workflows or LLM); to run it in-process, "
                                    f"read it, then `{fix}`", "warning"))
    sent: set[str] = {"start"} | set(SYSTEM_TYPES)
    dynamic = False
    for skill in reachable.values():
        s, _, d = static_messages(skill)
        sent |= s
        dynamic |= d
    if not dynamic:
        for a in cfg.actors:
            skill = reachable.get(a["skill"] or "")
            if skill is None:
                continue
            for t in subscriptions(skill):
                if t != "*" and t not in sent:
                    problems.append(Problem(
                        f"{a['where']}", "unsent-subscription",
                        f"subscribes to {t!r} but no actor of the system sends it "
                        f"(sent: {', '.join(sorted(sent - set(SYSTEM_TYPES)))})", "warning"))
    return cfg, problems


def build_system(cfg: SystemConfig, library: Any = None, *, timeout_s: float | None = None,
                 **kwargs: Any) -> tuple[ActorSystem, list[ActorSpec]]:
    """The :class:`ActorSystem` and actor specs of a checked system config; ``kwargs``
    pass on to :class:`ActorSystem` (``llm_client``, ``threads``, ``clock``…)."""
    base = Supervision(**cfg.supervision)
    per_scope = {}
    parents = {}
    for sid, entry in cfg.scopes.items():
        sup = {k: v for k, v in entry.items() if k != "parent"}
        per_scope[sid] = Supervision(**{**cfg.supervision, **sup})
        if "parent" in entry:
            parents[sid] = entry["parent"]
    system = ActorSystem(
        library, skills=cfg.skills, name=cfg.name,
        timeout_s=timeout_s if timeout_s is not None else cfg.timeout_s,
        mailbox_size=cfg.mailbox_size, send_timeout_s=cfg.send_timeout_s,
        handler_timeout_s=cfg.handler_timeout_s, stop_timeout_s=cfg.stop_timeout_s,
        supervision=base, scope_supervision=per_scope, scope_parents=parents,
        llm_model=cfg.llm.get("model"), max_cost_usd=cfg.llm.get("max_cost_usd"),
        base_dir=cfg.path.parent if cfg.path is not None else None, **kwargs)
    specs = [ActorSpec(a["id"], a["skill"], a["scope"], dict(a["config"]), a["health"])
             for a in cfg.actors]
    return system, specs
