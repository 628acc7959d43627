/** Shapes shared by the canvas and the Python side (llmos_jupyter._widget.canvas). */

export type PortType =
  | 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object' | 'image' | 'any';

/** A skill port as `Port.to_dict()` writes it. */
export interface Port {
  name: string;
  type: PortType | string;
  required?: boolean;
  default?: unknown;
  description?: string;
  unit?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
}

/** One entry of the `skills` trait: a skill of the live library. */
export interface SkillSummary {
  id: string;
  name: string;
  description?: string;
  category: string;
  tags?: string[];
  runtime?: string;
  executable?: boolean;
  /** False when the trust policy does not vouch for the skill (an "untrusted" badge). */
  trusted?: boolean;
  inputs: Port[];
  outputs: Port[];
}

/** A workflow node in React Flow's field names (unknown fields are kept). */
export interface WfNode {
  id: string;
  type?: string;
  position: { x: number; y: number };
  data: { skill: string; params?: Record<string, unknown>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface WfEdge {
  id: string;
  source: string;
  sourceHandle: string;
  target: string;
  targetHandle: string;
  [k: string]: unknown;
}

/** The `workflow` trait: `Workflow.to_dict()`. */
export interface WorkflowJSON {
  id?: string;
  name?: string;
  nodes: WfNode[];
  edges: WfEdge[];
  [k: string]: unknown;
}

export type NodeStatus =
  | 'idle' | 'queued' | 'running' | 'completed' | 'cached' | 'failed' | 'skipped';

/** One entry of the `statuses` trait. */
export interface StatusInfo {
  status: NodeStatus;
  elapsed_ms?: number;
  error?: string;
}

/** One output preview (the `previews` trait maps node → port → preview). */
export type Preview =
  | { kind: 'number'; value: number; unit?: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'text'; value: string; truncated?: boolean }
  | { kind: 'array'; length: number; values: number[]; numeric: boolean; text?: string }
  | { kind: 'image'; src: string }
  | { kind: 'object'; text: string; keys?: string[] }
  | { kind: 'scene'; format: 'threejs-json' | 'threejs-scene'; scene: any }
  | { kind: 'netlist'; text: string; lines: number; truncated?: boolean }
  | { kind: 'other'; text: string };

export interface Problem {
  code: string;
  message: string;
  node?: string | null;
  port?: string | null;
  edge?: string | null;
}
