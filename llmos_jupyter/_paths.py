"""Where things live on disk: LLMOS_HOME, the volumes, the system skills.

``LLMOS_HOME`` (default ``~/.llmos``) holds the writable volumes::

    $LLMOS_HOME/
      team/skills/      team volume (shared skills)
      user/skills/      user volume (your skills, overriding team and system)
      user/traces/      trace notebooks of past runs
      user/workflows/   saved workflows

The system volume is the package's ``skills/`` folder (inside the wheel), or the repo's
top-level ``skills/`` when running from a source checkout or an editable install.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["LITE_DRIVE", "VOLUMES", "llmos_home", "system_skills_dir", "traces_dir", "volume_dir"]

LITE_DRIVE = "/drive"
"""Where JupyterLite's Pyodide kernel mounts the site's contents (the browser's storage)."""

VOLUMES = ("system", "team", "user")
"""Volume names in load order: a later volume overrides an earlier one by skill_id."""


def llmos_home() -> Path:
    """``$LLMOS_HOME`` if set, else ``~/.llmos`` (not created here).

    In JupyterLite (Pyodide) the default is ``/drive/llmos``: a folder of the site's
    contents, so trace notebooks show in the file browser and persist in the browser.
    """
    env = os.environ.get("LLMOS_HOME")
    if env:
        return Path(env).expanduser()
    if sys.platform == "emscripten" and Path(LITE_DRIVE).is_dir():
        return Path(LITE_DRIVE) / "llmos"  # JupyterLite: the site's contents (file browser)
    return Path.home() / ".llmos"


def system_skills_dir() -> Path:
    """The skills that ship with the package (read-only system volume)."""
    here = Path(__file__).resolve().parent
    packaged = here / "skills"
    if packaged.is_dir():
        return packaged
    return here.parent / "skills"  # source checkout / editable install


def volume_dir(volume: str, home: Path | None = None) -> Path:
    """The root folder of a volume (``system`` → the package's skills folder)."""
    if volume == "system":
        return system_skills_dir()
    if volume not in VOLUMES:
        raise ValueError(f"unknown volume {volume!r}; expected one of {', '.join(VOLUMES)}")
    return (home or llmos_home()) / volume


def traces_dir(home: Path | None = None) -> Path:
    """Where trace notebooks are written: ``<user volume>/traces``."""
    return volume_dir("user", home) / "traces"
