/**
 * The canvas' document: the workflow with its undo history, kept equal to the host's
 * `workflow` trait both ways (the trait is what Python and the file see).
 */
import { useCallback, useEffect, useMemo, useReducer, useRef } from 'react';

import {
  docFromWorkflow,
  historyReducer,
  indexSkills,
  initHistory,
  workflowFromDoc,
  type Action,
  type Doc,
  type History,
  type SkillIndex,
} from '../logic';
import type { WidgetModel } from '../model';
import type { NodePorts, SkillSummary, WorkflowJSON } from '../types';

export function useWorkflowDoc(model: WidgetModel): { hist: History; doc: Doc; dispatch: (a: Action) => void } {
  const [hist, dispatchRaw] = useReducer(historyReducer, model.get('workflow') as WorkflowJSON, initHistory);
  const doc = hist.present;
  const docRef = useRef(doc);
  docRef.current = doc;
  const dispatch = useCallback((a: Action) => dispatchRaw(a), []);

  // The JSON last exchanged with the host: an echo of our own edit is not a new document.
  const lastSynced = useRef(JSON.stringify(workflowFromDoc(doc)));
  useEffect(() => {
    const wf = workflowFromDoc(doc);
    const text = JSON.stringify(wf);
    if (text === lastSynced.current) return;
    lastSynced.current = text;
    model.set('workflow', wf);
    model.save_changes();
  }, [doc, model]);
  useEffect(() => {
    const onChange = () => {
      const wf = model.get('workflow') as WorkflowJSON;
      const text = JSON.stringify(workflowFromDoc(docFromWorkflow(wf)));
      if (text === lastSynced.current) return;
      lastSynced.current = text;
      // A host that re-reads its document from elsewhere (the notebook graph, from the
      // cells) restarts the undo history: undoing past it would rewrite cells the user
      // edited since. Loading into an empty canvas is never an undo step either.
      const fresh = !!model.get('reset_history_on_load') || docRef.current.nodes.length === 0;
      dispatch({ type: 'load', workflow: wf, history: !fresh });
    };
    model.on('change:workflow', onChange);
    return () => model.off('change:workflow', onChange);
  }, [model, dispatch]);
  return { hist, doc, dispatch };
}

/**
 * The skills by id, with control nodes' own ports applied. Recomputed when nodes come or
 * go (or change skill), not when they move: a drag must not rebuild every node's ports.
 */
export function useSkillIndex(skills: SkillSummary[], nodePorts: Record<string, NodePorts> | undefined,
  nodes: Doc['nodes']): SkillIndex {
  const nodeSkillsKey = nodes.map((n) => `${n.id}\u0000${n.data.skill}`).join('\u0001');
  const docNodes = useRef(nodes);
  docNodes.current = nodes;
  return useMemo(() => indexSkills(skills, nodePorts, docNodes.current), [skills, nodePorts, nodeSkillsKey]);
}
