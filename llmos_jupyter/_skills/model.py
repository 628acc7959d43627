"""The Skill: one typed, documented unit of computation (or of instructions)."""

from __future__ import annotations

import hashlib
import linecache
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import SkillError
from llmos_jupyter._skills.ports import Port

__all__ = ["BROWSER_RUNTIMES", "LOCAL_RUNTIMES", "RUNTIMES", "Skill", "memory_bytes"]

RUNTIMES = ("python", "javascript", "threejs", "spice")
"""Every runtime a skill may declare; see ``LOCAL_RUNTIMES`` for those the engine runs."""

LOCAL_RUNTIMES = ("python",)
"""Runtimes the Python engine executes; the others belong to the browser / circuit runtimes."""

BROWSER_RUNTIMES = ("javascript", "threejs")
"""Runtimes whose code runs in a browser Web Worker: only the canvas widget's front-end runs
them (``Engine(runners=...)`` with the canvas' runner); everywhere else they fail validation."""

_compile_lock = threading.Lock()

_MEMORY_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B?|B)?\s*$")
_MEMORY_UNITS = {"": 1, "B": 1}
for _i, _p in enumerate("KMGT", start=1):
    # "4GiB" and "4Gi" are binary (2**30); "4GB" and "4G" decimal (10**9), as in Kubernetes.
    _MEMORY_UNITS.update({f"{_p}iB": 1024**_i, f"{_p}i": 1024**_i,
                          f"{_p}B": 1000**_i, _p: 1000**_i})


def memory_bytes(value: int | str) -> int:
    """A ``resources.memory`` value in bytes: an integer is bytes; a string is a number
    and a unit, ``B``, ``K``/``KB`` … ``T``/``TB`` (powers of 1000) or ``Ki``/``KiB`` …
    ``Ti``/``TiB`` (powers of 1024): ``"4GiB"`` → 4294967296, ``"512MB"`` → 512000000.

    Raises:
        ValueError: not a positive size in that form.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"memory must be at least 1 byte, got {value}")
        return value
    m = _MEMORY_RE.match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"memory {value!r} is not a size such as 512MiB, 4GiB or 2GB")
    size = int(float(m.group(1)) * _MEMORY_UNITS[m.group(2) or ""])
    if size < 1:
        raise ValueError(f"memory {value!r} is less than 1 byte")
    return size


@dataclass(frozen=True, eq=False)
class Skill:
    """A skill as parsed from its Markdown file (or defined in code).

    An *executable* skill has ``code``: exactly one fenced block defining
    ``execute(inputs: dict) -> dict``. A *standard* skill has none; its Markdown ``body``
    holds instructions (Anthropic Agent Skills ``SKILL.md`` files load as such).

    ``code_line`` is the 1-based line of the code's first line in ``path``, so tracebacks
    of a failing skill point at the Markdown file itself.
    """

    skill_id: str
    name: str
    description: str = ""
    category: str = "general"
    tags: tuple[str, ...] = ()
    version: str = "0.0.0"
    runtime: str = "python"
    requires: tuple[str, ...] = ()
    inputs: tuple[Port, ...] = ()
    outputs: tuple[Port, ...] = ()
    code: str | None = None
    code_line: int = 1
    body: str = ""
    path: Path | None = None
    volume: str | None = None
    frontmatter: Mapping[str, Any] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)
    """Declared limits of one run, as in the frontmatter: ``cpu`` (cores, a positive
    number), ``memory`` (bytes or a size string such as ``"4GiB"``; see
    :attr:`memory_limit`), ``gpu`` (devices, an integer ≥ 0). Empty when none declared."""
    timeout_s: float | None = None
    """Declared wall-clock limit of one run in seconds (> 0), or ``None``."""

    # -- ports -------------------------------------------------------------------------
    @property
    def executable(self) -> bool:
        """True when the skill has code to run (any runtime)."""
        return self.code is not None

    @cached_property
    def input_ports(self) -> dict[str, Port]:
        """Inputs by name."""
        return {p.name: p for p in self.inputs}

    @cached_property
    def output_ports(self) -> dict[str, Port]:
        """Outputs by name."""
        return {p.name: p for p in self.outputs}

    @cached_property
    def required_inputs(self) -> tuple[Port, ...]:
        """Inputs that must be wired or set (required and without a default)."""
        return tuple(p for p in self.inputs if p.required and not p.has_default)

    @cached_property
    def defaults(self) -> dict[str, Any]:
        """Input defaults declared in the frontmatter (only ports that declare one)."""
        return {p.name: p.default for p in self.inputs if p.has_default}

    @property
    def memory_limit(self) -> int | None:
        """``resources.memory`` in bytes (``None`` when not declared)."""
        mem = self.resources.get("memory")
        return memory_bytes(mem) if mem is not None else None

    # -- code --------------------------------------------------------------------------
    @cached_property
    def code_hash(self) -> str:
        """SHA-256 (hex) of runtime, requires and code: the skill's part of a cache key.

        Prose edits do not change it; any code change does (see docs/architecture.md)."""
        h = hashlib.sha256()
        for part in (self.runtime, "\0".join(self.requires), self.code or ""):
            h.update(part.encode())
            h.update(b"\x00")
        return h.hexdigest()

    @property
    def source_name(self) -> str:
        """The file name used for compiled code (the skill file, or ``<skill:ID>``)."""
        return str(self.path) if self.path is not None else f"<skill:{self.skill_id}>"

    def load_function(self) -> Callable[[dict[str, Any]], Any]:
        """Compile the code block once and return its ``execute`` function.

        The code is compiled with the skill file's name and line offset, so a traceback
        points at the right line of the ``.md`` file.

        Raises:
            SkillError: not a Python skill, or the code does not define ``execute``.
            Exception: whatever the code's top level raises (an import error, say).
        """
        fn = self.__dict__.get("_execute")
        if fn is not None:
            return fn
        if self.code is None or self.runtime != "python":
            raise SkillError(
                f"skill {self.skill_id!r} has no Python code to run (runtime {self.runtime!r})",
                path=self.path,
            )
        with _compile_lock:
            fn = self.__dict__.get("_execute")
            if fn is not None:
                return fn
            # Pad so line numbers in tracebacks are the Markdown file's line numbers.
            source = "\n" * (self.code_line - 1) + self.code
            if self.path is None:
                # Let tracebacks show the code of skills that have no file.
                linecache.cache[self.source_name] = (
                    len(source), None, source.splitlines(keepends=True), self.source_name,
                )
            module_name = f"llmos_skill_{self.skill_id.replace('-', '_')}"
            namespace: dict[str, Any] = {"__name__": module_name}
            exec(compile(source, self.source_name, "exec"), namespace)
            fn = namespace.get("execute")
            if not callable(fn):
                raise SkillError("the code block does not define execute(inputs)",
                                 path=self.path, line=self.code_line, field="code")
            self.__dict__["_execute"] = fn
            return fn

    def __repr__(self) -> str:
        kind = "executable" if self.executable else "standard"
        return f"<Skill {self.skill_id!r} v{self.version} {kind} ({self.volume or 'memory'})>"

    # -- serialisation -----------------------------------------------------------------
    def to_frontmatter(self) -> dict[str, Any]:
        """The frontmatter mapping that reproduces this skill's metadata."""
        fm: dict[str, Any] = {
            "skill_id": self.skill_id,
            "name": self.name,
            "description": self.description,
            "category": self.category,
        }
        if self.tags:
            fm["tags"] = list(self.tags)
        fm["version"] = self.version
        if self.code is not None:
            fm["runtime"] = self.runtime
        if self.requires:
            fm["requires"] = list(self.requires)
        if self.inputs:
            fm["inputs"] = [p.to_dict() for p in self.inputs]
        if self.outputs:
            fm["outputs"] = [p.to_dict() for p in self.outputs]
        if self.resources:
            fm["resources"] = dict(self.resources)
        if self.timeout_s is not None:
            fm["timeout_s"] = self.timeout_s
        known = set(fm) | {"skill_id", "name", "tags", "requires", "inputs", "outputs",
                           "resources", "timeout_s"}
        fm.update({k: v for k, v in self.frontmatter.items() if k not in known})
        return fm

    def to_markdown(self) -> str:
        """The skill as a Markdown file (frontmatter, prose, one code block)."""
        import yaml  # local: only writers need it

        head = yaml.safe_dump(self.to_frontmatter(), sort_keys=False, allow_unicode=True)
        text = f"---\n{head}---\n"
        body = self.body.strip("\n")
        if body:
            text += "\n" + body + "\n"
        if self.code is not None and self.code.strip() not in body:
            lang = "python" if self.runtime == "python" else self.runtime
            text += f"\n```{lang}\n{self.code.rstrip()}\n```\n"
        return text
