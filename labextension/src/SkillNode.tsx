/** A skill node: title, status badge, typed port handles, output previews. */
import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import React, { createContext, memo, useContext, useEffect, useState } from 'react';

import { formatElapsed, formatNumber, portColor, sparklinePath, type SkillIndex } from './logic';
import { useNodeEntry, type WidgetModel } from './model';
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
  return (
    <span className={`llmos-badge llmos-badge--${status}`} title={info?.error ?? status}>
      {status === 'running' && <span className="llmos-spinner" aria-hidden="true" />}
      {STATUS_TEXT[status] ?? status}
      {showTime && <span className="llmos-badge__time"> {formatElapsed(elapsed!)}</span>}
    </span>
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
          <span className="llmos-preview__port">{port}</span>
          {large ? <pre>{text}</pre> : <span className="llmos-preview__short"> {text.slice(0, 60)}</span>}
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
          <img src={preview.src} alt={`${port} of ${nodeId}`} data-preview-image={key}
            style={{ width: large ? '100%' : 200 }} />
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

function SkillNodeView({ id, data, selected }: NodeProps<SkillFlowNode>) {
  const ctx = useContext(CanvasContext)!;
  const info = useNodeEntry<StatusInfo>(ctx.model, 'statuses', id);
  const previews = useNodeEntry<Record<string, Preview>>(ctx.model, 'previews', id);
  const skill = ctx.skills.get(data.skill);
  const status = info?.status ?? 'idle';
  const problems = ctx.problems.get(id);
  const label = typeof data.label === 'string' && data.label ? data.label : id;
  const shown = previews ? Object.entries(previews).slice(0, 4) : [];
  return (
    <div
      className={`llmos-node llmos-node--${status}${selected ? ' llmos-node--selected' : ''}` +
        `${skill ? '' : ' llmos-node--unknown'}${problems ? ' llmos-node--problem' : ''}`}
      data-node-id={id}
      data-status={status}
      data-skill={data.skill}
      title={info?.error ?? problems?.join('\n') ?? skill?.description ?? ''}
    >
      <div className="llmos-node__head">
        <span className="llmos-node__title">{label}</span>
        <StatusBadge info={info} />
      </div>
      <div className="llmos-node__skill">{skill ? skill.name : `unknown skill ${data.skill}`}</div>
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
        </div>
      )}
    </div>
  );
}

export const SkillNode = memo(SkillNodeView);
