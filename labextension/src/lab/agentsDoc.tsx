/**
 * An actor system file (TOML, issue 18 §5) as a document: its actors as a graph grouped by
 * scope, live message counts and statuses while it runs, the message log beside it.
 *
 * The graph and the problems come from the library kernel
 * (`llmos_jupyter._lab.agent_system_graph_json`, recomputed when the text changes, saved
 * or not); a run goes to the document's own kernel (`run_agent_system_json`, whose
 * `EVENT_PREFIX` lines update the view live; a Pyodide kernel awaits
 * `arun_agent_system_json` instead, having no thread to spare). The runtime records the
 * run as it always does (a trace notebook in the user volume).
 *
 * `*.agents.toml` opens here by default; any other `.toml` only through Open With →
 * Agent System or the `llmos:open-agent-system` command, so unrelated TOML files keep
 * opening in the editor.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Toolbar } from '@jupyterlab/apputils';
import { ABCWidgetFactory, DocumentRegistry, DocumentWidget } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import type { Kernel } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import React from 'react';
import { createRoot, type Root } from 'react-dom/client';

import './agents.css';

import {
  AGENTS_FACTORY,
  AGENTS_FILE_TYPE,
  EMPTY_RUN,
  OPEN_AGENT_SYSTEM,
  TOML_FILE_TYPE,
  applyAgentEvent,
  finalState,
  inputError,
  type AgentEvent,
  type AgentGraph,
  type AgentProblem,
  type AgentRunReply,
  type GraphReply,
  type RunState,
} from './agentsLogic';
import { AgentsView } from './agentsView';
import { callIn, ensureLlmos, executeIn, waitConnected } from './kernel';
import { EVENT_PREFIX, pythonCall } from './logic';
import { ILlmosLibrary, PLUGIN_PREFIX } from './tokens';

const agentsIcon = new LabIcon({
  name: 'llmos:agent-system',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon-brand0" fill="#8a4fd8"><rect x="1.5" y="3" width="21" height="18" rx="2.5" fill="none" stroke="#8a4fd8" stroke-width="1.6"/><circle cx="8" cy="12" r="3"/><circle cx="16" cy="12" r="3"/><path d="M10.5 10.6h3v1h-3zM10.5 12.4h3v1h-3z"/></g></svg>',
});

/** The Agent System view over one document's text model. */
export class AgentSystemView extends Widget {
  constructor(private context: DocumentRegistry.IContext<DocumentRegistry.ICodeModel>,
    private library: ILlmosLibrary) {
    super();
    this.addClass('llmos-AgentSystemView');
    context.ready.then(() => {
      this.root = createRoot(this.node);
      this.render();
      void this.refreshGraph();
      // The graph follows the text (the editor of the same file, a revert, a save).
      context.model.contentChanged.connect(() => this.scheduleGraph());
    }).catch((e) => console.error('llmos: cannot open the agent system', e));
  }

  private root: Root | null = null;
  private name = '';
  private description = '';
  private graph: AgentGraph = { nodes: [], edges: [] };
  private problems: AgentProblem[] = [];
  private run: RunState = EMPTY_RUN;
  private status = 'idle';
  private message = 'reading the system…';
  private input = '';
  private running = false;
  private runningIn: Kernel.IKernelConnection | null = null;
  private graphTimer = 0;
  private graphGen = 0;

  private render() {
    this.node.dataset.runStatus = this.status;
    this.root?.render(
      <AgentsView name={this.name || this.context.path.split('/').pop() || ''} description={this.description}
        graph={this.graph} problems={this.problems} run={this.run} status={this.status}
        message={this.message} input={this.input} running={this.running}
        onInput={(t) => { this.input = t; this.render(); }}
        onRun={() => void this.runSystem()} onCancel={() => void this.cancel()} />,
    );
  }

  private scheduleGraph() {
    window.clearTimeout(this.graphTimer);
    this.graphTimer = window.setTimeout(() => void this.refreshGraph(), 300);
  }

  /** The graph and problems of the text as it is now (library kernel). */
  async refreshGraph(): Promise<void> {
    const gen = ++this.graphGen;
    const text = this.context.model.sharedModel.getSource();
    try {
      const r = await this.library.kernel.call<GraphReply>('agent_system_graph_json', text, this.context.path);
      if (gen !== this.graphGen) return;
      this.graph = r.graph;
      this.problems = r.problems;
      this.name = r.name ?? '';
      this.description = r.description ?? '';
      this.node.dataset.valid = String(r.valid);
      if (!this.running) {
        const errors = r.problems.filter((p) => p.severity === 'error').length;
        this.message = errors ? `invalid: ${errors} error(s)` : 'ready';
        if (this.status === 'idle' || this.status === 'invalid') this.status = errors ? 'invalid' : 'idle';
      }
      this.graphFailures = 0;
    } catch (e) {
      if (gen !== this.graphGen) return;
      this.message = `cannot check the system: ${e instanceof Error ? e.message : e}`;
      // The library kernel may still be starting (or have just died and be restarting):
      // try again a few times rather than leave the view empty.
      if (++this.graphFailures <= 5) {
        window.clearTimeout(this.graphTimer);
        this.graphTimer = window.setTimeout(() => void this.refreshGraph(), 3000);
      }
    }
    this.render();
  }
  private graphFailures = 0;

  /** The kernel runs go to: the document's, else (No Kernel) the library kernel's (null). */
  private async runKernel(): Promise<Kernel.IKernelConnection | null> {
    const session = this.context.sessionContext;
    await session.ready;
    const kernel = session.session?.kernel ?? null;
    if (!kernel) return null;
    if (!(await waitConnected(kernel, 60_000))) {
      throw new Error(`${session.kernelDisplayName} did not connect; restart it from the Kernel menu`);
    }
    await ensureLlmos(kernel);
    return kernel;
  }

  /** Run the system with the input field's JSON; the view follows its events. */
  async runSystem(): Promise<void> {
    if (this.running) return;
    const bad = inputError(this.input);
    if (bad) {
      this.status = 'invalid';
      this.message = `not run: ${bad}`;
      this.render();
      return;
    }
    this.running = true;
    this.status = 'running';
    this.run = EMPTY_RUN;
    this.message = 'starting…';
    this.render();
    // Events come in bursts (one per message): redraw at most once a frame.
    let frame = 0;
    const onEvent = (e: AgentEvent) => {
      this.run = applyAgentEvent(this.run, e);
      if (e.kind === 'cancelling') this.message = 'cancelling…';
      if (!frame) frame = window.requestAnimationFrame(() => { frame = 0; this.render(); });
    };
    const text = this.context.model.sharedModel.getSource();
    const args: unknown[] = [text, this.context.path, this.input, true];
    try {
      const kernel = await this.runKernel();
      this.runningIn = kernel;
      this.message = `running in ${kernel ? `kernel ${this.context.sessionContext.kernelDisplayName}` : 'the library kernel'}…`;
      this.render();
      const home = this.library.config().llmosHome;
      let r: AgentRunReply;
      if (kernel) {
        // Runs are recorded where the run history looks (the LLMOS_HOME setting, when set).
        if (home) await callIn(kernel, 'set_llmos_home', [home]);
        r = (await kernel.info).implementation === 'pyodide'
          ? await awaitIn<AgentRunReply>(kernel, 'arun_agent_system_json', args, onEvent)
          : await callIn<AgentRunReply>(kernel, 'run_agent_system_json', args, (e) => onEvent(e as unknown as AgentEvent));
      } else {
        r = await this.library.kernel.callWithEvents<AgentRunReply>('run_agent_system_json', args, (e) => onEvent(e as unknown as AgentEvent));
      }
      window.cancelAnimationFrame(frame);
      frame = 0;
      if (r.status === 'invalid') {
        if (r.problems?.length) this.problems = r.problems;
        this.message = `not run: ${r.message ?? 'invalid'}`;
      } else {
        this.run = finalState(this.run, r);
        this.message = r.message ?? r.status;
      }
      this.status = r.status;
    } catch (e) {
      window.cancelAnimationFrame(frame);
      this.status = 'error';
      this.message = `run failed: ${e instanceof Error ? e.message : e}`;
    } finally {
      this.running = false;
      this.runningIn = null;
      this.render();
    }
  }

  /** Cancel the run: interrupt its kernel (the runtime stops the actors: `interrupted`). */
  async cancel(): Promise<void> {
    if (!this.running) return;
    this.message = 'cancelling…';
    this.render();
    if (this.runningIn) await this.runningIn.interrupt();
    else await this.library.kernel.interrupt();
  }

  dispose(): void {
    window.clearTimeout(this.graphTimer);
    this.root?.unmount();
    this.root = null;
    super.dispose();
  }
}

/**
 * `await llmos_jupyter._lab.<fn>(*args)` in `kernel` (a kernel with top-level await, e.g.
 * Pyodide's), parsed from its last printed line; `EVENT_PREFIX` lines go to `onEvent`.
 */
async function awaitIn<T>(kernel: Kernel.IKernelConnection, fn: string, args: unknown[],
  onEvent: (e: AgentEvent) => void): Promise<T> {
  const code = pythonCall(fn, ...args).replace(`print(_llmos_lab.${fn}(`, `print(await _llmos_lab.${fn}(`);
  const out = await executeIn(kernel, code, (line) => {
    if (!line.startsWith(EVENT_PREFIX)) return;
    try {
      onEvent(JSON.parse(line.slice(EVENT_PREFIX.length)) as AgentEvent);
    } catch {
      /* a malformed progress line never fails the run */
    }
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '') as T;
}

export class AgentSystemDocument extends DocumentWidget<AgentSystemView, DocumentRegistry.ICodeModel> {}

export class AgentSystemFactory extends ABCWidgetFactory<AgentSystemDocument, DocumentRegistry.ICodeModel> {
  constructor(options: DocumentRegistry.IWidgetFactoryOptions<AgentSystemDocument>, private library: ILlmosLibrary) {
    // A kernel of its own, as a workflow document has: a run never blocks the library kernel.
    super({ preferKernel: true, canStartKernel: true, shutdownOnClose: true, ...options });
  }

  protected createNewWidget(context: DocumentRegistry.IContext<DocumentRegistry.ICodeModel>): AgentSystemDocument {
    context.sessionContext.kernelPreference = {
      ...context.sessionContext.kernelPreference, name: this.library.config().kernel,
    };
    const w = new AgentSystemDocument({ content: new AgentSystemView(context, this.library), context });
    w.addClass('llmos-AgentSystemDocument');
    w.title.icon = agentsIcon;
    w.toolbar.addItem('spacer', Toolbar.createSpacerItem());
    w.toolbar.addItem('kernelName', Toolbar.createKernelNameItem(context.sessionContext));
    w.toolbar.addItem('kernelStatus', Toolbar.createKernelStatusItem(context.sessionContext));
    return w;
  }
}

/** Agent System documents: the file types, the widget factory and `llmos:open-agent-system`. */
export const agentsPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:agents`,
  description: 'Actor system files (*.agents.toml, or any .toml via Open With) as a live graph with the message log.',
  autoStart: true,
  requires: [ILlmosLibrary],
  optional: [ICommandPalette, IDefaultFileBrowser],
  activate: (app: JupyterFrontEnd, library: ILlmosLibrary, palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null) => {
    const registry = app.docRegistry;
    registry.addFileType({
      name: AGENTS_FILE_TYPE, displayName: 'Agent System', extensions: ['.agents.toml'],
      mimeTypes: ['text/x-toml'], contentType: 'file', fileFormat: 'text', icon: agentsIcon,
    });
    // Any .toml may be a system file: offer the view for it (Open With), without making it
    // the default, and without replacing a TOML file type another extension registered.
    let tomlName = Array.from(registry.fileTypes())
      .find((ft) => ft.extensions.map((x) => x.toLowerCase()).includes('.toml'))?.name ?? '';
    if (!tomlName) {
      registry.addFileType({
        name: TOML_FILE_TYPE, displayName: 'TOML', extensions: ['.toml'], mimeTypes: ['text/x-toml'],
        contentType: 'file', fileFormat: 'text',
      });
      tomlName = TOML_FILE_TYPE;
    }
    const factory = new AgentSystemFactory({
      name: AGENTS_FACTORY, label: 'Agent System', fileTypes: [AGENTS_FILE_TYPE, tomlName],
      defaultFor: [AGENTS_FILE_TYPE], modelName: 'text',
    }, library);
    registry.addWidgetFactory(factory);

    app.commands.addCommand(OPEN_AGENT_SYSTEM, {
      label: 'Open as Agent System',
      caption: 'Open a system TOML file as a graph of its actors, with a Run button and the message log',
      isEnabled: (args) => typeof args.path === 'string' ||
        /\.toml$/i.test(browser?.selectedItems().next().value?.path ?? ''),
      execute: (args) => {
        const path = typeof args.path === 'string' ? args.path : browser?.selectedItems().next().value?.path;
        if (!path) return;
        return app.commands.execute('docmanager:open', { path, factory: AGENTS_FACTORY });
      },
    });
    palette?.addItem({ command: OPEN_AGENT_SYSTEM, category: 'llmos' });
    app.contextMenu.addItem({ command: OPEN_AGENT_SYSTEM, selector: `.jp-DirListing-item[data-file-type="${tomlName}"]`, rank: 60 });
  },
};
