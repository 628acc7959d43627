"""Check a skill's ``requires`` before running it, with a message that says what to do."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
from functools import lru_cache

from llmos_jupyter._exceptions import RequirementMissing

__all__ = ["check_requires", "requirement_name"]

# Distribution names whose import name differs (the rest import as name.replace("-", "_")).
_IMPORT_NAMES = {"scikit-learn": "sklearn", "pyyaml": "yaml", "pillow": "PIL",
                 "opencv-python": "cv2", "beautifulsoup4": "bs4"}


def requirement_name(requirement: str) -> str:
    """``"numpy>=1.26"`` → ``"numpy"``."""
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0]


@lru_cache(maxsize=256)
def _available(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    module = _IMPORT_NAMES.get(name.lower(), name.replace("-", "_"))
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_requires(skill_id: str, requires: tuple[str, ...]) -> None:
    """Raise if a required package is missing.

    Raises:
        RequirementMissing: names the skill and the package, with the install command.
    """
    for req in requires:
        name = requirement_name(req)
        if not _available(name):
            hint = _browser_hint(name) if sys.platform == "emscripten" else None
            raise RequirementMissing(skill_id, name, hint=hint)


def _pyodide_lock_names() -> set[str] | None:
    """Normalised package names of the page's Pyodide lock (``None`` if unknown)."""
    try:
        import pyodide_js  # type: ignore[import-not-found]

        packages = pyodide_js._api.lockfile_packages.to_py()
        return {re.sub(r"[-_.]+", "-", str(k)).lower() for k in packages}
    except Exception:  # noqa: BLE001 - any Pyodide version without this API
        return None


def _browser_hint(name: str) -> str:
    """In Pyodide: an offline site that does not carry ``name`` says so plainly."""
    lock = _pyodide_lock_names()
    if lock is not None and re.sub(r"[-_.]+", "-", name).lower() not in lock:
        return (f"{name} is not available in this offline site; use the online site, "
                f"or run this skill in a local kernel")
    return f"{name} is not available in this browser kernel yet; try %pip install {name}"
