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

Writes are serialised across threads *and processes*: a write holds the volume's file
lock (``$LLMOS_HOME/.locks/<volume>.lock``, the ``filelock`` package: an OS lock that dies
with its process) from reading the old file to the commit, so concurrent ``%skill save``
calls all land, one commit each. A write that fails after changing the file puts the old
content back, so no file differs from its last commit because of llmos.

Crash safety: while a write runs, ``$LLMOS_HOME/.locks/<volume>.writer.json`` names the
process and the path. If that process is killed (``kill -9``, power loss), the next write
finds the record and recovers before doing anything else: it removes the git lock files
the dead process left (``.git/index.lock``, ref locks), removes its temporary files
(``.<name>.XXXXXXXX.tmp`` under ``skills/`` and ``workflows/``), and commits the file it
was writing if that differs from the last commit ("Recover interrupted write of ...").
A git lock file without such a record belongs to another git program: it is waited for,
and removed as stale once older than :data:`STALE_GIT_LOCK_S`. Every step is logged on
the ``llmos_jupyter.volumes`` logger and kept in :attr:`Volume.recovered`. Errors of the
git library (dulwich) surface as :class:`~llmos_jupyter._volumes.errors.VolumeGitError`
naming the volume and the operation, never as a raw traceback.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmos_jupyter._atomic import atomic_write_text
from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._paths import VOLUMES, llmos_home, volume_dir
from llmos_jupyter._volumes.config import author, team_writable
from llmos_jupyter._volumes.errors import (
    RevisionNotFound,
    VolumeError,
    VolumeGitError,
    VolumeLocked,
    VolumeReadOnly,
)

__all__ = ["GITIGNORE", "LOCK_TIMEOUT_S", "STALE_GIT_LOCK_S", "Revision", "Volume"]

LOCK_TIMEOUT_S = 120.0
"""Seconds a write waits for the volume's lock (another process's write) before
:class:`VolumeLocked`."""
STALE_GIT_LOCK_S = 60.0
"""Age in seconds after which a git lock file no llmos write owns counts as stale (a git
process killed mid-operation); a younger one is waited for."""

log = logging.getLogger("llmos_jupyter.volumes")
# mkstemp names of atomic_write: ".<file name>.<8 random characters>.tmp"
_TEMP_FILE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")

GITIGNORE = "# llmos: run artefacts are not versioned (see docs/evolution.md)\ntraces/\nchats/\n"

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()
_SKILL_ID_LINE = re.compile(rb"^skill_id:\s*['\"]?([a-z0-9][a-z0-9-]*)['\"]?\s*$", re.MULTILINE)


def _lock(root: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(root.resolve(), threading.Lock())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


@contextmanager
def _git_errors(volume: Volume, what: str) -> Iterator[None]:
    """Turn any failure of the git library into a worded :class:`VolumeGitError`."""
    try:
        yield
    except LlmosError:
        raise
    except Exception as exc:  # noqa: BLE001 - dulwich raises many unrelated types
        from llmos_jupyter._redact import redact

        detail = redact(f"{type(exc).__name__}: {exc}")
        raise VolumeGitError(
            f"the {volume.name} volume's git repository ({volume.root / '.git'}) could not "
            f"{what}: {detail}", volume=volume.name, cause=detail) from None


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
        self.recovered: list[str] = []
        """What the last write found and repaired (stale git locks, temporary files, an
        interrupted write); empty when the volume was in order."""

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

        from llmos_jupyter._redact import redact

        # History is forever: no secret may enter a commit's message or author line.
        who = redact(author(self.home)).encode()
        # sign=False and no_verify: a user's global git config (gpgsign, hooks) must not
        # make a product write fail or prompt.
        sha = porcelain.commit(repo, message=redact(message).encode(), author=who,
                               committer=who, sign=False, no_verify=True)
        return self._revision(repo, repo[sha])

    def _open_for_write(self, path: str | Path | None) -> Any:
        self.check_writable(path)
        with _git_errors(self, "open the repository"):
            return self._repo() if self.is_repository else self._init()

    # -- locking and recovery ----------------------------------------------------------
    @property
    def _lock_path(self) -> Path:
        return self.home / ".locks" / f"{self.name}.lock"

    @property
    def _writer_path(self) -> Path:
        return self.home / ".locks" / f"{self.name}.writer.json"

    @contextmanager
    def _writing(self, rel: str) -> Iterator[None]:
        """Hold the volume (threads, then processes) for one write of ``rel``; repair what
        a killed writer left first; leave a record naming this write while it runs."""
        from filelock import FileLock, Timeout

        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with _lock(self.root):
            flock = FileLock(str(self._lock_path), timeout=LOCK_TIMEOUT_S)
            try:
                flock.acquire()
            except Timeout:
                raise VolumeLocked(
                    f"the {self.name} volume stayed locked by another process for "
                    f"{LOCK_TIMEOUT_S:.0f} s ({self._lock_path}); try again when its write "
                    "is done", volume=self.name, path=str(self._lock_path)) from None
            try:
                self.recovered = self._recover()
                record = {"pid": os.getpid(), "host": socket.gethostname(),
                          "time": time.time(), "path": rel}
                atomic_write_text(self._writer_path, json.dumps(record))
                yield
                self._writer_path.unlink(missing_ok=True)
            finally:
                flock.release()

    def _put_back(self, repo: Any, rel: str, old: bytes | None) -> None:
        """Undo a write whose commit failed: the old content (or no file) and index entry."""
        full = self.root / rel
        try:
            if old is None:
                full.unlink(missing_ok=True)
            else:
                from llmos_jupyter._atomic import atomic_write_bytes

                atomic_write_bytes(full, old)
            from dulwich import porcelain

            porcelain.reset(repo, "mixed")  # the index back to HEAD: nothing half-staged
        except Exception as exc:  # noqa: BLE001 - the original error matters more
            log.warning("%s: could not undo the failed write of %s (%s); the next write "
                        "will commit or repair it", self.root, rel, exc)
            return
        self._writer_path.unlink(missing_ok=True)

    def _recover(self) -> list[str]:
        """Repair what a killed writer left. Called with the volume locked, so no llmos
        process is writing: git locks recorded as ours are stale for sure."""
        notes: list[str] = []
        writer: dict[str, Any] | None = None
        if self._writer_path.exists():
            try:
                writer = json.loads(self._writer_path.read_text(encoding="utf-8"))
                if not isinstance(writer, dict):
                    writer = {}
            except (OSError, ValueError):
                writer = {}
        git = self.root / ".git"
        if git.is_dir():
            notes += self._clear_git_locks(git, writer)
        for sub in ("skills", "workflows"):
            folder = self.root / sub
            if not folder.is_dir():
                continue
            for tmp in folder.rglob(".*.tmp"):
                if not (_TEMP_FILE.match(tmp.name) and tmp.is_file()):
                    continue
                # After a crash every temp file is the dead writer's; otherwise only old
                # ones (a Workflow.save outside the volume lock may be writing right now).
                try:
                    age = time.time() - tmp.stat().st_mtime
                except OSError:
                    continue
                if writer is not None or age > STALE_GIT_LOCK_S:
                    tmp.unlink(missing_ok=True)
                    notes.append(f"removed the temporary file {tmp.relative_to(self.root)} of "
                                 "an interrupted write")
        if writer is not None:
            notes += self._commit_interrupted(writer)
            self._writer_path.unlink(missing_ok=True)
        for note in notes:
            log.warning("%s volume (%s): %s", self.name, self.root, note)
        return notes

    def _clear_git_locks(self, git: Path, writer: dict[str, Any] | None) -> list[str]:
        notes: list[str] = []
        if writer is not None:
            # A dead llmos writer's locks may be anywhere (objects, refs, index).
            candidates = [p for p in git.rglob("*.lock") if p.is_file()]
        else:
            candidates = [git / n for n in ("index.lock", "HEAD.lock", "packed-refs.lock",
                                            "config.lock")] + list((git / "refs").rglob("*.lock"))
        for lock in candidates:
            deadline = time.monotonic() + LOCK_TIMEOUT_S
            while True:
                try:
                    age = time.time() - lock.stat().st_mtime
                except FileNotFoundError:
                    break  # the git program holding it finished
                rel = lock.relative_to(self.root)
                if writer is not None:
                    pid = writer.get("pid")
                    who = (f"process {pid}, which is no longer running"
                           if isinstance(pid, int) and not _pid_alive(pid)
                           else f"process {pid}, which lost the volume lock")
                    lock.unlink(missing_ok=True)
                    notes.append(f"removed the stale git lock {rel} left by an interrupted "
                                 f"llmos write ({who})")
                    break
                if age > STALE_GIT_LOCK_S:
                    lock.unlink(missing_ok=True)
                    notes.append(f"removed the stale git lock {rel} ({age:.0f} s old: the git "
                                 "program that made it was stopped)")
                    break
                if time.monotonic() > deadline:
                    raise VolumeLocked(
                        f"{lock} is held by another git program; retry when it is done, or "
                        "delete the file if no git command is running in "
                        f"{self.root}", volume=self.name, path=str(lock))
                time.sleep(0.05)
        return notes

    def _commit_interrupted(self, writer: dict[str, Any]) -> list[str]:
        """Commit the file a killed writer was writing, if it differs from HEAD (the
        write reached the disk but not the history), and anything it left staged."""
        rel = writer.get("path")
        if not isinstance(rel, str) or not self.is_repository:
            return []
        with _git_errors(self, "recover an interrupted write"):
            from dulwich import porcelain

            repo = self._repo()
            try:
                head_tree = repo[repo.head()].tree
            except KeyError:
                return []
            full = self.root / rel
            on_disk = full.read_bytes() if full.is_file() else None
            in_head = _blob_at(repo, head_tree, rel)
            staged = porcelain.status(repo, untracked_files="no").staged
            if on_disk == in_head and not any(staged.values()):
                return []
            if on_disk is None:
                if self._tracked(repo, rel):
                    porcelain.remove(repo, paths=[str(full)], cached=True)
            else:
                porcelain.add(repo, paths=[str(full)])
            pid = writer.get("pid")
            rev = self._commit(repo, f"Recover interrupted write of {rel}\n\nThe llmos process "
                               f"{pid} was stopped after changing {rel} and before committing "
                               "it; this commit records the file as it was left.")
            return [(f"committed {rel} as {rev.short}: process {pid} was stopped after "
                     "writing it and before its commit")]

    # -- writes ------------------------------------------------------------------------
    def write_text(self, path: str | Path, text: str, *, message: str) -> Revision | None:
        """Write ``text`` to ``path`` (atomically) and commit it.

        Safe from several threads and processes at once: writes take turns (see the
        module's docstring), and a write that fails after changing the file restores it.

        Returns:
            The new commit, or ``None`` when the file already held exactly this text
            (and is committed): nothing to record.

        Raises:
            VolumeReadOnly: this volume may not be written.
            VolumeError: the path is outside the volume.
            VolumeLocked: another process kept the volume locked for :data:`LOCK_TIMEOUT_S`.
            VolumeGitError: the git repository failed (message names volume and step).
        """
        rel = self.relative(path)
        self.check_writable(rel)
        with self._writing(rel):
            repo = self._open_for_write(rel)
            full = self.root / rel
            old = full.read_bytes() if full.is_file() else None
            if old == text.encode("utf-8") and self._tracked(repo, rel):
                return None
            atomic_write_text(full, text)
            try:
                with _git_errors(self, f"commit {rel}"):
                    from dulwich import porcelain

                    porcelain.add(repo, paths=[str(full)])
                    return self._commit(repo, message)
            except BaseException:
                self._put_back(repo, rel, old)
                raise

    def delete(self, path: str | Path, *, message: str) -> Revision:
        """Remove a file and commit the removal.

        Raises:
            VolumeReadOnly: this volume may not be written.
            VolumeError: no such file.
            VolumeLocked, VolumeGitError: as for :meth:`write_text`.
        """
        rel = self.relative(path)
        self.check_writable(rel)
        with self._writing(rel):
            repo = self._open_for_write(rel)
            full = self.root / rel
            if not full.exists():
                raise VolumeError(f"{full}: no such file in the {self.name} volume",
                                  volume=self.name)
            old = full.read_bytes() if full.is_file() else None
            try:
                with _git_errors(self, f"commit the removal of {rel}"):
                    from dulwich import porcelain

                    if self._tracked(repo, rel):
                        porcelain.remove(repo, paths=[str(full)])
                    else:
                        full.unlink()
                    full.unlink(missing_ok=True)
                    return self._commit(repo, message)
            except BaseException:
                self._put_back(repo, rel, old)
                raise

    def restore(self, skill_id: str, rev: str) -> Revision | None:
        """Put the skill ``skill_id`` back as it was at ``rev`` (a new commit; history is
        never rewritten). Returns ``None`` when the file already has that content.

        Raises:
            RevisionNotFound: unknown revision.
            VolumeError: the skill is not in the volume at that revision.
            VolumeReadOnly: this volume may not be written.
        """
        self.check_writable()
        with _git_errors(self, f"read skill {skill_id} at {rev}"):
            repo = self._repo_or_error()
            sha = self.resolve(rev, repo)
            rel, data = self._skill_at(repo, sha, skill_id)
            text = data.decode("utf-8")
        return self.write_text(rel, text,
                               message=f"Restore skill {skill_id} as of {sha.decode()[:7]}\n\n"
                               f"{rel} set to its content at revision {sha.decode()}.")

    # -- history -----------------------------------------------------------------------
    def log(self, *, path: str | Path | None = None, skill_id: str | None = None,
            limit: int | None = None) -> list[Revision]:
        """Commits newest first; only those touching ``path`` / the skill's file if given.
        An empty list when the volume is not (yet) a repository."""
        if not self.is_repository:
            return []
        with _git_errors(self, "read its history"):
            return self._log(path, skill_id, limit)

    def _log(self, path: str | Path | None, skill_id: str | None,
             limit: int | None) -> list[Revision]:
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
        with _git_errors(self, f"diff {rev}" + (f" {rev2}" if rev2 else "")):
            return self._diff(rev, rev2)

    def _diff(self, rev: str, rev2: str | None) -> str:
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
        with _git_errors(self, f"show {path} at {rev}"):
            repo = self._repo_or_error()
            sha = self.resolve(rev, repo)
            rel = self.relative(path)
            data = _blob_at(repo, repo[sha].tree, rel)
        if data is None:
            raise VolumeError(f"{rel} does not exist at revision {sha.decode()[:7]}",
                              volume=self.name)
        return data.decode("utf-8", errors="replace")

    def resolve(self, rev: str, repo: Any = None) -> bytes:
        """A commit id (hex bytes) for a git revision, as git reads it: ``HEAD``,
        ``HEAD~N`` (N-th first-parent ancestor), ``HEAD^N`` (the N-th parent of a merge;
        ``^`` is ``^1``), chains of them (``HEAD~2^2``), a branch, a tag, a full or short
        (≥ 4 digits) commit id, each optionally followed by those suffixes.

        Parsed by dulwich's own revision parser (:mod:`dulwich.objectspec`:
        ``parse_commit`` for the base, ``parse_object`` for the ``~``/``^`` suffixes), so
        the grammar is git's, not a look-alike.

        Raises:
            RevisionNotFound: nothing matches, or a suffix goes past the history (no such
                parent).
            VolumeError: a short id is ambiguous.
            VolumeGitError: the repository could not be read.
        """
        with _git_errors(self, f"resolve the revision {rev!r}"):
            return self._resolve(rev, repo)

    def _resolve(self, rev: str, repo: Any) -> bytes:
        from dulwich.objects import Commit, Tag
        from dulwich.objectspec import AmbiguousShortId, parse_commit, parse_object

        repo = repo if repo is not None else self._repo_or_error()
        text = rev.strip()
        # The base (a ref or an id) up to the first ~ or ^: parse_commit resolves refs and
        # short ids; parse_object applies git's ~N / ^N operators to the full id.
        base, suffix = re.fullmatch(r"([^~^]*)(.*)", text, re.DOTALL).groups()  # type: ignore[union-attr]
        if not base:
            raise RevisionNotFound(rev, volume=self.name)
        # One operator at a time: dulwich's parse_object splits a chain at its first "~"
        # before any "^" ("X^2~1" would be read as ("X^2")~1 and fail).
        steps = re.findall(r"[~^]\d*", suffix)
        if "".join(steps) != suffix:
            raise RevisionNotFound(rev, volume=self.name)
        try:
            commit = parse_commit(repo, base.encode())
            for step in steps:
                obj = parse_object(repo, commit.id + step.encode())
                if not isinstance(obj, (Commit, Tag)):
                    raise RevisionNotFound(rev, volume=self.name)
                commit = parse_commit(repo, obj)
        except AmbiguousShortId as exc:
            n = len(exc.args[1]) if len(exc.args) > 1 else "several"
            raise VolumeError(f"revision {rev!r} is ambiguous ({n} commits match); give more "
                              "digits", volume=self.name) from None
        except (KeyError, ValueError, TypeError):
            raise RevisionNotFound(rev, volume=self.name) from None
        if not isinstance(commit, Commit):
            raise RevisionNotFound(rev, volume=self.name)
        return commit.id

    # -- internals ---------------------------------------------------------------------
    def _repo_or_error(self) -> Any:
        if not self.is_repository:
            raise VolumeError(f"the {self.name} volume ({self.root}) has no history yet: it "
                              "becomes a git repository on the first write through llmos",
                              volume=self.name)
        with _git_errors(self, "open the repository"):
            return self._repo()

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


def _blob_at(repo: Any, tree_id: Any, rel: str) -> bytes | None:
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
