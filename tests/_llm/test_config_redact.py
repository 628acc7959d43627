"""Config from config.toml and the environment; the key is redacted everywhere."""

from __future__ import annotations

import pytest
from _llm.anthropic_replay import KEY

from llmos_jupyter._exceptions import LlmosError
from llmos_jupyter._llm.config import DEFAULT_MODEL, LlmConfig, load_config
from llmos_jupyter._llm.errors import LlmError
from llmos_jupyter._llm.redact import REDACTED, redact, redact_obj, register_secret


def test_defaults_file_then_environment(llmos_home):
    assert load_config(env={}).model == DEFAULT_MODEL
    llmos_home.mkdir(parents=True, exist_ok=True)
    (llmos_home / "config.toml").write_text(
        '[llm]\nmodel = "claude-opus-5-5"\nmax_tokens = 1000\ntemperature = 0.3\n'
        f'api_key = "{KEY}"\n')
    c = load_config(env={})
    assert (c.model, c.max_tokens, c.temperature, c.api_key) == ("claude-opus-5-5", 1000, 0.3, KEY)
    c = load_config(env={"LLMOS_MODEL": "claude-haiku-5-5", "LLMOS_MAX_TOKENS": "50",
                         "ANTHROPIC_API_KEY": "sk-ant-env-key-000000"})
    assert (c.model, c.max_tokens, c.api_key) == ("claude-haiku-5-5", 50, "sk-ant-env-key-000000")
    assert KEY not in repr(c) and "api_key" not in repr(c)


def test_bad_config_names_the_file_and_key_but_not_the_key(llmos_home):
    llmos_home.mkdir(parents=True, exist_ok=True)
    (llmos_home / "config.toml").write_text('[llm]\nmax_tokens = "lots"\n')
    with pytest.raises(LlmosError, match=r"config.toml: max_tokens = 'lots' is not a valid int"):
        load_config(env={})
    (llmos_home / "config.toml").write_text('[llm]\nmodle = "x"\n')
    with pytest.raises(LlmosError, match="unknown key \\[llm\\] modle"):
        load_config(env={})
    (llmos_home / "config.toml").write_text("[llm\n")
    with pytest.raises(LlmosError, match="not valid TOML"):
        load_config(env={})


def test_redact_known_and_key_shaped_secrets():
    register_secret("my-proxy-token-123456")
    text = (f"key {KEY} and my-proxy-token-123456, header Authorization: Bearer abc.def "
            "x-api-key: zzz9 and 'x-api-key': 'qqq8'")
    out = redact(text)
    for secret in (KEY, "my-proxy-token-123456", "abc.def", "zzz9", "qqq8"):
        assert secret not in out
    assert out.count(REDACTED) == 5
    assert redact_obj({"a": [KEY, 1, {"k": KEY}]}) == {"a": [REDACTED, 1, {"k": REDACTED}]}


def test_errors_are_redacted_at_construction():
    assert KEY not in str(LlmError(f"boom {KEY}"))
    assert LlmConfig(api_key=KEY) == LlmConfig(api_key=None)  # the key is not compared
