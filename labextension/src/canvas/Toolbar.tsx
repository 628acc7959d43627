/**
 * The canvas toolbar: the run bar, view and history buttons, node counts by status, the
 * validity (a button that shows the first problem's node) and the one-line notice.
 */
import React, { useMemo } from 'react';

import type { Action, Doc } from '../logic';
import type { Problem, StatusInfo } from '../types';
import type { Notice } from './notice';
import { RunBar } from './RunBar';

export function Toolbar({ running, executor, scheduler, dashboard, send, fit, layout, canUndo, canRedo, dispatch,
  nodes, statuses, problems, skillsKnown, showNode, notice, message }: {
  running: boolean; executor: string | undefined; scheduler: string | undefined; dashboard: string;
  send: (action: string) => void;
  fit: () => void; layout: () => void;
  canUndo: boolean; canRedo: boolean; dispatch: (a: Action) => void;
  nodes: Doc['nodes']; statuses: Record<string, StatusInfo>;
  /** The problems shown (host's or local); the first one is named. */
  problems: Problem[];
  /** Whether the skills are known: without them nothing is called valid. */
  skillsKnown: boolean;
  showNode: (id: string) => void;
  notice: Notice | null;
  /** The host's message (a run's outcome), shown when there is no notice. */
  message: string;
}) {
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const n of nodes) {
      const s = statuses[n.id]?.status ?? 'idle';
      c[s] = (c[s] ?? 0) + 1;
    }
    return c;
  }, [nodes, statuses]);
  const validity = problems.length
    ? `invalid: ${problems[0].message}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`
    : skillsKnown ? 'valid' : '';
  return (
    <div className="llmos-toolbar" role="toolbar" aria-label="Canvas">
      <RunBar running={running} executor={executor} scheduler={scheduler} dashboard={dashboard} send={send} />
      <span className="llmos-sep" />
      <button type="button" data-action="fit" aria-label="Fit view" title="Fit view (F)" onClick={() => fit()}>⤢ Fit</button>
      <button type="button" data-action="layout" aria-label="Auto-layout" title="Auto-layout (L)" onClick={layout}>⇶ Layout</button>
      <button type="button" data-action="undo" aria-label="Undo" title="Undo (Ctrl/⌘+Z)"
        disabled={!canUndo} onClick={() => dispatch({ type: 'undo' })}>↶</button>
      <button type="button" data-action="redo" aria-label="Redo" title="Redo (Ctrl/⌘+Shift+Z)"
        disabled={!canRedo} onClick={() => dispatch({ type: 'redo' })}>↷</button>
      <span className="llmos-sep" />
      <span className="llmos-counts" aria-live="polite">
        {Object.entries(counts).map(([st, n]) => (
          <span key={st} className={`llmos-count llmos-badge--${st}`}>{n} {st}</span>
        ))}
      </span>
      {validity && (
        <button type="button" className={`llmos-validity llmos-validity--${problems.length ? 'invalid' : 'valid'}`}
          data-validity={problems.length ? 'invalid' : 'valid'} title={problems.map((p) => p.message).join('\n')}
          disabled={!problems.length || !problems[0].node}
          onClick={() => { const n = problems[0]?.node; if (n) showNode(n); }}>
          {validity}
        </button>
      )}
      <span className={`llmos-notice llmos-notice--${notice?.kind ?? 'info'}`} role="status"
        data-notice={notice?.kind ?? (message ? 'message' : '')}>
        {notice?.text ?? message}
      </span>
    </div>
  );
}
