"""Chromium for the JupyterLite tests (tests/lite) and benchmarks/lite.py.

Debian's ``/usr/bin/chromium`` with the flags of ``browser-testing.md``, never a Playwright
download; ``outside`` lists the requests of a page that left 127.0.0.1.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - reported as a skip
    sync_playwright = None

needs_browser = pytest.mark.skipif(
    sync_playwright is None or not Path(CHROMIUM).exists() or shutil.which("npm") is None,
    reason="needs Python playwright, Debian chromium at /usr/bin/chromium and npm")


def outside(requests: list[str]) -> list[str]:
    """The network requests (http, https, ws, wss) among ``requests`` not to 127.0.0.1."""
    return [u for u in requests
            if urlparse(u).scheme in ("http", "https", "ws", "wss")
            and urlparse(u).hostname != "127.0.0.1"]
