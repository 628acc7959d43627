"""Skills shared by the executor tests (imported by both test modules)."""

from __future__ import annotations

import socket

from toy_skills import skill_md

from llmos_jupyter import parse_skill

# Pure-Python CPU work: the sum of i*i mod 7 for i < n (identical everywhere it runs).
CPU = parse_skill(skill_md("cpu", """
    import os

    def execute(inputs):
        s = 0
        for i in range(inputs["n"]):
            s += i * i % 7
        print("cpu done", s)
        return {"s": s, "pid": os.getpid()}
    """, inputs="[{name: n, type: integer}]",
    outputs="[{name: s, type: integer}, {name: pid, type: integer}]"))

SPIN = parse_skill(skill_md("spin", """
    import os

    def execute(inputs):
        if inputs.get("pidfile"):
            with open(inputs["pidfile"], "w") as f:
                f.write(str(os.getpid()))
        while True:
            pass
    """, inputs="[{name: pidfile, type: string, required: false}]",
    outputs="[{name: y, type: number}]"))

FAIL = parse_skill(skill_md("fail", """
    def execute(inputs):
        print("about to fail")
        raise ValueError(f"cannot use x = {inputs['x']}")
    """, inputs="[{name: x, type: number}]", outputs="[{name: y, type: number}]"))

SECRET = parse_skill(skill_md("secret", """
    import os

    def execute(inputs):
        return {"value": os.environ.get("LLMOS_TEST_SECRET")}
    """, outputs="[{name: value, type: any, required: false}]"))

NEEDS = parse_skill(skill_md("needs", """
    def execute(inputs):
        return {}
    """, extra="requires: [no_such_package_llmos_xyz]\n"))


# Prints a line, then waits until the file `go` exists (a listener creates it when the
# line reaches it: proof that output arrives while the node runs), then prints another.
TALK = parse_skill(skill_md("talk", """
    import os
    import time

    def execute(inputs):
        print("first", flush=True)
        deadline = time.monotonic() + 20
        while not os.path.exists(inputs["go"]) and time.monotonic() < deadline:
            time.sleep(0.01)
        print("second")
        return {"seen": os.path.exists(inputs["go"])}
    """, inputs="[{name: go, type: string}]", outputs="[{name: seen, type: boolean}]"))


# Prints, waits for a localhost server's answer (GoServer), prints again: a test answers
# only after the first line reached it, so it sees the output arrive while the node runs.
# A connection, not a file: an isolated node sees none of the host's files (it needs
# Limits(network=True)).
WAIT = parse_skill(skill_md("wait-for-go", """
    import socket

    def execute(inputs):
        print("first", flush=True)
        with socket.create_connection(("127.0.0.1", inputs["port"]), timeout=30) as s:
            s.sendall(b"?")
            got = s.recv(1)
        print("second")
        return {"seen": got == b"g"}
    """, inputs="[{name: port, type: integer}]", outputs="[{name: seen, type: boolean}]"))


class GoServer:
    """A localhost server the node connects to; :meth:`go` answers it (once)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(30)
        self.port = self.sock.getsockname()[1]

    def go(self) -> None:
        conn, _ = self.sock.accept()  # the node connects right after its first line
        with conn:
            conn.recv(1)
            conn.sendall(b"g")

    def close(self) -> None:
        self.sock.close()


def expected(n: int) -> int:
    return sum(i * i % 7 for i in range(n))
