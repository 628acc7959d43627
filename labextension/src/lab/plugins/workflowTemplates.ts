/**
 * New workflows from llmos's templates (`llmos new`'s): the launcher's "Workflow from
 * template" section, a palette item per template, and `CommandIDs.newWorkflowFromTemplate`.
 * Part of the workflow plugin (./workflowDocument.ts), which calls `addTemplateCommands`.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { showErrorMessage, type ICommandPalette } from '@jupyterlab/apputils';
import type { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import type { ILauncher } from '@jupyterlab/launcher';

import {
  freeWorkflowName,
  joinPath,
  readTemplateList,
  readTemplateReply,
  TEMPLATE_LIST_CODE,
  templateReaderCode,
  TEMPLATES,
  type TemplateInfo,
} from '../templates';
import { CommandIDs, FACTORY, type ILlmosLibrary } from '../tokens';
import { workflowIcon } from './icons';

/** The launcher's section of "New workflow from template" items. */
const TEMPLATE_CATEGORY = 'Workflow from template';

/** Offers every template in the launcher and the palette, and adds the command that writes one. */
export function addTemplateCommands(app: JupyterFrontEnd, library: ILlmosLibrary, { launcher, palette, browser }: {
  launcher: ILauncher | null; palette: ICommandPalette | null; browser: IDefaultFileBrowser | null;
}): void {
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
}

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
 * ../templates.ts); the Contents API writes it.
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
