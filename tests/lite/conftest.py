"""The offline site, built once per session, and a static server for it on 127.0.0.1.

``lite_site`` is ``llmos lite build --offline`` into a temporary folder (or
``$LLMOS_LITE_SITE`` when CI built it already); every browser test of this folder uses
the same build.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from lite.stub_messages_api import StubAnthropic


@pytest.fixture(scope="session")
def lite_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prebuilt = os.environ.get("LLMOS_LITE_SITE")
    if prebuilt and (Path(prebuilt) / "index.html").is_file():
        return Path(prebuilt)
    pytest.importorskip("jupyterlite_core", reason="jupyterlite-core not installed (extra: lite)")
    from llmos_jupyter._lite.build import build_site

    out = tmp_path_factory.mktemp("lite") / "site"
    build_site(out, offline=True)
    return out


@pytest.fixture(scope="session")
def site_url(lite_site: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(lite_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def stub_api():
    """The URL of a :class:`StubAnthropic` server on 127.0.0.1 (its requests: ``.seen``)."""
    StubAnthropic.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubAnthropic)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
