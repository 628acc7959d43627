"""No skill field and no LLM answer reaches the page as live markup.

A hostile skill carries a payload in every field it controls (name, description,
category, tags, port descriptions and units, body, code, output values, error message);
every ``text/html`` / ``image/svg+xml`` bundle the magics and displays produce is parsed
with ``html.parser`` and must hold no ``script``/``iframe``/``object``/``embed`` element,
no ``on*`` attribute and no ``javascript:``/``vbscript:``/non-image ``data:`` URL.
"""

from __future__ import annotations

import html.parser
import re

import pytest

from llmos_jupyter import SkillLibrary, Workflow, parse_skill
from llmos_jupyter._engine.result import NodeResult
from llmos_jupyter._magics import LlmosMagics
from llmos_jupyter._notebook import display as views

PAYLOADS = ['<img src=x onerror=alert(1)>', "<script>alert('s')</script>",
            "[click](javascript:alert(1))", '"><svg onload=alert(1)>',
            "<a href='javascript:alert(2)'>a</a>", "<iframe src=javascript:alert(3)>",
            "![i](data:text/html;base64,PHNjcmlwdD4=)", "<style>*{display:none}</style>"]
P = " ".join(PAYLOADS)
Q = P.replace("'", "''")  # inside single-quoted YAML scalars
SHORT = '<img src=x onerror=alert(1)>"><svg onload=alert(1)>'  # fields of ≤ 64/200 chars

HOSTILE = f"""---
skill_id: evil
name: '{SHORT}'
description: '{Q}'
category: '{SHORT[:60]}'
tags: ['{Q}']
version: '1.0'
inputs:
  - name: x
    type: string
    default: '{Q}'
    description: '{Q}'
    unit: '{Q}'
outputs:
  - name: out
    type: string
    description: '{Q}'
    unit: '{Q}'
  - name: table
    type: object
    description: '{Q}'
---

# {P}

{P}

```python
def execute(inputs):
    p = {P!r}
    return {{"out": p + "\\n" + p, "table": {{p: p}}}}
```
"""

_BAD_URL = re.compile(r"^\s*(javascript|vbscript|data(?!:image/(png|jpeg|gif|webp);))\s*:",
                      re.IGNORECASE)
_URL_ATTRS = {"href", "src", "xlink:href", "action", "formaction", "background", "poster"}


class _Live(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "style", "base", "meta", "form"):
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name in _URL_ATTRS and value and _BAD_URL.match(value.replace("\x00", "")):
                self.problems.append(f"<{tag} {name}={value[:30]}>")

    handle_startendtag = handle_starttag


def live_markup(markup: str) -> list[str]:
    parser = _Live()
    parser.feed(markup)
    parser.close()
    return parser.problems


def assert_inert(bundle: dict) -> int:
    checked = 0
    assert "text/markdown" not in bundle, "Markdown goes out as sanitized HTML only"
    for mime in ("text/html", "image/svg+xml"):
        if mime in bundle:
            assert live_markup(bundle[mime]) == [], (mime, bundle[mime][:2000])
            checked += 1
    return checked


def test_the_checker_catches_live_markup():
    for p in PAYLOADS[:2] + PAYLOADS[3:6]:
        assert live_markup(p), p
    assert live_markup("<a href=' JaVaScRiPt:x'>") and not live_markup("<a href='https://x'>")
    assert not live_markup("<img src='data:image/png;base64,AAAA'>")


@pytest.fixture
def evil():
    return parse_skill(HOSTILE)


def test_the_payload_survives_parsing(evil):
    # the attack is real: every field holds the payload verbatim
    assert SHORT in evil.name and P in evil.description and P in evil.body
    assert P in evil.inputs[0].description and P in evil.outputs[0].unit


@pytest.mark.parametrize("text", [P, HOSTILE, ("<b onmouseover=alert(1)>x</b>\n\n"
                                   "<details open ontoggle=alert(1)>"), "[x](  javascript:a)",
                                  "[x](java\nscript:a)", "<svg><a xlink:href=javascript:a>"])
def test_markdown_html_is_inert(text):
    out = views.markdown_html(text)
    assert live_markup(out) == []
    assert "alert" not in out or "&lt;" in out or "alert(1)" in out  # shown as text


def test_markdown_keeps_formatting():
    out = views.markdown_html("# T\n\n**b** `c` [l](https://example.org)\n\n| a |\n|---|\n| 1 |")
    assert "<h1>T</h1>" in out and "<strong>b</strong>" in out and "<code>c</code>" in out
    assert 'href="https://example.org"' in out and "<td>1</td>" in out


def test_views_of_a_hostile_skill_are_inert(evil):
    checked = assert_inert(views.SkillTable([evil], P)._repr_mimebundle_())
    checked += assert_inert(views.SkillView(evil)._repr_mimebundle_())
    checked += assert_inert(views.SkillView(evil, HOSTILE)._repr_mimebundle_())
    p = PAYLOADS[0]
    outputs = {"out": P + "\n" + P, "table": {P: P}, "one": P, "list": [P, P]}
    for status, error in (("completed", None), ("failed", f"ValueError: {P}")):
        r = NodeResult("evil_node", "evil", status, outputs=outputs if error is None else {},
                       error=error)
        node = views.NodeOutputs("evil_node", r, evil, trace=P, note=P)
        checked += assert_inert(node._repr_mimebundle_())
    wf = Workflow(id="w")
    wf.add_node("evil", id="n1", params={"x": p})
    wf.add_node("evil", id="n2")
    wf.connect("n1", "out", "n2", "x")
    checked += assert_inert(views.GraphView(wf, {"n1": P})._repr_mimebundle_())
    rows = [{"node": P, "skill": P, "status": P, "ms": 1.0, "detail": P}]
    checked += assert_inert(views.RunView(rows, P, P)._repr_mimebundle_())
    checked += assert_inert(views.CellsView([{"source": "%%skill a\n```\n" + P, "metadata": {}}],
                                            P)._repr_mimebundle_())
    checked += assert_inert(views.MarkdownText(P)._repr_mimebundle_())
    scene = {"format": "threejs-scene", "background": P, "objects": []}
    assert live_markup(views.scene_svg(scene)) == []
    assert checked == 9


def test_magics_publish_only_inert_markup(ip, llmos_home, monkeypatch):
    folder = llmos_home / "user" / "skills"
    folder.mkdir(parents=True)
    (folder / "evil.md").write_text(HOSTILE, encoding="utf-8")
    lib = SkillLibrary(home=llmos_home, volumes=[("user", folder)])
    assert "evil" in lib, lib.errors
    magics = LlmosMagics(ip, library=lib)
    magics.trace = False
    ip.register_magics(magics)
    published: list[dict] = []
    monkeypatch.setattr(ip.display_pub, "publish", lambda data, *a, **k: published.append(data))
    bundles = []
    for line in ("list", "show evil"):
        obj = ip.run_line_magic("skill", line)
        bundles.append(ip.display_formatter.format(obj)[0])
    ip.run_cell("%skill n1 --uses evil")
    out = ip.user_ns.get("n1")
    if out is not None:
        bundles.append(ip.display_formatter.format(out)[0])
    ip.run_line_magic("workflow", "graph")
    bundles.append(ip.display_formatter.format(ip.run_line_magic("workflow", "status"))[0])
    bundles += published
    assert sum(assert_inert(b) for b in bundles) >= 4
    joined = "".join(b.get("text/html", "") for b in bundles)
    assert "&lt;img src=x onerror=alert(1)&gt;" in joined  # shown as text, not dropped


def test_secret_ports_and_key_shaped_outputs_are_never_shown():
    import json

    skill = parse_skill("---\nskill_id: login\nversion: '1'\ninputs: []\noutputs:\n"
                        "  - {name: token, type: string, secret: true}\n"
                        "  - {name: echo, type: string}\n---\n\n```python\n"
                        "def execute(inputs):\n    return {}\n```\n")
    value = "s3cr3t-session-value-42"
    key = "sk-ant-api03-LEAKED-abcdefghijklmnop"
    r = NodeResult("n", "login", "completed", outputs={"token": value, "echo": f"got {key}"})
    node = views.NodeOutputs("n", r, skill)
    bundle = node._repr_mimebundle_()
    dumped = json.dumps(bundle, default=str)
    assert value not in dumped and key not in dumped and "●●●" in bundle["text/html"]
    assert node.token == value  # the user's code still gets the real value
    failed = NodeResult("n", "login", "failed", error=f"ValueError: bad token {value}")
    assert value not in json.dumps(views.NodeOutputs("n", failed, skill)._repr_mimebundle_())
