/**
 * Level of detail: zoomed out below LOD_ZOOM the nodes are drawn as labelled boxes on
 * one <canvas> (LodLayer) instead of thousands of DOM nodes; React Flow keeps the
 * viewport (pan, zoom) and gets no nodes.
 */
import { useReactFlow, useStore } from '@xyflow/react';
import React, { useCallback, useEffect, useMemo, useRef, type Dispatch, type SetStateAction } from 'react';

import { isControl, skipInfo } from '../control';
import { estimateHeight, nodeSkill, NODE_WIDTH, type Doc, type SkillIndex } from '../logic';
import type { SkillFlowNode } from '../SkillNode';
import type { StatusInfo } from '../types';
import type { Sizes } from './flowView';

/** Below this zoom nodes are boxes (a 240 px node is < 110 px wide, its text < 6 px). */
export const LOD_ZOOM = 0.45;

/**
 * Whether the view is zoomed out to boxes, and the pane click that selects the box under
 * the pointer (React Flow has no nodes to click then) and zooms in on it.
 */
export function useLevelOfDetail({ nodes, display, sizes, skillIndex, setRfNodes }: {
  nodes: Doc['nodes']; display: Record<string, { x: number; y: number }> | null; sizes: Sizes;
  skillIndex: SkillIndex; setRfNodes: Dispatch<SetStateAction<SkillFlowNode[]>>;
}): { lod: boolean; selectBox: (e: React.MouseEvent) => void } {
  const rf = useReactFlow();
  const lod = useStore((st) => st.transform[2] < LOD_ZOOM);
  const selectBox = useCallback((e: React.MouseEvent) => {
    if (!lod) return;
    const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    for (const n of nodes) {
      const pos = display?.[n.id] ?? n.position;
      const size = sizes[n.id] ?? { width: NODE_WIDTH, height: estimateHeight(nodeSkill(skillIndex, n)) };
      if (p.x >= pos.x && p.x <= pos.x + size.width && p.y >= pos.y && p.y <= pos.y + size.height) {
        setRfNodes((ns) => ns.map((m) => ({ ...m, selected: m.id === n.id })));
        void rf.setCenter(pos.x + size.width / 2, pos.y + size.height / 2, { zoom: 1, duration: 200 });
        return;
      }
    }
  }, [lod, rf, nodes, display, sizes, skillIndex, setRfNodes]);
  return { lod, selectBox };
}

/**
 * The level-of-detail view: every node as a box in its status colour (its id inside when
 * the box is wide enough to hold it at ≥ 11 px), wires as lines, on one 2D canvas
 * redrawn once per frame from React Flow's viewport. Only what is in view is drawn.
 * Colours come from JupyterLab's CSS variables (read from the computed style).
 */
export function LodLayer({ nodes, edges, display, sizes, skills, statuses, selected }: {
  nodes: Doc['nodes']; edges: Doc['edges']; display: Record<string, { x: number; y: number }> | null;
  sizes: Sizes; skills: SkillIndex;
  statuses: Record<string, StatusInfo>; selected: string[];
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const transform = useStore((st) => st.transform);
  const boxes = useMemo(() => nodes.map((n) => {
    const p = display?.[n.id] ?? n.position;
    const size = sizes[n.id] ?? { width: NODE_WIDTH, height: estimateHeight(nodeSkill(skills, n)) };
    return { id: n.id, x: p.x, y: p.y, w: size.width, h: size.height, control: isControl(skills.get(n.data.skill)) };
  }), [nodes, display, sizes, skills]);
  const byId = useMemo(() => new Map(boxes.map((b) => [b.id, b])), [boxes]);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const frame = requestAnimationFrame(() => {
      const rect = canvas.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(rect.width * dpr) || canvas.height !== Math.round(rect.height * dpr)) {
        canvas.width = Math.round(rect.width * dpr);
        canvas.height = Math.round(rect.height * dpr);
      }
      const g = canvas.getContext('2d');
      if (!g) return;
      const css = getComputedStyle(canvas);
      const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
      const [tx, ty, k] = transform;
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.clearRect(0, 0, rect.width, rect.height);
      const vx0 = -tx / k, vy0 = -ty / k, vx1 = (rect.width - tx) / k, vy1 = (rect.height - ty) / k;
      const inView = (b: { x: number; y: number; w: number; h: number }) =>
        b.x + b.w >= vx0 && b.x <= vx1 && b.y + b.h >= vy0 && b.y <= vy1;
      g.setTransform(dpr * k, 0, 0, dpr * k, dpr * tx, dpr * ty);
      g.lineWidth = 1 / k;
      g.strokeStyle = color('--llmos-border', '#999');
      g.beginPath();
      for (const e of edges) {
        const a = byId.get(e.source), b = byId.get(e.target);
        if (!a || !b) continue;
        const x0 = a.x + a.w, y0 = a.y + a.h / 2, x1 = b.x, y1 = b.y + b.h / 2;
        if (Math.max(x0, x1) < vx0 || Math.min(x0, x1) > vx1 || Math.max(y0, y1) < vy0 || Math.min(y0, y1) > vy1) continue;
        g.moveTo(x0, y0);
        g.lineTo(x1, y1);
      }
      g.stroke();
      const want = new Set(selected);
      const groups = new Map<string, typeof boxes>();
      for (const b of boxes) {
        if (!inView(b)) continue;
        const info = statuses[b.id];
        // An untaken branch is drawn calm (idle grey), as on the full-size nodes.
        const st = skipInfo(info)?.kind === 'branch' ? 'idle' : info?.status ?? 'idle';
        groups.set(st, [...(groups.get(st) ?? []), b]);
      }
      g.fillStyle = color('--llmos-bg', '#fff');
      for (const list of groups.values()) for (const b of list) g.fillRect(b.x, b.y, b.w, b.h);
      g.lineWidth = 2 / k;
      for (const [st, list] of groups) {
        g.strokeStyle = color(`--llmos-status-${st}`, '#888');
        g.beginPath();
        for (const b of list) g.rect(b.x, b.y, b.w, b.h);
        g.stroke();
      }
      // Control nodes keep their mark when drawn as boxes: a stripe in the control colour.
      g.fillStyle = color('--llmos-control', '#6741d9');
      for (const b of boxes) if (b.control && inView(b)) g.fillRect(b.x, b.y, Math.min(8, b.w / 4), b.h);
      if (want.size) {
        g.strokeStyle = color('--llmos-accent', '#2f6fde');
        g.lineWidth = 4 / k;
        for (const b of boxes) if (want.has(b.id) && inView(b)) g.strokeRect(b.x, b.y, b.w, b.h);
      }
      // Labels only where they can be read: 12 px on screen, inside a box wide enough.
      if (NODE_WIDTH * k >= 70) {
        g.setTransform(dpr, 0, 0, dpr, 0, 0);
        g.fillStyle = color('--llmos-fg', '#222');
        g.font = `12px ${color('--llmos-font', 'sans-serif')}`;
        g.textBaseline = 'middle';
        for (const b of boxes) {
          if (!inView(b)) continue;
          const sx = b.x * k + tx, sy = b.y * k + ty;
          const maxW = b.w * k - 8;
          let label = b.id;
          while (label.length > 1 && g.measureText(label).width > maxW) label = label.slice(0, -1);
          g.fillText(label, sx + 4, sy + Math.min(14, (b.h * k) / 2));
        }
      }
    });
    return () => cancelAnimationFrame(frame);
  }, [transform, boxes, byId, edges, statuses, selected]);
  return <canvas ref={ref} className="llmos-lod" data-lod-nodes={boxes.length} aria-hidden="true" />;
}
