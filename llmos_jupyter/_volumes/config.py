"""Volume settings from ``$LLMOS_HOME/config.toml`` and the environment.

```toml
[user]
name = "Ada Lovelace"
email = "ada@example.org"

[volumes]
team_writable = true      # default false: the team volume is read-only to users
```

``LLMOS_AUTHOR="Name <email>"`` beats the file; without either the author is
``<login> <<login>@localhost>``.
"""

from __future__ import annotations

import getpass
import os
import re
from pathlib import Path
from typing import Any

__all__ = ["author", "load_config", "team_writable"]

_AUTHOR = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>]*)>\s*$")


def load_config(home: Path | None = None) -> dict[str, Any]:
    """``config.toml`` as a dict (empty when missing), read by
    :func:`llmos_jupyter._config.read_config`.

    Raises:
        VolumeError: the file is not valid TOML (the message names it).
    """
    from llmos_jupyter._config import ConfigError, read_config
    from llmos_jupyter._volumes.errors import VolumeError

    try:
        return read_config(home)
    except ConfigError as exc:
        raise VolumeError(str(exc)) from None


def author(home: Path | None = None) -> str:
    """The commit author ``Name <email>``: ``LLMOS_AUTHOR``, else ``[user]`` of the config,
    else the login name at localhost."""
    env = os.environ.get("LLMOS_AUTHOR", "").strip()
    if env:
        m = _AUTHOR.match(env)
        return f"{m['name']} <{m['email']}>" if m else f"{env} <{_login()}@localhost>"
    user = load_config(home).get("user", {})
    name = str(user.get("name") or "").strip() or _login()
    email = str(user.get("email") or "").strip() or f"{_login()}@localhost"
    return f"{name} <{email}>"


def team_writable(home: Path | None = None) -> bool:
    """``[volumes] team_writable`` (default ``False``)."""
    return bool(load_config(home).get("volumes", {}).get("team_writable", False))


def _login() -> str:
    try:
        return re.sub(r"[<>\s]+", "-", getpass.getuser()) or "llmos"
    except (OSError, KeyError, ImportError):  # no login name (containers, Pyodide)
        return "llmos"
