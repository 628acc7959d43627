/**
 * Run analytics of one workflow, as the run history shows them: the report of
 * `llmos_jupyter._stats.stats_report(workflow=…)` (the object `llmos stats --json`
 * prints, from the trace notebooks; its fields are documented in that module), asked of
 * the library kernel (`STATS_CODE`). Read defensively: the reply is data from a kernel,
 * so every field is checked, numbers that are not finite are dropped, and every string
 * stays text (rendered by React as text, never as HTML). Pure: test/stats.test.ts.
 */

/**
 * Python for the library kernel: prints the report of the workflow `__WORKFLOW__` (a
 * JSON string literal substituted, decoded by `json.loads`: never code) as one line.
 */
export const STATS_CODE = `
import json as _json
from llmos_jupyter._stats import stats_report as _llmos_stats_report
print(_json.dumps(_llmos_stats_report(workflow=_json.loads(__WORKFLOW__)), default=str))
`;

/** The Python that reads `workflow`'s statistics (see `STATS_CODE`). */
export function statsCode(workflow: string): string {
  return STATS_CODE.replace('__WORKFLOW__', JSON.stringify(JSON.stringify(workflow)));
}

/** One node's figures over the runs. */
export interface NodeStats {
  node_id: string;
  skill_id: string;
  /** Times the node appears in a run. */
  runs: number;
  /** Durations of its executed runs (completed or failed), ms. */
  p50_ms: number | null;
  p95_ms: number | null;
  /** All its executed time, ms (what ranks the bottlenecks). */
  total_ms: number | null;
  /** Its fraction of all executed node time (bottlenecks only), 0..1. */
  share: number | null;
  failures: number;
  cache_hit_rate: number | null;
}

/** One kind of failure: its error text (numbers as `#`), an example, how often, where. */
export interface FailureGroup {
  error: string;
  example: string;
  count: number;
  nodes: string[];
}

export interface WorkflowStats {
  runs: number;
  /** 0..1 (null: no run to say). */
  success_rate: number | null;
  cache_hit_rate: number | null;
  nodes: NodeStats[];
  /** The bottlenecks: nodes by total executed time, slowest first. */
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
    p95_ms: ms(r.p95_ms),
    total_ms: ms(r.total_ms),
    share: rate(r.share),
    failures: count(r.failed ?? r.failures),
    cache_hit_rate: rate(r.cache_hit_rate),
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
 * The figures of a statistics report, checked (see the module's doc). `slowest` is the
 * report's `bottlenecks` (or `slowest`) completed from its node rows, else the nodes by
 * total time. Throws when the reply is not an object or says `error` / `problems`.
 */
export function readStats(raw: unknown): WorkflowStats {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('the statistics reply is not an object');
  const r = raw as Record<string, unknown>;
  if (typeof r.error === 'string' && r.error) throw new Error(text(r.error, ERROR_TEXT_MAX));
  if (Array.isArray(r.problems) && r.problems.length) {
    const p = r.problems[0] as Record<string, unknown> | null;
    throw new Error(text(p && typeof p === 'object' ? p.message : p, ERROR_TEXT_MAX));
  }
  const nodes = list(r.nodes, nodeStats);
  const byId = new Map(nodes.map((n) => [n.node_id, n]));
  // Bottleneck entries may be short (node, total, share) or bare ids: fill them in.
  let slowest = list(r.bottlenecks ?? r.slowest, (x) => {
    if (typeof x === 'string') return byId.get(x) ?? null;
    const s = nodeStats(x);
    if (!s) return null;
    const full = byId.get(s.node_id);
    return full ? { ...full, p95_ms: s.p95_ms ?? full.p95_ms, total_ms: s.total_ms ?? full.total_ms,
      share: s.share ?? full.share } : s;
  });
  if (!slowest.length) {
    slowest = [...nodes].filter((n) => n.total_ms !== null && n.total_ms > 0)
      .sort((a, b) => (b.total_ms ?? 0) - (a.total_ms ?? 0)).slice(0, 5);
  }
  const failures = list(r.failures, (x) => {
    if (!x || typeof x !== 'object' || Array.isArray(x)) return null;
    const f = x as Record<string, unknown>;
    const nodesOf = Array.isArray(f.nodes) ? f.nodes.slice(0, ROWS_MAX).map((n) => text(n, 200)).filter(Boolean) : [];
    const error = text(f.error, ERROR_TEXT_MAX) || '(no message)';
    return { error, example: text(f.example, ERROR_TEXT_MAX) || error, count: count(f.count), nodes: nodesOf };
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
