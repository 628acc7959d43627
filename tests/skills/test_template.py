"""skills/template.md through the engine: Jinja2 rendering in the sandbox, errors naming the
template line, server-side template injection refused."""

from __future__ import annotations

import pytest
from skill_nodes import error, outputs


def render(template, data=None, **more):
    return outputs("template", template=template, data=data, **more)["text"]


def test_renders_loops_filters_and_keeps_text_unescaped():
    template = ("{% for p in data.points %}{{ p.name }}: {{ '%.3f' | format(p.e) }} Ha\n"
                "{% endfor %}<b>{{ data.title }}</b> {{ data.points | map(attribute='e') "
                "| sum | round(2) }}")
    data = {"title": "A & B", "points": [{"name": "H2", "e": -1.1373}, {"name": "LiH", "e": -7.88}]}
    assert render(template, data) == "H2: -1.137 Ha\nLiH: -7.880 Ha\n<b>A & B</b> -9.02"


def test_data_may_be_any_json_value():
    assert render("{{ data }}", 3) == "3"
    assert render("{{ data | tojson }}", {"a": [1, None]}) == '{"a": [1, null]}'
    assert render("{{ data | length }}", [1, 2]) == "2"
    assert render("no data") == "no data"


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ data.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'] }}",
    "{% if ''.__class__ %}x{% endif %}",
    "{{ '{0.__class__}'.format(data) }}",
])
def test_ssti_payloads_raise_security_error(payload):
    message = error("template", template=payload, data={"a": 1})
    assert message.startswith("SecurityError: template line 1: "), message
    assert "is unsafe" in message


@pytest.mark.parametrize("payload, fragment", [
    ("{{ 'a' * 10**9 }}", "'*' would make a sequence of 1000000000 items"),
    ("{{ [1] * 10**9 }}", "'*' would make a sequence of 1000000000 items"),
    ("{{ 7 ** 100000000 }}", "'**' would make an integer of more than 100000 bits"),
    ("{{ range(10**9) | list }}", "Range too big"),
])
def test_allocation_bombs_are_refused_before_computing(payload, fragment):
    assert fragment in error("template", template=payload)


def test_output_is_capped_while_rendering():
    message = error("template", template="{% for i in range(100000) %}xxxxxxxxxx{% endfor %}",
                    max_chars=1000)
    assert message == "ValueError: the text is longer than max_chars = 1000 characters"
    assert render("{{ 'ab' * 3 }}", max_chars=6) == "ababab"


def test_errors_name_the_template_line():
    assert error("template", template="line 1\n{% for %}") == (
        "TemplateSyntaxError: template line 2: Expected an expression, got "
        "'end of statement block'")
    assert error("template", template="a\nb\n{{ data.missing }}", data={"a": 1}) == (
        "UndefinedError: template line 3: 'dict object' has no attribute 'missing'")
    assert error("template", template="{{ nothing }}") == (
        "UndefinedError: template line 1: 'nothing' is undefined")
    assert error("template", template="ok\n{{ 1 / 0 }}") == (
        "ValueError: template line 2: ZeroDivisionError: division by zero")


def test_no_file_access():
    message = error("template", template="{% include '/etc/passwd' %}")
    assert "template line 1" in message and "root:" not in message
