/**
 * Skills dropped on the canvas become nodes under the pointer, from two kinds of drag:
 * the palette's HTML5 drag (`DND_TYPE`) and JupyterLab's skill library, a Lumino drag
 * (`@lumino/dragdrop`, `SKILL_DRAG_MIME`).
 */
import React, { useCallback, useEffect, useRef, type RefObject } from 'react';
import { useReactFlow } from '@xyflow/react';

import { DND_TYPE } from '../Panels';

/** Lumino's drag of a skill from JupyterLab's skill library (`@lumino/dragdrop`). */
const SKILL_DRAG_MIME = 'application/x-llmos-skill';
interface LuminoDragEvent extends MouseEvent {
  mimeData?: { hasData(mime: string): boolean; getData(mime: string): unknown };
  dropAction?: string;
}

export function useSkillDrops(root: RefObject<HTMLDivElement>,
  addSkill: (skill: string, position?: { x: number; y: number }) => void,
  addAt: (skill: string, x: number, y: number) => void):
  { onDrop: (e: React.DragEvent) => void; onDragOver: (e: React.DragEvent) => void } {
  const rf = useReactFlow();
  const onDrop = useCallback((e: React.DragEvent) => {
    const skill = e.dataTransfer.getData(DND_TYPE);
    if (!skill) return;
    e.preventDefault();
    e.stopPropagation();
    addSkill(skill, rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
  }, [rf, addSkill]);
  const onDragOver = useCallback((e: React.DragEvent) => {
    if (!e.dataTransfer.types.includes(DND_TYPE)) return;
    e.preventDefault();
    e.stopPropagation();
    e.dataTransfer.dropEffect = 'move';
  }, []);

  // The window listener lives as long as the canvas and calls this render's `addAt`.
  const addAtRef = useRef(addAt);
  addAtRef.current = addAt;
  useEffect(() => {
    // A skill dragged from JupyterLab's skill library (a Lumino drag) onto the canvas
    // becomes a node under the pointer; stopped here, so the notebook around a canvas
    // widget never inserts it as cells. Hosts with their own drop handling (the notebook
    // graph, workflow documents) take it earlier, in the capture phase.
    // The notebook takes Lumino drops in the capture phase on its node, so the canvas
    // listens in the capture phase of the window, before it, for its own element only.
    const onLuminoDrag = (ev: Event) => {
      const e = ev as LuminoDragEvent;
      const host = root.current;
      if (!host || !(e.target instanceof Node) || !host.contains(e.target)) return;
      if (host.parentElement?.closest('[data-llmos-drop-host]')) return;  // the host handles it
      if (!e.mimeData?.hasData(SKILL_DRAG_MIME)) return;
      e.preventDefault();
      e.stopPropagation();
      e.dropAction = 'copy';
      if (e.type === 'lm-drop') {
        addAtRef.current(String(e.mimeData.getData(SKILL_DRAG_MIME)), e.clientX, e.clientY);
      }
    };
    const dragEvents = ['lm-dragenter', 'lm-dragover', 'lm-drop'];
    for (const t of dragEvents) window.addEventListener(t, onLuminoDrag, true);
    return () => {
      for (const t of dragEvents) window.removeEventListener(t, onLuminoDrag, true);
    };
  }, [root]);
  return { onDrop, onDragOver };
}
