"""The LLM layer: Anthropic chat with skill context, tool use that builds workflows.

Modules (one job each; ``docs/llm.md`` has the whole story):

``config``           model, max tokens, temperature, key: ``$LLMOS_HOME/config.toml`` [llm] + env
``redact``           re-exports ``llmos_jupyter._redact``, the one redaction step of every writer
``errors``           ``LlmError`` and its subclasses
``pricing``          token usage and estimated cost (a dated price table)
``client``           the SDK wrapper: retries, timeout, circuit breaker, streaming, errors
``context``          the skill library summarised into the system prompt (TF-IDF relevance)
``tools``            the tools the model calls, on the real library and engine (approval)
``agent``            the tool loop
``chat``             a chat as a notebook in the user volume
``magics``           ``%%llm`` / ``%llm`` (IPython only there)
``fetch_transport``  httpx2 transports over the browser's ``fetch`` (Pyodide only there)

Nothing here imports ``anthropic`` at module level except ``client`` (and the modules that
need a live client import it lazily), so ``import llmos_jupyter`` never needs the extra.
"""
