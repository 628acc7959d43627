/**
 * Runs the kernel's `javascript` / `threejs` node requests in Web Workers and sends the
 * answers back (protocol in ./protocol.ts). One host per widget model (anywidget's
 * `initialize`), so a canvas shown twice still runs each node once.
 *
 * Each request gets a fresh worker: nothing leaks between nodes, and cancel or timeout
 * (sent by the kernel, which owns the time limit) is `worker.terminate()`.
 */
import {
  parseRuntimeMessage, resultMessage, type BrowserRuntime, type ExecuteRequest,
  type ResultMessage, type WorkerAnswer,
} from './protocol';

/** The part of `Worker` the host uses (a fake in unit tests). */
export interface WorkerLike {
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: { message?: string; lineno?: number; preventDefault?: () => void }) => void) | null;
  postMessage(data: unknown): void;
  terminate(): void;
}

export type WorkerFactory = (runtime: BrowserRuntime) => WorkerLike;

export interface ModelLike {
  on(event: string, cb: (msg: unknown) => void): void;
  off(event: string, cb: (msg: unknown) => void): void;
  send(content: unknown): void;
}

export class RuntimeHost {
  private running = new Map<string, WorkerLike>();
  private readonly onMsg = (msg: unknown) => this.handle(msg);

  constructor(private model: ModelLike, private makeWorker: WorkerFactory) {
    model.on('msg:custom', this.onMsg);
  }

  /** Requests whose worker is still running. */
  get active(): string[] {
    return [...this.running.keys()];
  }

  handle(msg: unknown): void {
    const req = parseRuntimeMessage(msg);
    if (req === null) return;
    if (req.kind === 'cancel') {
      this.stop(req.request);
      return;
    }
    this.execute(req);
  }

  private execute(req: ExecuteRequest): void {
    let worker: WorkerLike;
    try {
      worker = this.makeWorker(req.runtime);
    } catch (err) {
      this.model.send(resultMessage(req.request, {
        error: `could not start a Web Worker: ${String(err)}`, line: null, stack: null }));
      return;
    }
    this.running.set(req.request, worker);
    worker.onmessage = (ev) => this.reply(req.request, ev.data as WorkerAnswer);
    // Errors outside the job's try/catch (the worker script itself failing to load).
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      this.reply(req.request, { error: `Web Worker error: ${ev.message ?? 'unknown'}`,
        line: null, stack: null });
    };
    worker.postMessage({ code: req.code, code_line: req.code_line, source: req.source,
      inputs: req.inputs });
  }

  private reply(request: string, answer: WorkerAnswer): void {
    if (!this.running.has(request)) return; // cancelled or answered already
    this.stop(request);
    const msg: ResultMessage = resultMessage(request, answer);
    this.model.send(msg);
  }

  private stop(request: string): void {
    const worker = this.running.get(request);
    if (worker === undefined) return;
    this.running.delete(request);
    worker.terminate();
  }

  /** Stop listening and terminate every running worker. */
  dispose(): void {
    this.model.off('msg:custom', this.onMsg);
    for (const id of [...this.running.keys()]) this.stop(id);
  }
}

/** A factory of real workers from bundled sources (one Blob URL per runtime, reused). */
export function blobWorkerFactory(sources: Record<BrowserRuntime, string>): WorkerFactory {
  const urls = new Map<BrowserRuntime, string>();
  return (runtime) => {
    let url = urls.get(runtime);
    if (url === undefined) {
      url = URL.createObjectURL(new Blob([sources[runtime]], { type: 'text/javascript' }));
      urls.set(runtime, url);
    }
    return new Worker(url, { name: `llmos-${runtime}` }) as unknown as WorkerLike;
  };
}
