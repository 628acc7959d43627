/**
 * The run history's statistics of one workflow (React, no Lumino: rendered to text in
 * test/stats.test.ts). Every string from the kernel is a React text child, never HTML.
 */
import React, { useEffect, useMemo, useState } from 'react';

import { formatDuration, type RunInfo } from './logic';
import { formatRate, readStats, workflowsOf, type WorkflowStats } from './stats';

/** The statistics of one workflow's runs (runs, rates, durations, failures by error). */
export function RunStats({ workflow, stats }: { workflow: string; stats: WorkflowStats }) {
  const dur = (ms: number | null) => formatDuration(ms) || '—';
  const nodes = [...stats.nodes].sort((a, b) => (b.total_ms ?? -1) - (a.total_ms ?? -1));
  return (
    <div className="llmos-Stats-body" data-workflow={workflow} data-runs={stats.runs}>
      <div className="llmos-Stats-figures">
        <span data-stat="runs"><b>{stats.runs}</b> run{stats.runs === 1 ? '' : 's'}</span>
        <span data-stat="success-rate" title="Runs that completed, of all runs">
          success <b>{formatRate(stats.success_rate)}</b></span>
        <span data-stat="cache-hit-rate" title="Node runs answered from the cache, of all node runs">
          cache hits <b>{formatRate(stats.cache_hit_rate)}</b></span>
      </div>
      {stats.slowest.length > 0 && (
        <div className="llmos-Stats-slowest" data-stat="slowest">
          <span className="llmos-Stats-heading" title="Nodes by total executed time (share of all node time)">Slowest</span>{' '}
          {stats.slowest.slice(0, 5).map((n, i) => (
            <span key={n.node_id} className="llmos-Stats-slow" data-node={n.node_id}>
              {i ? ', ' : ''}{n.node_id}{' '}
              <span className="llmos-Stats-muted">{dur(n.total_ms)}{n.share !== null ? ` (${formatRate(n.share)})` : ''}</span>
            </span>))}
        </div>)}
      {nodes.length > 0 && (
        <table className="llmos-Stats-table" data-stat="nodes">
          <thead><tr>
            <th>node</th><th title="Runs of the node">runs</th><th title="Median duration">p50</th>
            <th title="95th percentile duration">p95</th><th title="Failed runs of the node">failed</th>
            <th title="Runs answered from the cache">cached</th>
          </tr></thead>
          <tbody>
            {nodes.map((n) => (
              <tr key={n.node_id} data-node={n.node_id} className={n.failures ? 'llmos-mod-failing' : ''}>
                <td title={n.skill_id}>{n.node_id}</td><td>{n.runs}</td>
                <td>{dur(n.p50_ms)}</td><td>{dur(n.p95_ms)}</td><td>{n.failures}</td>
                <td>{formatRate(n.cache_hit_rate)}</td>
              </tr>))}
          </tbody>
        </table>)}
      {stats.failures.length > 0 && (
        <div className="llmos-Stats-failures" data-stat="failures">
          <span className="llmos-Stats-heading">Failures by error</span>
          <ul>
            {stats.failures.map((f, i) => (
              <li key={i} data-count={f.count}>
                <b>{f.count}×</b> <span className="llmos-Stats-error" title={f.example}>{f.error}</span>
                {f.nodes.length > 0 && <span className="llmos-Stats-muted"> at {f.nodes.join(', ')}</span>}
              </li>))}
          </ul>
        </div>)}
    </div>
  );
}

/** The statistics section of the run history: a workflow picker and its figures. */
export function StatsSection({ runs, onStats, preferred }: {
  runs: RunInfo[];
  onStats: (workflow: string) => Promise<unknown>;
  /** The workflow to show unless the user picks one (the open workflow document's). */
  preferred?: () => string | null;
}) {
  const workflows = useMemo(() => workflowsOf(runs), [runs]);
  const [picked, setPicked] = useState<string | null>(null);
  // Asked again when the runs are reloaded (each time the panel is shown).
  const wanted = useMemo(() => (runs && preferred ? preferred() : null), [preferred, runs]);
  const workflow = [picked, wanted].find((w) => w !== null && w !== undefined && workflows.includes(w))
    ?? workflows[0] ?? null;
  const [state, setState] = useState<{ workflow: string; stats?: WorkflowStats; error?: string } | null>(null);
  // The figures change with every run: fetch again when the list of runs is reloaded.
  useEffect(() => {
    if (workflow === null) return;
    let live = true;
    setState((s) => (s?.workflow === workflow ? s : { workflow }));
    onStats(workflow).then((raw) => {
      if (live) setState({ workflow, stats: readStats(raw) });
    }).catch((e) => {
      if (live) setState({ workflow, error: `${e instanceof Error ? e.message : e}` });
    });
    return () => { live = false; };
  }, [workflow, runs, onStats]);
  if (workflow === null) return null;
  return (
    <details className="llmos-Stats" open>
      <summary>Statistics</summary>
      <select className="llmos-Stats-workflow jp-mod-styled" aria-label="Workflow to show statistics for"
        data-action="stats-workflow" value={workflow} onChange={(e) => setPicked(e.target.value)}>
        {workflows.map((w) => <option key={w} value={w}>{w}</option>)}
      </select>
      {state?.workflow === workflow && state.error && (
        <div className="llmos-SkillLibrary-note" data-state="stats-error">Statistics unavailable: {state.error}</div>)}
      {state?.workflow === workflow && state.stats && <RunStats workflow={workflow} stats={state.stats} />}
      {(state?.workflow !== workflow || (!state.stats && !state.error)) && (
        <div className="llmos-SkillLibrary-note" data-state="stats-loading">Loading…</div>)}
    </details>
  );
}
