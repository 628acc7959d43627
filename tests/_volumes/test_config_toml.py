"""One reader of ``$LLMOS_HOME/config.toml`` (llmos_jupyter._config) behind every section."""

from __future__ import annotations

import os

import pytest

from llmos_jupyter import LlmosError, VolumeError
from llmos_jupyter._config import ConfigError, config_section, read_config


def _write(home, text):
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sections_of_one_file_and_edits_are_seen(llmos_home):
    from llmos_jupyter._isolation.limits import config_limits
    from llmos_jupyter._llm.config import load_config as llm_config
    from llmos_jupyter._volumes.config import author, team_writable

    assert read_config() == {} and config_section("llm") == {}
    path = _write(llmos_home, '[llm]\nmax_tokens = 77\n[volumes]\nteam_writable = true\n'
                              '[user]\nname = "Ada"\nemail = "ada@example.com"\n'
                              '[isolation]\nmemory = "1GiB"\n[isolation.skills.x]\nnetwork = true\n')
    assert llm_config(env={}).max_tokens == 77
    assert team_writable() is True and author() == "Ada <ada@example.com>"
    assert config_limits() == (["memory=1GiB"], {"x": ["network=yes"]})
    # A copy each time: a caller's change does not leak into the next reader.
    read_config()["llm"]["max_tokens"] = 1
    assert config_section("llm") == {"max_tokens": 77}
    path.write_text('[llm]\nmax_tokens = 88\n', encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a later edit, for sure
    assert llm_config(env={}).max_tokens == 88


def test_a_broken_file_is_one_error_each_reader_words_in_its_own_type(llmos_home):
    from llmos_jupyter._isolation.limits import config_limits
    from llmos_jupyter._llm.config import load_config as llm_config
    from llmos_jupyter._volumes.config import team_writable

    path = _write(llmos_home, "[llm\nmodel = 1\n")
    with pytest.raises(ConfigError, match=r"config.toml: not valid TOML") as info:
        read_config()
    assert isinstance(info.value, LlmosError) and isinstance(info.value, ValueError)
    assert str(path) in str(info.value)
    with pytest.raises(LlmosError, match="not valid TOML"):
        llm_config(env={})
    with pytest.raises(ValueError, match="not valid TOML"):
        config_limits()
    with pytest.raises(VolumeError, match="not valid TOML"):
        team_writable()


def test_a_section_that_is_not_a_table_is_named(llmos_home):
    _write(llmos_home, 'isolation = 3\n')
    with pytest.raises(ConfigError, match=r"\[isolation\] must be a table"):
        config_section("isolation")
