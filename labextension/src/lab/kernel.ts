/**
 * The library kernel: a kernel of its own that the extension starts on first use and
 * asks for the skill library, the run history and workflow runs (through
 * `llmos_jupyter._lab`). No server extension is needed, so this works unchanged in
 * JupyterLite (where the kernel is Pyodide's) and never touches the user's notebooks'
 * kernels.
 */
import type { Kernel, KernelMessage, ServiceManager } from '@jupyterlab/services';

import { pythonCall } from './logic';

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
        if ((await k.info).implementation === 'pyodide') await this._execute(PYODIDE_BOOTSTRAP, k);
        return k;
      })();
      this._kernel.catch(() => { this._kernel = null; });
    }
    return this._kernel;
  }
  private _dead = false;

  /** Run `code`; its stdout (stderr and errors make it reject). One call at a time. */
  execute(code: string): Promise<string> {
    const next = this._queue.then(() => this._execute(code));
    this._queue = next.catch(() => undefined);
    return next;
  }

  private async _execute(code: string, started?: Kernel.IKernelConnection): Promise<string> {
    const kernel = started ?? (await this.kernel());
    let out = '';
    let error = '';
    const future = kernel.requestExecute({ code, silent: false, store_history: false });
    future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
      const t = msg.header.msg_type;
      if (t === 'stream') {
        const c = msg.content as KernelMessage.IStreamMsg['content'];
        if (c.name === 'stdout') out += c.text;
      } else if (t === 'error') {
        const c = msg.content as KernelMessage.IErrorMsg['content'];
        error = `${c.ename}: ${c.evalue}`;
      }
    };
    await future.done;
    if (error) throw new Error(error);
    return out;
  }

  /** `llmos_jupyter._lab.<fn>(*args)`, parsed (its last printed line is JSON). */
  async call<T>(fn: string, ...args: unknown[]): Promise<T> {
    const out = await this.execute(pythonCall(fn, ...args));
    const text = out.trim();
    if (fn === 'export_notebook_json') return JSON.parse(text) as T;
    const last = text.split('\n').pop() ?? '';
    return JSON.parse(last) as T;
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
