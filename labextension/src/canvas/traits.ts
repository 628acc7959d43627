/**
 * The host's traits the canvas reads, in one place: the anywidget (`llmos_jupyter.Canvas`),
 * a workflow document and the notebook graph set different subsets of them.
 */
import { dashboardHref } from '../nodeLog';
import { useTrait, type WidgetModel } from '../model';
import type { NodePorts, Preview, Problem, SkillSummary, StatusInfo } from '../types';

// One empty object for every render without logs: a new `{}` each time would re-render
// the side panel for nothing.
const NO_LOGS: Record<string, unknown> = {};

export interface CanvasTraits {
  skills: SkillSummary[];
  statuses: Record<string, StatusInfo>;
  previews: Record<string, Record<string, Preview>>;
  /** The host's problems (Python's `validate`, a JSON syntax error). */
  problems: Problem[];
  message: string;
  running: boolean;
  /** A safe http(s) link to the run's Dask dashboard, or ''. */
  dashboard: string;
  logs: Record<string, unknown>;
  executor: string | undefined;
  scheduler: string | undefined;
  canOpenFiles: boolean;
  layoutDirection: 'LR' | 'TB';
  nodePorts: Record<string, NodePorts> | undefined;
  expressions: Record<string, Record<string, string>> | undefined;
  validated: boolean | undefined;
  /** Selected node ids, when the host follows the selection (not the anywidget). */
  hostSelected: string[] | undefined;
}

/** Every trait the canvas renders from, as React state (re-renders on change). */
export function useCanvasTraits(model: WidgetModel): CanvasTraits {
  return {
    skills: useTrait<SkillSummary[]>(model, 'skills') ?? [],
    statuses: useTrait<Record<string, StatusInfo>>(model, 'statuses') ?? {},
    previews: useTrait<Record<string, Record<string, Preview>>>(model, 'previews') ?? {},
    problems: useTrait<Problem[]>(model, 'errors') ?? [],
    message: useTrait<string>(model, 'message') ?? '',
    running: useTrait<boolean>(model, 'running') ?? false,
    // The Dask dashboard of the run's cluster (executor="dask"), shown from the moment the
    // host knows it (the run's start) until the next run: only http(s) URLs become a link.
    dashboard: dashboardHref(useTrait<string>(model, 'dashboard'), window.location.origin),
    // The nodes' live output (`{node: NodeLog}`, from the engine's node_log events).
    logs: useTrait<Record<string, unknown> | undefined>(model, 'logs') ?? NO_LOGS,
    // Where the engine runs nodes (threads | processes | dask), when the host says: the
    // JupyterLab setting for documents; the Canvas widget's engine for the anywidget.
    executor: useTrait<string | undefined>(model, 'executor'),
    scheduler: useTrait<string | undefined>(model, 'scheduler'),
    canOpenFiles: useTrait<boolean | undefined>(model, 'can_open_files') === true,
    layoutDirection: useTrait<'LR' | 'TB'>(model, 'layout_direction') === 'TB' ? 'TB' : 'LR',
    // Control nodes' own ports (a switch's cases, a subworkflow's interface) from the host's
    // validator, when it sends them.
    nodePorts: useTrait<Record<string, NodePorts> | undefined>(model, 'node_ports'),
    expressions: useTrait<Record<string, Record<string, string>> | undefined>(model, 'expressions'),
    // A host that validates everything itself (the notebook graph) sets `validated`.
    validated: useTrait<boolean | undefined>(model, 'validated'),
    // The optional `selected` trait (node ids) follows the selection both ways; a host that
    // does not set it (the anywidget) is never sent one.
    hostSelected: useTrait<string[] | undefined>(model, 'selected'),
  };
}
