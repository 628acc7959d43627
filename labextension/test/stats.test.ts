import { describe, expect, it } from 'vitest';
import React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

import { RunStats } from '../src/lab/statsView';
import { formatRate, rate, readStats, workflowsOf } from '../src/lab/stats';

// The shape of `llmos stats --json` (llmos_jupyter/_stats.py's compute_stats), trimmed.
const reply = {
  traces: '/home/me/.llmos/user/traces', filters: { workflow: 'h2', since: null },
  runs: 12, statuses: { completed: 9, failed: 3 }, success_rate: 0.75, cache_hit_rate: 0.5,
  nodes: [
    { workflow: 'h2', node: 'ham', skill: 'quantum-hamiltonian', runs: 12, completed: 6, cached: 6, failed: 0,
      skipped: 0, p50_ms: 20, p95_ms: 31.5, mean_ms: 22, max_ms: 33, total_ms: 132, cache_hit_rate: 0.5 },
    { workflow: 'h2', node: 'vqe', skill: 'quantum-vqe', runs: 12, completed: 9, cached: 0, failed: 3,
      skipped: 0, p50_ms: 1500, p95_ms: 2500, mean_ms: 1600, max_ms: 2600, total_ms: 19200, cache_hit_rate: 0 },
  ],
  bottlenecks: [{ workflow: 'h2', node: 'vqe', skill: 'quantum-vqe', total_ms: 19200, share: 0.9932, p95_ms: 2500, executed: 12 }],
  failures: [
    { error: 'ValueError: bad', example: 'ValueError: bad', count: 1, nodes: ['ham'], workflows: ['h2'] },
    { error: 'TimeoutError: node vqe timed out after # s', example: 'TimeoutError: node vqe timed out after 30 s',
      count: 3, nodes: ['vqe'], workflows: ['h2'] },
  ],
};

describe('run statistics', () => {
  it('reads the kernel\'s reply, failures most frequent first', () => {
    const s = readStats(reply);
    expect(s.runs).toBe(12);
    expect(s.success_rate).toBe(0.75);
    expect(s.nodes.map((n) => n.node_id)).toEqual(['ham', 'vqe']);
    expect(s.nodes[1]).toEqual({ node_id: 'vqe', skill_id: 'quantum-vqe', runs: 12, p50_ms: 1500, p95_ms: 2500,
      total_ms: 19200, share: null, failures: 3, cache_hit_rate: 0 });
    expect(s.slowest).toEqual([{ ...s.nodes[1], share: 0.9932 }]);
    expect(s.failures.map((f) => f.count)).toEqual([3, 1]);
    expect(s.failures[0].example).toBe('TimeoutError: node vqe timed out after 30 s');
  });
  it('survives a reply of the wrong shape', () => {
    const s = readStats({ runs: 'many', success_rate: NaN, cache_hit_rate: 250,
      nodes: [null, 3, { skill_id: 'no-id' }, { node_id: 'a', p50_ms: -4, p95_ms: Infinity, runs: -2 }],
      slowest: 'vqe', failures: [{ count: 2 }, 'x'] });
    expect(s.runs).toBe(0);
    expect(s.success_rate).toBeNull();
    expect(s.cache_hit_rate).toBeNull();
    expect(s.nodes).toEqual([{ node_id: 'a', skill_id: '', runs: 0, p50_ms: null, p95_ms: null, total_ms: null,
      share: null, failures: 0, cache_hit_rate: null }]);
    expect(s.slowest).toEqual([]);
    expect(s.failures).toEqual([{ error: '(no message)', example: '(no message)', count: 2, nodes: [] }]);
    expect(() => readStats({ status: 'invalid', problems: [{ message: '--since x: expected a date' }] }))
      .toThrow('--since x: expected a date');
    expect(() => readStats(null)).toThrow(/not an object/);
    expect(() => readStats([])).toThrow(/not an object/);
    expect(() => readStats({ error: 'no traces folder' })).toThrow('no traces folder');
  });
  it('ranks the slowest nodes itself when the reply does not', () => {
    const s = readStats({ ...reply, bottlenecks: undefined });
    expect(s.slowest.map((n) => n.node_id)).toEqual(['vqe', 'ham']);
  });
  it('formats rates (a percentage reply too)', () => {
    expect(rate(0.5)).toBe(0.5);
    expect(rate(75)).toBe(0.75);
    expect(rate(-1)).toBeNull();
    expect(formatRate(0.75)).toBe('75 %');
    expect(formatRate(0.005)).toBe('0.5 %');
    expect(formatRate(0)).toBe('0 %');
    expect(formatRate(null)).toBe('—');
  });
  it('lists workflows most recently run first, by id when the run has one', () => {
    expect(workflowsOf([{ workflow: 'H2 curve', workflow_id: 'h2' }, { workflow: 'rc' }, { workflow_id: 'h2' }, {}]))
      .toEqual(['h2', 'rc']);
  });
  it('renders every figure, and text from the kernel as text (never HTML)', () => {
    const evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
    const html = renderToStaticMarkup(React.createElement(RunStats, { workflow: 'h2', stats: readStats({
      ...reply, failures: [{ error: evil, count: 1, nodes: ['<b>n</b>'] }] }) }));
    expect(html).toContain('data-runs="12"');
    expect(html).toContain('<b>75 %</b>');
    expect(html).toContain('<b>50 %</b>');
    expect(html).toContain('2.5 s');    // vqe's p95
    expect(html).toContain('1.5 s');    // vqe's p50
    expect(html).toContain('19.2 s (99 %)');  // the bottleneck's total time and share
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;img src=x');
    expect(html).toContain('&lt;b&gt;n&lt;/b&gt;');
  });
});
