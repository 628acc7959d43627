"""Git-backed volumes: every write is a commit, history, diff, restore, permissions."""

from __future__ import annotations

import pytest

from llmos_jupyter import LlmosError
from llmos_jupyter._volumes import (
    GITIGNORE,
    RevisionNotFound,
    Volume,
    VolumeError,
    VolumeReadOnly,
    author,
)

SKILL = "---\nskill_id: fit\nname: Fit\n---\n\n# Fit\n\nversion {n}\n"


def test_every_write_is_a_commit_and_the_repository_starts_on_first_write(llmos_home):
    vol = Volume("user")
    assert not vol.is_repository and vol.log() == []
    r1 = vol.write_text("skills/fit.md", SKILL.format(n=1), message="Add skill fit")
    r2 = vol.write_text(vol.root / "skills" / "fit.md", SKILL.format(n=2), message="Edit fit")
    assert vol.is_repository
    log = vol.log()
    assert [r.summary for r in log] == ["Edit fit", "Add skill fit", "Initialise the user volume"]
    assert [r.id for r in log[:2]] == [r2.id, r1.id]
    assert log[0].paths == ("skills/fit.md",)
    # Writing the same text again records nothing.
    assert vol.write_text("skills/fit.md", SKILL.format(n=2), message="noop") is None
    assert len(vol.log()) == 3
    assert (vol.root / ".gitignore").read_text() == GITIGNORE


def test_first_commit_takes_in_existing_files(llmos_home):
    skills = llmos_home / "user" / "skills"
    skills.mkdir(parents=True)
    (skills / "old.md").write_text(SKILL.format(n=0))
    vol = Volume("user")
    vol.write_text("skills/new.md", SKILL.format(n=1).replace("fit", "new"), message="Add new")
    first = vol.log()[-1]
    assert first.summary == "Initialise the user volume (1 existing file)"
    assert set(first.paths) == {".gitignore", "skills/old.md"}


def test_traces_are_git_ignored(llmos_home):
    from dulwich import porcelain

    vol = Volume("user")
    vol.write_text("skills/fit.md", SKILL.format(n=1), message="Add fit")
    (vol.root / "traces").mkdir()
    (vol.root / "traces" / "run.ipynb").write_text("{}")
    status = porcelain.status(str(vol.root), untracked_files="all")
    assert not status.untracked and not any(status.staged.values())


def test_author_from_env_config_or_default(llmos_home, monkeypatch):
    monkeypatch.delenv("LLMOS_AUTHOR", raising=False)
    assert author().endswith("@localhost>")
    llmos_home.mkdir(parents=True, exist_ok=True)
    (llmos_home / "config.toml").write_text('[user]\nname = "Ada Lovelace"\nemail = "ada@example.org"\n')
    assert author() == "Ada Lovelace <ada@example.org>"
    vol = Volume("user")
    vol.write_text("skills/fit.md", SKILL.format(n=1), message="Add fit")
    assert vol.log()[0].author == "Ada Lovelace <ada@example.org>"
    monkeypatch.setenv("LLMOS_AUTHOR", "Grace Hopper <grace@example.org>")
    vol.write_text("skills/fit.md", SKILL.format(n=2), message="Edit fit")
    assert vol.log()[0].author == "Grace Hopper <grace@example.org>"


def test_log_of_one_skill_diff_and_restore(llmos_home):
    vol = Volume("user")
    vol.write_text("skills/fit.md", SKILL.format(n=1), message="Add fit")
    vol.write_text("skills/other.md", SKILL.format(n=1).replace("fit", "other"), message="Add other")
    vol.write_text("skills/fit.md", SKILL.format(n=2), message="Edit fit")
    assert [r.summary for r in vol.log(skill_id="fit")] == ["Edit fit", "Add fit"]
    assert vol.log(skill_id="nope") == []

    diff = vol.diff("HEAD")
    assert "--- a/skills/fit.md" in diff and "-version 1" in diff and "+version 2" in diff
    assert "other.md" in vol.diff("HEAD~2", "HEAD")

    first = vol.log(skill_id="fit")[-1]
    rev = vol.restore("fit", first.short)
    assert (vol.root / "skills" / "fit.md").read_text() == SKILL.format(n=1)
    assert rev.summary == f"Restore skill fit as of {first.short}"
    assert vol.show("skills/fit.md", "HEAD~1") == SKILL.format(n=2)
    assert vol.restore("fit", "HEAD") is None  # already that content: no commit
    assert len(vol.log(skill_id="fit")) == 3


def test_restore_finds_a_skill_by_its_declared_id(llmos_home):
    vol = Volume("user")
    vol.write_text("skills/sub/fitting.md", SKILL.format(n=1), message="Add fit")
    vol.write_text("skills/sub/fitting.md", SKILL.format(n=2), message="Edit fit")
    vol.restore("fit", "HEAD~1")
    assert (vol.root / "skills" / "sub" / "fitting.md").read_text() == SKILL.format(n=1)


def test_unknown_revisions_and_volumes_without_history(llmos_home):
    vol = Volume("user")
    with pytest.raises(VolumeError, match="no history yet"):
        vol.diff("HEAD")
    vol.write_text("skills/fit.md", SKILL.format(n=1), message="Add fit")
    for rev in ("deadbeef", "HEAD~9", "nonsense"):
        with pytest.raises(RevisionNotFound):
            vol.resolve(rev)
    with pytest.raises(VolumeError, match="not in the user volume"):
        vol.restore("nope", "HEAD")
    with pytest.raises(VolumeError, match="not inside"):
        vol.write_text("/etc/passwd", "x", message="no")


def test_read_only_volumes_refuse_writes(llmos_home):
    for name in ("system", "team"):
        with pytest.raises(VolumeReadOnly, match=f"the {name} volume is read-only") as info:
            Volume(name).write_text("skills/x.md" if name == "team" else "x.md", "x", message="m")
        assert isinstance(info.value, LlmosError)
    assert not (llmos_home / "team").exists()
    assert "team_writable" in str(pytest.raises(VolumeReadOnly, Volume("team").check_writable).value)


def test_team_volume_writable_when_configured(llmos_home):
    llmos_home.mkdir(parents=True, exist_ok=True)
    (llmos_home / "config.toml").write_text("[volumes]\nteam_writable = true\n")
    vol = Volume("team")
    vol.write_text("skills/fit.md", SKILL.format(n=1), message="Add fit for the team")
    assert vol.log()[0].summary == "Add fit for the team"


def test_delete_is_a_commit(llmos_home):
    vol = Volume("user")
    vol.write_text("skills/fit.md", SKILL.format(n=1), message="Add fit")
    vol.delete("skills/fit.md", message="Remove fit")
    assert not (vol.root / "skills" / "fit.md").exists()
    assert vol.log()[0].summary == "Remove fit" and vol.log()[0].paths == ("skills/fit.md",)
    vol.restore("fit", "HEAD~1")
    assert (vol.root / "skills" / "fit.md").read_text() == SKILL.format(n=1)
