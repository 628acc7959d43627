/**
 * React Flow's view of the document: nodes at their displayed positions (moved down when
 * a measured node would cover another), selection both ways with the host, and the wires
 * coloured by port type, animated while running, dashed when they carried nothing.
 */
import {
  applyNodeChanges,
  useReactFlow,
  type Edge,
  type EdgeChange,
  type NodeChange,
} from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState, type Dispatch, type SetStateAction } from 'react';

import { edgeInactive, isControl } from '../control';
import {
  estimateHeight,
  nodeSkill,
  NODE_WIDTH,
  portColor,
  READABLE_ZOOM,
  resolveOverlaps,
  type Box,
  type Doc,
  type SkillIndex,
} from '../logic';
import type { WidgetModel } from '../model';
import type { SkillFlowNode } from '../SkillNode';
import type { CanvasTraits } from './traits';

export type Sizes = Record<string, { width: number; height: number }>;

export interface FlowView {
  /** More than 200 nodes: no minimap, only visible elements rendered, no initial fit. */
  big: boolean;
  /** Displayed positions (overlaps resolved), or null for > 500 nodes (dagre's spacing). */
  display: Record<string, { x: number; y: number }> | null;
  sizes: Sizes;
  rfNodes: SkillFlowNode[];
  setRfNodes: Dispatch<SetStateAction<SkillFlowNode[]>>;
  onNodesChange: (changes: NodeChange<SkillFlowNode>[]) => void;
  onEdgesChange: (changes: EdgeChange[]) => void;
  rfEdges: Edge[];
  selected: string[];
  selectedEdges: Set<string>;
  /** Select node `id` alone and centre it at a readable zoom. */
  showNode: (id: string) => void;
}

export function useFlowView(model: WidgetModel, doc: Doc, skillIndex: SkillIndex,
  { statuses, previews, hostSelected }: Pick<CanvasTraits, 'statuses' | 'previews' | 'hostSelected'>): FlowView {
  const rf = useReactFlow();
  const big = doc.nodes.length > 200;
  const bigRef = useRef(false);
  bigRef.current = doc.nodes.length > 500;
  // Measured node sizes: a node that grew (previews after a run) must not cover the one
  // below it. The view moves it down (`resolveOverlaps`); the saved positions stay.
  const [sizes, setSizes] = useState<Sizes>({});
  const display = useMemo(() => {
    if (doc.nodes.length > 500) return null;  // O(n²); large graphs are laid out by dagre
    const boxes: Record<string, Box> = {};
    for (const n of doc.nodes) {
      const size = sizes[n.id];
      boxes[n.id] = { x: n.position.x, y: n.position.y, width: size?.width ?? NODE_WIDTH,
        height: size?.height ?? estimateHeight(nodeSkill(skillIndex, n)) };
    }
    return resolveOverlaps(boxes);
  }, [doc.nodes, sizes, skillIndex]);
  // React Flow's own node objects keep what the document does not hold: measured sizes
  // and selection.
  const [rfNodes, setRfNodes] = useState<SkillFlowNode[]>([]);
  useEffect(() => {
    setRfNodes((prev) => {
      const byId = new Map(prev.map((n) => [n.id, n]));
      return doc.nodes.map((n) => {
        const old = byId.get(n.id);
        return {
          id: n.id,
          type: 'skill',
          position: display?.[n.id] ?? n.position,
          data: n.data,
          selected: old?.selected ?? false,
          measured: old?.measured,
        } as SkillFlowNode;
      });
    });
  }, [doc.nodes, display]);
  const onNodesChange = useCallback((changes: NodeChange<SkillFlowNode>[]) => {
    // Large graphs (> 500 nodes) keep dagre's spacing; their sizes are not tracked, so a
    // node measured while zooming or panning never re-renders the whole canvas.
    const dims = bigRef.current ? [] : changes.filter((c) => c.type === 'dimensions' && c.dimensions);
    if (dims.length) {
      setSizes((prev) => {
        let next: typeof prev | null = null;
        for (const c of dims) {
          if (c.type !== 'dimensions' || !c.dimensions) continue;
          const old = prev[c.id];
          const d = c.dimensions;
          if (old && Math.abs(old.width - d.width) < 1 && Math.abs(old.height - d.height) < 1) continue;
          next = next ?? { ...prev };
          next[c.id] = { width: d.width, height: d.height };
        }
        return next ?? prev;
      });
    }
    // Removal is an edit of the document (undoable), never React Flow's alone.
    setRfNodes((ns) => applyNodeChanges(changes.filter((c) => c.type !== 'remove'), ns));
  }, []);
  const [selectedEdges, setSelectedEdges] = useState<Set<string>>(new Set());
  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    setSelectedEdges((prev) => {
      let next: Set<string> | null = null;
      for (const c of changes) {
        if (c.type === 'select') {
          next = next ?? new Set(prev);
          if (c.selected) next.add(c.id);
          else next.delete(c.id);
        }
      }
      return next ?? prev;
    });
  }, []);
  const rfEdges: Edge[] = useMemo(() => {
    const types = new Map<string, string>();
    for (const n of doc.nodes) {
      for (const p of nodeSkill(skillIndex, n)?.outputs ?? []) types.set(`${n.id}.${p.name}`, p.type);
    }
    const control = new Set(doc.nodes.filter((n) => isControl(skillIndex.get(n.data.skill))).map((n) => n.id));
    return doc.edges.map((e) => {
      const src = statuses[e.source]?.status;
      // A wire that carried nothing (an untaken branch, or out of a skipped node): dashed, grey.
      const ports = previews[e.source] ? Object.keys(previews[e.source]) : null;
      const inactive = edgeInactive(e, statuses, control.has(e.source), ports);
      return {
        id: e.id, source: e.source, sourceHandle: e.sourceHandle, target: e.target,
        targetHandle: e.targetHandle, selected: selectedEdges.has(e.id),
        animated: !inactive && (src === 'running' || statuses[e.target]?.status === 'running'),
        className: inactive ? 'llmos-edge--inactive' : undefined,
        style: inactive
          ? { stroke: 'var(--llmos-status-idle)', strokeWidth: 2, strokeDasharray: '6 5' }
          : { stroke: portColor(types.get(`${e.source}.${e.sourceHandle}`)), strokeWidth: 2 },
      };
    });
  }, [doc.edges, doc.nodes, skillIndex, selectedEdges, statuses, previews]);
  const selected = useMemo(() => rfNodes.filter((n) => n.selected).map((n) => n.id), [rfNodes]);
  // The host's `selected` trait, when it has one, follows the selection both ways.
  useEffect(() => {
    if (!hostSelected) return;
    const want = new Set(hostSelected);
    setRfNodes((ns) => (ns.some((n) => !!n.selected !== want.has(n.id))
      ? ns.map((n) => ({ ...n, selected: want.has(n.id) })) : ns));
  }, [hostSelected, doc.nodes]);
  useEffect(() => {
    const current = model.get('selected') as string[] | undefined;
    if (!current || JSON.stringify(current) === JSON.stringify(selected)) return;
    model.set('selected', selected);
    model.save_changes();
  }, [model, selected]);
  const showNode = useCallback((id: string) => {
    setRfNodes((ns) => ns.map((m) => ({ ...m, selected: m.id === id })));
    const n = rf.getNode(id);
    if (n) void rf.setCenter(n.position.x + (n.measured?.width ?? NODE_WIDTH) / 2,
      n.position.y + (n.measured?.height ?? 80) / 2, { zoom: Math.max(rf.getZoom(), READABLE_ZOOM), duration: 0 });
  }, [rf]);
  return { big, display, sizes, rfNodes, setRfNodes, onNodesChange, onEdgesChange, rfEdges, selected,
    selectedEdges, showNode };
}
