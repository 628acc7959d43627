"""The actor runtime: mailboxes, routing, the coordinator and OTP-style supervisors.

One :class:`ActorSystem` runs one system of actors on one asyncio event loop (the kernel's,
the CLI's ``asyncio.run``, or Pyodide's), so it needs nothing but the standard library.

Turns. An actor handles one message at a time. What it does through ``ctx`` during a
handler (``send``, ``reply``, ``spawn``, ``exit``) is collected in an outbox and carried out
in call order when the handler returns: a *turn*. Sends leave in order, so messages from
one sender to one receiver arrive in the order sent; the sender's next message is not
handled until its sends are in the receivers' mailboxes, which is the back-pressure: a
full mailbox (``mailbox_size`` ordinary messages) makes the sender wait, up to
``send_timeout_s``, after which the send fails the sender (:class:`MailboxFull`), as a
bounded mailbox with a push timeout does in Akka. Turns also make the semantics the same
whether a handler runs in a thread or inline.

Where handlers run. ``async def`` handlers are awaited in the event loop. Plain (sync)
handlers run in a worker thread (``loop.run_in_executor``), so an LLM call or a workflow
run inside a handler does not stop the other actors, the coordinator or the timeout; under
Pyodide (no threads) they run inline. ``handler_timeout_s`` bounds one handler call: past
it the actor counts as failed (a thread cannot be killed: it is abandoned, and whatever it
later does through its stale ``ctx`` is dropped).

Routing. ``ctx.send(type, payload, to=ID)`` goes to that one actor;
``ctx.send(type, payload)`` goes to every *other* actor of the sender's scope (or of
``scope=``) that subscribes to ``type`` (or to ``*``): subscription and scope, never a
broadcast to everyone. Coordinator messages about an actor (``actor_ready``,
``actor_restarted``, ``actor_failed``…) go to the subscribers of its scope and of every
ancestor scope, so a manager hears about the workers it spawned in child scopes.

Readiness. Actors are registered (their mailboxes and subscriptions exist) before any
``on_start`` runs, so nothing sent early is lost: it waits in the receiver's mailbox,
which the actor reads only after its ``on_start`` returned, and is then delivered in
order. Each actor that finished ``on_start`` emits ``actor_ready``; when every actor of a
scope has, the scope gets ``all_actors_ready``. The system's input is sent as a ``start``
message once every configured scope is ready.

Supervision (Erlang/OTP's supervisor, one per scope). An exception in ``on_start`` or
``on_message`` (or a missed health ping, or a handler over its time limit) fails the
actor, and the coordinator emits ``actor_failed`` ``{actor, error, stuck}`` (``stuck``:
the ping or the time limit). Its scope's supervisor restarts, by ``strategy``:
``one_for_one`` the actor; ``one_for_all`` every actor of the scope; ``rest_for_one`` the
actor and those started after it. Restarted actors get a fresh ``ctx.state`` and fresh
module state and run ``on_start`` again; their mailbox is kept (messages already queued
stay, as in Akka); the failing message is not redelivered; ``on_stop`` is called on the
siblings stopped for the restart, not on the actor that crashed. Restarting or stopping an
actor stops the scopes it spawned (their actors are its children). More than
``max_restarts`` restarts within ``within_s`` seconds (the intensity) and the supervisor
gives up: it stops its scope and escalates: the actor that spawned the scope fails in the
parent scope (whose supervisor applies its own strategy); a scope nobody spawned (the
root, or one named in the system file) ends the system with status ``failed`` and an error
naming the actor and its last traceback. Restarts wait ``backoff_s · 2^(k-1)`` seconds
(capped at ``backoff_max_s``) for the k-th restart in the window; ``backoff_s = 0`` (the
default) restarts at once.

Pausing. An actor whose skill is trusted may ask the coordinator to pause or resume
another: ``ctx.send("pause_actor", {"actor": ID, "reason": text}, to="coordinator")``
(``resume_actor`` likewise; see :data:`~llmos_jupyter._actors.message.CONTROL_TYPES`). A
paused actor gets no message at all (health pings included, which are not sent while it is
paused) until it is resumed: they stay queued in its mailbox, in order, and are then
delivered as usual; a handler already running finishes first. The pause belongs to the
actor, not to one incarnation: it holds across restarts. Each pause or resume is recorded
in the message log (receiver ``coordinator``) and emitted as ``actor_paused`` /
``actor_resumed`` ``{actor, by, reason}`` to the subscribers of the actor's scope and its
ancestors. The coordinator refuses (``PermissionError`` in the sender's handler, which
fails it like any exception) a control message from an untrusted (isolated) actor, an
unknown type or a payload without a known actor id. A paused actor's queued messages do
not keep the run alive: with nothing else to do the run ends ``idle``, naming them.

Ending. The run ends when an actor calls ``ctx.exit(result)`` (status ``exited``), when a
supervisor gives up (``failed``), when ``timeout_s`` passes (``timeout``), when the task is
cancelled, e.g. by Ctrl-C under ``asyncio.run`` (``interrupted``), or when nothing can
happen any more: every mailbox empty and no handler running (``idle``). In every case
``on_stop`` is called on each running actor, newest first.

Trust. An actor skill that :func:`llmos_jupyter._trust.is_trusted` trusts runs in this
process. One it does not trust runs isolated (:mod:`llmos_jupyter._actors.isolated`): each
handler call is a node of the isolation worker, with ``ctx.state`` and the turn's outbox
crossing as JSON, and no spawn, workflows or LLM. With ``untrusted="refuse"`` (and
always under Pyodide, which has no processes) it is refused instead
(:class:`ActorRefused`, naming ``llmos trust``). Workflows an actor runs with
``ctx.run_workflow`` go through the engine, which isolates their untrusted nodes as
always.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import copy
import functools
import itertools
import logging
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._actors.mailbox import Mailbox, MailboxFull
from llmos_jupyter._actors.message import (
    CONTROL_TYPES,
    COORDINATOR,
    ROOT_SCOPE,
    SYSTEM,
    Envelope,
    check_scope,
    json_payload,
)
from llmos_jupyter._actors.skill import (
    Handlers,
    check_actor_skill,
    is_actor,
    load_handlers,
    subscriptions,
)
from llmos_jupyter._exceptions import LlmosError

__all__ = [
    "STRATEGIES",
    "ActorContext",
    "ActorRefused",
    "ActorSpec",
    "ActorSystem",
    "ActorSystemError",
    "MailboxFull",
    "RunOutcome",
    "Supervision",
]

STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
"""Restart strategies, as in Erlang/OTP's supervisor."""
_THREADS = sys.platform != "emscripten"  # Pyodide has no threads: sync handlers run inline
_PREVIEW = 200


class ActorSystemError(LlmosError):
    """A system cannot be built or run as asked (unknown skill, bad scope, bad setting)."""


class ActorRefused(ActorSystemError):
    """An actor skill may not run here (not trusted, or not a valid actor skill)."""


@dataclass(frozen=True)
class Supervision:
    """A scope supervisor's settings (see the module docstring)."""

    strategy: str = "one_for_one"
    max_restarts: int = 3
    within_s: float = 5.0
    backoff_s: float = 0.0
    backoff_max_s: float = 5.0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ActorSystemError(f"unknown supervision strategy {self.strategy!r}; expected "
                                   f"one of {', '.join(STRATEGIES)}")
        if self.max_restarts < 0 or self.within_s <= 0 or self.backoff_s < 0:
            raise ActorSystemError("supervision needs max_restarts >= 0, within_s > 0, "
                                   "backoff_s >= 0")


@dataclass
class ActorSpec:
    """One actor to start: its id, its skill (id or :class:`Skill`), scope and config.

    ``health``: ``{"interval_s": s, "deadline_s": s}`` to ping the actor every
    ``interval_s`` seconds; no answer within ``deadline_s`` and it counts as failed.
    """

    actor_id: str
    skill: Any
    scope: str = ROOT_SCOPE
    config: dict[str, Any] = field(default_factory=dict)
    health: dict[str, float] | None = None


@dataclass
class RunOutcome:
    """How a run ended. ``status``: ``exited`` | ``failed`` | ``timeout`` | ``interrupted``
    | ``idle``; ``result``: what ``ctx.exit`` gave; ``error``: why it failed (naming the
    actor, with its last traceback); ``messages``: one entry per delivered message in
    delivery order (the envelope's fields plus ``receiver``, ``status`` ``handled`` |
    ``failed`` | ``dropped`` and the handler's ``log`` lines; control messages have
    ``receiver`` ``coordinator``); ``actors``: per actor id ``{skill, scope, restarts,
    handled, status, paused, pauses, isolated, error, start_log}`` (``paused``: paused when
    the run ended; ``pauses``: how often it was paused)."""

    status: str
    result: Any = None
    error: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    actors: dict[str, dict[str, Any]] = field(default_factory=dict)
    name: str = "agents"
    started_at: float = 0.0
    duration_s: float = 0.0
    trace: str | None = None
    exited_by: str | None = None
    messages_dropped: int = 0

    @property
    def ok(self) -> bool:
        """True when an actor ended the run with ``ctx.exit``."""
        return self.status == "exited"

    def __repr__(self) -> str:
        # A notebook cell ending in `%agents run ...` shows this: one line, not the whole
        # message log (which can be thousands of envelopes; `.messages` has it).
        result = repr(self.result)
        if len(result) > 80:
            result = result[:77] + "..."
        return (f"RunOutcome(name={self.name!r}, status={self.status!r}, result={result}, "
                f"messages={len(self.messages)}, actors={len(self.actors)}"
                + (f", error={self.error.splitlines()[0][:120]!r}" if self.error else "")
                + f", duration_s={self.duration_s:.3g})")

    def to_json(self) -> dict[str, Any]:
        """``{status, result, error, messages, messages_dropped, actors, trace}``."""
        return {"status": self.status, "result": self.result, "error": self.error,
                "messages": self.messages, "messages_dropped": self.messages_dropped,
                "actors": self.actors, "trace": self.trace}


class _Scope:
    def __init__(self, scope_id: str, parent: str | None, owner: str | None,
                 supervision: Supervision) -> None:
        self.id, self.parent, self.owner = scope_id, parent, owner
        self.supervision = supervision
        self.members: list[_Slot] = []
        self.restarts: deque[float] = deque()
        self.ready_emitted = False
        self.closed = False


class _Slot:
    """An actor's place in the system: kept across restarts (mailbox, counters)."""

    def __init__(self, spec: ActorSpec, skill: Any, order: int, mailbox: Mailbox) -> None:
        self.spec, self.skill, self.order, self.mailbox = spec, skill, order, mailbox
        self.id = spec.actor_id
        self.subs = frozenset(subscriptions(skill))
        self.status = "starting"
        self.restarts = self.handled = self.incarnation = 0
        self.task: asyncio.Task[None] | None = None
        self.health_task: asyncio.Task[None] | None = None
        self.ctx: ActorContext | None = None
        self.handlers: Handlers | None = None
        self.started = False  # on_start returned in the current incarnation
        self.busy = True
        self.owned: list[str] = []
        self.last_error: str | None = None
        self.pong: asyncio.Future[None] | None = None
        self.isolated = False  # untrusted: handlers run in the isolation worker
        self.pauses = 0

    @property
    def paused(self) -> bool:
        # Kept on the mailbox, which outlives incarnations: a pause holds across restarts.
        return self.mailbox.paused

    @property
    def alive(self) -> bool:
        return self.status in ("starting", "ready")

    def wants(self, msg_type: str) -> bool:
        return msg_type in self.subs or "*" in self.subs


class ActorContext:
    """What an actor's handlers get as ``ctx`` (one per incarnation; see docs/agents.md).

    Attributes: ``actor_id``, ``scope``, ``config`` (a copy of the actor's config dict),
    ``state`` (a dict kept between messages, fresh on restart). Methods: :meth:`send`,
    :meth:`reply`, :meth:`spawn`, :meth:`exit`, :meth:`log`, :meth:`run_workflow`,
    :meth:`llm`. ``send``/``reply``/``spawn``/``exit`` take effect when the handler returns.
    """

    def __init__(self, system: ActorSystem, slot: _Slot) -> None:
        self._system, self._slot = system, slot
        self._incarnation = slot.incarnation
        self._outbox: list[tuple[str, Any]] = []
        self._entry: dict[str, Any] | None = None  # the message log entry being handled
        self.actor_id: str = slot.id
        self.scope: str = slot.spec.scope
        self.config: dict[str, Any] = copy.deepcopy(slot.spec.config)
        self.state: dict[str, Any] = {}

    @property
    def _alive(self) -> bool:
        return self._slot.incarnation == self._incarnation and self._slot.alive

    def send(self, type: str, payload: Any = None, to: str | None = None,
             scope: str | None = None, *, _reply_to: str | None = None) -> str:
        """Send a message; returns its id.

        Args:
            type: the message type (a non-empty string).
            payload: JSON-able data (copied: the receiver shares nothing with the sender).
            to: one receiving actor id; ``None`` routes by subscription within ``scope``.
            scope: the scope to route in (default: this actor's).

        Raises:
            ValueError: empty type, unknown actor ``to``, unknown or invalid ``scope``.
            TypeError: payload not JSON-able.
        """
        if not isinstance(type, str) or not type:
            raise ValueError(f"message type must be a non-empty string, got {type!r}")
        payload = json_payload(payload, f"payload of {type!r}")
        sys_ = self._system
        if to == COORDINATOR:
            self._check_control(type, payload)
            env = Envelope(id=sys_._next_message_id(), type=type, sender=self.actor_id,
                           scope=self.scope, payload=payload, reply_to=_reply_to,
                           ts=time.time(), to=COORDINATOR)
            self._outbox.append(("control", env))
            return env.id
        if to is not None:
            if to not in sys_._known_ids:
                raise ValueError(f"no actor {to!r} in this system (actors: "
                                 f"{', '.join(sorted(sys_._known_ids)) or 'none'})")
            target_scope = sys_._scope_of.get(to, self.scope) if scope is None else scope
        else:
            target_scope = self.scope if scope is None else scope
        check_scope(target_scope)
        if target_scope not in sys_._known_scopes:
            raise ValueError(f"no scope {target_scope!r} in this system")
        env = Envelope(id=sys_._next_message_id(), type=type, sender=self.actor_id,
                       scope=target_scope, payload=payload, reply_to=_reply_to,
                       ts=time.time(), to=to)
        self._outbox.append(("send", env))
        return env.id

    def _check_control(self, type: str, payload: Any) -> None:
        """Refuse a control message this actor may not send (see the module docstring)."""
        slot = self._slot
        if slot.isolated:
            raise PermissionError(
                f"actor {self.actor_id!r} (skill {slot.skill.skill_id!r}) is not trusted, so "
                f"the coordinator refuses its {type!r}; only trusted actor skills may pause "
                f"or resume actors (read it, then `llmos trust {slot.skill.skill_id}`)")
        if type not in CONTROL_TYPES:
            raise ValueError(f"the coordinator accepts {', '.join(sorted(CONTROL_TYPES))}, "
                             f"not {type!r}")
        target = payload.get("actor") if isinstance(payload, dict) else None
        if not isinstance(target, str) or target not in self._system._known_ids:
            raise ValueError(f"{type} needs a payload {{\"actor\": id}} naming an actor of "
                             f"this system, got {payload!r}")

    def reply(self, msg: Envelope, type: str, payload: Any = None) -> str:
        """Send ``type``/``payload`` to the sender of ``msg``, with ``reply_to = msg.id``.

        Raises:
            ValueError: ``msg`` came from the coordinator (nobody to answer).
        """
        if msg.sender == SYSTEM:
            raise ValueError(f"message {msg.id} ({msg.type}) came from the coordinator; "
                             "there is no actor to reply to")
        return self.send(type, payload, to=msg.sender, _reply_to=msg.id)

    def spawn(self, skill_id: str, actor_id: str | None = None, scope: str | None = None,
              config: Mapping[str, Any] | None = None) -> str:
        """Start another actor (once this handler returns); returns its id.

        Args:
            skill_id: an actor skill of the library (or of the system file's folder).
            actor_id: its id (default ``<skill_id>-<n>``); must be new.
            scope: ``None`` → this actor's scope; ``"new"`` → a fresh child scope of this
                actor's scope; a scope id → that scope, created as a child of this actor's
                scope if it does not exist. Scopes created here are *owned* by this actor:
                they stop when it stops, and their supervisor escalates to it.
            config: the new actor's ``ctx.config`` (JSON-able).

        Raises:
            ActorRefused: unknown or invalid actor skill (or untrusted, when the system
                refuses untrusted actors).
            ValueError: the actor id is taken, or the scope is not a scope id.
        """
        sys_ = self._system
        skill = sys_._resolve(skill_id)
        spec_config: dict[str, Any] = json_payload(dict(config or {}), "spawn config")
        with sys_._ids_lock:
            if actor_id is None:
                actor_id = sys_._fresh_actor_id(skill.skill_id)
            elif actor_id in (SYSTEM, COORDINATOR) or (actor_id in sys_._known_ids
                                        and not sys_._stopped(actor_id)):
                raise ValueError(f"actor id {actor_id!r} is taken")
            new_scope = None
            if scope is None:
                scope = self.scope
            elif scope == "new":
                scope = new_scope = sys_._fresh_scope_id()
            else:
                check_scope(scope)
                if scope not in sys_._known_scopes:
                    new_scope = scope
            if new_scope is not None:
                sys_._known_scopes.add(new_scope)
            sys_._known_ids.add(actor_id)
            sys_._scope_of[actor_id] = scope
        spec = ActorSpec(actor_id, skill, scope, spec_config)
        self._outbox.append(("spawn", (spec, new_scope)))
        return actor_id

    def exit(self, result: Any = None) -> None:
        """End the whole system with ``result`` (JSON-able) once this handler returns."""
        self._outbox.append(("exit", json_payload(result, "exit result")))

    def log(self, text: Any) -> None:
        """Add a line to this message's log (kept in the message log and the trace)."""
        line = str(text)
        entry = self._entry
        if entry is not None:
            entry["log"].append(line)
        else:
            self._system._start_logs.setdefault(self.actor_id, []).append(line)

    def run_workflow(self, path_or_workflow: Any,
                     overrides: Mapping[str, Any] | None = None) -> Any:
        """Run a workflow with the engine (blocking: call it from a sync handler, which runs
        in a thread); returns the engine's ``RunResult`` (``.status``, ``.outputs(node)``).
        A relative path is relative to the system file's folder (``base_dir``). Untrusted
        nodes of the workflow run isolated, as in every engine run."""
        from llmos_jupyter._engine.engine import Engine

        base = self._system.base_dir
        if isinstance(path_or_workflow, str) and base is not None:
            path_or_workflow = Path(path_or_workflow)
        if isinstance(path_or_workflow, Path) and not path_or_workflow.is_absolute() \
                and base is not None:
            path_or_workflow = Path(base) / path_or_workflow
        return Engine(self._system.library).run(path_or_workflow, dict(overrides or {}))

    def llm(self, prompt: str | None = None, **kwargs: Any) -> Any:
        """One Messages API call through :class:`llmos_jupyter._llm.client.LlmClient` (its
        retries and circuit breaker; one client per system). ``ctx.llm("text")`` sends one
        user message; otherwise pass ``messages=``, ``system=``, ``tools=``… as to
        ``LlmClient.create``. Returns the SDK ``Message``.

        Raises:
            ActorSystemError: the system's ``max_cost_usd`` is spent.
            the LLM layer's errors (MissingApiKey, LlmUnavailable, CircuitOpen…).
        """
        if prompt is not None:
            kwargs.setdefault("messages", [{"role": "user", "content": str(prompt)}])
        return self._system._llm_call(kwargs)


class ActorSystem:
    """Runs actors (see the module docstring for the semantics).

    Args:
        library: the :class:`SkillLibrary` actor skills come from (default: the user's).
        skills: extra actor skills by id (e.g. the system file's folder), before the library.
        name: the system's name (trace file names).
        timeout_s: end the run after this many seconds (``None``: no limit).
        mailbox_size: ordinary messages one mailbox holds before senders wait.
        send_timeout_s: how long a send waits for room before failing the sender.
        handler_timeout_s: longest one handler call may take (``None``: no limit).
        supervision: the default supervisor of every scope; ``scope_supervision`` per scope.
        scope_parents: parents of scopes named in the system file (default: the root).
        threads: run sync handlers in threads (default: yes, except under Pyodide).
        llm_client: an ``LlmClient`` (default: one made on first ``ctx.llm``);
            ``llm_model``/``max_cost_usd`` from the system file's ``[llm]``.
        untrusted: what to do with an actor skill the user does not trust: ``"isolate"``
            (the default: its handlers run in the isolation worker, see
            :mod:`llmos_jupyter._actors.isolated`) or ``"refuse"`` (:class:`ActorRefused`).
        isolation_limits: the isolation worker's ``Limits`` (default: its own defaults).
        base_dir: the folder relative workflow paths of ``ctx.run_workflow`` start from.
        on_event: called in the loop (keep it quick) with ``("message", entry)`` when a
            delivered message was handled (the message log entry, final status and log)
            and ``("actor", {id, skill, scope, status, restarts, handled})`` when an actor
            starts, becomes ready, fails or stops: live views (CLI, canvas) use it. An
            exception in it is logged and otherwise ignored.
        log_limit: the message log keeps the newest this many entries
            (``RunOutcome.messages_dropped`` says how many older ones were dropped).
        clock: monotonic seconds, for the restart intensity window.
    """

    def __init__(self, library: Any = None, *, skills: Mapping[str, Any] | None = None,
                 name: str = "agents", timeout_s: float | None = None,
                 mailbox_size: int = 100, send_timeout_s: float | None = 30.0,
                 handler_timeout_s: float | None = None, stop_timeout_s: float = 5.0,
                 supervision: Supervision | None = None,
                 scope_supervision: Mapping[str, Supervision] | None = None,
                 scope_parents: Mapping[str, str] | None = None,
                 threads: bool | None = None, llm_client: Any = None,
                 llm_model: str | None = None, max_cost_usd: float | None = None,
                 untrusted: str = "isolate", isolation_limits: Any = None,
                 home: Any = None, base_dir: Any = None,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None,
                 log_limit: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if library is None:
            from llmos_jupyter._skills.library import SkillLibrary

            library = SkillLibrary()
        self.library = library
        self.skills = dict(skills or {})
        self.name = name
        self.timeout_s = timeout_s
        self.mailbox_size = mailbox_size
        Mailbox(mailbox_size)  # validates the size now, not at the first start
        self.send_timeout_s = send_timeout_s
        self.handler_timeout_s = handler_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.supervision = supervision or Supervision()
        self.scope_supervision = dict(scope_supervision or {})
        self.scope_parents = dict(scope_parents or {})
        self.threads = _THREADS if threads is None else threads
        if untrusted not in ("isolate", "refuse"):
            raise ActorSystemError(f"untrusted must be 'isolate' or 'refuse', got {untrusted!r}")
        if untrusted == "isolate" and not _THREADS:
            untrusted = "refuse"  # Pyodide has no processes to isolate in
        self.untrusted = untrusted
        from llmos_jupyter._actors.isolated import IsolatedHost

        self._host = IsolatedHost(isolation_limits)
        self.home = home
        self.base_dir = base_dir
        self.on_event = on_event
        self.clock = clock
        self._llm_client = llm_client
        self._llm_model = llm_model
        self._max_cost = max_cost_usd
        self._llm_lock = threading.Lock()
        # Ids are allocated from handler threads too: counters are itertools.count (atomic
        # under the GIL), sets are updated under _ids_lock.
        self._ids_lock = threading.Lock()
        self._msg_ids = itertools.count(1)
        self._actor_n = itertools.count(1)
        self._scope_n = itertools.count(1)
        self._known_ids: set[str] = set()
        self._known_scopes: set[str] = {ROOT_SCOPE}
        self._scope_of: dict[str, str] = {}
        self._slots: dict[str, _Slot] = {}
        self._scopes: dict[str, _Scope] = {}
        self._order = itertools.count()
        # The message log keeps the newest log_limit entries (a long-running system must
        # not grow without bound); _logged counts them all.
        self._log: deque[dict[str, Any]] = deque(maxlen=log_limit)
        self._logged = 0
        self._start_logs: dict[str, list[str]] = {}
        self._events: asyncio.Queue[tuple[Any, ...]] | None = None
        self._final: tuple[str, Any, str | None, str | None] | None = None
        self._pending_start: set[str] = set()
        self._start_message: Envelope | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    # -- ids ------------------------------------------------------------------------------
    def _next_message_id(self) -> str:
        return f"m{next(self._msg_ids):06d}"

    def _fresh_actor_id(self, skill_id: str) -> str:
        while True:
            cand = f"{skill_id}-{next(self._actor_n)}"
            if cand not in self._known_ids:
                return cand

    def _fresh_scope_id(self) -> str:
        while True:
            cand = f"{next(self._scope_n):06x}"
            if cand not in self._known_scopes:
                return cand

    # -- skills ---------------------------------------------------------------------------
    def _resolve(self, skill: Any) -> Any:
        """The actor skill for an id (or a Skill), checked and trusted.

        Raises:
            ActorRefused: unknown, not an actor, invalid, or untrusted under ``untrusted="refuse"``.
        """
        if isinstance(skill, str):
            found = self.skills.get(skill)
            if found is None:
                try:
                    found = self.library.get(skill)
                except KeyError:
                    raise ActorRefused(f"no skill {skill!r} in the library (or next to the "
                                       "system file)") from None
            skill = found
        if not is_actor(skill):
            raise ActorRefused(f"skill {skill.skill_id!r} is not an actor skill (its "
                               "frontmatter needs kind: actor)")
        problems = check_actor_skill(skill)
        if problems:
            raise ActorRefused(f"actor skill {skill.skill_id!r} is invalid: {problems[0]}")
        if self.untrusted == "refuse" and not self._trusted(skill):
            where = f" ({skill.path})" if getattr(skill, "path", None) else ""
            raise ActorRefused(
                f"actor skill {skill.skill_id!r}{where} is not trusted, and this system "
                "refuses untrusted actors. Read it, then trust it: `llmos trust "
                f"{skill.skill_id}` (or `llmos agents trust SYSTEM.toml` for the skills "
                "next to a system file)")
        return skill

    def _trusted(self, skill: Any) -> bool:
        from llmos_jupyter._trust import is_trusted

        return is_trusted(skill, self.home)

    def _stopped(self, actor_id: str) -> bool:
        """True when ``actor_id`` names an actor that was stopped for good (its id may be
        spawned again, e.g. by its restarted owner)."""
        slot = self._slots.get(actor_id)
        return slot is not None and slot.status in ("stopped", "failed")

    # -- scopes and actors ----------------------------------------------------------------
    def _scope(self, scope_id: str, parent: str | None = None, owner: str | None = None) -> _Scope:
        sc = self._scopes.get(scope_id)
        if sc is None:
            if parent is None and scope_id != ROOT_SCOPE:
                parent = self.scope_parents.get(scope_id, ROOT_SCOPE)
                if parent not in self._scopes and parent != scope_id:
                    self._scope(parent)
            sup = self.scope_supervision.get(scope_id, self.supervision)
            sc = self._scopes[scope_id] = _Scope(scope_id, parent, owner, sup)
            self._known_scopes.add(scope_id)
        return sc

    def _register(self, spec: ActorSpec, new_scope_parent: str | None = None,
                  owner: str | None = None) -> _Slot:
        skill = self._resolve(spec.skill)
        check_scope(spec.scope)
        sc = self._scope(spec.scope, new_scope_parent, owner)
        if sc.closed:
            raise ActorSystemError(f"scope {spec.scope} was stopped")
        slot = _Slot(spec, skill, next(self._order), Mailbox(self.mailbox_size))
        slot.isolated = not self._trusted(skill)
        self._slots[slot.id] = slot
        with self._ids_lock:
            self._known_ids.add(slot.id)
            self._scope_of[slot.id] = spec.scope
        sc.members.append(slot)
        sc.ready_emitted = False
        return slot

    def _start(self, slot: _Slot) -> None:
        slot.incarnation += 1
        slot.status, slot.started, slot.busy = "starting", False, True
        slot.ctx = ActorContext(self, slot)
        self._notify_actor(slot)
        slot.task = asyncio.get_running_loop().create_task(
            self._actor_main(slot, slot.incarnation), name=f"actor {slot.id}")
        if slot.spec.health and slot.health_task is None:
            slot.health_task = asyncio.get_running_loop().create_task(self._health(slot))

    # -- handler calls --------------------------------------------------------------------
    async def _call(self, fn: Callable[..., Any], *args: Any, limit: float | None) -> Any:
        if Handlers.is_async(fn):
            work: Any = fn(*args)
        elif self.threads:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=64, thread_name_prefix="llmos-actor")
            work = asyncio.get_running_loop().run_in_executor(self._pool,
                                                              functools.partial(fn, *args))
        else:
            return fn(*args)
        if limit is None:
            return await work
        try:
            return await asyncio.wait_for(work, limit)
        except TimeoutError:
            raise _HandlerTimeout(f"handler took longer than {limit:g} s") from None

    async def _actor_main(self, slot: _Slot, incarnation: int) -> None:
        # A bug of the runtime must not leave an actor silently dead (the run would hang
        # until its timeout): report it like a failure of the actor.
        try:
            await self._actor_body(slot, incarnation)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - see above
            self._failed(slot, incarnation, f"runtime error {_one_line(exc)}", _tb(exc))

    async def _actor_body(self, slot: _Slot, incarnation: int) -> None:
        ctx = slot.ctx
        assert ctx is not None
        try:
            if slot.isolated:
                from llmos_jupyter._actors.isolated import isolated_handlers

                slot.handlers = isolated_handlers(slot.skill, self._host, self.handler_timeout_s)
            else:
                slot.handlers = load_handlers(slot.skill)
            await self._call(slot.handlers.on_start, ctx, limit=self.handler_timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the actor's code is supervised
            self._failed(slot, incarnation, f"on_start raised {_one_line(exc)}", _tb(exc),
                         stuck=isinstance(exc, _HandlerTimeout))
            return
        slot.started = True
        slot.status = "ready"
        self._notify_actor(slot)
        await self._emit("actor_ready", slot.spec.scope, {"actor": slot.id}, about=slot)
        await self._check_ready(slot.spec.scope)
        if not await self._flush(slot, ctx, incarnation):
            return
        while True:
            if not len(slot.mailbox) or slot.paused:
                slot.busy = False
                self._poke()
            env = await slot.mailbox.get()
            slot.busy = True
            if env.type == "ping" and env.sender == SYSTEM and env.to == slot.id:
                if slot.pong is not None and not slot.pong.done():
                    slot.pong.set_result(None)
                continue
            entry = {**env.to_dict(), "receiver": slot.id, "status": "handled", "log": []}
            self._record(entry)
            ctx._entry = entry
            try:
                await self._call(slot.handlers.on_message, ctx, env, limit=self.handler_timeout_s)
            except asyncio.CancelledError:
                entry["status"] = "dropped"
                raise
            except Exception as exc:  # noqa: BLE001 - supervised
                entry["status"] = "failed"
                entry["error"] = _one_line(exc)
                slot.handled += 1
                ctx._entry = None
                self._notify("message", entry)
                await self._flush(slot, ctx, incarnation)
                self._failed(slot, incarnation, f"on_message raised {_one_line(exc)} "
                             f"handling {env.id} ({env.type} from {env.sender})", _tb(exc),
                             stuck=isinstance(exc, _HandlerTimeout))
                return
            slot.handled += 1
            ctx._entry = None
            self._notify("message", entry)
            if not await self._flush(slot, ctx, incarnation):
                return

    async def _flush(self, slot: _Slot, ctx: ActorContext, incarnation: int) -> bool:
        """Carry out a turn's outbox; False when the actor failed doing so."""
        outbox, ctx._outbox = ctx._outbox, []
        for kind, item in outbox:
            if slot.incarnation != incarnation or not slot.alive:
                return False
            if kind == "send":
                try:
                    await self._route(item)
                except MailboxFull as exc:
                    self._failed(slot, incarnation, f"send of {item.id} ({item.type}) failed: "
                                 f"{exc}", "")
                    return False
            elif kind == "spawn":
                spec, new_scope = item
                try:
                    child = self._register(spec, slot.spec.scope if new_scope else None,
                                           slot.id if new_scope else None)
                except (ActorSystemError, ValueError) as exc:
                    self._failed(slot, incarnation, f"spawn of {spec.actor_id} failed: {exc}", "")
                    return False
                if new_scope:
                    slot.owned.append(new_scope)
                self._start(child)
            elif kind == "control":
                await self._control(item)
            elif kind == "exit":
                self._end("exited", item, None, slot.id)
        return True

    async def _control(self, env: Envelope) -> None:
        """Carry out a control message (already checked by ``ctx.send``)."""
        entry = {**env.to_dict(), "receiver": COORDINATOR, "status": "handled", "log": []}
        self._record(entry)
        target = self._slots.get(env.payload["actor"])
        if target is None or target.status in ("stopped", "failed"):
            entry["status"] = "undelivered"
            entry["log"].append(f"no running actor {env.payload['actor']!r}")
            return
        pause = env.type == "pause_actor"
        if target.paused == pause:
            entry["log"].append(f"{target.id} is already {'paused' if pause else 'running'}")
            return
        if pause:
            await target.mailbox.pause()
            target.pauses += 1
        else:
            await target.mailbox.resume()
        entry["log"].append(f"{'paused' if pause else 'resumed'} {target.id} "
                            f"({len(target.mailbox)} message(s) queued)")
        self._notify_actor(target)
        await self._emit("actor_paused" if pause else "actor_resumed", target.spec.scope,
                         {"actor": target.id, "by": env.sender,
                          "reason": env.payload.get("reason"),
                          "queued": len(target.mailbox)}, about=target)
        self._poke()

    # -- routing --------------------------------------------------------------------------
    async def _route(self, env: Envelope, system: bool = False) -> None:
        """Put ``env`` in its receivers' mailboxes (waiting for room unless ``system``)."""
        if env.to is not None:
            target = self._slots.get(env.to)
            targets = [target] if target is not None and target.alive else []
        else:
            sc = self._scopes.get(env.scope)
            targets = [] if sc is None or sc.closed else [
                s for s in sc.members if s.alive and s.id != env.sender and s.wants(env.type)]
        if not targets:
            self._record({**env.to_dict(), "receiver": None, "status": "undelivered",
                              "log": []})
            return
        for t in targets:
            if system:
                await t.mailbox.put_system(env)
            else:
                await t.mailbox.put(env, self.send_timeout_s)

    async def _emit(self, msg_type: str, scope: str, payload: Any,
                    about: _Slot | None = None) -> None:
        """A coordinator message to the subscribers of ``scope`` and its ancestors."""
        env = Envelope(id=self._next_message_id(), type=msg_type, sender=SYSTEM, scope=scope,
                       payload=payload, ts=time.time())
        seen: set[str] = set()
        sc_id: str | None = scope
        while sc_id is not None:
            sc = self._scopes.get(sc_id)
            if sc is None:
                break
            for s in sc.members:
                if s.alive and s.id not in seen and s is not about and s.wants(msg_type):
                    seen.add(s.id)
                    await s.mailbox.put_system(env)
            sc_id = sc.parent

    async def _check_ready(self, scope_id: str) -> None:
        sc = self._scopes[scope_id]
        if sc.ready_emitted or not all(s.started for s in sc.members if s.alive):
            return
        sc.ready_emitted = True
        await self._emit("all_actors_ready", scope_id,
                         {"scope": scope_id, "actors": [s.id for s in sc.members if s.alive]})
        self._pending_start.discard(scope_id)
        if not self._pending_start and self._start_message is not None:
            env, self._start_message = self._start_message, None
            await self._route(env, system=True)  # the coordinator never waits for room

    def _record(self, entry: dict[str, Any]) -> None:
        self._log.append(entry)
        self._logged += 1

    # -- live events --------------------------------------------------------------------
    def _notify(self, kind: str, data: dict[str, Any]) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(kind, data)
        except Exception:  # a view's bug must not stop the actors
            logging.getLogger(__name__).exception("on_event callback failed")

    def _notify_actor(self, slot: _Slot) -> None:
        if self.on_event is not None:
            status = "paused" if slot.paused and slot.alive else slot.status
            self._notify("actor", {"id": slot.id, "skill": slot.skill.skill_id,
                                   "scope": slot.spec.scope, "status": status,
                                   "restarts": slot.restarts, "handled": slot.handled,
                                   "paused": slot.paused})

    # -- events to the coordinator --------------------------------------------------------
    def _failed(self, slot: _Slot, incarnation: int, error: str, tb: str, *,
                stuck: bool = False) -> None:
        """Report a failure to the coordinator; ``stuck``: it missed a health ping or a
        handler ran over ``handler_timeout_s`` (``actor_failed`` says so)."""
        slot.busy = False
        if self._events is not None:
            self._events.put_nowait(("failed", slot, incarnation, error, tb, stuck))

    def _end(self, status: str, result: Any, error: str | None, by: str | None) -> None:
        if self._final is None:
            self._final = (status, result, error, by)
        if self._events is not None:
            self._events.put_nowait(("end",))

    def _poke(self) -> None:
        if self._events is not None:
            self._events.put_nowait(("idle",))

    def _quiescent(self) -> bool:
        return (self._events is not None and self._events.empty()
                and self._start_message is None
                and all(not s.busy and (s.paused or not len(s.mailbox))
                        for s in self._slots.values() if s.alive))

    async def _health(self, slot: _Slot) -> None:
        spec = slot.spec.health or {}
        interval = float(spec.get("interval_s", 1.0))
        deadline = float(spec.get("deadline_s", 5.0))
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            if not slot.alive or not slot.started or slot.paused:
                continue  # a paused actor reads nothing, pings included
            inc = slot.incarnation
            slot.pong = loop.create_future()
            await slot.mailbox.put_system(Envelope(
                id=self._next_message_id(), type="ping", sender=SYSTEM, scope=slot.spec.scope,
                ts=time.time(), to=slot.id))
            try:
                await asyncio.wait_for(asyncio.shield(slot.pong), deadline)
            except TimeoutError:
                if slot.incarnation == inc and slot.alive and not slot.paused:
                    self._failed(slot, inc, f"did not answer a health ping within {deadline:g} s",
                                 "", stuck=True)

    # -- supervision ----------------------------------------------------------------------
    async def _on_failure(self, slot: _Slot, error: str, tb: str, stuck: bool = False) -> None:
        slot.last_error = f"{error}\n{tb}".rstrip()
        await self._emit("actor_failed", slot.spec.scope, {"actor": slot.id, "error": error,
                                                           "stuck": stuck})
        sc = self._scopes[slot.spec.scope]
        sup = sc.supervision
        now = self.clock()
        sc.restarts.append(now)
        while sc.restarts and sc.restarts[0] < now - sup.within_s:
            sc.restarts.popleft()
        if len(sc.restarts) > sup.max_restarts:
            await self._give_up(sc, slot, error)
            return
        alive = [s for s in sc.members if s.alive or s is slot]
        if sup.strategy == "one_for_one":
            targets = [slot]
        elif sup.strategy == "one_for_all":
            targets = alive
        else:
            targets = [s for s in alive if s.order >= slot.order]
        for t in sorted(targets, key=lambda s: -s.order):
            await self._stop(t, call_on_stop=t is not slot, status="restarting")
        if sup.backoff_s > 0:
            await asyncio.sleep(min(sup.backoff_s * 2 ** (len(sc.restarts) - 1), sup.backoff_max_s))
        for t in sorted(targets, key=lambda s: s.order):
            t.restarts += 1
            self._start(t)
            await self._emit("actor_restarted", t.spec.scope,
                             {"actor": t.id, "restarts": t.restarts, "error": error}, about=t)

    async def _give_up(self, sc: _Scope, slot: _Slot, error: str) -> None:
        for s in sorted(sc.members, key=lambda s: -s.order):
            await self._stop(s, call_on_stop=s is not slot and s.alive,
                             status="failed" if s is slot else "stopped")
        sc.closed = True
        sup = sc.supervision
        why = (f"the supervisor of scope {sc.id} gave up: actor {slot.id!r} "
               f"({slot.skill.skill_id}) failed {len(sc.restarts)} times within "
               f"{sup.within_s:g} s (max_restarts {sup.max_restarts}); last error: {error}")
        if sc.parent is not None:
            await self._emit("scope_gave_up", sc.parent, {"scope": sc.id, "actor": slot.id,
                                                          "error": error})
        owner = self._slots.get(sc.owner) if sc.owner else None
        if owner is not None and owner.alive:
            self._failed(owner, owner.incarnation, why, slot.last_error or "")
            await self._stop_task(owner)
            return
        self._end("failed", None, f"{why}\n{slot.last_error or ''}".rstrip(), None)

    async def _stop_task(self, slot: _Slot) -> None:
        task, slot.task = slot.task, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            # It is being stopped: how it ends (cancelled, or an error while cancelling)
            # no longer matters.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _stop(self, slot: _Slot, *, call_on_stop: bool, status: str) -> None:
        """Stop one incarnation: its task, the scopes it owns, then ``on_stop``."""
        was_started = slot.started
        slot.status = status
        slot.busy = False
        self._notify_actor(slot)
        await self._stop_task(slot)
        for scope_id in slot.owned:
            sc = self._scopes.get(scope_id)
            if sc is None:
                continue
            if not sc.closed:
                for s in sorted(sc.members, key=lambda s: -s.order):
                    if s.alive:
                        await self._stop(s, call_on_stop=True, status="stopped")
                    if s.health_task is not None:
                        s.health_task.cancel()
                sc.closed = True
            # Forget the scope: a restarted owner may spawn into the same scope id again
            # (as an OTP supervisor starts its children afresh).
            del self._scopes[scope_id]
            with self._ids_lock:
                self._known_scopes.discard(scope_id)
        slot.owned = []
        if status != "restarting" and slot.health_task is not None:
            slot.health_task.cancel()
            slot.health_task = None
        h, ctx = slot.handlers, slot.ctx
        if call_on_stop and was_started and h is not None and h.on_stop is not None and ctx:
            entry: dict[str, Any] = {
                "id": None, "type": "on_stop", "sender": SYSTEM, "scope": slot.spec.scope,
                "payload": None, "reply_to": None, "ts": time.time(), "to": slot.id,
                "receiver": slot.id, "status": "handled", "log": []}
            ctx._entry = entry
            # Its incarnation is over: sends made in on_stop are dropped; logs are kept.
            ctx._incarnation = -1
            try:
                await self._call(h.on_stop, ctx, limit=self.stop_timeout_s)
            except Exception as exc:  # noqa: BLE001 - a failing on_stop is logged, not supervised
                entry["status"] = "failed"
                entry["error"] = _one_line(exc)
            ctx._entry = None
            self._record(entry)

    # -- the run --------------------------------------------------------------------------
    async def run(self, actors: Iterable[ActorSpec], input: Any = None, *,
                  start_type: str = "start", timeout_s: float | None = None) -> RunOutcome:
        """Start ``actors``, send ``input`` as a ``start_type`` message to the subscribers of
        the first actor's scope once every configured scope is ready, and run until the
        system ends (see the module docstring). Never raises for an actor's failure: the
        outcome says what happened.

        Raises:
            ActorRefused: a configured actor skill is unknown or invalid (or untrusted under
                ``untrusted="refuse"``).
            ActorSystemError: duplicate actor ids, bad scopes.
        """
        if self._events is not None:
            raise ActorSystemError("an ActorSystem runs once; make a new one")
        specs = list(actors)
        if not specs:
            raise ActorSystemError("a system needs at least one actor")
        seen: set[str] = set()
        for spec in specs:
            if spec.actor_id in seen or spec.actor_id in (SYSTEM, COORDINATOR):
                raise ActorSystemError(f"actor id {spec.actor_id!r} is used twice (or reserved)")
            seen.add(spec.actor_id)
            check_scope(spec.scope)
        self._events = asyncio.Queue()
        started_at, t0 = time.time(), time.monotonic()
        limit = self.timeout_s if timeout_s is None else timeout_s
        slots = [self._register(spec) for spec in specs]
        self._pending_start = {s.spec.scope for s in slots}
        self._start_message = Envelope(
            id=self._next_message_id(), type=start_type, sender=SYSTEM,
            scope=specs[0].scope, payload=json_payload(input, "input"), ts=time.time())
        status = None
        try:
            async with asyncio.timeout(limit):
                for s in slots:
                    self._start(s)
                await self._coordinate()
        except TimeoutError:
            status = ("timeout", None, f"the system did not end within {limit:g} s", None)
        except asyncio.CancelledError:
            status = ("interrupted", None, "interrupted (cancelled, e.g. by Ctrl-C)", None)
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        final = self._final if self._final is not None else status
        assert final is not None
        await self._shutdown()
        self._host.close()
        if self._host.warning:
            self._start_logs.setdefault(SYSTEM, []).append(f"isolation: {self._host.warning}")
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        st, result, error, by = final
        return RunOutcome(
            status=st, result=result, error=error, messages=list(self._log),
            messages_dropped=self._logged - len(self._log),
            actors={s.id: {"skill": s.skill.skill_id, "scope": s.spec.scope,
                           "restarts": s.restarts, "handled": s.handled,
                           "isolated": s.isolated, "paused": s.paused,
                           "pauses": s.pauses,
                           "status": s.status, "error": s.last_error,
                           "start_log": self._start_logs.get(s.id, [])}
                    for s in self._slots.values()},
            name=self.name, started_at=started_at, duration_s=time.monotonic() - t0,
            exited_by=by)

    async def _coordinate(self) -> None:
        assert self._events is not None
        while self._final is None:
            ev = await self._events.get()
            if ev[0] == "failed":
                _, slot, inc, error, tb, stuck = ev
                if slot.incarnation != inc or slot.status not in ("starting", "ready"):
                    continue  # a stale report: that incarnation was already stopped
                slot.status = "failed"
                await self._stop_task(slot)
                slot.status = "starting"  # still a member while its supervisor decides
                await self._on_failure(slot, error, tb, stuck)
            elif ev[0] == "idle" and self._quiescent():
                failed = [s for s in self._slots.values() if s.last_error]
                last = (f"; the last failure: actor {failed[-1].id!r}: {failed[-1].last_error}"
                        if failed else "")
                held = [f"{s.id} ({len(s.mailbox)})" for s in self._slots.values()
                        if s.alive and s.paused and len(s.mailbox)]
                if held:
                    last = (f"; paused actors hold queued messages: {', '.join(held)}"
                            + last)
                self._end("idle", None, "no actor called ctx.exit and nothing is left to do "
                          f"(every mailbox is empty){last}", None)

    async def _shutdown(self) -> None:
        for s in sorted(self._slots.values(), key=lambda s: -s.order):
            if s.health_task is not None:
                s.health_task.cancel()
                s.health_task = None
            if s.alive:
                await self._stop(s, call_on_stop=True, status="stopped")

    # -- LLM ------------------------------------------------------------------------------
    def _llm_call(self, kwargs: dict[str, Any]) -> Any:
        with self._llm_lock:
            if self._llm_client is None:
                from llmos_jupyter._llm.client import LlmClient

                self._llm_client = LlmClient()
            client = self._llm_client
            spent = client.ledger.cost_usd if hasattr(client, "ledger") else None
            if self._max_cost is not None and spent is not None and spent >= self._max_cost:
                raise ActorSystemError(f"the system's LLM budget is spent: ${spent:.4f} of "
                                       f"max_cost_usd ${self._max_cost:g}")
        if self._llm_model and "model" not in kwargs:
            kwargs["model"] = self._llm_model
        kwargs.setdefault("stream", False)
        return client.create(**kwargs)


class _HandlerTimeout(TimeoutError):
    """A handler ran over ``handler_timeout_s`` (the actor counts as stuck)."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:_PREVIEW]}" if text else type(exc).__name__


def _tb(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)).rstrip()

