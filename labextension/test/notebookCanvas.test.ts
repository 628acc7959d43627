import { describe, expect, it } from 'vitest';

import {
  NODE_MIME,
  diffGraphs,
  nodeResultFromOutputs,
  nodesToRun,
  slimNotebook,
} from '../src/lab/notebookLogic';
import type { WorkflowJSON } from '../src/types';

const wf = (): WorkflowJSON => ({
  id: 'nb', name: 'nb',
  nodes: [
    { id: 'ham', type: 'skill', position: { x: 0, y: 80 }, data: { skill: 'quantum-hamiltonian', params: {} } },
    { id: 'vqe', type: 'skill', position: { x: 320, y: 80 },
      data: { skill: 'quantum-vqe', params: { iterations: 20, seed: 7 } } },
    { id: 'plot', type: 'skill', position: { x: 640, y: 80 }, data: { skill: 'plot-convergence', params: {} } },
  ],
  edges: [
    { id: 'ham.hamiltonian->vqe.hamiltonian', source: 'ham', sourceHandle: 'hamiltonian', target: 'vqe', targetHandle: 'hamiltonian' },
    { id: 'ham.nuclear_repulsion->vqe.energy_offset', source: 'ham', sourceHandle: 'nuclear_repulsion', target: 'vqe', targetHandle: 'energy_offset' },
    { id: 'vqe.convergence_trace->plot.values', source: 'vqe', sourceHandle: 'convergence_trace', target: 'plot', targetHandle: 'values' },
  ],
});

describe('diffGraphs: what a canvas edit changes in the cells', () => {
  it('a move is metadata only', () => {
    const a = wf();
    const b = wf();
    b.nodes[1].position = { x: 400, y: 10 };
    expect(diffGraphs(a, b)).toEqual({ moved: { vqe: { x: 400, y: 10 } }, removed: [], added: [], rewrites: {}, renamed: {} });
  });

  it('params: changed and new ones are set, missing ones removed', () => {
    const a = wf();
    const b = wf();
    b.nodes[1].data.params = { iterations: 50, ansatz: 'RYRY' };
    expect(diffGraphs(a, b).rewrites).toEqual({ vqe: { params: { iterations: 50, ansatz: 'RYRY' }, remove: ['seed'] } });
  });

  it('wires: a disconnect rewrites the target keeping the order of the rest; a connect appends', () => {
    const a = wf();
    const b = wf();
    b.edges = b.edges.filter((e) => e.targetHandle !== 'hamiltonian');
    b.edges.push({ id: 'x', source: 'ham', sourceHandle: 'hamiltonian', target: 'plot', targetHandle: 'labels' });
    expect(diffGraphs(a, b).rewrites).toEqual({
      vqe: { wires: ['energy_offset=ham.nuclear_repulsion'] },
      plot: { wires: ['values=vqe.convergence_trace', 'labels=ham.hamiltonian'] },
    });
    // The same wires in another order change nothing.
    const c = wf();
    c.edges = [c.edges[1], c.edges[0], c.edges[2]];
    expect(diffGraphs(a, c).rewrites).toEqual({});
  });

  it('a delete removes the cell (its wires go with it downstream); an added node needs a cell', () => {
    const a = wf();
    const b = wf();
    b.nodes = b.nodes.filter((n) => n.id !== 'vqe');
    b.edges = b.edges.filter((e) => e.source !== 'vqe' && e.target !== 'vqe');
    b.nodes.push({ id: 'rc', type: 'skill', position: { x: 5, y: 5 }, data: { skill: 'circuit-rc', params: {} } });
    const d = diffGraphs(a, b);
    expect(d.removed).toEqual(['vqe']);
    expect(d.added.map((n) => n.id)).toEqual(['rc']);
    expect(d.rewrites).toEqual({ plot: { wires: [] } });
  });

  it('a rename (same skill, same place) renames the cell and the wires downstream', () => {
    const a = wf();
    const b = wf();
    b.nodes[0].id = 'h2';
    for (const e of b.edges) if (e.source === 'ham') e.source = 'h2';
    const d = diffGraphs(a, b);
    expect(d.renamed).toEqual({ ham: 'h2' });
    expect(d.removed).toEqual([]);
    expect(d.added).toEqual([]);
    expect(d.rewrites).toEqual({
      ham: { node_id: 'h2' },
      vqe: { wires: ['hamiltonian=h2.hamiltonian', 'energy_offset=h2.nuclear_repulsion'] },
    });
  });
});

describe('nodeResultFromOutputs: a node status from its cell', () => {
  it('reads the %%skill display node bundle', () => {
    const r = nodeResultFromOutputs([
      { output_type: 'stream', name: 'stderr', text: 'note: something\n' },
      { output_type: 'execute_result', data: { 'text/plain': 'x', [NODE_MIME]: {
        node: 'vqe', status: 'completed', elapsed_ms: 12.5,
        previews: { eigenvalue: { kind: 'number', value: -1.137, unit: 'Hartree' } } } } },
    ]);
    expect(r).toEqual({ status: { status: 'completed', elapsed_ms: 12.5 },
      previews: { eigenvalue: { kind: 'number', value: -1.137, unit: 'Hartree' } } });
    const failed = nodeResultFromOutputs([{ output_type: 'display_data', data: {
      [NODE_MIME]: { node: 'a', status: 'failed', error: 'ValueError: x < 0', previews: {} } } }]);
    expect(failed?.status).toEqual({ status: 'failed', error: 'ValueError: x < 0' });
  });

  it('an error output or the magic message on stderr is a failure; no output is not run', () => {
    expect(nodeResultFromOutputs([{ output_type: 'error', ename: 'MagicError', evalue: 'bad port' }])?.status)
      .toEqual({ status: 'failed', error: 'MagicError: bad port' });
    expect(nodeResultFromOutputs([{ output_type: 'stream', name: 'stderr',
      text: ['%%skill b: unknown skill ', "'nope'\nmore"] }])?.status)
      .toEqual({ status: 'failed', error: "%%skill b: unknown skill 'nope'" });
    expect(nodeResultFromOutputs([])).toBeNull();
    expect(nodeResultFromOutputs([{ output_type: 'stream', name: 'stdout', text: 'hi' }])).toBeNull();
  });
});

describe('nodesToRun', () => {
  it('run: all; run-node: the node and what it needs; run-downstream: also what depends on it', () => {
    const w = wf();
    w.nodes.push({ id: 'lone', type: 'skill', position: { x: 0, y: 0 }, data: { skill: 's', params: {} } });
    expect([...nodesToRun(w, 'run')].sort()).toEqual(['ham', 'lone', 'plot', 'vqe']);
    expect([...nodesToRun(w, 'run-node', 'vqe')].sort()).toEqual(['ham', 'vqe']);
    expect([...nodesToRun(w, 'run-downstream', 'vqe')].sort()).toEqual(['ham', 'plot', 'vqe']);
    expect([...nodesToRun(w, 'run-node', 'ham')]).toEqual(['ham']);
  });
});

describe('slimNotebook', () => {
  it('keeps code cells id, source and metadata.llmos only', () => {
    const slim = slimNotebook({
      metadata: { kernelspec: { name: 'python3' }, llmos: { workflow: { id: 'w' } } },
      cells: [
        { cell_type: 'markdown', id: 'm', source: '# T', metadata: {} },
        { cell_type: 'code', id: 'c', source: ['%%skill a', ' --uses x'], metadata: { llmos: { position: { x: 1, y: 2 } }, tags: ['t'] },
          outputs: [{ output_type: 'stream', name: 'stdout', text: 'big' }] },
      ],
    });
    expect(slim).toEqual({
      metadata: { llmos: { workflow: { id: 'w' } } },
      cells: [{ cell_type: 'code', id: 'c', source: '%%skill a --uses x', metadata: { llmos: { position: { x: 1, y: 2 } } } }],
    });
  });
});
