"""An index on disk: ``$LLMOS_HOME/user/indexes/NAME/`` with ``meta.json``, the chunks as
JSON Lines and the method's files (bm25s' matrices, or ``vectors.npy``).

A new index is written to a hidden temporary sibling folder and swapped in with
``os.replace``, so a reader never sees a half-written index and a failed build leaves the
old one in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["chunks_digest", "check_chunks", "context", "index_folder", "read_chunks",
           "read_meta", "write_index"]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def index_folder(name: object) -> Path:
    """``$LLMOS_HOME/user/indexes/<name>``.

    Raises:
        ValueError: ``name`` is not 1-64 letters, digits, ``.``, ``_``, ``-`` starting with
            a letter or digit, or contains ``..``.
    """
    from llmos_jupyter._paths import volume_dir

    if not isinstance(name, str) or not NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"index name {name!r}: 1-64 letters, digits, '.', '_', '-' (no '..')")
    return volume_dir("user") / "indexes" / name


def check_chunks(chunks: object) -> list[dict[str, Any]]:
    """``chunks`` itself when it is a non-empty list of objects with a string ``text``.

    Raises:
        ValueError: empty, not a list, or ``chunks[i]`` has no string ``text`` (names i).
    """
    if not isinstance(chunks, list) or not chunks:
        raise ValueError("chunks is empty: nothing to index")
    for i, c in enumerate(chunks):
        if not isinstance(c, dict) or not isinstance(c.get("text"), str):
            raise ValueError(f"chunks[{i}] must be an object with a string 'text'")
    return chunks


def chunks_digest(chunks: list[dict[str, Any]]) -> str:
    """SHA-256 (hex) of the chunks' canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(chunks, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_meta(folder: Path) -> dict[str, Any] | None:
    """The index's ``meta.json`` as a dict; ``None`` when absent or unreadable."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def read_chunks(folder: Path) -> list[dict[str, Any]]:
    """The chunks stored by :func:`write_index`, in index order."""
    with open(folder / "chunks.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_index(folder: Path, chunks: list[dict[str, Any]], meta: dict[str, Any],
                fill: Callable[[str], None]) -> None:
    """Write a whole index and swap it in for ``folder``'s old one.

    ``fill(tmp)`` writes the method's files into the temporary folder ``tmp``; this
    function adds ``chunks.jsonl`` and ``meta.json`` (last, so a folder with a meta is
    complete). On any error the temporary folder is removed and the old index kept.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent)
    try:
        fill(tmp)
        with open(os.path.join(tmp, "chunks.jsonl"), "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
        with open(os.path.join(tmp, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f)
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def context(found: list[dict[str, Any]]) -> str:
    """``'[1] SOURCE (p. N)\\nTEXT'`` blocks separated by blank lines, for a prompt that
    cites ``[n]`` (the source falls back to the chunk's id; the page only when known)."""
    blocks = []
    for n, c in enumerate(found, start=1):
        meta = c.get("metadata") or {}
        page = f" (p. {meta['page']})" if meta.get("page") else ""
        blocks.append(f"[{n}] {meta.get('source', c.get('id'))}{page}\n{c['text']}")
    return "\n\n".join(blocks)
