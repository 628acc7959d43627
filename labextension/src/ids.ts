/**
 * One grammar for the ids a workflow carries: node, skill, edge and workflow ids.
 *
 * The patterns and limits are `llmos_jupyter/_ids.py`'s, generated into
 * `contract.gen.ts` (through the contract's JSON Schema; tests/_contract fails when they
 * drift), so the canvas, the kernel and the CLI accept exactly the same ids.
 * Plain ASCII only: no control characters, newline, space, quote, backslash, `<`, `&` or
 * backtick. Node ids hold no `.` (`NODE.PORT` splits on it).
 */

import {
  EDGE_ID_MAX,
  EDGE_ID_PATTERN,
  NODE_ID_MAX,
  NODE_ID_PATTERN,
  SKILL_ID_MAX,
  SKILL_ID_PATTERN,
  WORKFLOW_ID_MAX,
  WORKFLOW_ID_PATTERN,
} from './contract.gen';

export {
  EDGE_ID_MAX,
  EDGE_ID_PATTERN,
  NODE_ID_MAX,
  NODE_ID_PATTERN,
  SKILL_ID_MAX,
  SKILL_ID_PATTERN,
  WORKFLOW_ID_MAX,
  WORKFLOW_ID_PATTERN,
};

export type IdKind = 'node' | 'skill' | 'edge' | 'workflow';

const KINDS: Record<IdKind, [RegExp, number, string]> = {
  node: [NODE_ID_PATTERN, NODE_ID_MAX, "letters, digits, '_' and '-'"],
  skill: [SKILL_ID_PATTERN, SKILL_ID_MAX, "lowercase letters, digits and '-'"],
  edge: [EDGE_ID_PATTERN, EDGE_ID_MAX, 'letters, digits and _ . : > + = @ # ~ / -'],
  workflow: [WORKFLOW_ID_PATTERN, WORKFLOW_ID_MAX, "letters, digits, '_', '.' and '-'"],
};

/** Whether `value` is a valid `kind` id (a string matching the grammar, not too long). */
export function isValidId(kind: IdKind, value: unknown): boolean {
  const [pattern, max] = KINDS[kind];
  // JavaScript's `$` (without the m flag) matches only at the very end: "a\n" is refused.
  return typeof value === 'string' && value.length <= max && pattern.test(value);
}

/** Why `value` is not a valid `kind` id (one sentence), or `null` when it is. */
export function idProblem(kind: IdKind, value: unknown): string | null {
  const [pattern, max, words] = KINDS[kind];
  if (typeof value !== 'string') return `${kind} id must be a string, got ${typeof value}`;
  if (!value) return `${kind} id is empty`;
  if (value.length > max) return `${kind} id is ${value.length} characters long; the limit is ${max}`;
  if (!pattern.test(value)) {
    const first = kind === 'skill' ? 'a letter or a digit' : "a letter, a digit or '_'";
    return `${kind} id ${JSON.stringify(value.slice(0, 80))} is not valid: use ${words}, starting with ${first}`;
  }
  return null;
}
