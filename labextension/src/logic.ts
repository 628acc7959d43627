/**
 * The canvas' pure logic: the document reducer with undo/redo, connection checks and
 * auto-layout. No React, no DOM: unit-tested with vitest (test/logic.test.ts).
 */
import dagre from '@dagrejs/dagre';
import { idProblem } from './ids';

import type { NodePorts, Port, SkillSummary, WfEdge, WfNode, WorkflowJSON } from './types';

// -- ports ----------------------------------------------------------------------------

/**
 * Whether an output of `source` type may feed an input of `target` type. Mirrors
 * `llmos_jupyter._skills.ports.compatible`: equal types, `any` both ways, integer → number.
 */
export function compatible(source: string, target: string): boolean {
  return (
    source === target ||
    source === 'any' ||
    target === 'any' ||
    (source === 'integer' && target === 'number')
  );
}

/** Handle colours by port type (also used by the minimap and the legend). */
export const PORT_COLORS: Record<string, string> = {
  string: '#2e9e5b',
  number: '#2f6fde',
  integer: '#16a3b8',
  boolean: '#d9822b',
  array: '#8e44ad',
  object: '#c0392b',
  image: '#d4a017',
  any: '#7f8c8d',
};

export function portColor(type: string | undefined): string {
  return PORT_COLORS[type ?? 'any'] ?? PORT_COLORS.any;
}

export type SkillIndex = Map<string, SkillSummary>;

/** Index keys of a node's own ports (`@node:<id>`; skill ids never start with `@`). */
const NODE_KEY = '@node:';

/** Whether `v` is a list of ports as the kernel sends them (names and types strings). */
function isPortList(v: unknown): v is Port[] {
  return Array.isArray(v) && v.every((p) => !!p && typeof p === 'object' &&
    typeof (p as Port).name === 'string' && typeof (p as Port).type === 'string');
}

/**
 * The skills by id, plus each node whose ports come from its parameters (`nodePorts`:
 * a switch's `case0`…, a subworkflow's interface, from the validator; the contract's
 * `NodePorts`) as a copy of its skill with those ports, under `@node:<id>`. Read a node's
 * skill with `nodeSkill`. Malformed entries are ignored.
 */
export function indexSkills(skills: SkillSummary[], nodePorts?: Record<string, NodePorts> | null,
  nodes?: readonly { id: string; data: { skill: string } }[]): SkillIndex {
  const index: SkillIndex = new Map(skills.map((s) => [s.id, s]));
  if (!nodePorts) return index;
  const skillOf = new Map((nodes ?? []).map((n) => [n.id, n.data.skill]));
  for (const [id, ports] of Object.entries(nodePorts)) {
    const base = index.get(skillOf.get(id) ?? '');
    // Ports told for another skill (the node changed skill since) are stale.
    if (!base || !ports || typeof ports !== 'object' || ports.skill !== base.id) continue;
    const inputs = isPortList(ports.inputs) ? ports.inputs : base.inputs;
    const outputs = isPortList(ports.outputs) ? ports.outputs : base.outputs;
    if (inputs !== base.inputs || outputs !== base.outputs) index.set(NODE_KEY + id, { ...base, inputs, outputs });
  }
  return index;
}

/** A node's skill with its own ports when it declares some (see `indexSkills`). */
export function nodeSkill(skills: SkillIndex, node: { id: string; data: { skill: string } }): SkillSummary | undefined {
  const own = skills.get(NODE_KEY + node.id);
  return own && own.id === node.data.skill ? own : skills.get(node.data.skill);
}

function findPort(
  doc: Doc, skills: SkillIndex, nodeId: string, port: string, side: 'inputs' | 'outputs',
): { node?: WfNode; skill?: SkillSummary; port?: Port } {
  const node = doc.nodes.find((n) => n.id === nodeId);
  const skill = node ? nodeSkill(skills, node) : undefined;
  return { node, skill, port: skill?.[side].find((p) => p.name === port) };
}

export interface ConnectionLike {
  source: string | null;
  sourceHandle?: string | null;
  target: string | null;
  targetHandle?: string | null;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/**
 * Check a new wire before it is added: both ports exist, types fit, the input is free
 * (one edge per input), no self-loop and no cycle. The reason is shown to the user.
 */
export function checkConnection(doc: Doc, skills: SkillIndex, c: ConnectionLike): Verdict {
  const { source, target } = c;
  const sh = c.sourceHandle ?? '';
  const th = c.targetHandle ?? '';
  if (!source || !target) return { ok: false, reason: 'a wire needs a source and a target' };
  if (source === target) return { ok: false, reason: 'a node cannot feed itself' };
  const src = findPort(doc, skills, source, sh, 'outputs');
  const dst = findPort(doc, skills, target, th, 'inputs');
  if (!src.node || !dst.node) return { ok: false, reason: 'unknown node' };
  if (!src.skill) return { ok: false, reason: `unknown skill ${src.node.data.skill}` };
  if (!dst.skill) return { ok: false, reason: `unknown skill ${dst.node.data.skill}` };
  if (!src.port) return { ok: false, reason: `${source} has no output '${sh}'` };
  if (!dst.port) return { ok: false, reason: `${target} has no input '${th}'` };
  if (!compatible(src.port.type, dst.port.type)) {
    return {
      ok: false,
      reason:
        `type mismatch: ${source}.${sh} is ${src.port.type}, ` +
        `${target}.${th} needs ${dst.port.type}`,
    };
  }
  const taken = doc.edges.find((e) => e.target === target && e.targetHandle === th);
  if (taken) {
    return {
      ok: false,
      reason: `${target}.${th} is already wired from ${taken.source}.${taken.sourceHandle} ` +
        '(one edge per input: delete that edge first)',
    };
  }
  if (reaches(doc.edges, target, source)) {
    return { ok: false, reason: `a wire ${source} → ${target} would make a cycle` };
  }
  return { ok: true };
}

/** Whether `to` is reachable from `from` along edges. */
export function reaches(edges: WfEdge[], from: string, to: string): boolean {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.source, [...(next.get(e.source) ?? []), e.target]);
  const seen = new Set([from]);
  const stack = [from];
  while (stack.length) {
    const n = stack.pop()!;
    if (n === to) return true;
    for (const m of next.get(n) ?? []) {
      if (!seen.has(m)) {
        seen.add(m);
        stack.push(m);
      }
    }
  }
  return false;
}

/** The nodes downstream of `ids` (included). */
export function downstream(edges: WfEdge[], ids: string[]): Set<string> {
  const out = new Set(ids);
  let grew = true;
  while (grew) {
    grew = false;
    for (const e of edges) {
      if (out.has(e.source) && !out.has(e.target)) {
        out.add(e.target);
        grew = true;
      }
    }
  }
  return out;
}

// -- the document -----------------------------------------------------------------------

/** The editable workflow: `meta` holds every top-level field but nodes and edges. */
export interface Doc {
  meta: Record<string, unknown>;
  nodes: WfNode[];
  edges: WfEdge[];
}

/** React Flow's runtime fields on a node or edge; never written to the workflow. */
const VIEW_KEYS = new Set([
  'selected', 'dragging', 'measured', 'resizing', 'internals', 'positionAbsolute',
  'sourcePosition', 'targetPosition', 'focusable', 'draggable', 'selectable',
]);

function clean<T extends Record<string, unknown>>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!VIEW_KEYS.has(k)) out[k] = v;
  return out as T;
}

export function docFromWorkflow(wf: WorkflowJSON | null | undefined): Doc {
  const { nodes = [], edges = [], ...meta } = wf ?? { nodes: [], edges: [] };
  return {
    meta,
    nodes: nodes.map((n) => ({
      ...n,
      position: { x: n.position?.x ?? 0, y: n.position?.y ?? 0 },
      data: { ...n.data, params: { ...(n.data?.params ?? {}) } },
    })),
    edges: edges.map((e) => ({ ...e })),
  };
}

export function workflowFromDoc(doc: Doc): WorkflowJSON {
  const meta = { ...doc.meta };
  const head = { id: meta.id, name: meta.name };
  delete meta.id;
  delete meta.name;
  return {
    ...head,
    nodes: doc.nodes.map((n) => clean(n)),
    edges: doc.edges.map((e) => clean(e)),
    ...meta,
  } as WorkflowJSON;
}

/** A node id not used yet, from the skill id (`quantum-vqe`, `quantum-vqe-2`, …). */
export function uniqueNodeId(doc: Doc, skillId: string): string {
  const base = (skillId.split('/').pop() ?? 'node').replace(/[^A-Za-z0-9_-]+/g, '-') || 'node';
  const used = new Set(doc.nodes.map((n) => n.id));
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}

export function edgeId(source: string, sh: string, target: string, th: string): string {
  return `${source}.${sh}->${target}.${th}`;
}

export type Action =
  | { type: 'load'; workflow: WorkflowJSON; history?: boolean }
  | { type: 'addNode'; skill: string; position: { x: number; y: number }; id?: string }
  | { type: 'connect'; source: string; sourceHandle: string; target: string; targetHandle: string }
  | { type: 'remove'; nodes?: string[]; edges?: string[] }
  | { type: 'move'; positions: Record<string, { x: number; y: number }> }
  | { type: 'setParam'; node: string; port: string; value: unknown }
  | { type: 'rename'; node: string; to: string }
  | { type: 'layout'; positions: Record<string, { x: number; y: number }> }
  | { type: 'undo' }
  | { type: 'redo' };

export interface History {
  past: Doc[];
  present: Doc;
  future: Doc[];
  /** Why the last edit was refused (rename to a used id, …), for the status line. */
  refused?: string;
}

const MAX_HISTORY = 200;

export function initHistory(wf?: WorkflowJSON | null): History {
  return { past: [], present: docFromWorkflow(wf), future: [] };
}

/** Apply one edit to the document (null: nothing changed; string: refused, with why). */
export function applyEdit(doc: Doc, a: Action): Doc | string | null {
  switch (a.type) {
    case 'load':
      return docFromWorkflow(a.workflow);
    case 'addNode': {
      const id = a.id && !doc.nodes.some((n) => n.id === a.id) ? a.id : uniqueNodeId(doc, a.skill);
      const node: WfNode = {
        id, type: 'skill', position: { ...a.position }, data: { skill: a.skill, params: {} },
      };
      return { ...doc, nodes: [...doc.nodes, node] };
    }
    case 'connect': {
      const edge: WfEdge = {
        id: edgeId(a.source, a.sourceHandle, a.target, a.targetHandle),
        source: a.source, sourceHandle: a.sourceHandle,
        target: a.target, targetHandle: a.targetHandle,
      };
      if (doc.edges.some((e) => e.id === edge.id)) return null;
      return { ...doc, edges: [...doc.edges, edge] };
    }
    case 'remove': {
      const nodes = new Set(a.nodes ?? []);
      const edges = new Set(a.edges ?? []);
      const keptNodes = doc.nodes.filter((n) => !nodes.has(n.id));
      const keptEdges = doc.edges.filter(
        (e) => !edges.has(e.id) && !nodes.has(e.source) && !nodes.has(e.target),
      );
      if (keptNodes.length === doc.nodes.length && keptEdges.length === doc.edges.length) {
        return null;
      }
      return { ...doc, nodes: keptNodes, edges: keptEdges };
    }
    case 'move':
    case 'layout': {
      let changed = false;
      const nodes = doc.nodes.map((n) => {
        const p = a.positions[n.id];
        if (!p || (p.x === n.position.x && p.y === n.position.y)) return n;
        changed = true;
        return { ...n, position: { x: Math.round(p.x), y: Math.round(p.y) } };
      });
      return changed ? { ...doc, nodes } : null;
    }
    case 'setParam': {
      const nodes = doc.nodes.map((n) => {
        if (n.id !== a.node) return n;
        const params = { ...(n.data.params ?? {}) };
        if (a.value === undefined || a.value === null || a.value === '') delete params[a.port];
        else params[a.port] = a.value;
        return { ...n, data: { ...n.data, params } };
      });
      return { ...doc, nodes };
    }
    case 'rename': {
      const to = a.to.trim();
      if (to === a.node) return null;
      const why = idProblem('node', to); // the one id grammar (ids.ts = _ids.py)
      if (why) return why;
      if (doc.nodes.some((n) => n.id === to)) return `node id ${to} is already used`;
      const ren = (id: string) => (id === a.node ? to : id);
      return {
        ...doc,
        nodes: doc.nodes.map((n) => (n.id === a.node ? { ...n, id: to } : n)),
        edges: doc.edges.map((e) => {
          if (e.source !== a.node && e.target !== a.node) return e;
          const source = ren(e.source);
          const target = ren(e.target);
          return { ...e, source, target, id: edgeId(source, e.sourceHandle, target, e.targetHandle) };
        }),
      };
    }
    default:
      return null;
  }
}

/** The canvas' state transitions: every edit is one undo step. */
export function historyReducer(h: History, a: Action): History {
  if (a.type === 'undo') {
    if (!h.past.length) return h;
    return {
      past: h.past.slice(0, -1), present: h.past[h.past.length - 1], future: [h.present, ...h.future],
    };
  }
  if (a.type === 'redo') {
    if (!h.future.length) return h;
    return { past: [...h.past, h.present], present: h.future[0], future: h.future.slice(1) };
  }
  const next = applyEdit(h.present, a);
  if (typeof next === 'string') return { ...h, refused: next };
  if (next === null) return h.refused ? { ...h, refused: undefined } : h;
  if (a.type === 'load' && a.history === false) return { past: [], present: next, future: [] };
  if (a.type === 'load' && next.nodes.length === h.present.nodes.length && h.present.nodes.length === 0) {
    return { ...h, present: next };
  }
  return { past: [...h.past, h.present].slice(-MAX_HISTORY), present: next, future: [] };
}

// -- layout -------------------------------------------------------------------------------

export const NODE_WIDTH = 260;

/** A node's drawn height estimate from its port count (before React Flow measures it). */
export function estimateHeight(skill: SkillSummary | undefined): number {
  const rows = Math.max(skill?.inputs.length ?? 0, skill?.outputs.length ?? 0, 1);
  return 56 + rows * 22;
}

/**
 * Layered layout with dagre, left to right (`LR`, the default) or top to bottom (`TB`).
 * `sizes` overrides the estimated node sizes (React Flow's measured ones). Returns
 * top-left positions.
 */
export function autoLayout(
  doc: Doc,
  skills: SkillIndex,
  sizes: Record<string, { width: number; height: number }> = {},
  direction: 'LR' | 'TB' = 'LR',
): Record<string, { x: number; y: number }> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: direction, nodesep: 40, ranksep: direction === 'TB' ? 60 : 90, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of doc.nodes) {
    const size = sizes[n.id] ?? {
      width: NODE_WIDTH, height: estimateHeight(nodeSkill(skills, n)),
    };
    g.setNode(n.id, { width: size.width, height: size.height });
  }
  for (const e of doc.edges) {
    if (g.hasNode(e.source) && g.hasNode(e.target)) g.setEdge(e.source, e.target);
  }
  dagre.layout(g);
  const out: Record<string, { x: number; y: number }> = {};
  for (const id of g.nodes()) {
    const p = g.node(id);
    out[id] = { x: Math.round(p.x - p.width / 2), y: Math.round(p.y - p.height / 2) };
  }
  return out;
}

// -- previews -------------------------------------------------------------------------------

/** The SVG path of a sparkline through `values` in a `w`×`h` box. */
export function sparklinePath(values: number[], w: number, h: number): string {
  const ys = values.filter((v) => Number.isFinite(v));
  if (ys.length < 2) return '';
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const span = hi - lo || 1;
  return ys
    .map((v, i) => {
      const x = (i / (ys.length - 1)) * w;
      const y = h - ((v - lo) / span) * h;
      return `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

/** A short human form of a number (4 significant digits, or exponent form). */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(6)));
}

export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

// -- readability ------------------------------------------------------------------------------

/**
 * The lowest zoom at which node text stays ≥ 11 CSS px on screen (the smallest text in
 * a node is 12.5 px: 12.5 × 0.9 = 11.25). Fit never zooms below it; below it the canvas
 * draws nodes as labelled boxes (level of detail, `LodLayer`).
 */
export const READABLE_ZOOM = 0.9;
/** The zoom a large graph opens at (no fit: only the nodes in view are drawn). */
export const INITIAL_ZOOM = 1;
/** Previews shown in a node; the rest is counted as "+N more" (all are in the side panel). */
export const PREVIEW_CAP = 4;

export interface Box { x: number; y: number; width: number; height: number }

/**
 * Display positions in which no two nodes overlap: a node that overlaps one above it
 * (e.g. because a preview made that one taller after a run) moves down below it, with
 * `gap` px between them; nodes that do not overlap keep their saved position. Only the
 * view uses these positions: the document (or the notebook's cells) is not changed.
 * `boxes`: node id → top-left position and size (px). O(n²): meant for ≤ 500 nodes.
 */
export function resolveOverlaps(boxes: Record<string, Box>, gap = 16): Record<string, { x: number; y: number }> {
  const ids = Object.keys(boxes).sort((a, b) => boxes[a].y - boxes[b].y || boxes[a].x - boxes[b].x);
  const placed: Box[] = [];
  const out: Record<string, { x: number; y: number }> = {};
  for (const id of ids) {
    const b = { ...boxes[id] };
    let moved = true;
    while (moved) {
      moved = false;
      for (const p of placed) {
        const overlapX = b.x < p.x + p.width && p.x < b.x + b.width;
        const overlapY = b.y < p.y + p.height + gap && p.y < b.y + b.height;
        if (overlapX && overlapY) {
          b.y = p.y + p.height + gap;
          moved = true;
        }
      }
    }
    placed.push(b);
    out[id] = { x: b.x, y: b.y };
  }
  return out;
}

// -- validity seen from the front-end -----------------------------------------------------

export interface LocalProblem { code: string; message: string; node?: string; edge?: string }

/**
 * What the canvas can tell is wrong without Python: unknown skills, wires to missing
 * nodes or ports, type mismatches, two wires into one input, cycles, missing required
 * inputs. The kernel's `validate` (when it answers) adds the rest; either way a workflow
 * with a problem is never called valid.
 */
export function localProblems(doc: Doc, skills: SkillIndex,
  expressions: Record<string, Record<string, string>> = {}): LocalProblem[] {
  const out: LocalProblem[] = [];
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  for (const n of doc.nodes) {
    if (!skills.has(n.data.skill)) {
      out.push({ code: 'unknown-skill', node: n.id, message: `${n.id}: unknown skill '${n.data.skill}'` });
    }
  }
  const wired = new Set<string>();
  for (const e of doc.edges) {
    const s = byId.get(e.source);
    const t = byId.get(e.target);
    if (!s || !t) {
      out.push({ code: 'unknown-node', edge: e.id, node: s ? e.target : e.source,
        message: `wire ${e.id}: no node '${s ? e.target : e.source}'` });
      continue;
    }
    const key = `${e.target}.${e.targetHandle}`;
    if (wired.has(key)) {
      out.push({ code: 'duplicate-input', edge: e.id, node: e.target, message: `${key} is wired twice` });
    }
    wired.add(key);
    const ss = nodeSkill(skills, s);
    const ts = nodeSkill(skills, t);
    if (!ss || !ts) continue;
    const sp = ss.outputs.find((p) => p.name === e.sourceHandle);
    const tp = ts.inputs.find((p) => p.name === e.targetHandle);
    if (!sp) out.push({ code: 'unknown-port', edge: e.id, node: e.source, message: `${e.source} has no output '${e.sourceHandle}'` });
    else if (!tp) out.push({ code: 'unknown-port', edge: e.id, node: e.target, message: `${e.target} has no input '${e.targetHandle}'` });
    else if (!compatible(sp.type, tp.type)) {
      out.push({ code: 'type-mismatch', edge: e.id, node: e.target,
        message: `type mismatch: ${e.source}.${e.sourceHandle} is ${sp.type}, ${e.target}.${e.targetHandle} needs ${tp.type}` });
    }
  }
  const cyc = cycleNode(doc.edges.filter((e) => byId.has(e.source) && byId.has(e.target)));
  if (cyc) out.push({ code: 'cycle', node: cyc, message: `the wires make a cycle through ${cyc}` });
  for (const n of doc.nodes) {
    const sk = nodeSkill(skills, n);
    for (const p of sk?.inputs ?? []) {
      if (p.required === false || p.default !== undefined) continue;
      if (wired.has(`${n.id}.${p.name}`) || (n.data.params ?? {})[p.name] !== undefined) continue;
      if (expressions[n.id]?.[p.name] !== undefined) continue;  // a Python expression: set at run time
      out.push({ code: 'missing-input', node: n.id, message: `${n.id}: required input '${p.name}' is neither wired nor set` });
    }
  }
  return out;
}

/** A node on a cycle of `edges`, or null (Kahn's algorithm: what never reaches in-degree 0). */
export function cycleNode(edges: WfEdge[]): string | null {
  const order = topoOrder([...new Set(edges.flatMap((e) => [e.source, e.target]))], edges);
  return order.cycle[0] ?? null;
}

/**
 * `ids` in dependency order (every node after the nodes it reads from), ties broken by
 * the order of `ids`; `cycle` holds the nodes that cannot be ordered (on or after a cycle).
 */
export function topoOrder(ids: string[], edges: WfEdge[]): { order: string[]; cycle: string[] } {
  const rank = new Map(ids.map((id, i) => [id, i]));
  const indeg = new Map(ids.map((id) => [id, 0]));
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (!rank.has(e.source) || !rank.has(e.target)) continue;
    indeg.set(e.target, indeg.get(e.target)! + 1);
    next.set(e.source, [...(next.get(e.source) ?? []), e.target]);
  }
  const ready = ids.filter((id) => indeg.get(id) === 0);
  const order: string[] = [];
  while (ready.length) {
    ready.sort((a, b) => rank.get(a)! - rank.get(b)!);
    const n = ready.shift()!;
    order.push(n);
    for (const m of next.get(n) ?? []) {
      indeg.set(m, indeg.get(m)! - 1);
      if (indeg.get(m) === 0) ready.push(m);
    }
  }
  const done = new Set(order);
  return { order, cycle: ids.filter((id) => !done.has(id)) };
}

/** A URL safe to put in `src`/`href`: data: images, http(s), relative; never `javascript:`. */
export function safeUrl(url: unknown, kind: 'image' | 'link' = 'link'): string | undefined {
  if (typeof url !== 'string') return undefined;
  const u = url.trim();
  if (/^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$/i.test(u)) return u;
  if (kind === 'image' && /^data:/i.test(u)) return undefined;  // e.g. data:image/svg+xml (scripts)
  if (/^(https?:|\/|\.\/|#)/i.test(u)) return u;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(u)) return u;  // relative
  return undefined;
}

// -- the palette's MCP group (llmos_jupyter/_mcp/palette.py) --------------------------------

/** The skill a palette MCP entry adds, prefilled with `{server, tool, arguments}`. */
export const MCP_TOOL_SKILL = 'mcp-tool';

/** What the palette shows of one tool (`McpPaletteTool` of the contract). Every text field
 * comes from the MCP server: untrusted, rendered as text only. */
export interface McpToolEntry {
  name: string;
  title: string;
  description: string;
  arguments: { name: string; type: string; required: boolean; description: string; default?: unknown; enum?: string[] }[];
  more_arguments: number;
  params: { server: string; tool: string; arguments: Record<string, unknown> };
}

/** A server's entry of the `mcp_tools` trait (`McpToolsState`). */
export interface McpToolsState { status: 'loading' | 'ok' | 'error'; tools: McpToolEntry[]; error: string | null }

/** A configured server (`McpServerInfo`). */
export interface McpServerInfo { name: string; label: string; kind: string; error: string | null }

/** One line per argument for a tooltip: `name?: type = default — description`. */
export function mcpArgumentLines(tool: McpToolEntry): string[] {
  const lines = tool.arguments.map((a) => {
    const def = a.default !== undefined ? ` = ${JSON.stringify(a.default)}` : '';
    const choices = a.enum?.length ? ` (one of ${a.enum.join(', ')})` : '';
    return `${a.name}${a.required ? '' : '?'}: ${a.type}${def}${choices}${a.description ? ` — ${a.description}` : ''}`;
  });
  if (tool.more_arguments > 0) lines.push(`… and ${tool.more_arguments} more`);
  return lines;
}

/** Does `query` (lowercase, trimmed; '' matches all) match the tool's name, title or description? */
export function mcpToolMatches(tool: McpToolEntry, query: string): boolean {
  return !query || `${tool.name} ${tool.title} ${tool.description}`.toLowerCase().includes(query);
}

/**
 * `wf` with one more node of `skill` at `position`, its params set (a params value of
 * `{}`, null or undefined is left out, as the side panel's setParam does). The node's id
 * comes from `idHint` (e.g. `mcp-<tool>`, cut to the node-id grammar), made unique; a
 * position within 40 px of a node moves down-right in 40 px steps until free.
 */
export function workflowWithNode(wf: WorkflowJSON | null | undefined, skill: string,
  params: Record<string, unknown>, position: { x: number; y: number }, idHint?: string):
  { workflow: WorkflowJSON; id: string } {
  const doc = docFromWorkflow(wf);
  let hint = (idHint ?? skill).replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+/, '').slice(0, 60);
  if (!hint) hint = skill;
  const id = uniqueNodeId(doc, hint);
  // Not on top of a node already there (two entries added in a row stay apart).
  let { x, y } = position;
  for (let i = 0; i < 50 && doc.nodes.some((n) => Math.abs(n.position.x - x) < 40 && Math.abs(n.position.y - y) < 40); i++) {
    x += 40;
    y += 40;
  }
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) continue;
    kept[k] = v;
  }
  const node: WfNode = {
    id, type: 'skill', position: { x: Math.round(x), y: Math.round(y) }, data: { skill, params: kept },
  };
  return { workflow: workflowFromDoc({ ...doc, nodes: [...doc.nodes, node] }), id };
}
