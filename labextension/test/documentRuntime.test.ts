import { describe, expect, it } from 'vitest';

import { DocumentRuntime, STDIN_PREFIX } from '../src/lab/documentRuntime';
import { FakeWorker } from './fakeWorker';

const prompt = (request: string) => STDIN_PREFIX + JSON.stringify({
  kind: 'execute', request, skill: 'moving-average', runtime: 'javascript', code: 'function execute(i) {}',
  code_line: 40, source: 'moving-average.md', inputs: { values: [1, 2, 3], window: 2 } });

describe('DocumentRuntime (browser nodes of a document run, over stdin)', () => {
  it('answers a prompt with the worker result as JSON', async () => {
    const workers: FakeWorker[] = [];
    const rt = new DocumentRuntime(() => { const w = new FakeWorker(); workers.push(w); return w; });
    const reply = rt.ask(prompt('r1'))!;
    expect(workers).toHaveLength(1);
    expect(workers[0].posted[0]).toMatchObject({ source: 'moving-average.md', inputs: { window: 2 } });
    workers[0].onmessage!({ data: { outputs: { smoothed: [1.5, 2.5] } } });
    expect(JSON.parse(await reply)).toEqual({ outputs: { smoothed: [1.5, 2.5] } });
    expect(workers[0].terminated).toBe(true);
    expect(rt.active).toEqual([]);
  });

  it('passes a JS error with its line, ignores prompts that are not ours', async () => {
    const workers: FakeWorker[] = [];
    const rt = new DocumentRuntime(() => { const w = new FakeWorker(); workers.push(w); return w; });
    expect(rt.ask('Your name? ')).toBeNull();
    const reply = rt.ask(prompt('r2'))!;
    workers[0].onmessage!({ data: { error: 'RangeError: window', line: 52, stack: null } });
    expect(JSON.parse(await reply)).toEqual({ error: 'RangeError: window', line: 52, stack: null });
    expect(JSON.parse(await rt.ask(`${STDIN_PREFIX}{not json`)!).error).toMatch(/malformed/);
  });

  it('cancel terminates running workers and answers their prompts', async () => {
    const workers: FakeWorker[] = [];
    const rt = new DocumentRuntime(() => { const w = new FakeWorker(); workers.push(w); return w; });
    const reply = rt.ask(prompt('r3'))!;
    rt.stopAll();
    expect(workers[0].terminated).toBe(true);
    expect(JSON.parse(await reply).error).toMatch(/cancelled/);
    workers[0].onmessage?.({ data: { outputs: {} } });  // a late answer changes nothing
    expect(rt.active).toEqual([]);
  });
});
