import { describe, expect, it } from 'vitest';

import { checkConnection, docFromWorkflow, indexSkills, localProblems, nodeSkill } from '../src/logic';
import type { NodePorts, SkillSummary, WorkflowJSON } from '../src/types';

// The palette's switch: one output `default`; the node's cases add case0…caseN-1.
const skills: SkillSummary[] = [
  { id: 'switch', name: 'Switch', category: 'control',
    inputs: [{ name: 'value', type: 'any' }, { name: 'cases', type: 'array' }],
    outputs: [{ name: 'default', type: 'any', required: false }] },
  { id: 'subworkflow', name: 'Sub-workflow', category: 'control',
    inputs: [{ name: 'workflow', type: 'string' }], outputs: [] },
  { id: 'num', name: 'Number sink', category: 'data',
    inputs: [{ name: 'x', type: 'number' }], outputs: [{ name: 'y', type: 'number' }] },
];

const wf: WorkflowJSON = {
  id: 'w', nodes: [
    { id: 'sw', position: { x: 0, y: 0 }, data: { skill: 'switch', params: { cases: ['value > 1', 'value < 0'] } } },
    { id: 'sub', position: { x: 0, y: 200 }, data: { skill: 'subworkflow', params: { workflow: 'inner.workflow.json' } } },
    { id: 'a', position: { x: 300, y: 0 }, data: { skill: 'num', params: {} } },
    { id: 'b', position: { x: 300, y: 200 }, data: { skill: 'num', params: {} } },
  ],
  edges: [],
};

const nodePorts: Record<string, NodePorts> = {
  sw: { skill: 'switch', outputs: [{ name: 'case0', type: 'any' }, { name: 'case1', type: 'any' }, { name: 'default', type: 'any' }] },
  sub: { skill: 'subworkflow', inputs: [{ name: 'x', type: 'number' }, { name: 'workflow', type: 'string' }],
    outputs: [{ name: 'total', type: 'number', unit: 'Hartree' }] },
  // Malformed or stale entries are ignored.
  a: { skill: 'num', outputs: [{ name: 3 }] as unknown as NodePorts['outputs'] },
  ghost: { skill: 'num', outputs: [{ name: 'z', type: 'any' }] },
};

describe('node-specific ports', () => {
  const doc = docFromWorkflow(wf);
  const index = indexSkills(skills, nodePorts, wf.nodes);

  it('a node with its own ports gets them; the others their skill\'s', () => {
    expect(nodeSkill(index, wf.nodes[0])!.outputs.map((p) => p.name)).toEqual(['case0', 'case1', 'default']);
    expect(nodeSkill(index, wf.nodes[1])!.inputs.map((p) => p.name)).toEqual(['x', 'workflow']);
    expect(nodeSkill(index, wf.nodes[2])).toBe(index.get('num'));
    // The palette keeps the skill itself.
    expect(index.get('switch')!.outputs.map((p) => p.name)).toEqual(['default']);
    expect([...index.keys()].filter((k) => k.startsWith('@node:')).sort()).toEqual(['@node:sub', '@node:sw']);
  });

  it('wires from a case port and into a subworkflow\'s interface are allowed', () => {
    expect(checkConnection(doc, index, { source: 'sw', sourceHandle: 'case1', target: 'a', targetHandle: 'x' }).ok).toBe(true);
    expect(checkConnection(doc, index, { source: 'a', sourceHandle: 'y', target: 'sub', targetHandle: 'x' }).ok).toBe(true);
    expect(checkConnection(doc, index, { source: 'sub', sourceHandle: 'total', target: 'b', targetHandle: 'x' }).ok).toBe(true);
    // Without the node's ports (an older kernel), the palette's decide.
    const plain = indexSkills(skills);
    const v = checkConnection(doc, plain, { source: 'sw', sourceHandle: 'case1', target: 'a', targetHandle: 'x' });
    expect(v.ok).toBe(false);
    expect(!v.ok && v.reason).toBe("sw has no output 'case1'");
    // A case the node does not have is refused.
    expect(checkConnection(doc, index, { source: 'sw', sourceHandle: 'case7', target: 'a', targetHandle: 'x' }).ok).toBe(false);
  });

  it('local checks use the node\'s ports too', () => {
    const wired = docFromWorkflow({ ...wf, edges: [
      { id: 'e1', source: 'sw', sourceHandle: 'case0', target: 'a', targetHandle: 'x' }] });
    const problems = (ix: ReturnType<typeof indexSkills>) =>
      localProblems(wired, ix).filter((p) => p.code === 'unknown-port');
    expect(problems(index)).toEqual([]);
    expect(problems(indexSkills(skills))).toHaveLength(1);
  });

  it('a node that changed skill since is not given the old ports', () => {
    const changed = wf.nodes.map((n) => (n.id === 'sw' ? { ...n, data: { ...n.data, skill: 'num' } } : n));
    const ix = indexSkills(skills, nodePorts, changed);
    expect(nodeSkill(ix, changed[0])).toBe(ix.get('num'));
  });
});
