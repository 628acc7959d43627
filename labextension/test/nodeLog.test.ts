import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import {
  LOG_MAX_LINE_CHARS,
  appendLog,
  applyLogEvent,
  dashboardHref,
  isNodeLog,
  lastLine,
  logFromText,
  logText,
  type NodeLog,
} from '../src/nodeLog';

interface Case { name: string; chunks: string[]; max: number; expect: NodeLog }
const CASES = (JSON.parse(readFileSync(new URL('./nodeLogCases.json', import.meta.url), 'utf-8')) as
  { cases: Case[] }).cases;

describe('appendLog (the cases the Python side runs too)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    let log: NodeLog | undefined;
    for (const chunk of c.chunks) log = appendLog(log, chunk, c.max);
    expect(log).toEqual(c.expect);
  });

  it('never changes the log it is given', () => {
    const a = appendLog(undefined, 'a\nb');
    const b = appendLog(a, 'c\n');
    expect(a).toEqual({ lines: ['a', 'b'], open: true, total: 2 });
    expect(b).toEqual({ lines: ['a', 'bc'], open: false, total: 2 });
  });

  it('cuts long lines, also while they grow', () => {
    const log = appendLog(appendLog(undefined, 'x'.repeat(LOG_MAX_LINE_CHARS + 10)), 'yyy\n');
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toHaveLength(LOG_MAX_LINE_CHARS);
    expect(log.lines[0].endsWith('…')).toBe(true);
    expect(log.lines[0]).not.toContain('y');
  });

  it('keeps the last 200 lines of a whole log', () => {
    const log = logFromText(Array.from({ length: 500 }, (_, i) => `line ${i}\n`).join(''));
    expect(log.total).toBe(500);
    expect(log.lines).toHaveLength(200);
    expect(log.lines[0]).toBe('line 300');
    expect(logText(log).split('\n').at(-1)).toBe('line 499');
  });
});

describe('applyLogEvent', () => {
  it('appends node_log text to its node, live', () => {
    let logs: Record<string, NodeLog> = {};
    logs = applyLogEvent(logs, { kind: 'run_started', nodes: ['a', 'b'] });
    logs = applyLogEvent(logs, { kind: 'node_started', node_id: 'a' });
    logs = applyLogEvent(logs, { kind: 'node_log', node_id: 'a', text: 'step 1\nstep' });
    logs = applyLogEvent(logs, { kind: 'node_log', node_id: 'b', text: 'other\n' });
    logs = applyLogEvent(logs, { kind: 'node_log', node_id: 'a', text: ' 2\n' });
    expect(logText(logs.a)).toBe('step 1\nstep 2');
    expect(logs.a.total).toBe(2);
    expect(lastLine(logs.b)).toBe('other');
  });

  it('clears the logs of the nodes a new run starts, keeps the others', () => {
    const before = { a: logFromText('old a\n'), c: logFromText('old c\n') };
    const after = applyLogEvent(before, { kind: 'run_started', nodes: ['a', 'b'] });
    expect(Object.keys(after)).toEqual(['c']);
    expect(before.a).toBeDefined();  // a new object
  });

  it('returns the same object for events without log text (no re-render)', () => {
    const logs = { a: logFromText('x\n') };
    for (const e of [{ kind: 'node_finished', node_id: 'a' }, { kind: 'node_log', node_id: 'a', text: '' },
      { kind: 'node_log', text: 'no node' }, { kind: 'node_log', node_id: 'a' },
      { kind: 'run_started', nodes: ['z'] }]) {
      expect(applyLogEvent(logs, e)).toBe(logs);
    }
  });
});

describe('lastLine, isNodeLog', () => {
  it('skips blank lines and a pending carriage return', () => {
    expect(lastLine(appendLog(undefined, 'done\n\n   \n'))).toBe('done');
    expect(lastLine(appendLog(undefined, '40%\r'))).toBe('40%');
    expect(lastLine(undefined)).toBe('');
  });
  it('accepts only the trait shape', () => {
    expect(isNodeLog({ lines: ['a'], open: false, total: 1 })).toBe(true);
    expect(isNodeLog({ lines: ['a'], open: false, total: 0 })).toBe(false);
    expect(isNodeLog({ lines: [1], open: false, total: 1 })).toBe(false);
    expect(isNodeLog('a\nb')).toBe(false);
    expect(isNodeLog(null)).toBe(false);
  });
});

describe('dashboardHref', () => {
  it('keeps http(s) links', () => {
    expect(dashboardHref('http://127.0.0.1:8787/status')).toBe('http://127.0.0.1:8787/status');
    expect(dashboardHref(' https://dask.example.org/status ')).toBe('https://dask.example.org/status');
  });
  it('resolves a path of this server (jupyter-server-proxy)', () => {
    expect(dashboardHref('/proxy/8787/status', 'http://localhost:8888')).toBe('http://localhost:8888/proxy/8787/status');
    expect(dashboardHref('/proxy/8787/status')).toBe('');
  });
  it('refuses anything else', () => {
    for (const u of ['javascript:alert(1)', 'data:text/html,<b>x</b>', '//evil.example/x', 'status',
      'file:///etc/passwd', '', 42, null, undefined]) {
      expect(dashboardHref(u, 'http://localhost:8888')).toBe('');
    }
  });
});
