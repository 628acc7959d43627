/**
 * The code that runs inside a skill's Web Worker (bundled by build.mjs into a string that
 * becomes the worker's Blob URL; `worker-javascript.ts` / `worker-threejs.ts` are the two
 * entries). One worker runs one job and is then terminated by the host.
 */
import { errorAnswer, scriptSource, syntaxErrorAt, toPlain, type WorkerAnswer } from './protocol';

/** What the host posts to the worker. */
export interface WorkerJob {
  code: string;
  code_line: number;
  source: string;
  inputs: Record<string, unknown>;
}

/**
 * Evaluate the skill's code as a global script (so `function execute` becomes a global,
 * and stack frames carry the skill file's name and lines), call `execute(inputs)`, await
 * a returned promise, and turn the result into plain data.
 */
export async function runJob(job: WorkerJob, scope: Record<string, unknown>): Promise<WorkerAnswer> {
  const script = scriptSource(job.code, job.code_line, job.source);
  try {
    // Indirect eval: the global scope, not this module's.
    (0, eval)(script);
  } catch (err) {
    if (err instanceof SyntaxError) {
      const at = syntaxErrorAt(script);
      return { error: `SyntaxError: ${at?.message ?? err.message}`, line: at?.line ?? null, stack: null };
    }
    return errorAnswer(err, job.source);
  }
  const execute = scope.execute;
  if (typeof execute !== 'function') {
    return { error: 'the code block does not define function execute(inputs)', line: job.code_line,
      stack: null };
  }
  try {
    let out = execute(job.inputs);
    if (out && typeof (out as Promise<unknown>).then === 'function') out = await out;
    if (typeof out !== 'object' || out === null || Array.isArray(out)) {
      return { error: `TypeError: execute() returned ${Array.isArray(out) ? 'an array' : String(out)}, ` +
        'expected an object of outputs', line: null, stack: null };
    }
    return { outputs: toPlain(out) as Record<string, unknown> };
  } catch (err) {
    return errorAnswer(err, job.source);
  }
}

/** Answer one job posted to this worker; `globals` (e.g. THREE) are set first. */
export function serve(globals: Record<string, unknown> = {}): void {
  const scope = self as unknown as Record<string, unknown>;
  Object.assign(scope, globals);
  self.onmessage = async (ev: MessageEvent<WorkerJob>) => {
    const answer = await runJob(ev.data, scope);
    (self as unknown as { postMessage(m: unknown): void }).postMessage(answer);
  };
}
