/**
 * Commands from the host (JupyterLab's palette, a document's toolbar, or Python), as
 * custom messages: {command: 'fit', all?, duration?}, {command: 'layout'},
 * {command: 'show', node}, {command: 'viewport', x, y, zoom},
 * {command: 'add-node', skill, x, y, id?}.
 */
import { useReactFlow } from '@xyflow/react';
import { useEffect, useRef } from 'react';

import { INITIAL_ZOOM } from '../logic';
import type { WidgetModel } from '../model';

export interface HostCommandTargets {
  fit: (all?: boolean, duration?: number) => void;
  layout: () => void;
  addAt: (skill: string, x: number, y: number, id?: string) => void;
  showNode: (id: string) => void;
}

interface HostCommand {
  command?: string; skill?: string; x?: number; y?: number; id?: string; all?: boolean;
  zoom?: number; node?: string; duration?: number;
}

export function useHostCommands(model: WidgetModel, targets: HostCommandTargets): void {
  // The listener stays subscribed for the model's lifetime and calls this render's targets.
  const setViewport = useReactFlow().setViewport;
  const current = useRef({ ...targets, setViewport });
  current.current = { ...targets, setViewport };
  useEffect(() => {
    const onMsg = (msg: HostCommand) => {
      if (msg?.command === 'fit') current.current.fit(!!msg.all, msg.duration);
      else if (msg?.command === 'show' && msg.node) current.current.showNode(msg.node);
      else if (msg?.command === 'viewport') {
        // {command: 'viewport', x, y, zoom}: e.g. the benchmark restores the view between steps.
        void current.current.setViewport({ x: msg.x ?? 0, y: msg.y ?? 0, zoom: msg.zoom ?? INITIAL_ZOOM });
      }
      else if (msg?.command === 'layout') current.current.layout();
      else if (msg?.command === 'add-node' && msg.skill) {
        current.current.addAt(msg.skill, msg.x ?? 0, msg.y ?? 0, msg.id);
      }
    };
    model.on('msg:custom', onMsg);
    return () => model.off('msg:custom', onMsg);
  }, [model]);
}
