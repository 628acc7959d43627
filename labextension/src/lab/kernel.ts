/**
 * Kernels the extension talks to. The *library kernel* is a kernel of its own that the
 * extension starts on first use and asks for the skill library, the run history and
 * re-runs (through `llmos_jupyter._lab`). Workflow documents run in their own kernel
 * (the document's session, which the user can change with the toolbar's kernel picker).
 * No server extension is needed, so this works unchanged in JupyterLite (where kernels
 * are Pyodide's) and never touches the user's notebooks' kernels.
 */
import type { Kernel, KernelMessage, ServiceManager } from '@jupyterlab/services';

import { EVENT_PREFIX, LineSplitter, pythonCall, type EngineEvent } from './logic';

/** Answers a kernel's `input()` prompt (null: not ours, an empty reply is sent). */
export type StdinHandler = (prompt: string) => Promise<string> | null;

/**
 * Resolves true once `kernel`'s websocket is connected, false when `ms` pass first or
 * the kernel is dead (nothing would ever answer its messages).
 */
export function waitConnected(kernel: Kernel.IKernelConnection, ms: number): Promise<boolean> {
  if (kernel.isDisposed || kernel.status === 'dead') return Promise.resolve(false);
  if (kernel.connectionStatus === 'connected') return Promise.resolve(true);
  return new Promise((resolve) => {
    const on = (_: Kernel.IKernelConnection, status: Kernel.ConnectionStatus) => {
      if (status === 'connected') done(true);
    };
    const timer = setTimeout(() => done(false), ms);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      kernel.connectionStatusChanged.disconnect(on);
      resolve(ok);
    };
    kernel.connectionStatusChanged.connect(on);
  });
}

/**
 * Run `code` in `kernel`; resolves with its stdout. `onLine` sees each complete stdout
 * line as it arrives (live progress); `onStdin` answers its `input()` prompts (without it
 * the kernel is told stdin is not available). An `error` reply rejects with `ename: evalue`.
 */
export async function executeIn(kernel: Kernel.IKernelConnection, code: string,
  onLine?: (line: string) => void, onStdin?: StdinHandler): Promise<string> {
  let out = '';
  let error = '';
  const lines = new LineSplitter();
  const future = kernel.requestExecute({ code, silent: false, store_history: false,
    allow_stdin: !!onStdin });
  if (onStdin) {
    future.onStdin = (msg: KernelMessage.IStdinMessage) => {
      if (msg.header.msg_type !== 'input_request') return;
      const prompt = String((msg.content as KernelMessage.IInputRequestMsg['content']).prompt ?? '');
      const reply = onStdin(prompt) ?? Promise.resolve('');
      void reply.then((value) => future.sendInputReply({ status: 'ok', value },
        msg.header as KernelMessage.IInputReplyMsg['parent_header']));
    };
  }
  future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
    const t = msg.header.msg_type;
    if (t === 'stream') {
      const c = msg.content as KernelMessage.IStreamMsg['content'];
      if (c.name !== 'stdout') return;
      out += c.text;
      if (onLine) for (const line of lines.push(c.text)) onLine(line);
    } else if (t === 'error') {
      const c = msg.content as KernelMessage.IErrorMsg['content'];
      error = `${c.ename}: ${c.evalue}`;
    }
  };
  await future.done;
  if (onLine) for (const line of lines.flush()) onLine(line);
  if (error) {
    if (/ModuleNotFoundError: No module named 'llmos_jupyter/.test(error)) {
      throw new Error(`llmos-jupyter is not installed in the kernel "${kernel.name}" ` +
        '(pip install llmos-jupyter in that environment, or pick another kernel)');
    }
    throw new Error(error);
  }
  return out;
}

/**
 * `llmos_jupyter._lab.<fn>(*args)` in `kernel`, parsed (its last printed line is JSON);
 * engine events printed before it (`EVENT_PREFIX` lines) go to `onEvent`.
 */
export async function callIn<T>(kernel: Kernel.IKernelConnection, fn: string, args: unknown[],
  onEvent?: (e: EngineEvent) => void, onStdin?: StdinHandler): Promise<T> {
  const onLine = onEvent ? (line: string) => {
    if (!line.startsWith(EVENT_PREFIX)) return;
    try {
      onEvent(JSON.parse(line.slice(EVENT_PREFIX.length)) as EngineEvent);
    } catch {
      /* a malformed progress line never fails the run */
    }
  } : undefined;
  const text = (await executeIn(kernel, pythonCall(fn, ...args), onLine, onStdin)).trim();
  if (fn === 'export_notebook_json') return JSON.parse(text) as T;
  const last = text.split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

/**
 * Run once in a new Pyodide library kernel (JupyterLite): `llmos_jupyter` is not part of
 * Pyodide, so install it from the site's piplite index (`pypi/`, which also serves its
 * dependencies), as `%pip install llmos-jupyter` in a notebook would. Other kernels must
 * have it installed already; they never run this.
 */
export const PYODIDE_BOOTSTRAP = [
  'import importlib.util',
  'if importlib.util.find_spec("llmos_jupyter") is None:',
  '    import piplite',
  '    await piplite.install("llmos-jupyter")',
].join('\n');

const bootstrapped = new WeakMap<Kernel.IKernelConnection, Promise<void>>();

/**
 * Make `llmos_jupyter` importable in `kernel`: a Pyodide kernel (its `kernel_info` says
 * `implementation: pyodide`) runs `PYODIDE_BOOTSTRAP` once; other kernels are left alone.
 */
export function ensureLlmos(kernel: Kernel.IKernelConnection): Promise<void> {
  let done = bootstrapped.get(kernel);
  if (!done) {
    done = (async () => {
      if ((await kernel.info).implementation === 'pyodide') await executeIn(kernel, PYODIDE_BOOTSTRAP);
    })();
    done.catch(() => bootstrapped.delete(kernel));
    bootstrapped.set(kernel, done);
  }
  return done;
}

export class LibraryKernel {
  constructor(private manager: ServiceManager.IManager, private kernelName = 'python3') {}

  private _kernel: Promise<Kernel.IKernelConnection> | null = null;
  private _queue: Promise<unknown> = Promise.resolve();

  setKernelName(name: string) {
    if (name && name !== this.kernelName) {
      this.kernelName = name;
      void this.dispose();
    }
  }

  private kernel(): Promise<Kernel.IKernelConnection> {
    if (!this._kernel || this._dead) {
      this._dead = false;
      this._kernel = (async () => {
        await this.manager.ready;
        const k = await this.manager.kernels.startNew({ name: this.kernelName });
        k.statusChanged.connect((_, s) => {
          if (s === 'dead') this._dead = true;
        });
        await ensureLlmos(k);
        return k;
      })();
      this._kernel.catch(() => { this._kernel = null; });
    }
    return this._kernel;
  }
  private _dead = false;

  /** `llmos_jupyter._lab.<fn>(*args)`, parsed; events to `onEvent`. One call at a time. */
  call<T>(fn: string, ...args: unknown[]): Promise<T> {
    return this.queued(async () => callIn<T>(await this.kernel(), fn, args));
  }

  /** As `call`, with the engine's events of a run delivered live (and `input()` answered). */
  callWithEvents<T>(fn: string, args: unknown[], onEvent: (e: EngineEvent) => void,
    onStdin?: StdinHandler): Promise<T> {
    return this.queued(async () => callIn<T>(await this.kernel(), fn, args, onEvent, onStdin));
  }

  /**
   * Run `code` (the extension's own Python, never text from elsewhere) and parse its last
   * printed line as JSON. One call at a time, with `call`.
   */
  run<T>(code: string): Promise<T> {
    return this.queued(async () => {
      const text = (await executeIn(await this.kernel(), code)).trim();
      return JSON.parse(text.split('\n').pop() ?? '') as T;
    });
  }

  /** The kernelspec name the library kernel starts. */
  get name(): string {
    return this.kernelName;
  }

  /** Interrupt the running call (a run cancels at its next node boundary). */
  async interrupt(): Promise<void> {
    if (this._kernel) await (await this._kernel).interrupt();
  }

  private queued<T>(job: () => Promise<T>): Promise<T> {
    const next = this._queue.then(job);
    this._queue = next.catch(() => undefined);
    return next;
  }

  async dispose() {
    const k = this._kernel;
    this._kernel = null;
    if (k) {
      try {
        await (await k).shutdown();
      } catch {
        /* already gone */
      }
    }
  }
}
