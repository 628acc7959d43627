"""``llmos new NAME --template {blank,h2-curve,http-to-sql,branching} [--output DIR]``.

Writes ``DIR/<id>.workflow.json`` from ``llmos_jupyter/templates/<template>.workflow.json``
(package data, so it works from a wheel and in JupyterLite), with the workflow's ``id``
made from NAME (the id grammar of :mod:`llmos_jupyter._ids`: other characters become
``-``) and its ``name`` set to NAME. Sub-workflows a template's nodes name in
``data.params.workflow`` (a path relative to the workflow file, e.g. the ``map`` of
``h2-curve``) are copied beside it, transitively; one that already exists with the same
text is left alone. Every template carries a ``tests`` block (``llmos test`` checks it).
A file inside the user volume is committed like any product write.

Exit status: 0 written, 2 an existing file (without ``--force``) or a bad NAME.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["TEMPLATES", "new_workflow_files", "register", "template_files"]

TEMPLATES = ("blank", "h2-curve", "http-to-sql", "branching", "rag-qa")
"""The templates ``llmos new`` offers (files in ``llmos_jupyter/templates/``; other files
there are sub-workflows of these)."""
SUFFIX = ".workflow.json"
_NOT_ID = re.compile(r"[^A-Za-z0-9_.-]+")


def register(sub: argparse._SubParsersAction, skills_sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "new", help="write a new workflow from a template",
        description="Write NAME.workflow.json from a template (with the sub-workflows it "
        "uses). Templates: " + ", ".join(TEMPLATES) + ".")
    p.add_argument("name", metavar="NAME", help="the workflow's name (its id and file name "
                   "are made from it)")
    p.add_argument("--template", choices=TEMPLATES, default="blank",
                   help="what to start from (default: blank)")
    p.add_argument("--output", type=Path, default=Path("."), metavar="DIR",
                   help="the folder to write to (default: the current folder)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(handler=_cmd_new)


def _root() -> Any:
    return resources.files("llmos_jupyter") / "templates"


def template_files(template: str) -> dict[str, str]:
    """``{relative path: text}`` of ``template`` and, transitively, the sub-workflows its
    nodes name (only files under the templates folder ending in ``.workflow.json``).

    Raises:
        ValueError: not one of :data:`TEMPLATES`.
    """
    if template not in TEMPLATES:
        raise ValueError(f"no template {template!r} (templates: {', '.join(TEMPLATES)})")
    root = _root()
    files: dict[str, str] = {}
    todo = [template + SUFFIX]
    while todo:
        rel = todo.pop()
        if rel in files:
            continue
        text = root.joinpath(*rel.split("/")).read_text(encoding="utf-8")
        files[rel] = text
        for node in json.loads(text).get("nodes", []):
            sub = node.get("data", {}).get("params", {}).get("workflow")
            if isinstance(sub, str) and sub.endswith(SUFFIX) and not sub.startswith("/"):
                path = posixpath.normpath(posixpath.join(posixpath.dirname(rel), sub))
                if not path.startswith(".."):
                    todo.append(path)
    return files


def workflow_id(name: str) -> str:
    """A workflow id made from ``name`` (the id grammar: ``[A-Za-z0-9_][A-Za-z0-9_.-]*``).

    Raises:
        ValueError: nothing of ``name`` is left.
    """
    wid = _NOT_ID.sub("-", name.strip()).strip("-.")[:128]
    if not wid:
        raise ValueError(f"NAME {name!r}: needs letters or digits for the workflow's id")
    return wid


def new_workflow_files(name: str, template: str) -> dict[str, str]:
    """The files ``llmos new`` writes: ``{"<id>.workflow.json": text, **sub-workflows}``,
    the main one with ``id`` and ``name`` set from ``name`` (other keys in their order)."""
    files = template_files(template)
    main = json.loads(files.pop(template + SUFFIX))
    wid = workflow_id(name)
    main["id"], main["name"] = wid, name.strip()
    text = json.dumps(main, indent=2, ensure_ascii=False) + "\n"
    return {wid + SUFFIX: text, **files}


def _cmd_new(args: argparse.Namespace, out: Any, err: Any) -> int:
    from llmos_jupyter._cli import _clean
    from llmos_jupyter._volumes.volume import write_product_file

    try:
        files = new_workflow_files(args.name, args.template)
    except ValueError as exc:
        err.print(_clean(f"error: {exc}"), markup=False, highlight=False)
        return 2
    main = next(iter(files))
    clashes = []
    for rel, text in files.items():
        target = args.output / rel
        if target.exists() and not args.force and (rel == main or target.read_text(
                encoding="utf-8", errors="replace") != text):
            clashes.append(str(target))
    if clashes:
        err.print(_clean("error: already there (use --force to overwrite): "
                         + ", ".join(clashes)), markup=False, highlight=False)
        return 2
    for rel, text in files.items():
        target = args.output / rel
        if target.exists() and target.read_text(encoding="utf-8", errors="replace") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        write_product_file(target, text, message=f"New workflow {rel} from template "
                           f"{args.template}")
        out.print(_clean(f"wrote {target}"), markup=False, highlight=False)
    out.print(_clean(f"template {args.template}: run it with `llmos run {args.output / main}`, "
                     f"check it with `llmos test {args.output / main}`"),
              markup=False, highlight=False)
    return 0
