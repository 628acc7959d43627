"""``LlmosKernel``: IPython's kernel with the llmos magics loaded and skill-aware
completion and inspection (see :mod:`llmos_jupyter._kernel.complete`)."""

from __future__ import annotations

import logging
from typing import Any

from ipykernel.ipkernel import IPythonKernel

from llmos_jupyter._version import __version__

__all__ = ["LlmosKernel"]

log = logging.getLogger(__name__)


class LlmosKernel(IPythonKernel):
    """An :class:`ipykernel.ipkernel.IPythonKernel` that

    * loads ``llmos_jupyter`` as an IPython extension at start, so ``%%skill``,
      ``%skill``, ``%workflow``, ``%%llm`` work without ``%load_ext`` (a notebook's own
      ``%load_ext llmos_jupyter`` is a silent no-op: the magics it would register are
      there);
    * answers ``complete_request`` and ``inspect_request`` in skill cells from the
      kernel's :class:`~llmos_jupyter._workbench.Workbench` (skill ids, node ids, ports
      with type and unit; a skill's description, ports and source file), and leaves
      everything else to IPython.

    Everything else — execution, comms (widgets, the canvas), the debugger, interrupts —
    is IPython's kernel unchanged.
    """

    implementation = "llmos"
    implementation_version = __version__
    banner = ("Python 3 (llmos): the llmos magics are loaded — %%skill, %skill, %workflow, "
              "%%llm; %skill list shows the library")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._llmos_error: str | None = None
        try:
            if self.shell is None:  # pragma: no cover - IPythonKernel always makes one
                raise RuntimeError("the kernel has no IPython shell")
            # Not through the extension manager: a notebook's own `%load_ext llmos_jupyter`
            # must stay silent (no "already loaded" note); the loader keeps the registered
            # magics, so it changes nothing.
            from llmos_jupyter import load_ipython_extension

            load_ipython_extension(self.shell)
        except Exception as exc:
            self._llmos_error = f"{type(exc).__name__}: {exc}"
            log.warning("llmos kernel: the llmos magics could not be loaded: %s",
                        self._llmos_error, exc_info=True)

    def _workbench(self) -> Any:
        """The skill magics' workbench (the kernel's), or ``None`` without the magics."""
        magics = self.shell.magics_manager.registry.get("LlmosMagics") if self.shell else None
        return magics.workbench if magics is not None else None

    def do_complete(self, code: str, cursor_pos: int | None) -> Any:
        """Skill-aware completion in a skill cell; IPython's anywhere else."""
        reply = self._llmos("complete", code, cursor_pos)
        return reply if reply is not None else super().do_complete(code, cursor_pos)

    def do_inspect(self, code: str, cursor_pos: int | None, detail_level: int = 0,
                   omit_sections: Any = ()) -> Any:
        """A skill's help on a skill in a skill cell; IPython's anywhere else."""
        reply = self._llmos("inspect", code, cursor_pos, detail_level)
        if reply is not None:
            return reply
        return super().do_inspect(code, cursor_pos, detail_level, omit_sections)

    def _llmos(self, what: str, code: str, cursor_pos: int | None,
               detail_level: int = 0) -> dict[str, Any] | None:
        from llmos_jupyter._kernel import complete as skill_cells

        workbench = self._workbench()
        if workbench is None:
            return None
        try:
            if what == "complete":
                return skill_cells.complete(code, cursor_pos, workbench)
            return skill_cells.inspect(code, cursor_pos, workbench, detail_level)
        except Exception:
            log.debug("llmos %s failed; IPython answers", what, exc_info=True)
            return None
