/**
 * The llmos-jupyter JupyterLab extension: the skill library sidebar (drag skills into
 * notebooks), `*.workflow.json` documents in the canvas, the run history, the notebook
 * graph, Agent System documents, and commands. Everything goes through the Contents API
 * and a kernel (no server extension), so the same plugins work in JupyterLite.
 *
 * One plugin per module in ./plugins/ (the Agent System's lives with its document in
 * ./agentsDoc.tsx); this entry only lists them, in activation order.
 */
// The canvas' styles, once for every plugin (the bundle's lib/index.css).
import '@xyflow/react/dist/style.css';
import '../style.css';

import { agentsPlugin } from './agentsDoc';
import { documentDropPlugin } from './plugins/documentDrop';
import { libraryPlugin } from './plugins/library';
import { notebookCanvasPlugin } from './plugins/notebookGraph';
import { runsPlugin } from './plugins/runHistory';
import { skillsPlugin } from './plugins/skillLibrary';
import { workflowPlugin } from './plugins/workflowDocument';

export { CommandIDs, ILlmosLibrary } from './tokens';

export default [libraryPlugin, skillsPlugin, workflowPlugin, runsPlugin, notebookCanvasPlugin,
  documentDropPlugin, agentsPlugin];
