"""A skill's ``requires`` in a Pyodide kernel: load them from the page's Pyodide distribution.

In JupyterLite a package such as numpy is not installed until something loads it: the
kernel does so for the ``import`` statements of a *cell* (``loadPackagesFromImports``),
but a skill's code comes from its Markdown file, so the engine loads the skill's
``requires`` itself before running it (``_engine.requirements.check_requires``).

Only packages of the Pyodide distribution the page runs on are loaded (its lock,
``pyodide_js._api.lockfile_packages``: online the CDN's full distribution with numpy,
scipy, matplotlib; offline the site's pure-Python subset) — never anything from PyPI.
``pyodide_js.loadPackage`` returns a JS promise, and the engine is synchronous, so it is
awaited with ``pyodide.ffi.run_sync`` (JSPI: Pyodide ≥ 0.27 in a browser with
WebAssembly stack switching, e.g. Chromium ≥ 137); without it nothing is loaded and the
caller's message tells the user to import the package in a cell first.

``pyodide_js`` and ``pyodide.ffi`` are imported lazily (they exist only in Pyodide); the
tests put stand-ins with the same shape into ``sys.modules``.
"""

from __future__ import annotations

import importlib
import re

__all__ = ["load_from_distribution", "lock_packages", "pypi_disabled"]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_packages() -> dict[str, str] | None:
    """``{normalised name: lock key}`` of the page's Pyodide lock (``None`` outside Pyodide
    or when this Pyodide version does not expose it)."""
    try:
        import pyodide_js  # type: ignore[import-not-found]

        packages = pyodide_js._api.lockfile_packages.to_py()
    except Exception:  # noqa: BLE001 - not Pyodide, or a Pyodide without this API
        return None
    return {_norm(str(k)): str(k) for k in packages}


def pypi_disabled() -> bool | None:
    """Whether the kernel's piplite may not fall back to PyPI (the offline site sets
    ``disablePyPIFallback``; the kernel copies it into ``piplite.piplite``); ``None`` when
    piplite is not loaded (not a JupyterLite kernel)."""
    import sys

    piplite = sys.modules.get("piplite.piplite")
    flag = getattr(piplite, "_PIPLITE_DISABLE_PYPI", None)
    return None if flag is None else bool(flag)


def load_from_distribution(name: str) -> str:
    """Load the package ``name`` (a distribution name) from the page's Pyodide lock.

    Returns:
        ``"loaded"`` when ``pyodide_js.loadPackage`` finished (import caches invalidated);
        ``"not-in-distribution"`` when the lock has no such package (or is unknown);
        ``"cannot-wait"`` when the runtime cannot wait for a promise synchronously;
        ``"failed: …"`` with the JS error when the load itself failed (e.g. offline).
    """
    lock = lock_packages()
    key = None if lock is None else lock.get(_norm(name))
    if key is None:
        return "not-in-distribution"
    try:
        from pyodide.ffi import can_run_sync, run_sync  # type: ignore[import-not-found]
    except ImportError:
        return "cannot-wait"
    if not can_run_sync():
        return "cannot-wait"
    import pyodide_js  # mypy flags a missing module once per file (ignored above)

    try:
        run_sync(pyodide_js.loadPackage(key))
    except Exception as exc:  # noqa: BLE001 - a JsException from the rejected promise
        return f"failed: {exc}"
    importlib.invalidate_caches()
    return "loaded"
