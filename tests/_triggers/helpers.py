"""Skills and workflows the trigger tests share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toy_skills import skill_md

from llmos_jupyter import SkillLibrary, parse_skill

ECHO = skill_md(
    "echo",
    """
    def execute(inputs):
        if inputs["value"] == "boom":
            raise ValueError("asked to fail")
        return {"value": inputs["value"]}
    """,
    inputs="[{name: value, type: any, required: true}]",
    outputs="[{name: value, type: any}]",
)
READ = skill_md(
    "read-text",
    """
    def execute(inputs):
        with open(inputs["path"], encoding="utf-8") as f:
            return {"text": f.read()}
    """,
    inputs="[{name: path, type: string, required: true}, {name: scale, type: number, default: 1}]",
    outputs="[{name: text, type: string}]",
)


def library() -> SkillLibrary:
    return SkillLibrary(volumes=[], skills=[parse_skill(ECHO), parse_skill(READ)])


def workflow(folder: Path, triggers: list[dict[str, Any]], *, wid: str = "hooked",
             skill: str = "echo", node: str = "n") -> Path:
    """Write a one-node workflow declaring ``triggers``; returns its path."""
    path = folder / f"{wid}.workflow.json"
    path.write_text(json.dumps({
        "id": wid, "name": wid,
        "nodes": [{"id": node, "type": "skill", "position": {"x": 0, "y": 0},
                   "data": {"skill": skill, "params": {}}}],
        "edges": [], "triggers": triggers}, indent=2), encoding="utf-8")
    return path
