"""The one redaction step (``llmos_jupyter._redact``): known secrets, key-shaped strings,
secret ports, terminal control sequences — and no false positives on real outputs."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
from dataclasses import dataclass, field

import pytest

from llmos_jupyter._redact import (
    REDACTED,
    SECRET_MASK,
    install_log_filter,
    redact,
    redact_obj,
    redact_ports,
    register_secret,
    secret_env_names,
    strip_control,
)

# Key-shaped strings in the vendors' documented formats (made up, never valid keys).
ANTHROPIC = "sk-ant-api03-Zq8vW2xY4kL9mN1pR7tU3sB5cD6eF0gHiJ-_aBcDeF"
OPENAI_LEGACY = "sk-" + "Ab3dEf6hIj9kLm2oPq5sTu8w" + "T3BlbkFJ" + "Xy1zAb4cDe7fGh0iJk3lMn6o"
OPENAI_PROJECT = "sk-proj-" + "Q2w3E4r5T6y7U8i9O0pAsDfGhJkLzXcVbNm_-Q2w3E4r5T6y7U8i9O0pAsDfGh"
GITHUB = {
    "ghp": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "gho": "gho_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2",
    "ghs": "ghs_" + "0123456789abcdefABCDEF0123456789abcd",
    "pat": "github_pat_" + "11ABCDEFG0123456789abc_" + "x" * 20 + "Y9" * 20,
}
AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_TEMP_ID = "ASIAY34FZKBOKMUTVV7A"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("secret", [ANTHROPIC, OPENAI_LEGACY, OPENAI_PROJECT, *GITHUB.values(),
                                    AWS_ID, AWS_TEMP_ID])
def test_key_shaped_strings_are_redacted_in_any_context(secret):
    for text in (secret, f"key={secret}", f'{{"token": "{secret}"}}', f"use {secret}.",
                 f"Error: 401 for {secret}\nretry"):
        out = redact(text)
        assert secret not in out and REDACTED in out, text


def test_header_and_assignment_values_keep_their_names():
    text = (f"aws_secret_access_key = {AWS_SECRET}\n"
            f'"AWS_SECRET_ACCESS_KEY": "{AWS_SECRET}"\n'
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc\n"
            "'authorization': 'Basic dXNlcjpwYXNz'\n"
            "x-api-key: zzz9secret, 'X-Api-Key': 'qqq8'")
    out = redact(text)
    for secret in (AWS_SECRET, "eyJhbGciOiJIUzI1NiJ9.e30.abc", "dXNlcjpwYXNz", "zzz9secret",
                   "qqq8"):
        assert secret not in out
    assert "aws_secret_access_key = [REDACTED]" in out
    assert "Authorization: Bearer [REDACTED]" in out and "x-api-key: [REDACTED]" in out


def test_environment_secrets_from_config(llmos_home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "plain-looking-anthropic-value")
    monkeypatch.setenv("MY_DB_PASSWORD", "correct horse battery")
    monkeypatch.setenv("NOT_SECRET", "visible value 123")
    text = "a plain-looking-anthropic-value b correct horse battery c visible value 123"
    assert redact(text) == "a [REDACTED] b correct horse battery c visible value 123"
    llmos_home.mkdir(parents=True, exist_ok=True)
    (llmos_home / "config.toml").write_text('[secrets]\nenv = ["MY_DB_PASSWORD", "UNSET_ONE"]\n')
    assert secret_env_names() == ("ANTHROPIC_API_KEY", "MY_DB_PASSWORD", "UNSET_ONE")
    assert redact(text) == "a [REDACTED] b [REDACTED] c visible value 123"
    (llmos_home / "config.toml").write_text("[secrets\n")  # broken: never fails a write
    assert secret_env_names() == ("ANTHROPIC_API_KEY",)


def test_registered_secrets_longest_first_and_short_ones_ignored():
    register_secret("tok-abcdef-LONGER-987")
    register_secret("tok-abcdef")
    register_secret("abc")  # too short to be told from ordinary text
    assert redact("x tok-abcdef-LONGER-987 y tok-abcdef z abc") == \
        "x [REDACTED] y [REDACTED] z abc"


def test_redact_obj_walks_keys_lists_tuples_and_leaves_other_values():
    obj = {ANTHROPIC: [1, (ANTHROPIC, 2.5), {"k": f"Bearer? Authorization: Bearer {ANTHROPIC}"}],
           "n": None, "b": b"raw bytes"}
    out = redact_obj(obj)
    assert out == {REDACTED: [1, [REDACTED, 2.5], {"k": "Bearer? Authorization: Bearer "
                                                        "[REDACTED]"}],
                   "n": None, "b": b"raw bytes"}


def _png(size=64):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2), dpi=size)
    ax.plot([3.0, 2.0, 1.5, 1.37])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def test_no_false_positives_on_real_outputs():
    digests = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(200)]
    png64 = base64.b64encode(_png()).decode("ascii")
    texts = [
        *digests,
        "20261130T114800Z-3fa9c2", "run-7c1e5b9a0d2f4e6a", "toolu_0001", "msg_01xxxxxxxxxxxx",
        "sk-learn-regression-model-fitting-pipeline", "task-ask-for-approval-before-commit",
        "ghp_short", "AKIA is a prefix", "ASIA-Pacific region", "authorization of the run",
        "x-api-key is a header name", "The eigenvalue is -1.1373 Hartree (sk-calibrated).",
        png64, "data:image/png;base64," + png64,
        base64.b64encode(bytes(range(256)) * 40).decode("ascii"),
        "Bearer of good news", "UUID 123e4567-e89b-12d3-a456-426614174000",
    ]
    for text in texts:
        assert redact(text) == text, text[:80]


@dataclass
class _Port:
    name: str
    secret: bool = False


@dataclass
class _Skill:
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)


def test_redact_ports_masks_secret_ports_and_registers_their_values():
    skill = _Skill(inputs=[_Port("token", secret=True), _Port("n")], outputs=[_Port("echo")])
    shown = redact_ports(skill, {"token": "hunter2-secret-value", "n": 3, "echo": ANTHROPIC})
    assert shown == {"token": SECRET_MASK, "n": 3, "echo": REDACTED}
    # the value is now a known secret: an error message quoting it is scrubbed too
    assert redact("bad token hunter2-secret-value") == "bad token [REDACTED]"
    assert redact_ports(skill, {"token": None}) == {"token": None}
    assert redact_ports(skill, {"token": "abcdefgh"}, side="outputs") == {"token": "abcdefgh"}
    assert redact_ports(None, {"x": 1}) == {"x": 1}
    # ports without the flag (objects of other libraries) are not secret
    assert redact_ports(_Skill(inputs=[object.__new__(type("P", (), {"name": "a"}))]),
                        {"a": "v"}) == {"a": "v"}


@pytest.mark.parametrize("raw, clean", [
    ("\x1b[31mred\x1b[0m", "red"),
    ("a\x1b[2J\x1b[Hb", "ab"),
    ("\x1b]0;owned title\x07id", "id"),
    ("\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\", "link"),
    ("\x1bPpayload\x1b\\x", "x"),
    ("line\roverwritten", "lineoverwritten"),
    ("bell\x07 back\x08 nul\x00 del\x7f c1\x9b31m", "bell back nul del c1"),
    ("tab\tand\nnewline", "tab\tand\nnewline"),
    ("rtl \u202egnp.exe\u202c", "rtl gnp.exe"),
    ("plain ünïcødé ●●●", "plain ünïcødé ●●●"),
])
def test_strip_control(raw, clean):
    assert strip_control(raw) == clean


def test_log_records_are_scrubbed(caplog):
    install_log_filter()
    with caplog.at_level(logging.DEBUG, logger="llmos_jupyter.test"):
        logging.getLogger("llmos_jupyter.test").debug("calling with %s", ANTHROPIC)
    assert ANTHROPIC not in caplog.text and REDACTED in caplog.text


def test_llm_redact_reexports_the_one_step():
    from llmos_jupyter._llm import redact as llm_redact

    assert llm_redact.redact is redact and llm_redact.redact_obj is redact_obj


# -- credentials in URLs and HTTP headers (the http-request and sql-query nodes) ----------
@pytest.mark.parametrize("raw, shown", [
    ("https://user:pw@example.org/x", "https://user:[REDACTED]@example.org/x"),
    ("postgresql://u:s3cr3t@db.local:5432/app", "postgresql://u:[REDACTED]@db.local:5432/app"),
    ("postgresql+psycopg://svc:p%40ss:word@h/db", "postgresql+psycopg://svc:[REDACTED]@h/db"),
    ("error connecting to 'mysql+pymysql://root:hunter2@127.0.0.1/x'",
     "error connecting to 'mysql+pymysql://root:[REDACTED]@127.0.0.1/x'"),
    ("GET https://api.example.org/v1?api_key=abc123&page=2",
     "GET https://api.example.org/v1?api_key=[REDACTED]&page=2"),
    ("https://h/p?key=AIzaSyA&access_token=t.x.y#frag",
     "https://h/p?key=[REDACTED]&access_token=[REDACTED]#frag"),
    ("https://bucket.s3/obj?X-Amz-Signature=ab12&X-Amz-Date=2026",
     "https://bucket.s3/obj?X-Amz-Signature=[REDACTED]&X-Amz-Date=2026"),
])
def test_url_credentials_are_redacted_everywhere(raw, shown):
    assert redact(raw) == shown
    assert redact_obj({"url": raw}) == {"url": shown}


@pytest.mark.parametrize("text", [
    "http://localhost:8080/path", "sqlite:///results.db", "sqlite:////tmp/a.db",
    "https://example.org/a?page=2&sort=name", "mailto:someone@example.org",
    "ssh://git@github.com/org/repo.git", "http://host:8080/a@b", "ratio 3:4 @ noon",
    "https://h/search?monkey=1&keyboard=2",
])
def test_urls_without_credentials_are_left_alone(text):
    assert redact(text) == text


def test_secret_header_names():
    from llmos_jupyter._redact import is_secret_header

    for name in ("Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "X-Api-Key",
                 "X-Auth-Token", "x-session-id", "X-Client-Secret", "PRIVATE-TOKEN",
                 "X-Amz-Security-Token", "x-password"):
        assert is_secret_header(name), name
    for name in ("Accept", "Content-Type", "User-Agent", "X-Request-Id", "Retry-After",
                 "Cache-Control", "Location", 3, None):
        assert not is_secret_header(name), name


def test_headers_mapping_values_are_redacted_and_registered():
    value = {"request": {"headers": {"Authorization": "Bearer opaque-value-1",
                                     "Accept": "application/json",
                                     "X-Custom-Token": "tok-value-22",
                                     "Cookie": ["sid=abcdef12", "theme=dark-mode"]}},
             "HEADERS": [["X-Api-Key", "k-value-333"], ["Accept", "text/plain"]],
             "not_headers": {"Authorization": "plain: not in a headers mapping"}}
    out = redact_obj(value)
    assert out == {"request": {"headers": {"Authorization": REDACTED,
                                           "Accept": "application/json",
                                           "X-Custom-Token": REDACTED,
                                           "Cookie": REDACTED}},
                   "HEADERS": [["X-Api-Key", REDACTED], ["Accept", "text/plain"]],
                   "not_headers": {"Authorization": "plain: not in a headers mapping"}}
    # registered: the same values are scrubbed from any later text (a trace cell, an error)
    text = "sent Bearer opaque-value-1 and tok-value-22 and k-value-333, sid=abcdef12"
    assert redact(text) == "sent [REDACTED] and [REDACTED] and [REDACTED], [REDACTED]"


def test_a_port_named_headers_is_read_as_headers():
    shown = redact_ports(_Skill(inputs=[_Port("headers"), _Port("url")]),
                         {"headers": {"x-api-key": "port-key-value-9", "Accept": "*/*"},
                          "url": "https://u:pw-123@h/"})
    assert shown == {"headers": {"x-api-key": REDACTED, "Accept": "*/*"},
                     "url": "https://u:[REDACTED]@h/"}


def test_register_secret_headers_ignores_odd_shapes():
    from llmos_jupyter._redact import register_secret_headers

    for odd in (None, 3, "Authorization: x", [1, 2], [["a"]], {"Authorization": 5}):
        register_secret_headers(odd)  # never raises
    register_secret_headers([("Authorization", "Basic dXNlcjpwYXNzd29yZA==")])
    assert redact("got Basic dXNlcjpwYXNzd29yZA== back") == "got [REDACTED] back"


def test_register_url_secrets():
    from llmos_jupyter._redact import is_secret_param, register_url_secrets

    assert is_secret_param("api_key") and is_secret_param("access_token")
    assert is_secret_param("key") and is_secret_param("X-Amz-Signature")
    assert not is_secret_param("keyboard") and not is_secret_param("page")
    register_url_secrets("https://u:pass%2Fword-1@h/p?access_token=at-value-55&page=22",
                         {"apikey": "query-key-66", "page": "33"})
    assert redact("pass/word-1 at-value-55 query-key-66 page 22 33") == \
        "[REDACTED] [REDACTED] [REDACTED] page 22 33"
    for odd in (None, 3, "http://[::1", "not a url"):
        register_url_secrets(odd)  # never raises


def test_register_secrets_in_a_nodes_inputs():
    """What a trace writer calls for nodes that ran in another process."""
    import base64 as b64

    from llmos_jupyter._redact import register_secrets_in

    register_secrets_in({"url": "see https://carol:pw-in-child-7@h/x?token=tq-child-8 now",
                         "nested": [{"headers": {"X-Api-Key": "child-key-9999"}}],
                         "n": 3, "deep": [[[[None]]]]})
    basic = b64.b64encode(b"carol:pw-in-child-7").decode()
    echoed = f"pw-in-child-7 tq-child-8 child-key-9999 Basic {basic}"
    assert redact(echoed) == "[REDACTED] [REDACTED] [REDACTED] Basic [REDACTED]"
    nested = {}
    for _ in range(200):
        nested = {"a": nested}
    register_secrets_in(nested)  # deep nesting is not walked, and never raises
