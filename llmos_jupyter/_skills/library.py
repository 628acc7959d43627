"""SkillLibrary: the skills loaded from the volumes system < team < user."""

from __future__ import annotations

import builtins
import difflib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import SkillError, SkillNotFound
from llmos_jupyter._paths import VOLUMES, llmos_home, volume_dir
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.parser import load_skill, skill_warnings
from llmos_jupyter._skills.ports import jsonable

__all__ = ["SkillLibrary", "skill_files"]

_MISS_RECHECK = 0.05
"""Seconds: an unknown id triggers a refresh unless one ran this recently (a workflow
with many unknown ids must not re-scan the volumes for each)."""

_SKIP_NAMES = {"README.md", "CHANGELOG.md", "LICENSE.md"}


@dataclass(frozen=True, slots=True)
class _Loaded:
    """One skill file as last read: its stat signature and what it parsed to."""

    volume: str
    signature: tuple[int, int, int, int]  # (mtime_ns, ctime_ns, size, inode)
    skill: Skill | None
    error: SkillError | None
    warnings: tuple[Any, ...] = ()  # Agent Skills specification violations (SkillWarning)


def _signature(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


class SkillLibrary:
    """The set of loaded skills, by id.

    Volumes load in order ``system`` (the package's skills), ``team``
    (``$LLMOS_HOME/team/skills``) and ``user`` (``$LLMOS_HOME/user/skills``); a skill in
    a later volume overrides one with the same ``skill_id`` in an earlier one. A broken
    file never stops the others from loading: it is recorded in :attr:`errors` (file,
    line, reason) and skipped.

    Edited files are picked up without a restart: :meth:`refresh` stats every skill file
    (and lists the folders) and re-parses only the files whose modification time, size or
    inode changed, adds new files and drops deleted ones. :meth:`get`, ``in`` and
    :meth:`list` call it at most once every :attr:`refresh_interval` seconds (and at once
    before reporting an unknown id), so a kernel sees an edited skill on its next use.

    Args:
        home: the volumes' root (default ``$LLMOS_HOME`` or ``~/.llmos``).
        volumes: explicit ``(name, skills folder)`` pairs instead of the three defaults.
        skills: extra in-memory skills (volume ``memory``), loaded last.

    Example::

        lib = SkillLibrary()
        vqe = lib.get("quantum-vqe")
        [s.skill_id for s in lib.list(category="quantum")]
    """

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        volumes: Iterable[tuple[str, str | Path]] | None = None,
        skills: Iterable[Skill] = (),
    ) -> None:
        self.home = Path(home).expanduser() if home is not None else llmos_home()
        if volumes is None:
            volumes = [
                (v, volume_dir(v) if v == "system" else volume_dir(v, self.home) / "skills")
                for v in VOLUMES
            ]
        self.volumes: list[tuple[str, Path]] = [(n, Path(p)) for n, p in volumes]
        self._extra = list(skills)
        self._skills: dict[str, Skill] = {}
        self._shadowed: dict[str, list[Skill]] = {}
        self._files: dict[Path, _Loaded] = {}
        self._checked = 0.0
        self._built = False
        self._refreshing = threading.Lock()
        self.errors: list[SkillError] = []
        self.warnings: list[Any] = []
        """Agent Skills specification violations of third-party ``SKILL.md`` folders
        (``_skills.agentskills.SkillWarning``: file, line, field, message); those skills
        load all the same."""
        self.reload()

    refresh_interval: float = 1.0
    """Seconds between the automatic :meth:`refresh` checks of lookups; ``0`` checks on
    every lookup, ``float('inf')`` never (call :meth:`refresh` or :meth:`reload`)."""

    # -- loading -----------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read every volume from disk, parsing every file again (in-memory skills are
        kept)."""
        self._files = {}
        self.refresh()

    def refresh(self) -> bool:
        """Bring the library up to date with the volumes on disk, cheaply: list the skill
        files, stat each one, and re-parse only new files and files whose ``mtime_ns``,
        ``ctime_ns``, size or inode changed; deleted files drop out.

        Returns:
            True when anything changed (the skills, errors and overrides are rebuilt).
        """
        self._checked = time.monotonic()
        changed = False
        files: dict[Path, _Loaded] = {}
        for name, root in self.volumes:
            for path in skill_files(root):
                if path in files:
                    continue  # one file reached from two volumes: the first one holds it
                sig = _signature(path)
                old = self._files.get(path)
                if old is not None and old.signature == sig and old.volume == name:
                    files[path] = old
                    continue
                changed = True
                try:
                    skill = load_skill(path, volume=name)
                    files[path] = _Loaded(name, sig or (0, 0, 0, 0), skill, None,
                                          tuple(skill_warnings(skill)))
                except SkillError as exc:
                    files[path] = _Loaded(name, sig or (0, 0, 0, 0), None, exc)
        if changed or files.keys() != self._files.keys() or not self._built:
            self._built = True
            self._files = files
            self._rebuild()
            return True
        return False

    def _rebuild(self) -> None:
        # Built aside and swapped in whole: engine threads may look skills up meanwhile
        # and must never see a half-filled library.
        skills: dict[str, Skill] = {}
        shadowed: dict[str, list[Skill]] = {}
        errors: list[SkillError] = []
        warnings: list[Any] = []
        for loaded in self._files.values():  # in volume order, then file order
            warnings += loaded.warnings
            if loaded.skill is not None:
                _place(loaded.skill, skills, shadowed, errors)
            elif loaded.error is not None:
                errors.append(loaded.error)
        for skill in self._extra:
            _place(skill, skills, shadowed, errors)
        self._skills, self._shadowed, self.errors = skills, shadowed, errors
        self.warnings = warnings

    def _maybe_refresh(self) -> None:
        # One thread refreshes; the others go on with the current skills.
        if (time.monotonic() - self._checked >= self.refresh_interval
                and self._refreshing.acquire(blocking=False)):
            try:
                self.refresh()
            finally:
                self._refreshing.release()

    def _put(self, skill: Skill) -> None:
        _place(skill, self._skills, self._shadowed, self.errors)

    def add(self, skill: Skill) -> None:
        """Add (or replace) an in-memory skill; it survives :meth:`reload`."""
        self._extra = [s for s in self._extra if s.skill_id != skill.skill_id] + [skill]
        self._put(skill)

    def remove(self, skill_id: str) -> None:
        """Drop an in-memory skill (added with :meth:`add`); files are not touched, so a
        volume's skill of the same id shows again.

        Raises:
            SkillNotFound: no in-memory skill with this id.
        """
        if not any(s.skill_id == skill_id for s in self._extra):
            raise SkillNotFound(skill_id, suggestions=[s.skill_id for s in self._extra])
        self._extra = [s for s in self._extra if s.skill_id != skill_id]
        self._rebuild()

    def overlay(self, skills: Iterable[Skill]) -> SkillLibrary:
        """A new library: this one's skills plus ``skills`` on top, without re-reading the
        volumes and without changing this library (a workflow's inline skills)."""
        other = object.__new__(SkillLibrary)
        other.home, other.volumes, other.errors = self.home, list(self.volumes), list(self.errors)
        other.warnings = list(self.warnings)
        other._extra = list(self._extra)
        other._files = dict(self._files)
        other._checked = self._checked
        other._built = True
        other._refreshing = threading.Lock()
        other.refresh_interval = self.refresh_interval
        other._skills = dict(self._skills)
        other._shadowed = {k: list(v) for k, v in self._shadowed.items()}
        for skill in skills:
            other.add(skill)
        return other

    # -- lookup ------------------------------------------------------------------------
    def get(self, skill_id: str) -> Skill:
        """The skill with this id.

        Raises:
            SkillNotFound: no such id; ``suggestions`` holds close matches.
        """
        self._maybe_refresh()
        skill = self._skills.get(skill_id)
        if skill is None and time.monotonic() - self._checked > _MISS_RECHECK:
            self.refresh()  # a file saved a moment ago (``%skill save``) counts at once
            skill = self._skills.get(skill_id)
        if skill is None:
            raise SkillNotFound(skill_id, suggestions=self.suggest(skill_id))
        return skill

    def suggest(self, skill_id: str, n: int = 3) -> list[str]:
        """Up to ``n`` loaded ids close to ``skill_id`` (difflib ratio ≥ 0.5, or substrings)."""
        ids = list(self._skills)
        close = difflib.get_close_matches(skill_id, ids, n=n, cutoff=0.5)
        close += [i for i in ids if skill_id and skill_id in i and i not in close]
        return close[:n]

    def list(
        self,
        *,
        category: str | None = None,
        tag: str | None = None,
        executable: bool | None = None,
        volume: str | None = None,
    ) -> list[Skill]:
        """Skills sorted by (category, id), filtered by the given criteria."""
        self._maybe_refresh()
        out = [
            s for s in self._skills.values()
            if (category is None or s.category == category)
            and (tag is None or tag in s.tags)
            and (executable is None or s.executable == executable)
            and (volume is None or s.volume == volume)
        ]
        return sorted(out, key=lambda s: (s.category, s.skill_id))

    @property
    def categories(self) -> builtins.list[str]:  # `list` here is the method above
        """The categories present, sorted."""
        return sorted({s.category for s in self._skills.values()})

    def overridden(self, skill_id: str) -> builtins.list[Skill]:
        """The skills this id shadows in earlier volumes (empty when none)."""
        return list(self._shadowed.get(skill_id, ()))

    def summary(self, skill: Skill) -> dict[str, Any]:
        """What a front-end shows of a skill (palette, sidebar): JSON-ready metadata, the
        ports as frontmatter dicts, its volume and the volumes it overrides."""
        return {
            "id": skill.skill_id,
            "name": skill.name,
            "description": skill.description,
            "category": skill.category,
            "tags": list(skill.tags),
            "runtime": skill.runtime,
            "executable": skill.executable,
            "volume": skill.volume,
            "overrides": [o.volume for o in self.overridden(skill.skill_id)],
            "inputs": [jsonable(p.to_dict()) for p in skill.inputs],
            "outputs": [jsonable(p.to_dict()) for p in skill.outputs],
        }

    def __contains__(self, skill_id: object) -> bool:
        self._maybe_refresh()
        return skill_id in self._skills

    def __getitem__(self, skill_id: str) -> Skill:
        return self.get(skill_id)

    def __iter__(self) -> Iterator[Skill]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._skills)

    def __repr__(self) -> str:
        vols = ", ".join(n for n, _ in self.volumes)
        return f"<SkillLibrary {len(self)} skills from {vols}; {len(self.errors)} errors>"


def _place(skill: Skill, skills: dict[str, Skill], shadowed: dict[str, list[Skill]],
           errors: list[SkillError]) -> None:
    """Put ``skill`` into ``skills``; a skill of an earlier volume it replaces goes to
    ``shadowed``; a second file of the same volume with the same id is an error."""
    old = skills.get(skill.skill_id)
    if old is not None:
        if old.volume == skill.volume and old.path != skill.path:
            # Two files of one volume claim the same id: keep the first, report the second.
            errors.append(SkillError(
                f"duplicate skill_id {skill.skill_id!r} (already defined in {old.path})",
                path=skill.path, line=1, field="skill_id",
            ))
            return
        shadowed.setdefault(skill.skill_id, []).append(old)
    skills[skill.skill_id] = skill


def skill_files(root: Path) -> list[Path]:
    """Skill files below ``root``: ``*.md``, where a folder with a ``SKILL.md`` (an Agent
    Skills folder) counts as that one file and its other Markdown is reference material.

    Each real folder and file is visited once, however many symlinks lead to it, so
    symlink cycles (a link to ``.`` or to a parent) cannot make the scan loop; folders
    that cannot be listed are skipped. Dot- and underscore-entries, ``traces/`` and
    ``workflows/`` are skipped.
    """
    try:
        if not root.is_dir():
            return []
    except OSError:
        return []
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()

    def identity(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()  # follows links: the real file or folder
        except OSError:
            return None  # a dangling link or a vanished entry
        return (st.st_dev, st.st_ino)

    def entries(folder: Path) -> list[os.DirEntry[str]] | None:
        key = identity(folder)
        if key is None or key in seen:
            return None
        seen.add(key)
        try:
            with os.scandir(folder) as it:
                listed = sorted(it, key=lambda e: e.name)
        except OSError:
            return None
        skill_md = folder / "SKILL.md"
        if folder != root and any(e.name == "SKILL.md" for e in listed) and skill_md.is_file():
            md_key = identity(skill_md)
            if md_key is not None and md_key not in seen:
                seen.add(md_key)
                found.append(skill_md)
            return None
        return listed

    # Depth first in name order, with a stack of iterators rather than recursion so that
    # a very deep tree cannot hit the recursion limit.
    first = entries(root)
    stack = [(root, iter(first or []))]
    while stack:
        folder, it = stack[-1]
        entry = next(it, None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith((".", "_")):
            continue
        path = folder / entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            if entry.name not in ("traces", "workflows"):
                sub = entries(path)
                if sub is not None:
                    stack.append((path, iter(sub)))
        elif entry.name.endswith(".md") and entry.name not in _SKIP_NAMES:
            file_key = identity(path)
            if file_key is not None and file_key not in seen:
                seen.add(file_key)
                found.append(path)
    return found
