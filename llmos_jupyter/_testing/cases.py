"""The ``tests`` block of a workflow file: cases, expectations, and checking a run.

A workflow file may carry test cases next to its nodes (the workflow model keeps the
top-level ``tests`` key in :attr:`Workflow.extra`)::

    "tests": [
      {"name": "H2 at 0.735 Å is within chemical accuracy",
       "overrides": {"ham_01.bond_length": 0.735},
       "expect": {
         "vqe_01.eigenvalue": {"approx": -1.137306, "abs": 0.0016},
         "ham_01.num_qubits": 2,
         "vqe_01.circuit_diagram": {"contains": "RY"},
         "plot": {"status": "skipped"}}}]

Each case runs the workflow once with its ``overrides`` (``{"node.port": value}``, the
same form as ``llmos run --set``), and only the nodes its expectations name plus what
they depend on (the engine's ``targets``). Expectation forms, by key ``node.port`` (or
``node`` alone for a status):

* a plain JSON value: the output must *equal* it exactly, as JSON values compare
  (``1`` equals ``1.0``; ``true`` is not ``1``; arrays in order; objects by keys). Floats
  are compared exactly: use ``approx`` for a tolerance;
* ``{"approx": x, "rel": r, "abs": a}``: ``|actual - x| <= tolerance`` with pytest.approx's
  rule (pytest's ``ApproxScalar.tolerance``): ``rel`` defaults to 1e-6 and ``abs`` to
  1e-12; the tolerance is ``max(rel·|x|, abs)``, except that when only ``abs`` is given
  the relative tolerance is not used at all. ``x`` may be an array (element-wise, same
  length) or an object of numbers (same keys);
* ``{"contains": v}``: a string output contains the substring ``v``; an array output has
  an element equal to ``v``; an object output has every key of ``v`` (an object) with an
  equal value, or the key ``v`` (a string);
* ``{"status": s}`` with ``s`` one of ``completed``, ``cached``, ``failed``, ``skipped``:
  the node's status in the run. ``completed`` also accepts ``cached`` (the node
  succeeded; whether its outputs came from the engine's cache depends on what ran before
  in the same process), ``cached`` requires a cache hit;
* ``{"equals": v}``: exact equality with ``v`` even when ``v`` is an object that looks
  like one of the forms above.

A case with ``"skip": "reason"`` is reported as skipped and not run (e.g. one that needs
a server the user still has to set up); ``description`` is free text.

Errors in the block are :class:`CaseError` (a :class:`~llmos_jupyter.WorkflowError`)
naming the file and the case's index (``tests[2]``) and name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmos_jupyter._exceptions import WorkflowError
from llmos_jupyter._redact import SECRET_MASK
from llmos_jupyter._workflow.model import Workflow

__all__ = ["STATUSES", "Case", "CaseError", "Expectation", "Failure", "check_case",
           "describe_expected", "load_cases", "short"]

TESTS_KEY = "tests"
"""The workflow field holding the test cases."""
STATUSES = ("completed", "cached", "failed", "skipped")
"""Statuses a ``{"status": ...}`` expectation may name (a node's final statuses)."""
DEFAULT_REL = 1e-6
"""pytest.approx's default relative tolerance."""
DEFAULT_ABS = 1e-12
"""pytest.approx's default absolute tolerance."""
SHORT_LIMIT = 120
"""Characters a value takes in a failure message before it is cut with ``…``."""

_MATCHERS = {"approx": {"approx", "rel", "abs"}, "contains": {"contains"},
             "status": {"status"}, "equals": {"equals"}}


class CaseError(WorkflowError):
    """A workflow's ``tests`` block is malformed (the message names file, index and case)."""


@dataclass(frozen=True)
class Expectation:
    """One expected fact about a run: ``key`` is ``node.port`` (or ``node`` for a status).

    ``kind`` is ``equals``, ``approx``, ``contains`` or ``status``; ``value`` the expected
    value (the approx target, the contained value, the status); ``rel``/``abs`` the
    approx tolerances as given (``None`` when left to the defaults).
    """

    key: str
    node: str
    port: str | None
    kind: str
    value: Any
    rel: float | None = None
    abs: float | None = None


@dataclass(frozen=True)
class Case:
    """One test case of a workflow: ``index`` is its position in the ``tests`` array,
    ``overrides`` is ``{"node.port": value}``, ``source`` the file (or workflow id)."""

    name: str
    index: int
    overrides: dict[str, Any]
    expect: tuple[Expectation, ...]
    source: str = ""
    skip: str | None = None
    """Why the case is not run (``None``: it runs)."""

    @property
    def targets(self) -> list[str]:
        """The nodes the expectations name, in order (the run needs these and their
        upstream only)."""
        return list(dict.fromkeys(e.node for e in self.expect))

    @property
    def where(self) -> str:
        return f"{self.source} tests[{self.index}] ({self.name!r})"


@dataclass(frozen=True)
class Failure:
    """One unmet expectation: the case's name, ``node.port``, and both sides as short,
    redacted text (``expected`` says the form, e.g. ``≈ -1.137306 ± 0.0016``)."""

    case: str
    key: str
    expected: str
    actual: str
    detail: str = ""

    @property
    def message(self) -> str:
        """``case 'name': node.port: expected …, actual … (detail)``."""
        tail = f" ({self.detail})" if self.detail else ""
        return (f"case {self.case!r}: {self.key}: expected {self.expected}, "
                f"actual {self.actual}{tail}")

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "key": self.key, "expected": self.expected,
                "actual": self.actual, "detail": self.detail, "message": self.message}

    def __str__(self) -> str:
        return self.message


# -- loading -------------------------------------------------------------------------------
def load_cases(workflow: Workflow, library: Any = None) -> list[Case]:
    """The test cases of ``workflow`` (``[]`` when it has no ``tests`` block).

    Checks the block's shape, that every node named in ``overrides`` and ``expect``
    exists in the workflow, and, when a :class:`~llmos_jupyter.SkillLibrary` is given,
    that each expected port is an output of the node's skill. Input ports of overrides
    are checked by validation when the case runs (``plan`` with the overrides).

    Raises:
        CaseError: every problem of the block, one per line, each naming
            ``tests[i]`` and the case's name.
    """
    source = str(workflow.path) if workflow.path is not None else f"workflow {workflow.id!r}"
    raw = workflow.extra.get(TESTS_KEY)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CaseError(f"'{TESTS_KEY}' must be a list of test cases, not {_json_type(raw)}",
                        path=workflow.path)
    problems: list[str] = []
    cases: list[Case] = []
    names: dict[str, int] = {}
    for i, item in enumerate(raw):
        case, errors = _load_case(workflow, library, i, item, source)
        problems += errors
        if case is not None:
            cases.append(case)
        name = item.get("name") if isinstance(item, Mapping) else None
        if isinstance(name, str):
            if name in names:
                problems.append(f"tests[{i}] ({name!r}): the name is already used by "
                                f"tests[{names[name]}] (names must be unique)")
            names.setdefault(name, i)
    if problems:
        raise CaseError("invalid tests block:\n  - " + "\n  - ".join(problems),
                        path=workflow.path)
    return cases


def _load_case(workflow: Workflow, library: Any, i: int, item: Any,
               source: str) -> tuple[Case | None, list[str]]:
    if not isinstance(item, Mapping):
        why = f"tests[{i}] must be an object with 'name' and 'expect', not {_json_type(item)}"
        return None, [why]
    name = item.get("name")
    label = f"tests[{i}]" + (f" ({name!r})" if isinstance(name, str) else "")
    problems: list[str] = []
    unknown = sorted(set(item) - {"name", "overrides", "expect", "description", "skip"})
    if unknown:
        problems.append(f"{label}: unknown field(s) {', '.join(map(repr, unknown))} "
                        "(expected name, overrides, expect, description, skip)")
    skip = item.get("skip")
    if skip is not None and (not isinstance(skip, str) or not skip.strip()):
        problems.append(f"{label}: 'skip' must be a non-empty string saying why")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{label}: 'name' must be a non-empty string")
        name = f"tests[{i}]"
    overrides = item.get("overrides", {})
    if not isinstance(overrides, Mapping):
        problems.append(f"{label}: 'overrides' must be an object of \"node.port\": value, "
                        f"not {_json_type(overrides)}")
        overrides = {}
    for key in overrides:
        node, dot, port = key.partition(".")
        if not dot or not node or not port:
            problems.append(f"{label}: override {key!r} must be \"node.port\"")
        elif node not in workflow:
            problems.append(f"{label}: override {key!r} names node {node!r}, which is not in "
                            "the workflow")
    expect = item.get("expect")
    expectations: list[Expectation] = []
    if not isinstance(expect, Mapping) or not expect:
        problems.append(f"{label}: 'expect' must be a non-empty object of \"node.port\": "
                        "expected value")
    else:
        for key, spec in expect.items():
            exp, error = _expectation(workflow, library, key, spec)
            if error:
                problems.append(f"{label}: expect {key!r}: {error}")
            elif exp is not None:
                expectations.append(exp)
    if problems:
        return None, problems
    return Case(name=name, index=i, overrides=dict(overrides), expect=tuple(expectations),
                source=source, skip=skip), []


def _expectation(workflow: Workflow, library: Any, key: str,
                 spec: Any) -> tuple[Expectation | None, str | None]:
    node, dot, port = key.partition(".")
    if not node or (dot and not port):
        return None, "the key must be \"node.port\" (or \"node\" for a status)"
    if node not in workflow:
        return None, f"node {node!r} is not in the workflow"
    kind, value, rel, abs_ = "equals", spec, None, None
    if isinstance(spec, Mapping):
        for name, allowed in _MATCHERS.items():
            if name in spec:
                extra = set(spec) - allowed
                if extra:
                    return None, (f"{{{name!r}: …}} takes only {', '.join(sorted(allowed))}; "
                                  f"also found {', '.join(sorted(map(repr, extra)))} (use "
                                  "{\"equals\": {...}} to compare with an object literally)")
                kind, value = name, spec[name]
                break
        if kind == "approx":
            error = _check_approx(value)
            for tol in ("rel", "abs"):
                t = spec.get(tol)
                if t is not None and (not _is_number(t) or t < 0):
                    error = error or f"{tol} must be a number ≥ 0, got {json.dumps(t)}"
            if error:
                return None, error
            rel, abs_ = spec.get("rel"), spec.get("abs")
        elif kind == "status" and value not in STATUSES:
            return None, f"status must be one of {', '.join(STATUSES)}, got {json.dumps(value)}"
    if kind != "status" and not port:
        return None, "a value needs \"node.port\" (only {\"status\": …} applies to a node)"
    if port and kind != "status" and library is not None:
        error = _check_port(workflow, library, node, port)
        if error:
            return None, error
    return Expectation(key=key, node=node, port=port or None, kind=kind, value=value,
                       rel=rel, abs=abs_), None


def _check_approx(value: Any) -> str | None:
    if _is_number(value):
        return None
    if isinstance(value, list) and value and all(_is_number(v) for v in value):
        return None
    if isinstance(value, Mapping) and value and all(_is_number(v) for v in value.values()):
        return None
    return ("approx takes a number, a non-empty array of numbers or an object of numbers, "
            f"got {short(value)}")


def _check_port(workflow: Workflow, library: Any, node_id: str, port: str) -> str | None:
    skill_id = workflow.node(node_id).skill
    try:
        inline = {s.skill_id: s for s in workflow.inline_skills()}
    except WorkflowError:
        inline = {}
    skill = inline.get(skill_id) or (library.get(skill_id) if skill_id in library else None)
    if skill is None:
        return None  # validation reports the unknown skill
    outputs = skill.output_ports
    if port not in outputs:
        return (f"skill {skill_id!r} of node {node_id!r} has no output {port!r} "
                f"(outputs: {', '.join(outputs) or 'none'})")
    return None


# -- checking ------------------------------------------------------------------------------
def check_case(result: Any, case: Case, library: Any = None) -> list[Failure]:
    """Every expectation of ``case`` that ``result`` (a :class:`RunResult`) does not meet.

    An empty list means the case passed. A node that did not run, failed or lacks the
    port is reported with its status and error as the actual value. With ``library``,
    the actual value of a port its skill declares ``secret: true`` is shown as ``●●●``.
    """
    failures = []
    for exp in case.expect:
        failure = _check(result, case, exp, _is_secret(result, exp, library))
        if failure is not None:
            failures.append(failure)
    return failures


def _is_secret(result: Any, exp: Expectation, library: Any) -> bool:
    node = result.nodes.get(exp.node)
    if library is None or node is None or exp.port is None or node.skill_id not in library:
        return False
    port = library.get(node.skill_id).output_ports.get(exp.port)
    return bool(getattr(port, "secret", False))


def _check(result: Any, case: Case, exp: Expectation, secret: bool = False) -> Failure | None:
    from llmos_jupyter._skills.ports import jsonable

    node = result.nodes.get(exp.node)
    expected = describe_expected(exp)

    def fail(actual: str, detail: str = "") -> Failure:
        if secret and exp.kind != "status":  # a secret output's value never reaches a report
            actual, detail = SECRET_MASK, ""
        return Failure(case.name, exp.key, _clean(expected), _clean(actual), _clean(detail))

    if exp.kind == "status":
        status = node.status if node is not None else "not run"
        ok = status == exp.value or (exp.value == "completed" and status == "cached")
        if ok:
            return None
        why = node.error if node is not None and node.error else ""
        return fail(f"status {status}", why)
    if node is None:
        return fail("the node did not run")
    if node.status not in ("completed", "cached"):
        return fail(f"no value: the node {node.status}", node.error or "")
    if exp.port not in node.outputs:
        return fail(f"no output {exp.port!r}",
                    f"outputs: {', '.join(node.outputs) or 'none'}")
    actual = jsonable(node.outputs[exp.port])
    if exp.kind == "equals":
        if json_equal(actual, exp.value):
            return None
        return fail(short(actual), _first_difference(actual, exp.value))
    if exp.kind == "contains":
        ok, detail = _contains(actual, exp.value)
        return None if ok else fail(short(actual), detail)
    ok, detail = _approx(actual, exp.value, exp.rel, exp.abs)
    return None if ok else fail(short(actual), detail)


def describe_expected(exp: Expectation) -> str:
    """How a failure message states the expectation (``≈ x ± tol``, ``contains v`` …)."""
    if exp.kind == "status":
        return f"status {exp.value}" + (" (or cached)" if exp.value == "completed" else "")
    if exp.kind == "contains":
        return f"a value containing {short(exp.value)}"
    if exp.kind == "approx":
        tols = []
        if exp.abs is not None:
            tols.append(f"abs {exp.abs:g}")
        if exp.rel is not None or exp.abs is None:
            tols.append(f"rel {exp.rel if exp.rel is not None else DEFAULT_REL:g}")
        if _is_number(exp.value):
            tol = _tolerance(exp.value, exp.rel, exp.abs)
            return f"≈ {short(exp.value)} ± {tol:.3g} ({', '.join(tols)})"
        return f"≈ {short(exp.value)} element-wise ({', '.join(tols)})"
    return short(exp.value)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: numbers by value (``1 == 1.0``), booleans only equal
    booleans, ``null`` only ``null``, arrays element-wise in order, objects by keys."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _first_difference(actual: Any, expected: Any, path: str = "") -> str:
    """Where two JSON values first differ, e.g. ``at [3]: 0.5 ≠ 0.25``."""
    if isinstance(actual, list) and isinstance(expected, list):
        if len(actual) != len(expected):
            return f"at {path or 'top'}: {len(actual)} elements, expected {len(expected)}"
        for i, (x, y) in enumerate(zip(actual, expected, strict=True)):
            if not json_equal(x, y):
                return _first_difference(x, y, f"{path}[{i}]")
    elif isinstance(actual, Mapping) and isinstance(expected, Mapping):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing or extra:
            return (f"at {path or 'top'}: " + "; ".join(
                ([f"missing keys {', '.join(map(repr, missing[:5]))}"] if missing else [])
                + ([f"extra keys {', '.join(map(repr, extra[:5]))}"] if extra else [])))
        for k in expected:
            if not json_equal(actual[k], expected[k]):
                return _first_difference(actual[k], expected[k], f"{path}[{k!r}]")
    if path:
        return f"at {path}: {short(actual, 40)} ≠ {short(expected, 40)}"
    if _is_number(actual) and _is_number(expected):
        return f"off by {actual - expected:.3g}; use {{\"approx\": …}} for a tolerance"
    return ""


def _contains(actual: Any, needle: Any) -> tuple[bool, str]:
    if isinstance(actual, str):
        if not isinstance(needle, str):
            return False, "a string output can only contain a string"
        return needle in actual, ""
    if isinstance(actual, list):
        return any(json_equal(x, needle) for x in actual), f"{len(actual)} elements"
    if isinstance(actual, Mapping):
        if isinstance(needle, str):
            return needle in actual, f"keys: {short(list(actual), 60)}"
        if isinstance(needle, Mapping):
            for k, v in needle.items():
                if k not in actual:
                    return False, f"no key {k!r}"
                if not json_equal(actual[k], v):
                    return False, f"[{k!r}] is {short(actual[k], 40)}"
            return True, ""
        return False, "an object output contains a key (string) or a sub-object"
    return False, f"contains applies to strings, arrays and objects, not {_json_type(actual)}"


def _tolerance(expected: float, rel: float | None, abs_: float | None) -> float:
    """pytest's ``ApproxScalar.tolerance``."""
    absolute = DEFAULT_ABS if abs_ is None else abs_
    if rel is None and abs_ is not None:
        return absolute
    relative = (DEFAULT_REL if rel is None else rel) * abs(expected)
    return max(relative, absolute)


def _approx_scalar(actual: Any, expected: float, rel: float | None,
                   abs_: float | None) -> tuple[bool, str]:
    if not _is_number(actual):
        return False, f"not a number ({_json_type(actual)})"
    if actual == expected:
        return True, ""
    if not math.isfinite(actual):
        return False, "not finite"
    off = actual - expected
    tol = _tolerance(expected, rel, abs_)
    return abs(off) <= tol, f"off by {off:.3g}, tolerance {tol:.3g}"


def _approx(actual: Any, expected: Any, rel: float | None,
            abs_: float | None) -> tuple[bool, str]:
    if _is_number(expected):
        return _approx_scalar(actual, expected, rel, abs_)
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            what = f"{len(actual)} elements" if isinstance(actual, list) else _json_type(actual)
            return False, f"{what}, expected {len(expected)} numbers"
        for i, (x, y) in enumerate(zip(actual, expected, strict=True)):
            ok, why = _approx_scalar(x, y, rel, abs_)
            if not ok:
                return False, f"at [{i}]: {short(x, 30)}: {why}"
        return True, ""
    if not isinstance(actual, Mapping) or actual.keys() != expected.keys():
        return False, "expected an object with the keys " + ", ".join(map(repr, expected))
    for k, y in expected.items():
        ok, why = _approx_scalar(actual[k], y, rel, abs_)
        if not ok:
            return False, f"at [{k!r}]: {short(actual[k], 30)}: {why}"
    return True, ""


# -- text ------------------------------------------------------------------------------------
def short(value: Any, limit: int = SHORT_LIMIT) -> str:
    """``value`` as one line of JSON, cut to ``limit`` characters with ``…``, secrets
    redacted (:mod:`llmos_jupyter._redact`) and control characters removed."""
    from llmos_jupyter._skills.ports import jsonable

    try:
        text = json.dumps(jsonable(value), ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    if isinstance(value, float):
        text = f"{value:.10g}"
    text = _clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clean(text: str) -> str:
    from llmos_jupyter._redact import redact, strip_control

    return strip_control(redact(text))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(
        type(value), type(value).__name__)
