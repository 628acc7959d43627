"""pytest plugin: the test cases of ``*.workflow.json`` files as pytest items.

Registered through the ``pytest11`` entry point, so it is active wherever llmos-jupyter
is installed; it collects nothing unless asked, because a workflow's cases run real
skills (a VQE, a simulation) and a project's plain ``pytest`` must not start them
unexpectedly. Turn it on with the command-line flag or the ini option::

    pytest --workflow-tests notebooks/
    # or in pyproject.toml
    [tool.pytest.ini_options]
    workflow_tests = true

Then every ``*.workflow.json`` file pytest visits that has a ``tests`` block becomes a
collector with one item per case (named after the case, marked ``workflow``, so
``-m "not workflow"`` deselects them); a failing item's report is the same one line per
unmet expectation that ``llmos test`` prints. A malformed block or overrides that do not
validate are collection errors naming the file and ``tests[i]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from llmos_jupyter._exceptions import WorkflowError
from llmos_jupyter._testing.cases import Case
from llmos_jupyter._testing.runner import CaseResult, load_file, run_case

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr  # pytest exports no public name for it

__all__ = ["WorkflowCaseFailed", "WorkflowCaseItem", "WorkflowFile"]

SUFFIX = ".workflow.json"


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("llmos", "llmos workflow tests")
    group.addoption("--workflow-tests", action="store_true", default=None,
                    help="collect the \"tests\" cases of *.workflow.json files as test items")
    parser.addini("workflow_tests", type="bool", default=False,
                  help="collect the \"tests\" cases of *.workflow.json files (as "
                  "--workflow-tests)")


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "workflow: a test case of a *.workflow.json file")


def _enabled(config: Any) -> bool:
    flag = config.getoption("workflow_tests", default=None)
    return bool(flag) if flag is not None else bool(config.getini("workflow_tests"))


def pytest_collect_file(file_path: Path, parent: Any) -> Any:
    if file_path.name.endswith(SUFFIX) and _enabled(parent.config):
        return WorkflowFile.from_parent(parent, path=file_path)
    return None


class WorkflowCaseFailed(Exception):
    """A workflow case did not meet its expectations (carries the case's result)."""

    def __init__(self, result: CaseResult) -> None:
        super().__init__("\n".join(result.messages))
        self.result = result


class WorkflowFile(pytest.File):
    """A ``*.workflow.json``: one item per case of its ``tests`` block (none without)."""

    def collect(self) -> Any:
        from llmos_jupyter._api import default_library

        library = default_library()
        try:
            workflow, cases = load_file(self.path, library)
        except WorkflowError as exc:  # pytest shows a CollectError's message alone
            raise self.CollectError(str(exc)) from None
        for case in cases:
            item = WorkflowCaseItem.from_parent(self, name=case.name, workflow=workflow,
                                                case=case)
            item.add_marker("workflow")
            yield item


class WorkflowCaseItem(pytest.Item):
    """One case: runs it through the engine and fails with its failure messages."""

    def __init__(self, *, workflow: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workflow = workflow
        self.case = case

    def runtest(self) -> None:
        from llmos_jupyter._api import default_library

        if self.case.skip is not None:
            pytest.skip(self.case.skip)
        result = run_case(self.workflow, self.case, library=default_library())
        if not result.passed:
            raise WorkflowCaseFailed(result)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, WorkflowCaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.workflow.id} tests[{self.case.index}]: {self.case.name}"
