/**
 * A canvas' state small enough to keep in the notebook: what a reopened notebook shows
 * (as a read-only canvas) when the widget's model is gone with its kernel. Saved into
 * the cell's `metadata.llmos.canvas_snapshot` by the JupyterLab extension when the
 * notebook is saved (`src/lab/snapshot.tsx`).
 */
import type { WidgetModel } from './model';
import type { Preview, SkillSummary, WorkflowJSON } from './types';

export interface CanvasSnapshot {
  workflow: WorkflowJSON;
  skills: SkillSummary[];
  statuses: Record<string, unknown>;
  previews: Record<string, Record<string, Preview>>;
  message: string;
  height: number | string;
  /** Per node, the ports its parameters give (a switch's cases): wires need them. */
  node_ports?: Record<string, unknown>;
}

/** Largest preview kept (characters of JSON): a plot stays, a 4 MB scene does not. */
const MAX_PREVIEW = 300_000;
const MAX_TOTAL = 2_000_000;

/** The snapshot of a live canvas model: the skills its nodes use, previews capped. */
export function snapshotOf(model: WidgetModel): CanvasSnapshot {
  const workflow = (model.get('workflow') ?? { nodes: [], edges: [] }) as WorkflowJSON;
  const used = new Set(workflow.nodes.map((n) => n.data.skill));
  const skills = ((model.get('skills') ?? []) as SkillSummary[]).filter((s) => used.has(s.id));
  const previews: Record<string, Record<string, Preview>> = {};
  let total = 0;
  for (const [node, ports] of Object.entries((model.get('previews') ?? {}) as Record<string, Record<string, Preview>>)) {
    for (const [port, pv] of Object.entries(ports)) {
      if (pv.kind === 'scene') continue;  // a live 3D view needs the page; its size is unbounded
      const size = JSON.stringify(pv).length;
      if (size > MAX_PREVIEW || total + size > MAX_TOTAL) continue;
      total += size;
      (previews[node] ??= {})[port] = pv;
    }
  }
  const height = model.get('height');
  return { workflow, skills, statuses: (model.get('statuses') ?? {}) as Record<string, unknown>, previews,
    message: String(model.get('message') ?? ''), height: typeof height === 'number' || typeof height === 'string' ? height : 600,
    node_ports: (model.get('node_ports') ?? {}) as Record<string, unknown> };
}

/** The property of a canvas widget's host element that returns its snapshot. */
export const SNAPSHOT_PROP = '__llmosCanvasSnapshot';
