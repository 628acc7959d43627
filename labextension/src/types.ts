/**
 * Shapes shared by the canvas and the Python side (llmos_jupyter._widget.canvas).
 *
 * Every type here is generated from the Python contract (llmos_jupyter/_contract,
 * `src/contract.gen.ts`); this module keeps the names the UI imports.
 */
export type {
  NodePorts,
  NodeStatus,
  Port,
  PortType,
  Preview,
  Problem,
  SkillSummary,
  StatusInfo,
  WfEdge,
  WfNode,
  WorkflowJSON,
} from './contract.gen';
