"""Agents as actors: skills that hold state and exchange messages, under supervision.

An actor is a skill with ``kind: actor`` (:mod:`.skill`); an :class:`ActorSystem`
(:mod:`.runtime`) runs actors on one asyncio loop with bounded mailboxes, routing by
subscription and scope, readiness, OTP-style supervisors and graceful shutdown; a system
is configured in TOML (:mod:`.config`) and every run is recorded as a notebook
(:mod:`.trace`). See docs/agents.md.

In a notebook cell (and in JupyterLite's Pyodide kernel, which cannot block) a run is
awaited: ``outcome = await arun_file("agents/ping-pong.toml", {"rounds": 3})``;
:mod:`.pyodide` holds what the runtime needs there.
"""

from __future__ import annotations

from llmos_jupyter._actors.mailbox import Mailbox, MailboxFull
from llmos_jupyter._actors.message import ROOT_SCOPE, SYSTEM, Envelope, check_scope
from llmos_jupyter._actors.pyodide import CannotWaitHere, in_pyodide
from llmos_jupyter._actors.run import SystemInvalid, arun_file, run_file
from llmos_jupyter._actors.runtime import (
    STRATEGIES,
    ActorContext,
    ActorRefused,
    ActorSpec,
    ActorSystem,
    ActorSystemError,
    RunOutcome,
    Supervision,
)
from llmos_jupyter._actors.skill import check_actor_skill, is_actor, load_handlers, subscriptions

__all__ = [
    "ROOT_SCOPE",
    "STRATEGIES",
    "SYSTEM",
    "ActorContext",
    "ActorRefused",
    "ActorSpec",
    "ActorSystem",
    "ActorSystemError",
    "CannotWaitHere",
    "Envelope",
    "Mailbox",
    "MailboxFull",
    "RunOutcome",
    "Supervision",
    "SystemInvalid",
    "arun_file",
    "check_actor_skill",
    "check_scope",
    "in_pyodide",
    "is_actor",
    "load_handlers",
    "run_file",
    "subscriptions",
]
