"""The notebook's live view of an actor system (``AgentsView``) and ``%agents run``'s
background run (``start_run`` / ``AgentsRun``), in Python: the runtime's events reach the
widget's traits in delivery order, the final state is the runtime's own record, the
handle's outcome is ``run_file``'s, Stop and ``%agents stop`` cancel, and outside a
running loop the magic blocks as before."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("anywidget")
from llmos_jupyter._actors import run_file  # noqa: E402
from llmos_jupyter._widget import agents as agents_widget  # noqa: E402
from llmos_jupyter._widget.agents import AgentsView, start_run  # noqa: E402

AGENTS = Path(__file__).resolve().parents[2] / "agents"
PING_PONG = AGENTS / "ping-pong.toml"

pytestmark = pytest.mark.skipif(not agents_widget.ESM.is_file(),
                                reason=f"{agents_widget.ESM} not built (cd labextension && npm run build)")


def _log(messages):
    """A message log without its timestamps (two runs differ only there)."""
    return [(m["id"], m["type"], m["sender"], m["receiver"], m["status"], m.get("payload"))
            for m in messages]


def test_the_view_shows_the_file_graph_and_problems(llmos_home, tmp_path):
    view = AgentsView.from_file(PING_PONG)
    assert view.name == "ping-pong" and "ping/pong" in view.description
    actors = {n["id"]: n for n in view.graph["nodes"] if n["type"] == "actor"}
    assert set(actors) == {"ping", "pong"}
    assert actors["ping"]["data"]["skill"] == "actor-ping"
    assert {(e["source"], e["target"], e["label"]) for e in view.graph["edges"]} >= {
        ("ping", "pong", "ping"), ("pong", "ping", "pong")}
    assert view.problems == [] and view.status == "idle"

    bad = tmp_path / "bad.toml"
    bad.write_text('[system]\nname = "bad"\n\n[[actors]]\nid = "x"\nskill = "no-such-skill"\n')
    broken = AgentsView.from_file(bad)
    [p] = [p for p in broken.problems if p["severity"] == "error"]
    assert "no-such-skill" in p["message"] and p["line"] == 6


def test_events_update_the_traits_in_delivery_order(llmos_home):
    view = AgentsView.from_file(PING_PONG, throttle_s=0)
    seen: list[list[tuple[str, str, str]]] = []
    view.observe(lambda c: seen.append([(e["type"], e["sender"], e["receiver"])
                                        for e in c["new"]]), names=["log"])
    statuses: list[tuple[str, str]] = []
    view.observe(lambda c: statuses.append((c["name"], c["new"])), names=["status"])
    view.start()
    outcome = run_file(PING_PONG, {"rounds": 3, "note": "<b>hi</b>"}, trace=False,
                       on_event=view.on_event)
    live = list(seen)
    view.finish(outcome)
    # Each push extends the previous one by exactly the next delivered message.
    growing = [s for s in live if s]
    for before, after in zip(growing, growing[1:], strict=False):
        assert after[:len(before)] == before and len(after) == len(before) + 1
    delivered = [(m["type"], m["sender"], m["receiver"]) for m in outcome.messages]
    assert growing[-1] == delivered
    assert [t for t, _, _ in delivered] == ["start", "ping", "pong", "ping", "pong", "ping", "pong"]
    assert view.live == len(outcome.messages) == len(view.log)
    # The final state is the runtime's record: its counters, its statuses.
    for actor_id in ("ping", "pong"):
        assert view.actors[actor_id]["handled"] == outcome.actors[actor_id]["handled"]
        assert view.actors[actor_id]["restarts"] == outcome.actors[actor_id]["restarts"] == 0
        assert view.actors[actor_id]["status"] == outcome.actors[actor_id]["status"]
    assert view.actors["ping"]["handled"] == 4 and view.actors["pong"]["handled"] == 3
    assert statuses == [("status", "running"), ("status", "exited")]
    assert not view.running and view.message.startswith("exited after 7 message(s)")
    # Payloads are previews (JSON text): markup is a string, the front end shows it as text.
    assert view.log[0]["preview"] == '{"rounds": 3, "note": "<b>hi</b>"}'


def test_live_state_is_throttled_but_complete(llmos_home):
    async def main():
        view = AgentsView.from_file(PING_PONG, throttle_s=0.05)
        pushes: list[int] = []
        view.observe(lambda c: pushes.append(len(c["new"])), names=["log"])
        view.start()
        from llmos_jupyter._actors import arun_file

        outcome = await arun_file(PING_PONG, {"rounds": 20}, trace=False, on_event=view.on_event)
        await asyncio.sleep(0.1)  # the pending push
        return view, pushes, outcome

    view, pushes, outcome = asyncio.run(main())
    assert len(outcome.messages) == 41
    # Fewer pushes than messages (coalesced), the last one complete.
    assert 0 < len([p for p in pushes if p]) < 41 and pushes[-1] == 41 == view.live


def test_the_handle_gives_run_files_outcome(llmos_home):
    native = run_file(PING_PONG, {"rounds": 4}, trace=False)

    async def main():
        view = AgentsView.from_file(PING_PONG, throttle_s=0)
        ended = []
        handle = start_run(PING_PONG, {"rounds": 4}, view=view, trace=False,
                           on_done=ended.append)
        assert not handle.done() and view.running and view.status == "running"
        with pytest.raises(RuntimeError, match="still running"):
            handle.result()
        outcome = await handle
        await asyncio.sleep(0)  # done callbacks
        return view, handle, outcome, ended

    view, handle, outcome, ended = asyncio.run(main())
    assert ended == [handle] and handle.done() and handle.result() is outcome
    assert outcome.status == native.status == "exited"
    assert outcome.result == native.result == {"rounds": 4, "pongs": [1, 2, 3, 4]}
    assert _log(outcome.messages) == _log(native.messages)
    assert view.status == "exited" and [e["id"] for e in view.log] == [m["id"] for m in native.messages]
    assert "exited" in repr(handle)


def test_stop_in_the_view_interrupts_the_run(llmos_home):
    async def main():
        view = AgentsView.from_file(PING_PONG, throttle_s=0)
        handle = start_run(PING_PONG, {"rounds": 10**9}, view=view, trace=False)
        while view.live < 10:  # it runs, messages flow
            await asyncio.sleep(0.01)
        view._on_front_end(view, {"action": "stop"}, [])  # what the Stop button sends
        return view, await handle

    view, outcome = asyncio.run(main())
    assert outcome.status == "interrupted"
    assert view.status == "interrupted" and not view.running
    assert 10 <= len(outcome.messages) < 2 * 10**9


def test_a_stop_before_the_system_starts_is_an_interrupted_outcome(llmos_home):
    async def main():
        handle = start_run(PING_PONG, {"rounds": 2}, trace=False)
        assert handle.stop()
        return await handle

    outcome = asyncio.run(main())
    assert outcome.status == "interrupted" and "before the system started" in outcome.error


def test_a_refused_system_raises_from_the_handle_and_shows_the_error(llmos_home, tmp_path):
    async def main():
        view = AgentsView(throttle_s=0)
        handle = start_run(PING_PONG, None, view=view, trace=False, untrusted="nope")
        with pytest.raises(Exception, match="untrusted must be"):
            await handle
        return view

    view = asyncio.run(main())
    assert view.status == "error" and "untrusted must be" in view.message


def test_the_magic_blocks_outside_a_running_loop_and_stop_says_nothing_runs(llmos_home, ip,
                                                                           capsys):
    from llmos_jupyter._magics import LlmosMagics

    m = LlmosMagics(ip)
    outcome = m.agents(f"run {PING_PONG} --input '{{\"rounds\": 2}}'")
    assert outcome.status == "exited" and outcome.result == {"rounds": 2, "pongs": [1, 2]}
    assert "ping-pong: exited" in capsys.readouterr().out
    m.agents("stop")
    assert "no actor system is running" in capsys.readouterr().out


def test_without_anywidget_the_magic_runs_without_a_view(llmos_home, ip, monkeypatch, capsys):
    """JupyterLite's Pyodide may lack anywidget: ``%agents run`` still runs (and blocks)."""
    import sys

    from llmos_jupyter._magics import LlmosMagics

    for name in ("llmos_jupyter._widget.agents", "llmos_jupyter._widget.approval"):
        monkeypatch.setitem(sys.modules, name, None)  # `import` raises ImportError
    m = LlmosMagics(ip)
    assert m._agents_view(str(PING_PONG)) is None
    outcome = m.agents(f"run {PING_PONG}")
    assert outcome.status == "exited", capsys.readouterr().err
