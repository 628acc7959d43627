/**
 * The anywidget entry point of `llmos_jupyter.Canvas` (built to
 * llmos_jupyter/static/canvas.js). Traits: workflow, skills, statuses, previews, errors,
 * message, running, height. Actions go to Python with `model.send({action, node})`.
 * `initialize` (once per model, however many views) starts the host that runs the
 * kernel's `javascript`/`threejs` node requests in Web Workers (src/runtime/).
 */
import React from 'react';
import { createRoot } from 'react-dom/client';

import '@xyflow/react/dist/style.css';
import './style.css';

import { App } from './App';
import type { WidgetModel } from './model';
import { blobWorkerFactory, RuntimeHost } from './runtime/host';
import { SNAPSHOT_PROP, snapshotOf } from './snapshot';
import { JAVASCRIPT_WORKER, THREEJS_WORKER } from 'virtual:llmos-worker-sources';

function initialize({ model }: { model: WidgetModel }) {
  const host = new RuntimeHost(model, blobWorkerFactory({
    javascript: JAVASCRIPT_WORKER, threejs: THREEJS_WORKER,
  }));
  return () => host.dispose();
}

function render({ model, el }: { model: WidgetModel; el: HTMLElement }) {
  el.classList.add('llmos-canvas-host');
  // The JupyterLab extension reads this when the notebook is saved, so a reopened
  // notebook (whose widget model is gone with the kernel) can show the last state.
  (el as unknown as Record<string, unknown>)[SNAPSHOT_PROP] = () => snapshotOf(model);
  const root = createRoot(el);
  root.render(<App model={model} />);
  return () => root.unmount();
}

export default { initialize, render };
