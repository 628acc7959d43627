/**
 * The sidebar canvas of the active notebook (widget id `llmos-notebook-canvas`): the graph
 * of its `%%skill` cells, live, in the same canvas component as workflow documents.
 *
 * * The graph comes from Python (`llmos_jupyter._lab.notebook_graph_json` in the library
 *   kernel), the parser the `%%skill` magic itself uses, re-read 250 ms after the cells
 *   stop changing; nothing of the cell grammar is re-implemented in TypeScript.
 * * Edits in the canvas edit the cells: a move writes `cell.metadata.llmos.position`, a
 *   wire or parameter change rewrites the cell (`rewrite_cells_json`, keeping the rest
 *   of the user's text), a delete deletes the cell, a new node inserts a `%%skill` cell.
 * * Runs execute the cells in the notebook's own kernel (`NotebookActions.runCells`);
 *   statuses follow the cells (queued, running from the kernel's `execute_input`, then
 *   the `%%skill` display's node bundle) and previews come from that bundle.
 * * Selection follows the active cell both ways.
 */
import type { INotebookModel, Notebook, NotebookPanel } from '@jupyterlab/notebook';
import { NotebookActions, type INotebookTracker } from '@jupyterlab/notebook';
import type { ICellModel, ICodeCellModel } from '@jupyterlab/cells';
import type { KernelMessage } from '@jupyterlab/services';
import type { IDragEvent } from '@lumino/dragdrop';
import { SplitPanel, Widget } from '@lumino/widgets';
import React from 'react';
import { createRoot, type Root } from 'react-dom/client';

import { App } from '../App';
import type { Preview, Problem, StatusInfo, WorkflowJSON } from '../types';
import { HostModel } from './hostModel';
import type { LibraryKernel } from './kernel';
import { needsLoadExt, nodeIdFor, skillCellSource, type LibrarySkill } from './logic';
import { kernelNameOf } from './notebookKernel';
import {
  diffGraphs,
  nodeResultFromOutputs,
  nodesToRun,
  runOrder,
  slimNotebook,
  type CellOutput,
  type CellRewrite,
  type NotebookGraph,
} from './notebookLogic';

/** The Lumino drag mime type the skill library sets (the skill id). */
export const SKILL_DRAG_MIME = 'application/x-llmos-skill';
const DERIVE_DELAY_MS = 250;

const EMPTY: WorkflowJSON = { nodes: [], edges: [] };

/**
 * Make `node` (and what is inside it) accept skills dragged from the skill library (a
 * Lumino drag): `onDrop(skillId, clientX, clientY, target)` says whether it took the
 * drop; a drop it refuses goes on to whatever else is under the pointer.
 */
export function acceptSkillDrops(node: HTMLElement,
  onDrop: (skill: string, x: number, y: number, target: HTMLElement) => boolean): void {
  const accept = (e: Event) => {
    const ev = e as IDragEvent;
    if (!ev.mimeData?.hasData(SKILL_DRAG_MIME)) return;
    const skill = String(ev.mimeData.getData(SKILL_DRAG_MIME));
    if (ev.type === 'lm-drop' ? !onDrop(skill, ev.clientX, ev.clientY, ev.target as HTMLElement)
      : !onDrop('', ev.clientX, ev.clientY, ev.target as HTMLElement)) return;
    ev.preventDefault();
    ev.stopPropagation();
    ev.dropAction = 'copy';
  };
  for (const t of ['lm-dragenter', 'lm-dragover', 'lm-drop']) node.addEventListener(t, accept, true);
}

export interface NotebookCanvasOptions {
  tracker: INotebookTracker;
  kernel: LibraryKernel;
  skills: () => Promise<LibrarySkill[]>;
}

export class NotebookCanvas extends Widget {
  constructor(private options: NotebookCanvasOptions) {
    super();
    this.addClass('llmos-NotebookCanvas');
    this.node.dataset.llmosDropHost = 'true';  // skill drops are handled here, not by the canvas
    this.model = new HostModel(
      { workflow: EMPTY, skills: [], statuses: {}, previews: {}, errors: [], message: '',
        running: false, height: '100%', selected: [], validated: true, expressions: {},
        reset_history_on_load: true },
      (content) => void this.onAction(content as { action?: string; node?: string }),
    );
    this.model.onLocalChange = (key, value) => {
      if (key === 'workflow') void this.applyEdit(value as WorkflowJSON);
      else if (key === 'selected') this.activateNode(value as string[]);
    };
    options.tracker.currentChanged.connect(() => this.follow(options.tracker.currentWidget));
    options.tracker.activeCellChanged.connect(() => this.selectActiveCell());
    acceptSkillDrops(this.node, (skill, x, y) => {
      if (skill) void this.dropSkill(skill, x, y);  // '' while dragging over: accept
      return true;
    });
  }

  /** The library kernel starts when the graph is first shown, not with JupyterLab. */
  private loadSkills() {
    if (this.skillsLoaded) return;
    this.skillsLoaded = true;
    void this.options.skills().then((s) => { this.skillList = s; this.model.update('skills', s); })
      .catch((e) => this.model.update('message', `skill library unavailable: ${e}`));
  }
  private skillsLoaded = false;

  readonly model: HostModel;
  private root: Root | null = null;
  private panel: NotebookPanel | null = null;
  private graph: NotebookGraph = { workflow: EMPTY, cells: {}, problems: [], expressions: {} };
  /** What the canvas shows now (the derived graph plus edits not yet read back). */
  private shown: WorkflowJSON = EMPTY;
  private skillList: LibrarySkill[] = [];
  private timer = 0;
  private lastKey = '';
  private generation = 0;
  private pending = 0;
  private executing: string | null = null;
  private watched = new WeakSet<ICellModel>();
  private statusFrame = 0;

  /** The notebook shown, or null. */
  get notebook(): NotebookPanel | null {
    return this.panel;
  }

  protected onAfterAttach(): void {
    this.follow(this.options.tracker.currentWidget);
    if (this.isVisible) this.onAfterShow();
  }

  protected onAfterShow(): void {
    // The canvas is rendered when first shown: a closed sidebar costs nothing (and puts
    // no second `.llmos-canvas` in the page).
    if (!this.root) {
      this.root = createRoot(this.node);
      this.root.render(<App model={this.model} />);
      this.widen();
    }
    this.loadSkills();
    this.scheduleDerive(0);  // what changed while hidden
  }

  /**
   * The right sidebar opens about 250 px wide, too narrow for a graph: the first time
   * the graph is shown, widen it to a third of the window (at least 460 px), by the
   * split panel that holds it, as dragging its handle would.
   */
  private widen() {
    let w: Widget | null = this.parent;
    let below: Widget | null = null;  // the split panel's child that holds this widget
    while (w && !(w instanceof SplitPanel)) {
      below = w;
      w = w.parent;
    }
    if (!w || this.node.getBoundingClientRect().width >= 420) return;
    const split = w as SplitPanel;
    const index = split.widgets.indexOf(below ?? this);
    const sizes = split.relativeSizes();
    if (index < 0 || sizes.length < 2) return;
    const total = split.node.getBoundingClientRect().width || window.innerWidth;
    const want = Math.min(0.45, Math.max(460 / total, 1 / 3));
    if (sizes[index] >= want) return;
    const rest = sizes.reduce((a, b) => a + b, 0) - sizes[index];
    const scale = (1 - want) / (rest || 1);
    split.setRelativeSizes(sizes.map((v, i) => (i === index ? want : v * scale)));
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    this.root?.unmount();
    this.root = null;
    super.dispose();
  }

  // -- following the active notebook ----------------------------------------------------
  private follow(panel: NotebookPanel | null) {
    if (panel === this.panel) return;
    const old = this.panel;
    if (old && !old.isDisposed) {
      old.model?.contentChanged.disconnect(this.onContent, this);
      old.sessionContext.iopubMessage.disconnect(this.onIOPub, this);
    }
    this.panel = panel;
    this.lastKey = '';
    this.executing = null;
    this.graph = { workflow: EMPTY, cells: {}, problems: [], expressions: {} };
    this.shown = EMPTY;
    this.node.dataset.notebook = panel?.context.path ?? '';
    this.model.update('statuses', {});
    this.model.update('previews', {});
    this.model.update('errors', []);
    this.model.update('message', panel ? '' : 'Open a notebook: its %%skill cells appear here as a graph.');
    this.model.update('workflow', EMPTY);
    if (!panel) return;
    panel.disposed.connect(() => { if (this.panel === panel) this.follow(null); });
    void panel.context.ready.then(() => {
      if (this.panel !== panel) return;
      panel.model?.contentChanged.connect(this.onContent, this);
      panel.sessionContext.iopubMessage.connect(this.onIOPub, this);
      this.scheduleDerive(0);
    });
  }

  private onContent() {
    this.scheduleDerive(DERIVE_DELAY_MS);
    this.scheduleStatuses();
  }

  private onIOPub(_: unknown, msg: KernelMessage.IMessage) {
    if (msg.header.msg_type === 'execute_input') {
      this.executing = (msg.content as KernelMessage.IExecuteInputMsg['content']).code;
      this.scheduleStatuses();
    }
  }

  private scheduleDerive(delay: number) {
    if (!this.isVisible) return;  // hidden: no library kernel calls; showing derives
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.derive(), delay);
  }

  /** Read the graph of the notebook's cells (in the library kernel) and show it. */
  private async derive() {
    const panel = this.panel;
    const nbModel = panel?.model;
    if (!panel || !nbModel) return;
    if (this.pending > 0) {
      this.scheduleDerive(DERIVE_DELAY_MS);  // an edit is being written into the cells
      return;
    }
    this.watchCells(nbModel);
    const slim = slimNotebook(nbModel.toJSON() as Parameters<typeof slimNotebook>[0]);
    const key = JSON.stringify(slim);
    if (key === this.lastKey) return;
    const gen = ++this.generation;
    let graph: NotebookGraph;
    try {
      graph = await this.options.kernel.call<NotebookGraph>('notebook_graph_json', slim);
    } catch (e) {
      this.model.update('message', `cannot read the notebook's graph: ${e}`);
      return;
    }
    if (gen !== this.generation || panel !== this.panel) return;
    if (this.pending > 0) {
      this.scheduleDerive(DERIVE_DELAY_MS);
      return;
    }
    this.lastKey = key;
    const ids = (w: WorkflowJSON) => w.nodes.map((n) => n.id).sort().join(' ');
    // A new notebook or other nodes: fit them in view (after React Flow measured them);
    // a parameter or a position change keeps the user's zoom.
    if (ids(graph.workflow) !== ids(this.graph.workflow)) {
      window.setTimeout(() => this.model.custom({ command: 'fit' }), 80);
    }
    this.graph = graph;
    this.shown = graph.workflow;
    this.model.update('expressions', graph.expressions ?? {});
    this.model.update('workflow', graph.workflow);
    const problems: Problem[] = [
      ...graph.problems.map((p) => ({ code: 'cell', message: p.message, node: p.node })),
      ...(graph.validation ?? []).map((p) => ({ ...p, message: p.node ? `${p.node}: ${p.message}` : p.message })),
    ];
    this.model.update('errors', problems);
    this.model.update('message', problems.length ? problems[0].message
      : graph.workflow.nodes.length ? '' : 'No %%skill cells in this notebook yet: drop a skill here.');
    this.node.dataset.nodes = String(graph.workflow.nodes.length);
    this.updateStatuses();
    this.selectActiveCell();
  }

  // -- statuses and previews from the cells ------------------------------------------------
  private watchCells(nbModel: INotebookModel) {
    for (let i = 0; i < nbModel.cells.length; i++) {
      const cell = nbModel.cells.get(i);
      if (cell.type !== 'code' || this.watched.has(cell)) continue;
      this.watched.add(cell);
      cell.stateChanged.connect(() => this.scheduleStatuses());
      (cell as ICodeCellModel).outputs?.changed.connect(() => this.scheduleStatuses());
    }
  }

  private scheduleStatuses() {
    if (this.statusFrame) return;
    this.statusFrame = window.requestAnimationFrame(() => {
      this.statusFrame = 0;
      this.updateStatuses();
    });
  }

  private cellModel(node: string): { cell: ICellModel; index: number } | null {
    const id = this.graph.cells[node];
    const cells = this.panel?.model?.cells;
    if (id === undefined || !cells) return null;
    for (let i = 0; i < cells.length; i++) {
      if (cells.get(i).id === id) return { cell: cells.get(i), index: i };
    }
    return null;
  }

  private updateStatuses() {
    const statuses: Record<string, StatusInfo> = {};
    const previews: Record<string, Record<string, Preview>> = {};
    let running = false;
    for (const node of Object.keys(this.graph.cells)) {
      const found = this.cellModel(node);
      if (!found) continue;
      if (found.cell.type !== 'code') continue;
      const cell = found.cell as ICodeCellModel;
      if (cell.executionState === 'running') {
        running = true;
        const isRunning = this.executing !== null && cell.sharedModel.getSource() === this.executing;
        statuses[node] = { status: isRunning ? 'running' : 'queued' };
        continue;
      }
      const r = nodeResultFromOutputs((cell.outputs?.toJSON() ?? []) as CellOutput[]);
      if (r) {
        statuses[node] = r.status;
        if (Object.keys(r.previews).length) previews[node] = r.previews;
      }
    }
    if (JSON.stringify(statuses) !== JSON.stringify(this.model.get('statuses'))) this.model.update('statuses', statuses);
    if (JSON.stringify(previews) !== JSON.stringify(this.model.get('previews'))) this.model.update('previews', previews);
    if (running !== this.model.get('running')) this.model.update('running', running);
  }

  // -- selection ⇄ active cell -------------------------------------------------------------
  private selectActiveCell() {
    const panel = this.panel;
    const active = panel?.content.activeCell;
    if (!panel || !active || this.options.tracker.currentWidget !== panel) return;
    const id = active.model.id;
    const node = Object.keys(this.graph.cells).find((n) => this.graph.cells[n] === id);
    const want = node ? [node] : [];
    if (JSON.stringify(want) !== JSON.stringify(this.model.get('selected'))) this.model.update('selected', want);
  }

  /**
   * Show a selected node's cell: active, scrolled to, highlighted for a moment, in
   * command mode and without taking the focus (it stays in the graph, so Delete or
   * Ctrl+Z there never edit the cell's source).
   */
  private activateNode(nodes: string[]) {
    const panel = this.panel;
    if (!panel || nodes.length !== 1) return;
    const found = this.cellModel(nodes[0]);
    if (!found) return;
    const nb: Notebook = panel.content;
    const focused = document.activeElement as HTMLElement | null;
    // `nb.mode = 'command'` would focus the cell; setMode (protected, public in
    // JupyterLab ≥ 4.1's behaviour) can switch without moving the focus.
    if (nb.mode === 'edit') {
      (nb as unknown as { setMode(m: 'command', o: { focus: boolean }): void }).setMode('command', { focus: false });
    }
    if (nb.activeCellIndex !== found.index) nb.activeCellIndex = found.index;
    const widget = nb.widgets[found.index];
    if (widget) {
      void nb.scrollToCell(widget, 'center');
      widget.node.classList.add('llmos-mod-highlight');
      window.setTimeout(() => widget.node.classList.remove('llmos-mod-highlight'), 1200);
    }
    // Whatever the notebook did with the focus, it goes back where it was.
    if (focused && focused !== document.activeElement && document.contains(focused)) {
      focused.focus({ preventScroll: true });
    } else if (panel.node.contains(document.activeElement)) {
      (this.node.querySelector('.llmos-canvas') as HTMLElement | null)?.focus({ preventScroll: true });
    }
  }

  // -- canvas edits → cells ------------------------------------------------------------------
  private async applyEdit(after: WorkflowJSON) {
    const panel = this.panel;
    const shared = panel?.model?.sharedModel;
    if (!panel || !shared) return;
    const edit = diffGraphs(this.shown, after);
    this.shown = after;
    this.pending++;
    try {
      // Positions: metadata only (the node id is kept there too, informative).
      for (const [node, position] of Object.entries(edit.moved)) {
        const oldId = Object.keys(edit.renamed).find((o) => edit.renamed[o] === node) ?? node;
        const found = this.cellModel(oldId);
        if (!found) continue;
        const meta = { ...((found.cell.getMetadata('llmos') as Record<string, unknown>) ?? {}) };
        found.cell.setMetadata('llmos', { ...meta, node, position });
      }
      // Rewrites (wires, params, renames): the new sources come from Python.
      const entries = Object.entries(edit.rewrites)
        .map(([node, rw]) => ({ node, rw, found: this.cellModel(node) }))
        .filter((e): e is { node: string; rw: CellRewrite; found: { cell: ICellModel; index: number } } => !!e.found);
      if (entries.length) {
        const before = entries.map((e) => e.found.cell.sharedModel.getSource());
        const r = await this.options.kernel.call<{ sources: (string | null)[]; errors: (string | null)[] }>(
          'rewrite_cells_json', entries.map((e, i) => ({ source: before[i], ...e.rw })));
        const errors: string[] = [];
        entries.forEach((e, i) => {
          const source = r.sources[i];
          if (source === null) errors.push(r.errors[i] ?? `cannot edit the cell of ${e.node}`);
          else if (e.found.cell.sharedModel.getSource() !== before[i]) errors.push(`${e.node}: the cell changed meanwhile; edit not applied`);
          else if (source !== before[i]) e.found.cell.sharedModel.setSource(source);
        });
        if (errors.length) this.model.update('message', errors.join('; '));
      }
      // Deleted nodes: their cells go (highest index first, so indices stay valid).
      const doomed = edit.removed.map((n) => this.cellModel(n)).filter((f) => !!f)
        .map((f) => f!.index).sort((a, b) => b - a);
      for (const i of doomed) shared.deleteCell(i);
      // New nodes: a %%skill cell after the last skill cell (or at the end).
      if (edit.added.length) this.insertNodes(edit.added.map((n) => ({ id: n.id, skill: n.data.skill, position: n.position })));
    } catch (e) {
      this.model.update('message', `edit not applied: ${e}`);
    } finally {
      this.pending--;
      this.lastKey = '';
      this.scheduleDerive(DERIVE_DELAY_MS);
    }
  }

  private insertNodes(nodes: { id: string; skill: string; position: { x: number; y: number } }[]) {
    const panel = this.panel;
    const shared = panel?.model?.sharedModel;
    if (!panel || !shared) return;
    let at = shared.cells.length;
    const indices = Object.keys(this.graph.cells).map((n) => this.cellModel(n)?.index ?? -1);
    if (indices.length && Math.max(...indices) >= 0) at = Math.max(...indices) + 1;
    const used = Object.keys(this.graph.cells);  // nodes that have a cell already
    const missing: string[] = [];
    const cells = [];
    for (const n of nodes) {
      const skill = this.skillList.find((s) => s.id === n.skill);
      if (!skill) {
        missing.push(n.skill);
        continue;
      }
      // A Python identifier, as a kernel variable of that name holds the node's outputs.
      const id = /^[A-Za-z_][A-Za-z0-9_]*$/.test(n.id) && !used.includes(n.id) ? n.id : nodeIdFor(n.skill, used);
      used.push(id);
      cells.push({ cell_type: 'code' as const, source: skillCellSource(skill, id),
        metadata: { llmos: { node: id, position: { ...n.position } } } });
    }
    if (cells.length) shared.insertCells(at, cells);
    if (this.panel && needsLoadExt(shared.cells.map((c) => c.getSource()), kernelNameOf(this.panel))) {
      shared.insertCell(0, { cell_type: 'code', source: '%load_ext llmos_jupyter', metadata: {} });
    }
    if (missing.length) this.model.update('message', `unknown skill: ${missing.join(', ')}`);
  }

  private async dropSkill(skill: string, x: number, y: number) {
    if (!this.panel) {
      this.model.update('message', 'Open a notebook first: a dropped skill becomes a %%skill cell.');
      return;
    }
    if (!this.skillList.length) this.skillList = await this.options.skills();
    const id = nodeIdFor(skill, [...Object.keys(this.graph.cells), ...this.shown.nodes.map((n) => n.id)]);
    this.model.custom({ command: 'add-node', skill, x, y, id });
  }

  // -- runs in the notebook's kernel ---------------------------------------------------------
  private async onAction(content: { action?: string; node?: string }) {
    const panel = this.panel;
    if (!panel) return;
    const action = content?.action ?? '';
    if (action === 'cancel') {
      await panel.sessionContext.session?.kernel?.interrupt();
      return;
    }
    if (!['run', 'run-node', 'run-downstream'].includes(action)) return;
    await this.run(action, content.node);
  }

  /**
   * Run the skill cells of `action` (see `nodesToRun`) in graph order (each cell after
   * the cells defining the nodes it reads; ties in notebook order), after the cells that
   * load the extension, through the notebook (its kernel, its outputs, its prompts).
   * Refused, with the reason in the status line, when the graph is invalid (a cell that
   * cannot be read, a cycle, a wire to a missing node or port, a type mismatch …).
   */
  async run(action = 'run', node?: string): Promise<boolean> {
    const panel = this.panel;
    if (!panel) return false;
    const nodes = nodesToRun(this.graph.workflow, action, node);
    const index = (n: string) => this.cellModel(n)?.index ?? Number.MAX_SAFE_INTEGER;
    const { order, cycle } = runOrder(this.graph.workflow, nodes, index);
    const problems = [...(this.model.get('errors') as Problem[])];
    if (cycle.length) problems.unshift({ code: 'cycle', message: `the wires make a cycle through ${cycle.join(', ')}`, node: cycle[0] });
    const blocking = problems.filter((p) => !p.node || nodes.has(p.node));
    if (blocking.length) {
      this.model.update('message', `not run: invalid: ${blocking[0].message}` +
        (blocking.length > 1 ? ` (+${blocking.length - 1} more)` : ''));
      this.node.dataset.runStatus = 'invalid';
      return false;
    }
    const nb = panel.content;
    const first: number[] = [];
    nb.widgets.forEach((w, i) => {
      if (w.model.type === 'code' && /%load_ext\s+llmos_jupyter\b/.test(w.model.sharedModel.getSource())) first.push(i);
    });
    const skillCells = order.map((n) => this.cellModel(n)?.index).filter((i): i is number => i !== undefined);
    const cells = [...first, ...skillCells.filter((i) => !first.includes(i))].map((i) => nb.widgets[i]);
    if (!cells.length) return false;
    this.node.dataset.runStatus = 'running';
    this.node.dataset.runOrder = order.join(' ');
    this.model.update('message', `running ${nodes.size} node${nodes.size === 1 ? '' : 's'} in the notebook's kernel…`);
    const ok = await NotebookActions.runCells(nb, cells, panel.sessionContext);
    this.model.update('message', ok ? '' : 'the run stopped: see the cells\' outputs');
    this.node.dataset.runStatus = ok ? 'completed' : 'failed';
    this.updateStatuses();
    return ok;
  }
}
