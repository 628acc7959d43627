/**
 * The browser runtime's protocol and its pure parts (unit-tested in test/runtime.test.ts).
 *
 * The kernel (llmos_jupyter/_widget/browser_runtime.py) sends
 *   {kind: 'execute', request, skill, runtime: 'javascript' | 'threejs', code, code_line,
 *    source, inputs}
 *   {kind: 'cancel', request, reason}
 * and expects back, through `model.send`,
 *   {action: 'result', request, outputs} or {action: 'result', request, error, line, stack}.
 * A worker gets a `WorkerJob` and posts a `WorkerAnswer`. The message types are generated
 * from the Python contract (llmos_jupyter/_contract/schemas.py → contract.gen.ts).
 */
import { parse } from 'acorn';

import {
  BROWSER_RUNTIMES,
  type BrowserRuntime,
  type CancelRequest,
  type ExecuteRequest,
  type ResultMessage,
  type WorkerAnswer,
} from '../contract.gen';

// The message types are the Python contract's (llmos_jupyter/_contract, contract.gen.ts).
export { BROWSER_RUNTIMES };
export type { BrowserRuntime, CancelRequest, ExecuteRequest, ResultMessage, WorkerAnswer };

/** The kernel's message as a request, or null when it is not one of ours. */
export function parseRuntimeMessage(msg: unknown): ExecuteRequest | CancelRequest | null {
  if (typeof msg !== 'object' || msg === null) return null;
  const m = msg as Record<string, unknown>;
  if (typeof m.request !== 'string') return null;
  if (m.kind === 'cancel') {
    return { kind: 'cancel', request: m.request, reason: m.reason === 'timeout' ? 'timeout' : 'cancel' };
  }
  if (m.kind !== 'execute') return null;
  if (!(BROWSER_RUNTIMES as readonly unknown[]).includes(m.runtime) || typeof m.code !== 'string') {
    return null;
  }
  return {
    kind: 'execute',
    request: m.request,
    skill: String(m.skill ?? ''),
    runtime: m.runtime as BrowserRuntime,
    code: m.code,
    code_line: typeof m.code_line === 'number' && m.code_line >= 1 ? Math.floor(m.code_line) : 1,
    source: typeof m.source === 'string' && m.source ? m.source : `${String(m.skill ?? 'skill')}.md`,
    inputs: (typeof m.inputs === 'object' && m.inputs !== null ? m.inputs : {}) as Record<string, unknown>,
  };
}

/**
 * The code as a script whose line numbers are the skill file's: padded with
 * `code_line - 1` empty lines (as the Python engine pads its compile), and named by a
 * `sourceURL` comment so stack traces say `name.md:LINE:COL`.
 */
export function scriptSource(code: string, codeLine: number, source: string): string {
  return '\n'.repeat(Math.max(0, codeLine - 1)) + code + `\n//# sourceURL=${sourceUrlName(source)}\n`;
}

/** The source name as it can appear in a sourceURL comment and a stack frame. */
export function sourceUrlName(source: string): string {
  return source.replace(/[\s()]/g, '_');
}

/**
 * The skill-file line of the innermost stack frame in `source` (V8 `at f (x.md:12:5)`,
 * Firefox `f@x.md:12:5`), or null.
 */
export function errorLine(stack: string | undefined | null, source: string): number | null {
  if (!stack) return null;
  const name = sourceUrlName(source).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`${name}:(\\d+)(?::\\d+)?`).exec(stack);
  return m ? Number(m[1]) : null;
}

/**
 * Where a script fails to parse: `{line, message}` in skill-file lines, or null when it
 * parses. V8's eval SyntaxError carries no location, so acorn finds it.
 */
export function syntaxErrorAt(script: string): { line: number; message: string } | null {
  try {
    parse(script, { ecmaVersion: 'latest', sourceType: 'script', allowAwaitOutsideFunction: false });
    return null;
  } catch (err) {
    const e = err as { loc?: { line: number }; message?: string };
    if (!e.loc) return null;
    // acorn appends " (line:col)"; the line is reported separately.
    return { line: e.loc.line, message: String(e.message ?? err).replace(/ \(\d+:\d+\)$/, '') };
  }
}

/**
 * The value `execute` returned, as plain JSON data for the comm: typed arrays become
 * arrays, Maps/Sets/functions/undefined/symbols/bigints and non-finite numbers are
 * refused with the path of the bad value (`outputs.scene.x`), since the kernel's JSON
 * would silently drop or null them.
 */
export function toPlain(value: unknown, path = 'outputs'): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${path} is ${value}: not a finite number`);
    return value;
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return toPlain(Array.from(value as unknown as ArrayLike<number>), path);
  }
  if (Array.isArray(value)) return value.map((v, i) => toPlain(v, `${path}[${i}]`));
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as object).constructor?.name ?? 'object';
      // A three.js object, say: its toJSON() is the portable form.
      const toJSON = (value as { toJSON?: () => unknown }).toJSON;
      if (typeof toJSON === 'function') return toPlain(toJSON.call(value), path);
      throw new TypeError(`${path} is a ${name}: return plain objects, arrays, numbers, strings`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = toPlain(v, `${path}.${k}`);
    }
    return out;
  }
  throw new TypeError(`${path} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}: ` +
    'not JSON data');
}

/** The answer for a failure: the error's message (with its class) and skill-file line. */
export function errorAnswer(err: unknown, source: string): WorkerAnswer {
  if (err instanceof Error) {
    const message = `${err.name}: ${err.message}`;
    return { error: message, line: errorLine(err.stack, source), stack: err.stack ?? null };
  }
  return { error: `thrown value: ${String(err)}`, line: null, stack: null };
}

/** The comm message for one answer. */
export function resultMessage(request: string, answer: WorkerAnswer): ResultMessage {
  return { action: 'result', request, ...answer };
}
