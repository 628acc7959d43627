"""A pattern as a compound skill: ports, learned defaults, composing code, Markdown.

The compound's inputs are the members' inputs that no wire inside the pattern feeds (its
*free* inputs); its outputs are the members' outputs that no wire inside the pattern
consumes (the pattern's *sink* outputs, so hamiltonian → vqe → plot exposes the plot's
``image`` and the vqe's ``eigenvalue``), plus ``inner_run``: the inner run's id and each
inner node's skill, status, time and parameters, which is how the compound's own trace
shows its inner nodes. A port name is kept when unique, else prefixed by its node
(``vqe_seed``).

Learned defaults: per free input, the values the successful runs used: the median for
numbers (an ``integer`` port keeps the lower median when the median falls between two
values), the most frequent value otherwise (ties: the earliest run's). The spread (min,
max, distinct values, share of the mode) goes into ``derived_from.learned``.

*Derived text* is not learned: a string input whose value embeds another parameter's
value in the same run (a plot title "H2 at 0.74 Å" beside ``bond_length: 0.74``) would
be frozen with one run's number and then contradict the parameter. Such an input keeps
the member's default (or none) and is explained as ``derived`` (see :func:`_derived`).

The code block builds the inner workflow from the member skills *by skill_id* and runs it
through the engine (``llmos_jupyter.run(..., trace=False)``), so an improved member skill
improves the compound, and the inner run writes no trace of its own (which the next
evolve would otherwise count as more runs of the pattern).
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from llmos_jupyter._evolution.mining import Pattern
from llmos_jupyter._skills.library import SkillLibrary
from llmos_jupyter._skills.model import Skill
from llmos_jupyter._skills.ports import Port, check_value

__all__ = ["Compound", "Learned", "build_compound", "compound_id", "member_names"]

MAX_TRACE_IDS = 50
"""``derived_from.traces`` lists at most this many run ids (the newest); ``runs`` counts all."""
_MAX_DEFAULT_CHARS = 2000
_SAFE = re.compile(r"[^a-z0-9]+")


@dataclass
class Learned:
    """A free input's learned default and its spread over the runs."""

    input: str
    node: str
    port: str
    value: Any
    rule: str                    # "median" | "mode" | "derived" | "member default" | "not learned"
    n: int = 0
    distinct: int = 0
    minimum: Any = None
    maximum: Any = None
    share: float | None = None   # mode: the share of runs that used it
    source: str | None = None    # derived: the "node.port" whose value the text embeds

    def spread(self) -> str:
        if self.rule == "median":
            return (f"min {_fmt(self.minimum)}, max {_fmt(self.maximum)}, "
                    f"{self.distinct} distinct in {self.n} runs")
        if self.rule == "mode":
            return f"{self.share:.0%} of {self.n} runs, {self.distinct} distinct"
        if self.rule == "derived":
            return f"embeds {self.source} in {self.n} runs"
        return ""

    def to_frontmatter(self) -> dict[str, Any]:
        d: dict[str, Any] = {"default": self.value, "rule": self.rule, "n": self.n,
                             "distinct": self.distinct}
        if self.rule == "median":
            d.update(min=self.minimum, max=self.maximum)
        elif self.rule == "mode":
            d["share"] = round(self.share or 0.0, 4)
        return d


@dataclass
class Compound:
    """A compound skill built from a pattern (not written yet)."""

    skill_id: str
    name: str
    pattern: Pattern
    nodes: list[str]
    inputs: list[Port]
    outputs: list[Port]
    learned: list[Learned]
    markdown: str
    input_map: dict[str, tuple[str, str]] = field(default_factory=dict)
    output_map: dict[str, tuple[str, str]] = field(default_factory=dict)


def member_names(pattern: Pattern) -> list[str]:
    """A node name per member: the node id the runs used most (ties: the smallest),
    made a distinct lowercase slug."""
    names: list[str] = []
    for i in range(len(pattern.members)):
        counts = Counter(o.nodes[i] for o in pattern.occurrences)
        top = max(counts.values())
        raw = min(n for n, c in counts.items() if c == top)
        base = _SAFE.sub("-", raw.lower()).strip("-") or f"n{i + 1}"
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


def compound_id(pattern: Pattern, names: list[str]) -> str:
    """``compound-<node names>-<6 hex of the pattern hash>`` (at most 64 characters)."""
    middle = "-".join(names)[: 64 - len("compound--") - 6].strip("-")
    return f"compound-{middle}-{pattern.hash[:6]}"


def build_compound(pattern: Pattern, library: SkillLibrary, *, skill_id: str | None = None,
                   name: str | None = None, description: str | None = None) -> Compound:
    """The compound skill of ``pattern`` with the members' current ports from ``library``.

    ``skill_id``/``name``/``description`` keep an existing compound's identity on update.
    Raises ``SkillNotFound`` when a member skill is not in the library.
    """
    nodes = member_names(pattern)
    skills = [library.get(m.skill) for m in pattern.members]
    wired_in = {(t, tp) for _, _, t, tp in pattern.wires}
    consumed = {(s, sp) for s, sp, _, _ in pattern.wires}

    free = [(i, p) for i, s in enumerate(skills) for p in s.inputs if (i, p.name) not in wired_in]
    sinks = [(i, p) for i, s in enumerate(skills) for p in s.outputs if (i, p.name) not in consumed]
    in_names = _port_names(free, nodes, reserved=set())
    out_names = _port_names(sinks, nodes, reserved={"inner_run"})

    inputs, learned = [], []
    for (i, port), pname in zip(free, in_names, strict=True):
        values = [o.params[i][port.name] for o in pattern.occurrences
                  if port.name in o.params[i] and o.params[i][port.name] is not None]
        source = _derived(pattern, i, port, nodes) if port.type in ("string", "any") else None
        if source is not None:
            lr = Learned(pname, nodes[i], port.name, port.default if port.has_default else None,
                         "derived", len(values), len({json.dumps(v, sort_keys=True, default=str)
                                                      for v in values}), source=source)
        else:
            lr = _learn(pname, nodes[i], port, values)
        learned.append(lr)
        desc = f"{nodes[i]}.{port.name}: {port.description}".rstrip(": ")
        if lr.rule in ("median", "mode"):
            desc += f" Learned ({lr.rule}, {lr.spread()})."
        elif lr.rule == "derived":
            desc += f" Not learned: the runs' values embed {lr.source}; set it to match."
        if lr.rule in ("median", "mode") or port.has_default:
            has = lr.rule in ("median", "mode") or port.has_default
            default = lr.value if lr.rule in ("median", "mode") else port.default
            inputs.append(Port(pname, port.type, False, default, has, desc, port.unit, port.enum,
                               port.minimum, port.maximum))
        else:
            inputs.append(Port(pname, port.type, port.required, None, False, desc, port.unit,
                               port.enum, port.minimum, port.maximum))
    outputs = [Port(pname, port.type, port.required, description=f"{nodes[i]}.{port.name}: "
                    f"{port.description}".rstrip(": "), unit=port.unit)
               for (i, port), pname in zip(sinks, out_names, strict=True)]
    outputs.append(Port("inner_run", "object", True, description=(
        "The inner run: run_id, status and per inner node its skill, status, duration_ms, "
        "params and wires.")))

    input_map = {p.name: (nodes[i], port.name) for (i, port), p in zip(free, inputs, strict=True)}
    output_map = {pname: (nodes[i], port.name)
                  for (i, port), pname in zip(sinks, out_names, strict=True)}
    sid = skill_id or compound_id(pattern, nodes)
    title = name or "Compound: " + " → ".join(nodes)
    desc = description or (
        "Runs " + " → ".join(s.skill_id for s in skills) + " as one skill, with defaults "
        f"learned from {pattern.support} successful runs (llmos evolve).")
    requires = sorted({r for s in skills for r in s.requires})
    code = _code(sid, title, nodes, skills, pattern, input_map, output_map)
    fm: dict[str, Any] = {
        "skill_id": sid,
        "name": title,
        "description": desc,
        "category": "compound",
        "tags": sorted({"compound", "evolved", *(s.category for s in skills)}),
        "version": "1.0.0",
        "runtime": "python",
        "requires": requires,
        "inputs": [p.to_dict() for p in inputs],
        "outputs": [p.to_dict() for p in outputs],
        "derived_from": {
            "pattern": pattern.hash,
            "runs": pattern.support,
            "occurrences": len(pattern.occurrences),
            "traces": pattern.runs[-MAX_TRACE_IDS:],
            "members": [{"node": nodes[i], "skill_id": m.skill, "version": m.version,
                         "code_hash": m.code_hash[:16]} for i, m in enumerate(pattern.members)],
            "wires": [f"{nodes[s]}.{sp} -> {nodes[t]}.{tp}" for s, sp, t, tp in pattern.wires],
            "learned": {lr.input: lr.to_frontmatter() for lr in learned
                        if lr.rule in ("median", "mode")},
        },
    }
    body = _body(title, sid, pattern, nodes, skills, learned)
    markdown = _markdown(fm, body, code)
    return Compound(sid, title, pattern, nodes, inputs, outputs, learned, markdown,
                    input_map, output_map)


# -- pieces --------------------------------------------------------------------------------
def _port_names(ports: list[tuple[int, Port]], nodes: list[str], reserved: set[str]) -> list[str]:
    counts = Counter(p.name for _, p in ports)
    out: list[str] = []
    for i, p in ports:
        name = p.name if counts[p.name] == 1 and p.name not in reserved else (
            re.sub(r"\W", "_", nodes[i]) + "_" + p.name)
        if name[0].isdigit():
            name = "n_" + name
        base, k = name, 2
        while name in out or name in reserved:
            name, k = f"{base}_{k}", k + 1
        out.append(name)
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _learn(name: str, node: str, port: Port, values: list[Any]) -> Learned:
    if not values:
        return Learned(name, node, port.name, port.default if port.has_default else None,
                       "member default" if port.has_default else "not learned")
    keys = [json.dumps(v, sort_keys=True, default=str) for v in values]
    distinct = len(set(keys))
    if all(_is_number(v) for v in values) and port.type in ("number", "integer", "any"):
        med = statistics.median(values)
        if port.type == "integer" or all(isinstance(v, int) for v in values):
            med = med if float(med).is_integer() else statistics.median_low(values)
            med = int(med)
        lr = Learned(name, node, port.name, med, "median", len(values), distinct,
                     min(values), max(values))
    else:
        counts = Counter(keys)
        top = max(counts.values())
        first = next(k for k in keys if counts[k] == top)  # ties: the earliest run's value
        value = values[keys.index(first)]
        if len(first) > _MAX_DEFAULT_CHARS:
            return Learned(name, node, port.name, port.default if port.has_default else None,
                           "member default" if port.has_default else "not learned",
                           len(values), distinct)
        lr = Learned(name, node, port.name, value, "mode", len(values), distinct,
                     share=top / len(values))
    try:
        lr.value = check_value(port.type, lr.value)
    except (TypeError, ValueError):
        return Learned(name, node, port.name, port.default if port.has_default else None,
                       "member default" if port.has_default else "not learned", len(values),
                       distinct)
    return lr


_MIN_DERIVED_SHARE = 0.8


def _renderings(value: Any) -> set[str]:
    """How a parameter's value may appear inside text: ``0.74`` as ``0.74``, ``0.740``,
    ``7.4e-01``...; strings as themselves. Too short to be evidence: dropped."""
    if isinstance(value, bool) or value is None:
        return set()
    if isinstance(value, int):
        out = {str(value)}
    elif isinstance(value, float):
        out = {str(value), repr(value), f"{value:g}"}
        out |= {f"{value:.{k}f}" for k in range(1, 5)} | {f"{value:.{k}g}" for k in range(2, 7)}
        out |= {f"{value:.{k}e}" for k in range(1, 4)}
    elif isinstance(value, str):
        out = {value}
    else:
        return set()
    return {r for r in out if len(r) >= 2}


def _derived(pattern: Pattern, i: int, port: Port, nodes: list[str]) -> str | None:
    """The ``node.port`` whose value member ``i``'s string input ``port`` embeds in the
    runs (a title with the bond length), or ``None``.

    Evidence: the text contains a rendering of the other parameter's value in at least
    80 % of the runs where both are set; if that parameter never changed, a match counts
    only when the text never changed either and the rendering has at least 3 characters
    (a fixed "Fig. 1" beside ``n: 1`` is a coincidence, not a derivation).
    """
    candidates: dict[tuple[int, str], list[bool]] = {}
    distinct: dict[tuple[int, str], dict[str, Any]] = {}  # repr -> value
    texts: set[str] = set()
    for o in pattern.occurrences:
        text = o.params[i].get(port.name)
        if not isinstance(text, str) or not text:
            continue
        texts.add(text)
        for j, params in enumerate(o.params):
            for name, value in params.items():
                if (j, name) == (i, port.name):
                    continue
                renders = _renderings(value)
                if not renders:
                    continue
                key = (j, name)
                candidates.setdefault(key, []).append(any(r in text for r in renders))
                distinct.setdefault(key, {})[repr(value)] = value
    for key in sorted(candidates):
        hits = candidates[key]
        if not hits or sum(hits) / len(hits) < _MIN_DERIVED_SHARE:
            continue
        if len(distinct[key]) >= 2:
            return f"{nodes[key[0]]}.{key[1]}"
        (only,) = distinct[key].values()
        text = next(iter(texts)) if len(texts) == 1 else None
        if text is not None and any(len(r) >= 3 and r in text for r in _renderings(only)):
            return f"{nodes[key[0]]}.{key[1]}"
    return None


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else repr(v) if isinstance(v, str) else str(v)


_CODE = '''\
# Generated by `llmos evolve` from pattern {hash}. The members run by skill_id through the
# engine, so an improved member skill improves this compound.
MEMBERS = {members}
WIRES = {wires}
INPUTS = {inputs}
OUTPUTS = {outputs}


def execute(inputs):
    from llmos_jupyter import Workflow, run

    wf = Workflow(id={sid!r}, name={title!r})
    for i, (node, skill_id) in enumerate(MEMBERS.items()):
        wf.add_node(skill_id, id=node, position={{"x": 320 * i, "y": 0}})
    for source, source_port, target, target_port in WIRES:
        wf.connect(source, source_port, target, target_port)
    values = {{}}
    for name, (node, port) in INPUTS.items():
        if inputs.get(name) is not None:
            values.setdefault(node, {{}})[port] = inputs[name]
    # trace=False: this run is recorded as the compound node's inner_run output, in the
    # trace of the run that uses the compound.
    result = run(wf, values, trace=False)
    for node, r in result.nodes.items():
        if r.status == "failed":
            raise RuntimeError(f"inner node {{node!r}} ({{r.skill_id}}) failed: {{r.error}}\\n"
                               + (r.traceback or ""))
    out = {{name: result.nodes[node].outputs[port] for name, (node, port) in OUTPUTS.items()
           if port in result.nodes[node].outputs}}
    out["inner_run"] = {{
        "run_id": result.run_id,
        "status": result.status,
        "nodes": {{
            node: {{
                "skill": r.skill_id,
                "status": r.status,
                "duration_ms": round(r.duration_ms, 3),
                "params": {{k: v for k, v in r.inputs.items() if k not in r.wired
                           and (v is None or isinstance(v, (bool, int, float, str)))}},
                "wired": {{k: f"{{s}}.{{p}}" for k, (s, p) in r.wired.items()}},
            }}
            for node, r in result.nodes.items()
        }},
    }}
    return out
'''


def _code(sid: str, title: str, nodes: list[str], skills: list[Skill], pattern: Pattern,
          input_map: dict[str, tuple[str, str]], output_map: dict[str, tuple[str, str]]) -> str:
    wires = [[nodes[s], sp, nodes[t], tp] for s, sp, t, tp in pattern.wires]
    return _CODE.format(
        hash=pattern.hash,
        members=_py(dict(zip(nodes, (s.skill_id for s in skills), strict=True))),
        wires=_py([tuple(w) for w in wires]),
        inputs=_py(input_map), outputs=_py(output_map), sid=sid, title=title,
    )


def _py(value: Any) -> str:
    """A Python literal, one entry per line."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in value.items()) + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"    {v!r},\n" for v in value) + "]"
    return repr(value)


def _body(title: str, sid: str, pattern: Pattern, nodes: list[str], skills: list[Skill],
          learned: list[Learned]) -> str:
    lines = [
        f"# {title}",
        "",
        (f"Found by `llmos evolve` in {pattern.support} successful runs (pattern "
         f"`{pattern.hash}`). It runs its member skills by `skill_id` through the engine, "
         "so an improved member skill improves this compound; the inner nodes show in its "
         "`inner_run` output (and so in the trace of any run that uses it)."),
        "",
        "| node | skill | version |",
        "|---|---|---|",
    ]
    lines += [f"| `{n}` | `{s.skill_id}` | {m.version or s.version} |"
              for n, s, m in zip(nodes, skills, pattern.members, strict=True)]
    if pattern.wires:
        lines += ["", "Wiring: " + ", ".join(f"`{nodes[s]}.{sp}` → `{nodes[t]}.{tp}`"
                                            for s, sp, t, tp in pattern.wires) + "."]
    rows = [lr for lr in learned if lr.rule in ("median", "mode")]
    if rows:
        lines += ["", "## Learned defaults", "", "| input | default | rule | spread |",
                  "|---|---|---|---|"]
        lines += [f"| `{lr.input}` | {_md(_fmt(lr.value))} | {lr.rule} | {lr.spread()} |"
                  for lr in rows]
    lines += ["", ("Provenance (runs, trace ids, member code hashes) is in the frontmatter's "
                   "`derived_from`; re-running `llmos evolve` updates the defaults as runs "
                   "accrue.")]
    return "\n".join(lines)


def _md(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _markdown(fm: dict[str, Any], body: str, code: str) -> str:
    import yaml

    head = yaml.safe_dump(fm, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{head}---\n\n{body}\n\n```python\n{code.rstrip()}\n```\n"
