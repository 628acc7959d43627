"""The skill file format: frontmatter, ports, code block, and every error's file/line/field."""

from __future__ import annotations

import json
import textwrap

import jsonschema
import pytest

from llmos_jupyter import SkillError, load_skill, parse_skill
from llmos_jupyter._skills.parser import skill_schema

GOOD = textwrap.dedent(
    """\
    ---
    skill_id: scale
    name: Scale a number
    description: Multiply x by a factor.
    category: math
    tags: [demo, arithmetic]
    version: 1.2
    requires: []
    inputs:
      - name: x
        type: number
        description: The value.
        unit: V
      - name: factor
        type: number
        default: 2.0
        minimum: 0
      - name: mode
        type: string
        default: fast
        enum: [fast, exact]
    outputs:
      - name: y
        type: number
        unit: V
    ---

    # Scale

    Prose with an example that is not code to run:

    ```text
    y = x * factor
    ```

    ```python
    def execute(inputs):
        return {"y": inputs["x"] * inputs["factor"]}
    ```
    """
)


def write(tmp_path, text, name="skill.md"):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_parses_all_fields(tmp_path):
    skill = load_skill(write(tmp_path, GOOD), volume="user")
    assert skill.skill_id == "scale"
    assert skill.name == "Scale a number"
    assert skill.category == "math"
    assert skill.tags == ("demo", "arithmetic")
    assert skill.version == "1.2"
    assert skill.runtime == "python"
    assert skill.volume == "user"
    assert skill.executable
    x, factor, mode = skill.inputs
    assert (x.name, x.type, x.required, x.unit) == ("x", "number", True, "V")
    assert (factor.default, factor.required, factor.minimum) == (2.0, False, 0)
    assert mode.enum == ("fast", "exact")
    assert skill.defaults == {"factor": 2.0, "mode": "fast"}
    assert skill.outputs[0].unit == "V"
    assert skill.load_function()({"x": 3, "factor": 2}) == {"y": 6}
    # The code's first line is line 47 of the file.
    lines = (tmp_path / "skill.md").read_text().split("\n")
    assert lines[skill.code_line - 1] == "def execute(inputs):"


def test_traceback_points_into_the_markdown_file(tmp_path):
    text = GOOD.replace('return {"y": inputs["x"] * inputs["factor"]}', "return 1 / 0")
    skill = load_skill(write(tmp_path, text))
    with pytest.raises(ZeroDivisionError) as info:
        skill.load_function()({})
    frame = info.traceback[-1]
    assert frame.path == tmp_path / "skill.md"
    assert frame.lineno + 1 == skill.code_line + 1  # pytest's lineno is 0-based


def test_standard_skill_without_code(tmp_path):
    skill = load_skill(write(tmp_path, "---\nskill_id: style-guide\ndescription: How we write.\n---\n"
                                       "# Style\n\n```python\nprint('an example')\n```\n"))
    assert not skill.executable
    assert "an example" in skill.body


def test_agent_skills_folder_loads_unchanged(tmp_path):
    path = write(tmp_path, """\
        ---
        name: pdf-tools
        description: Extract text and tables from PDF files.
        license: Apache-2.0
        ---
        # PDF tools
        Use pdfplumber:
        ```python
        import pdfplumber
        ```
        """, name="pdf-tools/SKILL.md")
    skill = load_skill(path)
    assert skill.skill_id == "pdf-tools"
    assert not skill.executable
    assert skill.frontmatter["license"] == "Apache-2.0"


def test_agent_skills_name_with_spaces_falls_back_to_folder(tmp_path):
    path = write(tmp_path, "---\nname: My Helper\ndescription: d\n---\nbody\n", name="my-helper/SKILL.md")
    assert load_skill(path).skill_id == "my-helper"


def test_schema_is_shipped_and_valid():
    schema = skill_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]["port"]["properties"]["type"]["enum"]) == {
        "string", "number", "integer", "boolean", "array", "object", "image", "any"}


@pytest.mark.parametrize(
    ("text", "line", "field", "fragment"),
    [
        ("# no frontmatter\n", 1, None, "missing YAML frontmatter"),
        ("---\nskill_id: x\n", 1, None, "not closed"),
        ("---\nskill_id: x\ninputs: [\n---\n", 3, None, "invalid YAML"),
        ("---\n- a\n- b\n---\n", 2, None, "YAML mapping"),
        ("---\ndescription: no id\n---\n", 2, "skill_id", "missing skill_id"),
        ("---\nskill_id: Bad_Id\n---\n", 2, "skill_id", "lowercase"),
        ("---\nskill_id: x\nruntime: pyhton\n---\n", 3, "runtime", "'pyhton' is not one of"),
        ("---\nskill_id: x\ntags: oops\n---\n", 3, "tags", "is not of type 'array'"),
        (
            "---\nskill_id: x\ninputs:\n  - name: a\n    type: vector\n---\n",
            5, "inputs.a.type", "'vector' is not one of",
        ),
        (
            "---\nskill_id: x\ninputs:\n  - name: a\n    type: number\n    requried: true\n---\n",
            6, "inputs.a.requried", "unknown field 'requried'",
        ),
        (
            "---\nskill_id: x\noutputs:\n  - name: 2bad\n    type: number\n---\n",
            4, "outputs.2bad.name", "does not match",
        ),
        (
            "---\nskill_id: x\ninputs:\n  - name: n\n    type: integer\n    default: many\n---\n",
            6, "inputs.n.default", "expected integer",
        ),
        (
            "---\nskill_id: x\ninputs:\n  - {name: m, type: string, default: c, enum: [a, b]}\n---\n",
            4, "inputs.m.default", "not one of the enum",
        ),
        (
            "---\nskill_id: x\ninputs:\n  - {name: a, type: number}\n  - {name: a, type: number}\n---\n",
            5, "inputs.a", "duplicate input port",
        ),
        (
            "---\nskill_id: x\noutputs:\n  - {name: y, type: number}\n---\nno code here\n",
            3, "code", "no ```python code block",
        ),
        (
            "---\nskill_id: x\noutputs: [{name: y, type: number}]\n---\n```python\ndef execute(inputs):\n"
            "    return {\n```\n",
            7, "code", "syntax error",
        ),
        (
            "---\nskill_id: x\noutputs: [{name: y, type: number}]\n---\n```python\ndef run(inputs):\n"
            "    pass\n```\n",
            5, "code", "does not define execute",
        ),
        (
            "---\nskill_id: x\noutputs: [{name: y, type: number}]\n---\n```python\ndef execute(i): pass\n```\n"
            "\n```python\ndef execute(i): pass\n```\n",
            9, "code", "found 2 ```python code blocks",
        ),
    ],
)
def test_errors_name_file_line_and_field(tmp_path, text, line, field, fragment):
    path = write(tmp_path, text, name="broken.md")
    with pytest.raises(SkillError) as info:
        load_skill(path)
    err = info.value
    assert err.path == str(path)
    assert err.line == line, str(err)
    assert err.field == field, str(err)
    assert fragment in str(err)
    assert str(err).startswith(f"{path}:{line}:")


def test_unreadable_file(tmp_path):
    with pytest.raises(SkillError, match="cannot read file"):
        load_skill(tmp_path / "missing.md")
    bad = tmp_path / "latin1.md"
    bad.write_bytes(b"---\nskill_id: x\ndescription: caf\xe9\n---\n")
    with pytest.raises(SkillError, match="not UTF-8"):
        load_skill(bad)


def test_markdown_round_trip():
    skill = parse_skill(GOOD)
    again = parse_skill(skill.to_markdown())
    assert again.skill_id == skill.skill_id
    assert [p.to_dict() for p in again.inputs] == [p.to_dict() for p in skill.inputs]
    assert again.code == skill.code
    assert again.code_hash == skill.code_hash


def test_code_hash_ignores_prose_but_not_code():
    base = parse_skill(GOOD)
    assert parse_skill(GOOD.replace("# Scale", "# Scaling")).code_hash == base.code_hash
    assert parse_skill(GOOD.replace('inputs["factor"]', 'inputs["factor"] + 0')).code_hash != base.code_hash


def test_frontmatter_keeps_unknown_top_level_fields():
    skill = parse_skill(GOOD.replace("category: math", "category: math\nderived_from: {traces: [a]}"))
    assert json.dumps(skill.frontmatter["derived_from"]) == '{"traces": ["a"]}'
    assert skill.to_frontmatter()["derived_from"] == {"traces": ["a"]}


LIMITS = textwrap.dedent(
    """\
    ---
    skill_id: limited
    resources: {cpu: 2, memory: "4GiB", gpu: 1}
    timeout_s: 30
    inputs:
      - {name: api_key, type: string, secret: true}
      - {name: x, type: number}
    outputs:
      - {name: y, type: number}
    ---
    ```python
    def execute(inputs):
        return {"y": inputs["x"]}
    ```
    """
)


def test_secret_ports_resources_and_timeout():
    skill = parse_skill(LIMITS)
    assert skill.resources == {"cpu": 2, "memory": "4GiB", "gpu": 1}
    assert skill.memory_limit == 4 * 2**30
    assert skill.timeout_s == 30.0
    assert skill.input_ports["api_key"].secret is True
    assert skill.input_ports["x"].secret is False
    again = parse_skill(skill.to_markdown())
    assert (again.resources, again.timeout_s) == (skill.resources, skill.timeout_s)
    assert again.input_ports["api_key"].secret is True


def test_no_limits_by_default():
    skill = parse_skill(GOOD)
    assert skill.resources == {} and skill.timeout_s is None and skill.memory_limit is None


@pytest.mark.parametrize(
    "line, field",
    [
        ("resources: {cpu: 0}", "resources.cpu"),
        ("resources: {cpu: .inf}", "resources.cpu"),
        ('resources: {memory: "4 gigs"}', "resources.memory"),
        ("resources: {memory: 0}", "resources.memory"),
        ("resources: {gpu: 1.5}", "resources.gpu"),
        ("resources: {gpu: -1}", "resources.gpu"),
        ("resources: {disk: 3}", "resources.disk"),
        ("resources: 4", "resources"),
        ("timeout_s: 0", "timeout_s"),
        ("timeout_s: -1", "timeout_s"),
        ("timeout_s: .nan", "timeout_s"),
        ('timeout_s: "3"', "timeout_s"),
        ("timeout_s: true", "timeout_s"),
    ],
)
def test_bad_limits_are_named(line, field):
    text = LIMITS.replace('resources: {cpu: 2, memory: "4GiB", gpu: 1}\ntimeout_s: 30', line)
    with pytest.raises(SkillError) as err:
        parse_skill(text, path="limited.md")
    assert err.value.field == field and err.value.line == 3, str(err.value)


def test_secret_must_be_boolean():
    with pytest.raises(SkillError) as err:
        parse_skill(LIMITS.replace("secret: true", "secret: yes please"))
    assert err.value.field == "inputs.api_key.secret"
