import { describe, expect, it } from 'vitest';

import {
  executorKwargs,
  groupByCategory,
  Kwargs,
  LLMOS_KERNEL,
  needsLoadExt,
  preferredNotebookKernel,
  pythonCall,
  readConfig,
  type LibrarySkill,
} from '../src/lab/logic';

describe('the llmos kernel', () => {
  it('needs no %load_ext cell; other kernels get one unless a cell loads it', () => {
    expect(needsLoadExt(['%%skill a --uses x'], LLMOS_KERNEL)).toBe(false);
    expect(needsLoadExt(['%%skill a --uses x'], 'python3')).toBe(true);
    expect(needsLoadExt(['%%skill a --uses x'], null)).toBe(true);
    expect(needsLoadExt(['%load_ext llmos_jupyter', '%%skill a'], 'python3')).toBe(false);
  });
  it('is what new notebooks start when it is installed', () => {
    expect(preferredNotebookKernel(['python3', 'llmos', 'ir'], 'python3')).toBe('llmos');
    expect(preferredNotebookKernel(['python3', 'ir'], 'python3')).toBe('python3');
    expect(preferredNotebookKernel(['ir'], 'python3')).toBeNull();
  });
});

describe('the executor setting', () => {
  const cfg = (o: Record<string, unknown>) => readConfig((k) => o[k]);
  it('reads threads, processes, dask and a scheduler; anything else is threads', () => {
    expect(cfg({})).toMatchObject({ executor: 'threads', daskScheduler: '' });
    expect(cfg({ executor: 'dask', daskScheduler: ' tcp://10.0.0.5:8786 ' }))
      .toMatchObject({ executor: 'dask', daskScheduler: 'tcp://10.0.0.5:8786' });
    expect(cfg({ executor: 'gpu' }).executor).toBe('threads');
    expect(cfg({ executor: 3 }).executor).toBe('threads');
  });
  it('goes with document runs as keyword arguments (none for the default)', () => {
    expect(executorKwargs({ executor: 'threads', daskScheduler: 'tcp://x:1' })).toEqual({});
    expect(executorKwargs({ executor: 'processes', daskScheduler: 'tcp://x:1' })).toEqual({ executor: 'processes' });
    expect(executorKwargs({ executor: 'dask', daskScheduler: '' })).toEqual({ executor: 'dask' });
    expect(executorKwargs({ executor: 'dask', daskScheduler: 'tcp://x:1' }))
      .toEqual({ executor: 'dask', scheduler: 'tcp://x:1' });
    const code = pythonCall('run_workflow_json', '{}', null, false, true, true,
      new Kwargs({ executor: 'dask', scheduler: 'tcp://x:1"); evil("' }));
    expect(code).toContain("run_workflow_json(__import__('json').loads(\"\\\"{}\\\"\"), ");
    expect(code).toContain(", executor=__import__('json').loads(\"\\\"dask\\\"\"), scheduler=__import__('json').loads(");
    expect(code.endsWith('))')).toBe(true);
    expect(() => pythonCall('f', new Kwargs({ 'a=1, b': 2 }))).toThrow(/keyword argument name/);
    // no Kwargs: positional as before
    expect(pythonCall('runs_json')).toBe('import llmos_jupyter._lab as _llmos_lab\nprint(_llmos_lab.runs_json())');
  });
});

describe('the skill library sidebar', () => {
  it('lists control nodes first', () => {
    const sk = (id: string, category: string) => ({ id, name: id, category, inputs: [], outputs: [] }) as LibrarySkill;
    expect(groupByCategory([sk('vqe', 'quantum'), sk('map', 'control'), sk('rc', 'electronics'), sk('condition', 'control')])
      .map(([c, s]) => [c, s.map((x) => x.id)])).toEqual([
      ['control', ['condition', 'map']], ['electronics', ['rc']], ['quantum', ['vqe']]]);
  });
});
