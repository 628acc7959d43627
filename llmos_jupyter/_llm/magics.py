"""``%%llm`` and ``%llm``: chat with Claude about the skills, or have it build a workflow.

Registered by :func:`register` (``%load_ext llmos_jupyter`` calls it when the ``llm``
extra is installed)::

    %%llm [--model M] [--no-skills] [--build] [--context] [--new] [--yes]
    compute the H2 ground state energy and plot the convergence

The answer streams into the cell and ends as Markdown. ``--build`` gives the model every
workflow tool: it creates, validates and runs a workflow; the cell then shows the
``%%skill`` cells of that workflow (also defined in this kernel when the skill magics are
loaded, so ``%workflow run`` re-runs it), the saved ``*.workflow.json`` and any image
outputs. ``--no-skills`` sends neither the skill summary nor tools. ``--context`` adds
this notebook's skill graph and the last outputs to the prompt. ``--new`` starts a new
chat. Turns of one kernel are one chat, saved as a notebook in ``<user volume>/chats``.

A tool call that writes files, commits or runs untrusted code (``run_workflow``) asks
first: the cell shows what the call would do and reads ``y``/``n`` from the front-end's
input box; ``--yes`` approves every such call of that cell. A denied call does nothing and
the model is told so. A front-end that cannot ask (no stdin) denies, and says to use
``--yes``. The answer is shown as sanitized HTML, never as live markup.

``%llm models`` (the models the key can use, with prices) · ``%llm usage`` (tokens and
estimated cost of this chat and this kernel) · ``%llm history [N]`` (this chat's turns and
the saved chats) · ``%llm resume [CHAT_ID]`` (continue a saved chat, default the latest) ·
``%llm key`` (type a key with getpass; kept only in this kernel's memory — in JupyterLite,
only in the browser tab; a front-end without input support gets the other ways to set it).

Errors (no key, bad key, refused request, API unavailable, circuit open, browser blocked)
print one redacted line to stderr; ``%config LlmMagics.raise_errors = True`` raises.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from typing import Any

# The one module of %%llm that needs IPython (a Magics subclass); imported by %load_ext only.
from IPython.core.magic import (  # noqa: TID253
    Magics,
    cell_magic,
    line_magic,
    magics_class,
    no_var_expand,
)
from traitlets import Bool

from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._redact import redact

__all__ = ["LlmMagics", "register"]


class LlmMagicError(LlmosError):
    """A ``%%llm`` error raised with ``raise_errors``; shown without a traceback."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise LlmosError(f"{message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        raise LlmosError((message or self.format_usage()).strip())


def _cell_parser() -> _Parser:
    p = _Parser(prog="%%llm", add_help=False, allow_abbrev=False)
    p.add_argument("--model")
    p.add_argument("--no-skills", action="store_true")
    p.add_argument("--build", action="store_true")
    p.add_argument("--context", action="store_true")
    p.add_argument("--new", action="store_true")
    p.add_argument("--yes", action="store_true",
                   help="approve every tool call that writes, commits or runs untrusted code")
    return p


def _line_parser() -> _Parser:
    p = _Parser(prog="%llm", add_help=False, allow_abbrev=False)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser,
                           metavar="{models,usage,history,resume,key}")
    sub.add_parser("models", add_help=False)
    sub.add_parser("usage", add_help=False)
    h = sub.add_parser("history", add_help=False)
    h.add_argument("n", nargs="?", type=int, default=10)
    r = sub.add_parser("resume", add_help=False)
    r.add_argument("chat_id", nargs="?")
    sub.add_parser("key", add_help=False)
    return p


@magics_class
class LlmMagics(Magics):
    """``%%llm`` and ``%llm`` (see the module docstring)."""

    raise_errors = Bool(False, config=True, help="Raise errors instead of printing them.")

    def __init__(self, shell: Any = None, *, library: Any = None, client: Any = None,
                 workbench: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._library = library
        self._workbench = workbench
        self._client = client
        self._key: str | None = None
        self._agent: Any = None

    # -- state ---------------------------------------------------------------------------
    @property
    def workbench(self) -> Any:
        """The kernel's :class:`~llmos_jupyter._workbench.Workbench` (the skill magics'
        when they are loaded): the tools run on its engine and cache, and a built workflow
        becomes cells of its notebook session."""
        if self._workbench is None:
            from llmos_jupyter._workbench import Workbench

            skills = self._skill_magics()
            if self._library is not None:
                self._workbench = Workbench.for_library(self._library)
            elif skills is not None:
                self._workbench = skills.workbench
            else:
                self._workbench = Workbench.current()
        return self._workbench

    @property
    def library(self) -> Any:
        return self._library if self._library is not None else self.workbench.library

    @property
    def client(self) -> Any:
        if self._client is None:
            from llmos_jupyter._llm.client import LlmClient
            from llmos_jupyter._llm.config import load_config
            from llmos_jupyter._llm.fetch_transport import browser_http_client, in_browser

            config = load_config(api_key=self._key)
            self._client = LlmClient(config, http_client=browser_http_client()
                                     if in_browser() else None)
        return self._client

    @property
    def agent(self) -> Any:
        if self._agent is None:
            from llmos_jupyter._llm.agent import Agent

            self._agent = Agent(self.client, self.library, workbench=self.workbench)
        return self._agent

    def _skill_magics(self) -> Any:
        if self.shell is None:
            return None
        return self.shell.magics_manager.registry.get("LlmosMagics")

    def _report(self, message: str) -> None:
        text = redact(message)
        if self.raise_errors:
            raise LlmMagicError(text)
        print(text, file=sys.stderr)

    # -- %%llm ---------------------------------------------------------------------------
    @no_var_expand
    @cell_magic
    def llm(self, line: str, cell: str) -> Any:
        """``%%llm [--model M] [--no-skills] [--build] [--context] [--new] [--yes]`` + the
        request."""
        try:
            args = _cell_parser().parse_args(shlex.split(line))
            prompt = cell.strip()
            if not prompt:
                raise LlmosError("%%llm: write the request in the cell body")
            if args.new and self._agent is not None:
                from llmos_jupyter._llm.chat import Chat

                self.agent.chat = Chat(model=self.client.config.model)
            return self._ask(prompt, args)
        except LlmosError as exc:
            return self._report(f"%%llm: {exc}" if not str(exc).startswith("%%llm") else str(exc))

    def _approve(self, request: Any) -> bool:
        """Ask the user through the front-end's input box; no input support denies."""
        from IPython.core.error import StdinNotImplementedError

        print(redact(request.describe()))
        try:
            reply = input("Allow this call? [y/N] ")
        except (StdinNotImplementedError, EOFError, OSError):
            print("%%llm: this front-end cannot ask for approval, so the call was denied; "
                  "run the cell with %%llm --yes to allow such calls", file=sys.stderr)
            return False
        allowed = reply.strip().lower() in ("y", "yes")
        print("approved" if allowed else "denied")
        return allowed

    def _ask(self, prompt: str, args: argparse.Namespace) -> Any:
        from IPython.display import display

        from llmos_jupyter._llm.tools import approve_all
        from llmos_jupyter._notebook.display import MarkdownText as Markdown

        _ = self.client.sdk  # builds the client: no key, no SDK fail before a display shows
        handle = display(Markdown("*…*"), display_id=True)
        shown_text, shown_at = "", 0.0

        def on_text(delta: str) -> None:
            nonlocal shown_text, shown_at
            shown_text += delta
            now = time.monotonic()
            if handle is not None and now - shown_at > 0.1:
                shown_at = now
                handle.update(Markdown(shown_text))

        def on_tool(name: str, arguments: dict[str, Any], result: Any) -> None:
            mark = "✗" if result.is_error else "✓"
            note = f" ({result.approval})" if getattr(result, "approval", None) else ""
            nonlocal shown_text
            shown_text += f"\n\n`{mark} {name}{note}`\n\n"

        answer = self.agent.ask(prompt, build=args.build, use_skills=not args.no_skills,
                                model=args.model, notebook=self._notebook_context()
                                if args.context else None, on_text=on_text, on_tool=on_tool,
                                approve=approve_all if args.yes else self._approve)
        footer = (f"\n\n---\n*{answer.usage.summary()} · {answer.steps} step(s) · chat "
                  f"`{answer.chat_path.name if answer.chat_path else '-'}`*")
        if handle is not None:
            handle.update(Markdown(redact(answer.text + footer)))
        if args.build:
            self._show_build(answer)
        return None

    def _show_build(self, answer: Any) -> None:
        from IPython.core.display import Image  # where it is defined (mypy: no implicit re-export)
        from IPython.display import display

        from llmos_jupyter._notebook import display as views
        from llmos_jupyter._notebook.cells import parse_skill_cell
        from llmos_jupyter._notebook.mapping import notebook_from_workflow, skill_cells
        from llmos_jupyter._skills.ports import is_png, png_bytes

        wf = answer.workflow
        if wf is None:
            print("%%llm --build: the model did not create a workflow", file=sys.stderr)
            return
        nb = notebook_from_workflow(wf)
        # The cells join the kernel's notebook session (so %workflow run re-runs them) when
        # the skill magics are loaded.
        skills = self._skill_magics()
        session = skills.session if skills is not None else None  # the workbench's session
        cells = []
        for _, cell in skill_cells(nb):
            if session is not None:
                parsed = parse_skill_cell(cell.source)
                session.define(parsed, parsed.params(), cell.metadata.get("llmos"))
            cells.append({"source": cell.source, "metadata": dict(cell.metadata)})
        where = f"saved to {answer.saved}" if answer.saved else "not saved (it did not run)"
        display(views.CellsView(cells, f"Workflow {wf.id!r}: {len(cells)} skill cells, {where}"))
        if answer.result is not None:
            for r in answer.result.nodes.values():
                for value in r.outputs.values():
                    if is_png(value):
                        display(Image(data=png_bytes(value)))

    def _notebook_context(self) -> str | None:
        parts = []
        if self.workbench.has_session:
            wf = self.workbench.session().workflow()
            parts.append("Skill graph: " + ", ".join(f"{n.id} ({n.skill})" for n in wf.nodes))
            parts += [f"{e.source}.{e.source_handle} -> {e.target}.{e.target_handle}"
                      for e in wf.edges]
        out: dict[Any, Any] = ((self.shell.user_ns.get("Out") or {}) if self.shell is not None
                               else {})
        for k in sorted(out)[-5:]:
            parts.append(f"Out[{k}]: {repr(out[k])[:300]}")
        return redact("\n".join(parts)) if parts else None

    # -- %llm ----------------------------------------------------------------------------
    @no_var_expand
    @line_magic("llm")  # type: ignore[arg-type, unused-ignore]  # IPython 9 types it Never
    def llm_line(self, line: str) -> Any:
        """``%llm models|usage|history [N]|resume [ID]|key``."""
        try:
            args = _line_parser().parse_args(shlex.split(line))
            return getattr(self, f"_cmd_{args.command}")(args)
        except LlmosError as exc:
            return self._report(f"%llm: {exc}")

    def _cmd_models(self, args: argparse.Namespace) -> None:
        from llmos_jupyter._llm.pricing import PRICES, PRICES_AS_OF

        try:
            ids = self.client.models()
            source = "available to this key"
        except LlmosError as exc:
            print(f"(cannot list the API's models: {exc}; showing the price table)",
                  file=sys.stderr)
            ids, source = list(PRICES), "in the price table"
        print(f"Models {source} (USD per million tokens in/out, as of {PRICES_AS_OF}); "
              f"current: {self.client.config.model}")
        for mid in ids:
            p = PRICES.get(mid)
            price = f"${p[0]:g} / ${p[1]:g}" if p else "price unknown"
            print(f"  {mid:28} {price}")

    def _cmd_usage(self, args: argparse.Namespace) -> None:
        if self._agent is not None:
            print(f"this chat:   {self.agent.chat.ledger.summary()}")
        print(f"this kernel: {self.client.ledger.summary()}"
              if self._client is not None else "this kernel: no calls yet")

    def _cmd_history(self, args: argparse.Namespace) -> None:
        from llmos_jupyter._llm.chat import list_chats

        if self._agent is not None:
            for m in self.agent.chat.messages[-args.n * 2:]:
                content = m["content"]
                blocks = [content] if isinstance(content, str) else [
                    b.get("text") or f"[{b.get('type')} {b.get('name', '')}]".strip()
                    for b in content]
                print(f"{m['role']:>9}: " + redact(" ".join(blocks))[:200].replace("\n", " "))
        chats = list_chats()
        print(f"{len(chats)} saved chat(s)" + (":" if chats else ""))
        for p in chats[-args.n:]:
            print(f"  {p.stem}  {p}")

    def _cmd_resume(self, args: argparse.Namespace) -> None:
        from llmos_jupyter._llm.chat import Chat, chats_dir, list_chats

        chats = list_chats()
        if not chats:
            raise LlmosError(f"no saved chats in {chats_dir()}")
        path = chats_dir() / f"{args.chat_id}.ipynb" if args.chat_id else chats[-1]
        if not path.exists():
            raise LlmosError(f"no chat {args.chat_id!r}; chats: "
                             + ", ".join(p.stem for p in chats[-5:]))
        self.agent.chat = Chat.load(path)
        print(f"resumed chat {self.agent.chat.chat_id} ({len(self.agent.chat.messages)} messages)")

    def _cmd_key(self, args: argparse.Namespace) -> None:
        import getpass

        from IPython.core.error import StdinNotImplementedError

        from llmos_jupyter._llm.config import config_path
        from llmos_jupyter._redact import register_secret

        try:
            key = getpass.getpass("Anthropic API key (kept in this kernel's memory only): ")
        except (StdinNotImplementedError, EOFError):
            raise LlmosError(
                "this front-end cannot read input, so the key cannot be typed here. Set it "
                "another way: export ANTHROPIC_API_KEY=sk-ant-… in the environment that "
                "starts Jupyter (then restart the kernel), or put api_key = \"sk-ant-…\" "
                f"under [llm] in {config_path()}") from None
        key = key.strip()
        if not key:
            raise LlmosError("no key entered")
        register_secret(key)
        self._key = key
        self._client = None
        self._agent = None
        print("key set for this kernel (not saved anywhere)")


def register(ipython: Any) -> LlmMagics:
    """Register :class:`LlmMagics` on ``ipython`` (called by ``load_ipython_extension``);
    a shell that has them keeps them (and their chat)."""
    from llmos_jupyter._workbench import Workbench

    existing = getattr(getattr(ipython, "magics_manager", None), "registry", {}).get("LlmMagics")
    if (isinstance(existing, LlmMagics) and existing._library is None
            and existing._workbench in (None, Workbench.current())):
        return existing
    magics = LlmMagics(ipython)
    ipython.register_magics(magics)
    if magics not in getattr(ipython, "configurables", []):
        ipython.configurables.append(magics)
    return magics
