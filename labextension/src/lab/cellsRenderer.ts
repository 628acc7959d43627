/**
 * The renderer of `%workflow import`'s output (`application/vnd.llmos.cells+json`): a
 * kernel can insert at most one cell (`set_next_input`), so the magic displays the cells
 * and this renderer inserts them below its own cell when asked ("Insert N cells").
 */
import type { INotebookTracker } from '@jupyterlab/notebook';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { CELLS_MIME } from './notebookLogic';

interface CellSpec { source: string; metadata?: Record<string, unknown> }

export class CellsRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(private tracker: INotebookTracker | null) {
    super();
    this.addClass('llmos-CellsBundle');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[CELLS_MIME] as { cells?: CellSpec[] } | undefined;
    const cells = (data?.cells ?? []).filter((c) => typeof c?.source === 'string');
    this.node.textContent = '';
    const button = document.createElement('button');
    button.className = 'jp-mod-styled jp-mod-accept llmos-CellsBundle-insert';
    button.dataset.action = 'insert-cells';
    button.textContent = `Insert ${cells.length} cell${cells.length === 1 ? '' : 's'} below`;
    button.disabled = !cells.length;
    const note = document.createElement('span');
    note.className = 'llmos-CellsBundle-note';
    button.onclick = () => {
      const where = this.insert(cells);
      note.textContent = where;
      if (where.startsWith('Inserted')) {
        button.disabled = true;
        this.node.dataset.inserted = 'true';
      }
    };
    this.node.append(button, note);
    for (const c of cells) {
      const pre = document.createElement('pre');
      pre.className = 'llmos-CellsBundle-cell';
      pre.textContent = c.source;
      this.node.append(pre);
    }
  }

  /** Insert `cells` below the cell showing this output; what happened, as a sentence. */
  private insert(cells: CellSpec[]): string {
    const panel = this.tracker?.find((p) => p.node.contains(this.node));
    const shared = panel?.content.model?.sharedModel;
    if (!panel || !shared) return 'Only a notebook can take the cells: copy them from below.';
    const at = panel.content.widgets.findIndex((w) => w.node.contains(this.node));
    shared.insertCells(at < 0 ? shared.cells.length : at + 1, cells.map((c) => ({
      cell_type: 'code' as const, source: c.source, metadata: (c.metadata ?? {}) as Record<string, never>,
    })));
    return `Inserted ${cells.length} cell${cells.length === 1 ? '' : 's'}.`;
  }
}

/** The renderer factory (registered with the app's rendermime registry at rank 0, ahead of
 * the Markdown form the magic also sends). Safe: nothing runs until the user runs it. */
export function cellsRendererFactory(tracker: INotebookTracker | null): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [CELLS_MIME],
    defaultRank: 0,
    createRenderer: () => new CellsRenderer(tracker),
  };
}
