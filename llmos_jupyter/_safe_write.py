"""Writes that stay where they belong: a regular file under a root folder, nothing else.

:func:`safe_write` is for every skill that writes files on behalf of a workflow
(``export-results`` and later ones). A workflow's data is not trusted, so the path it
names is treated as hostile:

* it must be relative, without ``..``, NUL, or a ``.git``/``.hg``/``.svn`` component
  anywhere (case-insensitive, also in the spellings Windows and macOS file systems treat
  as the same name: trailing dots/spaces, ``GIT~1``, ignorable Unicode) — writing a VCS
  folder's ``config`` or hooks makes the next ``git status`` run a command;
* the folders are walked one component at a time from an open descriptor of the root
  with ``O_NOFOLLOW|O_DIRECTORY`` (``openat``), so a symbolic link anywhere on the way is
  refused instead of followed, and a folder renamed or replaced by a link after it was
  opened cannot redirect the write (the descriptor keeps pointing at the checked folder);
* an existing target must be a regular file with one link: a symbolic link, a directory,
  a FIFO, a socket or a device is refused, and so is a hard link (``st_nlink > 1``),
  whose other name may lie outside the root;
* the data goes to a new temporary file created with ``O_CREAT|O_EXCL`` in the target's
  folder (through the folder's descriptor), which is then renamed over the target
  (``renameat``; atomic on POSIX). A rename replaces the directory entry itself, so even
  a link planted at the target name after the check is replaced, not written through.

Where the platform lacks ``openat``-style calls (Windows, some WebAssembly builds) the same
refusals are made with ``lstat`` on each component before writing; that path cannot rule
out a concurrent swap between the check and the write, and says so in its docstring.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

from llmos_jupyter._exceptions import LlmosError

__all__ = ["VCS_DIRS", "UnsafeWrite", "check_relative_path", "safe_write"]

VCS_DIRS = frozenset({".git", ".hg", ".svn"})
"""Folder names nothing may be written into (compared case-insensitively)."""

# Characters file systems ignore when comparing names (HFS+ ignores these in ".git").
_IGNORABLE = dict.fromkeys(
    [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0xFEFF, 0x00AD])
_SHORT_NAMES = frozenset({"git~1", "hg~1", "svn~1"})  # Windows 8.3 names of .git, .hg, .svn


class UnsafeWrite(LlmosError, ValueError):
    """A write :func:`safe_write` refuses; the message names the path and the reason.

    Also a ``ValueError``, so skill code that reports bad inputs as ``ValueError`` keeps
    doing so.
    """

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"path {self.path!r}: {reason}")


def _is_vcs(name: str) -> bool:
    folded = unicodedata.normalize("NFKC", name).translate(_IGNORABLE).rstrip(". ").lower()
    return folded in VCS_DIRS or folded in _SHORT_NAMES


def check_relative_path(relative_path: str | os.PathLike[str]) -> list[str]:
    """The components of ``relative_path`` (``.`` and empty ones dropped).

    Raises:
        UnsafeWrite: empty, NUL, absolute (POSIX or Windows form), ``..``, a VCS folder
            component, or no file name left.
    """
    text = os.fspath(relative_path)
    if not isinstance(text, str):
        raise UnsafeWrite(text, "must be a text path")
    if not text.strip():
        raise UnsafeWrite(text, "must be a non-empty relative path")
    if "\x00" in text:
        raise UnsafeWrite(text, "contains a NUL character")
    if (PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute()
            or PureWindowsPath(text).drive or text.startswith(("\\", "/"))):
        raise UnsafeWrite(text, "is absolute; give a path relative to the working directory")
    parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeWrite(text, "contains '..' (it could lead outside the working directory)")
    vcs = [p for p in parts if _is_vcs(p)]
    if vcs:
        raise UnsafeWrite(text, f"goes into the version-control folder {vcs[0]!r}; writing "
                          "there could make the next git/hg/svn command run code")
    if not parts:
        raise UnsafeWrite(text, "names the working directory itself, not a file")
    return parts


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _check_target(text: str, name: str, st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeWrite(text, f"{name!r} is a symbolic link; refusing to write through it "
                          "(it could lead outside the working directory)")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeWrite(text, f"{name!r} exists and is {_kind(st.st_mode)}, not a regular file")
    if st.st_nlink > 1:
        raise UnsafeWrite(text, f"{name!r} is a hard link ({st.st_nlink} names); its other "
                          "names may lie outside the working directory")


def _as_bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"data must be bytes or str, got {type(data).__name__}")


def _have_dir_fd() -> bool:
    need = (os.open, os.mkdir, os.rename, os.stat, os.unlink)
    return (hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")
            and all(f in os.supports_dir_fd for f in need)
            and os.stat in os.supports_follow_symlinks)


def safe_write(root: str | os.PathLike[str], relative_path: str | os.PathLike[str],
               data: bytes | bytearray | memoryview | str, *, make_parents: bool = True) -> Path:
    """Write ``data`` to the regular file ``root/relative_path``, atomically, refusing every
    path that is or could become a write outside ``root`` (see the module docstring).

    Args:
        root: the folder writes are confined to (usually the working directory); it is
            trusted and may itself be reached through a symbolic link.
        relative_path: where to write, relative to ``root`` (``/``-separated; ``\\`` is a
            separator too).
        data: the file's bytes; ``str`` is written as UTF-8.
        make_parents: create missing folders (mode 0o777 minus the umask).

    Returns:
        The absolute path written (``root`` made absolute, then the components).

    Raises:
        UnsafeWrite: the path or something on it is refused (the message says which
            component and why).
        OSError: the write itself failed (disk full, permissions); no temporary file is
            left behind.
        TypeError: ``data`` is neither bytes nor str.
    """
    text = os.fspath(relative_path)
    parts = check_relative_path(text)
    payload = _as_bytes(data)
    root_path = Path(os.path.abspath(os.fspath(root)))
    if not root_path.is_dir():
        raise UnsafeWrite(text, f"the root {str(root_path)!r} is not a directory")
    if _have_dir_fd():
        _write_at(root_path, text, parts, payload, make_parents)
    else:  # pragma: no cover - exercised on platforms without openat
        _write_checked(root_path, text, parts, payload, make_parents)
    return root_path.joinpath(*parts)


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | \
    getattr(os, "O_CLOEXEC", 0)


def _open_dir(text: str, name: str, parent: int, make: bool) -> int:
    for _ in range(2):
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not make:
                raise UnsafeWrite(text, f"folder {name!r} does not exist") from None
            try:
                os.mkdir(name, 0o777, dir_fd=parent)
            except FileExistsError:
                pass  # created concurrently: open (and check) it on the next round
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                try:
                    st = os.stat(name, dir_fd=parent, follow_symlinks=False)
                    what = _kind(st.st_mode)
                except OSError:
                    what = "not a directory"
                if what == "a symbolic link":
                    raise UnsafeWrite(text, f"{name!r} is a symbolic link; refusing to follow "
                                      "it (it could lead outside the working directory)") from None
                raise UnsafeWrite(text, f"{name!r} is {what}, not a folder") from None
            raise
    raise UnsafeWrite(text, f"folder {name!r} keeps changing; refusing to write")


def _write_at(root: Path, text: str, parts: list[str], payload: bytes, make: bool) -> None:
    fds: list[int] = []
    try:
        fds.append(os.open(str(root), os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)))
        for name in parts[:-1]:
            fds.append(_open_dir(text, name, fds[-1], make))
        folder, name = fds[-1], parts[-1]
        mode = 0
        try:
            st = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None:
            _check_target(text, name, st)
            mode = stat.S_IMODE(st.st_mode)
        tmp = f".{name[:100]}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | getattr(os, "O_CLOEXEC", 0), 0o666, dir_fd=folder)  # minus the umask
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                if st is not None:
                    os.fchmod(f.fileno(), mode)  # keep an overwritten file's permissions
            os.rename(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=folder)
            except OSError:
                pass
            raise
    finally:
        for fd in reversed(fds):
            os.close(fd)


def _write_checked(root: Path, text: str, parts: list[str], payload: bytes,
                   make: bool) -> None:  # pragma: no cover - platforms without openat
    """The same refusals by ``lstat`` before the write (a concurrent swap of a folder for a
    link between the check and the rename is not ruled out here)."""
    from llmos_jupyter._atomic import atomic_write_bytes

    folder = root
    for name in parts[:-1]:
        folder = folder / name
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            if not make:
                raise UnsafeWrite(text, f"folder {name!r} does not exist") from None
            os.mkdir(folder)
            st = os.lstat(folder)
        if stat.S_ISLNK(st.st_mode):
            raise UnsafeWrite(text, f"{name!r} is a symbolic link; refusing to follow it (it "
                              "could lead outside the working directory)")
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafeWrite(text, f"{name!r} is {_kind(st.st_mode)}, not a folder")
    target = folder / parts[-1]
    try:
        _check_target(text, parts[-1], os.lstat(target))
    except FileNotFoundError:
        pass
    atomic_write_bytes(target, payload)
