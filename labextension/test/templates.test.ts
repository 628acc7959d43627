import { describe, expect, it } from 'vitest';

import {
  freeWorkflowName,
  joinPath,
  readTemplateList,
  readTemplateReply,
  safeRelative,
  templateReaderCode,
  TEMPLATES,
  TEMPLATE_READER,
} from '../src/lab/templates';

describe('workflow templates', () => {
  it('are the four `llmos new` offers, each with a label', () => {
    expect(TEMPLATES.map((t) => t.name)).toEqual(['blank', 'h2-curve', 'http-to-sql', 'branching']);
    for (const t of TEMPLATES) expect(t.label && t.caption).toBeTruthy();
  });
  it('are made by Python that decodes the names as JSON (never pasted in as code)', () => {
    const evil = 'x"); import os; os.system("rm -rf /"); ("';
    const code = templateReaderCode('branching', evil);
    expect(code).toContain(`new_workflow_files(_json.loads(${JSON.stringify(JSON.stringify(evil))}), `
      + `_json.loads(${JSON.stringify(JSON.stringify('branching'))}))`);
    expect(code.split('\n').filter((l) => l.includes('os.system'))).toHaveLength(1);
    expect(TEMPLATE_READER).toContain('__STEM__');
    expect(code).not.toMatch(/__STEM__|__NAME__/);
  });
  it('come back checked: the main file must be there, unsafe paths are dropped', () => {
    const r = readTemplateReply({ main: 'h2-curve.workflow.json', files: {
      'h2-curve.workflow.json': '{}', 'h2-point.workflow.json': '{}', '../evil.workflow.json': '{}',
      '/etc/x.workflow.json': '{}', 'sub/ok.workflow.json': '{}', 'n.workflow.json': 3 } }, 'h2-curve');
    expect(r.main).toBe('h2-curve.workflow.json');
    expect(Object.keys(r.files).sort()).toEqual(['h2-curve.workflow.json', 'h2-point.workflow.json', 'sub/ok.workflow.json']);
    expect(() => readTemplateReply({ main: 'x.workflow.json', files: {} }, 'blank')).toThrow(/template blank: .*no workflow/);
    expect(() => readTemplateReply(null, 'blank')).toThrow(/no workflow/);
    expect(safeRelative('a/b.json')).toBe(true);
    for (const bad of ['', '/a', 'a/../b', './a', 'a//b', 'a\\b']) expect(safeRelative(bad)).toBe(false);
  });
  it('listed by the kernel are checked: names safe, labels and captions text', () => {
    expect(readTemplateList({ templates: [
      { name: 'rag-qa', label: 'Questions over your documents (RAG)', caption: 'Load a folder…' },
      { name: '../evil', label: 'x' }, { name: 3 }, null, { name: 'bare', label: 7 },
    ] })).toEqual([
      { name: 'rag-qa', label: 'Questions over your documents (RAG)', caption: 'Load a folder…' },
      { name: 'bare', label: 'bare', caption: '' },
    ]);
    expect(readTemplateList(null)).toEqual([]);
    expect(readTemplateList({ templates: 'x' })).toEqual([]);
  });
  it('get a file name not taken yet', () => {
    expect(freeWorkflowName('branching', [])).toBe('branching.workflow.json');
    expect(freeWorkflowName('branching', ['branching.workflow.json', 'branching-2.workflow.json']))
      .toBe('branching-3.workflow.json');
    expect(joinPath('', 'a.json')).toBe('a.json');
    expect(joinPath('work/', 'sub/a.json')).toBe('work/sub/a.json');
  });
});
