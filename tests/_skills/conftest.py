"""The ``fuzz_long`` marker: the long hypothesis runs (≥ 10⁵ examples), skipped unless
selected with ``-m fuzz_long`` (registered here because the marker belongs to these tests)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fuzz_long: long property-based fuzzing of the skill parser; run with "
                   "-m fuzz_long (minutes)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "fuzz_long" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="long fuzz run: select it with -m fuzz_long")
    for item in items:
        if "fuzz_long" in item.keywords:
            item.add_marker(skip)
