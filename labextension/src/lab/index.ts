/**
 * The llmos-jupyter JupyterLab extension: the skill library sidebar (drag skills into
 * notebooks), `*.workflow.json` documents in the canvas, the run history, and commands.
 * Everything goes through the Contents API and a kernel (no server extension), so the
 * same plugins work in JupyterLite.
 */
import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin,
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { INotebookTracker, NotebookActions, type NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';
import type { Widget } from '@lumino/widgets';
import React from 'react';

import '@xyflow/react/dist/style.css';
import '../style.css';

import { LibraryKernel } from './kernel';
import {
  emptyWorkflow,
  readConfig,
  needsLoadExt,
  nodeIdFor,
  preferredNotebookKernel,
  skillCellSource,
  skillNodeIds,
  type Comparison,
  type LibrarySkill,
  type RunInfo,
} from './logic';
import { ReactHost, RunComparison, RunHistory, SkillLibrary, Store, type Loadable } from './panels';
import {
  CommandIDs,
  DEFAULT_CONFIG,
  FACTORY,
  FILE_TYPE,
  ILlmosLibrary,
  NOTEBOOK_CANVAS_ID,
  PLUGIN_PREFIX,
  RUNS_ID,
  SKILLS_ID,
  type LlmosConfig,
} from './tokens';
import { WorkflowDocument, WorkflowFactory } from './workflowDoc';
import { agentsPlugin } from './agentsDoc';
import { statsCode } from './stats';
import {
  freeWorkflowName,
  joinPath,
  readTemplateList,
  readTemplateReply,
  TEMPLATE_LIST_CODE,
  templateReaderCode,
  TEMPLATES,
  type TemplateInfo,
} from './templates';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { cellsRendererFactory } from './cellsRenderer';
import { NotebookCanvas, acceptSkillDrops } from './notebookCanvas';
import { kernelNameOf } from './notebookKernel';
import { trackCanvasSnapshots } from './snapshot';

export { CommandIDs, ILlmosLibrary } from './tokens';

const skillsIcon = new LabIcon({
  name: 'llmos:skills',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><rect x="3" y="3" width="7" height="7" rx="1.5"/><rect x="14" y="3" width="7" height="7" rx="1.5"/><rect x="8.5" y="14" width="7" height="7" rx="1.5"/><path d="M6.5 10v2h11v-2h1.6v3.6H12.8V14h-1.6v-.4H4.9V10z"/></g></svg>',
});
const runsIcon = new LabIcon({
  name: 'llmos:runs',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><path d="M13 3a9 9 0 1 0 8.95 10h-2.02A7 7 0 1 1 13 5V3zm-1 4v6l5 3 .9-1.5-4.1-2.4V7z"/></g></svg>',
});
const workflowIcon = new LabIcon({
  name: 'llmos:workflow',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon-brand0" fill="#2f6fde"><circle cx="5" cy="6" r="3"/><circle cx="5" cy="18" r="3"/><circle cx="19" cy="12" r="3"/><path d="M7.6 7.3l9 3.9-.8 1.8-9-3.9zM7.6 16.7l9-3.9.8 1.8-9 3.9z"/></g></svg>',
});

/** A sidebar panel: its id (also the layout restorer's key), icon, caption and place. */
function addSidePanel(app: JupyterFrontEnd, restorer: ILayoutRestorer | null, widget: Widget,
  o: { id: string; icon: LabIcon; caption: string; area: 'left' | 'right'; rank: number }) {
  widget.id = o.id;
  widget.title.icon = o.icon;
  widget.title.caption = o.caption;
  app.shell.add(widget, o.area, { rank: o.rank });
  restorer?.add(widget, o.id);
}

/** The library kernel and the skill list (settings: the kernel, LLMOS_HOME). */
const libraryPlugin: JupyterFrontEndPlugin<ILlmosLibrary> = {
  id: `${PLUGIN_PREFIX}:plugin`,
  description: 'The llmos library kernel and the skill list.',
  autoStart: true,
  provides: ILlmosLibrary,
  optional: [ISettingRegistry],
  activate: (app: JupyterFrontEnd, settings: ISettingRegistry | null): ILlmosLibrary => {
    const kernel = new LibraryKernel(app.serviceManager);
    let config: LlmosConfig = { ...DEFAULT_CONFIG };
    const listeners: ((c: LlmosConfig) => void)[] = [];
    let loaded: Promise<LibrarySkill[]> | null = null;
    const loadedListeners: (() => void)[] = [];
    const load = async () => {
      if (config.llmosHome) await kernel.call('set_llmos_home', config.llmosHome);
      const r = await kernel.call<{ skills: LibrarySkill[]; errors: string[] }>('skills_json');
      for (const e of r.errors) console.warn('llmos skill library:', e);
      for (const cb of loadedListeners) cb();
      return r.skills;
    };
    const library: ILlmosLibrary = {
      kernel,
      config: () => config,
      onConfigChanged: (cb) => { listeners.push(cb); },
      onLoaded: (cb) => { loadedListeners.push(cb); },
      skills: () => (loaded ??= load()),
      refresh: () => (loaded = load()),
    };
    if (settings) {
      void settings.load(`${PLUGIN_PREFIX}:plugin`).then((s) => {
        const apply = () => {
          config = readConfig((key) => s.get(key).composite);
          kernel.setKernelName(config.kernel);
          loaded = null;
          for (const cb of listeners) cb(config);
        };
        apply();
        s.changed.connect(apply);
      }).catch((e) => console.warn('llmos: settings not loaded', e));
    }
    window.addEventListener('beforeunload', () => void kernel.dispose());
    return library;
  },
};

function notebookSources(panel: NotebookPanel | null | undefined): string[] {
  const cells = panel?.content.model?.sharedModel.cells ?? [];
  return cells.map((c) => c.getSource());
}

/** A `%%skill` cell went in: load the magics first, unless the kernel (llmos) has them. */
function ensureLoadExt(panel: NotebookPanel) {
  const shared = panel.content.model?.sharedModel;
  if (shared && needsLoadExt(notebookSources(panel), kernelNameOf(panel))) {
    shared.insertCell(0, { cell_type: 'code', source: '%load_ext llmos_jupyter', metadata: {} });
  }
}

/**
 * A new notebook (opened) on the llmos kernel when the server has that kernelspec, else
 * on the settings' kernel when it has that one, else on the server's default.
 */
async function newNotebook(app: JupyterFrontEnd, library: ILlmosLibrary): Promise<NotebookPanel> {
  const specs = app.serviceManager.kernelspecs;
  await specs.ready;
  const kernelName = preferredNotebookKernel(Object.keys(specs.specs?.kernelspecs ?? {}), library.config().kernel);
  const panel = await app.commands.execute('notebook:create-new', kernelName ? { kernelName } : {}) as NotebookPanel;
  await panel.context.ready;
  // Its kernel decides whether a %load_ext cell is needed (not on llmos): wait for it.
  await panel.sessionContext.ready;
  return panel;
}

/** The skill library in the left sidebar (widget id `llmos-skills`). */
const skillsPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:skills`,
  description: 'The skill library sidebar: search, ports, volumes; drag a skill into a notebook.',
  autoStart: true,
  requires: [ILlmosLibrary],
  optional: [ILayoutRestorer, INotebookTracker, ICommandPalette],
  activate: (app: JupyterFrontEnd, library: ILlmosLibrary, restorer: ILayoutRestorer | null,
    tracker: INotebookTracker | null, palette: ICommandPalette | null) => {
    const store = new Store<Loadable<LibrarySkill[]>>({ loading: true, data: [] });
    const show = (p: Promise<LibrarySkill[]>) => {
      store.set({ ...store.get(), loading: true, error: undefined });
      p.then((data) => store.set({ loading: false, data }))
        .catch((e) => store.set({ loading: false, data: [], error: `The library kernel failed: ${e.message ?? e}` }));
    };
    const cellFor = (skill: LibrarySkill) => skill.executable
      ? { source: skillCellSource(skill, nodeIdFor(skill.id, skillNodeIds(notebookSources(tracker?.currentWidget)))) }
      : null;
    const onDropped = (_skill: LibrarySkill, source: string) => {
      tracker?.forEach((panel) => {
        if (notebookSources(panel).includes(source)) ensureLoadExt(panel);
      });
    };
    const onInsert = async (skill: LibrarySkill) => {
      const cell = cellFor(skill);
      if (!cell) return;
      let panel = tracker?.currentWidget ?? null;
      if (!panel) {
        // No notebook open: a new one, on the llmos kernel when it is installed (the
        // magics preloaded), else the settings' kernel.
        try {
          panel = await newNotebook(app, library);
        } catch (e) {
          void showErrorMessage('Cannot create a notebook', String(e));
          return;
        }
        const only = panel.content.model?.sharedModel;
        if (only && only.cells.length === 1 && !only.cells[0].getSource()) {
          only.cells[0].setSource(cell.source);
          ensureLoadExt(panel);
          return;
        }
      }
      NotebookActions.insertBelow(panel.content);
      panel.content.activeCell?.model.sharedModel.setSource(cell.source);
      ensureLoadExt(panel);
    };
    let shown = false;
    const widget = new ReactHost(React.createElement(SkillLibrary, {
      store, onRefresh: () => show(library.refresh()), cellFor, onDropped, onInsert: (sk) => void onInsert(sk),
    }), () => {
      if (!shown) show(library.skills());  // the library kernel starts when first needed
      shown = true;
    });
    widget.addClass('llmos-SkillsPanel');
    addSidePanel(app, restorer, widget, { id: SKILLS_ID, icon: skillsIcon, caption: 'Skill library',
      area: 'left', rank: 200 });

    app.commands.addCommand(CommandIDs.openSkillLibrary, {
      label: 'Open Skill Library',
      caption: 'Show the llmos skill library in the left sidebar',
      execute: () => app.shell.activateById(SKILLS_ID),
    });
    app.commands.addCommand(CommandIDs.refreshSkills, {
      label: 'Reload Skill Library',
      execute: () => show(library.refresh()),
    });
    palette?.addItem({ command: CommandIDs.openSkillLibrary, category: 'llmos' });
    palette?.addItem({ command: CommandIDs.refreshSkills, category: 'llmos' });
  },
};

/** `*.workflow.json` in the canvas editor; New workflow; run, fit, layout, export. */
const workflowPlugin: JupyterFrontEndPlugin<void> = {
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
    // The templates offered: the known ones now, any others once the library kernel
    // lists what `llmos new` has (templates added to the package show up then).
    const templates = new Map<string, TemplateInfo>();
    const offer = (t: TemplateInfo) => {
      templates.set(t.name, t);
      launcher?.add({ command: CommandIDs.newWorkflowFromTemplate, category: TEMPLATE_CATEGORY,
        rank: templates.size, args: { template: t.name, isLauncher: true } });
      palette?.addItem({ command: CommandIDs.newWorkflowFromTemplate, category: 'llmos',
        args: { template: t.name, isPalette: true } });
    };
    TEMPLATES.forEach(offer);
    // Asked once the library kernel runs anyway (no kernel is started for this).
    let listed = false;
    library.onLoaded(() => {
      if (listed) return;
      listed = true;
      library.kernel.run<unknown>(TEMPLATE_LIST_CODE).then((reply) => {
        for (const t of readTemplateList(reply)) if (!templates.has(t.name)) offer(t);
      }).catch((e) => {
        listed = false;  // asked again after the next load
        console.warn('llmos: the workflow templates could not be listed', e);
      });
    });
    app.commands.addCommand(CommandIDs.newWorkflowFromTemplate, {
      label: (args) => {
        const what = templates.get(String(args.template))?.label ?? String(args.template ?? 'template');
        return args.isLauncher ? what : `New Workflow from Template: ${what}`;
      },
      caption: (args) => templates.get(String(args.template))?.caption
        || 'A new *.workflow.json from one of llmos\'s templates',
      icon: (args) => (args.isPalette ? undefined : workflowIcon),
      execute: async (args) => {
        const name = String(args.template ?? '');
        const cwd = (args.cwd as string) ?? browser?.model.path ?? '';
        try {
          if (!templates.has(name)) throw new Error(`no template ${JSON.stringify(name)}`);
          const path = await newFromTemplate(app, library, name, cwd);
          return await app.commands.execute('docmanager:open', { path, factory: FACTORY });
        } catch (e) {
          void showErrorMessage('Cannot create the workflow', e instanceof Error ? e.message : String(e));
        }
      },
    });
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

/** The launcher's section of "New workflow from template" items. */
const TEMPLATE_CATEGORY = 'Workflow from template';

/** A folder (and its parents) through the Contents API, when missing. */
async function ensureDir(app: JupyterFrontEnd, dir: string): Promise<void> {
  const contents = app.serviceManager.contents;
  let at = '';
  for (const part of dir.split('/').filter(Boolean)) {
    const next = joinPath(at, part);
    try {
      await contents.get(next, { content: false });
    } catch {
      const made = await contents.newUntitled({ path: at, type: 'directory' });
      await contents.rename(made.path, next);
    }
    at = next;
  }
}

/**
 * Write template `name` as a new workflow in folder `cwd` (`name.workflow.json`, or
 * `name-2…` when taken) with the sub-workflows it runs beside it (existing files are
 * kept); returns the new file's path. The library kernel makes the files (`llmos new`s code, see
 * ./templates.ts); the Contents API writes it.
 */
async function newFromTemplate(app: JupyterFrontEnd, library: ILlmosLibrary, name: string,
  cwd: string): Promise<string> {
  const contents = app.serviceManager.contents;
  const listing = await contents.get(cwd, { content: true });
  const taken = Array.isArray(listing.content) ? listing.content.map((c: { name: string }) => c.name) : [];
  const stem = freeWorkflowName(name, taken).replace(/\.workflow\.json$/, '');
  const { main, files } = readTemplateReply(await library.kernel.run<unknown>(templateReaderCode(name, stem)), name);
  for (const [rel, text] of Object.entries(files)) {
    if (rel === main) continue;
    const path = joinPath(cwd, rel);
    try {
      await contents.get(path, { content: false });
      continue;  // the user's file of that name stays as it is
    } catch {
      /* missing: written below */
    }
    if (rel.includes('/')) await ensureDir(app, path.slice(0, path.lastIndexOf('/')));
    await contents.save(path, { type: 'file', format: 'text', content: text });
  }
  const target = joinPath(cwd, main);
  await contents.save(target, { type: 'file', format: 'text', content: files[main] });
  return target;
}

/** The run history: trace notebooks of the user volume, newest first. */
const runsPlugin: JupyterFrontEndPlugin<void> = {
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

// -- The sidebar canvas of the active notebook, and %workflow import's cells -------------

const notebookGraphIcon = new LabIcon({
  name: 'llmos:notebook-graph',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><rect x="2" y="4" width="7" height="5" rx="1"/><rect x="15" y="4" width="7" height="5" rx="1"/><rect x="8.5" y="15" width="7" height="5" rx="1"/><path d="M9 6h6v1.4H9zM5 9h1.4v4.5H11V15H5zM17.6 9H19v6h-6v-1.5h4.6z"/></g></svg>',
});

/** The live graph of the active notebook's %%skill cells (right sidebar). */
const notebookCanvasPlugin: JupyterFrontEndPlugin<void> = {
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

/**
 * Dropping a sidebar skill onto an open workflow document adds a node there. One capturing
 * listener on the shell finds the document under the pointer, so documents opened before
 * this plugin (layout restore) accept drops too.
 */
const documentDropPlugin: JupyterFrontEndPlugin<void> = {
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

export default [libraryPlugin, skillsPlugin, workflowPlugin, runsPlugin, notebookCanvasPlugin,
  documentDropPlugin, agentsPlugin];
