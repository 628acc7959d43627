/**
 * `llmos-jupyter:workflow`: `*.workflow.json` documents in the canvas editor, New
 * Workflow (and from a template, ./workflowTemplates.ts), and the document commands: run,
 * run node + downstream, cancel, fit, layout, export as a notebook.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IMainMenu } from '@jupyterlab/mainmenu';

import { emptyWorkflow } from '../logic';
import { CommandIDs, FACTORY, FILE_TYPE, ILlmosLibrary, PLUGIN_PREFIX } from '../tokens';
import { WorkflowDocument, WorkflowFactory } from '../workflowDoc';
import { workflowIcon } from './icons';
import { addTemplateCommands } from './workflowTemplates';

export const workflowPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:workflow`,
  description: 'Workflow documents (*.workflow.json) in the canvas editor.',
  autoStart: true,
  requires: [ILlmosLibrary],
  optional: [ILauncher, IMainMenu, ICommandPalette, IDefaultFileBrowser],
  activate: (app: JupyterFrontEnd, library: ILlmosLibrary, launcher: ILauncher | null,
    mainMenu: IMainMenu | null, palette: ICommandPalette | null, browser: IDefaultFileBrowser | null) => {
    app.docRegistry.addFileType({
      name: FILE_TYPE,
      displayName: 'Workflow',
      extensions: ['.workflow.json'],
      mimeTypes: ['application/json'],
      contentType: 'file',
      fileFormat: 'text',
      icon: workflowIcon,
    });
    const factory = new WorkflowFactory({
      name: FACTORY,
      label: 'Workflow Canvas',
      fileTypes: [FILE_TYPE],
      defaultFor: [FILE_TYPE],
      modelName: 'text',
    }, library, (path) => void app.commands.execute('docmanager:open', { path }));
    factory.widgetCreated.connect((_, w) => { w.title.icon = workflowIcon; });
    app.docRegistry.addWidgetFactory(factory);

    const current = (): WorkflowDocument | null => {
      const w = app.shell.currentWidget;
      return w instanceof WorkflowDocument ? w : null;
    };
    const isWorkflow = () => current() !== null;

    app.commands.addCommand(CommandIDs.newWorkflow, {
      label: (args) => (args.isLauncher ? 'Workflow' : 'New Workflow'),
      caption: 'Create a new *.workflow.json and open it in the canvas',
      icon: (args) => (args.isPalette ? undefined : workflowIcon),
      execute: async (args) => {
        const cwd = (args.cwd as string) ?? browser?.model.path ?? '';
        const contents = app.serviceManager.contents;
        const model = await contents.newUntitled({ path: cwd, type: 'file', ext: '.workflow.json' });
        const name = model.name.replace(/\.workflow\.json$/, '');
        await contents.save(model.path, { type: 'file', format: 'text', content: emptyWorkflow(name) });
        return app.commands.execute('docmanager:open', { path: model.path, factory: FACTORY });
      },
    });
    app.commands.addCommand(CommandIDs.runWorkflow, {
      label: 'Run Workflow',
      caption: "Run the workflow in the document's kernel",
      isEnabled: isWorkflow,
      execute: () => current()?.content.run(),
    });
    app.commands.addCommand(CommandIDs.runNodeDownstream, {
      label: 'Run Selected Node + Downstream',
      caption: 'Run the selected node, what it needs and everything that depends on it',
      isEnabled: () => !!current()?.content.selectedNode(),
      execute: () => {
        const doc = current();
        const node = doc?.content.selectedNode();
        if (doc && node) return doc.content.run(node, true);
      },
    });
    app.commands.addCommand(CommandIDs.cancelRun, {
      label: 'Cancel Workflow Run',
      caption: 'Interrupt the run: running nodes finish, the others are skipped',
      isEnabled: () => !!current()?.content.model.get('running'),
      execute: () => current()?.content.cancel(),
    });
    app.commands.addCommand(CommandIDs.fitView, {
      label: 'Fit Workflow View',
      isEnabled: isWorkflow,
      execute: () => current()?.content.command('fit'),
    });
    app.commands.addCommand(CommandIDs.autoLayout, {
      label: 'Auto-Layout Workflow',
      isEnabled: isWorkflow,
      execute: () => current()?.content.command('layout'),
    });
    app.commands.addCommand(CommandIDs.exportNotebook, {
      label: 'Export Workflow as Notebook',
      caption: 'Write the workflow as a notebook of %%skill cells next to it and open it',
      isEnabled: isWorkflow,
      execute: async () => {
        const doc = current();
        if (!doc) return;
        try {
          const nb = await library.kernel.call<Record<string, unknown>>('export_notebook_json', doc.content.workflowText());
          const dir = doc.context.path.includes('/') ? doc.context.path.replace(/\/[^/]*$/, '') : '';
          const contents = app.serviceManager.contents;
          const model = await contents.newUntitled({ path: dir, type: 'notebook' });
          const base = doc.context.path.split('/').pop()!.replace(/\.workflow\.json$/, '');
          let target = `${dir ? `${dir}/` : ''}${base}.ipynb`;
          try {
            await contents.get(target, { content: false });
            target = model.path;  // exists: keep the untitled name
          } catch {
            await contents.rename(model.path, target);
          }
          await contents.save(target, { type: 'notebook', format: 'json', content: nb });
          return app.commands.execute('docmanager:open', { path: target });
        } catch (e) {
          void showErrorMessage('Export failed', String(e));
        }
      },
    });
    addTemplateCommands(app, library, { launcher, palette, browser });
    for (const command of [CommandIDs.newWorkflow, CommandIDs.runWorkflow,
      CommandIDs.runNodeDownstream, CommandIDs.cancelRun, CommandIDs.fitView,
      CommandIDs.autoLayout, CommandIDs.exportNotebook]) {
      palette?.addItem({ command, category: 'llmos', args: { isPalette: true } });
    }
    launcher?.add({ command: CommandIDs.newWorkflow, category: 'Other', rank: 3 });
    mainMenu?.fileMenu.newMenu.addGroup([{ command: CommandIDs.newWorkflow }], 30);
    mainMenu?.runMenu.addGroup([{ command: CommandIDs.runWorkflow },
      { command: CommandIDs.runNodeDownstream }, { command: CommandIDs.cancelRun }], 40);
  },
};

