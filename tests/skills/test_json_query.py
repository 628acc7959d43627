"""skills/json-query.md through the engine: JMESPath selections and clear syntax errors."""

from __future__ import annotations

import pytest
from skill_nodes import error, outputs

PEOPLE = {"people": [{"name": "Ada", "age": 36, "langs": ["en", "fr"]},
                     {"name": "Alan", "age": 41, "langs": ["en"]},
                     {"name": "Grace", "age": 85, "langs": []}]}


@pytest.mark.parametrize("data, expression, result", [
    ({"a": {"b": [1, 2, 3]}}, "a.b[1]", 2),
    ({"a": {"b": [1, 2, 3]}}, "a.b[-1]", 3),
    (PEOPLE, "people[?age > `40`].name", ["Alan", "Grace"]),
    (PEOPLE, "people[*].{n: name, k: length(langs)}",
     [{"n": "Ada", "k": 2}, {"n": "Alan", "k": 1}, {"n": "Grace", "k": 0}]),
    (PEOPLE, "max_by(people, &age).name", "Grace"),
    (PEOPLE, "sum(people[].age)", 162),
    (PEOPLE, "people[?contains(langs, 'fr')] | [0].name", "Ada"),
    ([3, 1, 2], "sort(@)", [1, 2, 3]),
    ({"a": 1}, "missing", None),
    ({"a": 1}, "people[?age > `1`]", None),
    ("text", "@", "text"),
    (None, "a", None),
])
def test_queries(data, expression, result):
    assert outputs("json-query", data=data, expression=expression) == {"result": result}


@pytest.mark.parametrize("expression, fragment", [
    ("a.b]", "invalid JMESPath at column 4 (token ']'): Unexpected token: ]"),
    ("foo[", "invalid JMESPath at column 5: the expression ends too early"),
    ("`1", "invalid JMESPath at column 1: Unclosed ` delimiter"),
    ("a[?b > 1]", "number literals are written between backticks, e.g. `1`"),
    ("", "expression must be a non-empty JMESPath string"),
    ("a" * 10_001, "at most 10000"),
])
def test_syntax_errors_are_one_clear_line(expression, fragment):
    message = error("json-query", data={"a": 1}, expression=expression)
    assert message.startswith("ValueError: ") and fragment in message
    assert "\n" not in message


@pytest.mark.parametrize("expression, fragment", [
    ("sum(name)", "In function sum(), invalid type for value: x"),
    ("nope(@)", "Unknown function: nope()"),
    ("length(@, @)", "Expected 1 argument for function length(), received 2"),
])
def test_function_errors_name_the_function(expression, fragment):
    message = error("json-query", data={"name": "x"}, expression=expression)
    assert message.startswith("ValueError: expression ") and fragment in message
