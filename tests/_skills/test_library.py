"""SkillLibrary: volumes, overrides, broken files, lookup and filters."""

from __future__ import annotations

import pytest
from toy_skills import ADD, skill_md

from llmos_jupyter import SkillLibrary, SkillNotFound

BUNDLED = {"quantum-hamiltonian", "quantum-vqe", "plot-convergence", "circuit-rc",
           "data-analysis", "export-results"}


def put(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_system_volume_loads_the_bundled_skills_without_errors(llmos_home):
    lib = SkillLibrary()
    assert lib.errors == []
    assert BUNDLED <= {s.skill_id for s in lib.list(executable=True)}
    assert {s.volume for s in lib} == {"system"}
    assert lib.home == llmos_home


def test_user_overrides_team_overrides_system(llmos_home):
    put(llmos_home / "team/skills", "add.md", ADD)
    put(llmos_home / "user/skills", "nested/add.md", ADD.replace("version: '1.0'", "version: '2.0'"))
    put(llmos_home / "team/skills", "data-analysis.md",
        skill_md("data-analysis", "def execute(inputs):\n    return {}"))
    lib = SkillLibrary()
    assert lib.get("add").volume == "user"
    assert lib.get("add").version == "2.0"
    assert [s.volume for s in lib.overridden("add")] == ["team"]
    assert lib.get("data-analysis").volume == "team"
    assert [s.volume for s in lib.overridden("data-analysis")] == ["system"]


def test_broken_file_is_reported_and_the_rest_still_load(llmos_home):
    user = llmos_home / "user/skills"
    put(user, "good.md", ADD)
    bad = put(user, "bad.md", "---\nskill_id: bad\ninputs:\n  - name: a\n    type: vector\n---\n")
    put(user, "README.md", "# notes, not a skill")
    put(user, "helper/SKILL.md", "---\nname: helper\ndescription: d\n---\nbody")
    put(user, "helper/reference.md", "reference material, not a skill")
    lib = SkillLibrary()
    assert "add" in lib and "helper" in lib
    assert len(lib.errors) == 1
    err = lib.errors[0]
    assert (err.path, err.line, err.field) == (str(bad), 5, "inputs.a.type")
    assert "quantum-vqe" in lib  # system skills unaffected


def test_duplicate_id_within_a_volume_is_reported(llmos_home):
    user = llmos_home / "user/skills"
    put(user, "a.md", ADD)
    second = put(user, "b.md", ADD)
    lib = SkillLibrary()
    assert lib.get("add").path.name == "a.md"
    assert [e.path for e in lib.errors] == [str(second)]
    assert "duplicate skill_id 'add'" in str(lib.errors[0])


def test_unknown_id_suggests_close_matches():
    lib = SkillLibrary()
    with pytest.raises(SkillNotFound) as info:
        lib.get("quantum-vq")
    assert "quantum-vqe" in info.value.suggestions
    assert "did you mean 'quantum-vqe'" in str(info.value)
    with pytest.raises(SkillNotFound) as info:
        lib["zzzzzz"]
    assert info.value.suggestions == []


def test_filters_by_category_and_tag(llmos_home):
    put(llmos_home / "user/skills", "add.md",
        ADD.replace("version: '1.0'", "version: '1.0'\ncategory: math\ntags: [toy]"))
    lib = SkillLibrary()
    assert [s.skill_id for s in lib.list(category="math")] == ["add"]
    assert [s.skill_id for s in lib.list(tag="toy")] == ["add"]
    assert "quantum" in lib.categories
    assert all(not s.executable for s in lib.list(executable=False))


def test_llmos_home_argument_isolates_volumes(tmp_path):
    put(tmp_path / "elsewhere/user/skills", "add.md", ADD)
    assert "add" in SkillLibrary(tmp_path / "elsewhere")
    assert "add" not in SkillLibrary(tmp_path / "empty")
