"""``$LLMOS_HOME/config.toml``: the one reader of the user's settings file.

Each part of the package owns a section and its meaning (``[llm]`` in
:mod:`llmos_jupyter._llm.config`, ``[isolation]`` in :mod:`llmos_jupyter._isolation.limits`,
``[volumes]``/``[user]`` in :mod:`llmos_jupyter._volumes.config`, ``[dask]``,
``[secrets]``); this module only finds, reads and parses the file (TOML 1.0 by the
standard library's :mod:`tomllib`) and hands out sections, so every part agrees on
where the file is, how a broken file is reported, and when it is re-read.

The parsed file is cached by path, modification time and size: a process that asks for
several sections parses it once, and an edit is seen on the next call.
"""

from __future__ import annotations

import copy
import threading
import tomllib
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._paths import llmos_home

__all__ = ["ConfigError", "config_path", "config_section", "read_config"]


class ConfigError(LlmosError, ValueError):
    """``config.toml`` is not valid TOML, or a section is not a table; the message names
    the file (and the section)."""


_cache: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
_lock = threading.Lock()


def config_path(home: str | Path | None = None) -> Path:
    """``<home>/config.toml``; ``home`` defaults to ``$LLMOS_HOME`` (``~/.llmos``)."""
    return (Path(home) if home is not None else llmos_home()) / "config.toml"


def read_config(home: str | Path | None = None) -> dict[str, Any]:
    """The whole file as a dict (a copy: change it freely); ``{}`` when there is no file
    (or ``home`` is not a folder).

    Raises:
        ConfigError: the file is not UTF-8 TOML (``"<path>: not valid TOML (<reason>)"``).
        OSError: the file exists but cannot be read.
    """
    path = config_path(home)
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    stamp = (st.st_mtime_ns, st.st_size)
    key = str(path)
    with _lock:
        hit = _cache.get(key)
    if hit is None or hit[0] != stamp:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return {}
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        with _lock:
            if len(_cache) > 64:  # tests make many homes; keep the cache small
                _cache.clear()
            _cache[key] = (stamp, data)
    else:
        data = hit[1]
    return copy.deepcopy(data)


def config_section(name: str, home: str | Path | None = None) -> dict[str, Any]:
    """One top-level table, e.g. ``config_section("llm")``; ``{}`` when absent.

    Raises:
        ConfigError: the file is not valid TOML, or ``[name]`` is not a table.
    """
    section = read_config(home).get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{config_path(home)}: [{name}] must be a table, not "
                          f"{type(section).__name__}")
    return section
