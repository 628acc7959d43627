/**
 * The canvas' edits of the document, each one undoable step: connect (refused with the
 * reason in the notice), add a skill, remove, move, auto-layout; and fitting the view.
 */
import { useReactFlow, type Connection, type Edge, type FinalConnectionState } from '@xyflow/react';
import { useCallback, type RefObject } from 'react';

import { autoLayout, checkConnection, READABLE_ZOOM, type Action, type Doc, type SkillIndex } from '../logic';
import type { SkillFlowNode } from '../SkillNode';
import type { Notice } from './notice';

export interface GraphEdits {
  onConnect: (c: Connection) => void;
  isValidConnection: (c: Connection | Edge) => boolean;
  onConnectEnd: (e: MouseEvent | TouchEvent, s: FinalConnectionState) => void;
  /** Add a node of `skill` at a flow position, or in the middle of the view. */
  addSkill: (skill: string, position?: { x: number; y: number }) => void;
  /** Add a node of `skill` under the screen point (x, y), optionally with its id. */
  addAt: (skill: string, x: number, y: number, id?: string) => void;
  remove: (nodes: string[], edges?: string[]) => void;
  onDelete: (d: { nodes: { id: string }[]; edges: { id: string }[] }) => void;
  onNodeDragStop: (e: unknown, n: unknown, nodes: SkillFlowNode[]) => void;
  fit: (all?: boolean, duration?: number) => void;
  layout: () => void;
}

export function useGraphEdits({ doc, skillIndex, dispatch, setNotice, root, wrapper, rfNodes, layoutDirection }: {
  doc: Doc; skillIndex: SkillIndex; dispatch: (a: Action) => void; setNotice: (n: Notice | null) => void;
  /** The canvas element, which keeps the focus (and so the keys) after a removal. */
  root: RefObject<HTMLDivElement>;
  /** The graph's element, whose middle a skill added from the palette lands in. */
  wrapper: RefObject<HTMLDivElement>;
  rfNodes: SkillFlowNode[]; layoutDirection: 'LR' | 'TB';
}): GraphEdits {
  const rf = useReactFlow();
  const onConnect = useCallback((c: Connection) => {
    const verdict = checkConnection(doc, skillIndex, c);
    if (!verdict.ok) {
      setNotice({ text: `Connection refused: ${verdict.reason}`, kind: 'refused' });
      return;
    }
    setNotice(null);
    dispatch({ type: 'connect', source: c.source, sourceHandle: c.sourceHandle ?? '',
      target: c.target, targetHandle: c.targetHandle ?? '' });
  }, [doc, skillIndex, dispatch, setNotice]);
  const isValidConnection = useCallback(
    (c: Connection | Edge) => checkConnection(doc, skillIndex, c as Connection).ok,
    [doc, skillIndex],
  );
  const onConnectEnd = useCallback((_e: MouseEvent | TouchEvent, s: FinalConnectionState) => {
    // Dropped on a handle React Flow refused (isValidConnection): say why.
    if (s.isValid || !s.fromHandle || !s.toHandle) return;
    const [a, b] = s.fromHandle.type === 'source' ? [s.fromHandle, s.toHandle] : [s.toHandle, s.fromHandle];
    const verdict = checkConnection(doc, skillIndex, {
      source: a.nodeId, sourceHandle: a.id, target: b.nodeId, targetHandle: b.id,
    });
    const reason = verdict.ok ? 'an output must be wired to an input' : verdict.reason;
    setNotice({ text: `Connection refused: ${reason}`, kind: 'refused' });
  }, [doc, skillIndex, setNotice]);

  const addSkill = useCallback((skill: string, position?: { x: number; y: number }) => {
    let pos = position;
    if (!pos) {
      const box = wrapper.current?.getBoundingClientRect();
      pos = box ? rf.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 })
        : { x: 0, y: 0 };
    }
    dispatch({ type: 'addNode', skill, position: pos });
  }, [rf, dispatch, wrapper]);
  // A skill dropped on the host widget (a Lumino drag from JupyterLab's skill library):
  // screen coordinates, so the node lands under the pointer.
  const addAt = useCallback((skill: string, x: number, y: number, id?: string) => {
    dispatch({ type: 'addNode', skill, position: rf.screenToFlowPosition({ x, y }), id });
  }, [rf, dispatch]);

  const remove = useCallback((nodes: string[], edges: string[] = []) => {
    dispatch({ type: 'remove', nodes, edges });
    // The focused node element goes away with it: keep the keys (undo …) on the canvas.
    requestAnimationFrame(() => {
      const el = root.current;
      if (el && !el.contains(document.activeElement)) el.focus({ preventScroll: true });
    });
  }, [dispatch, root]);
  const onDelete = useCallback(({ nodes, edges }: { nodes: { id: string }[]; edges: { id: string }[] }) => {
    remove(nodes.map((n) => n.id), edges.map((e) => e.id));
  }, [remove]);
  const onNodeDragStop = useCallback((_e: unknown, _n: unknown, nodes: SkillFlowNode[]) => {
    dispatch({ type: 'move', positions: Object.fromEntries(nodes.map((n) => [n.id, n.position])) });
  }, [dispatch]);

  // Fit never zooms out below READABLE_ZOOM (text stays ≥ 11 px): a larger graph is
  // centred instead; `all` (the benchmark, an overview) fits everything, in boxes (LOD).
  const fit = useCallback((all = false, duration?: number) => rf.fitView({ padding: 0.15,
    duration: duration ?? (all ? 0 : 200),
    minZoom: all ? 0.01 : READABLE_ZOOM, maxZoom: 1.25 }), [rf]);
  const layout = useCallback(() => {
    // Measured sizes, so tall nodes (previews) get room; unmeasured ones are estimated.
    const sizes: Record<string, { width: number; height: number }> = {};
    for (const n of rfNodes) {
      if (n.measured?.width && n.measured?.height) sizes[n.id] = { width: n.measured.width, height: n.measured.height };
    }
    dispatch({ type: 'layout', positions: autoLayout(doc, skillIndex, sizes, layoutDirection) });
    requestAnimationFrame(() => fit());
  }, [rfNodes, doc, skillIndex, dispatch, fit, layoutDirection]);

  return { onConnect, isValidConnection, onConnectEnd, addSkill, addAt, remove, onDelete, onNodeDragStop, fit, layout };
}
