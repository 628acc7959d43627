/**
 * Control flow as the canvas draws it: which nodes are control nodes (system skills of
 * category `control`: condition, switch, merge, map, loop, delay, subworkflow), why a
 * node was skipped (an untaken branch is not a failure), which wires carried nothing,
 * and a `map` node's progress. Pure functions (no React, no DOM): test/control.test.ts.
 */
import type { SkillSummary, StatusInfo, WfEdge } from './types';

/** The category the engine's control nodes declare in their frontmatter. */
export const CONTROL_CATEGORY = 'control';

/** Whether `skill` is a control node (drawn with its own shape, colour and icon). */
export function isControl(skill: Pick<SkillSummary, 'category'> | undefined | null): boolean {
  return skill?.category === CONTROL_CATEGORY;
}

/**
 * An icon per control skill, as SVG path data in a 16×16 box (stroked with the control
 * colour; drawn as SVG so it looks the same whatever fonts the machine has). Unknown
 * control skills get the generic one. Decorative: the skill's name is the accessible text.
 */
const CONTROL_ICONS: Record<string, string> = {
  condition: 'M8 1.5 14.5 8 8 14.5 1.5 8Z',                          // a decision diamond
  switch: 'M1.5 8H6M6 8 13 3M6 8H13M6 8 13 13M11 2.5 13 3 12.5 5M11 13.5 13 13 12.5 11',  // one in, many out
  merge: 'M2 3 8 8M2 13 8 8M2 8H14M12 6 14 8 12 10',                 // many in, one out
  map: 'M2 6H10V14H2ZM5 6V3H13V11H10',                                // the same box, stacked
  loop: 'M13 8A5 5 0 1 1 11.5 4.5M11.5 1.5V4.5H14.5',                 // a circular arrow
  delay: 'M8 2A6 6 0 1 0 8.01 2ZM8 4.5V8L10.5 9.5',                   // a clock
  subworkflow: 'M1.5 2.5H14.5V13.5H1.5ZM4 6H7V10H4ZM9 6H12V10H9ZM7 8H9',  // a graph in a box
};
export const CONTROL_ICON_DEFAULT = 'M8 3 13 8 8 13 3 8Z';

/** The SVG path data of `skillId`'s icon (see `CONTROL_ICONS`). */
export function controlIcon(skillId: string): string {
  return CONTROL_ICONS[skillId] ?? CONTROL_ICON_DEFAULT;
}

// -- skipped nodes ----------------------------------------------------------------------

/**
 * Why a node was skipped, from the `node_skipped` event's `error` (the engine's reason):
 *  - `branch`: a control node did not take the branch it depends on (`branch not taken`);
 *    the expected outcome of a condition, never a failure;
 *  - `upstream-failed`: a node it needs failed (`upstream node 'x' failed`);
 *  - `cancelled`: the run was cancelled (`run cancelled`, `upstream node 'x' was cancelled`);
 *  - `other`: anything else (e.g. `upstream node 'x' did not run`).
 */
export type SkipKind = 'branch' | 'upstream-failed' | 'cancelled' | 'other';

export function skipKind(reason: string | undefined | null): SkipKind {
  // Quoted parts are names (`upstream node 'error-check' did not run`), not the reason.
  const r = (reason ?? '').toLowerCase().replace(/'[^']*'|"[^"]*"/g, "''");
  if (/branch not taken|not taken/.test(r)) return 'branch';
  if (/cancel/.test(r)) return 'cancelled';
  if (/fail|error|raised|timed out|timeout/.test(r)) return 'upstream-failed';
  return 'other';
}

/** The short label a skipped node shows (the full reason is in its tooltip). */
export const SKIP_LABELS: Record<SkipKind, string> = {
  branch: 'branch not taken',
  'upstream-failed': 'upstream failed',
  cancelled: 'cancelled',
  other: 'not run',
};

/** Longest reason shown on a node (the whole one is in its tooltip and the side panel). */
export const SKIP_TEXT_MAX = 90;

/**
 * `{kind, label, reason, text}` for a skipped status entry, or null when it is not
 * skipped. `text` is what the node shows: the reason, prefixed with the kind's label when
 * the reason does not say it already, cut to `SKIP_TEXT_MAX` characters.
 */
export function skipInfo(info: StatusInfo | undefined):
  { kind: SkipKind; label: string; reason: string; text: string } | null {
  if (info?.status !== 'skipped') return null;
  const reason = typeof info.error === 'string' && info.error.trim() ? info.error.trim() : 'skipped';
  const kind = skipKind(reason);
  const label = SKIP_LABELS[kind];
  const full = reason.toLowerCase().includes(label) || reason === 'skipped' ? reason : `${label}: ${reason}`;
  const text = full.length > SKIP_TEXT_MAX ? `${full.slice(0, SKIP_TEXT_MAX - 1)}…` : full;
  return { kind, label, reason, text };
}

// -- wires that carried nothing ---------------------------------------------------------

/**
 * Whether a wire carried no value in the last run (drawn dashed and grey):
 *  - its source was skipped (nothing came out of it);
 *  - its source is a control node that ran and left this output empty: either the output
 *    is missing from the outputs it reported (`sourcePorts`, its previews' ports, when
 *    known), or the target was skipped because its branch was not taken.
 * A wire into a node skipped because something *failed* is left as it is: the failure,
 * not the wire, is what the user must see.
 */
export function edgeInactive(edge: Pick<WfEdge, 'source' | 'target' | 'sourceHandle'>,
  statuses: Record<string, StatusInfo | undefined>, sourceIsControl: boolean,
  sourcePorts?: readonly string[] | null): boolean {
  const src = statuses[edge.source];
  if (src?.status === 'skipped') return true;
  if (!sourceIsControl || (src?.status !== 'completed' && src?.status !== 'cached')) return false;
  if (sourcePorts && sourcePorts.length && !sourcePorts.includes(edge.sourceHandle)) return true;
  const dst = statuses[edge.target];
  return dst?.status === 'skipped' && skipKind(dst.error) === 'branch';
}

// -- sub-workflows --------------------------------------------------------------------

/**
 * The Contents API path of the sub-workflow a control node runs (`map`, `loop`,
 * `subworkflow`: `data.params.workflow`, a path relative to the workflow file), from the
 * workflow document's path; null when it is not a relative path inside the server's root.
 */
export function subworkflowPath(docPath: string, rel: unknown): string | null {
  if (typeof rel !== 'string' || !rel.trim() || rel.startsWith('/') || rel.includes('\\') || /^[a-z][a-z0-9+.-]*:/i.test(rel)) {
    return null;
  }
  const parts = docPath.split('/').slice(0, -1);
  for (const part of rel.trim().split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!parts.length) return null;  // above the root: not ours to open
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.length ? parts.join('/') : null;
}

// -- map progress -----------------------------------------------------------------------

/**
 * A status entry as the canvas keeps it: the engine's status, and while a `map` (or
 * `loop`) runs, `done` of `total` from its `node_progress` events (the contract's
 * `StatusInfo`, which carries both).
 */
export type NodeState = StatusInfo;

/**
 * `{done, total, fraction, text}` of a node's progress when it reports one (integers,
 * 0 ≤ done ≤ total, total ≥ 1), else null: malformed numbers are never shown.
 */
export function progressOf(info: NodeState | undefined): { done: number; total: number; fraction: number; text: string } | null {
  if (!info) return null;
  const { done, total } = info;
  if (!Number.isInteger(done) || !Number.isInteger(total)) return null;
  if ((total as number) < 1 || (done as number) < 0 || (done as number) > (total as number)) return null;
  return { done: done!, total: total!, fraction: done! / total!, text: `${done} / ${total}` };
}
