/**
 * `llmos-jupyter:runs`: the run history in the left sidebar (trace notebooks of the user
 * volume, newest first): open a trace, re-run it, compare two runs, and a workflow's run
 * statistics (`llmos stats --workflow ID --json`'s figures).
 */
import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import React from 'react';

import type { Comparison, RunInfo } from '../logic';
import { ReactHost, RunComparison, RunHistory, Store, type Loadable } from '../panels';
import { statsCode } from '../stats';
import { CommandIDs, ILlmosLibrary, PLUGIN_PREFIX, RUNS_ID } from '../tokens';
import { WorkflowDocument } from '../workflowDoc';
import { runsIcon } from './icons';
import { addSidePanel } from './sidePanel';

export const runsPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:runs`,
  description: 'The run history: trace notebooks with status, duration and parameters.',
  autoStart: true,
  requires: [ILlmosLibrary],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (app: JupyterFrontEnd, library: ILlmosLibrary, restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null) => {
    const store = new Store<Loadable<RunInfo[]>>({ loading: false, data: [] });
    const refresh = () => {
      store.set({ ...store.get(), loading: true, error: undefined });
      library.kernel.call<{ runs: RunInfo[] }>('runs_json')
        .then((r) => store.set({ loading: false, data: r.runs }))
        .catch((e) => store.set({ loading: false, data: [], error: `The library kernel failed: ${e.message ?? e}` }));
    };
    const open = async (run: RunInfo) => {
      try {
        const t = await library.kernel.call<{ relative: string | null; name: string; content: unknown }>(
          'read_trace_json', run.path);
        let path = t.relative;
        if (path === null) {
          // Outside the server's root: open a copy under llmos-traces/.
          const contents = app.serviceManager.contents;
          try {
            await contents.get('llmos-traces', { content: false });
          } catch {
            const dir = await contents.newUntitled({ path: '', type: 'directory' });
            await contents.rename(dir.path, 'llmos-traces');
          }
          path = `llmos-traces/${t.name}`;
          await contents.save(path, { type: 'notebook', format: 'json', content: t.content });
        }
        await app.commands.execute('docmanager:open', { path });
      } catch (e) {
        void showErrorMessage('Cannot open the trace', String(e));
      }
    };
    const rerun = async (run: RunInfo) => {
      try {
        const r = await library.kernel.call<{ status: string; message: string }>('rerun_trace_json', run.path);
        if (r.status === 'invalid') void showErrorMessage('Cannot re-run', r.message);
      } catch (e) {
        void showErrorMessage('Cannot re-run', String(e));
      }
      refresh();
    };
    const compare = async (a: RunInfo, b: RunInfo) => {
      try {
        const comparison = await library.kernel.call<Comparison>('compare_runs_json', a.path, b.path);
        const content = new ReactHost(React.createElement(RunComparison, { comparison }));
        const w = new MainAreaWidget({ content });
        w.id = `llmos-compare-${a.run_id}-${b.run_id}`;
        w.title.label = `Runs ${a.run_id} ↔ ${b.run_id}`;
        w.title.icon = runsIcon;
        w.title.closable = true;
        w.addClass('llmos-CompareWidget');
        app.shell.add(w, 'main');
        app.shell.activateById(w.id);
      } catch (e) {
        void showErrorMessage('Cannot compare the runs', String(e));
      }
    };
    // The run analytics of one workflow (`llmos stats --workflow ID --json`'s figures).
    const stats = (workflow: string) => library.kernel.run<unknown>(statsCode(workflow));
    const widget = new ReactHost(React.createElement(RunHistory, {
      store, onRefresh: refresh, onOpen: open, onRerun: rerun, onCompare: (a, b) => void compare(a, b),
      onStats: stats,
      // The workflow document last active in the main area, by the name the runs list.
      preferredWorkflow: () => {
        const w = app.shell.currentWidget;
        if (!(w instanceof WorkflowDocument)) return null;
        const wf = w.content.model.get('workflow') as { id?: unknown; name?: unknown } | undefined;
        const name = wf?.name || wf?.id;
        return typeof name === 'string' ? name : null;
      },
    }), refresh);
    widget.addClass('llmos-RunsPanel');
    addSidePanel(app, restorer, widget, { id: RUNS_ID, icon: runsIcon, caption: 'Run history',
      area: 'left', rank: 210 });
    app.commands.addCommand(CommandIDs.openRunHistory, {
      label: 'Open Run History',
      execute: () => {
        if (widget.isVisible) refresh();  // else showing it refreshes
        app.shell.activateById(RUNS_ID);
      },
    });
    palette?.addItem({ command: CommandIDs.openRunHistory, category: 'llmos' });
  },
};
