import { describe, expect, it } from 'vitest';

import { RuntimeHost } from '../src/runtime/host';
import { FakeWorker } from './fakeWorker';
import {
  errorLine, parseRuntimeMessage, scriptSource, syntaxErrorAt, toPlain,
} from '../src/runtime/protocol';
import { runJob } from '../src/runtime/workerMain';
import { netlistTitle } from '../src/NetlistView';

const scope = globalThis as unknown as Record<string, unknown>;

describe('protocol', () => {
  it('parses execute and cancel requests and ignores other messages', () => {
    const req = parseRuntimeMessage({ kind: 'execute', request: 'r1', skill: 's', runtime: 'threejs',
      code: 'x', code_line: 12, source: 's.md', inputs: { a: 1 } });
    expect(req).toMatchObject({ kind: 'execute', runtime: 'threejs', code_line: 12, inputs: { a: 1 } });
    expect(parseRuntimeMessage({ kind: 'cancel', request: 'r1', reason: 'timeout' }))
      .toEqual({ kind: 'cancel', request: 'r1', reason: 'timeout' });
    expect(parseRuntimeMessage({ command: 'fit' })).toBeNull();
    expect(parseRuntimeMessage({ kind: 'execute', request: 'r', runtime: 'python', code: '' })).toBeNull();
    expect(parseRuntimeMessage(null)).toBeNull();
  });

  it('pads the script so line numbers are the skill file lines', () => {
    const s = scriptSource('a\nb', 5, 'my skill.md');
    expect(s.split('\n')[4]).toBe('a');
    expect(s).toContain('//# sourceURL=my_skill.md');
  });

  it('finds the innermost frame of the skill file in V8 and Firefox stacks', () => {
    expect(errorLine('Error: x\n    at execute (stats.md:41:9)\n    at run (blob:1:2)', 'stats.md')).toBe(41);
    expect(errorLine('execute@stats.md:7:3\n', 'stats.md')).toBe(7);
    expect(errorLine('Error: x\n    at other.md:3:1', 'stats.md')).toBeNull();
    expect(errorLine(undefined, 'stats.md')).toBeNull();
  });

  it('locates syntax errors with acorn', () => {
    expect(syntaxErrorAt(scriptSource('function execute(inputs) {\n  return {;\n}', 10, 'x.md')))
      .toMatchObject({ line: 11 });
    expect(syntaxErrorAt('function execute() { return {}; }')).toBeNull();
  });

  it('turns typed arrays into arrays and refuses what JSON would lose, naming the path', () => {
    expect(toPlain({ a: new Float32Array([1, 2]), b: [{ c: 'x' }] })).toEqual({ a: [1, 2], b: [{ c: 'x' }] });
    expect(() => toPlain({ a: [1, NaN] })).toThrow('outputs.a[1] is NaN');
    expect(() => toPlain({ f: () => 1 })).toThrow('outputs.f is a function');
    expect(() => toPlain({ u: undefined })).toThrow('outputs.u is undefined');
    expect(() => toPlain({ m: new Map() })).toThrow('outputs.m is a Map');
    class WithJSON { toJSON() { return { kind: 'x' }; } }
    expect(toPlain({ o: new WithJSON() })).toEqual({ o: { kind: 'x' } });
  });

  it('reads the SPICE title card', () => {
    expect(netlistTitle('* RC step response\nV1 in 0 DC 5')).toBe('RC step response');
    expect(netlistTitle('')).toBe('SPICE netlist');
  });
});

describe('worker job (evaluated here as in the worker)', () => {
  it('runs execute and returns plain outputs', async () => {
    const code = 'function execute(inputs) {\n  return { sum: inputs.xs.reduce((a, b) => a + b, 0), ' +
      'sq: new Float64Array(inputs.xs.map((x) => x * x)) };\n}';
    expect(await runJob({ code, code_line: 3, source: 'sum.md', inputs: { xs: [1, 2, 3] } }, scope))
      .toEqual({ outputs: { sum: 6, sq: [1, 4, 9] } });
  });

  it('awaits an async execute', async () => {
    const code = 'async function execute(inputs) { return { v: await Promise.resolve(inputs.v + 1) }; }';
    expect(await runJob({ code, code_line: 1, source: 'a.md', inputs: { v: 1 } }, scope))
      .toEqual({ outputs: { v: 2 } });
  });

  it('reports a thrown error with its skill-file line', async () => {
    const code = 'function execute(inputs) {\n  const w = inputs.window;\n' +
      '  if (w < 1) throw new RangeError(`window must be >= 1, got ${w}`);\n  return {};\n}';
    const answer = await runJob({ code, code_line: 20, source: 'ma.md', inputs: { window: 0 } }, scope);
    expect(answer).toMatchObject({ error: 'RangeError: window must be >= 1, got 0', line: 22 });
  });

  it('reports syntax errors, a missing execute and a non-object result', async () => {
    const bad = await runJob({ code: 'function execute(inputs) { return 1 +; }', code_line: 8, source: 'b.md', inputs: {} }, scope);
    expect(bad).toMatchObject({ line: 8 });
    expect((bad as { error: string }).error).toMatch(/^SyntaxError/);
    scope.execute = undefined;
    const none = await runJob({ code: 'var y = 1;', code_line: 4, source: 'c.md', inputs: {} }, scope);
    expect(none).toMatchObject({ error: 'the code block does not define function execute(inputs)' });
    const arr = await runJob({ code: 'function execute() { return [1]; }', code_line: 1, source: 'd.md',
      inputs: {} }, scope);
    expect((arr as { error: string }).error).toContain('returned an array');
  });
});

class FakeModel {
  handlers: ((m: unknown) => void)[] = [];
  sent: unknown[] = [];
  on(_e: string, cb: (m: unknown) => void) { this.handlers.push(cb); }
  off(_e: string, cb: (m: unknown) => void) { this.handlers = this.handlers.filter((h) => h !== cb); }
  send(c: unknown) { this.sent.push(c); }
  emit(m: unknown) { for (const h of this.handlers) h(m); }
}

describe('RuntimeHost', () => {
  const execute = (request: string, runtime = 'javascript') => ({
    kind: 'execute', request, skill: 's', runtime, code: 'c', code_line: 2, source: 's.md', inputs: { x: 1 },
  });

  it('runs each request in its own worker and answers once', () => {
    const model = new FakeModel();
    const workers: [string, FakeWorker][] = [];
    const host = new RuntimeHost(model, (rt) => { const w = new FakeWorker(); workers.push([rt, w]); return w; });
    model.emit(execute('a'));
    model.emit(execute('b', 'threejs'));
    expect(workers.map(([rt]) => rt)).toEqual(['javascript', 'threejs']);
    expect(workers[0][1].posted).toEqual([{ code: 'c', code_line: 2, source: 's.md', inputs: { x: 1 } }]);
    expect(host.active).toEqual(['a', 'b']);
    workers[1][1].onmessage!({ data: { outputs: { y: 2 } } });
    workers[1][1].onmessage!({ data: { outputs: { y: 3 } } }); // a second answer is dropped
    expect(model.sent).toEqual([{ action: 'result', request: 'b', outputs: { y: 2 } }]);
    expect(workers[1][1].terminated).toBe(true);
    expect(host.active).toEqual(['a']);
  });

  it('terminates the worker on cancel and sends nothing for it', () => {
    const model = new FakeModel();
    const w = new FakeWorker();
    new RuntimeHost(model, () => w);
    model.emit(execute('a'));
    model.emit({ kind: 'cancel', request: 'a', reason: 'timeout' });
    expect(w.terminated).toBe(true);
    w.onmessage!({ data: { outputs: {} } });
    expect(model.sent).toEqual([]);
  });

  it('reports a worker that fails to load, and a factory that throws', () => {
    const model = new FakeModel();
    const w = new FakeWorker();
    let fail = false;
    new RuntimeHost(model, () => { if (fail) throw new Error('no workers'); return w; });
    model.emit(execute('a'));
    w.onerror!({ message: 'Uncaught SyntaxError' });
    fail = true;
    model.emit(execute('b'));
    expect(model.sent).toEqual([
      { action: 'result', request: 'a', error: 'Web Worker error: Uncaught SyntaxError', line: null, stack: null },
      { action: 'result', request: 'b', error: 'could not start a Web Worker: Error: no workers', line: null,
        stack: null },
    ]);
  });

  it('dispose stops listening and terminates running workers', () => {
    const model = new FakeModel();
    const w = new FakeWorker();
    const host = new RuntimeHost(model, () => w);
    model.emit(execute('a'));
    host.dispose();
    expect(w.terminated).toBe(true);
    expect(model.handlers).toEqual([]);
  });
});
