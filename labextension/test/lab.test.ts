import { describe, expect, it } from 'vitest';

import {
  LineSplitter,
  applyEvent,
  emptyWorkflow,
  filterSkills,
  formatCompared,
  formatDuration,
  groupByCategory,
  loadsExtension,
  nodeIdFor,
  paramsSummary,
  portLabel,
  pythonCall,
  readConfig,
  skillCellSource,
  skillNodeIds,
  visibleRows,
  type CompareRow,
  type LibrarySkill,
} from '../src/lab/logic';
import { HostModel } from '../src/lab/hostModel';
import { CommandIDs } from '../src/lab/tokens';

const vqe: LibrarySkill = {
  id: 'quantum-vqe', name: 'Variational Quantum Eigensolver', category: 'quantum',
  description: 'Ground-state energy by VQE', tags: ['chemistry'], executable: true, volume: 'system',
  inputs: [
    { name: 'hamiltonian', type: 'object', required: true, description: 'Pauli terms' },
    { name: 'iterations', type: 'integer', default: 100 },
    { name: 'ansatz', type: 'string', default: 'ry', enum: ['ry', 'uccsd'] },
    { name: 'energy_offset', type: 'number', default: 0.7, unit: 'Hartree' },
    { name: 'verbose', type: 'boolean', default: false },
    { name: 'x', type: 'array', required: false },
  ],
  outputs: [{ name: 'eigenvalue', type: 'number', unit: 'Hartree' }],
};
const rc: LibrarySkill = {
  id: 'circuit-rc', name: 'RC Circuit', category: 'electronics', executable: true, volume: 'user',
  overrides: ['system'], inputs: [], outputs: [], description: 'RC step',
};
const std: LibrarySkill = {
  id: 'skill-authoring', name: 'skill-authoring', category: 'general', executable: false,
  inputs: [], outputs: [],
};

describe('the skill library', () => {
  it('filters by every word over id, name, description, category, tags and ports', () => {
    const all = [vqe, rc, std];
    expect(filterSkills(all, '')).toEqual(all);
    expect(filterSkills(all, 'quantum').map((s) => s.id)).toEqual(['quantum-vqe']);
    expect(filterSkills(all, 'Hartree')).toEqual([]);
    expect(filterSkills(all, 'eigenvalue chemistry').map((s) => s.id)).toEqual(['quantum-vqe']);
    expect(filterSkills(all, 'rc step').map((s) => s.id)).toEqual(['circuit-rc']);
    expect(filterSkills(all, 'zzz')).toEqual([]);
  });

  it('groups by category, sorted', () => {
    expect(groupByCategory([vqe, std, rc]).map(([c, s]) => [c, s.map((x) => x.id)])).toEqual([
      ['electronics', ['circuit-rc']], ['general', ['skill-authoring']], ['quantum', ['quantum-vqe']],
    ]);
  });

  it('labels ports with type and unit', () => {
    expect(portLabel(vqe.outputs[0])).toBe('eigenvalue: number [Hartree]');
    expect(portLabel(vqe.inputs[1])).toBe('iterations: integer');
  });
});

describe('a %%skill cell from a dropped skill', () => {
  it('names the node after the skill, unique in the notebook', () => {
    expect(nodeIdFor('quantum-vqe')).toBe('quantum_vqe');
    expect(nodeIdFor('team/plot convergence')).toBe('plot_convergence');
    expect(nodeIdFor('3d-cube')).toBe('n_3d_cube');
    expect(nodeIdFor('quantum-vqe', ['quantum_vqe', 'quantum_vqe_2'])).toBe('quantum_vqe_3');
  });

  it('finds the node ids of skill cells', () => {
    expect(skillNodeIds(['%%skill vqe --uses quantum-vqe\nx = 1', 'print(1)', '%skill list',
      '%skill h --uses quantum-hamiltonian'])).toEqual(['vqe', 'h']);
  });

  it('writes defaults as assignments and required inputs as TODOs', () => {
    const src = skillCellSource(vqe, 'vqe');
    const lines = src.split('\n');
    expect(lines[0]).toBe('%%skill vqe --uses quantum-vqe');
    expect(lines[1]).toMatch(/^# TODO hamiltonian \(required\): object Pauli terms/);
    expect(lines).toContain('iterations = 100  # integer');
    expect(lines).toContain('ansatz = "ry"  # string');
    expect(lines).toContain('energy_offset = 0.7  # number [Hartree]');
    expect(lines).toContain('verbose = False  # boolean');
    expect(lines[6]).toMatch(/^# TODO x \(optional\)/);
    expect(skillCellSource(rc, 'rc')).toBe('%%skill rc --uses circuit-rc');
  });

  it('knows whether a notebook loads the magics', () => {
    expect(loadsExtension(['import x', '%load_ext llmos_jupyter'])).toBe(true);
    expect(loadsExtension(['%load_ext llmos_jupyter_other'])).toBe(false);
    expect(loadsExtension([])).toBe(false);
  });
});

describe('runs, kernel calls, documents', () => {
  it('formats durations', () => {
    expect(formatDuration(undefined)).toBe('');
    expect(formatDuration(340.4)).toBe('340 ms');
    expect(formatDuration(1234)).toBe('1.2 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
  });

  it('summarises parameters', () => {
    const run = { path: 'p', name: 'n', params: { rc: { resistance: 1000, label: 'a' }, s: {} } };
    expect(paramsSummary(run)).toBe('rc.resistance=1000, rc.label="a"');
    expect(paramsSummary({ ...run, params: { a: { x: 1, y: 2, z: 3 } } }, 2)).toBe('a.x=1, a.y=2, …');
  });

  it('calls llmos_jupyter._lab with JSON arguments Python can read', () => {
    const code = pythonCall('run_workflow_json', '{"a": "b\\n"}');
    expect(code).toContain('import llmos_jupyter._lab as _llmos_lab');
    expect(code).toContain(`print(_llmos_lab.run_workflow_json(__import__('json').loads("\\"{\\\\\\"a\\\\\\": \\\\\\"b\\\\\\\\n\\\\\\"}\\"")))`);
    expect(pythonCall('skills_json')).toContain('print(_llmos_lab.skills_json())');
  });

  it('creates an empty workflow document', () => {
    expect(JSON.parse(emptyWorkflow('w1'))).toEqual({ id: 'w1', name: 'w1', nodes: [], edges: [] });
  });

  it('has one command id per palette command', () => {
    expect(CommandIDs.runWorkflow).toBe('llmos:run-workflow');
    expect(new Set(Object.values(CommandIDs)).size).toBe(Object.values(CommandIDs).length);
  });
});

describe('HostModel (the canvas outside a widget)', () => {
  it('reports the canvas\' own changes on save_changes and host updates as change events', () => {
    const sent: unknown[] = [];
    const m = new HostModel({ workflow: { nodes: [], edges: [] } }, (c) => sent.push(c));
    const local: [string, unknown][] = [];
    m.onLocalChange = (k, v) => local.push([k, v]);
    const seen: unknown[] = [];
    const cb = (v: unknown) => seen.push(v);
    m.on('change:workflow', cb);
    m.set('workflow', { nodes: [1], edges: [] });
    expect(local).toEqual([]);
    m.save_changes();
    expect(local).toEqual([['workflow', { nodes: [1], edges: [] }]]);
    expect(seen).toEqual([]);  // the canvas' own change is not echoed back
    m.update('workflow', { nodes: [2], edges: [] });
    expect(seen).toEqual([{ nodes: [2], edges: [] }]);
    expect(m.get('workflow')).toEqual({ nodes: [2], edges: [] });
    m.off('change:workflow', cb);
    m.update('workflow', { nodes: [], edges: [] });
    expect(seen.length).toBe(1);
    const msgs: unknown[] = [];
    m.on('msg:custom', (x: unknown) => msgs.push(x));
    m.custom({ command: 'fit' });
    m.send({ action: 'run' });
    expect(msgs).toEqual([{ command: 'fit' }]);
    expect(sent).toEqual([{ action: 'run' }]);
  });
});

describe('live runs', () => {
  it('splits stdout chunks into whole lines', () => {
    const s = new LineSplitter();
    expect(s.push('@llmos-event {"kind":')).toEqual([]);
    expect(s.push('"run_started"}\nhalf')).toEqual(['@llmos-event {"kind":"run_started"}']);
    expect(s.push(' line\n')).toEqual(['half line']);
    expect(s.push('tail')).toEqual([]);
    expect(s.flush()).toEqual(['tail']);
    expect(s.flush()).toEqual([]);
  });

  it('maps engine events to node statuses like the widget does', () => {
    let st = applyEvent({}, { kind: 'run_started', nodes: ['a', 'b'] });
    expect(st).toEqual({ a: { status: 'queued' }, b: { status: 'queued' } });
    st = applyEvent(st, { kind: 'node_started', node_id: 'a' });
    expect(st.a.status).toBe('running');
    st = applyEvent(st, { kind: 'node_finished', node_id: 'a', status: 'cached', duration_ms: 1.234 });
    expect(st.a).toEqual({ status: 'cached', elapsed_ms: 1.2 });
    st = applyEvent(st, { kind: 'node_failed', node_id: 'b', error: 'ValueError: x', duration_ms: 3 });
    expect(st.b).toEqual({ status: 'failed', error: 'ValueError: x', elapsed_ms: 3 });
    const same = applyEvent(st, { kind: 'run_finished' });
    expect(same).toBe(st);
    expect(applyEvent(st, { kind: 'node_skipped', node_id: 'c', error: 'upstream a failed' }).c)
      .toEqual({ status: 'skipped', error: 'upstream a failed' });
  });

  it('leaves statuses alone on a node_log event (its text goes to the logs)', () => {
    const st = applyEvent(applyEvent({}, { kind: 'run_started', nodes: ['a'] }), { kind: 'node_started', node_id: 'a' });
    expect(applyEvent(st, { kind: 'node_log', node_id: 'a', text: 'hello\n' })).toBe(st);
    // run_started on the dask executor carries the dashboard; the statuses are as ever.
    expect(applyEvent({}, { kind: 'run_started', nodes: ['a'], dashboard: 'http://127.0.0.1:8787/status' }))
      .toEqual({ a: { status: 'queued' } });
  });
});

describe('comparing runs', () => {
  const rows: CompareRow[] = [
    { node: 'rc', kind: 'status', name: 'status', a: 'completed', b: 'completed', same: true },
    { node: 'rc', kind: 'param', name: 'resistance', a: 2200, b: 1000, same: false },
    { node: 'rc', kind: 'param', name: 'capacitance', a: 1e-6, b: 1e-6, same: true },
    { node: 'plot', kind: 'status', name: 'status', a: 'completed', b: 'completed', same: true },
    { node: 'plot', kind: 'output', name: 'image', a: '<PNG image>', b: '<PNG image>', same: true },
  ];
  it('keeps only differing rows, with their node status as a header', () => {
    expect(visibleRows(rows, false)).toBe(rows);
    expect(visibleRows(rows, true).map((r) => `${r.node}.${r.name}`)).toEqual(['rc.status', 'rc.resistance']);
  });
  it('formats compared values shortly', () => {
    expect(formatCompared(undefined)).toBe('—');
    expect(formatCompared(null)).toBe('—');
    expect(formatCompared(1.1373060357123)).toBe('1.13731');
    expect(formatCompared(2200)).toBe('2200');
    expect(formatCompared('x'.repeat(200), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(formatCompared([1, 2])).toBe('[1,2]');
  });
});

describe('settings', () => {
  it('reads the settings with defaults for unset or invalid values', () => {
    const vals: Record<string, unknown> = { kernel: ' ', llmosHome: '/data/llmos', layoutDirection: 'TB' };
    expect(readConfig((k) => vals[k])).toEqual({ kernel: 'python3', llmosHome: '/data/llmos', layoutDirection: 'TB',
      executor: 'threads', daskScheduler: '' });
    expect(readConfig(() => undefined)).toEqual({ kernel: 'python3', llmosHome: '', layoutDirection: 'LR',
      executor: 'threads', daskScheduler: '' });
    expect(readConfig((k) => (k === 'layoutDirection' ? 'diagonal' : 'py311')).layoutDirection).toBe('LR');
  });
});
