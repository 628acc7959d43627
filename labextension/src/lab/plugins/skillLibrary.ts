/**
 * `llmos-jupyter:skills`: the skill library in the left sidebar (widget id
 * `llmos-skills`): search, ports, volumes; drag a skill into a notebook, or insert it as
 * a `%%skill` cell (in a new notebook when none is open).
 */
import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, type NotebookPanel } from '@jupyterlab/notebook';
import React from 'react';

import {
  needsLoadExt,
  nodeIdFor,
  preferredNotebookKernel,
  skillCellSource,
  skillNodeIds,
  type LibrarySkill,
} from '../logic';
import { kernelNameOf } from '../notebookKernel';
import { ReactHost, SkillLibrary, Store, type Loadable } from '../panels';
import { CommandIDs, ILlmosLibrary, PLUGIN_PREFIX, SKILLS_ID } from '../tokens';
import { skillsIcon } from './icons';
import { addSidePanel } from './sidePanel';

/** The sources of the notebook's cells, in order (none without a notebook). */
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

export const skillsPlugin: JupyterFrontEndPlugin<void> = {
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
