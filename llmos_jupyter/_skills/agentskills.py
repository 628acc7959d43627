"""Agent Skills (https://agentskills.io/specification) ↔ llmos skills.

Three things:

* :func:`spec_warnings`: what a third-party ``SKILL.md`` folder does against the
  specification (name grammar and length, ``name`` = folder name, description length,
  unknown top-level fields, ``metadata`` not a string map ...). They are *warnings*: the
  skill still loads (``SkillLibrary.warnings``, ``llmos skills check``).
* :func:`export_skill` / :func:`export_skills`: an llmos skill as a specification-valid
  folder ``<name>/SKILL.md`` (+ ``scripts/execute.py`` or ``.js``/``.cir`` holding the code
  block byte for byte). The llmos fields ride in the specification's ``metadata``
  string map under the keys of :data:`METADATA_KEYS` (structured values as JSON text).
* :func:`read_folder` / :func:`import_folders`: such a folder back into a volume as the
  *same* executable skill (ports, defaults, code, runtime, requires identical); a folder
  without llmos metadata (anyone's Agent Skill) is copied as a standard skill folder.
  Imported files are someone else's: they are marked untrusted
  (:func:`llmos_jupyter._trust.mark_untrusted`) and run isolated until ``llmos trust``.

The rules checked are those of the reference validator ``skills-ref``
(``skills_ref.validator``, version 0.1.1): ``name`` non-empty, at most 64 characters,
lowercase, letters/digits/hyphens, no leading, trailing or doubled hyphen, equal to the
folder name (NFKC); ``description`` non-empty, at most 1,024 characters;
``compatibility`` a string of at most 500 characters; no top-level fields besides
``name``, ``description``, ``license``, ``compatibility``, ``metadata`` and
``allowed-tools``. ``skills-ref`` reads frontmatter with ``strictyaml`` (no flow
collections, no tags or anchors) after splitting the file at the first two ``---``;
the writer here emits only block mappings and quoted scalars, and never the text
``---`` inside the frontmatter, so both that reader and PyYAML read the same values.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._exceptions import SkillError
from llmos_jupyter._skills.model import Skill

__all__ = [
    "FORMAT",
    "MAX_COMPATIBILITY_CHARS",
    "MAX_DESCRIPTION_CHARS",
    "MAX_NAME_CHARS",
    "METADATA_KEYS",
    "SCRIPT_FILES",
    "SPEC_FIELDS",
    "AgentSkillFolder",
    "Imported",
    "SkillWarning",
    "export_skill",
    "export_skills",
    "import_folders",
    "read_folder",
    "spec_description",
    "spec_name",
    "spec_warnings",
]

SPEC_FIELDS = frozenset({"name", "description", "license", "compatibility", "metadata",
                         "allowed-tools"})
"""The top-level frontmatter fields the specification defines."""
MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 1024
MAX_COMPATIBILITY_CHARS = 500
FORMAT = "1"
"""Value of ``metadata.llmos-format``: the version of the mapping below."""

METADATA_KEYS: dict[str, str] = {
    "llmos-format": "the mapping's version (\"1\"); its presence marks an llmos export",
    "llmos-skill-id": "the llmos skill_id (the folder name may differ: see spec_name)",
    "llmos-title": "the llmos display name (frontmatter `name`)",
    "llmos-description": "the full description, when the specification's had to be cut",
    "llmos-category": "category",
    "llmos-version": "version",
    "llmos-runtime": "python | javascript | threejs | spice (executable skills)",
    "llmos-script": "the script file holding the code block, e.g. scripts/execute.py",
    "llmos-tags": "JSON array of strings",
    "llmos-requires": "JSON array of requirement strings (PEP 508 names)",
    "llmos-inputs": "JSON array of port objects, exactly as in the frontmatter",
    "llmos-outputs": "JSON array of port objects",
    "llmos-resources": "JSON object {cpu, memory, gpu}",
    "llmos-timeout-s": "JSON number (seconds)",
    "llmos-frontmatter": "JSON object: every other frontmatter field (derived_from, ...)",
}
"""The ``metadata`` keys of an exported skill; the specification's metadata is a
string → string map, so structured values are JSON text."""

SCRIPT_FILES = {"python": "scripts/execute.py", "javascript": "scripts/execute.js",
                "threejs": "scripts/execute.js", "spice": "scripts/execute.cir"}
"""Where the code block goes, by runtime."""

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Frontmatter fields with their own metadata key (or a top-level spec field).
_MAPPED = frozenset({"skill_id", "name", "description", "category", "tags", "version",
                     "runtime", "requires", "inputs", "outputs", "resources", "timeout_s"})
_JSON_KEYS = {"tags": "llmos-tags", "requires": "llmos-requires", "inputs": "llmos-inputs",
              "outputs": "llmos-outputs", "resources": "llmos-resources",
              "timeout_s": "llmos-timeout-s"}
_JSON_VALUES = frozenset({*_JSON_KEYS.values(), "llmos-frontmatter"})
_CODE_MARK = "<!-- llmos-code "
_DESC_OPEN = "<!-- llmos-description -->"
_DESC_CLOSE = "<!-- /llmos-description -->"
MAX_IMPORT_FILES = 500
"""Most files one imported folder may hold."""
MAX_IMPORT_BYTES = 16 << 20
"""Most bytes one imported folder may hold (16 MiB)."""


# -- warnings ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SkillWarning:
    """A specification violation that does not stop a skill from loading.

    ``path`` is the ``SKILL.md`` file, ``line`` the 1-based line of the field (when
    found), ``field`` the frontmatter field (``name``, ``description``, ...).
    """

    message: str
    path: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:  # the same shape as SkillError's
        where = self.path or "<skill>"
        if self.line is not None:
            where += f":{self.line}"
        tag = f" [{self.field}]" if self.field else ""
        return f"{where}:{tag} {self.message}"


def _name_problems(name: Any, folder: str | None) -> list[str]:
    """skills-ref's name rules (validator._validate_name), as messages."""
    if not isinstance(name, str) or not name.strip():
        return ["name must be a non-empty string"]
    name = unicodedata.normalize("NFKC", name.strip())
    out = []
    if len(name) > MAX_NAME_CHARS:
        out.append(f"name {name!r} is longer than {MAX_NAME_CHARS} characters ({len(name)})")
    if name != name.lower():
        out.append(f"name {name!r} must be lowercase")
    if name.startswith("-") or name.endswith("-"):
        out.append(f"name {name!r} must not start or end with a hyphen")
    if "--" in name:
        out.append(f"name {name!r} must not contain consecutive hyphens")
    if not all(c.isalnum() or c == "-" for c in name):
        out.append(f"name {name!r} has characters other than letters, digits and hyphens")
    if folder is not None and unicodedata.normalize("NFKC", folder) != name:
        out.append(f"name {name!r} differs from its folder name {folder!r}")
    return out


def frontmatter_problems(data: Mapping[str, Any], folder: str | None) -> list[tuple[str, str]]:
    """Every specification violation of a ``SKILL.md`` frontmatter ``data`` in a folder
    named ``folder`` (``None``: not checked), as ``(field, message)`` pairs."""
    out: list[tuple[str, str]] = []
    if "name" not in data:
        out.append(("name", "missing name (the specification requires it)"))
    else:
        out += [("name", m) for m in _name_problems(data["name"], folder)]
    desc = data.get("description")
    if not isinstance(desc, str) or not desc.strip():
        out.append(("description", "description must be a non-empty string"))
    elif len(desc) > MAX_DESCRIPTION_CHARS:
        out.append(("description", (f"description is longer than {MAX_DESCRIPTION_CHARS} "
                    f"characters ({len(desc)})")))
    if "compatibility" in data:
        comp = data["compatibility"]
        if not isinstance(comp, str):
            out.append(("compatibility", "compatibility must be a string"))
        elif len(comp) > MAX_COMPATIBILITY_CHARS:
            out.append(("compatibility", (f"compatibility is longer than "
                        f"{MAX_COMPATIBILITY_CHARS} characters ({len(comp)})")))
    if "metadata" in data:
        meta = data["metadata"]
        if not isinstance(meta, dict):
            out.append(("metadata", "metadata must be a mapping of strings to strings"))
        else:
            bad = [str(k) for k, v in meta.items() if not isinstance(k, str)
                   or not isinstance(v, str)]
            if bad:
                out.append(("metadata", "metadata values must be strings (not "
                            + ", ".join(bad[:5]) + ("..." if len(bad) > 5 else "") + ")"))
    if "allowed-tools" in data and not isinstance(data["allowed-tools"], str):
        out.append(("allowed-tools", "allowed-tools must be a space-separated string"))
    unknown = sorted(str(k) for k in data if k not in SPEC_FIELDS)
    for key in unknown:
        out.append((key, (f"unknown top-level field {key!r} (the specification allows only "
                    f"{', '.join(sorted(SPEC_FIELDS))}; put other data under metadata)")))
    return out


def spec_warnings(skill: Skill) -> list[SkillWarning]:
    """The specification violations of a skill loaded from a third-party Agent Skills
    folder (a ``SKILL.md`` without ``skill_id``); empty for every other skill, including
    llmos skills laid out as a folder (a ``SKILL.md`` with ``skill_id`` is llmos format).

    Lines come from the file's frontmatter (the first ``field:`` line), when readable.
    """
    path = skill.path
    fm = skill.frontmatter
    if path is None or path.name != "SKILL.md" or "skill_id" in fm:
        return []
    problems = frontmatter_problems(fm, path.parent.name)
    if not problems:
        return []
    lines = _field_lines(path)
    return [SkillWarning(msg, str(path), lines.get(f), f) for f, msg in problems]


def _field_lines(path: Path) -> dict[str, int]:
    """1-based line of each top-level frontmatter key (``key:`` at column 0)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 16).decode("utf-8", errors="replace")
    except OSError:
        return {}
    out: dict[str, int] = {}
    rows = head.lstrip("\ufeff").split("\n")
    for i, row in enumerate(rows[1:], start=2):
        if row.rstrip() in ("---", "..."):
            break
        m = re.match(r"""^(['"]?)([^\s'":#][^'":]*)\1\s*:""", row)
        if m and m.group(2) not in out:
            out[m.group(2)] = i
    return out


# -- export --------------------------------------------------------------------------------
def spec_name(skill_id: str) -> str:
    """The specification ``name`` (and folder name) of an llmos ``skill_id``.

    Deterministic: runs of hyphens become one and leading/trailing hyphens go
    (``a--b-`` → ``a-b``); an id longer than 64 characters keeps its first 57 and gets
    ``-`` plus 6 hex digits of its SHA-256, so distinct long ids stay distinct. The
    original id travels in ``metadata.llmos-skill-id``.

    Raises:
        SkillError: the id is not an llmos id (lowercase letters, digits, ``-``).
    """
    if not isinstance(skill_id, str) or not _ID_RE.match(skill_id):
        raise SkillError(f"skill id {skill_id!r} is not an llmos id (lowercase letters, digits "
                         "and '-'): no Agent Skills name for it", field="skill_id")
    name = re.sub(r"-+", "-", skill_id).strip("-")
    if len(name) > MAX_NAME_CHARS:
        digest = hashlib.sha256(skill_id.encode()).hexdigest()[:6]
        name = name[: MAX_NAME_CHARS - 7].rstrip("-") + "-" + digest
    if _name_problems(name, None):  # pragma: no cover - the rules above guarantee it
        raise SkillError(f"skill id {skill_id!r} maps to an invalid name {name!r}",
                         field="skill_id")
    return name


def spec_description(text: str, title: str = "") -> str:
    """A specification description (1 to 1,024 characters) for ``text``: unchanged when it
    fits; else cut at the last word boundary before the limit with ``…`` appended.
    An empty text becomes ``title`` (or a placeholder): the field is required.
    The text ``---`` becomes ``—`` (``skills-ref`` splits files at every ``---``)."""
    text = (text or "").strip() or (title or "").strip() or "An llmos skill."
    text = text.replace("---", "—")
    if len(text) <= MAX_DESCRIPTION_CHARS:
        return text
    cut = text[: MAX_DESCRIPTION_CHARS - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
    if space > MAX_DESCRIPTION_CHARS // 2:  # a word boundary not absurdly early
        cut = cut[:space]
    return cut.rstrip() + "…"


def _dq(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax, which YAML 1.1/1.2 read alike):
    every non-printable or line-separator character escaped, ``---`` split."""
    out = []
    for c in text:
        cat = unicodedata.category(c)
        if c in "\"\\":
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or c == "\x85":
            if ord(c) > 0xFFFF:
                out.append(f"\\U{ord(c):08x}")
            else:
                out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out).replace("---", "-\\u002d-") + '"'


def _sq(json_text: str) -> str:
    """One-line JSON text as a YAML single-quoted scalar (readable: no backslashes added).
    Single quotes have no escapes, so characters YAML would fold or refuse (line
    separators, controls) and ``---`` are escaped inside the JSON strings first."""
    out = []
    for c in json_text:
        if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else json.dumps(c)[1:-1])
        else:
            out.append(c)
    text = "".join(out).replace("---", "-\\u002d-")
    return "'" + text.replace("'", "''") + "'"


def _json_text(value: Any, key: str) -> str:
    """``value`` as one-line JSON for a metadata value; refuses what JSON changes."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
    except (TypeError, ValueError) as exc:
        raise SkillError(f"{key}: the value cannot be written as JSON ({exc})",
                         field=key) from None
    if json.loads(text) != value and not _json_same(value, json.loads(text)):
        raise SkillError(f"{key}: the value changes when written as JSON (non-string "
                         "mapping keys?); it cannot be exported exactly", field=key)
    return text


def _json_same(a: Any, b: Any) -> bool:
    # Tuples (enum) become lists; that is the frontmatter's own form.
    if isinstance(a, (list, tuple)) and isinstance(b, list):
        return len(a) == len(b) and all(_json_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


def _frontmatter_of(skill: Skill) -> dict[str, Any]:
    """The skill's frontmatter as read (exact port dicts), or rebuilt for skills without one."""
    return dict(skill.frontmatter) if skill.frontmatter else skill.to_frontmatter()


def _fence_span(body: str, code: str) -> tuple[int, int] | None:
    """``(first, end)`` 0-based body lines of the fenced block whose content is ``code``."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").disable(["inline", "text_join"], ignoreInvalid=True)
    for tok in md.parse(body):
        if tok.type == "fence" and tok.map and tok.content == code:
            return tok.map[0], tok.map[1]
    return None


def _code_note(script: str) -> str:
    return (f"The code of this skill is [`{script}`]({script}): it defines "
            "`execute(inputs) -> dict`; the typed inputs and outputs are in the frontmatter's "
            "`metadata` (`llmos-inputs`, `llmos-outputs`).")


def export_skill(skill: Skill) -> tuple[str, dict[str, str | bytes]]:
    """An llmos skill as an Agent Skills folder: ``(folder name, {relative path: content})``
    with ``SKILL.md`` and, for an executable skill, the script holding its code block
    (:data:`SCRIPT_FILES`). A skill that is itself a folder (``…/SKILL.md``) brings its
    other files (references, assets) along. Nothing is written.

    Raises:
        SkillError: the id has no specification name, a field cannot be encoded, or the
            skill's folder cannot be read (see :func:`read_folder`'s limits).
    """
    name = spec_name(skill.skill_id)
    fm = _frontmatter_of(skill)
    full = skill.description
    desc = spec_description(full, skill.name)
    meta: dict[str, str] = {"llmos-format": FORMAT, "llmos-skill-id": skill.skill_id,
                            "llmos-title": skill.name}
    if desc != full:
        meta["llmos-description"] = full
    # Only what the frontmatter declares: a default stays a default after the round trip.
    if "category" in fm:
        meta["llmos-category"] = skill.category
    if isinstance(fm.get("version"), str):
        meta["llmos-version"] = skill.version
    files: dict[str, str | bytes] = {}
    if skill.path is not None and skill.path.name == "SKILL.md":
        files.update((rel, data) for rel, data in _read_tree(skill.path.parent).items()
                     if rel != "SKILL.md")
    body = skill.body
    if skill.code is not None:
        script = SCRIPT_FILES.get(skill.runtime)
        if script is None:
            raise SkillError(f"runtime {skill.runtime!r} has no script file", field="runtime")
        meta["llmos-runtime"] = skill.runtime
        meta["llmos-script"] = script
        files[script] = skill.code  # over a same-named file of the folder: the code wins
        body = _replace_code(body, skill.code, script)
    for key, mkey in _JSON_KEYS.items():
        if fm.get(key) is not None:
            meta[mkey] = _json_text(fm[key], mkey)
    top: dict[str, str] = {}
    rest: dict[str, Any] = {}
    own_meta: dict[str, str] = {}
    for key, value in fm.items():
        if key in _MAPPED and not (key == "version" and not isinstance(value, str)):
            continue  # (a numeric version goes to llmos-frontmatter: JSON keeps its type)
        if key in ("license", "allowed-tools") and isinstance(value, str) and value.strip():
            top[key] = value
        elif (key == "metadata" and isinstance(value, dict)
              and all(isinstance(k, str) and isinstance(v, str) and not k.startswith("llmos-")
                      for k, v in value.items())):
            own_meta = dict(value)
        else:
            rest[key] = value
    if rest:
        meta["llmos-frontmatter"] = _json_text(rest, "llmos-frontmatter")
    compat = _compatibility(skill)
    if desc != full:
        body = f"{_DESC_OPEN}\n**Description.** {full}\n{_DESC_CLOSE}\n\n{body}"
    lines = ["---", f"name: {_dq(name)}", f"description: {_dq(desc)}"]
    if "license" in top:
        lines.append(f"license: {_dq(top['license'])}")
    if compat:
        lines.append(f"compatibility: {_dq(compat)}")
    if "allowed-tools" in top:
        lines.append(f"allowed-tools: {_dq(top['allowed-tools'])}")
    lines.append("metadata:")
    for key, value in {**own_meta, **meta}.items():
        shown = key if _ID_RE.match(key) and "---" not in key else _dq(key)
        lines.append(f"  {shown}: {_sq(value) if key in _JSON_VALUES else _dq(value)}")
    lines.append("---")
    text = "\n".join(lines) + "\n"
    if body.strip():
        text += "\n" + body.strip("\n") + "\n"
    files = {"SKILL.md": text, **files}
    return name, files


def _compatibility(skill: Skill) -> str:
    if skill.code is None:
        return ""
    if skill.runtime == "python":
        how = "Python 3.11+"
        if skill.requires:
            how += " with " + ", ".join(skill.requires)
    elif skill.runtime in ("javascript", "threejs"):
        how = "a browser Web Worker (the llmos canvas)"
    else:
        how = "ngspice"
    text = (f"An executable llmos-jupyter skill (runtime {skill.runtime}): runs in {how}; "
            "run it with `llmos run`, `%%skill` or `llmos skills import` then the engine.")
    if len(text) <= MAX_COMPATIBILITY_CHARS:
        return text
    return text[: MAX_COMPATIBILITY_CHARS - 1] + "…"


def _replace_code(body: str, code: str, script: str) -> str:
    """``body`` with the code block replaced by a marker (how to put it back) and a
    sentence pointing at ``script``; the sentence alone is appended when the body does
    not hold the block (skills built in code)."""
    rows = body.split("\n")
    span = _fence_span(body, code)
    if span is None:
        return body.rstrip("\n") + "\n\n" + _code_note(script) if body.strip() \
            else _code_note(script)
    first, end = span
    open_line = rows[first]
    close_line = rows[end - 1] if end - 1 > first else ""
    fence = re.match(r"^(\s*)(`{3,}|~{3,})", open_line)
    closed = bool(fence and re.match(r"^\s*" + re.escape(fence.group(2)[0]) + "{"
                                     + str(len(fence.group(2))) + r",}\s*$", close_line))
    mark = {"file": script, "open": open_line, "close": close_line if closed else None,
            "indent": fence.group(1) if fence else ""}
    marker = _CODE_MARK + json.dumps(mark, ensure_ascii=False).replace("--", "-\\u002d") + " -->"
    return "\n".join(rows[:first] + [marker, _code_note(script)] + rows[end:])


def export_skills(skills: Iterable[Skill], output: str | Path, *,
                  force: bool = False) -> list[Path]:
    """Write each skill as a folder ``output/<spec name>/`` (created; see
    :func:`export_skill`). Files go through :func:`llmos_jupyter._safe_write.safe_write`
    (no symbolic link followed under ``output``).

    Returns:
        The folders written, in order.

    Raises:
        SkillError: two skills map to the same name, a folder exists (without ``force``),
            or a skill cannot be exported.
        UnsafeWrite / OSError: a file cannot be written.
    """
    from llmos_jupyter._safe_write import safe_write

    out = Path(output)
    planned: dict[str, tuple[Skill, dict[str, str | bytes]]] = {}
    for skill in skills:
        name, files = export_skill(skill)
        if name in planned:
            raise SkillError(f"skills {planned[name][0].skill_id!r} and {skill.skill_id!r} both "
                             f"map to the Agent Skills name {name!r}; export them separately",
                             field="skill_id")
        planned[name] = (skill, files)
    for name in planned:
        if (out / name).exists() and not force:
            raise SkillError(f"{out / name} exists; use --force to overwrite its files",
                             path=out / name)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (_, files) in planned.items():
        for rel, text in files.items():
            safe_write(out, f"{name}/{rel}", text)
        written.append(out / name)
    return written


# -- import --------------------------------------------------------------------------------
@dataclass
class AgentSkillFolder:
    """An Agent Skills folder as read by :func:`read_folder`.

    ``markdown`` is the skill file to store: the llmos skill file rebuilt from an llmos
    export (``llmos`` True), else the folder's ``SKILL.md`` unchanged. ``extras`` are the
    other files (relative POSIX path → bytes), without the export's script.
    """

    folder: Path
    skill_id: str
    markdown: str
    llmos: bool
    extras: dict[str, bytes] = field(default_factory=dict)
    warnings: list[SkillWarning] = field(default_factory=list)

    def skill(self) -> Skill:
        """The skill the markdown parses to (path: the folder's ``SKILL.md``)."""
        from llmos_jupyter._skills.parser import parse_skill

        return parse_skill(self.markdown, path=self.folder / "SKILL.md")


def _read_tree(folder: Path) -> dict[str, bytes]:
    """Every regular file below ``folder`` (``.``-entries and ``__pycache__`` skipped),
    refusing symbolic links, special files, and more than the import limits."""
    from llmos_jupyter._safe_write import check_relative_path

    files: dict[str, bytes] = {}
    total = 0
    stack = [Path()]
    while stack:
        rel_dir = stack.pop()
        try:
            entries = sorted(os.scandir(folder / rel_dir), key=lambda e: e.name)
        except OSError as exc:
            raise SkillError(f"cannot list folder: {exc.strerror or exc}",
                             path=folder / rel_dir) from None
        for entry in entries:
            if entry.name.startswith(".") or entry.name == "__pycache__":
                continue
            rel = rel_dir / entry.name
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise SkillError("is a symbolic link; an imported folder holds only regular "
                                 "files and folders", path=folder / rel)
            if stat.S_ISDIR(st.st_mode):
                stack.append(rel)
                continue
            if not stat.S_ISREG(st.st_mode):
                raise SkillError("is not a regular file", path=folder / rel)
            check_relative_path(rel.as_posix())
            total += st.st_size
            if len(files) >= MAX_IMPORT_FILES or total > MAX_IMPORT_BYTES:
                raise SkillError(f"folder holds more than {MAX_IMPORT_FILES} files or "
                                 f"{MAX_IMPORT_BYTES >> 20} MiB: not imported", path=folder)
            with open(folder / rel, "rb") as fh:
                files[rel.as_posix()] = fh.read(MAX_IMPORT_BYTES + 1)
    return files


def _meta_json(meta: Mapping[str, Any], key: str, path: Path, kind: type) -> Any:
    raw = meta.get(key)
    if raw is None:
        return None
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise SkillError(f"metadata {key} is not JSON: {exc}", path=path, field=key) from None
    if not isinstance(value, kind):
        raise SkillError(f"metadata {key} must be a JSON {kind.__name__}", path=path, field=key)
    return value


def read_folder(folder: str | Path) -> AgentSkillFolder:
    """Read an Agent Skills folder (``SKILL.md`` at its root).

    An llmos export (``metadata.llmos-format``) becomes the llmos skill file it came
    from: frontmatter rebuilt from the ``llmos-*`` keys, the code block put back from the
    script where the body's marker stands. Any other folder is kept as it is (a standard
    skill). Specification violations become :attr:`AgentSkillFolder.warnings`.

    Raises:
        SkillError: no ``SKILL.md``, a symbolic link or special file inside, too many or
            too large files, a bad ``llmos-*`` value, or a result that does not parse.
    """
    from llmos_jupyter._skills.parser import MAX_FILE_BYTES, parse_skill

    folder = Path(folder)
    skill_md = folder / "SKILL.md"
    if not folder.is_dir():
        raise SkillError("not a folder (an Agent Skill is a folder with a SKILL.md)", path=folder)
    files = _read_tree(folder)
    if "SKILL.md" not in files:
        raise SkillError("no SKILL.md in this folder", path=folder)
    data = files.pop("SKILL.md")
    if len(data) > MAX_FILE_BYTES:
        raise SkillError(f"SKILL.md is larger than {MAX_FILE_BYTES} bytes", path=skill_md)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SkillError(f"SKILL.md is not UTF-8 ({exc.reason})", path=skill_md) from None
    spec = parse_skill(text, path=skill_md)
    fm = dict(spec.frontmatter)
    warnings = [SkillWarning(m, str(skill_md), None, f)
                for f, m in frontmatter_problems(fm, folder.resolve().name)]
    raw_meta = fm.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    if "llmos-format" not in meta:
        return AgentSkillFolder(folder, spec.skill_id, text, False, files, warnings)
    if str(meta["llmos-format"]) != FORMAT:
        raise SkillError(f"metadata llmos-format {meta['llmos-format']!r} is not a version "
                         f"this llmos reads ({FORMAT})", path=skill_md, field="llmos-format")
    sid = meta.get("llmos-skill-id", fm.get("name"))
    if not isinstance(sid, str) or not _ID_RE.match(sid) or len(sid) > MAX_NAME_CHARS:
        raise SkillError(f"metadata llmos-skill-id {sid!r} is not an llmos id (lowercase "
                         "letters, digits, '-', at most 64)", path=skill_md, field="llmos-skill-id")
    out: dict[str, Any] = {"skill_id": sid, "name": str(meta.get("llmos-title") or sid)}
    desc = meta.get("llmos-description", fm.get("description", ""))
    out["description"] = desc if isinstance(desc, str) else str(desc)
    if "llmos-category" in meta:
        out["category"] = str(meta["llmos-category"])
    tags = _meta_json(meta, "llmos-tags", skill_md, list)
    if tags is not None:
        out["tags"] = tags
    if "llmos-version" in meta:
        out["version"] = str(meta["llmos-version"])
    code = None
    if "llmos-runtime" in meta:
        out["runtime"] = str(meta["llmos-runtime"])
        script = str(meta.get("llmos-script") or SCRIPT_FILES.get(out["runtime"], ""))
        if script not in files:
            raise SkillError(f"metadata llmos-script names {script!r}, which is not in the "
                             "folder", path=skill_md, field="llmos-script")
        try:
            code = files.pop(script).decode("utf-8")
        except UnicodeDecodeError:
            raise SkillError("the script is not UTF-8 text", path=folder / script) from None
    for key, mkey in _JSON_KEYS.items():
        if key == "tags":
            continue
        kind = {"resources": dict, "timeout_s": (int, float)}.get(key, list)
        value = _meta_json(meta, mkey, skill_md, kind)  # type: ignore[arg-type]
        if value is not None:
            out[key] = value
    rest = _meta_json(meta, "llmos-frontmatter", skill_md, dict) or {}
    for key in ("license", "allowed-tools"):
        if key in fm:
            out[key] = fm[key]
    own = {k: v for k, v in meta.items() if not str(k).startswith("llmos-")}
    if own:
        out["metadata"] = own
    for key, value in rest.items():
        out.setdefault(key, value)
    body = _restore_body(spec.body, code, str(out.get("runtime", "python")))
    head = _yaml_dump(out)
    markdown = f"---\n{head}---\n"
    if body.strip():
        markdown += "\n" + body.strip("\n") + "\n"
    imported = AgentSkillFolder(folder, sid, markdown, True, files, warnings)
    imported.skill()  # refuse now what would not load (a SkillError naming the file)
    return imported


def _yaml_dump(data: Mapping[str, Any]) -> str:
    """``yaml.safe_dump`` whose strings read back identical: PyYAML writes a NEL (U+0085)
    or line/paragraph separator raw inside quotes and folds it on reading, so such
    strings go double-quoted (where it escapes them)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: Any, value: str) -> Any:
        style = '"' if any(c in value for c in "\x85\u2028\u2029") else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(dict(data), Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)


def _restore_body(body: str, code: str | None, runtime: str = "python") -> str:
    """The exported body made the llmos body again: the description block dropped, the
    code block put back at its marker (or appended, fenced in ``runtime``'s language)."""
    rows = body.split("\n")
    if rows and rows[0] == _DESC_OPEN and _DESC_CLOSE in rows:
        end = rows.index(_DESC_CLOSE) + 1
        while end < len(rows) and not rows[end].strip():
            end += 1
        rows = rows[end:]
    if code is None:
        return "\n".join(rows)
    for i, row in enumerate(rows):
        if not row.startswith(_CODE_MARK):
            continue
        try:
            mark = json.loads(row[len(_CODE_MARK):].rsplit("-->", 1)[0])
        except ValueError:
            continue
        note = _code_note(str(mark.get("file", "")))
        drop = 2 if i + 1 < len(rows) and rows[i + 1] == note else 1
        indent = str(mark.get("indent") or "")
        block = [str(mark.get("open") or "```")]
        block += [indent + c if c else c for c in code.split("\n")[:-1]] if code.endswith("\n") \
            else [indent + c if c else c for c in code.split("\n")]
        if mark.get("close") is not None:
            block.append(str(mark["close"]))
        return "\n".join(rows[:i] + block + rows[i + drop:])
    # No marker (an edited SKILL.md): the block goes at the end, without the note.
    note_rows = [r for r in rows if r.startswith("The code of this skill is [`")]
    rows = [r for r in rows if r not in note_rows]
    return ("\n".join(rows).rstrip("\n") + f"\n\n```{runtime}\n" + code.rstrip("\n")
            + "\n```")


@dataclass
class Imported:
    """One imported skill: its id, the skill file written, the commits, notes."""

    skill_id: str
    path: Path
    folder: Path
    llmos: bool
    commits: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[SkillWarning] = field(default_factory=list)


def import_folders(folders: Iterable[str | Path], *, volume: str = "user", force: bool = False,
                   home: str | Path | None = None) -> list[Imported]:
    """Import Agent Skills folders into a volume (one commit per file written), marking
    every skill file written untrusted.

    An llmos export becomes ``skills/<skill_id>.md`` (``skills/<skill_id>/SKILL.md`` plus
    its other files when the folder holds more than the script); anyone else's folder is
    copied as ``skills/<id>/``. Every folder is read and checked before anything is
    written.

    Raises:
        SkillError: a folder cannot be read (see :func:`read_folder`), or its skill id is
            already loaded (any volume) or imported twice, unless ``force``.
        VolumeError / VolumeReadOnly: the volume cannot be written.
        UnsafeWrite: a destination path would leave the volume or pass a symbolic link.
    """
    from llmos_jupyter._safe_write import UnsafeWrite, check_relative_path
    from llmos_jupyter._skills.library import SkillLibrary
    from llmos_jupyter._trust import mark_untrusted
    from llmos_jupyter._volumes.volume import Volume

    vol = Volume(volume, home)
    vol.check_writable()
    library = SkillLibrary(vol.home)
    read = [read_folder(f) for f in folders]
    seen: dict[str, Path] = {}
    plans: list[tuple[AgentSkillFolder, str, dict[str, bytes]]] = []
    for item in read:
        sid = item.skill_id
        if sid in seen:
            raise SkillError(f"skill {sid!r} is imported twice (also from {seen[sid]})",
                             path=item.folder)
        seen[sid] = item.folder
        if sid in library and not force:
            have = library.get(sid)
            raise SkillError(f"skill {sid!r} already exists ({have.volume} volume, "
                             f"{have.path}); use --force to import it over it",
                             path=item.folder, field="skill_id")
        existing = vol.skill_path(sid)
        folder_form = bool(item.extras) or not item.llmos or existing.name == "SKILL.md"
        if folder_form:
            base = existing.parent if existing.name == "SKILL.md" and existing.is_file() \
                else vol.skills_dir / sid
            main = base / "SKILL.md"
        else:
            main = existing if existing.is_file() else vol.skills_dir / f"{sid}.md"
        rel_main = main.relative_to(vol.root).as_posix()
        extras = {}
        for rel, data in item.extras.items():
            extras[(Path(rel_main).parent / rel).as_posix()] = data
        for rel in [rel_main, *extras]:
            check_relative_path(rel)
            _refuse_links(vol.root, rel, UnsafeWrite)
            vol.relative(rel)  # and, resolved, still inside the volume
        plans.append((item, rel_main, extras))
    results = []
    for item, rel_main, extras in plans:
        result = Imported(item.skill_id, vol.root / rel_main, item.folder, item.llmos,
                          warnings=list(item.warnings))
        why = f"imported from {item.folder.resolve()}"
        mark_untrusted(vol.root / rel_main, why=why, home=vol.home)
        for rel, data in extras.items():
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                # The volume stores text commits; a binary asset is reported, not lost silently.
                result.skipped.append(f"{rel}: binary file (the volume stores text files)")
                continue
            mark_untrusted(vol.root / rel, why=why, home=vol.home)
            rev = vol.write_text(rel, text, message=f"Import {item.skill_id}: {rel} (Agent Skills)")
            if rev is not None:
                result.commits.append(str(rev))
        rev = vol.write_text(rel_main, item.markdown,
                             message=f"Import skill {item.skill_id} from an Agent Skills folder")
        if rev is not None:
            result.commits.append(str(rev))
        results.append(result)
    return results


def _refuse_links(root: Path, rel: str, error: Any) -> None:
    """No existing component of ``root/rel`` may be a symbolic link (as safe_write)."""
    cur = root
    for part in rel.split("/"):
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode):
            raise error(rel, f"{part!r} is a symbolic link; refusing to write through it")
