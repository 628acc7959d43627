"""The system the approval tests run (imported by test modules): ``actor-code-editor``
proposes file changes and one human reviewer, ``person`` (``actor-approval`` in ``human``
mode), approves or requests changes — in a kernel, a notebook or a browser."""

from __future__ import annotations

import json
from pathlib import Path


def approval_system(name: str, root: Path, changes: list[tuple[str, str]], *,
                    timeout_s: int = 60, person_timeout_s: int = 50) -> str:
    """The system file's text: ``changes`` are ``(path, content)`` written under ``root``
    once approved. JSON strings are TOML basic strings, so any text goes in as data."""
    listed = "".join(f"  {{ path = {json.dumps(p)}, content = {json.dumps(c)} }},\n"
                     for p, c in changes)
    return (f'[system]\nname = "{name}"\ntimeout_s = {timeout_s}\n\n'
            f'[[actors]]\nid = "editor"\nskill = "actor-code-editor"\n'
            f'config = {{ root = {json.dumps(str(root))}, reviewers = 1, experts = ["person"], '
            f"changes = [\n{listed}] }}\n\n"
            f'[[actors]]\nid = "person"\nskill = "actor-approval"\n'
            f'config = {{ mode = "human", timeout_s = {person_timeout_s} }}\n')
