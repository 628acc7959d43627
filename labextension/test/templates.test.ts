import { describe, expect, it } from 'vitest';

import {
  freeWorkflowName,
  instantiateTemplate,
  joinPath,
  templateReaderCode,
  TEMPLATES,
  TEMPLATE_READER,
} from '../src/lab/templates';

describe('workflow templates', () => {
  it('are the four the CLI ships, each with a label', () => {
    expect(TEMPLATES.map((t) => t.name)).toEqual(['blank', 'h2-curve', 'http-to-sql', 'branching']);
    for (const t of TEMPLATES) expect(t.label && t.caption).toBeTruthy();
  });
  it('are read by Python that decodes the name as JSON (never pasted in as code)', () => {
    const evil = 'x"); import os; os.system("rm -rf /"); ("';
    const code = templateReaderCode(evil);
    expect(code).toContain(`_json.loads(${JSON.stringify(JSON.stringify(evil))})`);
    expect(code.split('\n').filter((l) => l.includes('os.system'))).toHaveLength(1);
    expect(TEMPLATE_READER).toContain('__NAME__');
    expect(code).not.toContain('__NAME__');
  });
  it('become a workflow with the new file\'s id and name, the rest kept', () => {
    const text = JSON.stringify({ id: 'h2-curve', name: 'H2 curve', description: 'd', tests: [{ name: 't' }],
      nodes: [{ id: 'm', position: { x: 0, y: 0 }, data: { skill: 'map' } }], edges: [] });
    const wf = JSON.parse(instantiateTemplate(text, 'h2-curve-2', 'h2-curve'));
    expect(wf.id).toBe('h2-curve-2');
    expect(wf.name).toBe('h2-curve-2');
    expect(wf.description).toBe('d');
    expect(wf.tests).toEqual([{ name: 't' }]);
    expect(wf.nodes[0].data.skill).toBe('map');
    expect(JSON.parse(instantiateTemplate('{}', 'blank', 'blank'))).toEqual({ id: 'blank', name: 'blank', nodes: [], edges: [] });
  });
  it('refuse text that is not a workflow, naming the template', () => {
    expect(() => instantiateTemplate('{', 'a', 'branching')).toThrow(/template branching: not JSON/);
    expect(() => instantiateTemplate('[1]', 'a', 'branching')).toThrow(/not a JSON object/);
    expect(() => instantiateTemplate('{"nodes": 3}', 'a', 'branching')).toThrow(/"nodes" is not a list/);
  });
  it('get a file name not taken yet', () => {
    expect(freeWorkflowName('branching', [])).toBe('branching.workflow.json');
    expect(freeWorkflowName('branching', ['branching.workflow.json', 'branching-2.workflow.json']))
      .toBe('branching-3.workflow.json');
    expect(joinPath('', 'a.json')).toBe('a.json');
    expect(joinPath('work/', 'sub/a.json')).toBe('work/sub/a.json');
  });
});
