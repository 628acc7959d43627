/**
 * `javascript` / `threejs` nodes of a workflow *document*'s runs. The document runs in a
 * kernel through one executing cell, which cannot receive comm messages; so the kernel
 * asks for each browser node with an `input()` prompt (`STDIN_PREFIX` + the execute
 * request, `llmos_jupyter._widget.browser_runtime.StdinBridge`) and this answers it with
 * the Web Worker's result as the input reply. The workers are the canvas widget's
 * (`../runtime/host.ts`): one fresh worker per node, terminated on Cancel.
 */
import { RuntimeHost, type ModelLike, type WorkerFactory } from '../runtime/host';

/** Start of an `input()` prompt carrying one browser-node request (Python's `STDIN_PREFIX`). */
export const STDIN_PREFIX = '@llmos-browser-node ';

export class DocumentRuntime {
  constructor(makeWorker: WorkerFactory) {
    const model: ModelLike = {
      on: (_event, cb) => { this.listeners.add(cb); },
      off: (_event, cb) => { this.listeners.delete(cb); },
      send: (content) => this.answered(content as { request?: string }),
    };
    this.host = new RuntimeHost(model, makeWorker);
  }

  private host: RuntimeHost;
  private listeners = new Set<(msg: unknown) => void>();
  private pending = new Map<string, (reply: string) => void>();

  /**
   * The input reply for a kernel prompt: the node's `{"outputs"}` or `{"error", "line",
   * "stack"}` as JSON once its worker is done; `null` when the prompt is not ours.
   */
  ask(prompt: string): Promise<string> | null {
    if (!prompt.startsWith(STDIN_PREFIX)) return null;
    let request: { request?: unknown };
    try {
      request = JSON.parse(prompt.slice(STDIN_PREFIX.length));
    } catch {
      return Promise.resolve(JSON.stringify({ error: 'malformed browser-node request', line: null }));
    }
    const id = request?.request;
    if (typeof id !== 'string') {
      return Promise.resolve(JSON.stringify({ error: 'browser-node request without an id', line: null }));
    }
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      for (const cb of [...this.listeners]) cb(request);
    });
  }

  private answered(content: { request?: string; action?: string }) {
    const id = content?.request;
    const resolve = id === undefined ? undefined : this.pending.get(id);
    if (!resolve || id === undefined) return;
    this.pending.delete(id);
    // The kernel wants the worker's answer alone: not our routing fields.
    const answer: Record<string, unknown> = { ...content };
    delete answer.action;
    delete answer.request;
    resolve(JSON.stringify(answer));
  }

  /** Requests still running in a worker. */
  get active(): string[] {
    return this.host.active;
  }

  /** Cancel: terminate every running worker; their prompts are answered with an error. */
  stopAll(): void {
    for (const id of this.host.active) {
      for (const cb of [...this.listeners]) cb({ kind: 'cancel', request: id, reason: 'cancel' });
    }
    for (const [id, resolve] of [...this.pending]) {
      this.pending.delete(id);
      resolve(JSON.stringify({ error: 'run cancelled while the node ran in the browser', line: null }));
    }
  }

  dispose(): void {
    this.stopAll();
    this.host.dispose();
  }
}
