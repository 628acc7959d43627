/** Pure logic of the JupyterLab plugins (unit-tested in test/lab.test.ts). */
import { CONTROL_CATEGORY, type NodeState } from '../control';
import type { NodeStatus, Port, SkillSummary } from '../types';

/** A skill as the library kernel lists it (`llmos_jupyter._lab.skills_json`). */
export interface LibrarySkill extends SkillSummary {
  volume?: string | null;
  /** The volumes whose skill of the same id this one shadows (empty when none). */
  overrides?: string[];
}

/** One trace notebook (`llmos_jupyter._lab.runs_json`). */
export interface RunInfo {
  path: string;
  name: string;
  run_id?: string;
  /** The workflow's name (else its id). */
  workflow?: string;
  /** The workflow's id (what `stats_json` and `llmos stats --workflow` select by). */
  workflow_id?: string;
  status?: string;
  started_at?: string;
  duration_ms?: number;
  nodes?: Record<string, string>;
  params?: Record<string, Record<string, unknown>>;
  overrides?: Record<string, unknown>;
}

/** Skills whose id, name, description, category or tags contain every word of `query`. */
export function filterSkills<T extends LibrarySkill>(skills: T[], query: string): T[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return skills;
  return skills.filter((s) => {
    const hay = [s.id, s.name, s.description ?? '', s.category, ...(s.tags ?? []),
      ...s.inputs.map((p) => p.name), ...s.outputs.map((p) => p.name)].join(' ').toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** `[category, skills]` pairs, categories and skills sorted by name (control nodes first). */
export function groupByCategory<T extends LibrarySkill>(skills: T[]): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const s of skills) {
    const key = s.category || 'general';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(s);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => Number(b === CONTROL_CATEGORY) - Number(a === CONTROL_CATEGORY) || a.localeCompare(b))
    .map(([k, v]) => [k, [...v].sort((a, b) => a.id.localeCompare(b.id))]);
}

/** A port's type with its unit: `number [Hartree]`. */
export function portLabel(p: Port): string {
  return `${p.name}: ${p.type}${p.unit ? ` [${p.unit}]` : ''}`;
}

/** A Python identifier for a node of `skillId` not in `used`: `vqe`, `vqe_2`, … */
export function nodeIdFor(skillId: string, used: Iterable<string> = []): string {
  const last = skillId.split('/').pop() ?? skillId;
  let base = last.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '').toLowerCase() || 'node';
  if (/^[0-9]/.test(base)) base = `n_${base}`;
  const taken = new Set(used);
  if (!taken.has(base)) return base;
  let i = 2;
  while (taken.has(`${base}_${i}`)) i++;
  return `${base}_${i}`;
}

/** The node ids of the `%%skill` cells among `sources`. */
export function skillNodeIds(sources: string[]): string[] {
  const ids: string[] = [];
  for (const src of sources) {
    const m = /^\s*%%?skill\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(src);
    if (m && m[1] !== 'list' && m[1] !== 'show') ids.push(m[1]);
  }
  return ids;
}

function pyLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `float('${v}')`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${JSON.stringify(k)}: ${pyLiteral(x)}`).join(', ')}}`;
  }
  return JSON.stringify(String(v));
}

/**
 * The source of a `%%skill` cell that uses `skill`: inputs with a default become
 * assignments (`iterations = 100  # count`), the others `# TODO` comments to fill in or
 * wire with `--in PORT=NODE.PORT`.
 */
export function skillCellSource(skill: SkillSummary, nodeId: string): string {
  const lines = [`%%skill ${nodeId} --uses ${skill.id}`];
  for (const p of skill.inputs) {
    const note = [p.type, p.unit ? `[${p.unit}]` : '', p.description ?? '']
      .filter(Boolean).join(' ').replace(/\s+/g, ' ').slice(0, 90);
    if (p.default !== undefined) {
      lines.push(`${p.name} = ${pyLiteral(p.default)}  # ${note}`);
    } else {
      const req = p.required === false ? 'optional' : 'required';
      lines.push(`# TODO ${p.name} (${req}): ${note} — set \`${p.name} = ...\` or add --in ${p.name}=NODE.PORT`);
    }
  }
  return lines.join('\n');
}

/** Whether a notebook with these cell sources already loads the magics. */
export function loadsExtension(sources: string[]): boolean {
  return sources.some((s) => /%load_ext\s+llmos_jupyter\b/.test(s));
}

/** The kernelspec of the llmos kernel (the magics preloaded: no `%load_ext` needed). */
export const LLMOS_KERNEL = 'llmos';

/**
 * Whether a `%load_ext llmos_jupyter` cell must be added to a notebook that gets a
 * `%%skill` cell: not when it loads the magics already, nor when its kernel is the llmos
 * kernel (`kernelName`: the running kernel's name, else the notebook's kernelspec).
 */
export function needsLoadExt(sources: string[], kernelName: string | null | undefined): boolean {
  return kernelName !== LLMOS_KERNEL && !loadsExtension(sources);
}

/**
 * The kernel a notebook created by the extension should start: the llmos kernel when it
 * is installed, else `fallback` (the settings' kernel) when installed, else `null` (the
 * server's default).
 */
export function preferredNotebookKernel(specs: Iterable<string>, fallback: string): string | null {
  const names = new Set(specs);
  if (names.has(LLMOS_KERNEL)) return LLMOS_KERNEL;
  return names.has(fallback) ? fallback : null;
}

/** `1.2 s`, `340 ms`, `2 min 5 s`. */
export function formatDuration(ms?: number | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms - m * 60_000) / 1000)} s`;
}

/** `rc.resistance=1000, vqe.iterations=50` (the non-wired parameters of a run). */
export function paramsSummary(run: RunInfo, max = 6): string {
  const parts: string[] = [];
  for (const [node, kv] of Object.entries(run.params ?? {})) {
    for (const [k, v] of Object.entries(kv ?? {})) parts.push(`${node}.${k}=${JSON.stringify(v)}`);
  }
  return parts.length > max ? `${parts.slice(0, max).join(', ')}, …` : parts.join(', ');
}

/** A Python expression for the JSON value `a` (decoded in the kernel: never code). */
function pyJson(a: unknown): string {
  return `__import__('json').loads(${JSON.stringify(JSON.stringify(a))})`;
}

/** Keyword arguments of a `pythonCall` (wrap them so they are not taken as a positional). */
export class Kwargs {
  constructor(readonly values: Record<string, unknown>) {}
}

/**
 * Python source that prints one JSON line from `llmos_jupyter._lab.<fn>(*args)`; a last
 * argument that is a `Kwargs` becomes keyword arguments (names must be identifiers).
 */
export function pythonCall(fn: string, ...args: unknown[]): string {
  const last = args[args.length - 1];
  const kw = last instanceof Kwargs ? last.values : null;
  const positional = kw ? args.slice(0, -1) : args;
  const argv = positional.map(pyJson);
  for (const [k, v] of Object.entries(kw ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`not a keyword argument name: ${JSON.stringify(k)}`);
    argv.push(`${k}=${pyJson(v)}`);
  }
  return `import llmos_jupyter._lab as _llmos_lab\nprint(_llmos_lab.${fn}(${argv.join(', ')}))`;
}

/** A new, empty workflow document's text. */
export function emptyWorkflow(name = 'untitled'): string {
  return JSON.stringify({ id: name, name, nodes: [], edges: [] }, null, 2) + '\n';
}

// -- live runs ------------------------------------------------------------------------

/** Start of a stdout line with one engine event as JSON (`llmos_jupyter._lab.EVENT_PREFIX`). */
export const EVENT_PREFIX = '@llmos-event ';

/** An engine event as the kernel prints it (`Event.to_dict()` in Python). */
export interface EngineEvent {
  kind: string;
  node_id?: string;
  status?: string;
  duration_ms?: number;
  error?: string;
  nodes?: string[];
  /** `node_progress`: items finished so far and in all (a `map` node). */
  done?: number;
  total?: number;
  /** `node_log`: new stdout/stderr text of a running node (processes/dask executors). */
  text?: string;
  /** `run_started` on the dask executor: the cluster's dashboard URL. */
  dashboard?: string;
}

/** Splits a stream of stdout chunks into whole lines (a line may span chunks). */
export class LineSplitter {
  private rest = '';
  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split('\n');
    this.rest = parts.pop() ?? '';
    return parts;
  }
  flush(): string[] {
    const r = this.rest;
    this.rest = '';
    return r ? [r] : [];
  }
}

/**
 * The canvas' `statuses` after one engine event: the same mapping as the Canvas widget's
 * Python side (`run_started` queues its nodes, `node_started` → running, `node_finished`
 * → completed/cached with the time, failed/skipped keep the error).
 */
export function applyEvent(statuses: Record<string, NodeState>, e: EngineEvent): Record<string, NodeState> {
  if (e.kind === 'run_started') {
    const next = { ...statuses };
    for (const n of e.nodes ?? []) next[n] = { status: 'queued' };
    return next;
  }
  if (!e.node_id) return statuses;
  if (e.kind === 'node_progress') {
    // A running map's `done / total`: kept on its (running) entry until it finishes.
    const { done, total } = e;
    if (!Number.isInteger(done) || !Number.isInteger(total) || total! < 1 || done! < 0 || done! > total!) {
      return statuses;
    }
    const old = statuses[e.node_id];
    if (old && old.status !== 'running' && old.status !== 'queued') return statuses;  // late, after its end
    return { ...statuses, [e.node_id]: { ...(old ?? {}), status: 'running', done, total } };
  }
  let entry: NodeState;
  if (e.kind === 'node_started') entry = { status: 'running' };
  else if (e.kind === 'node_finished') entry = { status: (e.status as NodeStatus) || 'completed' };
  else if (e.kind === 'node_failed') entry = { status: 'failed' };
  else if (e.kind === 'node_skipped') entry = { status: 'skipped' };
  else return statuses;
  if (e.error) entry.error = e.error;
  if (typeof e.duration_ms === 'number') entry.elapsed_ms = Math.round(e.duration_ms * 10) / 10;
  return { ...statuses, [e.node_id]: entry };
}

// -- comparing runs -------------------------------------------------------------------

/** One row of two runs side by side (`llmos_jupyter._lab.compare_runs_json`). */
export interface CompareRow {
  node: string;
  kind: 'status' | 'param' | 'output';
  name: string;
  a: unknown;
  b: unknown;
  same: boolean;
}

export interface RunSummary {
  path: string;
  run_id?: string;
  status?: string;
  workflow?: string;
  started_at?: string;
  duration_ms?: number;
}

export interface Comparison { a: RunSummary; b: RunSummary; rows: CompareRow[] }

/** A compared value as short text: numbers to 6 significant digits, long JSON cut. */
export function formatCompared(v: unknown, max = 120): string {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The rows to show: all, or only the differing ones (`onlyDifferences`), grouped by node
 * in the order given. A node's status row is always kept so each group has a header.
 */
export function visibleRows(rows: CompareRow[], onlyDifferences: boolean): CompareRow[] {
  if (!onlyDifferences) return rows;
  const differing = new Set(rows.filter((r) => !r.same).map((r) => r.node));
  return rows.filter((r) => differing.has(r.node) && (r.kind === 'status' || !r.same));
}

// -- settings -------------------------------------------------------------------------

/** Where a document's run executes its nodes (`llmos run --executor`). */
export type ExecutorName = 'threads' | 'processes' | 'dask';
export const EXECUTORS: readonly ExecutorName[] = ['threads', 'processes', 'dask'];

/** The settings as the extension uses them; unset or invalid values get the defaults. */
export function readConfig(get: (key: string) => unknown): {
  kernel: string; llmosHome: string; layoutDirection: 'LR' | 'TB';
  executor: ExecutorName; daskScheduler: string;
} {
  const str = (v: unknown, d: string) => (typeof v === 'string' && v.trim() ? v.trim() : d);
  const dir = get('layoutDirection');
  const executor = get('executor');
  return {
    kernel: str(get('kernel'), 'python3'),
    llmosHome: str(get('llmosHome'), ''),
    layoutDirection: dir === 'TB' ? 'TB' : 'LR',
    executor: EXECUTORS.includes(executor as ExecutorName) ? executor as ExecutorName : 'threads',
    daskScheduler: str(get('daskScheduler'), ''),
  };
}

/**
 * The keyword arguments a document run sends with `run_workflow_json` for the executor
 * setting: none for the default (`threads`: the kernel's engine as it is, so a kernel
 * with an older llmos-jupyter still runs documents), else `executor`, plus `scheduler`
 * for `dask` with an address (a scheduler without dask means nothing).
 */
export function executorKwargs(c: { executor: ExecutorName; daskScheduler: string }): Record<string, string> {
  if (c.executor === 'threads') return {};
  const kw: Record<string, string> = { executor: c.executor };
  if (c.executor === 'dask' && c.daskScheduler) kw.scheduler = c.daskScheduler;
  return kw;
}
