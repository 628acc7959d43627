/**
 * Pure logic of the Agent System document (unit-tested in test/agents.test.ts): the shapes
 * `llmos_jupyter._lab.agent_system_graph_json` / `run_agent_system_json` reply with, the
 * live state a run's events build, and the graph as the view draws it (the file's actors
 * plus those spawned at run time, edges labelled with message types and counts).
 * Every string here comes from a system file, an actor or a kernel: the view renders it
 * as React text, never as HTML.
 */
import type {
  AgentGraphEdge,
  AgentGraphNode as ContractGraphNode,
  AgentGraphReply,
  AgentProblem,
  AgentRunReply,
} from '../contract.gen';

export type { AgentGraphEdge, AgentProblem, AgentRunReply };


/** The command that opens a file (the `path` argument, else the file browser's selection) as an Agent System. */
export const OPEN_AGENT_SYSTEM = 'llmos:open-agent-system';
/** The widget factory's name (Open With → Agent System). */
export const AGENTS_FACTORY = 'Agent System';
/** The file type that opens as an Agent System by default (`*.agents.toml`). */
export const AGENTS_FILE_TYPE = 'llmos-agent-system';
/** The generic TOML file type (registered only when JupyterLab has none). */
export const TOML_FILE_TYPE = 'toml';

/** A React Flow node as `system_graph` gives it (the contract's, its `data` spelled out). */
export interface AgentGraphNode extends Omit<ContractGraphNode, 'data'> {
  data: {
    scope?: string;
    strategy?: string;
    actors?: number;
    skill?: string;
    name?: string;
    subscribes?: string[];
    config?: Record<string, unknown>;
    /** Set by `viewGraph`: spawned at run time (not in the file). */
    dynamic?: boolean;
  };
}

export interface AgentGraph {
  nodes: AgentGraphNode[];
  edges: AgentGraphEdge[];
}

/** What `agent_system_graph_json` returns, its nodes typed as above. */
export type GraphReply = Omit<AgentGraphReply, 'graph'> & { graph: AgentGraph };

/** One line of the message log: a delivered message (live event or final log entry). */
export interface LogEntry {
  id: string;
  type: string;
  sender: string;
  receiver: string;
  scope?: string;
  status: string;
  reply_to?: string | null;
  /** The payload as JSON text, cut short. */
  preview: string;
}

/** An actor's live counters and status. */
export interface ActorState {
  id: string;
  skill?: string;
  scope?: string;
  status: string;
  restarts: number;
  handled: number;
  failed: number;
}

/** A live event as the kernel prints it (`_lab._agent_event`). */
export interface AgentEvent {
  kind: string;
  [key: string]: unknown;
}

/** The live state of a run. */
export interface RunState {
  actors: Record<string, ActorState>;
  log: LogEntry[];
  /** Messages that arrived as live events (the final log replaces `log`, not this). */
  live: number;
}

export const EMPTY_RUN: RunState = { actors: {}, log: [], live: 0 };

/** The log keeps this many entries (the newest); a long run must not grow the page without bound. */
export const LOG_LIMIT = 5000;
/** Payload previews are cut to this many characters. */
export const PREVIEW_CHARS = 240;

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : v == null ? fallback : String(v));
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** `value` as compact JSON text, cut to `PREVIEW_CHARS` (`…` marks the cut). */
export function previewOf(value: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? 'null';
  } catch {
    s = String(value);
  }
  return s.length <= PREVIEW_CHARS ? s : `${s.slice(0, PREVIEW_CHARS - 1)}…`;
}

function actor(state: RunState, id: string): ActorState {
  return state.actors[id] ?? { id, status: 'starting', restarts: 0, handled: 0, failed: 0 };
}

function pushLog(log: LogEntry[], e: LogEntry): LogEntry[] {
  const next = log.length >= LOG_LIMIT ? log.slice(log.length - LOG_LIMIT + 1) : log.slice();
  next.push(e);
  return next;
}

/**
 * The run state after one live event: `agent-message` appends to the log and counts the
 * message on its receiver (`handled` counts failed handler calls too, as the runtime
 * does); `agent-actor` sets the actor's status and restarts, and its `handled` counter
 * when the runtime's is ahead. Other kinds leave the state as is.
 */
export function applyAgentEvent(state: RunState, e: AgentEvent): RunState {
  if (e.kind === 'agent-message') {
    const entry: LogEntry = {
      id: str(e.id), type: str(e.type), sender: str(e.sender), receiver: str(e.receiver),
      scope: str(e.scope), status: str(e.status, 'handled'), reply_to: e.reply_to == null ? null : str(e.reply_to),
      preview: str(e.payload_preview),
    };
    const a = actor(state, entry.receiver);
    const counted = entry.status === 'handled' || entry.status === 'failed';
    return {
      live: state.live + 1,
      log: pushLog(state.log, entry),
      actors: {
        ...state.actors,
        [entry.receiver]: {
          ...a, scope: a.scope ?? entry.scope,
          handled: a.handled + (counted ? 1 : 0), failed: a.failed + (entry.status === 'failed' ? 1 : 0),
        },
      },
    };
  }
  if (e.kind === 'agent-actor') {
    const id = str(e.id);
    const a = actor(state, id);
    return {
      ...state,
      actors: {
        ...state.actors,
        [id]: {
          ...a, skill: str(e.skill, a.skill), scope: str(e.scope, a.scope), status: str(e.status, a.status),
          restarts: Math.max(a.restarts, num(e.restarts)), handled: Math.max(a.handled, num(e.handled)),
        },
      },
    };
  }
  return state;
}

/** A final message log entry (`RunOutcome.messages[i]`) as a log line. */
export function logEntryOf(m: Record<string, unknown>): LogEntry {
  return {
    id: str(m.id), type: str(m.type), sender: str(m.sender), receiver: str(m.receiver),
    scope: str(m.scope), status: str(m.status), reply_to: m.reply_to == null ? null : str(m.reply_to),
    preview: previewOf(m.payload),
  };
}

/**
 * The run state the final reply gives: its message log and actors are the runtime's own
 * record, so they replace what the live events built (keeping the live count).
 */
export function finalState(state: RunState, r: AgentRunReply): RunState {
  const actors: Record<string, ActorState> = { ...state.actors };
  for (const [id, a] of Object.entries(r.actors ?? {})) {
    const prev = actor(state, id);
    actors[id] = {
      ...prev, skill: typeof a.skill === 'string' ? a.skill : prev.skill,
      scope: typeof a.scope === 'string' ? a.scope : prev.scope, status: str(a.status, prev.status),
      restarts: num(a.restarts), handled: num(a.handled),
    };
  }
  const messages = r.messages ?? [];
  return { live: state.live, actors, log: messages.slice(-LOG_LIMIT).map(logEntryOf) };
}

/** The key of a (sender, receiver, message type) triple (ids may hold any character). */
export function routeKey(sender: string, receiver: string, type: string): string {
  return JSON.stringify([sender, receiver, type]);
}

/** Messages in the log per route (`routeKey`). */
export function edgeCounts(log: LogEntry[]): Map<string, { sender: string; receiver: string; type: string; count: number }> {
  const counts = new Map<string, { sender: string; receiver: string; type: string; count: number }>();
  for (const e of log) {
    const k = routeKey(e.sender, e.receiver, e.type);
    const c = counts.get(k);
    if (c) c.count++;
    else counts.set(k, { sender: e.sender, receiver: e.receiver, type: e.type, count: 1 });
  }
  return counts;
}

const ACTOR_W = 220;
const ROW_H = 120;  // as graph.py: room between stacked actors for curved edges and labels
const PAD = 20;
const HEAD = 36;
/** Boxes of scopes made at run time go in a grid of this many columns, below the file's. */
const GRID_COLS = 3;

type ViewEdge = AgentGraphEdge & { observed?: boolean; count: number };

/**
 * The graph the view draws: the file's graph, plus a node for each actor of the run
 * that the file does not name (spawned at run time): in a new column of its scope's box
 * when the file has that scope, else in a box of its own; those boxes go in a grid below
 * the file's boxes. Plus a dashed edge for each (sender, receiver, type) seen in the log
 * that no static edge covers. Edge labels carry the message type and, once messages
 * flowed, their count (`ping ×3`). The file's graph is not changed.
 */
export function viewGraph(g: AgentGraph, run: RunState): { nodes: AgentGraphNode[]; edges: ViewEdge[] } {
  const nodes: AgentGraphNode[] = g.nodes.map((n) => ({ ...n, style: n.style ? { ...n.style } : undefined }));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const extra = Object.values(run.actors).filter((a) => !byId.has(a.id) && a.id !== 'system');
  const bottom = Math.max(0, ...nodes.filter((n) => !n.parentId)
    .map((n) => n.position.y + (n.style?.height ?? ROW_H)));
  const columns = new Map<string, { x: number; rows: number }>();
  const fresh: AgentGraphNode[] = [];
  for (const a of extra) {
    const scope = a.scope || '000000';
    let group = byId.get(`scope:${scope}`);
    if (!group) {
      group = {
        id: `scope:${scope}`, type: 'scope', position: { x: 0, y: 0 },
        style: { width: ACTOR_W + 2 * PAD, height: HEAD + PAD }, data: { scope, actors: 0, dynamic: true },
      };
      nodes.push(group);
      byId.set(group.id, group);
      fresh.push(group);
      columns.set(scope, { x: PAD, rows: 0 });
    }
    const style = group.style ?? { width: ACTOR_W + 2 * PAD, height: HEAD + PAD };
    // In a box of the file, spawned actors get a column of their own at its right.
    let col = columns.get(scope);
    if (!col) {
      col = { x: style.width, rows: 0 };
      columns.set(scope, col);
      style.width += ACTOR_W + PAD;
    }
    const k = col.rows++;
    style.height = Math.max(style.height, HEAD + (k + 1) * ROW_H + PAD);
    group.style = style;
    const node: AgentGraphNode = {
      id: a.id, type: 'actor', parentId: group.id, extent: 'parent',
      position: { x: col.x, y: HEAD + k * ROW_H }, data: { skill: a.skill, name: a.skill, scope, dynamic: true },
    };
    nodes.push(node);
    byId.set(node.id, node);
  }
  // The new boxes in a grid, row by row, each row as tall as its tallest box.
  let y = bottom + 2 * PAD;
  for (let i = 0; i < fresh.length; i += GRID_COLS) {
    const row = fresh.slice(i, i + GRID_COLS);
    let x = 0;
    for (const box of row) {
      box.position = { x, y };
      x += (box.style?.width ?? ACTOR_W) + 2 * PAD;
    }
    y += Math.max(...row.map((b) => b.style?.height ?? ROW_H)) + 2 * PAD;
  }
  const counts = edgeCounts(run.log);
  const edges: ViewEdge[] = g.edges.map((e) => ({
    ...e, count: counts.get(routeKey(e.source, e.target, e.label))?.count ?? 0,
  }));
  const known = new Set(g.edges.map((e) => routeKey(e.source, e.target, e.label)));
  for (const [k, c] of counts) {
    if (known.has(k)) continue;
    const sn = byId.get(c.sender);
    const tn = byId.get(c.receiver);
    if (!sn || !tn || sn.type !== 'actor' || tn.type !== 'actor' || c.sender === c.receiver) continue;
    edges.push({ id: `observed:${k}`, source: c.sender, target: c.receiver, label: c.type, observed: true, count: c.count });
  }
  return { nodes, edges };
}

/** An edge's label: the message type, with its count once messages flowed. */
export function edgeLabel(label: string, count: number): string {
  return count ? `${label} ×${count}` : label;
}

/** `line 3: actors[2] (pong).skill: no skill 'nope'` (a problem as one line of text). */
export function problemText(p: AgentProblem): string {
  return `${p.line ? `line ${p.line}: ` : ''}${p.where}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

/**
 * The run's input: `''` (no input: `null`) or JSON text. Returns the error of text that
 * is not JSON (shown before anything is sent to the kernel), else null.
 */
export function inputError(text: string): string | null {
  if (!text.trim()) return null;
  try {
    JSON.parse(text);
    return null;
  } catch (e) {
    return `the input is not JSON: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** A node's box in flow coordinates (absolute position, measured size). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where the ray from `b`'s centre towards `p` leaves the box. */
function border(b: Box, p: { x: number; y: number }): { x: number; y: number } {
  const cx = b.x + b.width / 2;
  const cy = b.y + b.height / 2;
  const dx = p.x - cx;
  const dy = p.y - cy;
  if (!dx && !dy) return { x: cx, y: cy };
  const t = Math.min(dx ? b.width / 2 / Math.abs(dx) : Infinity, dy ? b.height / 2 / Math.abs(dy) : Infinity);
  return { x: cx + dx * Math.min(t, 1), y: cy + dy * Math.min(t, 1) };
}

/**
 * An edge between two actor boxes as a quadratic curve bowed `bend` pixels to the left
 * of its direction, from border to border: the two directions of a pair (ping → pong,
 * pong → ping) bow to opposite sides, so neither the curves nor their labels overlap.
 * Returns the SVG path and the label's place (the curve's midpoint).
 */
export function curvedEdge(a: Box, b: Box, bend = 80): { path: string; labelX: number; labelY: number } {
  const ca = { x: a.x + a.width / 2, y: a.y + a.height / 2 };
  const cb = { x: b.x + b.width / 2, y: b.y + b.height / 2 };
  const dx = cb.x - ca.x;
  const dy = cb.y - ca.y;
  const len = Math.hypot(dx, dy) || 1;
  const c = { x: (ca.x + cb.x) / 2 + (dy / len) * bend, y: (ca.y + cb.y) / 2 - (dx / len) * bend };
  const s = border(a, c);
  const e = border(b, c);
  const r = (v: number) => Math.round(v * 10) / 10;
  return {
    path: `M ${r(s.x)},${r(s.y)} Q ${r(c.x)},${r(c.y)} ${r(e.x)},${r(e.y)}`,
    labelX: r(0.25 * s.x + 0.5 * c.x + 0.25 * e.x),
    labelY: r(0.25 * s.y + 0.5 * c.y + 0.25 * e.y),
  };
}
