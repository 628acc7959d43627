/** A skill node: title, status badge, typed port handles, output previews. */
import { Handle, Position, useUpdateNodeInternals, type Node, type NodeProps } from '@xyflow/react';
import React, { createContext, memo, useContext, useEffect, useRef, useState } from 'react';

import { isControl, progressOf, skipInfo, type NodeState } from './control';
import { ControlIcon } from './ControlIcon';
import { formatElapsed, formatNumber, nodeSkill, portColor, PREVIEW_CAP, safeUrl, sparklinePath, type SkillIndex } from './logic';
import { useNodeEntry, useNodeSelect, type WidgetModel } from './model';
import { isNodeLog, lastLine } from './nodeLog';
import { NetlistView } from './NetlistView';
import { ScenePreview } from './ScenePreview';
import type { Preview, StatusInfo, WfNode } from './types';

export interface CanvasContextValue {
  model: WidgetModel;
  skills: SkillIndex;
  problems: Map<string, string[]>;
}

export const CanvasContext = createContext<CanvasContextValue | null>(null);

export type SkillFlowNode = Node<WfNode['data'], 'skill'>;

const STATUS_TEXT: Record<string, string> = {
  idle: 'idle', queued: 'queued', running: 'running', completed: 'done', cached: 'cached',
  failed: 'failed', skipped: 'skipped',
};

/** Elapsed time of a node: ticks locally while running, the engine's figure after. */
function useElapsed(info: StatusInfo | undefined): number | undefined {
  const running = info?.status === 'running';
  const [now, setNow] = useState(0);
  const [start, setStart] = useState<number | null>(null);
  useEffect(() => {
    if (!running) {
      setStart(null);
      return;
    }
    const t0 = performance.now();
    setStart(t0);
    setNow(t0);
    const timer = setInterval(() => setNow(performance.now()), 100);
    return () => clearInterval(timer);
  }, [running]);
  if (running && start !== null) return now - start;
  return info?.elapsed_ms;
}

export function StatusBadge({ info }: { info: StatusInfo | undefined }) {
  const status = info?.status ?? 'idle';
  const elapsed = useElapsed(info);
  const showTime = elapsed !== undefined && ['running', 'completed', 'failed'].includes(status);
  // An untaken branch is the expected outcome of a condition, not a failure: say so.
  const skip = skipInfo(info);
  const text = skip?.kind === 'branch' ? 'not taken' : STATUS_TEXT[status] ?? status;
  return (
    <span className={`llmos-badge llmos-badge--${status}${skip ? ` llmos-badge--skip-${skip.kind}` : ''}`}
      title={info?.error ?? status}>
      {status === 'running' && <span className="llmos-spinner" aria-hidden="true" />}
      {text}
      {showTime && <span className="llmos-badge__time"> {formatElapsed(elapsed!)}</span>}
    </span>
  );
}

/** A running node's `i / N` (a `map` over its items) and a thin bar under it. */
export function ProgressView({ info }: { info: NodeState | undefined }) {
  const p = progressOf(info);
  if (!p) return null;
  return (
    <div className="llmos-progress" data-progress={`${p.done}/${p.total}`}>
      <span className="llmos-progress__text">{p.text}</span>
      <div className="llmos-progress__bar" role="progressbar" aria-label="items done"
        aria-valuemin={0} aria-valuemax={p.total} aria-valuenow={p.done} aria-valuetext={p.text}>
        <div className="llmos-progress__fill" style={{ width: `${(p.fraction * 100).toFixed(1)}%` }} />
      </div>
    </div>
  );
}

export function Sparkline({ values, width = 180, height = 36 }: {
  values: number[]; width?: number; height?: number;
}) {
  const d = sparklinePath(values, width, height);
  if (!d) return null;
  return (
    <svg className="llmos-sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`}
      role="img" aria-label={`sparkline of ${values.length} values`}>
      <path d={d} fill="none" stroke="currentColor" strokeWidth={1.5} />
    </svg>
  );
}

/** Text that is long collapses to `limit` characters, with a control to expand it. */
export function Collapsible({ text, limit = 160, pre = false }: { text: string; limit?: number; pre?: boolean }) {
  const [open, setOpen] = useState(false);
  const long = text.length > limit || text.split('\n').length > 6;
  const shown = !long || open ? text : `${text.slice(0, limit).split('\n').slice(0, 6).join('\n')}…`;
  return (
    <span className="llmos-collapsible" data-expanded={String(!long || open)}>
      {pre ? <pre>{shown}</pre> : <span className="llmos-preview__short">{shown}</span>}
      {long && (
        <button type="button" className="llmos-link nodrag" data-action="expand" aria-expanded={open}
          onClick={(e) => { e.stopPropagation(); setOpen(!open); }}>{open ? 'collapse' : `expand (${text.length} chars)`}</button>
      )}
    </span>
  );
}

/** An output image; a click opens it large, over the canvas (a click or Escape closes it). */
export function ImagePreview({ src, alt, id, width }: { src: string; alt: string; id: string; width: number | string }) {
  const [big, setBig] = useState(false);
  const safe = safeUrl(src, 'image');
  useEffect(() => {
    if (!big) return;
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape') setBig(false); };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [big]);
  if (!safe) return <span className="llmos-muted">(image not shown: not a PNG/JPEG data URL)</span>;
  return (
    <>
      <img src={safe} alt={alt} data-preview-image={id} className="llmos-zoomable nodrag"
        style={{ width }} title="Click for a larger view" onClick={(e) => { e.stopPropagation(); setBig(true); }} />
      {big && (
        <div className="llmos-lightbox nodrag nopan nowheel" role="dialog" aria-label={alt} data-lightbox={id}
          onClick={(e) => { e.stopPropagation(); setBig(false); }}>
          <img src={safe} alt={alt} />
        </div>
      )}
    </>
  );
}

export function PreviewView({ nodeId, port, preview, large = false }: {
  nodeId: string; port: string; preview: Preview; large?: boolean;
}) {
  const key = `${nodeId}.${port}`;
  switch (preview.kind) {
    case 'number':
      return (
        <div className="llmos-preview llmos-preview--number" data-preview={key}>
          <span className="llmos-preview__port">{port}</span>{' '}
          <span className="llmos-preview__value">{formatNumber(preview.value)}</span>
          {preview.unit && <span className="llmos-preview__unit"> {preview.unit}</span>}
        </div>
      );
    case 'boolean':
      return (
        <div className="llmos-preview" data-preview={key}>
          <span className="llmos-preview__port">{port}</span> {String(preview.value)}
        </div>
      );
    case 'text':
    case 'object':
    case 'other': {
      const text = preview.kind === 'text' ? preview.value : preview.text;
      return (
        <div className="llmos-preview llmos-preview--text" data-preview={key}>
          <span className="llmos-preview__port">{port}</span>{' '}
          {large ? <Collapsible text={text} limit={600} pre /> : <span className="llmos-preview__short">{text.length > 60 ? `${text.slice(0, 60)}…` : text}</span>}
        </div>
      );
    }
    case 'array':
      return (
        <div className="llmos-preview llmos-preview--array" data-preview={key}>
          <span className="llmos-preview__port">{port}</span>{' '}
          <span className="llmos-preview__unit">[{preview.length}]</span>
          {preview.numeric ? (
            <Sparkline values={preview.values} width={large ? 260 : 180} height={large ? 60 : 32} />
          ) : (
            <span className="llmos-preview__short"> {preview.text}</span>
          )}
        </div>
      );
    case 'image':
      return (
        <div className="llmos-preview llmos-preview--image" data-preview={key}>
          <ImagePreview src={preview.src} alt={`${port} of ${nodeId}`} id={key} width={large ? '100%' : 200} />
        </div>
      );
    case 'scene':
      return (
        <div className="llmos-preview llmos-preview--scene" data-preview={key}>
          <span className="llmos-preview__port">{port}</span>
          <ScenePreview data={preview} id={key} width={large ? 260 : 200} height={large ? 220 : 140} />
        </div>
      );
    case 'netlist':
      return <NetlistView nodeId={nodeId} port={port} preview={preview} large={large} />;
    default:
      return null;
  }
}

/** `[lines seen, last line]` of a node's live log as one string (see `useNodeSelect`). */
function logSummary(entry: unknown): string {
  return isNodeLog(entry) ? JSON.stringify([entry.total, lastLine(entry)]) : '';
}

/**
 * A node's live log on the node: a badge with the number of lines it printed and, while
 * it runs, its last line (as text). The whole log is in the side panel.
 */
function NodeLogLine({ id, status }: { id: string; status: string }) {
  const ctx = useContext(CanvasContext)!;
  const summary = useNodeSelect(ctx.model, 'logs', id, logSummary);
  if (!summary) return null;
  const [total, last] = JSON.parse(summary) as [number, string];
  if (!total) return null;
  return (
    <div className="llmos-node__log" data-log-lines={total}>
      <span className="llmos-node__logcount" title={`${total} line${total > 1 ? 's' : ''} of output: select the node to read them`}>
        ≡ {total}</span>
      {status === 'running' && last && <span className="llmos-node__logline" title={last}>{last}</span>}
    </div>
  );
}

function SkillNodeView({ id, data, selected }: NodeProps<SkillFlowNode>) {
  const ctx = useContext(CanvasContext)!;
  const info = useNodeEntry<NodeState>(ctx.model, 'statuses', id);
  const previews = useNodeEntry<Record<string, Preview>>(ctx.model, 'previews', id);
  // Its own ports when it declares them (a switch's cases, a subworkflow's interface).
  const skill = nodeSkill(ctx.skills, { id, data });
  const portsKey = skill ? `${skill.inputs.map((p) => p.name).join(',')}>${skill.outputs.map((p) => p.name).join(',')}` : '';
  const updateInternals = useUpdateNodeInternals();
  // React Flow measures a node's handles when it mounts: ports that change later (cases
  // edited) must be measured again before wires attach to them. Not on mount: thousands
  // of nodes would be measured twice.
  const shownPorts = useRef(portsKey);
  useEffect(() => {
    if (shownPorts.current === portsKey) return;
    shownPorts.current = portsKey;
    updateInternals(id);
  }, [id, portsKey, updateInternals]);
  const status = info?.status ?? 'idle';
  const problems = ctx.problems.get(id);
  const label = typeof data.label === 'string' && data.label ? data.label : id;
  const all = previews ? Object.entries(previews) : [];
  const shown = all.slice(0, PREVIEW_CAP);
  const more = all.length - shown.length;
  const control = isControl(skill);
  const skip = skipInfo(info);
  return (
    <div
      className={`llmos-node llmos-node--${status}${selected ? ' llmos-node--selected' : ''}` +
        `${skill ? '' : ' llmos-node--unknown'}${problems ? ' llmos-node--problem' : ''}` +
        `${control ? ' llmos-node--control' : ''}${skip ? ` llmos-node--skip-${skip.kind}` : ''}`}
      data-node-id={id}
      data-status={status}
      data-skill={data.skill}
      data-control={control ? 'true' : undefined}
      data-skip-kind={skip?.kind}
      title={info?.error ?? problems?.join('\n') ?? skill?.description ?? ''}
    >
      <div className="llmos-node__head">
        {control && <ControlIcon skill={data.skill} className="llmos-node__icon" />}
        <span className="llmos-node__title">{label}</span>
        {skill?.trusted === false && (
          <span className="llmos-untrusted" data-untrusted="true" title="Untrusted skill: read it before running">untrusted</span>)}
        <StatusBadge info={info} />
      </div>
      <div className="llmos-node__skill">
        {control && <span className="llmos-node__kind">control · </span>}
        {skill ? skill.name : `unknown skill ${data.skill}`}
      </div>
      {skip && (
        // The reason as text (never HTML); its full wording is the node's tooltip too.
        <div className={`llmos-node__skip llmos-node__skip--${skip.kind}`} data-skip-reason={skip.kind}
          title={skip.reason}>{skip.text}</div>)}
      <ProgressView info={info} />
      <NodeLogLine id={id} status={status} />
      <div className="llmos-node__ports">
        <div className="llmos-node__inputs">
          {(skill?.inputs ?? []).map((p) => (
            <div className="llmos-port llmos-port--in" key={p.name} title={`${p.name}: ${p.type}`}>
              <Handle type="target" position={Position.Left} id={p.name}
                style={{ background: portColor(p.type) }}
                data-port={p.name} data-port-type={p.type} aria-label={`input ${p.name} (${p.type})`} />
              <span>{p.name}</span>
            </div>
          ))}
        </div>
        <div className="llmos-node__outputs">
          {(skill?.outputs ?? []).map((p) => (
            <div className="llmos-port llmos-port--out" key={p.name} title={`${p.name}: ${p.type}`}>
              <span>{p.name}</span>
              <Handle type="source" position={Position.Right} id={p.name}
                style={{ background: portColor(p.type) }}
                data-port={p.name} data-port-type={p.type} aria-label={`output ${p.name} (${p.type})`} />
            </div>
          ))}
        </div>
      </div>
      {status === 'failed' && info?.error && (
        <div className="llmos-node__error" role="alert">{info.error}</div>
      )}
      {shown.length > 0 && (
        <div className="llmos-node__previews">
          {shown.map(([port, pv]) => (
            <PreviewView key={port} nodeId={id} port={port} preview={pv} />
          ))}
          {more > 0 && (
            <div className="llmos-preview__more" data-more={more} title="All outputs are in the side panel">
              +{more} more
            </div>)}
        </div>
      )}
    </div>
  );
}

export const SkillNode = memo(SkillNodeView);
