/**
 * The toolbar's run controls: Run, Cancel (while running), where the nodes run (the
 * executor, and the Dask scheduler when there is one) and the run's Dask dashboard link.
 */
import React from 'react';

export function RunBar({ running, executor, scheduler, dashboard, send }: {
  running: boolean; executor: string | undefined; scheduler: string | undefined;
  /** A safe http(s) URL or '' (see `dashboardHref`). */
  dashboard: string;
  send: (action: string) => void;
}) {
  // A fragment: the controls sit directly in the toolbar, as the tests and CSS expect.
  return (
    <>
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
    </>
  );
}
