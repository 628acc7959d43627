/**
 * Canvas widgets in notebooks that outlive their kernel. When a notebook is saved, each
 * cell whose output shows a live canvas gets `metadata.llmos.canvas_snapshot` (the
 * workflow, the skills its nodes use, statuses, previews: `../snapshot.ts`). When the
 * notebook is reopened, ipywidgets says "Error displaying widget: model not found" for
 * that output (the model lived in the old kernel); it is replaced by a read-only canvas
 * of the snapshot, saying that running the cell brings the live canvas back.
 */
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import React from 'react';
import { createRoot } from 'react-dom/client';

import { App } from '../App';
import { SNAPSHOT_PROP, type CanvasSnapshot } from '../snapshot';
import { HostModel } from './hostModel';

const MISSING = 'model not found';

function saveSnapshots(panel: NotebookPanel) {
  for (const cell of panel.content.widgets) {
    const host = cell.node.querySelector('.llmos-canvas-host') as unknown as Record<string, unknown> | null;
    const take = host?.[SNAPSHOT_PROP];
    if (typeof take !== 'function') continue;
    try {
      const snapshot = (take as () => CanvasSnapshot)();
      const meta = (cell.model.getMetadata('llmos') as Record<string, unknown> | undefined) ?? {};
      cell.model.setMetadata('llmos', { ...meta, canvas_snapshot: snapshot });
    } catch (e) {
      console.warn('llmos: canvas snapshot not saved', e);
    }
  }
}

function restoreSnapshots(panel: NotebookPanel) {
  for (const cell of panel.content.widgets) {
    const snapshot = (cell.model.getMetadata('llmos') as { canvas_snapshot?: CanvasSnapshot } | undefined)
      ?.canvas_snapshot;
    if (!snapshot?.workflow) continue;
    for (const out of cell.node.querySelectorAll<HTMLElement>('.jp-OutputArea-output')) {
      if (out.dataset.llmosSnapshot || !(out.textContent ?? '').includes(MISSING)) continue;
      out.dataset.llmosSnapshot = 'true';
      out.textContent = '';
      const note = document.createElement('div');
      note.className = 'llmos-SnapshotNote';
      note.textContent = 'Static snapshot of the canvas as last saved (its kernel is gone): '
        + 'run the cell to edit and run it again.';
      const body = document.createElement('div');
      body.className = 'llmos-Snapshot';
      out.append(note, body);
      const model = new HostModel({ ...snapshot, errors: [], running: false, validated: true,
        height: typeof snapshot.height === 'number' ? snapshot.height : 500 });
      createRoot(body).render(<App model={model} />);
    }
  }
}

/** Save snapshots with every save of a notebook, and show them where models are gone. */
export function trackCanvasSnapshots(tracker: INotebookTracker) {
  tracker.widgetAdded.connect((_, panel) => {
    // 'started' is emitted before the notebook is serialised: the metadata goes with it.
    panel.context.saveState.connect((_s, state) => { if (state === 'started') saveSnapshots(panel); });
    let timer = 0;
    const observer = new MutationObserver(() => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => restoreSnapshots(panel), 200);
    });
    void panel.context.ready.then(() => {
      observer.observe(panel.content.node, { childList: true, subtree: true, characterData: true });
      restoreSnapshots(panel);
    });
    panel.disposed.connect(() => observer.disconnect());
  });
}
