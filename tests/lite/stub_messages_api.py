"""A local stand-in for the Messages API that a page in the browser calls (imported by the
lite tests): ``POST /v1/messages`` answers :data:`REPLY` with the CORS headers the real API
sends a browser (the page's origin differs from this server's, so CORS is real); every
request is kept in ``StubAnthropic.seen``."""

from __future__ import annotations

import http.server
import json
from typing import ClassVar

from _llm.anthropic_replay import message, text_block

REPLY = message(text_block("Hello from the stub Messages API."), input_tokens=12,
                output_tokens=9)


class StubAnthropic(http.server.BaseHTTPRequestHandler):
    """``POST /v1/messages`` → the recorded reply; CORS as the real API answers a browser."""

    seen: ClassVar[list[dict]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        # Without this a browser hides every non-safelisted response header from fetch.
        self.send_header("Access-Control-Expose-Headers", "request-id, retry-after")

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self._cors()
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.seen.append({"path": self.path, "headers": {k.lower(): v for k, v in
                                                         self.headers.items()},
                          "body": json.loads(body)})
        data = json.dumps(REPLY).encode()
        self.send_response(200)
        self._cors()
        self.send_header("content-type", "application/json")
        self.send_header("request-id", "req_011CSTUB")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
