"""Running a workflow's test cases through the one engine, and JUnit XML of the results.

Used by ``llmos test`` (``_commands/test.py``) and the pytest plugin. A file is
*invalid* (:attr:`FileResult.error`) when it cannot be read, its ``tests`` block is
malformed, or a case's overrides do not validate against the library (unknown skill,
unknown input port, a value of the wrong type): nothing of it runs, as ``llmos run``
refuses an invalid workflow. A case *fails* when a run does not meet an expectation.

Cases run on the process' default engine (:func:`llmos_jupyter._api.run`), so nodes
shared between cases are computed once; without a trace notebook unless ``trace=True``
(test runs would otherwise fill the run history and ``llmos stats``).
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import LlmosError, WorkflowError, WorkflowInvalid
from llmos_jupyter._testing.cases import Case, CaseError, Failure, check_case, load_cases
from llmos_jupyter._workflow.model import Workflow

__all__ = ["CaseResult", "FileResult", "junit_xml", "load_file", "run_case", "run_file"]


@dataclass
class CaseResult:
    """The outcome of one case: ``failures`` empty means passed; ``error`` is set when the
    run itself could not be made (then the case counts as failed)."""

    case: Case
    failures: list[Failure] = field(default_factory=list)
    duration_ms: float = 0.0
    run_id: str | None = None
    error: str | None = None
    skipped: bool = False

    @property
    def passed(self) -> bool:
        """No failure (a skipped case is not a failure; see :attr:`skipped`)."""
        return not self.failures and self.error is None

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else "passed" if self.passed else "failed"

    @property
    def messages(self) -> list[str]:
        """One line per failure (or the run's error), as ``llmos test`` prints them."""
        if self.error is not None:
            return [f"case {self.case.name!r}: the run failed to start: {self.error}"]
        return [f.message for f in self.failures]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.case.name, "index": self.case.index,
                "status": self.status, "skip": self.case.skip,
                "duration_ms": round(self.duration_ms, 3), "run_id": self.run_id,
                "error": self.error, "failures": [f.to_json() for f in self.failures]}


@dataclass
class FileResult:
    """The cases of one workflow file; ``error`` (the whole message) when it is invalid."""

    path: str
    workflow_id: str | None = None
    cases: list[CaseResult] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.passed and not c.skipped)

    @property
    def skipped(self) -> int:
        return sum(1 for c in self.cases if c.skipped)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.cases if not c.passed)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.path, "workflow": self.workflow_id, "error": self.error,
                "passed": self.passed, "failed": self.failed, "skipped": self.skipped,
                "cases": [c.to_json() for c in self.cases]}


def load_file(path: str | Path, library: Any) -> tuple[Workflow, list[Case]]:
    """The workflow at ``path`` and its cases, each case's overrides validated.

    Raises:
        WorkflowError: unreadable file (:class:`CaseError` for a malformed block, or a
            case whose overrides make the workflow invalid, listing the problems).
    """
    workflow = Workflow.load(path)
    cases = load_cases(workflow, library)
    from llmos_jupyter._workflow.validate import validate

    problems = []
    for case in cases:
        found: list[Any]  # WorkflowProblems, or the one message of a malformed override
        try:
            found = validate(workflow, library, case.overrides)
        except ValueError as exc:  # a malformed override key
            found = [str(exc)]
        problems += [f"tests[{case.index}] ({case.name!r}): {p}" for p in found]
    if problems:
        raise CaseError("the workflow is invalid with these cases' overrides:\n  - "
                        + "\n  - ".join(dict.fromkeys(problems)), path=path)
    return workflow, cases


def run_case(workflow: Workflow, case: Case, *, library: Any = None,
             trace: bool = False) -> CaseResult:
    """Run ``case`` (its overrides; only the nodes its expectations need) and check it;
    a case with ``skip`` is not run."""
    from llmos_jupyter._api import run

    if case.skip is not None:
        return CaseResult(case, skipped=True)
    t0 = time.perf_counter()
    try:
        result = run(workflow, case.overrides, trace=trace, library=library,
                     targets=case.targets)
    except (LlmosError, ValueError, KeyError) as exc:
        text = str(exc) if not isinstance(exc, KeyError) else str(exc.args[0] if exc.args else exc)
        return CaseResult(case, duration_ms=(time.perf_counter() - t0) * 1e3, error=_one(text))
    return CaseResult(case, check_case(result, case, library=library),
                      (time.perf_counter() - t0) * 1e3, result.run_id)


def run_file(path: str | Path, *, library: Any = None, trace: bool = False,
             on_case: Callable[[CaseResult], None] | None = None) -> FileResult:
    """Load ``path`` and run every case (``on_case`` is called after each one)."""
    from llmos_jupyter._api import default_library

    library = library if library is not None else default_library()
    out = FileResult(str(path))
    try:
        workflow, cases = load_file(path, library)
    except (WorkflowError, WorkflowInvalid) as exc:
        out.error = _clean(str(exc))
        return out
    out.workflow_id = workflow.id
    for case in cases:
        result = run_case(workflow, case, library=library, trace=trace)
        out.cases.append(result)
        if on_case is not None:
            on_case(result)
    return out


# -- JUnit XML -------------------------------------------------------------------------------
# XML 1.0 refuses most C0 controls, surrogates and U+FFFE/U+FFFF even as character references.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: Any) -> str:
    return _XML_ILLEGAL.sub("", _clean(str(text)))


def junit_xml(files: Iterable[FileResult]) -> str:
    """JUnit XML (the ``testsuites`` schema read by Jenkins, GitLab and GitHub reporters)
    written with :mod:`xml.etree.ElementTree`: one ``testsuite`` per file, one
    ``testcase`` per case (``classname`` = workflow id), ``failure`` elements holding every
    failure message; an invalid file is a suite with one ``error`` test case."""
    root = ET.Element("testsuites", name="llmos test")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for f in files:
        suite_time = sum(c.duration_ms for c in f.cases) / 1e3
        suite = ET.SubElement(root, "testsuite", name=_x(f.workflow_id or f.path), file=_x(f.path),
                              tests=str(len(f.cases) or (1 if f.error else 0)),
                              failures=str(f.failed), errors=str(1 if f.error else 0),
                              skipped=str(f.skipped), time=f"{suite_time:.3f}")
        if f.error:
            tc = ET.SubElement(suite, "testcase", classname=_x(f.workflow_id or f.path),
                               name="(load)", file=_x(f.path), time="0")
            err = ET.SubElement(tc, "error", message=_x(f.error.splitlines()[0]),
                                type="InvalidWorkflowTests")
            err.text = _x(f.error)
            totals["tests"] += 1
            totals["errors"] += 1
        for c in f.cases:
            tc = ET.SubElement(suite, "testcase", classname=_x(f.workflow_id or f.path),
                               name=_x(c.case.name), file=_x(f.path),
                               time=f"{c.duration_ms / 1e3:.3f}")
            if c.skipped:
                ET.SubElement(tc, "skipped", message=_x(c.case.skip))
            elif not c.passed:
                lines = c.messages
                fail = ET.SubElement(tc, "failure", message=_x(lines[0]),
                                     type="WorkflowExpectation")
                fail.text = _x("\n".join(lines))
        totals["tests"] += len(f.cases)
        totals["failures"] += f.failed
        totals["skipped"] += f.skipped
        totals["time"] += suite_time
    for k, v in totals.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _one(text: str) -> str:
    return _clean(" ".join(text.split()) if "\n" not in text else text)


def _clean(text: str) -> str:
    from llmos_jupyter._redact import redact, strip_control

    return strip_control(redact(text))
