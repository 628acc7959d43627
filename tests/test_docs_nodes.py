"""docs/nodes.md is generated from the system skills' frontmatter and kept up to date."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from toy_skills import skill_md

from llmos_jupyter import SkillLibrary, parse_skill
from llmos_jupyter._docs_nodes import main, node_docs
from llmos_jupyter._paths import system_skills_dir

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "nodes.md"


def test_docs_nodes_md_is_up_to_date():
    assert PAGE.read_text(encoding="utf-8") == node_docs(), (
        "docs/nodes.md is out of date: run  python -m llmos_jupyter._docs_nodes > docs/nodes.md")


def test_every_system_node_and_port_is_documented():
    text = node_docs()
    library = SkillLibrary(volumes=[("system", system_skills_dir())])
    nodes = [s for s in library if s.executable]
    assert {"http-request", "json-query", "template", "sql-query", "csv-read",
            "csv-write"} <= {s.skill_id for s in nodes}
    for skill in nodes:
        section = text.split(f"\n### {skill.skill_id}\n", 1)[1].split("\n### ", 1)[0]
        assert f"](#{skill.skill_id})" in text  # in the contents
        assert f"category `{skill.category}`" in section
        for port in (*skill.inputs, *skill.outputs):
            assert f"| `{port.name}` | {port.type} |" in section, (skill.skill_id, port.name)
    assert "capabilities `network`" in text.split("\n### http-request\n")[1].split("\n### ")[0]


def test_tables_survive_pipes_backticks_and_newlines():
    odd = skill_md("odd-node", """
        def execute(inputs):
            return {"out": 1}
        """, inputs=("[{name: a, type: string, default: 'x|`y`', unit: 'm|s', "
                     "description: \"first line\\nsecond | line\"}, "
                     "{name: k, type: string, secret: true, enum: [p, q], required: false}]"),
        outputs="[{name: out, type: integer, minimum: 0}]")
    text = node_docs(SkillLibrary(volumes=[], skills=[parse_skill(odd)]))
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `a` | string | `` x\\|`y` `` | m\\|s | first line second \\| line |",
        ("| `k` | string | *optional* |  | One of `p`, `q`. **Secret**: masked in front-ends, "
         "redacted in traces and logs. |"),
        "| `out` | integer |  | Minimum 0. |",
    ]
    # no unescaped pipe inside a cell: inputs have 5 columns (6 bars), outputs 4 (5 bars)
    assert [len(re.findall(r"(?<!\\)\|", row)) for row in rows] == [6, 6, 5]


def test_command_line_prints_and_checks(tmp_path, capsys):
    stale = tmp_path / "nodes.md"
    stale.write_text("old\n", encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert "is out of date" in capsys.readouterr().err
    stale.write_text(node_docs(), encoding="utf-8")
    assert main(["--check", str(stale)]) == 0
    out = subprocess.run([sys.executable, "-m", "llmos_jupyter._docs_nodes"], check=True,
                         capture_output=True, env={"PYTHONIOENCODING": "ascii", "PATH": ""})
    assert out.stdout.decode("utf-8") == node_docs()  # UTF-8 whatever the locale
