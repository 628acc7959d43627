"""Limits: what an isolated node may use (memory, CPU, wall time, network, processes, files).

Limits are the user's, never the skill's: they come from the run (``llmos run --limit
memory=4GiB --allow-network``) or the user's config, and a skill cannot raise them. They
are parsed from ``KEY=VALUE`` strings with human units::

    Limits.parse(["memory=4GiB", "cpu=30s", "timeout=5", "network=yes"])
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["Limits", "format_bytes", "format_seconds", "parse_bytes", "parse_seconds"]

_KIB = 1024
_BYTE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4,
    "kib": _KIB, "mib": _KIB**2, "gib": _KIB**3, "tib": _KIB**4,
}
_SECOND_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "ms": 1e-3, "min": 60.0, "m": 60.0, "h": 3600.0}
_NUMBER_UNIT = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)\s*$")
_UNLIMITED = ("none", "unlimited", "off", "inf")
_TRUE = ("1", "true", "yes", "on", "allow")
_FALSE = ("0", "false", "no", "off", "deny")


def parse_bytes(text: str | int) -> int:
    """``"4GiB"``, ``"512 MiB"``, ``"2g"``, ``"1000000"`` → bytes (``int``).

    Binary units (KiB, MiB, GiB, TiB) are powers of 1024; KB/MB/GB/TB (and k/m/g/t) are
    powers of 1000; a bare number is bytes. Raises ``ValueError`` naming the accepted units.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text <= 0:
            raise ValueError(f"size must be positive, got {text}")
        return text
    m = _NUMBER_UNIT.match(str(text))
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _BYTE_UNITS:
        raise ValueError(f"not a size: {text!r} (use a number with B, KiB, MiB, GiB, TiB, "
                         "KB, MB, GB or TB, e.g. 4GiB)")
    value = float(m.group(1)) * _BYTE_UNITS[unit]
    if value < 1:
        raise ValueError(f"size must be at least 1 byte, got {text!r}")
    return int(value)


def parse_seconds(text: str | float) -> float:
    """``"30"``, ``"30s"``, ``"500ms"``, ``"2min"``, ``"1h"`` → seconds (``float`` > 0).

    Raises ``ValueError`` naming the accepted units."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        m = _NUMBER_UNIT.match(str(text))
        unit = m.group(2).lower() if m else None
        if m is None or unit not in _SECOND_UNITS:
            raise ValueError(f"not a duration: {text!r} (use seconds, optionally with s, ms, "
                             "min or h, e.g. 30s)")
        value = float(m.group(1)) * _SECOND_UNITS[unit]
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"duration must be positive, got {text!r}")
    return value


def format_bytes(n: int) -> str:
    """Bytes in the largest binary unit that keeps one decimal at most: ``2 GiB``,
    ``1.5 MiB``, ``300 B``."""
    for unit, size in (("TiB", _KIB**4), ("GiB", _KIB**3), ("MiB", _KIB**2), ("KiB", _KIB)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} B"


def format_seconds(s: float) -> str:
    """``5`` → ``5 s``, ``0.25`` → ``0.25 s`` (``%g`` seconds)."""
    return f"{s:g} s"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one isolated node (each node gets its own, fresh).

    Attributes:
        memory: address space in bytes (``RLIMIT_AS``; default 2 GiB; ``None``: unlimited).
            Exceeding it fails the node with ``killed: memory limit 2 GiB``.
        cpu_s: CPU seconds (``RLIMIT_CPU``; ``None``: unlimited).
        timeout_s: wall-clock seconds (``None``: the engine's ``node_timeout``); when both
            are set the smaller wins. The node's processes are killed, not abandoned.
        network: allow network access (default ``False``: the sandbox has its own network
            namespace with only a loopback device).
        max_processes: processes *and threads* the sandbox's user may hold at once
            (``RLIMIT_NPROC``; counts every node of the runner together, so keep it well
            above the number of parallel nodes).
        file_size: largest file a node may write, in bytes (``RLIMIT_FSIZE``; default
            256 MiB); also the size of each of the sandbox's private ``/tmp``, ``/dev/shm``
            and scratch file systems and the cap of a node's captured output. These live in
            RAM beside ``memory``: at most 4 × ``file_size`` more.
        open_files: open file descriptors per process (``RLIMIT_NOFILE``).
    """

    memory: int | None = 2 * _KIB**3
    cpu_s: float | None = None
    timeout_s: float | None = None
    network: bool = False
    max_processes: int = 256
    file_size: int = 256 * _KIB**2
    open_files: int = 1024

    _KEYS: ClassVar[dict[str, str]] = {
        "memory": "memory", "mem": "memory",
        "cpu": "cpu_s", "cpu_s": "cpu_s",
        "timeout": "timeout_s", "timeout_s": "timeout_s",
        "network": "network", "net": "network",
        "processes": "max_processes", "max_processes": "max_processes", "nproc": "max_processes",
        "file_size": "file_size", "file-size": "file_size", "fsize": "file_size",
        "open_files": "open_files", "open-files": "open_files", "nofile": "open_files",
    }

    def __post_init__(self) -> None:
        for name in ("max_processes", "open_files", "file_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"limit {name} must be a positive integer, got {value!r}")
        if self.memory is not None and (not isinstance(self.memory, int) or self.memory < 1):
            raise ValueError(f"limit memory must be a positive number of bytes or None, "
                             f"got {self.memory!r}")
        for name in ("cpu_s", "timeout_s"):
            value = getattr(self, name)
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ValueError(f"limit {name} must be positive seconds or None, got {value!r}")

    @classmethod
    def parse(cls, items: Iterable[str], base: Limits | None = None) -> Limits:
        """``Limits`` from ``KEY=VALUE`` strings, on top of ``base`` (default: the defaults).

        Keys: ``memory`` (size), ``cpu`` (seconds), ``timeout`` (seconds), ``network``
        (yes/no), ``processes`` (count), ``file-size`` (size), ``open-files`` (count).
        ``memory``, ``cpu`` and ``timeout`` also take ``none``/``unlimited``.

        Raises:
            ValueError: an unknown key, a missing ``=``, or a value that does not parse;
                the message names the item and what is accepted.
        """
        changes: dict[str, Any] = {}
        for item in items:
            key, sep, raw = str(item).partition("=")
            key, raw = key.strip().lower(), raw.strip()
            field = cls._KEYS.get(key)
            if not sep or field is None:
                known = "memory, cpu, timeout, network, processes, file-size, open-files"
                raise ValueError(f"bad limit {item!r}: expected KEY=VALUE with KEY one of {known}")
            try:
                changes[field] = _parse_value(field, raw)
            except ValueError as exc:
                raise ValueError(f"bad limit {item!r}: {exc}") from None
        return dataclasses.replace(base if base is not None else cls(), **changes)

    def describe(self) -> str:
        """One line for humans: ``memory 2 GiB, cpu unlimited, timeout engine's, …``."""
        return ", ".join([
            f"memory {format_bytes(self.memory) if self.memory else 'unlimited'}",
            f"cpu {format_seconds(self.cpu_s) if self.cpu_s else 'unlimited'}",
            f"timeout {format_seconds(self.timeout_s) if self.timeout_s else 'the node timeout'}",
            f"network {'allowed' if self.network else 'none'}",
            f"processes {self.max_processes}",
            f"file size {format_bytes(self.file_size)}",
            f"open files {self.open_files}",
        ])

    def effective_timeout(self, timeout: float | None) -> float | None:
        """The wall-clock limit of a node given the engine's ``timeout`` (smaller wins)."""
        if timeout is None:
            return self.timeout_s
        if self.timeout_s is None:
            return timeout
        return min(timeout, self.timeout_s)


def _parse_value(field: str, raw: str) -> object:
    low = raw.lower()
    if field == "network":
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError("network takes yes or no")
    if field in ("memory", "cpu_s", "timeout_s") and low in _UNLIMITED:
        return None
    if field in ("memory", "file_size"):
        return parse_bytes(raw)
    if field in ("cpu_s", "timeout_s"):
        return parse_seconds(raw)
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError("expected a positive whole number")
    return int(raw)


def config_limits(home: Any = None) -> tuple[list[str], dict[str, list[str]]]:
    """The user's limits from ``$LLMOS_HOME/config.toml`` as ``KEY=VALUE`` items: those of
    ``[isolation]`` (every untrusted node) and those of each ``[isolation.skills.SKILL_ID]``
    (one skill; they beat the run's options, the most specific setting wins)::

        [isolation]
        memory = "4GiB"
        [isolation.skills.image-tiler]
        memory = "8GiB"
        network = true

    Limits are the user's, never the skill's: a skill file cannot set them.

    Raises:
        ValueError: the file is not valid TOML or a section is not a table (named).
    """
    from llmos_jupyter._config import ConfigError, config_path, config_section

    path = config_path(home)
    section = config_section("isolation", home)  # ConfigError (a ValueError) names the file

    def items(table: dict[str, Any], where: str) -> list[str]:
        out = []
        for key, value in table.items():
            if isinstance(value, dict):
                continue
            if isinstance(value, bool):
                value = "yes" if value else "no"
            out.append(f"{key}={value}")
        return out

    skills = section.get("skills", {})
    if not isinstance(skills, dict):
        # A wrong type in the user's file is a bad value in it: a ConfigError (ValueError).
        raise ConfigError(f"{path}: [isolation.skills] must be a table of skill ids")
    per_skill = {}
    for skill_id, table in skills.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [isolation.skills.{skill_id}] must be a table")
        per_skill[skill_id] = items(table, f"isolation.skills.{skill_id}")
    return items(section, "isolation"), per_skill
