"""The tool loop: ask, run the tools the model calls, send the results, until it stops.

One request (:meth:`Agent.ask`):

1. the system prompt is built by :class:`context.SkillContext` from the request (skipped
   with ``use_skills=False``), plus the optional notebook context;
2. the model is called with the tools — all of them with ``build=True``, only the read-only
   ``list_skills``/``get_skill`` otherwise, none without skills;
3. while the answer stops with ``stop_reason == "tool_use"``, each ``tool_use`` block is
   validated and run by :class:`tools.Toolbox` and its result (or precise error) goes back
   as a ``tool_result``; at most ``max_steps`` model calls per request — when the limit is
   hit the answer says so instead of looping on;
4. the chat (messages, tool calls with their results, usage) is saved as a notebook after
   every step, so an interrupted request leaves its trace.

Calls that write files, commit or run untrusted code ask ``approve`` first (see
:mod:`tools`); every call — name, redacted arguments, approval, result summary — is
recorded in the chat notebook (:meth:`Chat.record_call`). The answer is Markdown from a
model, shown only as sanitized HTML (:class:`~llmos_jupyter._notebook.display.MarkdownText`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._engine.result import RunResult
from llmos_jupyter._llm.chat import Chat
from llmos_jupyter._llm.client import LlmClient
from llmos_jupyter._llm.context import SkillContext
from llmos_jupyter._llm.pricing import UsageLedger
from llmos_jupyter._llm.tools import Approver, Toolbox, ToolResult
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._workflow.model import Workflow

__all__ = ["Agent", "Answer"]

READ_ONLY = ("list_skills", "get_skill")
BUILD_NOTE = ("\n\nThe user asked you to BUILD a workflow: use the tools to create it, "
              "validate it, run it, read the key outputs, then answer with the results.")


@dataclass
class Answer:
    """The outcome of one request."""

    text: str
    steps: int
    stop_reason: str
    usage: UsageLedger
    tool_calls: list[tuple[str, dict[str, Any], ToolResult]] = field(default_factory=list)
    workflow: Workflow | None = None
    saved: Path | None = None
    result: RunResult | None = None
    chat_path: Path | None = None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from llmos_jupyter._notebook.display import MarkdownText

        return MarkdownText(self.text)._repr_mimebundle_()


def _blocks(message: Any) -> list[dict[str, Any]]:
    return [b.model_dump(mode="json", exclude_none=True) for b in message.content]


class Agent:
    """A chat with the model, the library as context and tools.

    Args:
        client: the :class:`LlmClient` (its ledger counts every call of the kernel).
        library: the skills (context and tools).
        toolbox: the tools' state (default: a new :class:`Toolbox` on ``library`` and its
            :class:`~llmos_jupyter._workbench.Workbench`, so runs reuse the kernel's cache).
        workbench: the kernel's service the default toolbox runs on (default: the one of
            ``library``).
        chat: the conversation (default: a new chat notebook in the user volume).
        approve: decides calls that write, commit or run untrusted code (default: the
            toolbox's own, ``None`` there denies them).
    """

    def __init__(self, client: LlmClient, library: SkillLibrary, *,
                 toolbox: Toolbox | None = None, chat: Chat | None = None,
                 approve: Approver | None = None, workbench: Any = None) -> None:
        self.client = client
        self.library = library
        self.toolbox = toolbox or Toolbox(library, workbench=workbench)
        if approve is not None:
            self.toolbox.approve = approve
        self.chat = chat or Chat(model=client.config.model)

    def ask(self, prompt: str, *, build: bool = False, use_skills: bool = True,
            model: str | None = None, notebook: str | None = None,
            on_text: Callable[[str], None] | None = None,
            on_tool: Callable[[str, dict[str, Any], ToolResult], None] | None = None,
            max_steps: int | None = None, approve: Approver | None = None) -> Answer:
        """Answer ``prompt``; with ``build`` the model builds and runs a workflow.

        ``approve`` replaces the toolbox's approver for this request only.
        """
        max_steps = max_steps or self.client.config.max_steps
        model = model or self.client.config.model
        self.chat.model = model
        system = None
        tools: list[dict[str, Any]] | None = None
        if use_skills:
            ctx = SkillContext.build(self.library, prompt, budget=self.client.config.context_tokens,
                                     notebook=notebook)
            system = ctx.text + (BUILD_NOTE if build else "")
            defs = self.toolbox.definitions()
            tools = defs if build else [t for t in defs if t["name"] in READ_ONLY]
        self.chat.add_user(prompt)
        usage = UsageLedger()
        calls: list[tuple[str, dict[str, Any], ToolResult]] = []
        texts: list[str] = []
        stop_reason, steps = "", 0
        before = set(self.toolbox.results)
        saved_approver = self.toolbox.approve
        if approve is not None:
            self.toolbox.approve = approve
        try:
            while True:
                if steps >= max_steps:
                    stop_reason = "step_limit"
                    texts.append(f"\n\n*(stopped: the step limit of {max_steps} model calls "
                                 "was reached before the model finished)*")
                    break
                steps += 1
                message = self.client.create(messages=self.chat.api_messages(), system=system,
                                             tools=tools, model=model, on_text=on_text)
                call_usage = self.client.last_usage
                if call_usage is not None:
                    usage.add(call_usage)
                self.chat.add_assistant(_blocks(message), call_usage)
                stop_reason = message.stop_reason or ""
                texts += [b.text for b in message.content if b.type == "text"]
                uses = [b for b in message.content if b.type == "tool_use"]
                if stop_reason != "tool_use" or not uses:
                    break
                results = []
                for use in uses:
                    args = use.input
                    result = (self.toolbox.call(use.name, args) if tools is not None and
                              any(t["name"] == use.name for t in tools)
                              else ToolResult(f"tool {use.name!r} is not available in this "
                                              "mode", True, "unavailable"))
                    calls.append((use.name, args, result))
                    self.chat.record_call(use.id, use.name, args, result)
                    if on_tool is not None:
                        on_tool(use.name, args, result)
                    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": use.id,
                                             "content": result.text()}
                    if result.is_error:
                        block["is_error"] = True
                    results.append(block)
                self.chat.add_user(results)
                self.chat.save()
        finally:
            self.toolbox.approve = saved_approver
            self.chat.save()
        ran = [w for w in self.toolbox.results if w not in before]
        wid = ran[-1] if ran else self.toolbox.current
        return Answer(
            text="\n\n".join(t for t in texts if t).strip(), steps=steps, stop_reason=stop_reason,
            usage=usage, tool_calls=calls,
            workflow=self.toolbox.workflows.get(wid) if wid else None,
            saved=self.toolbox.saved.get(wid) if wid else None,
            result=self.toolbox.results.get(wid) if wid in ran else None,
            chat_path=self.chat.path)
