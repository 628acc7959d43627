/**
 * The anywidget entry point of `llmos_jupyter.Canvas` (built to
 * llmos_jupyter/static/canvas.js). Traits: workflow, skills, statuses, previews, errors,
 * message, running, height. Actions go to Python with `model.send({action, node})`.
 */
import React from 'react';
import { createRoot } from 'react-dom/client';

import '@xyflow/react/dist/style.css';
import './style.css';

import { App } from './App';
import type { WidgetModel } from './model';

function render({ model, el }: { model: WidgetModel; el: HTMLElement }) {
  el.classList.add('llmos-canvas-host');
  const root = createRoot(el);
  root.render(<App model={model} />);
  return () => root.unmount();
}

export default { render };
