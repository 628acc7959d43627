/**
 * Pure logic of the notebook's sidebar canvas (unit-tested in test/notebookCanvas.test.ts):
 * what a canvas edit changes in the cells, a node's status from its cell's outputs, and
 * which cells a run executes. The `%%skill` grammar itself is never parsed here: the
 * graph and the new cell sources come from Python (`llmos_jupyter._lab`), the one parser.
 */
import { topoOrder } from '../logic';
import type { Preview, StatusInfo, WfEdge, WfNode, WorkflowJSON } from '../types';

/** Mime type of a `%%skill` cell's result (`llmos_jupyter._notebook.display.NODE_MIME`). */
export const NODE_MIME = 'application/vnd.llmos.node+json';
/** Mime type of `%workflow import`'s cells (`llmos_jupyter._notebook.display.CELLS_MIME`). */
export const CELLS_MIME = 'application/vnd.llmos.cells+json';

/** The graph of a notebook (`llmos_jupyter._lab.notebook_graph_json`). */
export interface NotebookGraph {
  workflow: WorkflowJSON;
  /** node id → the id of its cell */
  cells: Record<string, string>;
  problems: { cell: string | null; node: string | null; message: string }[];
  /** node → {param: Python expression} (values only the kernel can evaluate) */
  expressions: Record<string, Record<string, string>>;
  /** What would stop a run (`validate`; unknown skills and expression inputs left out). */
  validation?: { code: string; message: string; node: string | null }[];
}

/** One cell rewrite for `llmos_jupyter._lab.rewrite_cells_json` (keyed by the old node id). */
export interface CellRewrite {
  node_id?: string;
  wires?: string[];
  params?: Record<string, unknown>;
  remove?: string[];
}

/** What a canvas edit (`before` → `after`) changes in the notebook's cells. */
export interface GraphEdit {
  /** node (new id) → its new position (metadata `llmos.position`) */
  moved: Record<string, { x: number; y: number }>;
  /** nodes whose cells are deleted */
  removed: string[];
  /** nodes that need a new `%%skill` cell */
  added: WfNode[];
  /** old node id → rewrite of its cell */
  rewrites: Record<string, CellRewrite>;
  /** old id → new id */
  renamed: Record<string, string>;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** `PORT=NODE.PORT` of the edges into `node`, in `edges` order. */
export function wiresInto(edges: WfEdge[], node: string): string[] {
  return edges.filter((e) => e.target === node).map((e) => `${e.targetHandle}=${e.source}.${e.sourceHandle}`);
}

/**
 * The cell changes of one canvas edit. A node that disappears while one of the same
 * skill appears at the same position is a rename (the canvas' rename keeps the place);
 * wires are compared after renaming, so the cells downstream of a renamed node are
 * rewritten too. Wires keep the order they had in the cell; new ones come last.
 */
export function diffGraphs(before: WorkflowJSON, after: WorkflowJSON): GraphEdit {
  const old = new Map(before.nodes.map((n) => [n.id, n]));
  const now = new Map(after.nodes.map((n) => [n.id, n]));
  let removed = before.nodes.filter((n) => !now.has(n.id));
  let added = after.nodes.filter((n) => !old.has(n.id));
  const renamed: Record<string, string> = {};
  for (const r of removed) {
    const twin = added.find((a) => a.data.skill === r.data.skill && same(a.position, r.position));
    if (twin) renamed[r.id] = twin.id;
  }
  const newIds = new Set(Object.values(renamed));
  removed = removed.filter((n) => !(n.id in renamed));
  added = added.filter((n) => !newIds.has(n.id));
  const oldIdOf = new Map(Object.entries(renamed).map(([o, n]) => [n, o]));
  const rename = (id: string) => renamed[id] ?? id;

  const moved: Record<string, { x: number; y: number }> = {};
  const rewrites: Record<string, CellRewrite> = {};
  for (const n of after.nodes) {
    const oldId = oldIdOf.get(n.id) ?? n.id;
    const prev = old.get(oldId);
    if (!prev) continue;
    if (!same(prev.position, n.position)) moved[n.id] = { ...n.position };
    const rw: CellRewrite = {};
    if (oldId !== n.id) rw.node_id = n.id;
    const orig = wiresInto(before.edges, oldId);
    const was = orig.map((w) => {
      const [port, src] = w.split('=');
      const dot = src.lastIndexOf('.');
      return `${port}=${rename(src.slice(0, dot))}${src.slice(dot)}`;
    });
    const is = wiresInto(after.edges, n.id);
    const next = [...was.filter((w) => is.includes(w)), ...is.filter((w) => !was.includes(w))];
    if (!same(next, orig)) rw.wires = next;
    const p0 = prev.data.params ?? {};
    const p1 = n.data.params ?? {};
    const params: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(p1)) if (!(k in p0) || !same(p0[k], v)) params[k] = v;
    const remove = Object.keys(p0).filter((k) => !(k in p1));
    if (Object.keys(params).length) rw.params = params;
    if (remove.length) rw.remove = remove;
    if (Object.keys(rw).length) rewrites[oldId] = rw;
  }
  return { moved, removed: removed.map((n) => n.id), added, rewrites, renamed };
}

/** A notebook output as nbformat stores it (the parts read here). */
export interface CellOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}

const text = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : t ?? '');

/**
 * A node's status and previews from its cell's outputs: the `%%skill` display's node
 * bundle when there is one; else an error output or the magic's message on stderr
 * means `failed`; no output means the cell has not run (null).
 */
export function nodeResultFromOutputs(outputs: CellOutput[]):
  { status: StatusInfo; previews: Record<string, Preview> } | null {
  for (const o of outputs) {
    const node = o.data?.[NODE_MIME] as
      { status?: string; elapsed_ms?: number; error?: string; previews?: Record<string, Preview> } | undefined;
    if (node?.status) {
      const status: StatusInfo = { status: node.status as StatusInfo['status'] };
      if (node.status === 'completed' && node.elapsed_ms !== undefined) status.elapsed_ms = node.elapsed_ms;
      if (node.error) status.error = node.error;
      return { status, previews: node.previews ?? {} };
    }
  }
  const err = outputs.find((o) => o.output_type === 'error');
  if (err) return { status: { status: 'failed', error: `${err.ename}: ${err.evalue}` }, previews: {} };
  const stderr = outputs.filter((o) => o.output_type === 'stream' && o.name === 'stderr')
    .map((o) => text(o.text)).join('').trim();
  if (stderr) return { status: { status: 'failed', error: stderr.split('\n')[0] }, previews: {} };
  return null;
}

/**
 * The nodes a canvas run executes, as their cells must run: `run` all of them;
 * `run-node` the node and what it needs; `run-downstream` also what depends on it (and
 * what those need), so that the kernel has seen every cell a node reads.
 */
export function nodesToRun(wf: WorkflowJSON, action: string, node?: string): Set<string> {
  if (action === 'run' || !node) return new Set(wf.nodes.map((n) => n.id));
  const up = new Map<string, string[]>();
  const down = new Map<string, string[]>();
  for (const e of wf.edges) {
    up.set(e.target, [...(up.get(e.target) ?? []), e.source]);
    down.set(e.source, [...(down.get(e.source) ?? []), e.target]);
  }
  const closure = (start: string[], next: Map<string, string[]>) => {
    const seen = new Set<string>();
    const stack = [...start];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(next.get(n) ?? []));
    }
    return seen;
  };
  const targets = action === 'run-downstream' ? [...closure([node], down)] : [node];
  return closure(targets, up);
}

/** A notebook cell as nbformat JSON has it (the fields the graph reads). */
export interface SlimCellSource {
  cell_type?: string; id?: string; source?: string | string[]; metadata?: { llmos?: unknown; [k: string]: unknown };
  [k: string]: unknown;
}

/** The parts of a notebook the graph needs: code cells' id, source, `metadata.llmos`. */
export function slimNotebook(nb: { cells?: SlimCellSource[]; metadata?: { llmos?: unknown; [k: string]: unknown } }):
  Record<string, unknown> {
  const cells = (nb.cells ?? []).filter((c) => c.cell_type === 'code').map((c) => ({
    cell_type: 'code',
    id: c.id,
    source: text(c.source),
    metadata: c.metadata?.llmos ? { llmos: c.metadata.llmos } : {},
  }));
  return { cells, metadata: nb.metadata?.llmos ? { llmos: nb.metadata.llmos } : {} };
}

/**
 * The order a run executes cells in: the nodes of `nodes` in dependency order (each
 * after the nodes it reads), ties in notebook order (`cellIndex`); `cycle` names the
 * nodes that cannot be ordered (the run is refused then).
 */
export function runOrder(wf: WorkflowJSON, nodes: Set<string>, cellIndex: (node: string) => number):
  { order: string[]; cycle: string[] } {
  const ids = [...nodes].sort((a, b) => cellIndex(a) - cellIndex(b));
  const inRun = wf.edges.filter((e) => nodes.has(e.source) && nodes.has(e.target));
  const seen = new Set<string>();
  const edges = inRun.filter((e) => {
    const k = `${e.source}>${e.target}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return topoOrder(ids, edges);
}
