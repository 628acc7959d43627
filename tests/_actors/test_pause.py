"""Pausing actors: the mailbox holds, control messages to the coordinator, who may send
them, and the health-check actor pausing a stuck actor and telling its manager.

No test asserts on wall time: the stuck actor's health ping has generous limits and the
"held while paused" check uses the message log's order, not a clock.
"""

from __future__ import annotations

import asyncio

import pytest
from _actors.test_runtime import actor, delivered, library, run

from llmos_jupyter import SkillLibrary
from llmos_jupyter._actors import ActorSpec, Supervision
from llmos_jupyter._actors.mailbox import Mailbox
from llmos_jupyter._paths import system_skills_dir
from llmos_jupyter._skills.parser import load_skill


def test_a_paused_mailbox_hands_out_nothing_until_resumed_then_in_order():
    async def main():
        box = Mailbox(10)
        await box.put("a")
        await box.pause()
        await box.put("b")
        await box.put_system("sys")  # system messages wait too
        getter = asyncio.ensure_future(box.get())
        for _ in range(5):
            await asyncio.sleep(0)
        held = not getter.done()
        await box.resume()
        return held, [await getter, await box.get(), await box.get()]

    held, got = asyncio.run(main())
    assert held and got == ["a", "b", "sys"]


def health_check():
    return load_skill(system_skills_dir() / "actor-health-check.md", volume="system")


WORKER = actor("t-hangs-once", ["hang", "job"], """
    import asyncio

    def on_start(ctx):
        pass

    async def on_message(ctx, msg):
        if msg.type == "hang":
            await asyncio.Event().wait()   # stuck: it cannot answer the health ping
        ctx.reply(msg, "done", msg.payload)
""")
BOSS = actor("t-boss", ["start", "health_report", "tick", "done"], """
    def on_start(ctx):
        ctx.state.update(done=[], report=None)

    def on_message(ctx, msg):
        if msg.type == "start":
            ctx.send("hang", None, to="w")
        elif msg.type == "health_report":
            ctx.state["report"] = msg.payload
            for n in (1, 2, 3):
                ctx.send("job", n, to="w")       # queued: w is paused
            ctx.send("tick", 1, to=ctx.actor_id)
        elif msg.type == "tick":
            # Some turns pass while w is paused; then ask the health check to resume it.
            if msg.payload < 5:
                ctx.send("tick", msg.payload + 1, to=ctx.actor_id)
            else:
                ctx.send("resume_request", {"actor": "w"}, to="h")
        else:
            ctx.state["done"].append(msg.payload)
            if len(ctx.state["done"]) == 3:
                ctx.exit({"done": ctx.state["done"], "report": ctx.state["report"]})
""")


@pytest.mark.parametrize("threads", [False, True])
def test_health_check_pauses_a_stuck_actor_whose_queue_is_delivered_in_order_on_resume(threads):
    events = []
    lib = SkillLibrary(volumes=[], skills=[*library(WORKER, BOSS), health_check()])
    _, out = run(lib, [ActorSpec("boss", "t-boss"),
                       ActorSpec("h", "actor-health-check", config={"manager": "boss"}),
                       ActorSpec("w", "t-hangs-once",
                                 health={"interval_s": 0.02, "deadline_s": 0.2})],
                 threads=threads, on_event=lambda kind, data: events.append((kind, data)))
    assert out.status == "exited", out.error
    assert out.result["done"] == [1, 2, 3]
    report = out.result["report"]
    assert report["actor"] == "w" and report["stuck"] is True and report["paused"] is True
    assert "health ping" in report["error"]
    log = out.messages
    pause = next(i for i, m in enumerate(log) if m["type"] == "pause_actor")
    resume = next(i for i, m in enumerate(log) if m["type"] == "resume_actor")
    assert log[pause]["sender"] == "h" and log[pause]["receiver"] == "coordinator"
    assert log[pause]["status"] == "handled" and log[resume]["status"] == "handled"
    jobs = [i for i, m in enumerate(log) if m["type"] == "job" and m["receiver"] == "w"]
    ticks = [i for i, m in enumerate(log) if m["type"] == "tick"]
    # Nothing reached w between the pause and the resume, while boss took five turns.
    assert pause < min(ticks) and max(ticks) < resume < min(jobs)
    assert [log[i]["payload"] for i in jobs] == [1, 2, 3]
    assert [m["payload"]["actor"] for m in delivered(out, "h", "actor_paused")] == ["w"]
    assert [m["payload"]["by"] for m in delivered(out, "h", "actor_resumed")] == ["h"]
    assert out.actors["w"]["pauses"] == 1 and out.actors["w"]["paused"] is False
    assert out.actors["w"]["restarts"] == 1
    statuses = [d["status"] for k, d in events if k == "actor" and d["id"] == "w"]
    assert "paused" in statuses

    from llmos_jupyter._actors.trace import build_agent_trace

    text = "\n".join(c.source for c in build_agent_trace(out).cells)
    assert "pause\\_actor**: h → coordinator" in text


def test_an_untrusted_actor_cannot_pause_another(tmp_path):
    rogue = actor("t-rogue", ["start"], """
        def on_start(ctx):
            pass

        def on_message(ctx, msg):
            ctx.send("pause_actor", {"actor": "v"}, to="coordinator")
    """)
    path = tmp_path / "t-rogue.md"
    path.write_text(rogue)
    victim = library(actor("t-victim", ["job"], """
        def on_start(ctx):
            pass

        def on_message(ctx, msg):
            pass
    """)).get("t-victim")
    lib = SkillLibrary(volumes=[], skills=[load_skill(path, volume="team"), victim])
    _, out = run(lib, [ActorSpec("r", "t-rogue"), ActorSpec("v", "t-victim")],
                 supervision=Supervision(max_restarts=0))
    assert out.actors["r"]["isolated"] is True
    assert out.status == "failed"
    assert "PermissionError" in out.error and "not trusted" in out.error
    assert "pause_actor" in out.error
    assert out.actors["v"]["pauses"] == 0
    assert not [m for m in out.messages if m.get("receiver") == "coordinator"]


def test_control_messages_name_their_mistakes():
    bad = actor("t-bad-control", ["start"], """
        def on_start(ctx):
            pass

        def on_message(ctx, msg):
            try:
                ctx.send("pause_actor", {"actor": "nobody"}, to="coordinator")
            except ValueError as exc:
                ctx.log(str(exc))
            try:
                ctx.send("kill_actor", {"actor": "b"}, to="coordinator")
            except ValueError as exc:
                ctx.log(str(exc))
            ctx.exit("ok")
    """)
    _, out = run(library(bad), [ActorSpec("b", "t-bad-control")], threads=False)
    assert out.result == "ok"
    lines = delivered(out, "b", "start")[0]["log"]
    assert "naming an actor of this system" in lines[0] and "'nobody'" in lines[0]
    assert "not 'kill_actor'" in lines[1]


def test_a_paused_actor_holding_messages_lets_the_run_end_idle_naming_it():
    pauser = actor("t-pauser", ["start"], """
        def on_start(ctx):
            pass

        def on_message(ctx, msg):
            ctx.send("pause_actor", {"actor": "w", "reason": "test"}, to="coordinator")
            ctx.send("job", 1, to="w")
            ctx.send("job", 2, to="w")
    """)
    worker = actor("t-never", ["job"], """
        def on_start(ctx):
            pass

        def on_message(ctx, msg):
            raise AssertionError("a paused actor got a message")
    """)
    _, out = run(library(pauser, worker), [ActorSpec("p", "t-pauser"), ActorSpec("w", "t-never")],
                 threads=False)
    assert out.status == "idle"
    assert "paused actors hold queued messages: w (2)" in out.error
    assert out.actors["w"]["handled"] == 0 and out.actors["w"]["paused"] is True
    assert "coordinator" not in out.actors


def test_the_coordinator_id_is_reserved():
    from llmos_jupyter._actors import ActorSystemError

    lib = library(actor("t-x", ["start"], "def on_start(ctx):\n    pass\n\n"
                                          "def on_message(ctx, msg):\n    pass\n"))
    with pytest.raises(ActorSystemError, match="reserved"):
        run(lib, [ActorSpec("coordinator", "t-x")])
