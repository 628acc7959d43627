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

    In a Pyodide kernel (JupyterLite) a missing package of the page's Pyodide
    distribution is loaded first (``_lite.pyodide_packages``), so numpy/scipy/matplotlib
    skills run in the online site without a ``%pip install``.

    Raises:
        RequirementMissing: names the skill and the package, with the install command
            (in the browser: "… is not available in this offline site" when the site's
            distribution lacks it).
    """
    for req in requires:
        name = requirement_name(req)
        if _available(name):
            continue
        if sys.platform != "emscripten":
            raise RequirementMissing(skill_id, name)
        from llmos_jupyter._lite.pyodide_packages import load_from_distribution

        loaded = load_from_distribution(name)
        _available.cache_clear()
        if loaded == "loaded":
            if _available(name):
                continue
            loaded = "failed: still not importable after loadPackage"
        raise RequirementMissing(skill_id, name, hint=_browser_hint(name, loaded))


def _browser_hint(name: str, loaded: str) -> str:
    """In Pyodide: what to do, given what loading ``name`` from the distribution gave."""
    if loaded == "not-in-distribution":
        from llmos_jupyter._lite.pyodide_packages import lock_packages, pypi_disabled

        # Offline: the site's distribution lacks it and piplite may not ask PyPI.
        if lock_packages() is not None and pypi_disabled() is not False:
            return (f"{name} is not available in this offline site; use the online site, "
                    f"or run this skill in a local kernel")
        return f"{name} is not available in this browser kernel yet; try %pip install {name}"
    if loaded == "cannot-wait":
        return (f"{name} is in this site's Pyodide distribution but this browser cannot "
                f"load it from inside a run (no WebAssembly stack switching); run "
                f"`import {_IMPORT_NAMES.get(name.lower(), name.replace('-', '_'))}` or "
                f"%pip install {name} in a cell first")
    return (f"loading {name} from this site's Pyodide distribution failed ({loaded}); "
            f"try %pip install {name}")
