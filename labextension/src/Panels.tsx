/** The palette (skills to drag onto the canvas) and the side panel (the selected node). */
import { useReactFlow } from '@xyflow/react';
import React, { useContext, useLayoutEffect, useMemo, useRef, useState } from 'react';

import {
  formatElapsed, MCP_TOOL_SKILL, mcpArgumentLines, mcpToolMatches, nodeSkill, portColor, PORT_COLORS,
  workflowWithNode, type Doc, type McpServerInfo, type McpToolEntry, type McpToolsState, type SkillIndex,
} from './logic';
import { CONTROL_CATEGORY, isControl, skipInfo } from './control';
import { ControlIcon } from './ControlIcon';
import { CanvasContext, PreviewView, ProgressView, StatusBadge } from './SkillNode';
import { useTrait, type WidgetModel } from './model';
import { isNodeLog, logText, type NodeLog } from './nodeLog';
import type { NodePorts, Port, Preview, Problem, SkillSummary, StatusInfo, WfNode, WorkflowJSON } from './types';

export const DND_TYPE = 'application/x-llmos-skill';

export function Palette({ skills, onAdd, children }: {
  skills: SkillSummary[];
  onAdd: (skillId: string) => void;
  children?: React.ReactNode;
}) {
  const [query, setQuery] = useState('');
  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const out = new Map<string, SkillSummary[]>();
    for (const s of skills) {
      if (s.executable === false) continue;
      const hay = `${s.id} ${s.name} ${s.description ?? ''} ${(s.tags ?? []).join(' ')} ${s.category}`;
      if (q && !hay.toLowerCase().includes(q)) continue;
      out.set(s.category, [...(out.get(s.category) ?? []), s]);
    }
    // Control nodes (condition, map, …) first: they shape every workflow.
    return [...out.entries()].sort(([a], [b]) =>
      Number(b === CONTROL_CATEGORY) - Number(a === CONTROL_CATEGORY) || a.localeCompare(b));
  }, [skills, query]);
  // The MCP group needs the canvas' model (its mcp_* traits); a host without them shows none.
  const model = useContext(CanvasContext)?.model;
  return (
    <aside className="llmos-palette" aria-label="Skill palette">
      <input className="llmos-palette__search" type="search" placeholder="Search skills…"
        aria-label="Search skills" value={query} onChange={(e) => setQuery(e.target.value)} />
      <div className="llmos-palette__list">
        {groups.length === 0 && <div className="llmos-muted">No skill matches.</div>}
        {groups.map(([category, list]) => (
          <details key={category} open className="llmos-palette__group" data-category={category}>
            <summary>{category} <span className="llmos-muted">{list.length}</span></summary>
            {list.map((s) => (
              <div
                key={s.id}
                className={`llmos-palette__item${isControl(s) ? ' llmos-palette__item--control' : ''}`}
                data-skill-id={s.id}
                data-control={isControl(s) ? 'true' : undefined}
                draggable
                tabIndex={0}
                role="button"
                aria-label={`Add skill ${s.name}`}
                title={`${s.description ?? ''}\nDrag onto the canvas, or press Enter to add.`}
                onDragStart={(e) => {
                  e.dataTransfer.setData(DND_TYPE, s.id);
                  e.dataTransfer.setData('text/plain', s.id);
                  e.dataTransfer.effectAllowed = 'move';
                }}
                onDoubleClick={() => onAdd(s.id)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') onAdd(s.id);
                }}
              >
                <span className="llmos-palette__name">
                  {isControl(s) && <ControlIcon skill={s.id} className="llmos-palette__icon" />}
                  {s.name}</span>
                {s.trusted === false && <UntrustedBadge />}
                <span className="llmos-palette__ports">
                  {s.inputs.map((p) => (
                    <i key={`i${p.name}`} style={{ background: portColor(p.type) }} title={`in ${p.name}: ${p.type}`} />
                  ))}
                  <b>→</b>
                  {s.outputs.map((p) => (
                    <i key={`o${p.name}`} style={{ background: portColor(p.type) }} title={`out ${p.name}: ${p.type}`} />
                  ))}
                </span>
              </div>
            ))}
          </details>
        ))}
        {model && <McpGroup model={model} query={query.trim().toLowerCase()} />}
      </div>
      <div className="llmos-legend" aria-label="Port types">
        {Object.entries(PORT_COLORS).map(([t, c]) => (
          <span key={t}><i style={{ background: c }} />{t}</span>
        ))}
      </div>
      {children}
    </aside>
  );
}

/**
 * The palette's "MCP" group: each MCP server configured in config.toml (`mcp_servers`
 * trait) with a "Load tools" button; the host lists its tools (action `mcp-tools`, in
 * the background, bounded) into `mcp_tools`, and each tool is an entry that adds an
 * `mcp-tool` node with `server`, `tool` and the schema's default `arguments` prefilled,
 * at the centre of the view (through the `workflow` trait: an undoable edit). Names,
 * titles and descriptions come from the server: shown as text, never as HTML. Hidden
 * when the host lists no servers.
 */
function McpGroup({ model, query }: { model: WidgetModel; query: string }) {
  const servers = useTrait<McpServerInfo[] | undefined>(model, 'mcp_servers') ?? [];
  const tools = useTrait<Record<string, McpToolsState> | undefined>(model, 'mcp_tools') ?? {};
  const rf = useReactFlow();
  const group = useRef<HTMLDetailsElement>(null);
  if (!servers.length) return null;
  const add = (tool: McpToolEntry) => {
    const flow = group.current?.closest('.llmos-canvas__main')?.querySelector('.llmos-flow');
    const box = flow?.getBoundingClientRect();
    const at = box ? rf.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 })
      : { x: 0, y: 0 };
    const { workflow } = workflowWithNode(model.get('workflow') as WorkflowJSON, MCP_TOOL_SKILL,
      tool.params, at, `mcp-${tool.params.tool}`);
    model.set('workflow', workflow);
    model.save_changes();
  };
  return (
    <McpGroupView ref={group} servers={servers} tools={tools} query={query} onAdd={add}
      onLoad={(server, refresh) => model.send({ action: 'mcp-tools', server, refresh })} />
  );
}

/** The MCP group as markup (no hooks: rendered by tests without a DOM). */
export const McpGroupView = React.forwardRef<HTMLDetailsElement, {
  servers: McpServerInfo[];
  tools: Record<string, McpToolsState>;
  /** lowercase, trimmed; '' shows every tool */
  query: string;
  onAdd: (tool: McpToolEntry) => void;
  onLoad: (server: string, refresh: boolean) => void;
}>(function McpGroupView({ servers, tools, query, onAdd, onLoad }, ref) {
  return (
    <details ref={ref} open className="llmos-palette__group llmos-palette__group--mcp" data-category="MCP">
      <summary>MCP <span className="llmos-muted">{servers.length}</span></summary>
      {servers.map((s) => {
        const state = tools[s.name];
        const loading = state?.status === 'loading';
        const shown = state?.status === 'ok' ? state.tools.filter((t) => mcpToolMatches(t, query)) : [];
        return (
          <div key={s.name} className="llmos-mcp-server" data-mcp-server={s.name}
            data-mcp-status={state?.status ?? 'idle'}>
            <div className="llmos-mcp-server__head" title={s.label}
              style={{ display: 'flex', alignItems: 'center', gap: 4, margin: '2px 0' }}>
              <span className="llmos-palette__name" style={{ flex: 1, overflow: 'hidden', textOverflow: 'ellipsis' }}>
                {s.name}</span>
              <button type="button" data-action="mcp-load" disabled={loading || !!s.error}
                aria-label={`Load the tools of MCP server ${s.name}`}
                title={state?.status === 'ok' ? 'List the tools again' : 'Ask the server for its tools'}
                onClick={() => onLoad(s.name, state?.status === 'ok')}>
                {loading ? 'Loading…' : state?.status === 'ok' ? 'Reload' : 'Load tools'}</button>
            </div>
            {s.error && <div className="llmos-error" data-mcp-error="config">{s.error}</div>}
            {state?.status === 'error' && <div className="llmos-error" data-mcp-error="server">{state.error}</div>}
            {state?.status === 'ok' && state.tools.length === 0 && <div className="llmos-muted">No tools.</div>}
            {shown.map((t) => (
              <div key={t.params.tool} className="llmos-palette__item llmos-palette__item--mcp"
                data-mcp-tool={t.params.tool} tabIndex={0} role="button"
                aria-label={`Add MCP tool ${t.name} of ${s.name}`}
                title={[t.name, t.description, '', 'Arguments:', ...mcpArgumentLines(t), '',
                  'Click or press Enter to add an mcp-tool node.'].join('\n')}
                style={{ cursor: 'pointer' }}
                onClick={() => onAdd(t)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') {
                    onAdd(t);
                    e.preventDefault();
                  }
                }}>
                <span className="llmos-palette__name">{t.title || t.name}</span>
                <span className="llmos-muted llmos-mcp-args" style={{ fontSize: 11, display: 'block' }}>
                  {t.arguments.length ? t.arguments.map((a) => `${a.name}${a.required ? '' : '?'}`).join(', ')
                    : 'no arguments'}</span>
              </div>
            ))}
          </div>
        );
      })}
    </details>
  );
});

/** Parse what a parameter field holds into the port's type (undefined: clear). */
export function parseParam(port: Port, text: string): { value?: unknown; error?: string } {
  if (text.trim() === '') return { value: undefined };
  if (port.type === 'number' || port.type === 'integer') {
    const v = Number(text);
    if (!Number.isFinite(v)) return { error: `${port.name}: not a number` };
    if (port.type === 'integer' && !Number.isInteger(v)) return { error: `${port.name}: needs an integer` };
    if (port.minimum !== undefined && v < port.minimum) return { error: `${port.name}: minimum ${port.minimum}` };
    if (port.maximum !== undefined && v > port.maximum) return { error: `${port.name}: maximum ${port.maximum}` };
    return { value: v };
  }
  if (port.type === 'string') return { value: text };
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { error: `${port.name}: invalid JSON` };
  }
}

function ParamField({ node, port, value, wiredFrom, onSet }: {
  node: string; port: Port; value: unknown; wiredFrom?: string;
  onSet: (value: unknown) => void;
}) {
  const id = `llmos-param-${node}-${port.name}`;
  const isJson = !['number', 'integer', 'string', 'boolean'].includes(port.type) && !port.enum;
  const asText = value === undefined ? '' : isJson ? JSON.stringify(value, null, 1) : String(value);
  const [text, setText] = useState(asText);
  const [error, setError] = useState<string | undefined>();
  const [shown, setShown] = useState(asText);
  if (shown !== asText) { // the value changed elsewhere (undo, Python)
    setShown(asText);
    setText(asText);
  }
  const commit = (t: string) => {
    const r = parseParam(port, t);
    setError(r.error);
    if (!r.error) onSet(r.value);
  };
  const placeholder = port.default !== undefined ? `default ${JSON.stringify(port.default)}` : port.required === false ? 'optional' : 'required';
  let field: React.ReactNode;
  if (wiredFrom) {
    field = <span className="llmos-wired">← {wiredFrom}</span>;
  } else if (port.enum) {
    field = (
      <select id={id} value={value === undefined ? '' : JSON.stringify(value)}
        onChange={(e) => onSet(e.target.value === '' ? undefined : JSON.parse(e.target.value))}>
        <option value="">{port.default !== undefined ? `(default ${String(port.default)})` : '(unset)'}</option>
        {port.enum.map((v) => (
          <option key={JSON.stringify(v)} value={JSON.stringify(v)}>{String(v)}</option>
        ))}
      </select>
    );
  } else if (port.type === 'boolean') {
    const on = value === undefined ? Boolean(port.default) : Boolean(value);
    field = (
      <label className="llmos-switch">
        <input id={id} type="checkbox" role="switch" checked={on}
          onChange={(e) => onSet(e.target.checked)} />
        <span />
      </label>
    );
  } else if (isJson) {
    field = (
      <textarea id={id} rows={3} value={text} placeholder={placeholder}
        onChange={(e) => setText(e.target.value)} onBlur={() => commit(text)} />
    );
  } else {
    const numeric = port.type === 'number' || port.type === 'integer';
    field = (
      <span className="llmos-field">
        <input id={id} type={numeric ? 'number' : 'text'} value={text} placeholder={placeholder}
          step={port.type === 'integer' ? 1 : 'any'} min={port.minimum} max={port.maximum}
          onChange={(e) => setText(e.target.value)} onBlur={() => commit(text)}
          onKeyDown={(e) => { if (e.key === 'Enter') commit(text); }} />
        {port.unit && <span className="llmos-unit">{port.unit}</span>}
      </span>
    );
  }
  return (
    <div className="llmos-param" data-param={port.name}>
      <label htmlFor={id} title={port.description}>
        <i style={{ background: portColor(port.type) }} />{port.name}
        <span className="llmos-muted"> {port.type}{port.unit && !wiredFrom && port.type !== 'number' && port.type !== 'integer' ? ` (${port.unit})` : ''}</span>
      </label>
      {field}
      {error && <div className="llmos-error">{error}</div>}
    </div>
  );
}

function RenameField({ node, onRename }: { node: string; onRename: (to: string) => void }) {
  const [text, setText] = useState(node);
  const [shown, setShown] = useState(node);
  if (shown !== node) {
    setShown(node);
    setText(node);
  }
  return (
    <input className="llmos-rename" aria-label="Node id" value={text}
      onChange={(e) => setText(e.target.value)}
      onBlur={() => text !== node && onRename(text)}
      onKeyDown={(e) => { if (e.key === 'Enter') onRename(text); }} />
  );
}

/** Ports as a short list: coloured dot, name, type and unit (a sub-workflow's interface). */
function PortList({ title, ports }: { title: string; ports: Port[] }) {
  return (
    <div className="llmos-portlist" data-ports={title}>
      <span className="llmos-muted">{title}</span>
      {ports.length === 0 && <span className="llmos-muted"> nothing</span>}
      {ports.map((p) => (
        <span key={p.name} className="llmos-portlist__port" title={p.description ?? ''}>
          <i style={{ background: portColor(p.type) }} />{p.name}
          <span className="llmos-muted"> {p.type}{p.unit ? ` [${p.unit}]` : ''}</span>
        </span>))}
    </div>
  );
}

/** A skill the trust policy does not vouch for (`llmos_jupyter._trust.is_trusted`). */
export function UntrustedBadge() {
  return (
    <span className="llmos-untrusted" data-untrusted="true"
      title="Untrusted skill: its code has not been vouched for (not a system skill, not signed or reviewed). Read it before running.">
      untrusted
    </span>
  );
}

/**
 * A node's output while it runs and after (its live log: the last lines, as text only).
 * Follows new lines while scrolled to the bottom; scrolled up, it stays where it is.
 */
export function LogView({ node, log, running }: { node: string; log: NodeLog | undefined; running: boolean }) {
  // role=log: assistive technology announces the lines added, not the whole text again.
  const ref = useRef<HTMLPreElement>(null);
  const follow = useRef(true);
  const text = logText(log);
  const shownNode = useRef(node);
  useLayoutEffect(() => {
    if (shownNode.current !== node) {  // another node's log: start at its end
      shownNode.current = node;
      follow.current = true;
    }
    const el = ref.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [text, node]);
  if (!log || !log.total) return null;
  const dropped = log.total - log.lines.length;
  return (
    <div className="llmos-log" data-log={node}>
      <h4>Log <span className="llmos-muted">{log.total} line{log.total > 1 ? 's' : ''}
        {dropped > 0 ? ` (the last ${log.lines.length} shown)` : ''}{running ? ' · live' : ''}</span></h4>
      <pre ref={ref} className="llmos-log__text nowheel" tabIndex={0} aria-label={`Output of ${node}`}
        role="log"
        onScroll={(e) => {
          const el = e.currentTarget;
          follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
        }}>{text}</pre>
    </div>
  );
}

export function SidePanel({ doc, skills, selected, statuses, previews, problems, onSetParam,
  onRename, onDelete, onAction, onShowNode, canOpenFiles = false, logs = {}, nodePorts }: {
  doc: Doc;
  skills: SkillIndex;
  selected: string[];
  statuses: Record<string, StatusInfo>;
  previews: Record<string, Record<string, Preview>>;
  problems: Problem[];
  onSetParam: (node: string, port: string, value: unknown) => void;
  onRename: (node: string, to: string) => void;
  onDelete: (nodes: string[]) => void;
  onAction: (action: string, node?: string) => void;
  /** The host opens files (a control node's sub-workflow): JupyterLab documents do. */
  canOpenFiles?: boolean;
  onShowNode?: (node: string) => void;
  /** The nodes' live logs (`logs` trait); entries of another shape are not shown. */
  logs?: Record<string, unknown>;
  /** Control nodes' own ports, and the interface of the file a map/loop runs. */
  nodePorts?: Record<string, NodePorts>;
}) {
  const node: WfNode | undefined = selected.length === 1
    ? doc.nodes.find((n) => n.id === selected[0]) : undefined;
  if (!node) {
    return (
      <aside className="llmos-side" aria-label="Workflow details">
        <h3>{String(doc.meta.name ?? doc.meta.id ?? 'workflow')}</h3>
        <div className="llmos-muted">{doc.nodes.length} nodes · {doc.edges.length} edges</div>
        {selected.length > 1 && (
          <p>
            {selected.length} nodes selected.{' '}
            <button type="button" data-action="delete" onClick={() => onDelete(selected)}>Delete</button>
          </p>
        )}
        {problems.length > 0 ? (
          <div className="llmos-problems" data-problems={problems.length}>
            <h4>{problems.length} problem{problems.length > 1 ? 's' : ''}</h4>
            <ul>{problems.map((p, i) => (
              <li key={i}>
                {p.node ? (
                  <button type="button" className="llmos-link" data-show-node={p.node}
                    onClick={() => onShowNode?.(p.node!)}>{p.node}</button>
                ) : null}{p.node ? ': ' : null}{p.message}
              </li>))}
            </ul>
          </div>
        ) : (
          <p className="llmos-muted">{skills.size ? 'The workflow is valid. ' : ''}Select a node to edit it.</p>
        )}
        <p className="llmos-muted llmos-help">
          Drag skills from the palette; drag from an output to an input to wire them.
          Delete removes the selection, Ctrl/⌘+Z undoes, Ctrl/⌘+Shift+Z redoes, F fits the view.
        </p>
      </aside>
    );
  }
  const skill = nodeSkill(skills, node);
  const iface = nodePorts?.[node.id]?.interface;
  const info = statuses[node.id];
  const skip = skipInfo(info);
  const wired = new Map(doc.edges.filter((e) => e.target === node.id)
    .map((e) => [e.targetHandle, `${e.source}.${e.sourceHandle}`]));
  const pv = previews[node.id] ?? {};
  const params = node.data.params ?? {};
  return (
    <aside className="llmos-side" aria-label={`Node ${node.id}`} data-side-node={node.id}>
      <RenameField node={node.id} onRename={(to) => onRename(node.id, to)} />
      <div className="llmos-side__skill">
        {isControl(skill) && <ControlIcon skill={node.data.skill} className="llmos-node__icon" />}
        <b>{skill?.name ?? node.data.skill}</b> <span className="llmos-muted">{node.data.skill}</span>
        {skill?.trusted === false && <> <UntrustedBadge /></>}
      </div>
      {skill?.description && <p className="llmos-muted">{skill.description}</p>}
      <div className="llmos-side__status">
        <StatusBadge info={info} />
        {info?.elapsed_ms !== undefined && <span className="llmos-muted"> {formatElapsed(info.elapsed_ms)}</span>}
      </div>
      {info?.error && (skip
        // A skip is not an error: its reason in the skip's own colour, with its kind.
        ? <pre className={`llmos-skip-reason llmos-node__skip--${skip.kind}`} data-skip-reason={skip.kind}>{skip.label}: {skip.reason}</pre>
        : <pre className="llmos-error" role="alert">{info.error}</pre>)}
      <ProgressView info={info} />
      <div className="llmos-side__actions">
        <button type="button" data-action="run-node" aria-label={`Run ${node.id}`}
          onClick={() => onAction('run-node', node.id)}>Run node</button>
        <button type="button" data-action="run-downstream" aria-label={`Run ${node.id} and downstream`}
          onClick={() => onAction('run-downstream', node.id)}>Run + downstream</button>
        <button type="button" data-action="delete" aria-label={`Delete ${node.id}`}
          onClick={() => onDelete([node.id])}>Delete</button>
        {canOpenFiles && isControl(skill) && typeof params.workflow === 'string' && params.workflow && (
          <button type="button" data-action="open-subworkflow" title={`Open ${params.workflow}`}
            aria-label={`Open the sub-workflow of ${node.id}`}
            onClick={() => onAction('open-subworkflow', node.id)}>Open sub-workflow</button>)}
      </div>
      <LogView node={node.id} log={isNodeLog(logs[node.id]) ? logs[node.id] as NodeLog : undefined}
        running={info?.status === 'running'} />
      {iface && Array.isArray(iface.inputs) && Array.isArray(iface.outputs) && (
        <div className="llmos-interface" data-interface={node.id}>
          <h4>Each run of {typeof params.workflow === 'string' ? params.workflow : 'the sub-workflow'}</h4>
          <PortList title="takes" ports={iface.inputs} />
          <PortList title="gives" ports={iface.outputs} />
        </div>)}
      <h4>Parameters</h4>
      {(skill?.inputs ?? []).length === 0 && <div className="llmos-muted">No inputs.</div>}
      {(skill?.inputs ?? []).map((p) => (
        <ParamField key={`${node.id}/${p.name}`} node={node.id} port={p} value={params[p.name]}
          wiredFrom={wired.get(p.name)} onSet={(v) => onSetParam(node.id, p.name, v)} />
      ))}
      {Object.keys(pv).length > 0 && <h4>Outputs</h4>}
      {Object.entries(pv).map(([port, preview]) => (
        <PreviewView key={port} nodeId={node.id} port={port} preview={preview} large />
      ))}
    </aside>
  );
}
