import { describe, expect, it } from 'vitest';

import { passesThrough } from '../src/App';
import {
  docFromWorkflow,
  indexSkills,
  localProblems,
  resolveOverlaps,
  safeUrl,
  topoOrder,
} from '../src/logic';
import { runOrder } from '../src/lab/notebookLogic';
import type { SkillSummary, WorkflowJSON } from '../src/types';

const skills = indexSkills([
  { id: 'src', name: 'src', category: 'c', inputs: [], outputs: [{ name: 'arr', type: 'array' }, { name: 'x', type: 'number' }] },
  { id: 'sink', name: 'sink', category: 'c', inputs: [{ name: 'data', type: 'array' }], outputs: [{ name: 'y', type: 'number' }] },
] as SkillSummary[]);

const wf = (nodes: [string, string][], edges: [string, string, string, string][]): WorkflowJSON => ({
  nodes: nodes.map(([id, skill], i) => ({ id, position: { x: i * 300, y: 0 }, data: { skill } })),
  edges: edges.map(([s, sh, t, th]) => ({ id: `${s}.${sh}->${t}.${th}`, source: s, sourceHandle: sh, target: t, targetHandle: th })),
});

describe('resolveOverlaps: nodes that grew never cover the ones below', () => {
  it('moves an overlapped node below the taller one, keeps the others', () => {
    const out = resolveOverlaps({
      a: { x: 0, y: 0, width: 260, height: 300 },   // grew after a run
      b: { x: 0, y: 200, width: 260, height: 100 }, // was placed below a's old height
      c: { x: 400, y: 200, width: 260, height: 100 },
    });
    expect(out.a).toEqual({ x: 0, y: 0 });
    expect(out.b).toEqual({ x: 0, y: 316 });
    expect(out.c).toEqual({ x: 400, y: 200 });
  });
  it('cascades: a moved node pushes the next one too', () => {
    const out = resolveOverlaps({
      a: { x: 0, y: 0, width: 100, height: 100 },
      b: { x: 0, y: 50, width: 100, height: 100 },
      c: { x: 0, y: 120, width: 100, height: 100 },
    });
    expect(out.b.y).toBe(116);
    expect(out.c.y).toBe(232);
  });
});

describe('localProblems: an invalid workflow is never called valid', () => {
  it('unknown skill, type mismatch, cycle, missing input', () => {
    const doc = docFromWorkflow(wf([['a', 'src'], ['b', 'sink'], ['c', 'nope'], ['d', 'sink']],
      [['a', 'x', 'b', 'data']]));
    const codes = localProblems(doc, skills).map((p) => p.code).sort();
    expect(codes).toEqual(['missing-input', 'type-mismatch', 'unknown-skill']);
    const cyc = docFromWorkflow(wf([['p', 'sink'], ['q', 'sink']], [['p', 'y', 'q', 'data'], ['q', 'y', 'p', 'data']]));
    expect(localProblems(cyc, skills).map((p) => p.code)).toContain('cycle');
  });
  it('a valid workflow has none; an expression counts as set', () => {
    const ok = docFromWorkflow(wf([['a', 'src'], ['b', 'sink']], [['a', 'arr', 'b', 'data']]));
    expect(localProblems(ok, skills)).toEqual([]);
    const expr = docFromWorkflow(wf([['b', 'sink']], []));
    expect(localProblems(expr, skills, { b: { data: 'my_list' } })).toEqual([]);
  });
});

describe('run order of the notebook graph', () => {
  it('upstream cells first, whatever the notebook order', () => {
    const w = wf([['stats', 'sink'], ['rc', 'src']], [['rc', 'arr', 'stats', 'data']]);
    const index = (n: string) => ({ stats: 1, rc: 2 }[n] ?? 9);
    expect(runOrder(w, new Set(['stats', 'rc']), index)).toEqual({ order: ['rc', 'stats'], cycle: [] });
  });
  it('ties keep notebook order; a cycle is reported', () => {
    expect(topoOrder(['b', 'a', 'c'], []).order).toEqual(['b', 'a', 'c']);
    const w = wf([['p', 'sink'], ['q', 'sink']], [['p', 'y', 'q', 'data'], ['q', 'y', 'p', 'data']]);
    expect(runOrder(w, new Set(['p', 'q']), () => 0).cycle.sort()).toEqual(['p', 'q']);
  });
});

describe('safety and keys', () => {
  it('safeUrl drops javascript: and scriptable data URLs', () => {
    expect(safeUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeUrl(' JaVaScRiPt:alert(1)')).toBeUndefined();
    expect(safeUrl('data:image/svg+xml;base64,PHN2Zz4=', 'image')).toBeUndefined();
    expect(safeUrl('data:image/png;base64,iVBORw0KGgo=', 'image')).toBe('data:image/png;base64,iVBORw0KGgo=');
    expect(safeUrl('https://example.org/x')).toBe('https://example.org/x');
  });
  it('only Save and the command palette pass through to JupyterLab', () => {
    const k = (key: string, o: Partial<KeyboardEvent> = {}) =>
      ({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...o });
    expect(passesThrough(k('s', { ctrlKey: true }))).toBe(true);
    expect(passesThrough(k('s', { metaKey: true }))).toBe(true);
    expect(passesThrough(k('C', { ctrlKey: true, shiftKey: true }))).toBe(true);
    for (const key of ['a', 'b', 'x', 'c', 'v', 'm', 'y', 'd', 'z', 'Enter', 'ArrowDown', 'Delete']) {
      expect(passesThrough(k(key))).toBe(false);
    }
    expect(passesThrough(k('Enter', { ctrlKey: true }))).toBe(false);  // run cell: stays in the canvas
    expect(passesThrough(k('z', { ctrlKey: true }))).toBe(false);      // the canvas' undo
  });
});
