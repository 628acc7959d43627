"""IPython magics: ``%%skill`` cells are the workflow; ``%skill`` and ``%workflow`` manage it.

Load with ``%load_ext llmos_jupyter``. One class, :class:`LlmosMagics`, holds every magic:

``%%skill NODE_ID [--uses SKILL_ID] [--in PORT=NODE.PORT ...] [--set PORT=VALUE ...]``
    A node as a cell (grammar in ``_notebook/cells.py``). Running the cell records the
    node and runs it, pulling its upstream nodes from the cache or running them when
    stale; its outputs are shown and bound to a variable named after the node
    (``vqe.eigenvalue``).
``%skill list [--category C] [--tag T] [--volume V]`` · ``%skill show ID`` ·
``%skill new ID [--force]`` · ``%skill save NODE_ID [--as SKILL_ID] [--force]`` ·
``%skill evolve [--min-runs N] [--dry-run]`` · ``%skill history ID`` · ``%skill reload``
    Browse the library, write a skeleton skill file to the user volume, save an inline
    skill cell as a skill file (each write is a commit in the user volume's git history),
    mine the traces into compound skills, list a skill's commits, re-read the volumes
    from disk (after editing a skill file or pulling a team volume).
``%workflow graph | run [NODE ...] [--all] [--downstream] [--no-trace] | export FILE |
import FILE | status``
    The skill cells as a workflow: an SVG of the DAG, run all / a node and what it needs
    ("run up to here") / a node and everything downstream, write ``*.workflow.json`` or
    ``.ipynb``, create skill cells from a workflow file, per-node status.

Every string from a skill (name, description, ports, body, outputs) is shown escaped or
sanitized, never as live HTML (``_notebook/display.py``), and everything the magics
print or display passes the one redaction step (:mod:`llmos_jupyter._redact`).

User mistakes (an unknown skill, a bad port, a type mismatch, a cycle, a bad option)
print one short message to stderr, never an internal traceback; a failing node prints
its error and the skill's own frames. ``%config LlmosMagics.raise_errors = True`` makes
them raise instead (the cell then fails, and "Run all" stops there).

Under the ipyflow kernel the magics also tell ipyflow what a skill cell reads (upstream
nodes' variables and the variables in parameter expressions) and what it defines (the
node's variable), so ordinary cells become dependencies and ``%flow mode reactive``
re-runs downstream skill cells. ipyflow is optional and only imported when it is
already loaded.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The module that *is* the IPython magics (a Magics subclass): loaded by %load_ext only.
from IPython.core.magic import (  # noqa: TID253
    Magics,
    line_cell_magic,
    line_magic,
    magics_class,
    no_var_expand,
)
from traitlets import Bool

from llmos_jupyter._engine.result import RunResult
from llmos_jupyter._exceptions import LlmosError, WorkflowError, WorkflowInvalid
from llmos_jupyter._notebook import display as views
from llmos_jupyter._notebook.cells import (
    INLINE_CATEGORY,
    RESERVED_SUBCOMMANDS,
    Assignment,
    SkillCell,
    parse_magic_line,
    parse_skill_cell,
    variable_name,
)
from llmos_jupyter._notebook.session import NotebookSession, notebook_name
from llmos_jupyter._redact import redact, strip_control
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._workbench import SKELETON, Workbench

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["AGENTS_SUBCOMMANDS", "RESERVED_SUBCOMMANDS", "SKELETON", "SKILL_SUBCOMMANDS",
           "WORKFLOW_SUBCOMMANDS", "LlmosMagics", "Subcommand", "load_ipython_extension"]

Handler = Callable[["LlmosMagics", argparse.Namespace, str], Any]


@dataclass(frozen=True)
class Subcommand:
    """One subcommand of a line magic: ``handler(magics, args, where)`` and the function
    that adds its arguments to its argparse parser."""

    name: str
    handler: Handler
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


SKILL_SUBCOMMANDS: dict[str, Subcommand] = {}
"""``%skill`` subcommands by name: the dispatch table. Its names are exactly
``_notebook.cells.RESERVED_SUBCOMMANDS`` (checked below), the one list the cell grammar
and the front-end use."""
WORKFLOW_SUBCOMMANDS: dict[str, Subcommand] = {}
"""``%workflow`` subcommands by name."""
AGENTS_SUBCOMMANDS: dict[str, Subcommand] = {}
"""``%agents`` subcommands by name (actor systems, see ``llmos_jupyter._actors``)."""


def _command(table: dict[str, Subcommand], name: str,
             arguments: Callable[[argparse.ArgumentParser], None] | None = None
             ) -> Callable[[Handler], Handler]:
    """Register the decorated method as ``name`` of ``table``."""
    if table is SKILL_SUBCOMMANDS and name not in RESERVED_SUBCOMMANDS:
        raise ValueError(f"%skill {name}: not in cells.RESERVED_SUBCOMMANDS; add it there")

    def register(fn: Handler) -> Handler:
        table[name] = Subcommand(name, fn, arguments)
        return fn

    return register


class MagicError(LlmosError):
    """A magic's user error, raised only with ``LlmosMagics.raise_errors``; IPython shows
    its one message instead of a traceback."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


class _ArgParser(argparse.ArgumentParser):
    """argparse that raises ``WorkflowError`` instead of exiting the kernel."""

    def error(self, message: str) -> Any:
        raise WorkflowError(f"{message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        raise WorkflowError((message or self.format_usage()).strip())


def _table_parser(magic: str, table: dict[str, Subcommand]) -> _ArgParser:
    """The argparse parser of ``%magic`` with one subparser per entry of ``table``."""
    p = _ArgParser(prog=f"%{magic}", add_help=False, allow_abbrev=False)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_ArgParser,
                           metavar="{" + ",".join(table) + "}")
    for name, cmd in table.items():
        sp = sub.add_parser(name, prog=f"%{magic} {name}", add_help=False, allow_abbrev=False)
        if cmd.arguments is not None:
            cmd.arguments(sp)
    return p


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--category")
    p.add_argument("--tag")
    p.add_argument("--volume")


def _skill_id_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("skill_id")


def _new_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("skill_id")
    p.add_argument("--force", action="store_true")


def _save_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("node_id")
    p.add_argument("--as", dest="as_id", metavar="SKILL_ID")
    p.add_argument("--category")
    p.add_argument("--force", action="store_true")


def _evolve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-runs", type=int, default=3)
    p.add_argument("--dry-run", action="store_true")


def _history_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("skill_id")
    p.add_argument("--volume", default="user", choices=("user", "team"))


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("nodes", nargs="*", metavar="NODE_ID")
    p.add_argument("--all", action="store_true")
    p.add_argument("--downstream", action="store_true")
    p.add_argument("--no-trace", action="store_true")
    p.add_argument("--isolate", choices=("untrusted", "all", "none"), default=None)
    p.add_argument("--executor", choices=("threads", "processes", "dask"), default="threads")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None)


def _agents_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="SYSTEM.toml")
    p.add_argument("--input", default=None, metavar="JSON",
                   help="the start message's payload (JSON; a plain string otherwise)")
    p.add_argument("--timeout", type=float, default=None, metavar="S")


def _agents_file_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="SYSTEM.toml")


def _file_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE.workflow.json|FILE.ipynb")


def _export_args(p: argparse.ArgumentParser) -> None:
    _file_args(p)
    p.add_argument("--force", action="store_true")


@magics_class
class LlmosMagics(Magics):
    """``%%skill``, ``%skill`` and ``%workflow`` (see the module docstring)."""

    raise_errors = Bool(False, config=True, help=(
        "Raise user errors (the cell fails, 'Run all' stops) instead of printing them "
        "to stderr."))
    trace = Bool(True, config=True, help="Write a trace notebook for every run.")
    # The InteractiveShell these magics are registered on (None in a bare instance).
    # IPython's Magics declares an untyped ``shell = None``, so mypy types it None (unless
    # it checks IPython's untyped defs: then the ignore is unused).
    shell: InteractiveShell | None  # type: ignore[assignment, unused-ignore]

    def __init__(self, shell: Any = None, *, library: SkillLibrary | None = None,
                 workbench: Workbench | None = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        if workbench is None and library is not None:
            workbench = Workbench.for_library(library)
        self._workbench = workbench

    # -- state ---------------------------------------------------------------------------
    @property
    def workbench(self) -> Workbench:
        """The kernel's service (:meth:`Workbench.current` unless a library or workbench
        was given): library, engine, cache, events, session, authoring. Looked up on each
        use, not pinned: after ``LLMOS_HOME`` changes the magics follow the new volumes."""
        return self._workbench if self._workbench is not None else Workbench.current()

    @property
    def library(self) -> SkillLibrary:
        """The library of this kernel (the workbench's)."""
        return self.workbench.library

    @property
    def _session(self) -> NotebookSession | None:
        """The session if a cell created it (``None`` before)."""
        wb = self.workbench
        return wb.session() if wb.has_session else None

    @property
    def session(self) -> NotebookSession:
        """The kernel's skill cells and results (the workbench's; created on first use).
        Nodes run in the kernel's main thread (output goes to the right cell, Ctrl-C works
        between nodes) on the workbench's cache and event bus."""
        name = notebook_name(self.shell.user_ns if self.shell is not None else {})
        return self.workbench.session(name)

    @property
    def _shell(self) -> InteractiveShell:
        """The shell, for what only makes sense inside a running cell."""
        if self.shell is None:
            raise RuntimeError("LlmosMagics is not registered on an IPython shell")
        return self.shell

    # -- errors --------------------------------------------------------------------------
    def _report(self, where: str, message: str) -> None:
        text = redact(f"{where}: {message}" if where else message)
        if self.raise_errors:
            raise MagicError(text)
        print(text, file=sys.stderr)

    def _display(self, obj: Any) -> None:
        from IPython.display import display

        display(obj)

    # -- %%skill / %skill ----------------------------------------------------------------
    @no_var_expand
    @line_cell_magic
    def skill(self, line: str, cell: str | None = None) -> Any:
        """``%%skill NODE_ID ...`` (a node as a cell) or
        ``%skill list|show|new|save|evolve|history|reload``."""
        if cell is None:
            return self._skill_line(line)
        return self._skill_cell(line, cell)

    def _skill_cell(self, line: str, body: str) -> Any:
        where = f"%%skill {line.split()[0]}" if line.split() else "%%skill"
        try:
            parsed = parse_magic_line(line, body)
            where = f"%%skill {parsed.node_id}"
            params = parsed.params(evaluate=lambda a: self._evaluate(parsed, a))
            shadowed = self.session.define(parsed, params)
            if shadowed is not None:
                print(f"{where}: note: the inline skill {shadowed.skill_id!r} overrides the "
                      f"{shadowed.volume or 'memory'} skill of that id in this kernel",
                      file=sys.stderr)
            result = self.session.run([parsed.node_id], trace=self.trace)
        except WorkflowInvalid as exc:
            return self._report(where, _problems(exc))
        except (LlmosError, ValueError) as exc:
            return self._report(where, _strip_where(str(exc), where))
        bound = self._bind(result, parsed.node_id)
        self._link_ipyflow(parsed, bound)
        node = result.nodes.get(parsed.node_id)
        if node is None:  # pragma: no cover - the engine always records the target
            return None
        self._report_failures(result, where, parsed.node_id)
        outputs = self._shell.user_ns.get(parsed.variable)
        if node.ok:
            for value in node.outputs.values():
                if views.is_scene(value):
                    self._show_scene(value)
        return outputs if isinstance(outputs, views.NodeOutputs) else None

    def _evaluate(self, parsed: SkillCell, a: Assignment) -> Any:
        try:
            code = compile(a.source, f"<%%skill {parsed.node_id}, line {a.line}>", "eval")
            return eval(code, self._shell.user_ns)
        except Exception as exc:  # noqa: BLE001 - the user's expression may raise anything
            raise WorkflowError(f"line {a.line}: {a.name} = {a.source}: "
                                f"{type(exc).__name__}: {exc}") from None

    def _bind(self, result: RunResult, target: str | None = None) -> dict[str, views.NodeOutputs]:
        """Bind nodes of the run to their variables (``vqe`` → outputs namespace): the
        target always, other nodes when they ran again (or failed) or are not bound yet;
        an upstream node served from the cache keeps the namespace it has."""
        bound = {}
        ns = self._shell.user_ns
        statuses = {n: r.status for n, r in result.nodes.items()}
        for node_id, r in result.nodes.items():
            name = variable_name(node_id)
            old = ns.get(name)
            if (node_id != target and target is not None and r.status == "cached"
                    and isinstance(old, views.NodeOutputs) and old._node_id == node_id
                    and old._result.ok):
                continue
            if old is not None and not isinstance(old, views.NodeOutputs):
                print(f"%%skill {node_id}: note: variable {name!r} ({type(old).__name__}) now "
                      "holds this node's outputs", file=sys.stderr)
            skill = self.library.get(r.skill_id) if r.skill_id in self.library else None
            upstream = [f"{n} {s}" for n, s in statuses.items() if n != node_id]
            note = ("upstream: " + ", ".join(upstream)) if upstream and node_id == target else ""
            ns[name] = bound[node_id] = views.NodeOutputs(node_id, r, skill, trace=result.trace,
                                                          note=note)
        return bound

    def _report_failures(self, result: RunResult, where: str, target: str | None = None) -> None:
        """A failed target: its error and the skill's frames. A skipped target: why, in one
        line. Without a target: every failed node."""
        failed = [(n, r) for n, r in result.nodes.items() if r.status == "failed"]
        if target is not None:
            r = result.nodes.get(target)
            if r is None or r.ok:
                return
            if r.status == "skipped":
                cause = next((f"; {n}: {fr.error}" for n, fr in failed), "")
                return self._report(where, f"node {target!r} skipped: {r.error}{cause}")
            failed = [(target, r)]
        for node_id, r in failed:
            text = f"node {node_id!r} failed: {r.error}"
            if r.traceback:
                text += "\n" + r.traceback.rstrip()
            self._report(where, text)

    def _show_scene(self, scene: Any) -> None:
        try:
            widget = views.threejs_widget(scene)
        except ImportError:
            return  # the static SVG in the outputs table stands in
        self._display(widget)

    def _skill_line(self, line: str) -> Any:
        first = line.split(None, 1)[0] if line.strip() else ""
        if first and first not in SKILL_SUBCOMMANDS and not first.startswith("-"):
            if "--uses" not in line.split():
                import difflib

                close = difflib.get_close_matches(first, SKILL_SUBCOMMANDS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                return self._report("%skill", f"unknown subcommand {first!r}{hint}: use "
                                    f"{', '.join(SKILL_SUBCOMMANDS)}, or the line form of a "
                                    "node, %skill NODE_ID --uses SKILL_ID [--in ...] [--set ...]")
            return self._skill_cell(line, "")  # the line form of a node without a body
        return self._dispatch("skill", SKILL_SUBCOMMANDS, line)

    @_command(SKILL_SUBCOMMANDS, 'list', _list_args)
    def _skill_list(self, args: argparse.Namespace, where: str) -> Any:
        skills = self.library.list(category=args.category, tag=args.tag, volume=args.volume)
        if not skills:
            cats = ", ".join(self.library.categories) or "none"
            return self._report(where, f"no skills match (categories: {cats})")
        filters = ", ".join(f"{k}={v}" for k, v in (("category", args.category),
                            ("tag", args.tag), ("volume", args.volume)) if v)
        title = f"{len(skills)} skills" + (f" ({filters})" if filters else "")
        return views.SkillTable(skills, title)

    @_command(SKILL_SUBCOMMANDS, 'show', _skill_id_arg)
    def _skill_show(self, args: argparse.Namespace, where: str) -> Any:
        skill = self.library.get(args.skill_id)  # SkillNotFound with suggestions
        text = None
        if skill.path is not None:
            try:
                text = Path(skill.path).read_text(encoding="utf-8")
            except OSError:
                text = None
        elif skill.volume == INLINE_CATEGORY:
            for state in self.session.cells.values():
                if state.cell.inline and state.cell.skill.skill_id == skill.skill_id:
                    text = state.cell.skill_markdown
        return views.SkillView(skill, text)

    @_command(SKILL_SUBCOMMANDS, 'new', _new_args)
    def _skill_new(self, args: argparse.Namespace, where: str) -> Any:
        path, text = self.workbench.new_skill(args.skill_id, force=args.force)
        sid = args.skill_id
        node = variable_name(sid)
        cell = f"%%skill {node}\n{text.rstrip()}"
        self._shell.set_next_input(cell, replace=False)
        print(f"wrote {path}\nThe new cell below holds the skill: edit it and run it (the cell "
              f"defines and runs node {node!r}), then `%skill save {node} --force` writes it back. "
              f"Use it anywhere with `%%skill NODE --uses {sid}`.")
        return None

    @_command(SKILL_SUBCOMMANDS, 'save', _save_args)
    def _skill_save(self, args: argparse.Namespace, where: str) -> Any:
        state = self.session.cells.get(args.node_id)
        if state is None:
            known = ", ".join(self.session.cells) or "none yet"
            return self._report(where, f"no skill cell defines node {args.node_id!r} in this "
                                f"kernel (nodes: {known}); run its %%skill cell first")
        if not state.cell.inline:
            return self._report(where, f"node {args.node_id!r} uses the library skill "
                                f"{state.cell.uses!r}; only a cell that defines its own skill "
                                "can be saved")
        sid = args.as_id or state.cell.skill.skill_id
        path = self.workbench.save_skill(state.cell.skill, markdown=state.cell.markdown,
                                         as_id=args.as_id, category=args.category,
                                         force=args.force, source=f"%skill save {args.node_id}")
        print(f"saved skill {sid!r} to {path}\nReuse it with: %%skill NODE_ID --uses {sid}")
        return None

    @_command(SKILL_SUBCOMMANDS, 'evolve', _evolve_args)
    def _skill_evolve(self, args: argparse.Namespace, where: str) -> Any:
        from llmos_jupyter._evolution.evolve import evolve

        if args.min_runs < 1:
            return self._report(where, f"--min-runs must be >= 1, got {args.min_runs}")
        report = evolve(min_runs=args.min_runs, dry_run=args.dry_run, library=self.library)
        print(strip_control(redact(report.explain())))
        return None

    @_command(SKILL_SUBCOMMANDS, 'history', _history_args)
    def _skill_history(self, args: argparse.Namespace, where: str) -> Any:
        revs = self.workbench.skill_history(args.skill_id, args.volume)
        vol = self.workbench.volume(args.volume)
        if not revs:
            known = "" if args.skill_id in self.library else (
                " (and no such skill in the library)")
            return self._report(where, f"no history of {args.skill_id!r} in the {vol.name} "
                                f"volume{known}")
        print(f"{len(revs)} commit{'s' if len(revs) != 1 else ''} of {args.skill_id!r} in the "
              f"{vol.name} volume ({vol.root}):")
        for r in revs:  # commit messages of a shared volume are other people's text
            print(f"  {strip_control(redact(str(r)))}")
        print(f"Restore one with: llmos volume restore {args.skill_id} --rev REV")
        return None

    @_command(SKILL_SUBCOMMANDS, 'reload')
    def _skill_reload(self, args: argparse.Namespace, where: str) -> Any:
        """Re-read the library's volumes (what did not change is kept)."""
        report = self.workbench.reload()
        print(redact(str(report)))
        for err in report.errors:
            print(redact(f"  skipped: {err}"), file=sys.stderr)
        return None

    # -- %workflow -----------------------------------------------------------------------
    @no_var_expand
    @line_magic
    def workflow(self, line: str) -> Any:
        """``%workflow graph|run|export|import|status`` (see the module docstring)."""
        return self._dispatch("workflow", WORKFLOW_SUBCOMMANDS, line)

    # -- %agents -------------------------------------------------------------------------
    @no_var_expand
    @line_magic
    def agents(self, line: str) -> Any:
        """``%agents run SYSTEM.toml [--input JSON] [--timeout S]`` runs an actor system;
        ``%agents stop`` stops the systems this kernel runs in the background;
        ``%agents check SYSTEM.toml`` lists a file's problems.

        In a Jupyter kernel whose cells run on an asyncio loop (ipykernel 7) ``run`` shows
        the live :class:`~llmos_jupyter._widget.agents.AgentsView` (the actors grouped by
        scope, their status and counters, the message log, a Stop button) and starts the
        system as a task on that loop: the cell returns at once with an
        :class:`~llmos_jupyter._widget.agents.AgentsRun` handle (``await handle`` or, once
        done, ``handle.result()`` give the ``RunOutcome``), and the kernel keeps handling
        widget messages (an approval widget's click) while the actors run.

        Elsewhere it blocks and returns the ``RunOutcome``: plain IPython and scripts (no
        running loop; a kernel without anywidget runs the system in a helper thread), and
        JupyterLab's Pyodide kernel, where the run goes on the browser's event loop while
        the magic waits through JSPI (``pyodide.ffi.run_sync``; the view follows the run
        there too); a browser without JSPI gets a message saying to ``await
        arun_file(...)`` in the cell instead."""
        return self._dispatch("agents", AGENTS_SUBCOMMANDS, line)

    @property
    def _agent_runs(self) -> list[Any]:
        """The systems started in the background by ``%agents run`` and still running."""
        runs = self.__dict__.get("_llmos_agent_runs")
        if runs is None:
            runs = self.__dict__["_llmos_agent_runs"] = []
        return runs

    def _agents_view(self, path: str) -> Any:
        """The live view of the system at ``path``, or None where none can be shown (no
        kernel, no anywidget, front end not built)."""
        try:  # both need anywidget (JupyterLite's Pyodide may lack it)
            from llmos_jupyter._widget.agents import AgentsView, FrontEndMissing
            from llmos_jupyter._widget.approval import in_kernel
        except ImportError:
            return None
        if not in_kernel():
            return None
        try:
            return AgentsView.from_file(path)
        except FrontEndMissing:
            return None

    @_command(AGENTS_SUBCOMMANDS, 'run', _agents_run_args)
    def _agents_run(self, args: argparse.Namespace, where: str) -> Any:
        import asyncio
        import json

        from llmos_jupyter._actors import in_pyodide, run_file
        from llmos_jupyter._actors.config import check_system

        payload: Any = args.input
        if payload is not None:
            try:
                payload = json.loads(payload)
            except ValueError:
                pass  # a plain string
        kwargs: dict[str, Any] = {"timeout_s": args.timeout} if args.timeout else {}
        # A key typed with `%llm key` lives only in the %llm magics' client (no env var or
        # file holds it): LLM actors then use that client (its transport: fetch in Pyodide).
        manager = getattr(self.shell, "magics_manager", None)
        llm = manager.registry.get("LlmMagics") if manager is not None else None
        if llm is not None and getattr(llm, "_key", None):
            kwargs["llm_client"] = llm.client
        if not Path(args.file).is_file():
            raise FileNotFoundError(f"no system file {args.file}")
        # The file's errors now, in this cell, before anything is shown or started.
        from llmos_jupyter._actors.run import SystemInvalid

        _, problems = check_system(args.file)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise SystemInvalid(args.file, errors)
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        view = self._agents_view(args.file)
        if view is not None:
            self._display(view)
        if view is not None and loop is not None and not in_pyodide():
            from llmos_jupyter._widget.agents import start_run

            def finished(handle: Any) -> None:
                if handle in self._agent_runs:
                    self._agent_runs.remove(handle)
                if handle.outcome is not None:
                    self._print_outcome(handle.outcome)
                elif not handle.task.cancelled() and handle.task.exception() is not None:
                    exc = handle.task.exception()
                    print(redact(f"{where}: {type(exc).__name__}: {exc}"), file=sys.stderr)

            handle = start_run(args.file, payload, view=view, on_done=finished, loop=loop,
                               **kwargs)
            self._agent_runs.append(handle)
            return handle
        if view is not None:
            from llmos_jupyter._widget.agents import run_followed

            outcome = run_followed(args.file, payload, view=view, **kwargs)
        else:
            outcome = run_file(args.file, payload, **kwargs)
        self._print_outcome(outcome)
        return outcome

    @staticmethod
    def _print_outcome(outcome: Any) -> None:
        print(redact(f"{outcome.name}: {outcome.status}"
                     + (f" — {outcome.error.splitlines()[0]}" if outcome.error else "")
                     + (f"; trace {outcome.trace}" if outcome.trace else "")))

    @_command(AGENTS_SUBCOMMANDS, 'stop')
    def _agents_stop(self, args: argparse.Namespace, where: str) -> Any:
        runs = [r for r in self._agent_runs if not r.done()]
        if not runs:
            print("no actor system is running in the background")
            return None
        for r in runs:
            r.stop()
            print(redact(f"stopping {r.name}"))
        return None

    @_command(AGENTS_SUBCOMMANDS, 'check', _agents_file_args)
    def _agents_check(self, args: argparse.Namespace, where: str) -> Any:
        from llmos_jupyter._actors.config import check_system

        _, problems = check_system(args.file)
        for p in problems:
            print(redact(f"  {p.severity}: {p.where}: {p.message}"), file=sys.stderr)
        errors = sum(p.severity == "error" for p in problems)
        print(f"{args.file}: {'ok' if not errors else f'{errors} error(s)'}"
              + (f", {len(problems) - errors} warning(s)" if len(problems) > errors else ""))
        return None

    def _dispatch(self, magic: str, table: dict[str, Subcommand], line: str) -> Any:
        """Parse a line magic's subcommand and call its handler from ``table``; user
        mistakes become one short message (see :meth:`_report`)."""
        try:
            args = _table_parser(magic, table).parse_args(shlex.split(line))
        except (WorkflowError, ValueError) as exc:
            return self._report(f"%{magic}", str(exc))
        where = f"%{magic} {args.command}"
        try:
            return table[args.command].handler(self, args, where)
        except WorkflowInvalid as exc:
            return self._report(where, _problems(exc))
        except (LlmosError, ValueError, OSError) as exc:
            return self._report(where, str(exc))

    def _statuses(self) -> dict[str, str]:
        return {n: self.session.status(n) for n in self.session.cells}

    @_command(WORKFLOW_SUBCOMMANDS, 'graph')
    def _workflow_graph(self, args: argparse.Namespace, where: str) -> Any:
        wf = self.session.workflow()
        self._display(views.GraphView(wf, self._statuses()))
        return wf

    @_command(WORKFLOW_SUBCOMMANDS, 'run', _run_args)
    def _workflow_run(self, args: argparse.Namespace, where: str) -> Any:
        if args.all and args.nodes:
            return self._report(where, "give NODE_IDs or --all, not both")
        if args.downstream and not args.nodes:
            return self._report(where, "--downstream needs a NODE_ID (run that node and "
                                "everything after it)")
        if not self.session.cells:
            return self._report(where, "no skill cells have run in this kernel yet")
        targets = None if (args.all or not args.nodes) else args.nodes
        result = self.session.run(targets, downstream=args.downstream,
                                  trace=self.trace and not args.no_trace, isolate=args.isolate,
                                  executor=args.executor, scheduler=args.scheduler)
        self._bind(result)
        self._report_failures(result, where)
        rows = [r for r in self.session.rows() if r["node"] in result.nodes]
        return views.RunView(rows, f"run {result.run_id}: {result.status}, "
                             f"{len(result.ran)} ran, {len(result.cached)} cached, "
                             f"{result.duration_ms:.0f} ms", result.trace)

    @_command(WORKFLOW_SUBCOMMANDS, 'status')
    def _workflow_status(self, args: argparse.Namespace, where: str) -> Any:
        if not self.session.cells:
            print("no skill cells have run in this kernel yet")
            return None
        wf_id = self.session.workflow_id
        return views.RunView(self.session.rows(), f"workflow {wf_id!r}: "
                             f"{len(self.session.cells)} nodes", self.session.last_trace)

    @_command(WORKFLOW_SUBCOMMANDS, 'export', _export_args)
    def _workflow_export(self, args: argparse.Namespace, where: str) -> Any:
        import nbformat

        from llmos_jupyter._notebook.mapping import notebook_from_workflow

        if not self.session.cells:
            return self._report(where, "no skill cells have run in this kernel yet")
        path = Path(args.file).expanduser()
        if path.exists() and not args.force:
            return self._report(where, f"{path} already exists (add --force to overwrite it)")
        wf = self.session.workflow()
        text = (nbformat.writes(notebook_from_workflow(wf)) if path.suffix == ".ipynb"
                else wf.to_json())
        self.workbench.save_workflow(wf, path, text=text,
                                     message=f"Export workflow {wf.id} to {path.name}")
        print(f"exported {len(wf.nodes)} nodes and {len(wf.edges)} edges to {path}")
        return None

    @_command(WORKFLOW_SUBCOMMANDS, 'import', _file_args)
    def _workflow_import(self, args: argparse.Namespace, where: str) -> Any:
        from llmos_jupyter._notebook.mapping import notebook_from_workflow, skill_cells
        from llmos_jupyter._workflow.model import Workflow

        wf = Workflow.load(Path(args.file).expanduser())
        nb = notebook_from_workflow(wf)
        cells = []
        for _, cell in skill_cells(nb):
            parsed = parse_skill_cell(cell.source)
            self.session.define(parsed, parsed.params(), cell.metadata.get("llmos"))
            cells.append({"source": cell.source, "metadata": dict(cell.metadata)})
        title = (f"Workflow {wf.id!r}: {len(cells)} skill cells (defined in this kernel; "
                 "run them with %workflow run, or paste each block into its own cell)")
        return views.CellsView(cells, title)

    # -- ipyflow -------------------------------------------------------------------------
    def _link_ipyflow(self, parsed: SkillCell, bound: dict[str, views.NodeOutputs]) -> None:
        """Under the ipyflow kernel, record the cell's reads and writes (a no-op otherwise)."""
        if "ipyflow" not in sys.modules:
            return
        try:
            from llmos_jupyter._notebook import flow

            flow.link_cell(parsed.reads(), {variable_name(n): v for n, v in bound.items()},
                           defines=parsed.variable)
        except Exception:  # ipyflow internals moved: lose reactivity, never the result
            import logging

            logging.getLogger(__name__).debug("ipyflow linking failed", exc_info=True)


def _problems(exc: WorkflowInvalid) -> str:
    lines = []
    for p in exc.problems:
        text = str(p)
        if p.code == "missing-node":
            text += " (run the %%skill cell that defines it first)"
        lines.append(text)
    if len(lines) == 1:
        return lines[0]
    return f"{len(lines)} problems:\n" + "\n".join(f"  - {t}" for t in lines)


def _strip_where(message: str, where: str) -> str:
    """Drop a repeated ``%%skill NODE:`` (or ``%%skill:``) prefix from a cell error."""
    for prefix in (where + ": ", "%%skill: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


if tuple(SKILL_SUBCOMMANDS) != RESERVED_SUBCOMMANDS:  # pragma: no cover - a developer's slip
    raise ImportError(f"%skill dispatch table {tuple(SKILL_SUBCOMMANDS)} differs from "
                      f"cells.RESERVED_SUBCOMMANDS {RESERVED_SUBCOMMANDS}")


def load_ipython_extension(ipython: Any) -> None:
    """Register :class:`LlmosMagics` (``%load_ext llmos_jupyter``); once per shell: the
    llmos kernel loads them at start, and a notebook's own ``%load_ext`` then keeps them
    (silently, with their session and configuration)."""
    registry = getattr(getattr(ipython, "magics_manager", None), "registry", {})
    existing = registry.get("LlmosMagics")
    # Kept only when it serves the kernel's workbench (not one made for another library,
    # nor one of volumes LLMOS_HOME no longer points at).
    keep = isinstance(existing, LlmosMagics) and existing._workbench in (
        None, Workbench.current())
    if not keep:
        magics = LlmosMagics(ipython)
        ipython.register_magics(magics)
        if magics not in getattr(ipython, "configurables", []):
            ipython.configurables.append(magics)
    # Skill-cell completion in any IPython kernel (the llmos kernel answers it itself).
    from llmos_jupyter._kernel.startup import register_completion

    try:
        register_completion(ipython)
    except AttributeError:  # a shell without IPython's Completer (a test double)
        pass


__all__ += ["MagicError"]
