/**
 * The Agent System view: a toolbar (input JSON, Run, Cancel, the run's status), the
 * problems of the file, the actors as a React Flow graph (scope boxes holding actor
 * nodes with live counters) and the message log beside it. Every string shown comes from
 * the system file, its actors or the kernel: React text nodes only, never HTML.
 *
 * Shared by the JupyterLab document (lab/agentsDoc.tsx: input, Run, Cancel) and the
 * notebook's `AgentsView` anywidget (agentsWidget.tsx: no `onRun`, so no input or Run
 * button; its Cancel is labelled Stop).
 */
import {
  Background,
  BaseEdge,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useInternalNode,
  useReactFlow,
  type Edge,
  type EdgeProps,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import React, { createContext, memo, useContext, useEffect, useMemo } from 'react';

import {
  curvedEdge,
  edgeLabel,
  problemText,
  viewGraph,
  type ActorState,
  type AgentGraph,
  type AgentGraphNode,
  type AgentProblem,
  type RunState,
} from './agentsLogic';

export interface AgentsViewProps {
  name: string;
  description: string;
  graph: AgentGraph;
  problems: AgentProblem[];
  run: RunState;
  /** `idle` | `running` | the outcome's status (`exited`, `failed`, `timeout`…) | `invalid` | `error`. */
  status: string;
  message: string;
  input: string;
  running: boolean;
  onInput: (text: string) => void;
  /** Absent: the view only follows a run started elsewhere (no input field, no Run button). */
  onRun?: () => void;
  onCancel: () => void;
  /** The cancel button's label (default `Cancel`). */
  cancelLabel?: string;
}

const ActorsContext = createContext<Record<string, ActorState>>({});

type ScopeFlowNode = Node<AgentGraphNode['data'], 'scope'>;
type ActorFlowNode = Node<AgentGraphNode['data'], 'actor'>;

const ScopeNode = memo(function ScopeNode({ data }: NodeProps<ScopeFlowNode>) {
  return (
    <div className="llmos-AgentScope" data-scope={data.scope}>
      <div className="llmos-AgentScope-title">
        <span className="llmos-AgentScope-id">{`scope ${data.scope ?? ''}`}</span>
        {data.strategy ? <span className="llmos-AgentScope-strategy">{data.strategy}</span> : null}
        {data.dynamic ? <span className="llmos-AgentScope-strategy">spawned</span> : null}
      </div>
    </div>
  );
});

const ActorNode = memo(function ActorNode({ id, data }: NodeProps<ActorFlowNode>) {
  const live = useContext(ActorsContext)[id];
  const status = live?.status ?? 'idle';
  return (
    <div className="llmos-AgentActor" data-actor={id} data-status={status}
      data-handled={live?.handled ?? 0} data-restarts={live?.restarts ?? 0}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="llmos-AgentActor-head">
        <span className="llmos-AgentActor-id">{id}</span>
        <span className={`llmos-AgentActor-status llmos-status-${status.replace(/[^a-z_-]/gi, '')}`}>{status}</span>
      </div>
      <div className="llmos-AgentActor-skill" title={(data.subscribes ?? []).length ? `subscribes: ${(data.subscribes ?? []).join(', ')}` : undefined}>
        {data.dynamic ? `${data.skill ?? ''} (spawned)` : (data.skill ?? '')}
      </div>
      <div className="llmos-AgentActor-counters">
        <span className="llmos-AgentActor-handled">{`handled ${live?.handled ?? 0}`}</span>
        <span className="llmos-AgentActor-restarts">{`restarts ${live?.restarts ?? 0}`}</span>
        {live?.failed ? <span className="llmos-AgentActor-failed">{`failed ${live.failed}`}</span> : null}
      </div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});

const nodeTypes = { scope: ScopeNode, actor: ActorNode };

/** A message edge: a curve between the two actors' boxes (see `curvedEdge`). */
function MessageEdge({ source, target, label, markerEnd, style }: EdgeProps) {
  const a = useInternalNode(source);
  const b = useInternalNode(target);
  if (!a || !b) return null;
  const box = (n: typeof a) => ({
    x: n.internals.positionAbsolute.x, y: n.internals.positionAbsolute.y,
    width: n.measured.width ?? 180, height: n.measured.height ?? 60,
  });
  const { path, labelX, labelY } = curvedEdge(box(a), box(b));
  return <BaseEdge path={path} label={label} labelX={labelX} labelY={labelY} markerEnd={markerEnd} style={style} />;
}

const edgeTypes = { message: MessageEdge };

function Graph({ graph, run }: { graph: AgentGraph; run: RunState }) {
  const { nodes, edges } = useMemo(() => {
    const g = viewGraph(graph, run);
    const nodes: Node[] = g.nodes.map((n) => ({
      id: n.id, type: n.type, position: n.position, data: n.data, parentId: n.parentId,
      extent: n.extent, style: n.style, draggable: n.type === 'actor', selectable: n.type === 'actor',
      className: n.type === 'scope' ? 'llmos-AgentScopeNode' : 'llmos-AgentActorNode',
      zIndex: n.type === 'scope' ? 0 : 1,
    }));
    const edges: Edge[] = g.edges.map((e) => ({
      id: e.id, source: e.source, target: e.target, label: edgeLabel(e.label, e.count), type: 'message',
      markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
      animated: e.count > 0, className: e.observed ? 'llmos-AgentEdge llmos-AgentEdge-observed' : 'llmos-AgentEdge',
      data: { type: e.label, count: e.count }, zIndex: 2,
    }));
    return { nodes, edges };
  }, [graph, run]);
  // Actors spawned while the system runs add boxes: keep them all in view.
  const rf = useReactFlow();
  useEffect(() => {
    if (!nodes.length) return;
    const t = window.setTimeout(() => void rf.fitView({ padding: 0.1, duration: 200 }), 50);
    return () => window.clearTimeout(t);
  }, [nodes.length, rf]);
  return (
    <ActorsContext.Provider value={run.actors}>
      <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} edgeTypes={edgeTypes} fitView minZoom={0.2}
        nodesConnectable={false} proOptions={{ hideAttribution: true }}>
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </ActorsContext.Provider>
  );
}

function MessageLog({ run }: { run: RunState }) {
  return (
    <div className="llmos-AgentLog" data-count={run.log.length} data-live={run.live}>
      <div className="llmos-AgentLog-title">{`Messages (${run.log.length})`}</div>
      <div className="llmos-AgentLog-scroll">
        <table className="llmos-AgentLog-table">
          <thead>
            <tr><th>id</th><th>sender → receiver</th><th>type</th><th>status</th><th>payload</th></tr>
          </thead>
          <tbody>
            {run.log.map((m, i) => (
              <tr key={`${m.id}:${m.receiver}:${i}`} className="llmos-AgentLog-row" data-status={m.status}
                data-type={m.type} data-sender={m.sender} data-receiver={m.receiver}>
                <td className="llmos-AgentLog-id">{m.id}</td>
                <td className="llmos-AgentLog-route">{`${m.sender} → ${m.receiver}`}</td>
                <td className="llmos-AgentLog-type">{m.type}</td>
                <td className="llmos-AgentLog-status">{m.status}</td>
                <td className="llmos-AgentLog-payload" title={m.preview}>{m.preview}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function AgentsView(p: AgentsViewProps) {
  const onRun = p.onRun;
  const errors = p.problems.filter((x) => x.severity === 'error');
  return (
    <div className="llmos-AgentsView" data-status={p.status} data-valid={errors.length ? 'false' : 'true'}>
      <div className="llmos-AgentsView-bar">
        <span className="llmos-AgentsView-name" title={p.description}>{p.name}</span>
        {onRun ? (
          <>
            <label className="llmos-AgentsView-inputLabel">
              input
              <input className="llmos-AgentsView-input" type="text" spellCheck={false} value={p.input}
                placeholder='JSON, e.g. {"rounds": 3}' onChange={(e) => p.onInput(e.target.value)}
                onKeyDown={(e) => { if (e.key === 'Enter' && !p.running) onRun(); }} />
            </label>
            <button className="jp-Button jp-mod-styled jp-mod-accept llmos-AgentsView-run" data-action="run" type="button"
              disabled={p.running || errors.length > 0} onClick={() => onRun()}>Run</button>
          </>
        ) : null}
        <button className="jp-Button jp-mod-styled jp-mod-reject llmos-AgentsView-cancel" data-action="cancel" type="button"
          disabled={!p.running} onClick={() => p.onCancel()}>{p.cancelLabel ?? 'Cancel'}</button>
        <span className="llmos-AgentsView-message" data-status={p.status}>{p.message}</span>
      </div>
      {p.problems.length ? (
        <ul className="llmos-AgentsView-problems">
          {p.problems.map((x, i) => (
            <li key={i} className={`llmos-AgentProblem llmos-AgentProblem-${x.severity === 'warning' ? 'warning' : 'error'}`}
              data-line={x.line ?? ''} data-code={x.code}>{problemText(x)}</li>
          ))}
        </ul>
      ) : null}
      <div className="llmos-AgentsView-main">
        <div className="llmos-AgentsView-graph">
          <ReactFlowProvider>
            <Graph graph={p.graph} run={p.run} />
          </ReactFlowProvider>
        </div>
        <MessageLog run={p.run} />
      </div>
    </div>
  );
}
