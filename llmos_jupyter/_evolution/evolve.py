"""``llmos evolve``: mine the user's traces and write compound skills to the user volume.

For every closed pattern with enough support (see ``mining.py``) one *candidate*:

* ``create``: no skill in the library derives from this pattern yet; a new file
  ``skills/<compound id>.md`` in the user volume, one commit;
* ``update``: the compound exists (found by ``derived_from.pattern``) and more runs
  changed its learned defaults or provenance; the file is rewritten keeping its id, name
  and description, one commit;
* ``unchanged``: the compound exists and nothing new was learned (no write, no commit);
* ``skip``: cannot be written, with the reason (a member skill is missing from the
  library or changed since the runs, the compound lives in a read-only volume, or the
  pattern has more than :data:`MAX_COMPOUND_MEMBERS` members).

A compound with an untrusted member (a team skill, an LLM-written one; see ``_trust``) is
marked untrusted before it is written: it runs isolated until the user trusts it.

With ``dry_run`` nothing is written and :meth:`EvolveReport.explain` says what would be.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_jupyter._evolution.compound import Compound, build_compound, compound_id, member_names
from llmos_jupyter._evolution.mining import Pattern, mine
from llmos_jupyter._evolution.traces import read_traces, trace_files
from llmos_jupyter._paths import llmos_home, traces_dir
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.model import Skill

__all__ = ["MAX_COMPOUND_MEMBERS", "Candidate", "EvolveReport", "evolve"]

MAX_COMPOUND_MEMBERS = 50
"""Larger repeated sub-workflows are reported but not written as compound skills: a
5,000-node run would make a megabyte skill file that nobody could read or edit."""


@dataclass
class Candidate:
    """One pattern and what evolve does (or would do) with it."""

    pattern: Pattern
    action: str                      # create | update | unchanged | skip
    skill_id: str
    reason: str = ""
    compound: Compound | None = None
    path: Path | None = None
    revision: Any = None             # the commit (a Revision) when written
    untrusted: str | None = None     # an untrusted member's skill id: the compound is too

    def explain(self) -> str:
        p = self.pattern
        nodes = member_names(p)
        head = (f"{self.action.upper():9} {self.skill_id}  ({p.support} runs, "
                f"{len(p.occurrences)} occurrences, pattern {p.hash})")
        lines = [head]
        shown = 12  # a 5,000-node pattern must not print 10,000 lines
        lines += [f"    member {n}: {m.skill} v{m.version} (code {m.code_hash[:12]})"
                  for n, m in list(zip(nodes, p.members, strict=True))[:shown]]
        if len(p.members) > shown:
            lines.append(f"    ... and {len(p.members) - shown} more members")
        lines += [f"    wire   {nodes[s]}.{sp} -> {nodes[t]}.{tp}"
                  for s, sp, t, tp in p.wires[:shown]]
        if len(p.wires) > shown:
            lines.append(f"    ... and {len(p.wires) - shown} more wires")
        if self.compound is not None:
            for lr in self.compound.learned:
                if lr.rule in ("median", "mode"):
                    lines.append(f"    input  {lr.input} = {lr.value!r}  [{lr.rule}; "
                                 f"{lr.spread()}]")
                elif lr.rule == "derived":
                    lines.append(f"    input  {lr.input} = {lr.value!r}  [not learned: the runs' "
                                 f"values embed {lr.source}]")
                elif lr.rule == "member default":
                    lines.append(f"    input  {lr.input} = {lr.value!r}  [member default]")
                else:
                    lines.append(f"    input  {lr.input}  [no default: set it when running]")
            outs = [o.name for o in self.compound.outputs]
            lines.append("    outputs " + ", ".join(outs))
        if self.reason:
            lines.append(f"    note: {self.reason}")
        if self.untrusted:
            lines.append(f"    trust: untrusted (member {self.untrusted}); runs isolated "
                         "until you `llmos trust` it")
        if self.path is not None:
            lines.append(f"    file: {self.path}")
        if self.revision is not None:
            lines.append(f"    commit: {self.revision.short} {self.revision.summary}")
        return "\n".join(lines)


@dataclass
class EvolveReport:
    """What one evolve found and did."""

    traces: int
    min_runs: int
    dry_run: bool
    candidates: list[Candidate] = field(default_factory=list)
    seconds: float = 0.0

    def by_action(self, action: str) -> list[Candidate]:
        return [c for c in self.candidates if c.action == action]

    def explain(self) -> str:
        verb = "would be" if self.dry_run else "were"
        head = (f"{self.traces} trace{'s' if self.traces != 1 else ''} mined in "
                f"{self.seconds:.2f} s; {len(self.candidates)} repeated sub-workflow"
                f"{'s' if len(self.candidates) != 1 else ''} in >= {self.min_runs} runs")
        if not self.candidates:
            return head + "; nothing to write."
        counts = ", ".join(f"{len(self.by_action(a))} {a}" for a in
                           ("create", "update", "unchanged", "skip") if self.by_action(a))
        lines = [f"{head} ({counts}{' — dry run, nothing written' if self.dry_run else ''}):", ""]
        for c in self.candidates:
            lines += [c.explain(), ""]
        if self.dry_run and (self.by_action("create") or self.by_action("update")):
            lines.append(f"Run without --dry-run to write them ({verb} committed to the user "
                         "volume).")
        return "\n".join(lines).rstrip()


def evolve(*, home: str | Path | None = None, min_runs: int = 3, dry_run: bool = False,
           library: SkillLibrary | None = None, traces: Any = None,
           progress: Callable[[str], None] | None = None) -> EvolveReport:
    """Mine the trace notebooks and write (or, with ``dry_run``, explain) compound skills.

    Args:
        home: ``LLMOS_HOME`` (default: the environment's).
        min_runs: a pattern needs this many successful traces.
        dry_run: explain only; write nothing.
        library: the skills (default: ``SkillLibrary(home)``); reloaded after writes.
        traces: trace files or a folder (default: ``<user volume>/traces``).
        progress: called with one-line progress messages (traces read, traces mined,
            large components) at most twice a second; the CLI shows them on stderr.

    Returns:
        The report: every candidate with its action (and commit when written).
    """
    from llmos_jupyter._volumes.volume import Volume

    home = Path(home).expanduser() if home is not None else (
        library.home if library is not None else llmos_home())
    library = library if library is not None else SkillLibrary(home)
    t0 = time.perf_counter()  # reading + mining + building, not loading the library
    if traces is None or isinstance(traces, (str, Path)):
        files = trace_files(traces if traces is not None else traces_dir(home))
    else:
        files = list(traces)
    records = read_traces(files, progress=progress)
    patterns = mine(records, min_runs=min_runs, progress=progress)
    report = EvolveReport(len(records), min_runs, dry_run)
    existing = _existing_compounds(library)
    volume = Volume("user", home)
    taken = {s.skill_id for s in library.list()}
    for pattern in patterns:
        cand = _candidate(pattern, library, existing, taken)
        report.candidates.append(cand)
        if cand.action in ("create", "update"):
            taken.add(cand.skill_id)
    report.seconds = time.perf_counter() - t0
    if dry_run:
        return report
    wrote = False
    for cand in report.candidates:
        if cand.action not in ("create", "update") or cand.compound is None:
            continue
        path = cand.path or volume.skill_path(cand.skill_id)
        verb = "Add" if cand.action == "create" else "Update"
        c = cand.compound
        learned = ", ".join(f"{lr.input}={lr.value!r}" for lr in c.learned
                            if lr.rule in ("median", "mode"))
        message = (f"evolve: {verb} compound skill {cand.skill_id} from "
                   f"{c.pattern.support} runs\n\n"
                   f"Pattern {c.pattern.hash}: " + " -> ".join(m.skill for m in c.pattern.members)
                   + (f"\nLearned defaults: {learned}" if learned else ""))
        if cand.untrusted is not None:
            # Marked before the file exists, so no reader ever sees it trusted.
            from llmos_jupyter._trust import mark_untrusted

            mark_untrusted(path, why=f"evolved from untrusted member {cand.untrusted}",
                           home=home)
        cand.revision = volume.write_text(path, c.markdown, message=message)
        cand.path = path
        if cand.revision is None:
            cand.action = "unchanged"
        wrote = True
    if wrote:
        library.reload()
        _refresh_default_library(library)
    return report


def _existing_compounds(library: SkillLibrary) -> dict[str, Skill]:
    found: dict[str, Skill] = {}
    for skill in library.list():
        derived = skill.frontmatter.get("derived_from")
        if isinstance(derived, dict) and isinstance(derived.get("pattern"), str):
            # The user's copy wins over a team one (list() holds the overriding skill).
            found.setdefault(derived["pattern"], skill)
    return found


def _candidate(pattern: Pattern, library: SkillLibrary, existing: dict[str, Skill],
               taken: set[str]) -> Candidate:
    nodes = member_names(pattern)
    old = existing.get(pattern.hash)
    sid = old.skill_id if old is not None else compound_id(pattern, nodes)
    if len(pattern.members) > MAX_COMPOUND_MEMBERS:
        return Candidate(pattern, "skip", sid, f"{len(pattern.members)} members: more than "
                         f"{MAX_COMPOUND_MEMBERS}, too large for a readable compound skill")
    for m in pattern.members:
        if m.skill not in library:
            return Candidate(pattern, "skip", sid, f"member skill {m.skill!r} is not in the "
                             "library (an inline notebook skill? save it with %skill save)")
        current = library.get(m.skill)
        if current.code_hash != m.code_hash:
            return Candidate(pattern, "skip", sid, f"member skill {m.skill!r} changed since "
                             f"these runs (code {m.code_hash[:12]} -> {current.code_hash[:12]}); "
                             "runs with the current version form their own pattern")
    if old is not None and old.volume != "user":
        return Candidate(pattern, "skip", sid, f"compound {sid!r} already exists in the "
                         f"{old.volume} volume ({old.path})")
    if old is None:
        base, k = sid, 2
        while sid in taken:
            sid, k = f"{base}-{k}", k + 1
    untrusted = _untrusted_member(pattern, library)
    compound = build_compound(pattern, library, skill_id=sid,
                              name=old.name if old is not None else None,
                              description=old.description if old is not None else None)
    if old is not None:
        path = Path(old.path) if old.path is not None else None
        same = (path is not None and path.is_file()
                and path.read_text(encoding="utf-8") == compound.markdown)
        return Candidate(pattern, "unchanged" if same else "update", sid,
                         "" if same else "more runs: learned defaults and provenance refreshed",
                         compound, path, untrusted=untrusted)
    return Candidate(pattern, "create", sid, "", compound, None, untrusted=untrusted)


def _untrusted_member(pattern: Pattern, library: SkillLibrary) -> str | None:
    """The id of the first member skill that is not trusted, or ``None``."""
    try:
        from llmos_jupyter._trust import is_trusted
    except ImportError:  # trust not available: nothing is marked
        return None
    for m in pattern.members:
        skill = library.get(m.skill)
        if not is_trusted(skill, library.home):
            return m.skill
    return None


def _refresh_default_library(library: SkillLibrary) -> None:
    """Make the process-wide library (magics, ``run()``) see the new skills."""
    import llmos_jupyter._api as api

    default = api._library
    if default is not None and default is not library and default.home == library.home:
        default.reload()
