"""The actor runtime: delivery order, routing, back-pressure, readiness, supervision, ending.

Actors are in-memory skills (trusted as the user's own). No test asserts on wall time;
the few that need time to pass (timeout, health ping, send timeout) only check what
happened, with generous limits.
"""

from __future__ import annotations

import asyncio
import textwrap

import pytest

from llmos_jupyter import SkillLibrary, parse_skill
from llmos_jupyter._actors import (
    ActorRefused,
    ActorSpec,
    ActorSystem,
    Supervision,
    check_actor_skill,
)


def actor(skill_id: str, subscribes: list[str], code: str) -> str:
    return (f"---\nskill_id: {skill_id}\nname: {skill_id}\nkind: actor\n"
            f"subscribes: [{', '.join(subscribes)}]\n---\n\n```python\n"
            + textwrap.dedent(code).strip() + "\n```\n")


def library(*texts: str) -> SkillLibrary:
    return SkillLibrary(volumes=[], skills=[parse_skill(t) for t in texts])


def run(lib, specs, input=None, **kw):
    kw.setdefault("timeout_s", 30)
    system = ActorSystem(lib, **kw)
    outcome = asyncio.run(system.run(specs, input))
    return system, outcome


def delivered(outcome, receiver=None, type_=None):
    return [m for m in outcome.messages if m.get("receiver") and m["status"] != "undelivered"
            and (receiver is None or m["receiver"] == receiver)
            and (type_ is None or m["type"] == type_)]


PING = actor("t-ping", ["start", "pong"], """
    def on_start(ctx):
        ctx.state["pongs"] = []

    def on_message(ctx, msg):
        if msg.type == "start":
            ctx.send("ping", {"n": 1}, to="b")
            return
        ctx.state["pongs"].append(msg.payload["n"])
        if msg.payload["n"] >= ctx.config["rounds"]:
            ctx.exit({"pongs": ctx.state["pongs"]})
        else:
            ctx.send("ping", {"n": msg.payload["n"] + 1}, to=msg.sender)
""")
PONG = actor("t-pong", ["ping"], """
    def on_start(ctx):
        pass

    def on_message(ctx, msg):
        ctx.reply(msg, "pong", msg.payload)
""")


@pytest.mark.parametrize("threads", [False, True])
def test_ping_pong_in_order_and_exit_result(threads):
    lib = library(PING, PONG)
    _, out = run(lib, [ActorSpec("a", "t-ping", config={"rounds": 5}), ActorSpec("b", "t-pong")],
                 threads=threads)
    assert out.status == "exited" and out.result == {"pongs": [1, 2, 3, 4, 5]}
    assert out.exited_by == "a"
    game = [(m["type"], m["sender"], m["receiver"], m["payload"]["n"])
            for m in delivered(out) if m["type"] in ("ping", "pong")]
    expected = []
    for n in range(1, 6):
        expected += [("ping", "a", "b", n), ("pong", "b", "a", n)]
    assert game == expected
    pongs = delivered(out, "a", "pong")
    pings = {m["id"]: m for m in delivered(out, "b", "ping")}
    assert all(p["reply_to"] in pings for p in pongs)
    assert out.actors["a"]["handled"] == 6 and out.actors["b"]["handled"] == 5
    assert {a["status"] for a in out.actors.values()} == {"stopped"}


PRODUCER = actor("t-producer", [], """
    def on_start(ctx):
        for i in range(ctx.config["count"]):
            ctx.send("item", {"from": ctx.actor_id, "i": i})

    def on_message(ctx, msg):
        pass
""")
CONSUMER = actor("t-consumer", ["item"], """
    def on_start(ctx):
        ctx.state["got"] = []

    def on_message(ctx, msg):
        ctx.log(f"{msg.payload['from']}:{msg.payload['i']}")
""")


def test_delivery_in_order_per_sender_with_bounded_mailbox():
    lib = library(PRODUCER, CONSUMER)
    system, out = run(lib, [ActorSpec("p1", "t-producer", config={"count": 40}),
                            ActorSpec("p2", "t-producer", config={"count": 40}),
                            ActorSpec("c", "t-consumer")], mailbox_size=3, threads=False)
    assert out.status == "idle"  # nobody calls ctx.exit: the run ends when nothing is left
    got = [m["log"][0] for m in delivered(out, "c", "item")]
    assert len(got) == 80
    for p in ("p1", "p2"):
        assert [int(x.split(":")[1]) for x in got if x.startswith(p)] == list(range(40))
    # Back-pressure: 80 sends in two turns, yet the mailbox never held more than 3.
    assert system._slots["c"].mailbox.high_water == 3


def test_send_waits_then_fails_the_sender_when_a_mailbox_stays_full():
    stuck = actor("t-stuck", ["item"], """
        import asyncio

        async def on_start(ctx):
            await asyncio.Event().wait()   # never finishes: its mailbox is never read

        def on_message(ctx, msg):
            pass
    """)
    lib = library(PRODUCER, stuck)
    _, out = run(lib, [ActorSpec("s", "t-stuck"), ActorSpec("p", "t-producer", config={"count": 5})],
                 mailbox_size=2, send_timeout_s=0.05, supervision=Supervision(max_restarts=0),
                 threads=False)
    assert out.status == "failed"
    assert "'p'" in out.error and "mailbox full" in out.error


SENDER = actor("t-sender", ["start"], """
    def on_start(ctx):
        pass

    def on_message(ctx, msg):
        ctx.send("x", "to my scope")
        ctx.send("x", "to aaaaaa", scope="aaaaaa")
        ctx.send("y", "y to my scope")
""")
LISTENER = actor("t-listener", ["x"], """
    def on_start(ctx):
        pass

    def on_message(ctx, msg):
        ctx.log(msg.payload)
""")


def test_routing_by_subscription_and_scope():
    lib = library(SENDER, LISTENER)
    _, out = run(lib, [ActorSpec("s", "t-sender"),
                       ActorSpec("root-listener", "t-listener"),
                       ActorSpec("other-listener", "t-listener", scope="aaaaaa"),
                       ActorSpec("other-2", "t-listener", scope="bbbbbb")], threads=False)
    assert out.status == "idle"
    assert [m["payload"] for m in delivered(out, "root-listener")] == ["to my scope"]
    assert [m["payload"] for m in delivered(out, "other-listener")] == ["to aaaaaa"]
    assert delivered(out, "other-2") == []  # another scope's messages never arrive
    # "y" has no subscriber: recorded as undelivered, not broadcast to anyone.
    assert [m["payload"] for m in out.messages if m["status"] == "undelivered"] == ["y to my scope"]


def test_readiness_messages_and_early_messages_wait_for_on_start():
    early = actor("t-early", [], """
        def on_start(ctx):
            ctx.send("hello", "sent during on_start")

        def on_message(ctx, msg):
            pass
    """)
    slow = actor("t-slow", ["hello"], """
        import asyncio

        async def on_start(ctx):
            for _ in range(20):
                await asyncio.sleep(0)   # let everybody else run first
            ctx.state["started"] = True

        def on_message(ctx, msg):
            ctx.log(f"started={ctx.state.get('started')}")
    """)
    watcher = actor("t-watch", ["start", "actor_ready", "all_actors_ready"], """
        def on_start(ctx):
            pass

        def on_message(ctx, msg):
            ctx.log(msg.payload.get("actor") if isinstance(msg.payload, dict) else msg.payload)
    """)
    lib = library(early, slow, watcher)
    _, out = run(lib, [ActorSpec("w", "t-watch"), ActorSpec("e", "t-early"),
                       ActorSpec("s", "t-slow")], input="go", threads=False)
    assert [m["log"] for m in delivered(out, "s", "hello")] == [["started=True"]]
    seen = [(m["type"], m["log"][0] if m["log"] else None) for m in delivered(out, "w")]
    types = [t for t, _ in seen]
    # all_actors_ready comes after every actor_ready, and the start message after it.
    assert types.index("all_actors_ready") > max(i for i, t in enumerate(types) if t == "actor_ready")
    assert types[-1] == "start" and seen[-1][1] == "go"
    assert {a for t, a in seen if t == "actor_ready"} == {"e", "s"}


FLAKY = actor("t-flaky", ["job"], """
    def on_start(ctx):
        ctx.state["seen"] = []
        ctx.log("on_start")

    def on_message(ctx, msg):
        ctx.state["seen"].append(msg.payload)
        if msg.payload < 3:
            raise RuntimeError(f"job {msg.payload} failed")
        ctx.exit({"seen": ctx.state["seen"]})

    def on_stop(ctx):
        ctx.log("on_stop")
""")
JOBS = actor("t-jobs", ["start"], """
    def on_start(ctx):
        pass

    def on_message(ctx, msg):
        for n in (1, 2, 3):
            ctx.send("job", n)
""")
RESTART_WATCH = actor("t-rwatch", ["actor_restarted"], """
    def on_start(ctx):
        pass

    def on_message(ctx, msg):
        ctx.log(f"{msg.payload['actor']} restarts={msg.payload['restarts']}")
""")


@pytest.mark.parametrize("threads", [False, True])
def test_one_for_one_restarts_twice_then_handles_the_third(threads):
    lib = library(FLAKY, JOBS, RESTART_WATCH)
    _, out = run(lib, [ActorSpec("jobs", "t-jobs"), ActorSpec("f", "t-flaky"),
                       ActorSpec("w", "t-rwatch")],
                 supervision=Supervision("one_for_one", max_restarts=2, within_s=60),
                 threads=threads)
    assert out.status == "exited", out.error
    # Fresh ctx.state after each restart; failing messages are not redelivered; the
    # queued third job survived both restarts.
    assert out.result == {"seen": [3]}
    assert out.actors["f"]["restarts"] == 2 and out.actors["jobs"]["restarts"] == 0
    assert [m["status"] for m in delivered(out, "f", "job")] == ["failed", "failed", "handled"]
    assert [m["log"] for m in delivered(out, "w")] == [["f restarts=1"], ["f restarts=2"]]


TRIO = actor("t-trio", ["boom"], """
    def on_start(ctx):
        ctx.log("on_start")

    def on_message(ctx, msg):
        raise ValueError("boom")

    def on_stop(ctx):
        ctx.log("on_stop")
""")
BOOM = actor("t-boom", ["start"], """
    def on_start(ctx):
        pass

    def on_message(ctx, msg):
        ctx.send("boom", None, to="b")
""")


@pytest.mark.parametrize("strategy,restarted", [
    ("one_for_one", {"b"}),
    ("one_for_all", {"a", "b", "c", "boss"}),
    ("rest_for_one", {"b", "c", "boss"}),  # boss started after b
])
def test_restart_strategies(strategy, restarted):
    lib = library(TRIO, BOOM)
    _, out = run(lib, [ActorSpec("a", "t-trio", scope="aaaaaa"), ActorSpec("b", "t-trio", scope="aaaaaa"),
                       ActorSpec("c", "t-trio", scope="aaaaaa"),
                       ActorSpec("boss", "t-boom", scope="aaaaaa")],
                 supervision=Supervision(strategy, max_restarts=5, within_s=60), threads=False)
    assert out.status == "idle"
    assert {k for k, a in out.actors.items() if a["restarts"] == 1} == restarted
    assert all(out.actors[k]["restarts"] == 0 for k in {"a", "b", "c", "boss"} - restarted)
    # on_stop is called on the siblings stopped for the restart, not on the crashed actor
    # (then on every actor at shutdown).
    stops = [m["receiver"] for m in out.messages if m["type"] == "on_stop"]
    assert stops[-3:] == ["c", "b", "a"]  # boss has no on_stop
    assert sorted(stops[:-3]) == sorted(restarted - {"b", "boss"})
    if strategy == "one_for_all":
        assert stops[:-3] == ["c", "a"]  # newest first


ALWAYS = actor("t-always", ["start"], """
    def on_start(ctx):
        pass

    def on_message(ctx, msg):
        1 / 0
""")


def test_intensity_exceeded_ends_the_system_naming_the_actor_and_traceback():
    lib = library(ALWAYS, JOBS)
    # Each restart gets no new message, so feed three: the third failure gives up.
    starter = actor("t-starter", ["start"], """
        def on_start(ctx):
            pass

        def on_message(ctx, msg):
            for _ in range(3):
                ctx.send("start", None, to="x")
    """)
    lib = library(ALWAYS, starter)
    _, out = run(lib, [ActorSpec("s", "t-starter"), ActorSpec("x", "t-always")],
                 supervision=Supervision(max_restarts=2, within_s=60), threads=False)
    assert out.status == "failed"
    assert "gave up" in out.error and "'x'" in out.error and "t-always" in out.error
    assert "ZeroDivisionError" in out.error and "Traceback" in out.error
    assert out.actors["x"]["restarts"] == 2 and out.actors["x"]["status"] == "failed"


def test_escalation_to_the_spawning_actor_in_the_parent_scope():
    manager = actor("t-manager", ["scope_gave_up"], """
        def on_start(ctx):
            ctx.log("manager on_start")
            ctx.spawn("t-bad", scope="new")

        def on_message(ctx, msg):
            ctx.log(f"child scope gave up: {msg.payload['actor']}")
    """)
    bad = actor("t-bad", ["x"], """
        def on_start(ctx):
            raise RuntimeError("cannot start")

        def on_message(ctx, msg):
            pass
    """)
    lib = library(manager, bad)
    _, out = run(lib, [ActorSpec("m", "t-manager")],
                 supervision=Supervision(max_restarts=1, within_s=60), threads=False)
    # worker fails, restarts once, fails: its scope gives up and the manager fails;
    # the manager restarts once (spawning a new worker scope), and the same happens again:
    # the root supervisor gives up.
    assert out.status == "failed"
    assert "'m'" in out.error and "gave up" in out.error
    assert out.actors["m"]["restarts"] == 1
    workers = [k for k in out.actors if k.startswith("t-bad-")]
    assert len(workers) == 2 and all(out.actors[w]["restarts"] == 1 for w in workers)
    assert len({out.actors[w]["scope"] for w in workers}) == 2


def test_graceful_shutdown_calls_on_stop_newest_first_after_exit():
    quitter = actor("t-quit", ["start"], """
        def on_start(ctx):
            pass

        def on_message(ctx, msg):
            ctx.exit(["done", msg.payload])

        def on_stop(ctx):
            ctx.log("bye " + ctx.actor_id)
            ctx.send("ignored")   # a stopped actor's sends are dropped
    """)
    lib = library(quitter)
    _, out = run(lib, [ActorSpec("q1", "t-quit"), ActorSpec("q2", "t-quit")], input=7,
                 threads=False)
    assert out.status == "exited" and out.result == ["done", 7]
    stops = [(m["receiver"], m["log"]) for m in out.messages if m["type"] == "on_stop"]
    assert stops == [("q2", ["bye q2"]), ("q1", ["bye q1"])]
    assert not [m for m in out.messages if m["type"] == "ignored"]


def test_timeout_ends_the_run_and_calls_on_stop():
    hang = actor("t-hang", ["start"], """
        import asyncio

        def on_start(ctx):
            pass

        async def on_message(ctx, msg):
            await asyncio.Event().wait()

        def on_stop(ctx):
            ctx.log("stopped")
    """)
    _, out = run(library(hang), [ActorSpec("h", "t-hang")], timeout_s=0.2)
    assert out.status == "timeout" and "0.2 s" in out.error
    assert [m["log"] for m in out.messages if m["type"] == "on_stop"] == [["stopped"]]
    assert [m["status"] for m in delivered(out, "h", "start")] == ["dropped"]


def test_cancel_is_a_graceful_interrupt():
    hang = actor("t-hang2", ["start"], """
        import asyncio

        def on_start(ctx):
            pass

        async def on_message(ctx, msg):
            await asyncio.Event().wait()

        def on_stop(ctx):
            ctx.log("stopped")
    """)

    async def main():
        system = ActorSystem(library(hang), timeout_s=30)
        task = asyncio.create_task(system.run([ActorSpec("h", "t-hang2")]))
        while not system._slots or not system._slots["h"].handled and not system._log:
            await asyncio.sleep(0)
        task.cancel()   # what Ctrl-C does to asyncio.run's main task
        return await task

    out = asyncio.run(main())
    assert out.status == "interrupted"
    assert [m["log"] for m in out.messages if m["type"] == "on_stop"] == [["stopped"]]


def test_health_ping_unanswered_counts_as_failure():
    stuck = actor("t-stuck-once", ["job"], """
        import asyncio

        def on_start(ctx):
            pass

        async def on_message(ctx, msg):
            if msg.payload == 1:
                await asyncio.Event().wait()   # stuck: cannot answer the health ping
            ctx.exit({"handled": msg.payload})
    """)
    feeder = actor("t-feed", ["start"], """
        def on_start(ctx):
            pass

        def on_message(ctx, msg):
            ctx.send("job", 1)
            ctx.send("job", 2)
    """)
    _, out = run(library(stuck, feeder),
                 [ActorSpec("f", "t-feed"),
                  ActorSpec("s", "t-stuck-once", health={"interval_s": 0.02, "deadline_s": 0.1})],
                 threads=False)
    assert out.status == "exited" and out.result == {"handled": 2}
    assert out.actors["s"]["restarts"] == 1
    assert "health ping" in out.actors["s"]["error"]


def test_exit_result_must_be_json():
    bad_exit = actor("t-bad-exit", ["start"], """
        def on_start(ctx):
            pass

        def on_message(ctx, msg):
            ctx.exit({1, 2})
    """)
    _, out = run(library(bad_exit), [ActorSpec("b", "t-bad-exit")],
                 supervision=Supervision(max_restarts=0), threads=False)
    assert out.status == "failed" and "not JSON-able" in out.error


def test_send_errors_name_the_problem():
    wrong = actor("t-wrong", ["start"], """
        def on_start(ctx):
            pass

        def on_message(ctx, msg):
            ctx.send("x", to="nobody")
    """)
    _, out = run(library(wrong), [ActorSpec("w", "t-wrong")],
                 supervision=Supervision(max_restarts=0), threads=False)
    assert out.status == "failed" and "no actor 'nobody'" in out.error


def test_untrusted_actor_is_refused_naming_llmos_trust_when_asked(tmp_path):
    from llmos_jupyter._skills.parser import load_skill

    path = tmp_path / "t-pong.md"
    path.write_text(PONG)
    skill = load_skill(path, volume="team")

    async def main():
        return await ActorSystem(SkillLibrary(volumes=[], skills=[skill]),
                                 untrusted="refuse").run([ActorSpec("p", "t-pong")])

    with pytest.raises(ActorRefused, match="llmos trust t-pong"):
        asyncio.run(main())


def test_untrusted_actors_run_isolated_keeping_only_json_state(tmp_path):
    from llmos_jupyter._skills.parser import load_skill

    counter = actor("t-iso", ["start", "again"], """
        import os

        CALLS = []   # module state: fresh in every isolated call

        def on_start(ctx):
            ctx.state["n"] = 0

        def on_message(ctx, msg):
            CALLS.append(1)
            ctx.state["n"] += 1
            ctx.log(f"calls={len(CALLS)} key={'ANTHROPIC_API_KEY' in os.environ}")
            if ctx.state["n"] < 3:
                ctx.send("again", ctx.state["n"], to=ctx.actor_id)
            else:
                try:
                    ctx.spawn("t-pong")
                except PermissionError as exc:
                    ctx.exit({"n": ctx.state["n"], "spawn": str(exc)})
    """)
    path = tmp_path / "t-iso.md"
    path.write_text(counter)
    skill = load_skill(path, volume="team")
    _, out = run(SkillLibrary(volumes=[], skills=[skill]), [ActorSpec("i", "t-iso")])
    assert out.status == "exited", out.error
    assert out.result["n"] == 3 and "cannot spawn" in out.result["spawn"]
    assert out.actors["i"]["isolated"] is True
    assert [m["log"] for m in delivered(out, "i")] == [["calls=1 key=False"]] * 3


def test_check_actor_skill_problems():
    broken = parse_skill("---\nskill_id: t-broken\nname: b\nkind: actor\n"
                         "subscribes: [ok, 'bad type!']\n---\n\n```python\n"
                         "def on_start():\n    pass\n```\n")
    problems = [p.message for p in check_actor_skill(broken)]
    assert any("'bad type!'" in p for p in problems)
    assert any("on_start must take (ctx)" in p for p in problems)
    assert any("on_message(ctx, msg)" in p for p in problems)
    no_subs = parse_skill("---\nskill_id: t-nosubs\nname: b\nkind: actor\n---\n\n```python\n"
                          "def on_start(ctx):\n    pass\n\ndef on_message(ctx, msg):\n    pass\n```\n")
    assert [p.field for p in check_actor_skill(no_subs)] == ["subscribes"]
    assert check_actor_skill(parse_skill(PONG)) == []


def test_traceback_points_at_the_skill_file(tmp_path, llmos_home):
    from llmos_jupyter._skills.parser import load_skill

    path = llmos_home / "user" / "always.md"
    path.parent.mkdir(parents=True)
    path.write_text(ALWAYS)
    skill = load_skill(path, volume="user")
    _, out = run(SkillLibrary(volumes=[], skills=[skill]), [ActorSpec("x", "t-always")],
                 supervision=Supervision(max_restarts=0), threads=False)
    line = ALWAYS.splitlines().index("    1 / 0") + 1
    assert f'File "{path}", line {line}' in out.error


def test_on_event_reports_handled_messages_and_actor_statuses():
    events = []
    _, out = run(library(PING, PONG), [ActorSpec("a", "t-ping", config={"rounds": 2}),
                                       ActorSpec("b", "t-pong")],
                 threads=False, on_event=lambda kind, data: events.append((kind, dict(data))))
    assert out.status == "exited"
    handled = [d["id"] for k, d in events if k == "message"]
    assert handled == [m["id"] for m in delivered(out)]
    statuses = [(d["id"], d["status"]) for k, d in events if k == "actor"]
    assert statuses[:2] == [("a", "starting"), ("b", "starting")]
    assert ("a", "ready") in statuses and statuses[-2:] == [("b", "stopped"), ("a", "stopped")]


def test_a_failing_on_event_callback_does_not_stop_the_actors():
    def boom(kind, data):
        raise RuntimeError("view bug")

    _, out = run(library(PING, PONG), [ActorSpec("a", "t-ping", config={"rounds": 2}),
                                       ActorSpec("b", "t-pong")], threads=False, on_event=boom)
    assert out.status == "exited" and out.result == {"pongs": [1, 2]}


def test_a_restarted_owner_can_spawn_the_same_child_ids_and_scope_again():
    manager = actor("t-manager2", [], """
        def on_start(ctx):
            ctx.spawn("t-bad2", actor_id="w", scope="wscope")

        def on_message(ctx, msg):
            pass
    """)
    bad = actor("t-bad2", ["x"], """
        def on_start(ctx):
            raise RuntimeError("cannot start")

        def on_message(ctx, msg):
            pass
    """)
    _, out = run(library(manager, bad), [ActorSpec("m", "t-manager2")],
                 supervision=Supervision(max_restarts=1, within_s=60), threads=False)
    assert out.status == "failed"
    assert "'m'" in out.error and "taken" not in out.error and "was stopped" not in out.error
    assert out.actors["m"]["restarts"] == 1
    assert out.actors["w"]["scope"] == "wscope" and out.actors["w"]["restarts"] == 1


def test_the_message_log_keeps_the_newest_entries_within_its_limit():
    _, out = run(library(PING, PONG), [ActorSpec("a", "t-ping", config={"rounds": 5}),
                                       ActorSpec("b", "t-pong")], threads=False, log_limit=4)
    assert out.status == "exited"
    assert [(m["type"], m["payload"]["n"]) for m in out.messages] == [
        ("ping", 4), ("pong", 4), ("ping", 5), ("pong", 5)]
    assert out.messages_dropped == 7  # start and the first three rounds


def test_outcome_repr_is_one_short_line():
    """What a notebook shows for `%agents run`: status, counts, the error's first line."""
    from llmos_jupyter._actors.runtime import RunOutcome

    out = RunOutcome("failed", result=list(range(1000)), messages=[{"type": "x"}] * 5000,
                     error="ping: ValueError: boom\nTraceback ...")
    text = repr(out)
    assert "\n" not in text and len(text) < 300
    assert "status='failed'" in text and "messages=5000" in text and "boom" in text
