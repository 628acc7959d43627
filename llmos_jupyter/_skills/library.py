"""SkillLibrary: the skills loaded from the volumes system < team < user."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import SkillError, SkillNotFound
from llmos_jupyter._paths import VOLUMES, llmos_home, volume_dir
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.parser import load_skill
from llmos_jupyter._skills.ports import jsonable

__all__ = ["SkillLibrary"]

_SKIP_NAMES = {"README.md", "CHANGELOG.md", "LICENSE.md"}


class SkillLibrary:
    """The set of loaded skills, by id.

    Volumes load in order ``system`` (the package's skills), ``team``
    (``$LLMOS_HOME/team/skills``) and ``user`` (``$LLMOS_HOME/user/skills``); a skill in
    a later volume overrides one with the same ``skill_id`` in an earlier one. A broken
    file never stops the others from loading: it is recorded in :attr:`errors` (file,
    line, reason) and skipped.

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
        self.errors: list[SkillError] = []
        self.reload()

    # -- loading -----------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read every volume from disk (in-memory skills are kept)."""
        self._skills.clear()
        self._shadowed.clear()
        self.errors = []
        for name, root in self.volumes:
            for path in skill_files(root):
                try:
                    self._put(load_skill(path, volume=name))
                except SkillError as exc:
                    self.errors.append(exc)
        for skill in self._extra:
            self._put(skill)

    def _put(self, skill: Skill) -> None:
        old = self._skills.get(skill.skill_id)
        if old is not None:
            if old.volume == skill.volume and old.path != skill.path:
                # Two files of one volume claim the same id: keep the first, report the second.
                self.errors.append(SkillError(
                    f"duplicate skill_id {skill.skill_id!r} (already defined in {old.path})",
                    path=skill.path, line=1, field="skill_id",
                ))
                return
            self._shadowed.setdefault(skill.skill_id, []).append(old)
        self._skills[skill.skill_id] = skill

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
        self.reload()

    def overlay(self, skills: Iterable[Skill]) -> SkillLibrary:
        """A new library: this one's skills plus ``skills`` on top, without re-reading the
        volumes and without changing this library (a workflow's inline skills)."""
        other = object.__new__(SkillLibrary)
        other.home, other.volumes, other.errors = self.home, list(self.volumes), list(self.errors)
        other._extra = list(self._extra)
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
        try:
            return self._skills[skill_id]
        except KeyError:
            raise SkillNotFound(skill_id, suggestions=self.suggest(skill_id)) from None

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
        out = [
            s for s in self._skills.values()
            if (category is None or s.category == category)
            and (tag is None or tag in s.tags)
            and (executable is None or s.executable == executable)
            and (volume is None or s.volume == volume)
        ]
        return sorted(out, key=lambda s: (s.category, s.skill_id))

    @property
    def categories(self) -> list[str]:
        """The categories present, sorted."""
        return sorted({s.category for s in self._skills.values()})

    def overridden(self, skill_id: str) -> list[Skill]:
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


def skill_files(root: Path) -> list[Path]:
    """Skill files below ``root``: ``*.md``, where a folder with a ``SKILL.md`` (an Agent
    Skills folder) counts as that one file and its other Markdown is reference material."""
    if not root.is_dir():
        return []
    found: list[Path] = []

    def walk(folder: Path) -> None:
        entries = sorted(folder.iterdir())
        skill_md = folder / "SKILL.md"
        if skill_md.is_file() and folder != root:
            found.append(skill_md)
            return
        for entry in entries:
            if entry.name.startswith((".", "_")):
                continue
            if entry.is_dir():
                if entry.name not in ("traces", "workflows"):
                    walk(entry)
            elif entry.suffix == ".md" and entry.name not in _SKIP_NAMES:
                found.append(entry)

    walk(root)
    return found
