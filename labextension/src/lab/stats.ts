/**
 * Run analytics of one workflow, as the run history shows them: what the library kernel's
 * `llmos_jupyter._lab.stats_json(workflow)` returns (the figures of `llmos stats --json`,
 * from the trace notebooks), read defensively: the reply is data from a kernel, so every
 * field is checked, numbers that are not finite are dropped, and every string stays text
 * (rendered by React as text, never as HTML). Pure: unit-tested in test/stats.test.ts.
 */

/** One node's figures over the runs. */
export interface NodeStats {
  node_id: string;
  skill_id: string;
  runs: number;
  p50_ms: number | null;
  p95_ms: number | null;
  failures: number;
}

/** One kind of failure: its error text, how often, at which nodes. */
export interface FailureGroup {
  error: string;
  count: number;
  nodes: string[];
}

export interface WorkflowStats {
  runs: number;
  /** 0..1 (null: no run to say). */
  success_rate: number | null;
  cache_hit_rate: number | null;
  nodes: NodeStats[];
  /** The bottlenecks: nodes by duration, slowest first. */
  slowest: NodeStats[];
  failures: FailureGroup[];
}

/** Longest error text kept (the run's trace has the whole traceback). */
export const ERROR_TEXT_MAX = 2000;
/** Most rows kept per list (a reply is never trusted to be small). */
export const ROWS_MAX = 500;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const count = (v: unknown): number => {
  const n = num(v);
  return n !== null && n >= 0 ? Math.round(n) : 0;
};
const text = (v: unknown, max = 300): string => {
  const s = typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

/** A rate as 0..1: a fraction as it is; 1 < x ≤ 100 read as a percentage; else null. */
export function rate(v: unknown): number | null {
  const n = num(v);
  if (n === null || n < 0) return null;
  if (n <= 1) return n;
  return n <= 100 ? n / 100 : null;
}

function nodeStats(raw: unknown): NodeStats | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  const id = text(r.node_id ?? r.node, 200);
  if (!id) return null;
  const ms = (v: unknown) => {
    const n = num(v);
    return n !== null && n >= 0 ? n : null;
  };
  return {
    node_id: id,
    skill_id: text(r.skill_id ?? r.skill, 200),
    runs: count(r.runs),
    p50_ms: ms(r.p50_ms),
    p95_ms: ms(r.p95_ms ?? r.max_ms ?? r.mean_ms),
    failures: count(r.failures),
  };
}

function list<T>(raw: unknown, one: (x: unknown) => T | null): T[] {
  if (!Array.isArray(raw)) return [];
  const out: T[] = [];
  for (const x of raw.slice(0, ROWS_MAX)) {
    const v = one(x);
    if (v !== null) out.push(v);
  }
  return out;
}

/**
 * The figures of a `stats_json` reply, checked (see the module's doc); `slowest` falls
 * back to the nodes by p95 when the reply has none. Throws when the reply is not an
 * object or says `error` (its text in the message).
 */
export function readStats(raw: unknown): WorkflowStats {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('the statistics reply is not an object');
  const r = raw as Record<string, unknown>;
  if (typeof r.error === 'string' && r.error) throw new Error(text(r.error, ERROR_TEXT_MAX));
  const nodes = list(r.nodes, nodeStats);
  const byId = new Map(nodes.map((n) => [n.node_id, n]));
  // `slowest` entries may be full node rows or just ids with a duration: fill them in.
  let slowest = list(r.slowest, (x) => {
    if (typeof x === 'string') return byId.get(x) ?? null;
    const s = nodeStats(x);
    if (!s) return null;
    const full = byId.get(s.node_id);
    return full ? { ...full, p50_ms: s.p50_ms ?? full.p50_ms, p95_ms: s.p95_ms ?? full.p95_ms } : s;
  });
  if (!slowest.length) {
    slowest = [...nodes].filter((n) => n.p95_ms !== null)
      .sort((a, b) => (b.p95_ms ?? 0) - (a.p95_ms ?? 0)).slice(0, 5);
  }
  const failures = list(r.failures, (x) => {
    if (!x || typeof x !== 'object' || Array.isArray(x)) return null;
    const f = x as Record<string, unknown>;
    const nodesOf = Array.isArray(f.nodes) ? f.nodes.slice(0, ROWS_MAX).map((n) => text(n, 200)).filter(Boolean) : [];
    return { error: text(f.error, ERROR_TEXT_MAX) || '(no message)', count: count(f.count), nodes: nodesOf };
  }).sort((a, b) => b.count - a.count);
  return {
    runs: count(r.runs),
    success_rate: rate(r.success_rate),
    cache_hit_rate: rate(r.cache_hit_rate),
    nodes,
    slowest,
    failures,
  };
}

/** `92 %`, `0.5 %`, `—` for unknown. */
export function formatRate(r: number | null): string {
  if (r === null) return '—';
  const pct = r * 100;
  return `${pct >= 10 || pct === 0 ? Math.round(pct) : pct.toFixed(1)} %`;
}

/**
 * The workflows the run history can show statistics for, most recently run first (runs
 * come newest first): each run's `workflow_id`, else its `workflow` (name or id).
 */
export function workflowsOf(runs: { workflow?: string; workflow_id?: string }[]): string[] {
  const seen = new Set<string>();
  for (const r of runs) {
    const w = r.workflow_id ?? r.workflow;
    if (typeof w === 'string' && w) seen.add(w);
  }
  return [...seen];
}
