"""What the LLM workflow nodes (``llm-chat``, ``llm-structured``, ``llm-router``) call.

The nodes go through the one resilient client of the LLM layer (:class:`LlmClient`:
retries on 429/5xx with ``retry-after``, the circuit breaker, usage and cost), one client
per configuration per process so the breaker sees every node's calls. Prompts are Jinja2
templates rendered in Jinja2's sandbox (``SandboxedEnvironment``, ``StrictUndefined``)
with the node's ``data``: a template from a workflow file cannot reach Python internals.
Model answers are data: ``llm-structured`` validates them against the node's JSON Schema
(jsonschema) and ``llm-router`` accepts only a declared route name.

Outputs carry ``usage`` (``input_tokens``, ``output_tokens``, cache tokens, ``model``,
``attempts``, ``duration_s``) and ``cost_usd`` (estimated from the dated price table of
:mod:`llmos_jupyter._llm.pricing`, ``None`` for an unknown model), which the trace keeps.

Errors: :class:`MissingApiKey` (no key: one line naming ``ANTHROPIC_API_KEY``) and the
other :mod:`llmos_jupyter._llm.errors`; ``ValueError`` for a template error (naming the
line) or an answer that fails the schema twice / names no route.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from llmos_jupyter._llm.client import LlmClient
from llmos_jupyter._llm.config import LlmConfig, load_config

__all__ = ["chat", "render_prompt", "route", "structured"]

MAX_PROMPT_CHARS = 400_000

_clients: dict[LlmConfig, LlmClient] = {}
_lock = threading.Lock()


def _client(model: str | None, max_tokens: int | None) -> tuple[LlmClient, str | None, int | None]:
    config = load_config()
    with _lock:
        client = _clients.get(config)
        if client is None or client.config.api_key != config.api_key:
            client = _clients[config] = LlmClient(config)
    return client, model or None, max_tokens or None


def render_prompt(template: str, data: Any) -> str:
    """``template`` rendered with ``data`` in Jinja2's sandbox.

    Raises:
        ValueError: a syntax or undefined-name error (with the template line), an unsafe
            access (``SecurityError``), or a prompt over 400,000 characters.
    """
    from jinja2 import StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    try:
        text = env.from_string(template).render(data=data)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise ValueError(f"prompt template{where}: {type(exc).__name__}: {exc}") from None
    if len(text) > MAX_PROMPT_CHARS:
        raise ValueError(f"the rendered prompt has {len(text):,} characters; the limit is "
                         f"{MAX_PROMPT_CHARS:,}")
    return text


def _usage(client: LlmClient) -> tuple[dict[str, Any], float | None]:
    usage = client.last_usage
    if usage is None:
        return {}, None
    data = usage.to_json()
    return {k: v for k, v in data.items() if k != "cost_usd"}, data.get("cost_usd")


def _text(message: Any) -> str:
    return "".join(getattr(b, "text", "") for b in message.content
                   if getattr(b, "type", "") == "text")


def chat(inputs: dict[str, Any]) -> dict[str, Any]:
    """``llm-chat``: ``{"text", "usage", "cost_usd"}`` for the rendered prompt."""
    client, model, max_tokens = _client(inputs.get("model"), inputs.get("max_tokens"))
    prompt = render_prompt(inputs["prompt"], inputs.get("data"))
    message = client.create(messages=[{"role": "user", "content": prompt}],
                            system=inputs.get("system") or None, model=model,
                            max_tokens=max_tokens, stream=False)
    usage, cost = _usage(client)
    return {"text": _text(message), "usage": usage, "cost_usd": cost}


def structured(inputs: dict[str, Any]) -> dict[str, Any]:
    """``llm-structured``: the model fills a tool whose input schema is ``schema``;
    the answer is validated with jsonschema, with one retry that shows the model the
    validation error. ``{"data", "usage", "cost_usd"}``."""
    import jsonschema

    schema = inputs["schema"]
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"schema is not a valid JSON Schema: {exc.message}") from None
    if schema.get("type") != "object":
        raise ValueError("schema must describe an object (\"type\": \"object\"): the "
                         "Messages API takes tool inputs as objects")
    client, model, max_tokens = _client(inputs.get("model"), inputs.get("max_tokens"))
    prompt = render_prompt(inputs["prompt"], inputs.get("data"))
    tool = {"name": "answer", "description": "Give the answer in this structure.",
            "input_schema": schema}
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    total_in = total_out = 0
    cost: float | None = None
    for attempt in (1, 2):
        message = client.create(messages=messages, system=inputs.get("system") or None,
                                tools=[tool], model=model, max_tokens=max_tokens, stream=False)
        usage, c = _usage(client)
        total_in += int(usage.get("input_tokens", 0))
        total_out += int(usage.get("output_tokens", 0))
        cost = None if c is None else (cost or 0.0) + c
        block = next((b for b in message.content if getattr(b, "type", "") == "tool_use"), None)
        problem = "the model answered without using the answer tool"
        if block is not None:
            answer = block.input
            errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(answer),
                            key=lambda e: list(e.path))
            if not errors:
                usage.update(input_tokens=total_in, output_tokens=total_out, calls=attempt)
                return {"data": answer, "usage": usage, "cost_usd": cost}
            problem = "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
                                for e in errors[:5])
        if attempt == 2:
            raise ValueError(f"the model's answer does not match the schema after a retry: "
                             f"{problem}")
        # One retry: show the model its answer and what was wrong with it.
        content = [b.model_dump() if hasattr(b, "model_dump") else b for b in message.content]
        messages = messages + [{"role": "assistant", "content": content}]
        if block is not None:
            messages.append({"role": "user", "content": [{
                "type": "tool_result", "tool_use_id": block.id, "is_error": True,
                "content": f"The answer does not match the schema: {problem}. Call the "
                           "answer tool again with a corrected answer."}]})
        else:
            messages.append({"role": "user", "content": "Use the answer tool to answer."})
    raise AssertionError("unreachable")  # pragma: no cover


def route(inputs: dict[str, Any]) -> dict[str, Any]:
    """``llm-router``: the model picks one of ``routes`` (name → description) for
    ``value``; the value goes out on that route's output only (the others are branches
    not taken). Also ``route`` (the chosen name), ``usage`` and ``cost_usd``."""
    routes = inputs["routes"]
    if not isinstance(routes, dict) or not routes:
        raise ValueError("routes must be an object of route name → description")
    client, model, max_tokens = _client(inputs.get("model"), inputs.get("max_tokens"))
    value = inputs.get("value")
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                              default=str)
    names = list(routes)
    tool = {"name": "route", "description": "Choose the route for the input.",
            "input_schema": {"type": "object", "required": ["route"], "properties": {
                "route": {"type": "string", "enum": names,
                          "description": "; ".join(f"{k}: {v}" for k, v in routes.items())}}}}
    instruction = inputs.get("prompt") or "Choose the best route for this input."
    message = client.create(
        messages=[{"role": "user", "content": f"{instruction}\n\n<input>\n{shown}\n</input>"}],
        system=inputs.get("system") or None, tools=[tool], model=model,
        max_tokens=max_tokens or 256, stream=False)
    usage, cost = _usage(client)
    block = next((b for b in message.content if getattr(b, "type", "") == "tool_use"), None)
    chosen = block.input.get("route") if block is not None and isinstance(block.input, dict) \
        else None
    if not isinstance(chosen, str) or chosen not in routes:  # route names are output ports
        raise ValueError(f"the model chose no declared route ({chosen!r}; routes: "
                         f"{', '.join(names)})")
    return {chosen: value, "route": chosen, "usage": usage, "cost_usd": cost}
