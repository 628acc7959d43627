"""The llmos kernel's behaviour in any IPython shell: the plain ``python3`` kernel after
``%load_ext llmos_jupyter`` and JupyterLite's Pyodide kernel (which cannot be subclassed:
its startup code calls :func:`enable`).

:func:`enable` loads the magics (as the extension) and registers an IPython completion
matcher (Matcher API v2) that answers in skill cells from
:func:`llmos_jupyter._kernel.complete.complete` and stays silent elsewhere, so Python
completion is untouched. Inspection (Shift-Tab) of skills needs the llmos kernel's
``do_inspect``; in other kernels ``%skill show ID`` shows the same.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PYODIDE_STARTUP_CODE", "STARTUP_CODE", "enable", "register_completion"]

STARTUP_CODE = "import llmos_jupyter._kernel.startup as _llmos_startup; _llmos_startup.enable()"
"""One line of Python a kernel runs at start to behave like the llmos kernel."""

PYODIDE_STARTUP_CODE = (
    "import importlib.util\n"
    'if importlib.util.find_spec("llmos_jupyter") is None:\n'
    "    import piplite\n"
    '    await piplite.install("llmos-jupyter")\n'
    f"{STARTUP_CODE}"
)
"""What a JupyterLite notebook's Pyodide kernel runs once when it starts (top-level
``await`` is allowed there): install our wheel from the site's piplite index when it is
missing (as the JupyterLab extension's ``PYODIDE_BOOTSTRAP`` does for the library kernel),
then :data:`STARTUP_CODE`. The Pyodide kernel has no startup-code setting of its own
(its settings are ``pyodideUrl``, ``disablePyPIFallback``, ``pipliteUrls``,
``loadPyodideOptions``), so the JupyterLab extension sends it, silently, to a notebook
kernel whose ``kernel_info`` says ``implementation: pyodide``."""

_MARK = "_llmos_skill_matcher"


def register_completion(shell: Any) -> bool:
    """Add the skill-cell matcher to ``shell.Completer`` (once). Returns ``False`` when
    this IPython has no Matcher API v2 (IPython < 8.6): completion stays IPython's."""
    try:
        from IPython.core.completer import context_matcher
    except ImportError:  # pragma: no cover - IPython < 8.6
        return False
    completer = shell.Completer
    if any(getattr(m, _MARK, False) for m in completer.custom_matchers):
        return True

    @context_matcher()
    def llmos_skill_cells(context: Any) -> Any:
        from IPython.core.completer import SimpleCompletion

        from llmos_jupyter._kernel.complete import complete

        empty = {"completions": [], "suppress": False}
        magics = shell.magics_manager.registry.get("LlmosMagics")
        if magics is None:
            return empty
        lines = context.full_text.split("\n")
        offset = sum(len(ln) + 1 for ln in lines[:context.cursor_line]) + context.cursor_position
        try:
            reply = complete(context.full_text, offset, magics.workbench)
        except Exception:  # noqa: BLE001 - completion must never raise into the shell
            return empty
        if reply is None:
            return empty
        types = {t["text"]: t for t in reply["metadata"]["_jupyter_types_experimental"]}
        return {
            "completions": [SimpleCompletion(m, type=types[m]["type"]) for m in reply["matches"]],
            "matched_fragment": context.full_text[reply["cursor_start"]:offset],
            "suppress": True,  # in a skill cell's line, Python names are never meant
        }

    setattr(llmos_skill_cells, _MARK, True)
    completer.custom_matchers.append(llmos_skill_cells)
    return True


def enable(shell: Any = None) -> None:
    """Load the llmos magics into ``shell`` (default: the running IPython) and register
    skill-cell completion."""
    if shell is None:
        from IPython.core.getipython import get_ipython

        shell = get_ipython()
    if shell is None:
        raise RuntimeError("llmos: no IPython shell is running")
    shell.extension_manager.load_extension("llmos_jupyter")
    register_completion(shell)
