import { describe, expect, it } from 'vitest';

import {
  EDGE_ID_MAX, NODE_ID_MAX, idProblem, isValidId,
} from '../src/ids';

// The same cases as tests/_workflow/test_ids.py: the two grammars must agree.
const CASES: [Parameters<typeof isValidId>[0], string, boolean][] = [
  ['node', 'vqe', true],
  ['node', 'ham_1', true],
  ['node', '2d-plot', true],
  ['node', 'a.b', false],
  ['node', 'a\nb', false],
  ['node', 'a\n', false],
  ['node', 'a b', false],
  ['node', '-a', false],
  ['node', "a'); import os #", false],
  ['node', 'é', false],
  ['node', '', false],
  ['node', 'x'.repeat(NODE_ID_MAX), true],
  ['node', 'x'.repeat(NODE_ID_MAX + 1), false],
  ['skill', 'quantum-vqe', true],
  ['skill', 'Quantum', false],
  ['skill', 'a_b', false],
  ['edge', 'e-ham-vqe', true],
  ['edge', 'a.sum->b.x', true],
  ['edge', 'reactflow__edge-a.out-b.in', true],
  ['edge', 'xy-edge__aout-bin', true],
  ['edge', 'a<img>', false],
  ['edge', 'a\u0000', false],
  ['edge', 'x'.repeat(EDGE_ID_MAX + 1), false],
  ['workflow', 'h2-vqe', true],
  ['workflow', 'v1.2', true],
  ['workflow', 'a/b', false],
];

describe('id grammar', () => {
  it.each(CASES)('%s id %j valid: %s', (kind, value, ok) => {
    expect(isValidId(kind, value)).toBe(ok);
    expect(idProblem(kind, value) === null).toBe(ok);
  });

  it('refuses non-strings and names the limit', () => {
    expect(isValidId('node', 3)).toBe(false);
    expect(idProblem('node', 'x'.repeat(NODE_ID_MAX + 1))).toMatch(/limit is 128/);
  });
});
