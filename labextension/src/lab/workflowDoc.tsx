/**
 * `*.workflow.json` as a document: the canvas in a DocumentWidget over JupyterLab's text
 * model, so dirty state, save, revert and the file browser work as for any file.
 * Runs go to the document's own kernel (started with it, changed with the toolbar's
 * kernel picker; "No Kernel" falls back to the library kernel) through
 * `llmos_jupyter._lab.run_workflow_json`, whose engine events update the nodes live.
 */
import { Toolbar, ToolbarButton } from '@jupyterlab/apputils';
import { saveIcon } from '@jupyterlab/ui-components';
import { ABCWidgetFactory, DocumentRegistry, DocumentWidget } from '@jupyterlab/docregistry';
import type { Kernel } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';
import React from 'react';
import { createRoot, type Root } from 'react-dom/client';

import { App } from '../App';
import { subworkflowPath, type NodeState } from '../control';
import type { McpToolsReply, McpToolsState, ValidateReply } from '../contract.gen';
import type { Problem, StatusInfo, WorkflowJSON } from '../types';
import { HostModel } from './hostModel';
import { JAVASCRIPT_WORKER, THREEJS_WORKER } from 'virtual:llmos-worker-sources';

import { blobWorkerFactory } from '../runtime/host';
import { DocumentRuntime } from './documentRuntime';
import { callIn, ensureLlmos, waitConnected } from './kernel';
import { applyEvent, executorKwargs, Kwargs, type EngineEvent } from './logic';
import { applyLogEvent, logFromText, type NodeLog } from '../nodeLog';
import type { ILlmosLibrary, LlmosConfig } from './tokens';

/** What `run_workflow_json` returns. */
interface RunReply {
  status: string;
  message: string;
  statuses: Record<string, StatusInfo>;
  previews?: Record<string, Record<string, unknown>>;
  trace?: string | null;
  /** The Dask dashboard's URL when the run went to a Dask cluster. */
  dashboard?: string | null;
  /** Each node's whole log (what it printed), when the kernel's llmos-jupyter sends it. */
  logs?: Record<string, string> | null;
}

/** How often the canvas shows new log lines at most (the engine sends them every 50 ms). */
const LOG_FLUSH_MS = 100;

/** The toolbar's executor label (`executor`, `scheduler` traits) from the settings. */
export function executorTraits(c: LlmosConfig): { executor: string; scheduler: string } {
  return { executor: c.executor, scheduler: c.executor === 'dask' ? c.daskScheduler : '' };
}

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
    private library: ILlmosLibrary,
    /** Opens a file of the server (a control node's sub-workflow) in JupyterLab. */
    private open?: (path: string) => void,
  ) {
    super();
    this.addClass('llmos-WorkflowCanvas');
    this.node.dataset.llmosDropHost = 'true';  // skill drops are handled here, not by the canvas
    this.model = new HostModel(
      { workflow: { nodes: [], edges: [] }, skills: [], statuses: {}, previews: {}, errors: [],
        logs: {}, dashboard: '', node_ports: {}, message: '', running: false, height: '100%',
        layout_direction: library.config().layoutDirection, ...executorTraits(library.config()),
        can_open_files: !!open },
      (content) => void this.onAction(content as { action?: string; node?: string }),
    );
    library.onConfigChanged((c) => {
      this.model.update('layout_direction', c.layoutDirection);
      for (const [k, v] of Object.entries(executorTraits(c))) this.model.update(k, v);
    });
    this.model.onLocalChange = (key, value) => {
      if (key !== 'workflow') return;
      const text = JSON.stringify(value, null, 2) + '\n';
      this.lastText = text;
      context.model.sharedModel.setSource(text);
      context.model.dirty = true;  // setSource alone does not mark a text model dirty
      this.scheduleValidation();
      // A part of the canvas other than the graph may edit the document through the model
      // (the palette's MCP entries): tell the graph, as anywidget's model does on set. The
      // graph ignores a change that is its own (App.tsx compares with what it last synced).
      this.model.update('workflow', value);
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
    // The palette's MCP group: the configured servers (none contacted).
    void library.kernel.call<McpToolsReply>('mcp_tools_json')
      .then((r) => this.model.update('mcp_servers', r.servers)).catch(() => {});
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
      this.scheduleValidation();
    } catch (e) {
      // Never "valid": the canvas keeps the last workflow it could read and says why not.
      const message = `JSON syntax error: ${e instanceof Error ? e.message : e}`;
      this.model.update('errors', [{ code: 'syntax', message, node: null }]);
      this.model.update('message', `invalid: ${message}`);
    }
  }

  private validationTimer = 0;
  private validationGen = 0;

  /** Validate in the library kernel (`_lab.validate_workflow_json`) 300 ms after edits stop. */
  private scheduleValidation() {
    window.clearTimeout(this.validationTimer);
    this.validationTimer = window.setTimeout(() => void this.validate(), 300);
  }

  /**
   * Every problem of the workflow as the engine sees it (unknown skills, wires, types,
   * cycles, missing inputs, parameters); shown as "invalid: …" and on the nodes.
   * Returns the problems (empty: valid).
   */
  async validate(): Promise<Problem[]> {
    const gen = ++this.validationGen;
    let text: string;
    try {
      text = this.context.model.sharedModel.getSource();
      parseWorkflow(text);
    } catch {
      return this.model.get('errors') as Problem[];  // the syntax error stays
    }
    try {
      const r = await this.library.kernel.call<ValidateReply>('validate_workflow_json', text);
      if (gen === this.validationGen) {
        this.model.update('errors', r.problems);
        // A switch's cases, a subworkflow's interface: the nodes' own ports (when the
        // kernel's llmos-jupyter sends them; an older one shows the palette's).
        const ports = r.node_ports && typeof r.node_ports === 'object' ? r.node_ports : {};
        if (JSON.stringify(ports) !== JSON.stringify(this.model.get('node_ports'))) this.model.update('node_ports', ports);
      }
      return r.problems;
    } catch (e) {
      console.warn('llmos: validation failed', e);
      return [];
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

  /** The kernel runs go to: the document's, else (No Kernel) the library kernel. */
  private async runKernel(): Promise<{ kernel: Kernel.IKernelConnection | null; label: string }> {
    const session = this.context.sessionContext;
    await session.ready;
    let kernel = session.session?.kernel ?? null;
    if (kernel && !(await waitConnected(kernel, 10_000))) {
      // Closing a document shuts its kernel down; the same file reopened meanwhile can
      // attach to that dying session, and calls into it would wait forever. Ask the
      // server whether the kernel still exists; if not, start a new one.
      const gone = kernel;
      await session.sessionManager.refreshRunning();
      const listed = Array.from(session.sessionManager.running()).some((m) => m.kernel?.id === gone.id);
      if (!listed || gone.status === 'dead') {
        this.model.update('message', 'the kernel is gone: starting a new one…');
        session.session?.dispose();
        await session.changeKernel({ name: gone.name });
        kernel = session.session?.kernel ?? null;
      }
      if (kernel && !(await waitConnected(kernel, 60_000))) {
        throw new Error(`${session.kernelDisplayName} did not connect; restart it from the Kernel menu`);
      }
    }
    if (kernel) await ensureLlmos(kernel);  // JupyterLite: install it in the Pyodide kernel
    return kernel ? { kernel, label: `kernel ${session.kernelDisplayName}` } : { kernel: null, label: 'the library kernel' };
  }

  /** The node selected in the canvas (React Flow marks it), or null. */
  selectedNode(): string | null {
    return this.node.querySelector('.react-flow__node.selected')?.getAttribute('data-id') ?? null;
  }

  /**
   * Run the workflow, or `node` and what it needs (with `downstream`, also what depends
   * on it). Statuses follow the engine's events as they happen; previews arrive at the end.
   */
  async run(node: string | null = null, downstream = false): Promise<void> {
    if (this.model.get('running')) return;
    const wf = this.model.get('workflow') as WorkflowJSON;
    // Statuses of an earlier run never stay next to a new (or a refused) one.
    this.model.update('statuses', {});
    this.model.update('previews', {});
    this.model.update('logs', {});
    this.logs = {};
    // A dashboard link is the run's: the new one comes with its run_started event.
    this.model.update('dashboard', '');
    this.model.update('running', true);
    this.node.dataset.runStatus = 'running';
    this.model.update('message', 'checking the workflow…');
    const problems = await this.validate();
    if (problems.length) {
      const first = problems[0];
      this.model.update('message', `not run: invalid: ${first.node ? `${first.node}: ` : ''}${first.message}` +
        (problems.length > 1 ? ` (+${problems.length - 1} more)` : ''));
      this.node.dataset.runStatus = 'invalid';
      this.model.update('running', false);
      return;
    }
    const onEvent = (e: EngineEvent) => {
      if (e.kind === 'node_log') {
        this.logs = applyLogEvent(this.logs, e);
        this.scheduleLogFlush();
        return;  // no status changes
      }
      if (e.kind === 'run_started') {
        this.logs = applyLogEvent(this.logs, e);
        this.scheduleLogFlush();
        // The Dask cluster is up: its dashboard shows while the run goes on.
        if (typeof e.dashboard === 'string' && e.dashboard) this.model.update('dashboard', e.dashboard);
      }
      this.model.update('statuses', applyEvent(this.model.get('statuses') as Record<string, NodeState>, e));
      if (e.kind === 'cancelling') this.model.update('message', 'cancelling: running nodes finish, the rest is skipped…');
    };
    try {
      const { kernel, label } = await this.runKernel();
      this.runningIn = kernel;
      this.model.update('message', `running in ${label}…`);
      const home = this.library.config().llmosHome;
      // events: live statuses; browser: this page runs the javascript/threejs nodes.
      const args: unknown[] = [JSON.stringify(wf), node, downstream, true, true];
      // The executor setting (Settings → llmos): keyword arguments of run_workflow_json.
      const kw = executorKwargs(this.library.config());
      if (Object.keys(kw).length) args.push(new Kwargs(kw));
      const onStdin = (prompt: string) => this.runtime.ask(prompt);
      let r: RunReply;
      if (kernel) {
        // Traces go where the run history looks (the LLMOS_HOME setting, when set).
        if (home) await callIn(kernel, 'set_llmos_home', [home]);
        r = await callIn<RunReply>(kernel, 'run_workflow_json', args, onEvent, onStdin);
      } else {
        r = await this.library.kernel.callWithEvents<RunReply>('run_workflow_json', args, onEvent, onStdin);
      }
      if (r.status === 'invalid') {
        this.model.update('statuses', {});
        this.model.update('message', `not run: invalid: ${r.message}`);
      } else {
        this.model.update('statuses', { ...(this.model.get('statuses') as Record<string, NodeState>), ...r.statuses });
        if (r.previews) {
          this.model.update('previews', { ...(this.model.get('previews') as Record<string, unknown>), ...r.previews });
        }
        this.model.update('message', r.message);
      }
      if (typeof r.dashboard === 'string' && r.dashboard) this.model.update('dashboard', r.dashboard);
      if (r.logs && typeof r.logs === 'object') {
        // The whole logs of the finished nodes replace what arrived live (complete, and
        // also there on the threads executor, which sends no node_log events).
        for (const [n, text] of Object.entries(r.logs)) {
          if (typeof text === 'string' && text) this.logs = { ...this.logs, [n]: logFromText(text) };
        }
      }
      this.node.dataset.runStatus = r.status;
    } catch (e) {
      // Nothing is queued or running any more: those statuses go.
      const statuses = { ...(this.model.get('statuses') as Record<string, StatusInfo>) };
      for (const [n, st] of Object.entries(statuses)) {
        if (st.status === 'queued' || st.status === 'running') delete statuses[n];
      }
      this.model.update('statuses', statuses);
      this.model.update('message', `run failed: ${e instanceof Error ? e.message : e}`);
      this.node.dataset.runStatus = 'error';
    } finally {
      this.flushLogs();
      this.runningIn = null;
      this.model.update('running', false);
    }
  }

  /** The run's logs as they arrive (shown every LOG_FLUSH_MS, not on each event). */
  private logs: Record<string, NodeLog> = {};
  private logTimer = 0;

  private scheduleLogFlush() {
    if (!this.logTimer) this.logTimer = window.setTimeout(() => this.flushLogs(), LOG_FLUSH_MS);
  }

  private flushLogs() {
    window.clearTimeout(this.logTimer);
    this.logTimer = 0;
    if (this.model.get('logs') !== this.logs) this.model.update('logs', this.logs);
  }
  private runningIn: Kernel.IKernelConnection | null = null;
  /** Runs the document's javascript/threejs nodes in Web Workers (asked over stdin). */
  private runtime = new DocumentRuntime(blobWorkerFactory({
    javascript: JAVASCRIPT_WORKER, threejs: THREEJS_WORKER }));

  /** Cancel the run: interrupt its kernel; the engine skips the nodes not started yet. */
  async cancel(): Promise<void> {
    if (!this.model.get('running')) return;
    this.model.update('message', 'cancelling…');
    this.runtime.stopAll();  // browser nodes stop now; the kernel skips what has not started
    if (this.runningIn) await this.runningIn.interrupt();
    else await this.library.kernel.interrupt();
  }

  private async onAction(content: { action?: string; node?: string; server?: string; refresh?: boolean }) {
    if (content?.action === 'run') await this.run();
    else if (content?.action === 'run-node') await this.run(content.node ?? null, false);
    else if (content?.action === 'run-downstream') await this.run(content.node ?? null, true);
    else if (content?.action === 'cancel') await this.cancel();
    else if (content?.action === 'open-subworkflow' && content.node) this.openSubworkflow(content.node);
    else if (content?.action === 'mcp-tools' && typeof content.server === 'string') {
      await this.loadMcpTools(content.server, !!content.refresh);
    }
  }

  /** A configured MCP server's tools into the `mcp_tools` trait (the palette's MCP group). */
  private async loadMcpTools(server: string, refresh: boolean) {
    const put = (state: McpToolsState) => this.model.update('mcp_tools',
      { ...(this.model.get('mcp_tools') as Record<string, McpToolsState> | undefined), [server]: state });
    put({ status: 'loading', tools: [], error: null });
    try {
      const r = await this.library.kernel.call<McpToolsReply>('mcp_tools_json', server, refresh);
      this.model.update('mcp_servers', r.servers);
      put({ status: r.status === 'ok' ? 'ok' : 'error', tools: r.tools, error: r.error });
    } catch (e) {
      put({ status: 'error', tools: [], error: String(e) });
    }
  }

  /** Open the sub-workflow `node` runs (its `workflow` parameter, relative to this file). */
  private openSubworkflow(node: string) {
    const wf = this.model.get('workflow') as WorkflowJSON;
    const rel = wf.nodes.find((n) => n.id === node)?.data.params?.workflow;
    const path = subworkflowPath(this.context.path, rel);
    if (!path || !this.open) {
      this.model.update('message', `cannot open the sub-workflow of ${node}: ` +
        `${JSON.stringify(rel)} is not a path inside the server's folder`);
      return;
    }
    this.open(path);
  }

  protected onBeforeDetach(): void {
    // React stays mounted while the tab is hidden; unmounted on dispose.
  }

  dispose(): void {
    window.clearTimeout(this.validationTimer);
    window.clearTimeout(this.logTimer);
    this.runtime.dispose();
    this.root?.unmount();
    this.root = null;
    super.dispose();
  }
}

export class WorkflowDocument extends DocumentWidget<WorkflowCanvas, DocumentRegistry.ICodeModel> {}

export class WorkflowFactory extends ABCWidgetFactory<WorkflowDocument, DocumentRegistry.ICodeModel> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<WorkflowDocument>,
    private library: ILlmosLibrary,
    private open?: (path: string) => void,
  ) {
    // Like a notebook, a workflow document has a kernel of its own (started with it,
    // shut down with it, in the document's directory so relative paths resolve).
    super({ preferKernel: true, canStartKernel: true, shutdownOnClose: true, ...options });
  }

  protected createNewWidget(context: DocumentRegistry.IContext<DocumentRegistry.ICodeModel>): WorkflowDocument {
    // A JSON file has no kernel language; the settings name the kernel to start.
    context.sessionContext.kernelPreference = {
      ...context.sessionContext.kernelPreference, name: this.library.config().kernel,
    };
    const content = new WorkflowCanvas(context, this.library, this.open);
    const w = new WorkflowDocument({ content, context });
    w.addClass('llmos-WorkflowDocument');
    // Save as for any document (Ctrl/⌘+S and File → Save reach the context too: the
    // canvas lets Accel+S through to JupyterLab's shortcut).
    const save = new ToolbarButton({
      icon: saveIcon,
      label: 'Save',
      tooltip: 'Save the workflow (Ctrl/⌘+S)',
      onClick: () => void context.save().catch((e) => console.error('llmos: save failed', e)),
    });
    save.node.dataset.action = 'save';
    w.toolbar.addItem('save', save);
    w.toolbar.addItem('spacer', Toolbar.createSpacerItem());
    w.toolbar.addItem('kernelName', Toolbar.createKernelNameItem(context.sessionContext));
    w.toolbar.addItem('kernelStatus', Toolbar.createKernelStatusItem(context.sessionContext));
    return w;
  }
}
