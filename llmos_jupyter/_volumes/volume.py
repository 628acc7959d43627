"""A volume as a git repository (dulwich: pure Python, no git binary, runs in Pyodide).

The repository's root is the volume folder (``$LLMOS_HOME/user``, ``$LLMOS_HOME/team``),
so ``skills/`` and ``workflows/`` are versioned together. It is created on the first write
through the product, with one commit that takes in what the folder already held. Every
later write (:meth:`Volume.write_text`, :meth:`Volume.delete`, :meth:`Volume.restore`) is
one commit, authored by :func:`~llmos_jupyter._volumes.config.author`.

Trace notebooks are *not* committed: ``traces/`` is listed in the volume's ``.gitignore``.
They are run artefacts (thousands of files, PNG outputs) that the evolution step reads and
cites by run id in a compound skill's ``derived_from``; versioning them would make the
repository grow with every run for no reader (see docs/evolution.md).

Writes are serialised per volume folder within one process; two processes writing to the
same volume at the same instant are not coordinated (dulwich's index lock makes the loser
fail with an error rather than corrupt the repository).
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmos_jupyter._atomic import atomic_write_text
from llmos_jupyter._paths import VOLUMES, llmos_home, volume_dir
from llmos_jupyter._volumes.config import author, team_writable
from llmos_jupyter._volumes.errors import RevisionNotFound, VolumeError, VolumeReadOnly

__all__ = ["GITIGNORE", "Revision", "Volume"]

GITIGNORE = "# llmos: run artefacts are not versioned (see docs/evolution.md)\ntraces/\nchats/\n"

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()
_SKILL_ID_LINE = re.compile(rb"^skill_id:\s*['\"]?([a-z0-9][a-z0-9-]*)['\"]?\s*$", re.MULTILINE)


def _lock(root: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(root.resolve(), threading.Lock())


@dataclass(frozen=True)
class Revision:
    """One commit of a volume."""

    id: str
    """The full commit id (40 hex digits)."""
    author: str
    time: float
    """Commit time, seconds since the epoch (UTC)."""
    message: str
    paths: tuple[str, ...] = ()
    """Files the commit changed (relative to the volume root)."""

    @property
    def short(self) -> str:
        return self.id[:7]

    @property
    def summary(self) -> str:
        """The message's first line."""
        return self.message.split("\n", 1)[0]

    def __str__(self) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(self.time))
        return f"{self.short} {stamp} {self.author.split(' <')[0]}: {self.summary}"


class Volume:
    """A skills volume (``system``, ``team`` or ``user``) and its git history.

    Args:
        name: ``user`` (writable), ``team`` (read-only unless ``[volumes] team_writable``)
            or ``system`` (always read-only).
        home: ``LLMOS_HOME`` (default: the environment's).

    Example::

        vol = Volume("user")
        vol.write_text("skills/fit.md", text, message="Add skill fit")
        [str(r) for r in vol.log(skill_id="fit")]
        vol.restore("fit", "HEAD~1")
    """

    def __init__(self, name: str = "user", home: str | Path | None = None) -> None:
        if name not in VOLUMES:
            raise VolumeError(f"unknown volume {name!r}; expected one of {', '.join(VOLUMES)}")
        self.name = name
        self.home = Path(home).expanduser() if home is not None else llmos_home()
        self.root = volume_dir(name, self.home)

    def __repr__(self) -> str:
        return f"<Volume {self.name} at {self.root}>"

    # -- permissions -------------------------------------------------------------------
    @property
    def writable(self) -> bool:
        """Whether the product may write here (system: never; team: when configured)."""
        if self.name == "system":
            return False
        if self.name == "team":
            return team_writable(self.home)
        return True

    def check_writable(self, path: str | Path | None = None) -> None:
        """Raise :class:`VolumeReadOnly` unless :attr:`writable`."""
        if self.writable:
            return
        hint = ("set `[volumes] team_writable = true` in " + str(self.home / "config.toml")
                if self.name == "team" else "write to the user volume instead")
        raise VolumeReadOnly(self.name, path=str(path) if path is not None else None, hint=hint)

    # -- paths -------------------------------------------------------------------------
    @property
    def skills_dir(self) -> Path:
        return self.root if self.name == "system" else self.root / "skills"

    def relative(self, path: str | Path) -> str:
        """``path`` (absolute, or relative to the volume root) as a POSIX path in the repo.

        Raises:
            VolumeError: the path is outside the volume or inside ``.git``.
        """
        p = Path(path)
        full = (p if p.is_absolute() else self.root / p).resolve()
        try:
            rel = full.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            raise VolumeError(f"{path} is not inside the {self.name} volume ({self.root})",
                              volume=self.name) from None
        if rel in ("", ".") or rel.split("/")[0] == ".git":
            raise VolumeError(f"{path}: not a file of the {self.name} volume", volume=self.name)
        return rel

    def skill_path(self, skill_id: str) -> Path:
        """The file that holds ``skill_id`` in this volume (``skills/<id>.md`` if none yet)."""
        default = self.skills_dir / f"{skill_id}.md"
        if default.is_file():
            return default
        from llmos_jupyter._skills.library import skill_files

        for f in skill_files(self.skills_dir):
            if f.stem == skill_id or _declared_id(f.read_bytes()) == skill_id:
                return f
        return default

    # -- repository --------------------------------------------------------------------
    @property
    def is_repository(self) -> bool:
        return (self.root / ".git").is_dir()

    def _repo(self) -> Any:
        from dulwich.repo import Repo

        return Repo(str(self.root))

    def _init(self) -> Any:
        """Create the repository with a first commit of what the folder holds."""
        from dulwich import porcelain
        from dulwich.repo import Repo

        self.root.mkdir(parents=True, exist_ok=True)
        repo = Repo.init(str(self.root))
        ignore = self.root / ".gitignore"
        if not ignore.exists():
            atomic_write_text(ignore, GITIGNORE)
        existing = [str(ignore)] + [
            str(f) for sub in ("skills", "workflows") if (self.root / sub).is_dir()
            for f in sorted((self.root / sub).rglob("*")) if f.is_file()
            and not any(part.startswith(".") for part in f.relative_to(self.root).parts)
        ]
        porcelain.add(repo, paths=existing)
        n = len(existing) - 1
        self._commit(repo, f"Initialise the {self.name} volume"
                     + (f" ({n} existing file{'s' if n != 1 else ''})" if n else ""))
        return repo

    def _commit(self, repo: Any, message: str) -> Revision:
        from dulwich import porcelain

        who = author(self.home).encode()
        # sign=False and no_verify: a user's global git config (gpgsign, hooks) must not
        # make a product write fail or prompt.
        sha = porcelain.commit(repo, message=message.encode(), author=who, committer=who,
                               sign=False, no_verify=True)
        return self._revision(repo, repo[sha])

    def _open_for_write(self, path: str | Path | None) -> Any:
        self.check_writable(path)
        return self._repo() if self.is_repository else self._init()

    # -- writes ------------------------------------------------------------------------
    def write_text(self, path: str | Path, text: str, *, message: str) -> Revision | None:
        """Write ``text`` to ``path`` (atomically) and commit it.

        Returns:
            The new commit, or ``None`` when the file already held exactly this text
            (and is committed): nothing to record.

        Raises:
            VolumeReadOnly: this volume may not be written.
            VolumeError: the path is outside the volume.
        """
        rel = self.relative(path)
        with _lock(self.root):
            repo = self._open_for_write(rel)
            full = self.root / rel
            if full.is_file() and full.read_text(encoding="utf-8") == text and self._tracked(repo, rel):
                return None
            atomic_write_text(full, text)
            from dulwich import porcelain

            porcelain.add(repo, paths=[str(full)])
            return self._commit(repo, message)

    def delete(self, path: str | Path, *, message: str) -> Revision:
        """Remove a file and commit the removal.

        Raises:
            VolumeReadOnly: this volume may not be written.
            VolumeError: no such file.
        """
        rel = self.relative(path)
        with _lock(self.root):
            repo = self._open_for_write(rel)
            full = self.root / rel
            if not full.exists():
                raise VolumeError(f"{full}: no such file in the {self.name} volume",
                                  volume=self.name)
            from dulwich import porcelain

            if self._tracked(repo, rel):
                porcelain.remove(repo, paths=[str(full)])
            else:
                full.unlink()
            full.unlink(missing_ok=True)
            return self._commit(repo, message)

    def restore(self, skill_id: str, rev: str) -> Revision | None:
        """Put the skill ``skill_id`` back as it was at ``rev`` (a new commit; history is
        never rewritten). Returns ``None`` when the file already has that content.

        Raises:
            RevisionNotFound: unknown revision.
            VolumeError: the skill is not in the volume at that revision.
            VolumeReadOnly: this volume may not be written.
        """
        self.check_writable()
        repo = self._repo_or_error()
        sha = self.resolve(rev, repo)
        rel, data = self._skill_at(repo, sha, skill_id)
        return self.write_text(rel, data.decode("utf-8"),
                               message=f"Restore skill {skill_id} as of {sha.decode()[:7]}\n\n"
                               f"{rel} set to its content at revision {sha.decode()}.")

    # -- history -----------------------------------------------------------------------
    def log(self, *, path: str | Path | None = None, skill_id: str | None = None,
            limit: int | None = None) -> list[Revision]:
        """Commits newest first; only those touching ``path`` / the skill's file if given.
        An empty list when the volume is not (yet) a repository."""
        if not self.is_repository:
            return []
        repo = self._repo()
        try:
            repo.head()
        except KeyError:
            return []
        paths: list[bytes] | None = None
        if skill_id is not None:
            paths = [p.encode() for p in self._skill_paths_ever(repo, skill_id)]
            if not paths:
                return []
        elif path is not None:
            paths = [self.relative(path).encode()]
        walker = repo.get_walker(paths=paths, max_entries=limit)
        return [self._revision(repo, entry.commit) for entry in walker]

    def diff(self, rev: str, rev2: str | None = None) -> str:
        """A unified diff. With one revision: what that commit changed (against its first
        parent), like ``git show``. With two: from ``rev`` to ``rev2``."""
        from dulwich.patch import write_tree_diff

        repo = self._repo_or_error()
        new = repo[self.resolve(rev2 if rev2 is not None else rev, repo)]
        if rev2 is not None:
            old_tree = repo[self.resolve(rev, repo)].tree
        else:
            old_tree = repo[new.parents[0]].tree if new.parents else None
        buf = io.BytesIO()
        write_tree_diff(buf, repo.object_store, old_tree, new.tree)
        return buf.getvalue().decode("utf-8", errors="replace")

    def show(self, path: str | Path, rev: str = "HEAD") -> str:
        """A file's text at a revision.

        Raises:
            RevisionNotFound, VolumeError: unknown revision or no such file there.
        """
        repo = self._repo_or_error()
        sha = self.resolve(rev, repo)
        rel = self.relative(path)
        data = _blob_at(repo, repo[sha].tree, rel)
        if data is None:
            raise VolumeError(f"{rel} does not exist at revision {sha.decode()[:7]}",
                              volume=self.name)
        return data.decode("utf-8", errors="replace")

    def resolve(self, rev: str, repo: Any = None) -> bytes:
        """A commit id (hex bytes) for ``HEAD``, ``HEAD~N``, ``HEAD^``, a branch or a
        (short) commit id.

        Raises:
            RevisionNotFound: nothing matches, or a short id is ambiguous.
        """
        repo = repo if repo is not None else self._repo_or_error()
        text = rev.strip()
        m = re.fullmatch(r"(.+?)((?:[~^]\d*)*)", text)
        base, suffix = (m[1], m[2]) if m else (text, "")
        sha = self._resolve_base(repo, base, rev)
        for op, num in re.findall(r"([~^])(\d*)", suffix):
            steps = int(num) if num else 1
            if op == "^":  # ^N: the N-th parent; here only the first parent is supported
                steps = 1
            for _ in range(steps):
                parents = repo[sha].parents
                if not parents:
                    raise RevisionNotFound(rev, volume=self.name)
                sha = parents[0]
        return sha

    # -- internals ---------------------------------------------------------------------
    def _repo_or_error(self) -> Any:
        if not self.is_repository:
            raise VolumeError(f"the {self.name} volume ({self.root}) has no history yet: it "
                              "becomes a git repository on the first write through llmos",
                              volume=self.name)
        return self._repo()

    def _resolve_base(self, repo: Any, base: str, rev: str) -> bytes:
        for ref in (base.encode(), b"refs/heads/" + base.encode(), b"refs/tags/" + base.encode()):
            try:
                return repo.refs[ref]
            except KeyError:
                continue
        if re.fullmatch(r"[0-9a-fA-F]{4,40}", base):
            prefix = base.lower().encode()
            try:
                head = repo.head()
            except KeyError:
                raise RevisionNotFound(rev, volume=self.name) from None
            hits = [e.commit.id for e in repo.get_walker(include=[head])
                    if e.commit.id.startswith(prefix)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise VolumeError(f"revision {rev!r} is ambiguous ({len(hits)} commits match); "
                                  "give more digits", volume=self.name)
        raise RevisionNotFound(rev, volume=self.name)

    def _tracked(self, repo: Any, rel: str) -> bool:
        return rel.encode() in repo.open_index()

    def _revision(self, repo: Any, commit: Any) -> Revision:
        from dulwich.diff_tree import tree_changes

        old = repo[commit.parents[0]].tree if commit.parents else None
        paths = []
        for change in tree_changes(repo.object_store, old, commit.tree):
            entry = change.new if change.new is not None and change.new.path else change.old
            if entry is not None and entry.path:
                paths.append(entry.path.decode("utf-8", errors="replace"))
        return Revision(commit.id.decode(), commit.author.decode("utf-8", errors="replace"),
                        float(commit.commit_time),
                        commit.message.decode("utf-8", errors="replace").strip(), tuple(paths))

    def _skill_paths_ever(self, repo: Any, skill_id: str) -> list[str]:
        """Every path that held ``skill_id`` in any commit (renames keep their history)."""
        found: set[str] = set()
        current = self.skill_path(skill_id)
        try:
            found.add(self.relative(current))
        except VolumeError:
            pass
        prefix = self.relative(self.skills_dir) + "/" if self.name != "system" else ""
        for entry in repo.get_walker():
            for rel, data in _tree_files(repo, entry.commit.tree, prefix):
                if rel.endswith(".md") and (Path(rel).stem == skill_id
                                            or _declared_id(data()) == skill_id):
                    found.add(rel)
        return sorted(found)

    def _skill_at(self, repo: Any, sha: bytes, skill_id: str) -> tuple[str, bytes]:
        tree = repo[sha].tree
        preferred = self.relative(self.skill_path(skill_id))
        data = _blob_at(repo, tree, preferred)
        if data is not None:
            return preferred, data
        prefix = self.relative(self.skills_dir) + "/"
        for rel, get in _tree_files(repo, tree, prefix):
            if rel.endswith(".md"):
                blob = get()
                if Path(rel).stem == skill_id or _declared_id(blob) == skill_id:
                    return rel, blob
        raise VolumeError(f"skill {skill_id!r} is not in the {self.name} volume at revision "
                          f"{sha.decode()[:7]}", volume=self.name)


def _declared_id(data: bytes) -> str | None:
    head = data[:4096]
    if not head.startswith(b"---"):
        return None
    m = _SKILL_ID_LINE.search(head)
    return m[1].decode() if m else None


def _blob_at(repo: Any, tree_id: bytes, rel: str) -> bytes | None:
    from dulwich.object_store import tree_lookup_path

    try:
        _, sha = tree_lookup_path(repo.object_store.__getitem__, tree_id, rel.encode())
    except KeyError:
        return None
    obj = repo[sha]
    return obj.data if obj.type_name == b"blob" else None


def _tree_files(repo: Any, tree_id: bytes, prefix: str) -> Iterable[tuple[str, Any]]:
    """``(path, lazy data)`` for files of the tree below ``prefix``."""
    for entry in repo.object_store.iter_tree_contents(tree_id):
        path = entry.path.decode("utf-8", errors="replace")
        if path.startswith(prefix):
            yield path, (lambda sha=entry.sha: repo[sha].data)


def write_product_file(path: str | Path, text: str, *, message: str,
                       home: str | Path | None = None) -> Path:
    """Write ``text`` to ``path`` atomically; when ``path`` lies inside the user volume the
    write is also a commit with ``message`` (every product write to a volume is one).

    Raises:
        OSError: the file cannot be written.
    """
    path = Path(path)
    user = Volume("user", home)
    try:
        path.resolve().relative_to(user.root.resolve())
    except ValueError:
        atomic_write_text(path, text)
        return path
    user.write_text(path, text, message=message)
    return path
