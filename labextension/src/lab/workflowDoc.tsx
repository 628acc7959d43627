/**
 * `*.workflow.json` as a document: the canvas in a DocumentWidget over JupyterLab's text
 * model, so dirty state, save, revert and the file browser work as for any file.
 * Runs go to the library kernel (`llmos_jupyter._lab.run_workflow_json`).
 */
import { ABCWidgetFactory, DocumentRegistry, DocumentWidget } from '@jupyterlab/docregistry';
import { Widget } from '@lumino/widgets';
import React from 'react';
import { createRoot, type Root } from 'react-dom/client';

import { App } from '../App';
import type { StatusInfo, WorkflowJSON } from '../types';
import { HostModel } from './hostModel';
import type { LibraryKernel } from './kernel';
import type { LibrarySkill } from './logic';

/** Parse a document's text; an empty file is an empty workflow. */
export function parseWorkflow(text: string, fallbackName = 'workflow'): WorkflowJSON {
  if (!text.trim()) return { id: fallbackName, name: fallbackName, nodes: [], edges: [] };
  const wf = JSON.parse(text) as WorkflowJSON;
  return { ...wf, nodes: wf.nodes ?? [], edges: wf.edges ?? [] };
}

/** The canvas over one document's text model. */
export class WorkflowCanvas extends Widget {
  constructor(
    private context: DocumentRegistry.IContext<DocumentRegistry.ICodeModel>,
    private library: { kernel: LibraryKernel; skills: () => Promise<LibrarySkill[]> },
  ) {
    super();
    this.addClass('llmos-WorkflowCanvas');
    this.model = new HostModel(
      { workflow: { nodes: [], edges: [] }, skills: [], statuses: {}, previews: {}, errors: [],
        message: '', running: false, height: '100%' },
      (content) => void this.onAction(content),
    );
    this.model.onLocalChange = (key, value) => {
      if (key !== 'workflow') return;
      const text = JSON.stringify(value, null, 2) + '\n';
      this.lastText = text;
      context.model.sharedModel.setSource(text);
      context.model.dirty = true;  // setSource alone does not mark a text model dirty
    };
    context.ready.then(() => {
      this.loadFromModel();
      this.savedText = context.model.sharedModel.getSource();
      context.model.contentChanged.connect(() => {
        const source = context.model.sharedModel.getSource();
        if (source === this.lastText) return;
        this.loadFromModel();
        if (source === this.savedText) context.model.dirty = false;
      });
      // Revert (File → Reload from Disk) reads the file back: what is shown is what is on
      // disk, so the document is clean again (the context leaves that to the widget).
      // A revert (File → Reload from Disk) brings back the saved text: clean again (the
      // context does not reset `dirty` for a text model).
      context.saveState.connect((_, state) => {
        if (state === 'completed') this.savedText = context.model.sharedModel.getSource();
      });
      this.mount();
    }).catch((e) => console.error('llmos: cannot open the workflow', e));
    void library.skills().then((s) => this.model.update('skills', s))
      .catch((e) => this.model.update('message', `skill library unavailable: ${e}`));
  }

  readonly model: HostModel;
  private lastText = '';
  private savedText = '';
  private root: Root | null = null;

  private loadFromModel() {
    const text = this.context.model.sharedModel.getSource();
    try {
      const wf = parseWorkflow(text, this.context.path.split('/').pop()?.replace(/\.workflow\.json$/, ''));
      this.lastText = text;
      this.model.update('workflow', wf);
      this.model.update('errors', []);
    } catch (e) {
      this.model.update('message', `not a workflow: ${e}`);
    }
  }

  private mount() {
    if (this.root) return;
    this.root = createRoot(this.node);
    this.root.render(<App model={this.model} />);
  }

  /** Fit view / auto-layout (the palette's commands). */
  command(name: 'fit' | 'layout') {
    this.model.custom({ command: name });
  }

  /** The workflow as it is in the canvas now. */
  workflowText(): string {
    return JSON.stringify(this.model.get('workflow'));
  }

  async run(): Promise<void> {
    if (this.model.get('running')) return;
    const wf = this.model.get('workflow') as WorkflowJSON;
    const queued: Record<string, StatusInfo> = {};
    for (const n of wf.nodes) queued[n.id] = { status: 'queued' };
    this.model.update('statuses', queued);
    this.model.update('running', true);
    this.model.update('message', 'running in the library kernel…');
    try {
      const r = await this.library.kernel.call<{ status: string; message: string;
        statuses: Record<string, StatusInfo> }>('run_workflow_json', JSON.stringify(wf));
      this.model.update('statuses', r.statuses);
      this.model.update('message', r.message);
      this.node.dataset.runStatus = r.status;
    } catch (e) {
      this.model.update('statuses', {});
      this.model.update('message', `run failed: ${e}`);
      this.node.dataset.runStatus = 'error';
    } finally {
      this.model.update('running', false);
    }
  }

  private async onAction(content: { action?: string }) {
    if (content?.action === 'run' || content?.action === 'run-node' || content?.action === 'run-downstream') {
      await this.run();  // the whole workflow: the library kernel runs copies, cached nodes are fast
    } else if (content?.action === 'cancel') {
      this.model.update('message', 'cancel: not supported in the document view yet');
    }
  }

  protected onBeforeDetach(): void {
    // React stays mounted while the tab is hidden; unmounted on dispose.
  }

  dispose(): void {
    this.root?.unmount();
    this.root = null;
    super.dispose();
  }
}

export class WorkflowDocument extends DocumentWidget<WorkflowCanvas, DocumentRegistry.ICodeModel> {}

export class WorkflowFactory extends ABCWidgetFactory<WorkflowDocument, DocumentRegistry.ICodeModel> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<WorkflowDocument>,
    private library: { kernel: LibraryKernel; skills: () => Promise<LibrarySkill[]> },
  ) {
    super(options);
  }

  protected createNewWidget(context: DocumentRegistry.IContext<DocumentRegistry.ICodeModel>): WorkflowDocument {
    const content = new WorkflowCanvas(context, this.library);
    const w = new WorkflowDocument({ content, context });
    w.addClass('llmos-WorkflowDocument');
    return w;
  }
}
