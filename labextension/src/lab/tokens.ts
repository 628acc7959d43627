/** Ids shared by the JupyterLab plugins: commands, widgets, file type, MIME types. */

/** Every command the extension adds (palette + menus). */
export enum CommandIDs {
  runWorkflow = 'llmos:run-workflow',
  runNodeDownstream = 'llmos:run-node-downstream',
  cancelRun = 'llmos:cancel-run',
  fitView = 'llmos:fit-view',
  autoLayout = 'llmos:auto-layout',
  openSkillLibrary = 'llmos:open-skill-library',
  exportNotebook = 'llmos:export-workflow-notebook',
  newWorkflow = 'llmos:new-workflow',
  newWorkflowFromTemplate = 'llmos:new-workflow-from-template',
  openRunHistory = 'llmos:open-run-history',
  refreshSkills = 'llmos:refresh-skills',
  showNotebookGraph = 'llmos:show-notebook-graph',
  runNotebookGraph = 'llmos:run-notebook-graph',
}

export const PLUGIN_PREFIX = 'llmos-jupyter';
/** The skill library's widget id (a test hook; also the layout restorer's key). */
export const SKILLS_ID = 'llmos-skills';
export const RUNS_ID = 'llmos-runs';
/** The sidebar canvas of the active notebook (right sidebar; a test hook too). */
export const NOTEBOOK_CANVAS_ID = 'llmos-notebook-canvas';
export const FILE_TYPE = 'llmos-workflow';
export const FACTORY = 'Workflow Canvas';
/** What the notebook accepts on drop (a list of nbformat cells). */
export const JUPYTER_CELL_MIME = 'application/vnd.jupyter.cells';

import { Token } from '@lumino/coreutils';

import type { LibraryKernel } from './kernel';
import type { LibrarySkill } from './logic';

/** The extension's settings (Settings Editor → llmos). */
export interface LlmosConfig {
  /** Kernelspec of the library kernel and the default kernel of workflow documents. */
  kernel: string;
  /** LLMOS_HOME for every kernel the extension runs workflows in ('' : the kernel's own). */
  llmosHome: string;
  /** Auto-layout direction: left to right or top to bottom. */
  layoutDirection: 'LR' | 'TB';
  /** Where workflow documents' runs execute their nodes. */
  executor: 'threads' | 'processes' | 'dask';
  /** A Dask scheduler's address (`tcp://host:8786`) for `executor: dask`; '' starts a LocalCluster. */
  daskScheduler: string;
}

export const DEFAULT_CONFIG: LlmosConfig = {
  kernel: 'python3', llmosHome: '', layoutDirection: 'LR', executor: 'threads', daskScheduler: '',
};

/** The library kernel and the skill list, shared by the plugins. */
export interface ILlmosLibrary {
  readonly kernel: LibraryKernel;
  /** The current settings. */
  config(): LlmosConfig;
  /** Called after the settings changed. */
  onConfigChanged(cb: (c: LlmosConfig) => void): void;
  /**
   * Called after the library kernel listed the skills (each load): it runs then, so
   * other questions to it cost no kernel start.
   */
  onLoaded(cb: () => void): void;
  /** The skills (loaded once; `refresh()` reloads). */
  skills(): Promise<LibrarySkill[]>;
  refresh(): Promise<LibrarySkill[]>;
}

export const ILlmosLibrary = new Token<ILlmosLibrary>('llmos-jupyter:ILlmosLibrary',
  'The llmos library kernel and the skill list.');
