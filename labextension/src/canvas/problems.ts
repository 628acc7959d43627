/**
 * The problems the canvas shows. The host's (Python's `validate`, a JSON syntax error)
 * win; without them the canvas' own checks (unknown skills, wires, cycles, missing
 * inputs) still say why a workflow is invalid, so it is never called valid while one is
 * known.
 */
import { useMemo } from 'react';

import { localProblems, type Doc, type SkillIndex } from '../logic';
import type { Problem } from '../types';
import type { CanvasTraits } from './traits';

export function useShownProblems(doc: Doc, skillIndex: SkillIndex,
  { problems, validated, skills, expressions }: Pick<CanvasTraits, 'problems' | 'validated' | 'skills' | 'expressions'>):
  { shownProblems: Problem[]; problemsByNode: Map<string, string[]> } {
  const shownProblems: Problem[] = useMemo(() => {
    if (problems.length || validated) return problems;
    if (!skills.length) return [];
    return localProblems(doc, skillIndex, expressions ?? {}).map((p) => ({ ...p, node: p.node ?? null }));
  }, [problems, validated, skills.length, doc, skillIndex, expressions]);
  const problemsByNode = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const p of shownProblems) if (p.node) m.set(p.node, [...(m.get(p.node) ?? []), p.message]);
    return m;
  }, [shownProblems]);
  return { shownProblems, problemsByNode };
}
