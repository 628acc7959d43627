/** The canvas: toolbar, palette, React Flow graph, side panel; synced with a widget model. */
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  applyNodeChanges,
  useReactFlow,
  useStore,
  type Connection,
  type Edge,
  type EdgeChange,
  type FinalConnectionState,
  type NodeChange,
} from '@xyflow/react';
import React, { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';

import {
  autoLayout,
  checkConnection,
  docFromWorkflow,
  estimateHeight,
  historyReducer,
  indexSkills,
  nodeSkill,
  initHistory,
  INITIAL_ZOOM,
  localProblems,
  NODE_WIDTH,
  portColor,
  READABLE_ZOOM,
  resolveOverlaps,
  workflowFromDoc,
  type Action,
  type Box,
} from './logic';
import { edgeInactive, isControl, skipInfo } from './control';
import { dashboardHref } from './nodeLog';
import { useTrait, type WidgetModel } from './model';
import { DND_TYPE, Palette, SidePanel } from './Panels';
import { CanvasContext, SkillNode, type SkillFlowNode } from './SkillNode';
import type { NodePorts, Preview, Problem, SkillSummary, StatusInfo, WorkflowJSON } from './types';
import type { Doc } from './logic';

const nodeTypes = { skill: SkillNode };

/** Lumino's drag of a skill from JupyterLab's skill library (`@lumino/dragdrop`). */
const SKILL_DRAG_MIME = 'application/x-llmos-skill';
interface LuminoDragEvent extends MouseEvent {
  mimeData?: { hasData(mime: string): boolean; getData(mime: string): unknown };
  dropAction?: string;
}

/** Keys let through to JupyterLab from inside the canvas: Save, the command palette. */
export function passesThrough(e: { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean }): boolean {
  const key = e.key.toLowerCase();
  return (e.ctrlKey || e.metaKey) && !e.altKey && (key === 's' || (e.shiftKey && key === 'c'));
}
const MODIFIERS = new Set(['Shift', 'Control', 'Meta', 'Alt', 'AltGraph', 'CapsLock']);

interface Notice { text: string; kind: 'info' | 'refused' | 'error' }

function Canvas({ model, root }: { model: WidgetModel; root: React.RefObject<HTMLDivElement> }) {
  const rf = useReactFlow();
  const skills = useTrait<SkillSummary[]>(model, 'skills') ?? [];
  const statuses = useTrait<Record<string, StatusInfo>>(model, 'statuses') ?? {};
  const previews = useTrait<Record<string, Record<string, Preview>>>(model, 'previews') ?? {};
  const problems = useTrait<Problem[]>(model, 'errors') ?? [];
  const message = useTrait<string>(model, 'message') ?? '';
  const running = useTrait<boolean>(model, 'running') ?? false;
  // The Dask dashboard of the run's cluster (executor="dask"), shown from the moment the
  // host knows it (the run's start) until the next run: only http(s) URLs become a link.
  const dashboard = dashboardHref(useTrait<string>(model, 'dashboard'), window.location.origin);
  // The nodes' live output (`{node: NodeLog}`, from the engine's node_log events).
  const logs = useTrait<Record<string, unknown> | undefined>(model, 'logs') ?? NO_LOGS;
  // Where the engine runs nodes (threads | processes | dask), when the host says: the
  // JupyterLab setting for documents; the Canvas widget's engine for the anywidget.
  const executor = useTrait<string | undefined>(model, 'executor');
  const scheduler = useTrait<string | undefined>(model, 'scheduler');
  const canOpenFiles = useTrait<boolean | undefined>(model, 'can_open_files') === true;
  const layoutDirection = useTrait<'LR' | 'TB'>(model, 'layout_direction') === 'TB' ? 'TB' : 'LR';
  // Control nodes' own ports (a switch's cases, a subworkflow's interface) from the host's
  // validator, when it sends them.
  const nodePorts = useTrait<Record<string, NodePorts> | undefined>(model, 'node_ports');

  const [hist, dispatchRaw] = useReducer(historyReducer, model.get('workflow') as WorkflowJSON, initHistory);
  const doc = hist.present;
  // Recomputed when nodes come or go (or change skill), not when they move.
  const nodeSkillsKey = doc.nodes.map((n) => `${n.id}\u0000${n.data.skill}`).join('\u0001');
  const docNodes = useRef(doc.nodes);
  docNodes.current = doc.nodes;
  const skillIndex = useMemo(() => indexSkills(skills, nodePorts, docNodes.current), [skills, nodePorts, nodeSkillsKey]);
  const docRef = useRef(doc);
  docRef.current = doc;
  const [notice, setNotice] = useState<Notice | null>(null);
  const dispatch = useCallback((a: Action) => dispatchRaw(a), []);

  // -- Python ⇄ JS: the `workflow` trait is the document --------------------------------
  const lastSynced = useRef(JSON.stringify(workflowFromDoc(doc)));
  useEffect(() => {
    const wf = workflowFromDoc(doc);
    const text = JSON.stringify(wf);
    if (text === lastSynced.current) return;
    lastSynced.current = text;
    model.set('workflow', wf);
    model.save_changes();
  }, [doc, model]);
  useEffect(() => {
    const onChange = () => {
      const wf = model.get('workflow') as WorkflowJSON;
      const text = JSON.stringify(workflowFromDoc(docFromWorkflow(wf)));
      if (text === lastSynced.current) return;
      lastSynced.current = text;
      // A host that re-reads its document from elsewhere (the notebook graph, from the
      // cells) restarts the undo history: undoing past it would rewrite cells the user
      // edited since. Loading into an empty canvas is never an undo step either.
      const fresh = !!model.get('reset_history_on_load') || docRef.current.nodes.length === 0;
      dispatch({ type: 'load', workflow: wf, history: !fresh });
    };
    model.on('change:workflow', onChange);
    return () => model.off('change:workflow', onChange);
  }, [model, dispatch]);

  useEffect(() => {
    if (hist.refused) setNotice({ text: hist.refused, kind: 'refused' });
  }, [hist.refused]);
  useEffect(() => {
    if (message) setNotice(null);
  }, [message]);

  // -- React Flow's view of the nodes (keeps measured sizes and selection) ----------------
  const big = doc.nodes.length > 200;
  const bigRef = useRef(false);
  bigRef.current = doc.nodes.length > 500;
  // Measured node sizes: a node that grew (previews after a run) must not cover the one
  // below it. The view moves it down (`resolveOverlaps`); the saved positions stay.
  const [sizes, setSizes] = useState<Record<string, { width: number; height: number }>>({});
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
  // The optional `selected` trait (node ids) follows the selection both ways; a host that
  // does not set it (the anywidget) is never sent one.
  const hostSelected = useTrait<string[] | undefined>(model, 'selected');
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

  // The host's problems (Python's `validate`, a JSON syntax error) win; without them the
  // canvas' own checks (unknown skills, wires, cycles, missing inputs) still say why a
  // workflow is invalid, so it is never called valid while one is known.
  const expressions = useTrait<Record<string, Record<string, string>> | undefined>(model, 'expressions');
  // A host that validates everything itself (the notebook graph) sets `validated`.
  const validated = useTrait<boolean | undefined>(model, 'validated');
  const shownProblems: Problem[] = useMemo(() => {
    if (problems.length || validated) return problems;
    if (!skills.length) return [];
    return localProblems(doc, skillIndex, expressions ?? {}).map((p) => ({ ...p, node: p.node ?? null }));
  }, [problems, validated, skills.length, doc, skillIndex, expressions]);
  const problemsByNode = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const p of shownProblems) if (p.node) m.set(p.node, [...(m.get(p.node) ?? []), p.message]);
    return m;
  }, [shownProblems]);

  // -- edits ---------------------------------------------------------------------------------
  const onConnect = useCallback((c: Connection) => {
    const verdict = checkConnection(doc, skillIndex, c);
    if (!verdict.ok) {
      setNotice({ text: `Connection refused: ${verdict.reason}`, kind: 'refused' });
      return;
    }
    setNotice(null);
    dispatch({ type: 'connect', source: c.source, sourceHandle: c.sourceHandle ?? '',
      target: c.target, targetHandle: c.targetHandle ?? '' });
  }, [doc, skillIndex, dispatch]);
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
  }, [doc, skillIndex]);

  const addSkill = useCallback((skill: string, position?: { x: number; y: number }) => {
    let pos = position;
    if (!pos) {
      const box = wrapper.current?.getBoundingClientRect();
      pos = box ? rf.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 })
        : { x: 0, y: 0 };
    }
    dispatch({ type: 'addNode', skill, position: pos });
  }, [rf, dispatch]);
  const wrapper = useRef<HTMLDivElement>(null);
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

  const fit = useCallback((all = false, duration?: number) => rf.fitView({ padding: 0.15,
    duration: duration ?? (all ? 0 : 200),
    minZoom: all ? 0.01 : READABLE_ZOOM, maxZoom: 1.25 }), [rf]);
  const layout = useCallback(() => {
    const sizes: Record<string, { width: number; height: number }> = {};
    for (const n of rfNodes) {
      if (n.measured?.width && n.measured?.height) sizes[n.id] = { width: n.measured.width, height: n.measured.height };
    }
    dispatch({ type: 'layout', positions: autoLayout(doc, skillIndex, sizes, layoutDirection) });
    requestAnimationFrame(() => fit());
  }, [rfNodes, doc, skillIndex, dispatch, fit, layoutDirection]);
  // Fit never zooms out below READABLE_ZOOM (text stays ≥ 11 px): a larger graph is
  // centred instead; `all` (the benchmark, an overview) fits everything, in boxes (LOD).
  // A skill dropped on the host widget (a Lumino drag from JupyterLab's skill library):
  // screen coordinates, so the node lands under the pointer.
  const addAt = useCallback((skill: string, x: number, y: number, id?: string) => {
    dispatch({ type: 'addNode', skill, position: rf.screenToFlowPosition({ x, y }), id });
  }, [rf, dispatch]);
  // Commands from the host (JupyterLab's palette, or Python): {command: 'fit' | 'layout'}
  // or {command: 'add-node', skill, x, y, id?}.
  const setViewport = rf.setViewport;
  const showNodeRef = useRef<(id: string) => void>(() => {});
  const commands = useRef({ fit, layout, addAt, setViewport, showNode: (id: string) => showNodeRef.current(id) });
  commands.current = { fit, layout, addAt, setViewport, showNode: (id: string) => showNodeRef.current(id) };
  useEffect(() => {
    const onMsg = (msg: { command?: string; skill?: string; x?: number; y?: number; id?: string; all?: boolean;
      zoom?: number; node?: string; duration?: number }) => {
      if (msg?.command === 'fit') commands.current.fit(!!msg.all, msg.duration);
      else if (msg?.command === 'show' && msg.node) commands.current.showNode(msg.node);
      else if (msg?.command === 'viewport') {
        // {command: 'viewport', x, y, zoom}: e.g. the benchmark restores the view between steps.
        void commands.current.setViewport({ x: msg.x ?? 0, y: msg.y ?? 0, zoom: msg.zoom ?? INITIAL_ZOOM });
      }
      else if (msg?.command === 'layout') commands.current.layout();
      else if (msg?.command === 'add-node' && msg.skill) {
        commands.current.addAt(msg.skill, msg.x ?? 0, msg.y ?? 0, msg.id);
      }
    };
    model.on('msg:custom', onMsg);
    return () => model.off('msg:custom', onMsg);
  }, [model]);

  const send = useCallback((action: string, node?: string) => {
    setNotice(null);
    model.send({ action, node });
  }, [model]);

  const onKeyDown = useCallback((e: KeyboardEvent) => {
    const t = e.target as HTMLElement;
    if (t.closest('input, textarea, select, [contenteditable="true"]')) return;
    const item = t.closest<HTMLElement>('[data-skill-id]');
    if (item && e.key === 'Enter') {  // a palette item: add its skill
      addSkill(item.dataset.skillId!);
      e.preventDefault();
      return;
    }
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    if (mod && key === 'z') {
      dispatch({ type: e.shiftKey ? 'redo' : 'undo' });
    } else if (mod && key === 'y') {
      dispatch({ type: 'redo' });
    } else if (!mod && (e.key === 'Delete' || e.key === 'Backspace')) {
      // React Flow's own delete key listens on the document, which the canvas' keys never
      // reach (they stop at the canvas so the notebook's shortcuts never see them).
      const edges = [...selectedEdges];
      if (selected.length || edges.length) remove(selected, edges);
    } else if (!mod && !e.altKey && key === 'f') {
      fit();
    } else if (!mod && !e.altKey && key === 'l') {
      layout();
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation();
  }, [dispatch, fit, layout, selected, selectedEdges, remove, addSkill]);
  const keyHandler = useRef(onKeyDown);
  keyHandler.current = onKeyDown;
  useEffect(() => {
    // The canvas is "active" from a pointer press inside it until one outside. Keys go to
    // a capturing window listener while it is active, so they still work when the focused
    // node was deleted and JupyterLab moved the focus to an ancestor of the canvas.
    //
    // Inside a notebook, a press in an output makes the notebook focus the cell (its
    // `_ensureFocus`): the focus is moved back into the canvas afterwards, so keys have a
    // target inside it (`data-lm-suppress-shortcuts`: no command-mode shortcut fires) and
    // stop there (the body's onKeyDown).
    let active = false;
    const onPointer = (e: PointerEvent) => {
      const el = root.current;
      active = !!el && el.contains(e.target as Node);
      if (!active) return;
      window.setTimeout(() => {
        if (el && !el.contains(document.activeElement)) el.focus({ preventScroll: true });
      }, 0);
    };
    const onFocus = (e: FocusEvent) => {
      const el = root.current;
      const t = e.target as HTMLElement | null;
      if (el && t && !el.contains(t) && !t.contains(el)) active = false;  // e.g. Tab to a cell
    };
    const onKey = (e: KeyboardEvent) => {
      const el = root.current;
      const t = e.target as HTMLElement | null;
      if (!el || !t) return;
      if (el.contains(t)) {
        // Save and the command palette still reach JupyterLab from inside the canvas.
        if (passesThrough(e)) {
          el.removeAttribute('data-lm-suppress-shortcuts');
          window.setTimeout(() => el.setAttribute('data-lm-suppress-shortcuts', 'true'), 0);
          return;
        }
        // Form fields (parameters, rename, search) keep their keys and React handlers;
        // modifiers alone pass (React Flow tracks Shift), Escape too (closes a large view).
        if (MODIFIERS.has(e.key) || e.key === 'Escape') return;
        if (t.closest('input, textarea, select, [contenteditable="true"]')) return;
        // Every other key is the canvas' alone, handled and stopped here, in the window's
        // capture phase: Notebook 7's notebook listens for keys in the capture phase of
        // its node (and moves the focus to the cell), before any handler in the canvas.
        keyHandler.current(e);
        e.stopPropagation();
        return;
      }
      if (!(active && (t === document.body || t.contains(el)))) return;
      // The focus fell out of the canvas onto an ancestor (a deleted node, the notebook's
      // cell): the key is the canvas' still, and no notebook shortcut may see it.
      if (MODIFIERS.has(e.key) || passesThrough(e)) return;
      keyHandler.current(e);
      e.stopPropagation();
      el.focus({ preventScroll: true });
    };
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
        commands.current.addAt(String(e.mimeData.getData(SKILL_DRAG_MIME)), e.clientX, e.clientY);
      }
    };
    const dragEvents = ['lm-dragenter', 'lm-dragover', 'lm-drop'];
    for (const t of dragEvents) window.addEventListener(t, onLuminoDrag, true);
    document.addEventListener('pointerdown', onPointer, true);
    document.addEventListener('focusin', onFocus, true);
    window.addEventListener('keydown', onKey, true);
    return () => {
      for (const t of dragEvents) window.removeEventListener(t, onLuminoDrag, true);
      document.removeEventListener('pointerdown', onPointer, true);
      document.removeEventListener('focusin', onFocus, true);
      window.removeEventListener('keydown', onKey, true);
    };
  }, [root]);
  // Every key pressed in the canvas stops here (React's stopPropagation stops the native
  // event too): the notebook around a canvas widget never sees it (its keydown handler
  // would move the focus to the cell). Modifiers alone pass (React Flow tracks Shift for
  // multi-selection), and so do Save and the command palette.
  const onBodyKeyDown = useCallback((e: React.KeyboardEvent) => {
    if (MODIFIERS.has(e.key) || passesThrough(e)) return;
    e.stopPropagation();
    keyHandler.current(e.nativeEvent);
  }, []);

  const ctx = useMemo(() => ({ model, skills: skillIndex, problems: problemsByNode }),
    [model, skillIndex, problemsByNode]);
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const n of doc.nodes) {
      const s = statuses[n.id]?.status ?? 'idle';
      c[s] = (c[s] ?? 0) + 1;
    }
    return c;
  }, [doc.nodes, statuses]);

  // Level of detail: zoomed out below LOD_ZOOM the nodes are drawn as labelled boxes on
  // one <canvas> (LodLayer) instead of thousands of DOM nodes; React Flow keeps the
  // viewport (pan, zoom) and gets no nodes.
  const lod = useStore((st) => st.transform[2] < LOD_ZOOM);
  const selectBox = useCallback((e: React.MouseEvent) => {
    if (!lod) return;
    const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    for (const n of doc.nodes) {
      const pos = display?.[n.id] ?? n.position;
      const size = sizes[n.id] ?? { width: NODE_WIDTH, height: estimateHeight(nodeSkill(skillIndex, n)) };
      if (p.x >= pos.x && p.x <= pos.x + size.width && p.y >= pos.y && p.y <= pos.y + size.height) {
        setRfNodes((ns) => ns.map((m) => ({ ...m, selected: m.id === n.id })));
        void rf.setCenter(pos.x + size.width / 2, pos.y + size.height / 2, { zoom: 1, duration: 200 });
        return;
      }
    }
  }, [lod, rf, doc.nodes, display, sizes, skillIndex]);
  const validity = shownProblems.length
    ? `invalid: ${shownProblems[0].message}${shownProblems.length > 1 ? ` (+${shownProblems.length - 1} more)` : ''}`
    : skills.length ? 'valid' : '';
  const showNode: (id: string) => void = useCallback((id: string) => {
    setRfNodes((ns) => ns.map((m) => ({ ...m, selected: m.id === id })));
    const n = rf.getNode(id);
    if (n) void rf.setCenter(n.position.x + (n.measured?.width ?? NODE_WIDTH) / 2,
      n.position.y + (n.measured?.height ?? 80) / 2, { zoom: Math.max(rf.getZoom(), READABLE_ZOOM), duration: 0 });
  }, [rf]);
  showNodeRef.current = showNode;

  return (
    <CanvasContext.Provider value={ctx}>
      <div className="llmos-canvas__body" onKeyDown={onBodyKeyDown}>
        <div className="llmos-toolbar" role="toolbar" aria-label="Canvas">
          <button type="button" data-action="run" aria-label="Run workflow" title="Run the workflow"
            onClick={() => send('run')}>▶ Run</button>
          <button type="button" data-action="cancel" aria-label="Cancel run" title="Cancel the run"
            disabled={!running} onClick={() => send('cancel')}>■ Cancel</button>
          {typeof executor === 'string' && executor && (
            <span className="llmos-executor" data-executor={executor}
              title={`Nodes run on the ${executor} executor${scheduler ? ` of the Dask scheduler ${scheduler}` : ''}` +
                ' (Settings → llmos → Executor)'}>
              ⚙ {executor}{typeof scheduler === 'string' && scheduler ? ` · ${scheduler}` : ''}</span>)}
          {dashboard && (
            <a className="llmos-dashboard" data-action="dashboard" href={dashboard} target="_blank"
              rel="noopener noreferrer" title={`The Dask cluster's dashboard (task stream, workers): ${dashboard}`}>
              Dask dashboard</a>)}
          <span className="llmos-sep" />
          <button type="button" data-action="fit" aria-label="Fit view" title="Fit view (F)" onClick={() => fit()}>⤢ Fit</button>
          <button type="button" data-action="layout" aria-label="Auto-layout" title="Auto-layout (L)" onClick={layout}>⇶ Layout</button>
          <button type="button" data-action="undo" aria-label="Undo" title="Undo (Ctrl/⌘+Z)"
            disabled={!hist.past.length} onClick={() => dispatch({ type: 'undo' })}>↶</button>
          <button type="button" data-action="redo" aria-label="Redo" title="Redo (Ctrl/⌘+Shift+Z)"
            disabled={!hist.future.length} onClick={() => dispatch({ type: 'redo' })}>↷</button>
          <span className="llmos-sep" />
          <span className="llmos-counts" aria-live="polite">
            {Object.entries(counts).map(([st, n]) => (
              <span key={st} className={`llmos-count llmos-badge--${st}`}>{n} {st}</span>
            ))}
          </span>
          {validity && (
            <button type="button" className={`llmos-validity llmos-validity--${shownProblems.length ? 'invalid' : 'valid'}`}
              data-validity={shownProblems.length ? 'invalid' : 'valid'} title={shownProblems.map((p) => p.message).join('\n')}
              disabled={!shownProblems.length || !shownProblems[0].node}
              onClick={() => { const n = shownProblems[0]?.node; if (n) showNode(n); }}>
              {validity}
            </button>
          )}
          <span className={`llmos-notice llmos-notice--${notice?.kind ?? 'info'}`} role="status"
            data-notice={notice?.kind ?? (message ? 'message' : '')}>
            {notice?.text ?? message}
          </span>
        </div>
        <div className="llmos-canvas__main">
          <Palette skills={skills} onAdd={(id) => addSkill(id)}>
            {!big && (
              // In the palette column, not over the graph: the minimap never covers a node.
              <div className="llmos-minimap">
                <MiniMap pannable zoomable style={{ width: 176, height: 110 }}
                  bgColor="var(--llmos-bg2)" maskColor="var(--llmos-mask)"
                  nodeClassName={(n) => `llmos-mm llmos-mm--${statuses[n.id]?.status ?? 'idle'}` +
                    (skipInfo(statuses[n.id])?.kind === 'branch' ? ' llmos-mm--skip-branch' : '')} />
              </div>
            )}
          </Palette>
          <div className="llmos-flow" ref={wrapper} onDrop={onDrop} onDragOver={onDragOver}
            data-lod={lod ? 'true' : 'false'}>
            <ReactFlow
              nodes={lod ? NO_NODES : rfNodes}
              edges={lod ? NO_EDGES : rfEdges}
              nodeTypes={nodeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onConnectEnd={onConnectEnd}
              isValidConnection={isValidConnection}
              onDelete={onDelete}
              onNodeDragStop={onNodeDragStop}
              onPaneClick={selectBox}
              deleteKeyCode={null}
              multiSelectionKeyCode={['Meta', 'Control', 'Shift']}
              fitView={!big}
              defaultViewport={{ x: 40, y: 40, zoom: INITIAL_ZOOM }}
              fitViewOptions={{ padding: 0.15, minZoom: READABLE_ZOOM, maxZoom: 1.25 }}
              minZoom={0.01}
              onlyRenderVisibleElements={big}
              proOptions={{ hideAttribution: true }}
            >
              <Background variant={BackgroundVariant.Dots} gap={20} size={1} />
              <Controls showInteractive={false}
                fitViewOptions={{ padding: 0.15, minZoom: READABLE_ZOOM, maxZoom: 1.25, duration: 200 }} />
            </ReactFlow>
            {lod && <LodLayer nodes={doc.nodes} edges={doc.edges} display={display} sizes={sizes}
              skills={skillIndex} statuses={statuses} selected={selected} />}
          </div>
          <SidePanel doc={doc} skills={skillIndex} selected={selected} statuses={statuses}
            previews={previews} problems={shownProblems} onShowNode={showNode}
            onSetParam={(node, port, value) => dispatch({ type: 'setParam', node, port, value })}
            onRename={(node, to) => dispatch({ type: 'rename', node, to })}
            onDelete={(nodes) => remove(nodes)}
            onAction={send} canOpenFiles={canOpenFiles} logs={logs} nodePorts={nodePorts} />
        </div>
      </div>
    </CanvasContext.Provider>
  );
}

const NO_NODES: SkillFlowNode[] = [];
const NO_LOGS: Record<string, unknown> = {};
const NO_EDGES: Edge[] = [];
/** Below this zoom nodes are boxes (a 240 px node is < 110 px wide, its text < 6 px). */
export const LOD_ZOOM = 0.45;

/**
 * The level-of-detail view: every node as a box in its status colour (its id inside when
 * the box is wide enough to hold it at ≥ 11 px), wires as lines, on one 2D canvas
 * redrawn once per frame from React Flow's viewport. Only what is in view is drawn.
 * Colours come from JupyterLab's CSS variables (read from the computed style).
 */
function LodLayer({ nodes, edges, display, sizes, skills, statuses, selected }: {
  nodes: Doc['nodes']; edges: Doc['edges']; display: Record<string, { x: number; y: number }> | null;
  sizes: Record<string, { width: number; height: number }>; skills: ReturnType<typeof indexSkills>;
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

export function App({ model }: { model: WidgetModel }) {
  const height = useTrait<number>(model, 'height') ?? 600;
  const root = useRef<HTMLDivElement>(null);
  return (
    <div className="llmos-canvas" style={{ height }} data-lm-suppress-shortcuts="true" tabIndex={-1}
      ref={root}>
      <ReactFlowProvider>
        <Canvas model={model} root={root} />
      </ReactFlowProvider>
    </div>
  );
}
