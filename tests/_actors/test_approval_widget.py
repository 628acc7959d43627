"""The approval widget's Python side (the front end simulated by setting its traits as a
comm message does, with ``set_state``) and the approval actor's widget path in a system.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

pytest.importorskip("anywidget")

from llmos_jupyter._actors.config import build_system, check_system  # noqa: E402
from llmos_jupyter._widget import approval  # noqa: E402
from llmos_jupyter._widget.approval import ApprovalWidget, Decision  # noqa: E402


def click(widget, decision, comment=""):
    """What the front end sends on a click: comment and decision in one state update."""
    widget.set_state({"comment": comment, "decision": decision})


def test_the_first_click_decides_and_later_ones_change_nothing():
    w = ApprovalWidget("a.py", "print('hi')\n", reviewer="security")
    assert w.status == "pending" and w.result is None
    click(w, "request_changes", "  use logging  ")
    assert w.result == Decision(False, "use logging")
    assert w.status == "decided"
    click(w, "approve", "changed my mind")  # a second view, a late click
    assert w.decision == "request_changes" and w.comment == "use logging"
    assert w.result == Decision(False, "use logging")


def test_an_unknown_decision_from_the_front_end_is_ignored():
    w = ApprovalWidget("a.py", "x")
    click(w, "merge", "")
    assert w.result is None and w.decision == "" and w.status == "pending"
    click(w, "approve", "")
    assert w.result == Decision(True, "")


def test_content_is_capped_and_sent_as_text():
    text = "<script>alert(1)</script>\n" + "x" * approval.MAX_CHARS
    w = ApprovalWidget("evil.html", text)
    assert len(w.content) == approval.MAX_CHARS and w.truncated == 26
    assert w.content.startswith("<script>")  # data, shown with textContent by approval.js
    js = approval.ESM.read_text()
    assert "innerHTML" not in js and "textContent" in js


def test_decided_resolves_in_a_loop_and_expires_after_the_timeout():
    async def main():
        w = ApprovalWidget("a.py", "x")
        asyncio.get_running_loop().call_soon(click, w, "approve", "ok")
        first = await w.decided(timeout=30)
        late = ApprovalWidget("b.py", "y")
        expired = await late.decided(timeout=0.05)
        click(late, "approve", "too late")
        return first, expired, late

    first, expired, late = asyncio.run(main())
    assert first == Decision(True, "ok")
    assert expired.status == "expired" and not expired.approved
    assert late.status == "expired" and late.result == expired  # the late click is ignored


def test_wait_blocks_a_thread_until_the_click_from_another_thread():
    w = ApprovalWidget("a.py", "x")
    got = []
    t = threading.Thread(target=lambda: got.append(w.wait(timeout=30)))
    t.start()
    click(w, "request_changes", "no")
    t.join(30)
    assert got == [Decision(False, "no")]


def test_ask_approval_refuses_outside_a_kernel():
    assert approval.in_kernel() is False
    with pytest.raises(RuntimeError, match="Jupyter kernel"):
        asyncio.run(approval.ask_approval("a.py", "x"))


def test_code_with_experts_asks_a_person_through_the_widget(monkeypatch, tmp_path):
    """The example system with the style expert in `widget` mode: the person approves
    hello.py and asks for changes to danger.py with a comment."""
    shown = []

    def fake_display(widget):
        shown.append(widget)
        answer = {"hello.py": ("approve", "fine"),
                  "danger.py": ("request_changes", "no eval please"),
                  "notes.txt": ("approve", "")}[widget.path]
        asyncio.get_running_loop().call_soon(click, widget, *answer)

    monkeypatch.setattr(approval, "in_kernel", lambda: True)
    monkeypatch.setattr(approval, "_display", fake_display)
    from _actors.test_examples import EXAMPLES

    cfg, problems = check_system(EXAMPLES / "code-with-experts.toml")
    assert not [p for p in problems if p.severity == "error"]
    style = next(a for a in cfg.actors if a["id"] == "style")
    style["config"] = {"mode": "human"}
    editor = next(a for a in cfg.actors if a["id"] == "editor")
    editor["config"] = {**editor["config"], "root": str(tmp_path / "out")}
    system, specs = build_system(cfg)
    out = asyncio.run(system.run(specs))
    assert out.status == "exited", out.error
    assert sorted(w.path for w in shown) == ["danger.py", "hello.py", "notes.txt"]
    assert all(w.reviewer == "style" and w.status == "decided" for w in shown)
    # The security rules refuse danger.py too; notes.txt passes both.
    assert sorted(out.result["written"]) == ["hello.py", "notes.txt"]
    assert (tmp_path / "out" / "hello.py").read_text() == "print('hello')\n"
    reasons = [r["reason"] for r in out.result["refused"] if r["path"] == "danger.py"]
    assert reasons and reasons[0].startswith(("security:", "style:"))
    approvals = [m for m in out.messages if m["type"] == "approve" and m["sender"] == "style"]
    assert {"change": 0, "comment": "fine"} in [m["payload"] for m in approvals]
    changes = [m for m in out.messages if m["type"] == "request_changes"
               and m["sender"] == "style"]
    assert [m["payload"]["reason"] for m in changes] == ["no eval please"]


def test_widget_mode_outside_a_kernel_asks_for_changes(tmp_path):
    from _actors.test_examples import EXAMPLES

    cfg, _ = check_system(EXAMPLES / "code-with-experts.toml")
    next(a for a in cfg.actors if a["id"] == "style")["config"] = {"mode": "widget"}
    editor = next(a for a in cfg.actors if a["id"] == "editor")
    editor["config"] = {**editor["config"], "root": str(tmp_path / "out")}
    system, specs = build_system(cfg)
    out = asyncio.run(system.run(specs))
    assert out.status == "exited" and out.result["written"] == []
    assert any("no notebook to ask in" in r["reason"] for r in out.result["refused"])
