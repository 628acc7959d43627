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
  historyReducer,
  indexSkills,
  initHistory,
  portColor,
  workflowFromDoc,
  type Action,
} from './logic';
import { useTrait, type WidgetModel } from './model';
import { DND_TYPE, Palette, SidePanel } from './Panels';
import { CanvasContext, SkillNode, type SkillFlowNode } from './SkillNode';
import type { Preview, Problem, SkillSummary, StatusInfo, WorkflowJSON } from './types';

const nodeTypes = { skill: SkillNode };

const STATUS_COLORS: Record<string, string> = {
  idle: '#9aa5b1', queued: '#b0bec5', running: '#2f6fde', completed: '#2e9e5b',
  cached: '#16a3b8', failed: '#c0392b', skipped: '#d9822b',
};

interface Notice { text: string; kind: 'info' | 'refused' | 'error' }

function Canvas({ model, root }: { model: WidgetModel; root: React.RefObject<HTMLDivElement> }) {
  const rf = useReactFlow();
  const skills = useTrait<SkillSummary[]>(model, 'skills') ?? [];
  const statuses = useTrait<Record<string, StatusInfo>>(model, 'statuses') ?? {};
  const previews = useTrait<Record<string, Record<string, Preview>>>(model, 'previews') ?? {};
  const problems = useTrait<Problem[]>(model, 'errors') ?? [];
  const message = useTrait<string>(model, 'message') ?? '';
  const running = useTrait<boolean>(model, 'running') ?? false;
  const layoutDirection = useTrait<'LR' | 'TB'>(model, 'layout_direction') === 'TB' ? 'TB' : 'LR';
  const skillIndex = useMemo(() => indexSkills(skills), [skills]);

  const [hist, dispatchRaw] = useReducer(historyReducer, model.get('workflow') as WorkflowJSON, initHistory);
  const doc = hist.present;
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
      dispatch({ type: 'load', workflow: wf });
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
  const [rfNodes, setRfNodes] = useState<SkillFlowNode[]>([]);
  useEffect(() => {
    setRfNodes((prev) => {
      const byId = new Map(prev.map((n) => [n.id, n]));
      return doc.nodes.map((n) => {
        const old = byId.get(n.id);
        return {
          id: n.id,
          type: 'skill',
          position: n.position,
          data: n.data,
          selected: old?.selected ?? false,
          measured: old?.measured,
        } as SkillFlowNode;
      });
    });
  }, [doc.nodes]);
  const onNodesChange = useCallback((changes: NodeChange<SkillFlowNode>[]) => {
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
      for (const p of skillIndex.get(n.data.skill)?.outputs ?? []) types.set(`${n.id}.${p.name}`, p.type);
    }
    return doc.edges.map((e) => {
      const src = statuses[e.source]?.status;
      return {
        id: e.id, source: e.source, sourceHandle: e.sourceHandle, target: e.target,
        targetHandle: e.targetHandle, selected: selectedEdges.has(e.id),
        animated: src === 'running' || statuses[e.target]?.status === 'running',
        style: { stroke: portColor(types.get(`${e.source}.${e.sourceHandle}`)), strokeWidth: 2 },
      };
    });
  }, [doc.edges, doc.nodes, skillIndex, selectedEdges, statuses]);
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

  const problemsByNode = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const p of problems) if (p.node) m.set(p.node, [...(m.get(p.node) ?? []), p.message]);
    return m;
  }, [problems]);

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

  const layout = useCallback(() => {
    const sizes: Record<string, { width: number; height: number }> = {};
    for (const n of rfNodes) {
      if (n.measured?.width && n.measured?.height) sizes[n.id] = { width: n.measured.width, height: n.measured.height };
    }
    dispatch({ type: 'layout', positions: autoLayout(doc, skillIndex, sizes, layoutDirection) });
    requestAnimationFrame(() => rf.fitView({ padding: 0.15, duration: 200 }));
  }, [rfNodes, doc, skillIndex, dispatch, rf, layoutDirection]);
  const fit = useCallback(() => rf.fitView({ padding: 0.15, duration: 200 }), [rf]);
  // A skill dropped on the host widget (a Lumino drag from JupyterLab's skill library):
  // screen coordinates, so the node lands under the pointer.
  const addAt = useCallback((skill: string, x: number, y: number, id?: string) => {
    dispatch({ type: 'addNode', skill, position: rf.screenToFlowPosition({ x, y }), id });
  }, [rf, dispatch]);
  // Commands from the host (JupyterLab's palette, or Python): {command: 'fit' | 'layout'}
  // or {command: 'add-node', skill, x, y, id?}.
  const commands = useRef({ fit, layout, addAt });
  commands.current = { fit, layout, addAt };
  useEffect(() => {
    const onMsg = (msg: { command?: string; skill?: string; x?: number; y?: number; id?: string }) => {
      if (msg?.command === 'fit') commands.current.fit();
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
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    if (mod && key === 'z') {
      dispatch({ type: e.shiftKey ? 'redo' : 'undo' });
    } else if (mod && key === 'y') {
      dispatch({ type: 'redo' });
    } else if (!mod && !e.altKey && key === 'f') {
      fit();
    } else if (!mod && !e.altKey && key === 'l') {
      layout();
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation();
  }, [dispatch, fit, layout]);
  const keyHandler = useRef(onKeyDown);
  keyHandler.current = onKeyDown;
  useEffect(() => {
    // The canvas is "active" from a pointer press inside it until one outside. Keys go to
    // a capturing window listener while it is active, so they still work when the focused
    // node was deleted and JupyterLab moved the focus to an ancestor of the canvas.
    let active = false;
    const onPointer = (e: PointerEvent) => {
      active = !!root.current && root.current.contains(e.target as Node);
    };
    const onKey = (e: KeyboardEvent) => {
      const el = root.current;
      const t = e.target as HTMLElement | null;
      if (!el || !t) return;
      const inside = el.contains(t);
      if (!inside && !(active && (t === document.body || t.contains(el)))) return;
      keyHandler.current(e);
    };
    document.addEventListener('pointerdown', onPointer, true);
    window.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('pointerdown', onPointer, true);
      window.removeEventListener('keydown', onKey, true);
    };
  }, [root]);

  const ctx = useMemo(() => ({ model, skills: skillIndex, problems: problemsByNode }),
    [model, skillIndex, problemsByNode]);
  const big = doc.nodes.length > 200;
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const n of doc.nodes) {
      const s = statuses[n.id]?.status ?? 'idle';
      c[s] = (c[s] ?? 0) + 1;
    }
    return c;
  }, [doc.nodes, statuses]);

  return (
    <CanvasContext.Provider value={ctx}>
      <div className="llmos-canvas__body">
        <div className="llmos-toolbar" role="toolbar" aria-label="Canvas">
          <button type="button" data-action="run" aria-label="Run workflow" title="Run the workflow"
            onClick={() => send('run')}>▶ Run</button>
          <button type="button" data-action="cancel" aria-label="Cancel run" title="Cancel the run"
            disabled={!running} onClick={() => send('cancel')}>■ Cancel</button>
          <span className="llmos-sep" />
          <button type="button" data-action="fit" aria-label="Fit view" title="Fit view (F)" onClick={fit}>⤢ Fit</button>
          <button type="button" data-action="layout" aria-label="Auto-layout" title="Auto-layout (L)" onClick={layout}>⇶ Layout</button>
          <button type="button" data-action="undo" aria-label="Undo" title="Undo (Ctrl/⌘+Z)"
            disabled={!hist.past.length} onClick={() => dispatch({ type: 'undo' })}>↶</button>
          <button type="button" data-action="redo" aria-label="Redo" title="Redo (Ctrl/⌘+Shift+Z)"
            disabled={!hist.future.length} onClick={() => dispatch({ type: 'redo' })}>↷</button>
          <span className="llmos-sep" />
          <span className="llmos-counts" aria-live="polite">
            {Object.entries(counts).map(([s, n]) => (
              <span key={s} className={`llmos-count llmos-badge--${s}`}>{n} {s}</span>
            ))}
          </span>
          <span className={`llmos-notice llmos-notice--${notice?.kind ?? 'info'}`} role="status"
            data-notice={notice?.kind ?? (message ? 'message' : '')}>
            {notice?.text ?? message}
          </span>
        </div>
        <div className="llmos-canvas__main">
          <Palette skills={skills} onAdd={(id) => addSkill(id)} />
          <div className="llmos-flow" ref={wrapper} onDrop={onDrop} onDragOver={onDragOver}>
            <ReactFlow
              nodes={rfNodes}
              edges={rfEdges}
              nodeTypes={nodeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onConnectEnd={onConnectEnd}
              isValidConnection={isValidConnection}
              onDelete={onDelete}
              onNodeDragStop={onNodeDragStop}
              deleteKeyCode={['Delete', 'Backspace']}
              multiSelectionKeyCode={['Meta', 'Control', 'Shift']}
              fitView={!big}
              defaultViewport={{ x: 40, y: 40, zoom: 0.8 }}
              fitViewOptions={{ padding: 0.15 }}
              minZoom={0.05}
              onlyRenderVisibleElements={big}
              proOptions={{ hideAttribution: true }}
            >
              <Background variant={BackgroundVariant.Dots} gap={20} size={1} />
              <Controls showInteractive={false} />
              {!big && (
                <MiniMap pannable zoomable style={{ width: 150, height: 96 }}
                  nodeColor={(n) => STATUS_COLORS[statuses[n.id]?.status ?? 'idle'] ?? '#999'} />
              )}
            </ReactFlow>
          </div>
          <SidePanel doc={doc} skills={skillIndex} selected={selected} statuses={statuses}
            previews={previews} problems={problems}
            onSetParam={(node, port, value) => dispatch({ type: 'setParam', node, port, value })}
            onRename={(node, to) => dispatch({ type: 'rename', node, to })}
            onDelete={(nodes) => remove(nodes)}
            onAction={send} />
        </div>
      </div>
    </CanvasContext.Provider>
  );
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
