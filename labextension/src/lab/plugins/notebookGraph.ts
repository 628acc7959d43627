/**
 * `llmos-jupyter:notebook-canvas`: the live graph of the active notebook's `%%skill`
 * cells in the right sidebar (edits there rewrite the cells), the renderer of
 * `%workflow import`'s cells, and canvas snapshots kept in saved notebooks.
 */
import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { cellsRendererFactory } from '../cellsRenderer';
import { NotebookCanvas } from '../notebookCanvas';
import { trackCanvasSnapshots } from '../snapshot';
import { CommandIDs, ILlmosLibrary, NOTEBOOK_CANVAS_ID, PLUGIN_PREFIX } from '../tokens';
import { notebookGraphIcon } from './icons';
import { addSidePanel } from './sidePanel';

export const notebookCanvasPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:notebook-canvas`,
  description: 'The graph of the active notebook\'s %%skill cells, live, in the right sidebar.',
  autoStart: true,
  requires: [ILlmosLibrary, INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette, IRenderMimeRegistry],
  activate: (app: JupyterFrontEnd, library: ILlmosLibrary, tracker: INotebookTracker,
    restorer: ILayoutRestorer | null, palette: ICommandPalette | null,
    rendermime: IRenderMimeRegistry | null) => {
    const widget = new NotebookCanvas({ tracker, kernel: library.kernel, skills: () => library.skills() });
    addSidePanel(app, restorer, widget, { id: NOTEBOOK_CANVAS_ID, icon: notebookGraphIcon,
      caption: 'Notebook graph', area: 'right', rank: 700 });
    app.commands.addCommand(CommandIDs.showNotebookGraph, {
      label: 'Show Notebook Graph',
      caption: 'The graph of the active notebook\'s %%skill cells, in the right sidebar',
      execute: () => app.shell.activateById(NOTEBOOK_CANVAS_ID),
    });
    app.commands.addCommand(CommandIDs.runNotebookGraph, {
      label: 'Run Notebook Graph',
      caption: 'Run the notebook\'s %%skill cells in its kernel',
      isEnabled: () => widget.notebook !== null,
      execute: () => widget.run('run'),
    });
    palette?.addItem({ command: CommandIDs.showNotebookGraph, category: 'llmos' });
    palette?.addItem({ command: CommandIDs.runNotebookGraph, category: 'llmos' });
    rendermime?.addFactory(cellsRendererFactory(tracker), 0);
    trackCanvasSnapshots(tracker);
  },
};
