/**
 * The anywidget entry point of `llmos_jupyter._widget.agents.AgentsView` (built to
 * llmos_jupyter/static/agents.js): an actor system as `%agents run` shows it in a notebook,
 * with the same React view as the JupyterLab Agent System document (lab/agentsView.tsx).
 *
 * Traits (all set by Python, which folds the runtime's events into them): `name`,
 * `description`, `graph` ({nodes, edges} of `_actors.graph.system_graph`), `problems`,
 * `status` (`running` | the outcome's status), `message`, `running`, `actors` ({id:
 * {id, skill, scope, status, restarts, handled, failed}}), `log` (the newest message log
 * entries, `LogEntry` shape), `live` (messages seen), `height` (pixels). The Stop button
 * sends `{action: 'stop'}`; Python cancels the run. Every string is rendered as text.
 */
import React from 'react';
import { createRoot } from 'react-dom/client';

import '@xyflow/react/dist/style.css';
import './lab/agents.css';

import type { ActorState, AgentGraph, AgentProblem, LogEntry, RunState } from './lab/agentsLogic';
import { AgentsView } from './lab/agentsView';
import { useTrait, type WidgetModel } from './model';

const EMPTY_GRAPH: AgentGraph = { nodes: [], edges: [] };

function AgentsWidget({ model }: { model: WidgetModel }) {
  const name = useTrait<string>(model, 'name') ?? '';
  const description = useTrait<string>(model, 'description') ?? '';
  const graph = useTrait<AgentGraph>(model, 'graph') ?? EMPTY_GRAPH;
  const problems = useTrait<AgentProblem[]>(model, 'problems') ?? [];
  const status = useTrait<string>(model, 'status') ?? 'idle';
  const message = useTrait<string>(model, 'message') ?? '';
  const running = useTrait<boolean>(model, 'running') ?? false;
  const actors = useTrait<Record<string, ActorState>>(model, 'actors') ?? {};
  const log = useTrait<LogEntry[]>(model, 'log') ?? [];
  const live = useTrait<number>(model, 'live') ?? 0;
  const height = useTrait<number>(model, 'height') ?? 460;
  // A new object only when a trait changed (the graph memoizes on it).
  const run: RunState = React.useMemo(() => ({ actors, log, live }), [actors, log, live]);
  return (
    <div className="llmos-AgentSystemView llmos-AgentsWidget" data-run-status={status}
      style={{ height: `${Math.max(200, height)}px` }}>
      <AgentsView name={name} description={description} graph={graph} problems={problems} run={run}
        status={status} message={message} input="" running={running} onInput={() => undefined}
        onCancel={() => model.send({ action: 'stop' })} cancelLabel="Stop" />
    </div>
  );
}

function render({ model, el }: { model: WidgetModel; el: HTMLElement }) {
  el.classList.add('llmos-agents-host');
  const root = createRoot(el);
  root.render(<AgentsWidget model={model} />);
  return () => root.unmount();
}

export default { render };
