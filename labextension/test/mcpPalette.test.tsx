import React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { mcpArgumentLines, mcpToolMatches, workflowWithNode, type McpToolEntry } from '../src/logic';
import { McpGroupView } from '../src/Panels';
import type { WorkflowJSON } from '../src/types';

const FANCY: McpToolEntry = {
  name: 'fancy', title: 'Fancy <b>title</b>', description: '<img src=x onerror=alert(1)>Scale a value.',
  arguments: [
    { name: 'value', type: 'number', required: true, description: '' },
    { name: 'unit', type: 'string', required: false, description: 'the unit', default: 'm', enum: ['m', 'km'] },
  ],
  more_arguments: 0,
  params: { server: 'ref', tool: 'fancy', arguments: { unit: 'm' } },
};

describe('workflowWithNode', () => {
  it('adds a prefilled node with a unique id from the hint; empty params are left out', () => {
    const wf: WorkflowJSON = { id: 'w', name: 'W', nodes: [
      { id: 'mcp-fancy', type: 'skill', position: { x: 0, y: 0 }, data: { skill: 'mcp-tool', params: {} } }],
    edges: [] } as WorkflowJSON;
    const { workflow, id } = workflowWithNode(wf, 'mcp-tool',
      { server: 'ref', tool: 'fancy', arguments: {} }, { x: 300.4, y: 20.6 }, 'mcp-fancy');
    expect(id).toBe('mcp-fancy-2');
    expect(workflow.id).toBe('w');
    expect(workflow.nodes).toHaveLength(2);
    expect(workflow.nodes[1]).toEqual({ id: 'mcp-fancy-2', type: 'skill', position: { x: 300, y: 21 },
      data: { skill: 'mcp-tool', params: { server: 'ref', tool: 'fancy' } } });
    expect(wf.nodes).toHaveLength(1); // the input is not changed
    // A second node at the same spot moves off the first.
    const again = workflowWithNode(wf, 'mcp-tool', {}, { x: 10, y: 10 }, 'x');
    expect(again.workflow.nodes[1].position).toEqual({ x: 50, y: 50 });
  });

  it('cuts a tool name to the node-id grammar', () => {
    const { id } = workflowWithNode(null, 'mcp-tool', {}, { x: 0, y: 0 }, 'mcp-weird name/é.x');
    expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]*$/);
    expect(workflowWithNode(null, 'mcp-tool', {}, { x: 0, y: 0 }, '---').id).toBe('mcp-tool');
  });
});

describe('MCP palette entries', () => {
  it('describes arguments and matches the search', () => {
    expect(mcpArgumentLines(FANCY)).toEqual(['value: number', 'unit?: string = "m" (one of m, km) — the unit']);
    expect(mcpToolMatches(FANCY, 'scale')).toBe(true);
    expect(mcpToolMatches(FANCY, 'nope')).toBe(false);
    expect(mcpToolMatches(FANCY, '')).toBe(true);
  });

  it('renders a server\'s tools as text: markup from the server is never an element', () => {
    const html = renderToStaticMarkup(
      <McpGroupView
        servers={[{ name: 'ref', label: 'python ref.py', kind: 'stdio', error: null },
          { name: 'bad', label: '', kind: '', error: 'server.command: expected a list of strings' },
          { name: 'slow', label: 'x', kind: 'stdio', error: null }]}
        tools={{ ref: { status: 'ok', tools: [FANCY], error: null },
          slow: { status: 'error', tools: [], error: 'did not answer tools/list within 10 s' } }}
        query="" onAdd={() => {}} onLoad={() => {}} />);
    expect(html).toContain('data-category="MCP"');
    expect(html).toContain('data-mcp-server="ref"');
    expect(html).toContain('data-mcp-tool="fancy"');
    expect(html).toContain('Fancy &lt;b&gt;title&lt;/b&gt;');
    expect(html).toContain('value, unit?');
    expect(html).not.toMatch(/<img|<b>/);
    expect(html).toContain('server.command: expected a list of strings');
    expect(html).toContain('did not answer tools/list within 10 s');
    expect(html).toContain('Reload');
    expect(html).toContain('Load tools');
    const none = renderToStaticMarkup(
      <McpGroupView servers={[{ name: 'ref', label: '', kind: 'stdio', error: null }]}
        tools={{ ref: { status: 'ok', tools: [FANCY], error: null } }} query="zzz"
        onAdd={() => {}} onLoad={() => {}} />);
    expect(none).not.toContain('data-mcp-tool');
  });
});
