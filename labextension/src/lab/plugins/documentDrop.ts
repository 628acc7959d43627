/**
 * `llmos-jupyter:document-drop`: dropping a sidebar skill onto an open workflow document
 * adds a node there. One capturing listener on the shell finds the document under the
 * pointer, so documents opened before this plugin (layout restore) accept drops too.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { acceptSkillDrops } from '../notebookCanvas';
import { ILlmosLibrary, PLUGIN_PREFIX } from '../tokens';
import { WorkflowDocument } from '../workflowDoc';

export const documentDropPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:document-drop`,
  description: 'Drop a skill from the skill library onto a workflow document.',
  autoStart: true,
  requires: [ILlmosLibrary],
  activate: (app: JupyterFrontEnd) => {
    acceptSkillDrops(app.shell.node, (skill, x, y, target) => {
      const canvas = target.closest('.llmos-WorkflowCanvas');
      if (!canvas) return false;
      for (const w of app.shell.widgets('main')) {
        if (w instanceof WorkflowDocument && w.content.node === canvas) {
          if (skill) w.content.model.custom({ command: 'add-node', skill, x, y });
          return true;
        }
      }
      return false;
    });
  },
};
