"""Workflow tests: test cases carried by a workflow file, run through the one engine.

``cases`` reads and checks a workflow's ``tests`` block and compares a run with a case's
expectations; ``runner`` runs cases (for ``llmos test`` and the pytest plugin) and
writes JUnit XML; ``pytest_plugin`` collects ``*.workflow.json`` files as pytest items.
See docs/workflow-tests.md.
"""

from __future__ import annotations

from llmos_jupyter._testing.cases import (
    Case,
    CaseError,
    Expectation,
    Failure,
    check_case,
    load_cases,
)

__all__ = ["Case", "CaseError", "Expectation", "Failure", "check_case", "load_cases"]
