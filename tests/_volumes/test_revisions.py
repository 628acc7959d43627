"""Volume revisions are git's grammar, parsed by dulwich's objectspec: ``HEAD^2`` is a
merge's second parent (it silently meant ``HEAD^1`` before)."""

from __future__ import annotations

import pytest

from llmos_jupyter import RevisionNotFound, VolumeError
from llmos_jupyter._volumes import Volume

SKILL = "---\nskill_id: fit\ninputs: []\noutputs: []\n---\n\n```python\ndef execute(inputs):\n    return {{}}  # {n}\n```\n"


def _commit(repo, parents, message):
    from dulwich.objects import Commit

    c = Commit()
    c.tree = repo[parents[0]].tree
    c.parents = list(parents)
    c.author = c.committer = b"Test <test@example.com>"
    c.author_time = c.commit_time = 1_700_000_000
    c.author_timezone = c.commit_timezone = 0
    c.message = message
    repo.object_store.add_object(c)
    return c.id


@pytest.fixture
def merged(llmos_home):
    """A user volume whose HEAD is a merge of its previous HEAD and a side commit."""
    from dulwich.repo import Repo

    vol = Volume("user")
    vol.write_text("skills/fit.md", SKILL.format(n=1), message="one")
    vol.write_text("skills/fit.md", SKILL.format(n=2), message="two")
    with Repo(str(vol.root)) as repo:
        first = repo.head()
        root = repo[first].parents[0]
        side = _commit(repo, [root], b"side")
        merge = _commit(repo, [first, side], b"merge")
        repo.refs[b"HEAD"] = merge
    return vol, {"root": root, "first": first, "side": side, "merge": merge}


def test_parents_and_ancestors_follow_git(merged):
    vol, c = merged
    assert vol.resolve("HEAD") == c["merge"]
    assert vol.resolve("HEAD^") == vol.resolve("HEAD^1") == vol.resolve("HEAD~1") == c["first"]
    assert vol.resolve("HEAD^2") == c["side"]            # the merge's second parent
    assert vol.resolve("HEAD^2~1") == vol.resolve("HEAD~2") == c["root"]
    assert vol.resolve("HEAD^0") == c["merge"]
    assert vol.resolve(c["side"].decode()[:8]) == c["side"]  # a short id
    assert vol.resolve(c["side"].decode()[:8] + "^") == c["root"]
    assert vol.resolve(" HEAD^2 ") == c["side"]


@pytest.mark.parametrize("rev", ["HEAD^3", "HEAD~9", "HEAD~x", "nonsense", "deadbeef", "^", "",
                                 "HEAD..HEAD~1", "HEAD:skills/fit.md"])
def test_what_git_would_refuse_is_not_found(merged, rev):
    vol, _ = merged
    with pytest.raises(RevisionNotFound):
        vol.resolve(rev)


def test_reading_a_file_at_the_second_parent(merged):
    vol, _ = merged
    # The side commit has the first write's tree: HEAD^2 shows version 1, HEAD^1 version 2.
    assert "# 1" in vol.show("skills/fit.md", "HEAD^2")
    assert "# 2" in vol.show("skills/fit.md", "HEAD^1")
    assert isinstance(RevisionNotFound("x"), VolumeError)
