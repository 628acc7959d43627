"""``safe_write``: regular files under the root only — no VCS folders, no links, no
devices, no escapes — written through a temporary file and an atomic rename."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._safe_write import UnsafeWrite, check_relative_path, safe_write

posix = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file types")


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "work"
    r.mkdir()
    return r


def _no_temp_files(folder):
    return [p.name for p in folder.rglob("*.tmp")] == []


def test_happy_paths_json_csv_png_and_overwrite(root):
    p = safe_write(root, "res/deep/out.json", json.dumps({"a": 1}))
    assert p == root / "res" / "deep" / "out.json" and json.loads(p.read_text()) == {"a": 1}
    safe_write(root, "t.csv", b"a,b\r\n1,2\r\n")
    assert (root / "t.csv").read_bytes() == b"a,b\r\n1,2\r\n"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    safe_write(root, "./figs//plot.png", bytearray(png))
    assert (root / "figs" / "plot.png").read_bytes() == png
    os.chmod(root / "t.csv", 0o640)
    safe_write(root, "t.csv", "x")  # overwrite keeps the file's permissions
    assert (root / "t.csv").read_text() == "x"
    assert stat.S_IMODE((root / "t.csv").stat().st_mode) == 0o640
    assert _no_temp_files(root)


def test_errors_are_named_llmos_and_value_errors(root):
    with pytest.raises(UnsafeWrite) as info:
        safe_write(root, ".git/config", "x")
    assert isinstance(info.value, LlmosError) and isinstance(info.value, ValueError)
    assert info.value.path == ".git/config" and "version-control" in str(info.value)


@pytest.mark.parametrize("path", [
    ".git/config", ".GIT/config", "sub/.git/hooks/pre-commit", ".hg/hgrc", "a/.Svn/entries",
    ".git", ".git./config", ".git /config", "GIT~1/config", ".g\u200cit/config",
])
def test_refuses_vcs_folders(root, path):
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    with pytest.raises(UnsafeWrite, match="version-control"):
        safe_write(root, path, "[core]\n\tfsmonitor = touch /tmp/pwned\n")
    assert (root / ".git" / "config").read_text() == "[core]\n"


@pytest.mark.parametrize("path, reason", [
    ("sub/../../x", r"'\.\.'"), ("../x", r"'\.\.'"), ("/etc/x", "absolute"),
    ("C:\\x", "absolute"), ("\\\\server\\share\\x", "absolute"), ("", "non-empty"),
    (".", "working directory itself"), ("a\x00b", "NUL"),
])
def test_refuses_escapes(root, path, reason):
    with pytest.raises(UnsafeWrite, match=reason):
        safe_write(root, path, "x")
    assert list(root.iterdir()) == []


def test_check_relative_path_components():
    assert check_relative_path("a/./b//c.json") == ["a", "b", "c.json"]
    assert check_relative_path("a\\b.csv") == ["a", "b.csv"]


@posix
def test_refuses_symlinked_folder_and_target(root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.json").write_text("original")
    os.symlink(outside, root / "link", target_is_directory=True)
    os.symlink(outside / "f.json", root / "file_link.json")
    os.symlink(root / "missing", root / "dangling.json")
    with pytest.raises(UnsafeWrite, match="'link' is a symbolic link"):
        safe_write(root, "link/x.json", "x")
    with pytest.raises(UnsafeWrite, match="'file_link.json' is a symbolic link"):
        safe_write(root, "file_link.json", "x")
    with pytest.raises(UnsafeWrite, match="symbolic link"):
        safe_write(root, "dangling.json", "x")
    assert sorted(p.name for p in outside.iterdir()) == ["f.json"]
    assert (outside / "f.json").read_text() == "original"
    assert not (root / "missing").exists()


@posix
def test_refuses_hard_link_to_a_file_outside(root, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("keep me")
    os.link(outside, root / "innocent.json")
    with pytest.raises(UnsafeWrite, match="hard link"):
        safe_write(root, "innocent.json", "overwritten")
    assert outside.read_text() == "keep me"


@posix
def test_refuses_fifo_device_directory_and_file_as_folder(root):
    os.mkfifo(root / "pipe.json")
    with pytest.raises(UnsafeWrite, match="FIFO"):
        safe_write(root, "pipe.json", "x")  # would block forever if opened for writing
    os.symlink("/dev/null", root / "null.json")
    with pytest.raises(UnsafeWrite, match="symbolic link"):
        safe_write(root, "null.json", "x")
    (root / "dir.json").mkdir()
    with pytest.raises(UnsafeWrite, match="a directory"):
        safe_write(root, "dir.json", "x")
    (root / "plain").write_text("file")
    with pytest.raises(UnsafeWrite, match="not a folder"):
        safe_write(root, "plain/x.json", "x")
    assert _no_temp_files(root)


@posix
def test_refuses_device_and_socket_nodes(root):
    import socket

    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(root / "s.json"))
        with pytest.raises(UnsafeWrite, match="a socket"):
            safe_write(root, "s.json", "x")
    finally:
        sock.close()
    try:  # a character device (/dev/null's numbers) needs CAP_MKNOD
        os.mknod(root / "null.json", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here")
    with pytest.raises(UnsafeWrite, match="a device"):
        safe_write(root, "null.json", "x")
    assert stat.S_ISCHR(os.lstat(root / "null.json").st_mode)


@posix
def test_a_folder_swapped_for_a_link_after_opening_cannot_redirect(root, tmp_path, monkeypatch):
    """The race the descriptor walk closes: 'sub' is checked and opened, then replaced by a
    symlink to a folder outside before the file is created; the write still lands in the
    folder that was checked (now renamed), never outside."""
    import llmos_jupyter._safe_write as sw

    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "sub").mkdir()
    real_open_dir = sw._open_dir

    def open_then_swap(text, name, parent, make):
        fd = real_open_dir(text, name, parent, make)
        os.rename(root / "sub", root / "moved")
        os.symlink(outside, root / "sub", target_is_directory=True)
        return fd

    monkeypatch.setattr(sw, "_open_dir", open_then_swap)
    safe_write(root, "sub/x.json", "data")
    assert list(outside.iterdir()) == []
    assert (root / "moved" / "x.json").read_text() == "data"


def test_bad_data_and_missing_root(root, tmp_path):
    with pytest.raises(TypeError, match="bytes or str"):
        safe_write(root, "a.json", 42)
    with pytest.raises(UnsafeWrite, match="not a directory"):
        safe_write(tmp_path / "nope", "a.json", "x")
    with pytest.raises(UnsafeWrite, match="does not exist"):
        safe_write(root, "new/a.json", "x", make_parents=False)


def test_the_lstat_fallback_writes_atomically_and_refuses_links(tmp_path):
    # Where openat is missing (Windows, some Pyodide builds) the checks run by lstat.
    import llmos_jupyter._safe_write as sw

    root = tmp_path / "work"
    root.mkdir()
    sw._write_checked(root, "sub/out.json", ["sub", "out.json"], b"{}", True)
    assert (root / "sub" / "out.json").read_bytes() == b"{}"
    assert [p.name for p in (root / "sub").iterdir()] == ["out.json"]  # no temp file left
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(sw.UnsafeWrite, match="symbolic link"):
        sw._write_checked(root, "link/x", ["link", "x"], b"x", True)
    assert not (tmp_path / "x").exists()
