import { describe, expect, it } from 'vitest';

import {
  controlIcon,
  CONTROL_ICON_DEFAULT,
  edgeInactive,
  isControl,
  progressOf,
  skipInfo,
  skipKind,
  SKIP_TEXT_MAX,
  subworkflowPath,
} from '../src/control';
import { applyEvent, type EngineEvent } from '../src/lab/logic';
import type { StatusInfo } from '../src/types';

describe('control nodes', () => {
  it('are the skills of category control', () => {
    expect(isControl({ category: 'control' })).toBe(true);
    expect(isControl({ category: 'Control' })).toBe(false);
    expect(isControl({ category: 'quantum' })).toBe(false);
    expect(isControl(undefined)).toBe(false);
  });
  it('have one icon each, and a generic one for others', () => {
    const ids = ['condition', 'switch', 'merge', 'map', 'loop', 'delay', 'subworkflow'];
    const icons = ids.map(controlIcon);
    expect(new Set(icons).size).toBe(ids.length);
    expect(icons).not.toContain(CONTROL_ICON_DEFAULT);
    expect(controlIcon('retry-thing')).toBe(CONTROL_ICON_DEFAULT);
  });
});

describe('skip reasons', () => {
  it('tell an untaken branch from an upstream failure and a cancel', () => {
    expect(skipKind('branch not taken')).toBe('branch');
    expect(skipKind("upstream node 'vqe' failed")).toBe('upstream-failed');
    expect(skipKind("upstream node 'a' was cancelled")).toBe('cancelled');
    expect(skipKind('run cancelled')).toBe('cancelled');
    expect(skipKind("upstream node 'a' did not run")).toBe('other');
    expect(skipKind(undefined)).toBe('other');
    // node names in quotes never decide the kind
    expect(skipKind("upstream node 'error-check' did not run")).toBe('other');
    expect(skipKind("upstream node 'cancel-branch-not-taken' failed")).toBe('upstream-failed');
  });
  it('give the label a node shows, the reason kept whole for the tooltip', () => {
    expect(skipInfo({ status: 'completed' })).toBeNull();
    expect(skipInfo(undefined)).toBeNull();
    expect(skipInfo({ status: 'skipped', error: 'branch not taken' })).toEqual(
      { kind: 'branch', label: 'branch not taken', reason: 'branch not taken', text: 'branch not taken' });
    const up = skipInfo({ status: 'skipped', error: "upstream node 'vqe' failed" })!;
    expect(up.kind).toBe('upstream-failed');
    expect(up.text).toBe("upstream failed: upstream node 'vqe' failed");
    expect(skipInfo({ status: 'skipped' })!.text).toBe('skipped');
    const long = `upstream node '${'x'.repeat(200)}' failed`;
    const info = skipInfo({ status: 'skipped', error: long })!;
    expect(info.reason).toBe(long);
    expect(info.text.length).toBe(SKIP_TEXT_MAX);
    expect(info.text.endsWith('…')).toBe(true);
  });
});

describe('wires that carried nothing', () => {
  const e = (source: string, sourceHandle: string, target: string) => ({ source, sourceHandle, target });
  const st = (o: Record<string, [StatusInfo['status'], string?]>) =>
    Object.fromEntries(Object.entries(o).map(([k, [status, error]]) => [k, { status, error }]));

  it('the untaken output of a condition, and out of a skipped node', () => {
    const s = st({ cond: ['completed'], yes: ['completed'], no: ['skipped', 'branch not taken'],
      after: ['skipped', 'branch not taken'] });
    expect(edgeInactive(e('cond', 'true', 'yes'), s, true)).toBe(false);
    expect(edgeInactive(e('cond', 'false', 'no'), s, true)).toBe(true);
    expect(edgeInactive(e('no', 'y', 'after'), s, false)).toBe(true);
  });
  it('the untaken output into a node that ran anyway (a merge), from the ports reported', () => {
    const s = st({ cond: ['cached'], merge: ['completed'] });
    expect(edgeInactive(e('cond', 'false', 'merge'), s, true, ['true'])).toBe(true);
    expect(edgeInactive(e('cond', 'true', 'merge'), s, true, ['true'])).toBe(false);
    expect(edgeInactive(e('cond', 'false', 'merge'), s, true, null)).toBe(false);  // not known
  });
  it('not a wire into a node skipped because something failed, nor before a run', () => {
    const s = st({ a: ['failed'], b: ['skipped', "upstream node 'a' failed"] });
    expect(edgeInactive(e('a', 'y', 'b'), s, false)).toBe(false);
    expect(edgeInactive(e('a', 'y', 'b'), {}, true)).toBe(false);
    // a plain (non-control) node's output is never "not taken"
    const t = st({ p: ['completed'], q: ['skipped', 'branch not taken'] });
    expect(edgeInactive(e('p', 'y', 'q'), t, false)).toBe(false);
  });
});

describe('sub-workflow paths', () => {
  it('resolve against the document, never above the root', () => {
    expect(subworkflowPath('h2-curve.workflow.json', 'h2-point.workflow.json')).toBe('h2-point.workflow.json');
    expect(subworkflowPath('a/b/x.workflow.json', '../sub/./y.workflow.json')).toBe('a/sub/y.workflow.json');
    expect(subworkflowPath('x.workflow.json', '../y.workflow.json')).toBeNull();
    for (const bad of [3, '', '  ', '/etc/passwd', 'C:\\x', 'https://x/y.json', '..']) {
      expect(subworkflowPath('a/x.workflow.json', bad)).toBeNull();
    }
  });
});

describe('map progress', () => {
  it('shows i / N only for sane integers', () => {
    expect(progressOf({ status: 'running', done: 3, total: 24 })).toEqual(
      { done: 3, total: 24, fraction: 0.125, text: '3 / 24' });
    expect(progressOf({ status: 'running', done: 24, total: 24 })!.fraction).toBe(1);
    for (const [done, total] of [[1.5, 4], [5, 4], [-1, 4], [0, 0], [undefined, 3], ['2', 4]]) {
      expect(progressOf({ status: 'running', done: done as number, total: total as number })).toBeNull();
    }
    expect(progressOf(undefined)).toBeNull();
  });
  it('node_progress events update a running entry and never outlive its end', () => {
    let s = applyEvent({}, { kind: 'run_started', nodes: ['m'] });
    s = applyEvent(s, { kind: 'node_started', node_id: 'm' });
    s = applyEvent(s, { kind: 'node_progress', node_id: 'm', done: 0, total: 24 });
    expect(s.m).toEqual({ status: 'running', done: 0, total: 24 });
    s = applyEvent(s, { kind: 'node_progress', node_id: 'm', done: 7, total: 24 });
    expect(progressOf(s.m)!.text).toBe('7 / 24');
    // malformed progress is ignored
    const bad: EngineEvent[] = [
      { kind: 'node_progress', node_id: 'm', done: 30, total: 24 },
      { kind: 'node_progress', node_id: 'm', done: 2.5, total: 24 },
      { kind: 'node_progress', node_id: 'm' },
    ];
    for (const ev of bad) expect(applyEvent(s, ev)).toBe(s);
    s = applyEvent(s, { kind: 'node_finished', node_id: 'm', status: 'completed', duration_ms: 812.34 });
    expect(s.m).toEqual({ status: 'completed', elapsed_ms: 812.3 });
    // a progress line that arrives after the end changes nothing
    expect(applyEvent(s, { kind: 'node_progress', node_id: 'm', done: 24, total: 24 })).toBe(s);
  });
  it('node_skipped keeps the reason', () => {
    const s = applyEvent({}, { kind: 'node_skipped', node_id: 'n', error: 'branch not taken' });
    expect(skipInfo(s.n)!.kind).toBe('branch');
  });
});
