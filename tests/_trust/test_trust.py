"""Trust: signatures of skill contents, revoked by edits; volumes' defaults; marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmos_jupyter._skills.parser import load_skill, parse_skill
from llmos_jupyter._trust import is_trusted, mark_untrusted, trust, trusted_list, untrust

SKILL = """---
skill_id: {sid}
name: Double
inputs: [{{name: x, type: number}}]
outputs: [{{name: y, type: number}}]
---

```python
def execute(inputs):
    return {{"y": {factor} * inputs["x"]}}
```
"""


def _file(tmp_path: Path, volume: str, sid: str = "double", factor: int = 2) -> Path:
    path = tmp_path / volume / "skills" / f"{sid}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SKILL.format(sid=sid, factor=factor))
    return path


def test_team_skill_is_untrusted_until_signed_and_an_edit_revokes(tmp_path):
    home = tmp_path / "home"
    path = _file(tmp_path, "team")
    skill = load_skill(path, volume="team")
    assert not is_trusted(skill, home)
    trust([skill], home)
    assert is_trusted(skill, home)
    assert (home / "trust" / "secret").stat().st_mode & 0o777 == 0o600
    path.write_text(SKILL.format(sid="double", factor=3))  # edited: the signature no longer fits
    assert not is_trusted(load_skill(path, volume="team"), home)


def test_the_same_content_signed_by_another_user_secret_is_not_trusted(tmp_path):
    skill = load_skill(_file(tmp_path, "team"), volume="team")
    trust([skill], tmp_path / "alice")
    assert is_trusted(skill, tmp_path / "alice")
    # Bob copies Alice's signature store but not her secret: nothing is trusted for him.
    (tmp_path / "bob" / "trust").mkdir(parents=True)
    (tmp_path / "bob" / "trust" / "signatures.json").write_bytes(
        (tmp_path / "alice" / "trust" / "signatures.json").read_bytes())
    assert not is_trusted(skill, tmp_path / "bob")


def test_user_volume_is_trusted_unless_marked_and_system_always(tmp_path):
    home = tmp_path / "home"
    path = _file(tmp_path, "user")
    skill = load_skill(path, volume="user")
    assert is_trusted(skill, home)
    mark_untrusted(path, "written by the LLM", home=home)
    assert not is_trusted(skill, home)
    assert any(r.get("marked") for r in trusted_list(home))
    trust([skill], home)  # the user reviewed it
    assert is_trusted(skill, home)
    untrust([skill], home)
    assert not is_trusted(skill, home)
    assert is_trusted(load_skill(_file(tmp_path, "sys", "other"), volume="system"), home)


def test_inline_skills_are_untrusted_and_signed_by_content(tmp_path):
    home = tmp_path / "home"
    skill = parse_skill(SKILL.format(sid="double", factor=2), volume="inline")
    assert not is_trusted(skill, home)
    trust([skill], home)
    assert is_trusted(skill, home)
    changed = parse_skill(SKILL.format(sid="double", factor=5), volume="inline")
    assert not is_trusted(changed, home)


def test_a_corrupt_store_means_nothing_signed(tmp_path):
    home = tmp_path / "home"
    skill = load_skill(_file(tmp_path, "team"), volume="team")
    (home / "trust").mkdir(parents=True)
    (home / "trust" / "signatures.json").write_text("{not json")
    assert not is_trusted(skill, home)
    from llmos_jupyter._trust import TrustError

    with pytest.raises(TrustError, match="signatures.json"):
        trust([skill], home)
