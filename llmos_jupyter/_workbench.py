"""One service per kernel: the library, one engine, one cache, one event bus, the volumes.

Every surface of a kernel (the ``%%skill`` magics, canvases, the ``%%llm`` tools, the
notebook session, JupyterLab's kernel requests, the llmos kernel's completion) and the
plain CLI process ask :meth:`Workbench.current` for their skills and their runs instead of
building their own, so

* a ``%%skill`` run's events reach every :class:`~llmos_jupyter.Canvas` open on that
  workflow in the same kernel (one event bus; :meth:`Workbench.workflow_of` tells a
  subscriber which workflow a run belongs to);
* a workflow the model builds with the ``%%llm`` tools reuses what ``%%skill`` cells
  computed (one cache: the key is the skill's code hash and inputs, not the node id);
* skill authoring (``%skill new``/``save``/``reload``, the git commit in the user volume)
  is one set of methods the magics, the LLM tools and the CLI call.

The engine *is* :func:`llmos_jupyter._api.default_engine` of the library, so
:func:`llmos_jupyter.run` in a cell shares it too. Runs that must happen in the caller's
thread (a ``%%skill`` cell: its output belongs to that cell and Ctrl-C stops it between
nodes) or on another executor (``%workflow run --executor dask``) use an engine *view*
from :meth:`Workbench.engine_for`: an :class:`Engine` configured differently that shares
the library, the cache and the event bus (the engine has no per-run ``max_workers``).

Example::

    wb = Workbench.current()
    wb.run(Workflow.load("h2.workflow.json"))          # events on wb.events
    wb.new_skill("fit-curve")                          # writes + commits + reloads
"""

from __future__ import annotations

import dataclasses
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from llmos_jupyter._engine.engine import Engine, RunHandle
from llmos_jupyter._engine.result import RunResult
from llmos_jupyter._exceptions import LlmosError, SkillNotFound
from llmos_jupyter._ids import ID_KINDS
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._workflow.model import Workflow

if TYPE_CHECKING:  # pragma: no cover
    from llmos_jupyter._notebook.session import NotebookSession

__all__ = ["SKELETON", "AuthoringError", "ReloadReport", "Workbench"]

_SKILL_ID = ID_KINDS["skill"][0]  # the one id grammar (llmos_jupyter/_ids.py)
_RUNS_KEPT = 1024  # run id → workflow id entries remembered (a kernel's recent runs)

SKELETON = '''---
skill_id: {skill_id}
name: {name}
description: TODO one or two sentences - what it computes and when to use it.
category: general
version: "0.1.0"
runtime: python
requires: []
inputs:
  - name: x
    type: number
    default: 1.0
    description: TODO the input, with its unit.
outputs:
  - name: y
    type: number
    description: TODO the output, with its unit.
---

# {name}

TODO: what the skill computes, the method, and its source (paper, textbook, docs).

```python
def execute(inputs):
    x = inputs["x"]
    if x < 0:
        raise ValueError(f"x must be >= 0, got {{x}}")
    return {{"y": 2 * x}}
```
'''
"""The skill file ``%skill new ID`` writes (a valid, runnable skill to edit)."""


class AuthoringError(LlmosError, ValueError):
    """A skill cannot be written: an invalid id, a file that exists without ``force``,
    an inline cell that is not a skill. The message says what to do instead."""


@dataclasses.dataclass(frozen=True)
class ReloadReport:
    """What :meth:`Workbench.reload` changed: skill ids ``added``/``removed`` (sorted),
    the number of skills now, and the files skipped as broken (their messages)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    count: int
    errors: tuple[str, ...]

    def __str__(self) -> str:
        text = f"reloaded {self.count} skills"
        if self.added:
            text += f"; new: {', '.join(self.added)}"
        if self.removed:
            text += f"; gone: {', '.join(self.removed)}"
        return text


class Workbench:
    """The per-kernel service behind every surface (see the module docstring).

    Args:
        library: the skills (default: the process' library, ``$LLMOS_HOME``).
        engine: the engine to run with (default: the process-wide engine of ``library``,
            :func:`llmos_jupyter._api.default_engine`). Its cache and event bus are the
            workbench's.

    Use :meth:`current` (the kernel's one instance) or :meth:`for_library` (the one
    instance of a given library) rather than the constructor, so surfaces meet.
    """

    _lock: ClassVar[threading.RLock] = threading.RLock()
    # id(library) → its workbench while someone (a magics object, a canvas, a toolbox) holds
    # it: a strong map would keep every engine (and its thread pool) of a process alive.
    _current: ClassVar[Workbench | None] = None
    _by_library: ClassVar[weakref.WeakValueDictionary[int, Workbench]] = (
        weakref.WeakValueDictionary())

    def __init__(self, library: SkillLibrary | None = None, *,
                 engine: Engine | None = None) -> None:
        from llmos_jupyter._api import default_engine, default_library

        if library is None:
            library = engine.library if engine is not None else default_library()
        self.library: SkillLibrary = library
        self.engine: Engine = engine if engine is not None else default_engine(library)
        self._views: dict[tuple[Any, ...], Engine] = {}
        self._run_workflows: OrderedDict[str, str] = OrderedDict()
        self._session: NotebookSession | None = None

    # -- one instance per kernel ----------------------------------------------------------
    @classmethod
    def current(cls) -> Workbench:
        """The kernel's (or CLI process') workbench, on the default library; created on
        first use. After ``LLMOS_HOME`` changes (``_api.forget_defaults``) the next call
        gives a new one on the new volumes."""
        from llmos_jupyter._api import default_library

        library = default_library()
        with cls._lock:
            wb = cls._current
            if wb is None or wb.library is not library:
                # Held strongly: the kernel's instance lives as long as its library.
                wb = cls._current = cls.for_library(library)
            return wb

    @classmethod
    def for_library(cls, library: SkillLibrary) -> Workbench:
        """The one workbench of ``library`` (created on first use, dropped with the
        library), so a canvas, the magics and the LLM tools given the same library share
        one engine, cache and event bus."""
        with cls._lock:
            wb = cls._by_library.get(id(library))
            if wb is None or wb.library is not library:
                wb = cls(library)
                cls._by_library[id(library)] = wb
            return wb

    # -- the shared pieces ----------------------------------------------------------------
    @property
    def home(self) -> Path:
        """``LLMOS_HOME`` of the library's volumes."""
        return self.library.home

    @property
    def cache(self) -> Any:
        """The one result cache (``None`` when the engine caches nothing)."""
        return self.engine.cache

    @property
    def events(self) -> Any:
        """The one event bus (:class:`~llmos_jupyter._engine.events.EventBus`)."""
        return self.engine.events

    def subscribe(self, callback: Any) -> Any:
        """``callback(event)`` for every event of every run in this kernel; returns the
        unsubscriber."""
        return self.events.subscribe(callback)

    def engine_for(self, executor: str = "threads", scheduler: str | None = None, *,
                   main_thread: bool = False) -> Engine:
        """The engine for runs in the caller's thread (``main_thread``) or on another
        executor: the workbench's engine itself when nothing differs, else a view sharing
        its library, cache, event bus, trace and isolation settings (created once, kept
        for the kernel's lifetime: a Dask cluster starts in about a second).

        Raises:
            ValueError: an unknown executor.
        """
        base = self.engine
        if executor == "threads" and not main_thread:
            return base
        key = (executor, scheduler, main_thread)
        with self._lock:
            view = self._views.get(key)
            if view is None:
                view = Engine(
                    self.library, max_workers=1 if main_thread and executor == "threads" else None,
                    cache=base.cache if base.cache is not None else False, trace=base.trace,
                    trace_dir=base.trace_dir, isolate=base.isolate, limits=base.limits,
                    runners=base.runners, capture_output=base.capture_output,
                    node_timeout=base.node_timeout, executor=executor, scheduler=scheduler)
                view.events = base.events  # one bus: subscribers of the kernel see every run
                self._views[key] = view
            return view

    # -- runs -----------------------------------------------------------------------------
    def note_run(self, run_id: str, workflow_id: str) -> None:
        """Remember that run ``run_id`` runs workflow ``workflow_id`` (before it starts,
        so its ``run_started`` event can be told apart)."""
        with self._lock:
            self._run_workflows[run_id] = workflow_id
            while len(self._run_workflows) > _RUNS_KEPT:
                self._run_workflows.popitem(last=False)

    def workflow_of(self, run_id: str) -> str | None:
        """The workflow id of a run started through this workbench (``None``: unknown)."""
        return self._run_workflows.get(run_id)

    def run(self, workflow: Workflow | str | Path, overrides: Mapping[str, Any] | None = None, *,
            engine: Engine | None = None, main_thread: bool = False, executor: str = "threads",
            scheduler: str | None = None, **kwargs: Any) -> RunResult:
        """Run ``workflow`` (blocking) on the workbench's engine (or the view
        :meth:`engine_for` gives, or ``engine``); ``kwargs`` go to :meth:`Engine.run`.

        Raises:
            WorkflowInvalid: every validation problem, before any node runs.
            WorkflowError: the workflow file cannot be read.
        """
        if not isinstance(workflow, Workflow):
            workflow = Workflow.load(workflow)
        engine = engine or self.engine_for(executor, scheduler, main_thread=main_thread)
        run_id = kwargs.pop("run_id", None) or _new_run_id()
        self.note_run(run_id, workflow.id)
        return engine.run(workflow, overrides, run_id=run_id, **kwargs)

    def start(self, workflow: Workflow | str | Path, overrides: Mapping[str, Any] | None = None, *,
              engine: Engine | None = None, **kwargs: Any) -> RunHandle:
        """Start a run in a background thread (:meth:`Engine.start`); returns its handle."""
        if not isinstance(workflow, Workflow):
            workflow = Workflow.load(workflow)
        run_id = kwargs.pop("run_id", None) or _new_run_id()
        self.note_run(run_id, workflow.id)
        return (engine or self.engine).start(workflow, overrides, run_id=run_id, **kwargs)

    # -- the kernel's notebook ------------------------------------------------------------
    def session(self, name: str | None = None) -> NotebookSession:
        """The kernel's skill cells and results (created on first use; ``name``, the
        notebook's file name when the kernel knows it, names its workflow)."""
        from llmos_jupyter._notebook.session import NotebookSession

        with self._lock:
            if self._session is None:
                stem = name.removesuffix(".ipynb") if name else ""
                wid = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")
                self._session = NotebookSession(self, workflow_id=wid or "notebook", name=stem)
            return self._session

    @property
    def has_session(self) -> bool:
        """True once a skill cell (or ``%workflow``) used the session."""
        return self._session is not None

    # -- volumes and authoring ------------------------------------------------------------
    def volume(self, name: str = "user") -> Any:
        """The ``user``/``team``/``system`` :class:`~llmos_jupyter._volumes.volume.Volume`
        of this workbench's home."""
        from llmos_jupyter._volumes.volume import Volume

        return Volume(name, self.home)

    @property
    def user_skills_dir(self) -> Path:
        """``<user volume>/skills``: where written skills go."""
        from llmos_jupyter._paths import volume_dir

        return volume_dir("user", self.home) / "skills"

    def _check_id(self, skill_id: str) -> None:
        if not isinstance(skill_id, str) or not _SKILL_ID.match(skill_id):
            raise AuthoringError(f"invalid skill id {skill_id!r}: use lowercase letters, digits "
                                 "and '-' (e.g. fit-curve)")

    def _write_skill(self, path: Path, text: str, message: str) -> None:
        """Write a skill file into the user volume as one git commit."""
        self.volume("user").write_text(path, text, message=message)

    def new_skill(self, skill_id: str, *, force: bool = False) -> tuple[Path, str]:
        """Write the :data:`SKELETON` skill ``skill_id`` to the user volume (one commit)
        and reload the library; returns ``(path, text)``.

        Raises:
            AuthoringError: an invalid id, or the file exists and ``force`` is false.
        """
        from llmos_jupyter._skills.parser import parse_skill

        self._check_id(skill_id)
        path = self.user_skills_dir / f"{skill_id}.md"
        if path.exists() and not force:
            raise AuthoringError(f"{path} already exists (add --force to overwrite it)")
        text = SKELETON.format(skill_id=skill_id, name=skill_id.replace("-", " ").capitalize())
        parse_skill(text, path=path)  # the skeleton itself must be a valid skill
        self._write_skill(path, text, f"Add skill {skill_id} (skeleton from %skill new)")
        self.library.reload()
        return path, text

    def save_skill(self, skill: Skill, *, markdown: str | None = None, as_id: str | None = None,
                   category: str | None = None, force: bool = False,
                   source: str = "%skill save") -> Path:
        """Write ``skill`` (an inline skill of a cell; ``markdown`` its cell text when the
        cell held a whole skill file) to the user volume as ``<as_id or its id>.md``, one
        commit, and make the file the library's skill of that id at once.

        Raises:
            AuthoringError: an invalid id, or another file of that name exists and
                ``force`` is false.
            SkillError: the written text would not parse.
        """
        from llmos_jupyter._notebook.cells import INLINE_CATEGORY
        from llmos_jupyter._skills.parser import parse_skill

        sid = as_id or skill.skill_id
        self._check_id(sid)
        category = category or ("general" if skill.category == INLINE_CATEGORY else skill.category)
        if sid == skill.skill_id and category == skill.category and markdown is not None:
            text = markdown
        else:
            fm = {k: v for k, v in skill.frontmatter.items() if k not in ("skill_id", "category")}
            text = dataclasses.replace(skill, skill_id=sid, category=category,
                                       frontmatter=fm).to_markdown()
        path = self.user_skills_dir / f"{sid}.md"
        if path.exists() and not force and path.read_text(encoding="utf-8") != text:
            raise AuthoringError(f"{path} already exists (add --force to overwrite it)")
        parse_skill(text, path=path)
        verb = "Update" if path.exists() else "Add"
        self._write_skill(path, text, f"{verb} skill {sid} ({source})")
        # From now on the library's skill of that id is the file (re-running the inline
        # cell makes the cell's version override it again).
        try:
            self.library.remove(skill.skill_id)
        except SkillNotFound:
            pass
        self.library.refresh()  # the new file counts at once (not after the refresh interval)
        return path

    def reload(self) -> ReloadReport:
        """Re-read the volumes (``refresh()``: files that did not change are kept)."""
        lib = self.library
        before = {s.skill_id for s in lib}
        lib.refresh()
        after = {s.skill_id for s in lib}
        return ReloadReport(tuple(sorted(after - before)), tuple(sorted(before - after)),
                            len(after), tuple(str(e) for e in getattr(lib, "errors", [])))

    def skill_history(self, skill_id: str, volume: str = "user") -> list[Any]:
        """The commits of ``skill_id``'s file in ``volume``, newest first."""
        return self.volume(volume).log(skill_id=skill_id)

    def save_workflow(self, workflow: Workflow, path: str | Path, *, message: str,
                      text: str | None = None) -> Path:
        """Write a workflow file (``text`` or its JSON); a commit when ``path`` is in the
        user volume."""
        from llmos_jupyter._volumes import write_product_file

        return write_product_file(Path(path), workflow.to_json() if text is None else text,
                                  message=message, home=self.home)

    def __repr__(self) -> str:
        return f"<Workbench {self.library!r} engine={self.engine.executor}>"


def _new_run_id() -> str:
    import uuid

    return uuid.uuid4().hex[:12]
