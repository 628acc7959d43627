import { describe, expect, it } from 'vitest';

import {
  autoLayout, checkConnection, compatible, docFromWorkflow, downstream, historyReducer,
  indexSkills, initHistory, sparklinePath, uniqueNodeId, workflowFromDoc,
} from '../src/logic';
import { parseParam } from '../src/Panels';
import type { SkillSummary, WorkflowJSON } from '../src/types';

const skills: SkillSummary[] = [
  { id: 'ham', name: 'Hamiltonian', category: 'quantum',
    inputs: [{ name: 'bond_length', type: 'number', unit: 'Å' }],
    outputs: [{ name: 'hamiltonian', type: 'object' }, { name: 'n', type: 'integer' }] },
  { id: 'vqe', name: 'VQE', category: 'quantum',
    inputs: [{ name: 'hamiltonian', type: 'object' }, { name: 'offset', type: 'number' }],
    outputs: [{ name: 'trace', type: 'array' }] },
  { id: 'stats', name: 'Stats', category: 'data',
    inputs: [{ name: 'data', type: 'array' }], outputs: [{ name: 'mean', type: 'number' }] },
  { id: 'sink', name: 'Sink', category: 'data',
    inputs: [{ name: 'x', type: 'any' }], outputs: [{ name: 'y', type: 'any' }] },
];
const index = indexSkills(skills);

const wf: WorkflowJSON = {
  id: 'demo', name: 'Demo', description: 'kept',
  nodes: [
    { id: 'h', type: 'skill', position: { x: 0, y: 0 }, data: { skill: 'ham', params: { bond_length: 0.7 } } },
    { id: 'v', type: 'skill', position: { x: 300, y: 0 }, data: { skill: 'vqe', params: {} } },
    { id: 's', type: 'skill', position: { x: 600, y: 0 }, data: { skill: 'stats', params: {} } },
  ],
  edges: [{ id: 'e1', source: 'h', sourceHandle: 'hamiltonian', target: 'v', targetHandle: 'hamiltonian' }],
};

describe('compatible (mirrors ports.compatible in Python)', () => {
  it('accepts equal types, any both ways and integer → number', () => {
    expect(compatible('array', 'array')).toBe(true);
    expect(compatible('any', 'image')).toBe(true);
    expect(compatible('object', 'any')).toBe(true);
    expect(compatible('integer', 'number')).toBe(true);
  });
  it('refuses number → integer and unrelated types', () => {
    expect(compatible('number', 'integer')).toBe(false);
    expect(compatible('object', 'array')).toBe(false);
  });
});

describe('checkConnection', () => {
  const doc = docFromWorkflow(wf);
  it('accepts a typed match', () => {
    expect(checkConnection(doc, index, { source: 'v', sourceHandle: 'trace', target: 's', targetHandle: 'data' }))
      .toEqual({ ok: true });
    expect(checkConnection(doc, index, { source: 'h', sourceHandle: 'n', target: 'v', targetHandle: 'offset' }).ok)
      .toBe(true);
  });
  it('refuses a type mismatch with a reason naming both ports', () => {
    const v = checkConnection(doc, index, { source: 'h', sourceHandle: 'hamiltonian', target: 's', targetHandle: 'data' });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(/type mismatch: h.hamiltonian is object, s.data needs array/);
  });
  it('allows one edge per input', () => {
    const v = checkConnection(doc, index, { source: 'h', sourceHandle: 'hamiltonian', target: 'v', targetHandle: 'hamiltonian' });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(/already wired from h.hamiltonian/);
  });
  it('refuses self-loops, cycles and unknown ports', () => {
    expect(checkConnection(doc, index, { source: 'v', sourceHandle: 'trace', target: 'v', targetHandle: 'hamiltonian' }).ok).toBe(false);
    const d2 = historyReducer(initHistory(wf), { type: 'addNode', skill: 'sink', position: { x: 0, y: 0 } }).present;
    const d3 = historyReducer({ past: [], present: d2, future: [] },
      { type: 'connect', source: 'v', sourceHandle: 'trace', target: 'sink', targetHandle: 'x' }).present;
    const cyc = checkConnection(d3, index, { source: 'sink', sourceHandle: 'y', target: 'v', targetHandle: 'offset' });
    expect(cyc.ok).toBe(false);
    if (!cyc.ok) expect(cyc.reason).toMatch(/cycle/);
    const bad = checkConnection(doc, index, { source: 'h', sourceHandle: 'nope', target: 's', targetHandle: 'data' });
    expect(bad.ok).toBe(false);
  });
});

describe('history reducer', () => {
  it('adds nodes with unique ids and undoes/redoes', () => {
    let h = initHistory(wf);
    h = historyReducer(h, { type: 'addNode', skill: 'stats', position: { x: 1, y: 2 } });
    expect(h.present.nodes.map((n) => n.id)).toEqual(['h', 'v', 's', 'stats']);
    h = historyReducer(h, { type: 'addNode', skill: 'stats', position: { x: 1, y: 2 } });
    expect(h.present.nodes.at(-1)!.id).toBe('stats-2');
    h = historyReducer(h, { type: 'undo' });
    expect(h.present.nodes).toHaveLength(4);
    h = historyReducer(h, { type: 'redo' });
    expect(h.present.nodes).toHaveLength(5);
    h = historyReducer(h, { type: 'undo' });
    h = historyReducer(h, { type: 'setParam', node: 'h', port: 'bond_length', value: 0.9 });
    expect(h.future).toHaveLength(0);
  });
  it('removes a node with its edges in one step', () => {
    let h = historyReducer(initHistory(wf), { type: 'remove', nodes: ['h'] });
    expect(h.present.edges).toHaveLength(0);
    expect(h.present.nodes.map((n) => n.id)).toEqual(['v', 's']);
    h = historyReducer(h, { type: 'undo' });
    expect(h.present.edges).toHaveLength(1);
  });
  it('renames a node and rewires its edges, refusing a used id', () => {
    let h = historyReducer(initHistory(wf), { type: 'rename', node: 'h', to: 'hamiltonian' });
    expect(h.present.edges[0].source).toBe('hamiltonian');
    expect(h.present.edges[0].id).toBe('hamiltonian.hamiltonian->v.hamiltonian');
    h = historyReducer(h, { type: 'rename', node: 'v', to: 'hamiltonian' });
    expect(h.refused).toMatch(/already used/);
  });
  it('sets and clears params; moves nodes; ignores no-op moves', () => {
    let h = historyReducer(initHistory(wf), { type: 'setParam', node: 'v', port: 'offset', value: 0.7 });
    expect(h.present.nodes[1].data.params).toEqual({ offset: 0.7 });
    h = historyReducer(h, { type: 'setParam', node: 'v', port: 'offset', value: undefined });
    expect(h.present.nodes[1].data.params).toEqual({});
    const same = historyReducer(h, { type: 'move', positions: { h: { x: 0, y: 0 } } });
    expect(same).toBe(h);
    h = historyReducer(h, { type: 'move', positions: { h: { x: 10.4, y: 5 } } });
    expect(h.present.nodes[0].position).toEqual({ x: 10, y: 5 });
  });
  it('load from Python without history resets undo', () => {
    let h = historyReducer(initHistory(wf), { type: 'remove', nodes: ['s'] });
    h = historyReducer(h, { type: 'load', workflow: wf, history: false });
    expect(h.past).toHaveLength(0);
  });
});

describe('workflow JSON round trip', () => {
  it('keeps unknown fields and drops React Flow view fields', () => {
    const doc = docFromWorkflow({
      ...wf, viewport: { x: 1 },
      nodes: [{ ...wf.nodes[0], selected: true, measured: { width: 1, height: 2 }, extra: 1 }],
    });
    const out = workflowFromDoc(doc);
    expect(out.viewport).toEqual({ x: 1 });
    expect(out.description).toBe('kept');
    expect(Object.keys(out).slice(0, 4)).toEqual(['id', 'name', 'nodes', 'edges']);
    expect(out.nodes[0]).not.toHaveProperty('selected');
    expect(out.nodes[0]).not.toHaveProperty('measured');
    expect(out.nodes[0].extra).toBe(1);
  });
  it('makes unique ids from skill ids', () => {
    expect(uniqueNodeId(docFromWorkflow(wf), 'team/ham')).toBe('ham');
  });
});

describe('layout and helpers', () => {
  it('lays a chain out left to right without overlaps', () => {
    const w2: WorkflowJSON = { ...wf, edges: [...wf.edges,
      { id: 'e2', source: 'v', sourceHandle: 'trace', target: 's', targetHandle: 'data' }] };
    const pos = autoLayout(docFromWorkflow(w2), index);
    expect(pos.h.x).toBeLessThan(pos.v.x);
    expect(pos.v.x).toBeLessThan(pos.s.x);
    expect(pos.v.x - pos.h.x).toBeGreaterThanOrEqual(240);
    const tb = autoLayout(docFromWorkflow(w2), index, {}, 'TB');  // the layout-direction setting
    expect(tb.h.y).toBeLessThan(tb.v.y);
    expect(tb.v.y).toBeLessThan(tb.s.y);
  });
  it('finds downstream nodes', () => {
    expect([...downstream(wf.edges, ['h'])].sort()).toEqual(['h', 'v']);
  });
  it('draws sparklines and parses params by type', () => {
    expect(sparklinePath([1, 2, 3], 10, 10)).toBe('M0.0,10.0 L5.0,5.0 L10.0,0.0');
    expect(sparklinePath([1], 10, 10)).toBe('');
    expect(parseParam({ name: 'n', type: 'integer' }, '3')).toEqual({ value: 3 });
    expect(parseParam({ name: 'n', type: 'integer' }, '3.5').error).toMatch(/integer/);
    expect(parseParam({ name: 'x', type: 'number', minimum: 0 }, '-1').error).toMatch(/minimum/);
    expect(parseParam({ name: 'o', type: 'object' }, '{"a": 1}')).toEqual({ value: { a: 1 } });
    expect(parseParam({ name: 'o', type: 'object' }, '{').error).toMatch(/JSON/);
    expect(parseParam({ name: 's', type: 'string' }, '')).toEqual({ value: undefined });
  });
});
