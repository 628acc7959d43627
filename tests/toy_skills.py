"""Small skills written inline for tests (imported by conftest and test modules)."""

from __future__ import annotations

import textwrap


def skill_md(skill_id: str, code: str, inputs: str = "[]", outputs: str = "[]", extra: str = "") -> str:
    """A skill file's text with flow-style port lists (for compact tests)."""
    return (
        f"---\nskill_id: {skill_id}\nversion: '1.0'\n{extra}inputs: {inputs}\noutputs: {outputs}\n---\n\n"
        f"# {skill_id}\n\n```python\n{textwrap.dedent(code).strip()}\n```\n"
    )


ADD = skill_md(
    "add",
    """
    def execute(inputs):
        return {"sum": inputs["a"] + inputs["b"]}
    """,
    inputs="[{name: a, type: number, default: 1}, {name: b, type: number, default: 2}]",
    outputs="[{name: sum, type: number}]",
)
FAIL = skill_md(
    "fail",
    """
    def execute(inputs):
        raise ValueError(f"cannot use x = {inputs['x']}")
    """,
    inputs="[{name: x, type: number}]",
    outputs="[{name: y, type: number}]",
)
COUNT = skill_md(
    "count",
    """
    CALLS = []

    def execute(inputs):
        CALLS.append(inputs["x"])
        return {"y": inputs["x"] * 2}
    """,
    inputs="[{name: x, type: number, default: 1}]",
    outputs="[{name: y, type: number}]",
)
