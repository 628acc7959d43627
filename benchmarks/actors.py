"""Messages per second through the actor runtime (ping-pong) beside a plain asyncio.Queue
ping-pong, and restart latency. Run: ``python benchmarks/actors.py [N]``.

(Meant for ``benchmarks/actors.py``; it lives here until the benchmarks folder takes it.)
Figures are wall time on this machine, for comparison between versions, not a test.
"""

from __future__ import annotations

import asyncio
import sys
import time

from llmos_jupyter import SkillLibrary, parse_skill
from llmos_jupyter._actors import ActorSpec, ActorSystem, Supervision

PING = """---
skill_id: bench-ping
name: bench ping
kind: actor
subscribes: [start, pong]
---
```python
def on_start(ctx):
    pass

def on_message(ctx, msg):
    n = 0 if msg.type == "start" else msg.payload
    if n >= ctx.config["n"]:
        ctx.exit(n)
    else:
        ctx.send("ping", n + 1, to="pong")
```
"""
PONG = """---
skill_id: bench-pong
name: bench pong
kind: actor
subscribes: [ping]
---
```python
def on_start(ctx):
    pass

def on_message(ctx, msg):
    ctx.reply(msg, "pong", msg.payload)
```
"""
CRASH = """---
skill_id: bench-crash
name: bench crash
kind: actor
subscribes: [start]
---
```python
def on_start(ctx):
    if ctx.config["n"] > 0:
        ctx.send("start", None, to=ctx.actor_id)

def on_message(ctx, msg):
    raise RuntimeError("crash")
```
"""


def actors(n: int, threads: bool) -> float:
    lib = SkillLibrary(volumes=[], skills=[parse_skill(PING), parse_skill(PONG)])
    system = ActorSystem(lib, threads=threads)
    t = time.perf_counter()
    out = asyncio.run(system.run([ActorSpec("ping", "bench-ping", config={"n": n}),
                                  ActorSpec("pong", "bench-pong")]))
    assert out.result == n, out
    return 2 * n / (time.perf_counter() - t)


def queues(n: int) -> float:
    async def main() -> None:
        a: asyncio.Queue[int] = asyncio.Queue(100)
        b: asyncio.Queue[int] = asyncio.Queue(100)

        async def pong() -> None:
            while (x := await a.get()) < n:
                await b.put(x)
            await b.put(x)

        task = asyncio.create_task(pong())
        x = 0
        while x < n:
            await a.put(x + 1)
            x = await b.get()
        await task

    t = time.perf_counter()
    asyncio.run(main())
    return 2 * n / (time.perf_counter() - t)


def restarts(k: int) -> float:
    lib = SkillLibrary(volumes=[], skills=[parse_skill(CRASH)])
    system = ActorSystem(lib, threads=False,
                         supervision=Supervision(max_restarts=k, within_s=3600))
    t = time.perf_counter()
    out = asyncio.run(system.run([ActorSpec("c", "bench-crash", config={"n": 1})]))
    assert out.status == "failed" and out.actors["c"]["restarts"] == k, out
    return (time.perf_counter() - t) / k


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(f"asyncio.Queue ping-pong:        {queues(n):12,.0f} messages/s")
    print(f"actors, handlers in the loop:   {actors(n, False):12,.0f} messages/s")
    print(f"actors, handlers in threads:    {actors(n, True):12,.0f} messages/s")
    print(f"restart (fail, restart, start): {1e3 * restarts(200):12.3f} ms each")
