"""Agent Skills round trip: export to specification-valid folders (checked with the
reference validator skills-ref), import back as the same executable skill, and spec
violations of third-party folders reported as warnings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import skills_ref
from hypothesis import given, settings
from hypothesis import strategies as st
from toy_skills import skill_md

from llmos_jupyter import SkillLibrary, Workflow, load_skill, parse_skill, run
from llmos_jupyter._exceptions import SkillError
from llmos_jupyter._safe_write import UnsafeWrite
from llmos_jupyter._skills.agentskills import (
    MAX_DESCRIPTION_CHARS,
    export_skill,
    export_skills,
    import_folders,
    read_folder,
    spec_description,
    spec_name,
)
from llmos_jupyter._skills.parser import check_skill_file
from llmos_jupyter._trust import is_trusted, trust

REPO = Path(__file__).resolve().parents[2]


def _same_skill(a, b) -> None:
    """The executable identity the round trip promises, and the prose besides."""
    assert a.skill_id == b.skill_id
    assert a.inputs == b.inputs and a.defaults == b.defaults
    assert a.outputs == b.outputs
    assert a.code == b.code
    assert a.runtime == b.runtime and a.executable == b.executable
    assert a.requires == b.requires
    assert a.code_hash == b.code_hash  # so the engine's cache treats them as one skill
    assert (a.name, a.description, a.category, a.tags, a.version) == \
        (b.name, b.description, b.category, b.tags, b.version)
    assert (dict(a.resources), a.timeout_s) == (dict(b.resources), b.timeout_s)
    assert a.body == b.body


@pytest.fixture(scope="module")
def system_skills():
    lib = SkillLibrary(volumes=[("system", REPO / "skills")])
    skills = lib.list()
    assert len(skills) >= 10  # (a system skill being edited may fail to parse meanwhile)
    return skills


def test_every_system_skill_exports_valid_and_imports_back_identical(
        tmp_path, llmos_home, system_skills):
    folders = export_skills(system_skills, tmp_path / "out")
    assert len(folders) == len(system_skills)
    for folder in folders:
        assert skills_ref.validate(folder) == [], folder.name
        props = skills_ref.read_properties(folder)
        assert props.name == folder.name
        assert len(props.description) <= MAX_DESCRIPTION_CHARS
        assert all(isinstance(v, str) for v in props.metadata.values())
    executable = [s for s in system_skills if s.executable]
    for skill in executable:
        name = spec_name(skill.skill_id)
        script = (tmp_path / "out" / name / "scripts").iterdir().__next__()
        assert script.read_text("utf-8") == skill.code  # the code as a file, byte for byte
        assert f"({script.relative_to(tmp_path / 'out' / name).as_posix()})" in \
            (tmp_path / "out" / name / "SKILL.md").read_text("utf-8")  # the body links it
    # Back into the user volume: the ids are the system skills' own, so --force.
    with pytest.raises(SkillError, match="already exists"):
        import_folders([folders[0]])
    results = import_folders(folders, force=True)
    by_id = {s.skill_id: s for s in system_skills}
    for r in results:
        imported = load_skill(r.path, volume="user")
        _same_skill(imported, by_id[r.skill_id])
        assert not is_trusted(imported)  # someone else's file until `llmos trust`
        assert r.commits  # committed through the volume
    lib = SkillLibrary()
    assert {s.skill_id for s in lib.list(volume="user")} == set(by_id)
    user = str(llmos_home / "user")
    assert not [e for e in lib.errors if (e.path or "").startswith(user)]
    assert not lib.warnings


def test_agentskills_console_script_accepts_an_export(tmp_path, system_skills):
    vqe = next(s for s in system_skills if s.skill_id == "quantum-vqe")
    [folder] = export_skills([vqe], tmp_path)
    exe = shutil.which("agentskills") or str(Path(sys.executable).parent / "agentskills")
    proc = subprocess.run([exe, "validate", str(folder)], check=False, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Valid skill" in proc.stdout


def test_an_imported_skill_runs_with_the_same_outputs(tmp_path, llmos_home, system_skills):
    skill = next(s for s in system_skills if s.skill_id == "quantum-hamiltonian")
    [folder] = export_skills([skill], tmp_path)
    [r] = import_folders([folder], force=True)
    wf = Workflow(id="one")
    wf.add_node("quantum-hamiltonian", id="h")
    values = {"h": {"bond_length": 0.9}}
    original = run(wf, values, trace=False,
                   library=SkillLibrary(volumes=[("system", REPO / "skills")]))
    imported_lib = SkillLibrary(volumes=[("user", llmos_home / "user" / "skills")])
    assert imported_lib.get("quantum-hamiltonian").path == r.path
    again = run(wf, values, trace=False, library=imported_lib)
    assert original["h"].status == again["h"].status == "completed", again["h"].error
    assert again["h"].outputs == original["h"].outputs
    assert again["h"].outputs  # something was compared


ADD = skill_md("add", "def execute(inputs):\n    return {'sum': inputs['a'] + inputs['b']}",
               inputs="[{name: a, type: number, default: 1}, {name: b, type: number, default: 2}]",
               outputs="[{name: sum, type: number}]")
SCALE = skill_md("scale", "def execute(inputs):\n    return {'y': inputs['x'] * inputs['k']}",
                 inputs="[{name: x, type: number}, {name: k, type: number, default: 2}]",
                 outputs="[{name: y, type: number}]")


def test_an_evolved_compound_skill_exports_valid_and_round_trips(tmp_path, llmos_home):
    from llmos_jupyter import Engine
    from llmos_jupyter._evolution import evolve

    folder = llmos_home / "user" / "skills"
    folder.mkdir(parents=True)
    (folder / "add.md").write_text(ADD)
    (folder / "scale.md").write_text(SCALE)
    wf = Workflow(id="chain")
    wf.add_node("add", id="a", params={"a": 1, "b": 2})
    wf.add_node("scale", id="s")
    wf.connect("a", "sum", "s", "x")
    engine = Engine(SkillLibrary(llmos_home), max_workers=1, cache=False)
    for k in (3, 3, 4):
        engine.run(wf, {"s.k": k})
    evolve(home=llmos_home)
    lib = SkillLibrary(llmos_home)
    [compound] = lib.list(category="compound")
    assert "derived_from" in compound.frontmatter

    [out] = export_skills([compound], tmp_path / "out")
    assert skills_ref.validate(out) == []
    other = tmp_path / "other-home"  # a second user: the members, then the compound
    (other / "user" / "skills").mkdir(parents=True)
    for name in ("add.md", "scale.md"):
        shutil.copy(folder / name, other / "user" / "skills" / name)
    [r] = import_folders([out], home=other)
    imported = load_skill(r.path)
    _same_skill(imported, compound)
    assert dict(imported.frontmatter)["derived_from"] == dict(compound.frontmatter)["derived_from"]
    # Trusted by its new owner: the compound imports llmos_jupyter to run its members.
    trust([SkillLibrary(other).get(compound.skill_id)], home=other)
    result = run(_one_node(compound.skill_id), trace=False, library=SkillLibrary(other))
    assert result["c"].status == "completed", result["c"].error
    assert result["c"].outputs["y"] == (1 + 2) * 3  # the learned default k = median(3, 3, 4)


def _one_node(skill_id: str) -> Workflow:
    wf = Workflow(id="c")
    wf.add_node(skill_id, id="c")
    return wf


def test_a_long_description_is_cut_on_a_word_boundary_and_kept_whole(tmp_path, llmos_home):
    words = " ".join(f"word{i}" for i in range(400))  # ~3,500 characters
    skill = parse_skill(ADD.replace("skill_id: add\n", f"skill_id: add\ndescription: {words}\n", 1))
    assert len(skill.description) > MAX_DESCRIPTION_CHARS
    _name, files = export_skill(skill)
    [folder] = export_skills([skill], tmp_path)
    assert skills_ref.validate(folder) == []
    desc = skills_ref.read_properties(folder).description
    assert len(desc) <= MAX_DESCRIPTION_CHARS and desc.endswith("…")
    assert skill.description.startswith(desc[:-1]) and desc[:-1].split()[-1] in words.split()
    assert words in files["SKILL.md"].split("---", 2)[2]  # the full text in the body
    back = read_folder(folder).skill()
    assert back.description == skill.description and back.body == skill.body


def test_spec_names_are_deterministic_and_collisions_refused(tmp_path):
    assert spec_name("quantum-vqe") == "quantum-vqe"
    assert spec_name("a--b-") == "a-b"
    long = "x" * 70
    assert spec_name(long) == spec_name(long) and len(spec_name(long)) == 64
    assert spec_name(long) != spec_name(long + "y")
    with pytest.raises(SkillError):
        spec_name("Not An Id")
    a = parse_skill(ADD.replace("skill_id: add", "skill_id: a--b"))
    b = parse_skill(ADD.replace("skill_id: add", "skill_id: a-b"))
    with pytest.raises(SkillError, match="both map to"):
        export_skills([a, b], tmp_path)
    [folder] = export_skills([a], tmp_path)
    assert folder.name == "a-b" and skills_ref.validate(folder) == []
    assert read_folder(folder).skill_id == "a--b"  # the id comes back, not the name
    with pytest.raises(SkillError, match="exists"):
        export_skills([a], tmp_path)
    export_skills([a], tmp_path, force=True)


def test_spec_description_edge_cases():
    assert spec_description("", "Title") == "Title"
    assert spec_description("a --- b") == "a — b"
    assert len(spec_description("x" * 5000)) == MAX_DESCRIPTION_CHARS


def test_awkward_text_survives_both_yaml_readers(tmp_path):
    """Quotes, backslashes, '---', line separators and controls in every field."""
    nasty = "it's \"odd\" \\ --- a\u2028b\x85c\u200bd: #e [f] {g}\n'h'"
    text = (
        "---\nskill_id: odd\nname: " + '"' + nasty.encode("unicode_escape").decode().replace('"', '\\"') + '"'
        + "\ndescription: " + '"' + nasty.encode("unicode_escape").decode().replace('"', '\\"') + '"'
        + "\nruntime: python\ninputs:\n  - name: s\n    type: string\n    default: "
        + '"' + nasty.encode("unicode_escape").decode().replace('"', '\\"') + '"'
        + "\noutputs:\n  - name: s\n    type: string\n---\n\nProse.\n\n```python\n"
        "def execute(inputs):\n    return {'s': inputs['s']}\n```\n")
    skill = parse_skill(text)
    assert skill.input_ports["s"].default == nasty
    [folder] = export_skills([skill], tmp_path)
    assert skills_ref.validate(folder) == []
    _same_skill(read_folder(folder).skill(), skill)


THIRD_PARTY = """---
name: Pdf_Tools
description: {desc}
version: 1.2
metadata:
  author: someone
---

# PDF tools

See [the reference](references/forms.md) and run `scripts/fill.py`.
"""


def _third_party(root: Path, desc: str = "Fill PDF forms.") -> Path:
    folder = root / "pdf-tools"
    (folder / "references").mkdir(parents=True)
    (folder / "scripts").mkdir()
    (folder / "SKILL.md").write_text(THIRD_PARTY.format(desc=desc))
    (folder / "references" / "forms.md").write_text("# Forms\n")
    (folder / "scripts" / "fill.py").write_text("print('fill')\n")
    return folder


def test_third_party_spec_violations_are_warnings_not_errors(tmp_path, llmos_home):
    user = llmos_home / "user" / "skills"
    user.mkdir(parents=True)
    _third_party(user, desc="d " * 600)
    lib = SkillLibrary()
    skill = lib.get("pdf-tools")  # loads all the same (id from the folder)
    assert not skill.executable and not lib.errors
    fields = sorted(w.field for w in lib.warnings)
    assert fields == ["description", "name", "name", "name", "version"]
    text = "\n".join(map(str, lib.warnings))
    assert "longer than 1024" in text and "differs from its folder name 'pdf-tools'" in text
    assert "must be lowercase" in text and "unknown top-level field 'version'" in text
    assert "SKILL.md:3: [description]" in text  # file and line
    warnings: list = []
    assert check_skill_file(user / "pdf-tools" / "SKILL.md", warnings=warnings) == []
    assert [str(w) for w in warnings] == [str(w) for w in lib.warnings]
    # Our own folder-style skill and llmos files are not Agent Skills files: no warnings.
    assert SkillLibrary(volumes=[("system", REPO / "skills")]).warnings == []


def test_importing_anyones_folder_copies_it_as_a_standard_skill(tmp_path, llmos_home):
    src = _third_party(tmp_path)
    [r] = import_folders([src])
    assert not r.llmos and r.path == llmos_home / "user" / "skills" / "pdf-tools" / "SKILL.md"
    assert (r.path.parent / "references" / "forms.md").read_text() == "# Forms\n"
    assert (r.path.parent / "scripts" / "fill.py").read_text() == "print('fill')\n"
    assert len(r.commits) == 3 and {w.field for w in r.warnings} == {"name", "version"}
    skill = SkillLibrary().get("pdf-tools")
    assert skill.path == r.path and not is_trusted(skill)
    with pytest.raises(SkillError, match="already exists"):
        import_folders([src])
    # Exported again, it is valid (name from the id, version under metadata) and keeps
    # its folder's files.
    [out] = export_skills([skill], tmp_path / "again")
    assert skills_ref.validate(out) == []
    assert (out / "references" / "forms.md").read_text() == "# Forms\n"
    assert (out / "scripts" / "fill.py").read_text() == "print('fill')\n"
    assert skills_ref.read_properties(out).license is None
    back = read_folder(out)
    assert back.llmos and dict(back.skill().frontmatter)["version"] == 1.2


def test_import_refuses_links_traversal_and_bad_metadata(tmp_path, llmos_home):
    skill = parse_skill(ADD)
    [folder] = export_skills([skill], tmp_path / "out")
    link = folder / "references"
    os.symlink("/etc", link)
    with pytest.raises(SkillError, match="symbolic link"):
        import_folders([folder])
    link.unlink()
    md = folder / "SKILL.md"
    good = md.read_text()
    md.write_text(good.replace('llmos-skill-id: "add"', 'llmos-skill-id: "../../evil"'))
    with pytest.raises(SkillError, match="not an llmos id"):
        import_folders([folder])
    md.write_text(good.replace('llmos-script: "scripts/execute.py"',
                               'llmos-script: "../../../etc/passwd"'))
    with pytest.raises(SkillError, match="not in the folder"):
        import_folders([folder])
    md.write_text(good.replace("llmos-inputs: '[", "llmos-inputs: '{["))
    with pytest.raises(SkillError, match="llmos-inputs"):
        import_folders([folder])
    md.write_text(good)
    skills = llmos_home / "user" / "skills"
    skills.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / "references").mkdir()
    (folder / "references" / "x.md").write_text("x")
    os.symlink(outside, skills / "add")  # the destination folder is a link
    with pytest.raises((UnsafeWrite, SkillError, OSError)):
        import_folders([folder])
    assert list(outside.iterdir()) == []
    (skills / "add").unlink()
    [r] = import_folders([folder])  # extras: the folder form, the script not duplicated
    assert r.path == skills / "add" / "SKILL.md"
    assert sorted(p.relative_to(skills).as_posix() for p in skills.rglob("*") if p.is_file()) \
        == ["add/SKILL.md", "add/references/x.md"]
    _same_skill(load_skill(r.path), skill)


def test_cli_export_and_import(tmp_path, llmos_home, capsys):
    from llmos_jupyter._cli import main

    assert main(["skills", "export", "quantum-vqe", "--format", "agentskills",
                 "--output", str(tmp_path / "x")]) == 0
    assert skills_ref.validate(tmp_path / "x" / "quantum-vqe") == []
    assert main(["skills", "import", str(tmp_path / "x" / "quantum-vqe")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["skills", "import", "--force", str(tmp_path / "x" / "quantum-vqe")]) == 0
    out = capsys.readouterr().out
    assert "quantum-vqe (llmos skill)" in out and "untrusted" in out
    assert main(["skills", "export", "no-such-skill", "-o", str(tmp_path / "y")]) == 2


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    name=st.one_of(st.sampled_from(["pdf-tools", "Pdf-Tools", "-pdf", "pdf-", "pdf--tools",
                                    "pdf_tools", "pdf tools", "x" * 64, "x" * 65, "ünï-códe",
                                    "ＰＤＦ", "", "  ", "pdf-tools "]),
                   st.text(max_size=70)),
    desc=st.one_of(st.integers(0, 1100).map(lambda n: "d" * n), st.text(max_size=20)),
    extra=st.lists(st.sampled_from(["license", "compatibility", "version", "tags",
                                    "allowed-tools", "inputs"]), max_size=3, unique=True),
    compat=st.integers(0, 600),
)
def test_warnings_agree_with_the_reference_validator(name, desc, extra, compat):
    """Differential: our checks flag exactly the frontmatters skills-ref rejects."""
    from skills_ref.validator import validate_metadata

    from llmos_jupyter._skills.agentskills import frontmatter_problems

    data = {"name": name, "description": desc, "metadata": {"k": "v"}}
    data.update({k: "c" * compat if k == "compatibility" else "x" for k in extra})
    folder = Path("/skills") / "pdf-tools"
    ours = frontmatter_problems(data, folder.name)
    theirs = validate_metadata(data, folder)
    assert bool(ours) == bool(theirs), (ours, theirs)
    assert {f if f in ("name", "description", "compatibility") else "fields"
            for f, _ in ours} == {_field_of(t) for t in theirs}


def _field_of(message: str) -> str:
    """The field a skills-ref message is about."""
    if message.startswith("Unexpected fields"):
        return "fields"
    for field in ("name", "description", "compatibility"):
        if f"'{field}'" in message or field.capitalize() in message or f" {field} " in message:
            return field
    return "fields"


def test_a_skill_without_a_file_and_an_edited_export_still_import(tmp_path):
    """Skills built in code have no block in their body; a SKILL.md whose marker was
    edited away still gets its code back, fenced in the runtime's language."""
    from llmos_jupyter import Skill

    js = Skill("js-add", "JS add", description="adds", runtime="javascript",
               inputs=parse_skill(ADD).inputs, outputs=parse_skill(ADD).outputs,
               code="function execute(inputs) {\n  return {sum: inputs.a + inputs.b};\n}\n",
               body="# JS add\n\nAdds two numbers.")
    [folder] = export_skills([js], tmp_path)
    assert skills_ref.validate(folder) == []
    assert (folder / "scripts" / "execute.js").read_text() == js.code
    back = read_folder(folder).skill()
    assert (back.code, back.runtime, back.inputs, back.outputs) == \
        (js.code, js.runtime, js.inputs, js.outputs)
    assert back.body.startswith(js.body) and "```javascript" in back.body
