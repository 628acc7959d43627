"""A chat is a notebook: ``<user volume>/chats/<chat id>.ipynb``.

Each message of the conversation becomes cells, in order:

* user and assistant text → Markdown cells (``**You**`` / ``**Claude**`` headings);
* a ``tool_use`` block → a code cell whose source is the call (``# tool: add_node``, the
  approval line ``# approval: approved — writes …`` when the call needed one, and its JSON
  input), with the ``tool_result`` as the cell's output (``application/json`` and
  ``text/plain``; an error result is an ``error`` output). The call's record (tool,
  redacted arguments, ``approval``: ``approved``/``denied``/``not needed``/``unavailable``,
  reasons, error flag, result summary) is in the cell's ``metadata.llmos.call``;
* other blocks (thinking, …) → raw cells, so nothing the API returned is lost.

Every cell carries ``metadata.llmos = {"message": i, "role": ..., "block": <API block>}``
(a tool cell also ``"result"`` and ``"result_message"``), so :meth:`Chat.load` rebuilds the
exact message list from the cells and a chat continues after a kernel restart. Notebook
metadata ``llmos.chat`` holds the id, model, and token usage and estimated cost per call.
Everything is passed through :func:`redact.redact_obj` before it is written.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._atomic import atomic_write_text
from llmos_jupyter._llm.pricing import CallUsage, UsageLedger
from llmos_jupyter._paths import volume_dir
from llmos_jupyter._redact import redact, redact_obj

__all__ = ["Chat", "chats_dir", "list_chats"]


def chats_dir(home: Path | None = None) -> Path:
    """``<user volume>/chats``."""
    return volume_dir("user", home) / "chats"


def list_chats(home: Path | None = None) -> list[Path]:
    """Chat notebooks, oldest first (the names start with a UTC time stamp)."""
    folder = chats_dir(home)
    return sorted(folder.glob("*.ipynb")) if folder.is_dir() else []


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n\n".join(b.get("text", "") for b in content if isinstance(b, dict)
                       and b.get("type") == "text")


@dataclass
class Chat:
    """Messages in the Messages API's shape, usage, and the notebook they live in."""

    chat_id: str = ""
    model: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    ledger: UsageLedger = field(default_factory=UsageLedger)
    path: Path | None = None
    created: str = ""
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.chat_id:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            self.chat_id = f"{stamp}-{uuid.uuid4().hex[:6]}"
        if not self.created:
            self.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self.path is None:
            self.path = chats_dir() / f"{self.chat_id}.ipynb"

    # -- messages ------------------------------------------------------------------------
    def add_user(self, content: str | list[dict[str, Any]]) -> None:
        """Append a user turn (merged into the last one when that is a user turn too)."""
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if self.messages and self.messages[-1]["role"] == "user":
            last = self.messages[-1]
            if isinstance(last["content"], str):
                last["content"] = [{"type": "text", "text": last["content"]}]
            last["content"].extend(blocks)
        else:
            self.messages.append({"role": "user", "content": list(blocks)})

    def add_assistant(self, blocks: list[dict[str, Any]], usage: CallUsage | None = None) -> None:
        self.messages.append({"role": "assistant", "content": blocks})
        if usage is not None:
            self.ledger.add(usage)

    def record_call(self, tool_use_id: str, name: str, arguments: Any, result: Any) -> None:
        """Record one tool call for the notebook: name, redacted arguments, approval
        (``result.approval`` or ``not needed``), reasons, error flag, result summary."""
        self.calls[tool_use_id] = redact_obj({
            "tool": name, "arguments": arguments,
            "approval": getattr(result, "approval", None) or "not needed",
            "reasons": list(getattr(result, "reasons", ()) or ()),
            "is_error": bool(getattr(result, "is_error", False)),
            "result": result.summary() if hasattr(result, "summary") else redact(str(result))[:300],
        })

    def api_messages(self) -> list[dict[str, Any]]:
        """The messages to send (a copy)."""
        return json.loads(json.dumps(self.messages))

    # -- notebook ------------------------------------------------------------------------
    def to_notebook(self) -> Any:
        from nbformat import v4

        nb = v4.new_notebook()
        results: dict[str, tuple[int, dict[str, Any]]] = {}
        for i, m in enumerate(self.messages):
            if m["role"] == "user" and isinstance(m["content"], list):
                for b in m["content"]:
                    if b.get("type") == "tool_result":
                        results[b["tool_use_id"]] = (i, b)
        nb.cells.append(v4.new_markdown_cell(
            f"# Chat {self.chat_id}\n\nModel `{self.model}` · {self.ledger.summary()}",
            metadata={"llmos": {"header": True}}))
        for i, m in enumerate(self.messages):
            role = m["role"]
            blocks = ([{"type": "text", "text": m["content"]}] if isinstance(m["content"], str)
                      else m["content"])
            for b in blocks:
                meta: dict[str, Any] = {"message": i, "role": role, "block": b}
                kind = b.get("type")
                if kind == "text":
                    who = "You" if role == "user" else "Claude"
                    nb.cells.append(v4.new_markdown_cell(f"**{who}**\n\n{b['text']}",
                                                         metadata={"llmos": meta}))
                elif kind == "tool_result":
                    continue  # shown as the output of its tool_use cell
                elif kind == "tool_use":
                    call = self.calls.get(b.get("id", ""))
                    # the name comes from the model: never let it become a line of code
                    head = f"# tool: {re.sub(r'[^A-Za-z0-9_.-]', '?', str(b.get('name')))}\n"
                    if call is not None:
                        meta["call"] = call
                        if call["approval"] != "not needed":
                            # one comment line whatever the reasons hold
                            why = " ".join("; ".join(call["reasons"]).split())
                            head += (f"# approval: {call['approval']}"
                                     + (f" — {why}" if why else "") + "\n")
                    source = head + json.dumps(b.get("input"), indent=2)
                    outputs = []
                    if b["id"] in results:
                        ri, rb = results.pop(b["id"])
                        meta.update(result=rb, result_message=ri)
                        outputs = [_result_output(rb)]
                    nb.cells.append(v4.new_code_cell(source, metadata={"llmos": meta},
                                                     outputs=outputs))
                else:
                    nb.cells.append(v4.new_raw_cell(json.dumps(b)[:2000], metadata={"llmos": meta}))
        for ri, rb in results.values():  # results whose call is not in this chat (defensive)
            nb.cells.append(v4.new_raw_cell("", metadata={"llmos": {
                "message": ri, "role": "user", "block": rb}}))
        nb.metadata["llmos"] = {"chat": {"id": self.chat_id, "model": self.model,
                                         "created": self.created,
                                         "usage": [c.to_json() for c in self.ledger.calls],
                                         "total": self.ledger.to_json()}}
        return nb

    def save(self) -> Path:
        """Write the chat notebook (atomically, redacted)."""
        import nbformat

        nb = nbformat.from_dict(redact_obj(self.to_notebook()))
        assert self.path is not None
        atomic_write_text(self.path, nbformat.writes(nb))
        return self.path

    @classmethod
    def load(cls, path: str | Path) -> Chat:
        """A chat from its notebook (messages rebuilt from the cells' metadata)."""
        import nbformat

        path = Path(path)
        nb = nbformat.read(str(path), as_version=4)
        meta = nb.metadata.get("llmos", {}).get("chat", {})
        blocks: list[tuple[int, str, dict[str, Any]]] = []
        calls: dict[str, dict[str, Any]] = {}
        for cell in nb.cells:
            m = cell.metadata.get("llmos") or {}
            if "block" not in m:
                continue
            if "call" in m and isinstance(m["block"], dict) and m["block"].get("id"):
                calls[m["block"]["id"]] = _plain(m["call"])
            blocks.append((int(m["message"]), m["role"], _plain(m["block"])))
            if "result" in m:
                blocks.append((int(m["result_message"]), "user", _plain(m["result"])))
        messages: list[dict[str, Any]] = []
        index: dict[int, dict[str, Any]] = {}
        for i, role, b in sorted(blocks, key=lambda t: t[0]):
            if i not in index:
                index[i] = {"role": role, "content": []}
                messages.append(index[i])
            index[i]["content"].append(b)
        ledger = UsageLedger([CallUsage(**{k: v for k, v in c.items()
                                           if k not in ("cost_usd",)})
                              for c in meta.get("usage", [])])
        return cls(chat_id=meta.get("id", path.stem), model=meta.get("model", ""),
                   messages=messages, ledger=ledger, path=path,
                   created=meta.get("created", ""), calls=calls)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _result_output(block: dict[str, Any]) -> Any:
    from nbformat import v4

    content = block.get("content")
    text = _text_of(content) if not isinstance(content, str) else content
    if block.get("is_error"):
        return v4.new_output("error", ename="ToolError", evalue=text, traceback=[text])
    data: dict[str, Any] = {"text/plain": text}
    try:
        data["application/json"] = json.loads(text)
    except (TypeError, ValueError):
        pass
    return v4.new_output("execute_result", data=data, execution_count=None)
