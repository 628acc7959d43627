/** The slice of anywidget's model the canvas uses, and hooks over it. */
import { useCallback, useSyncExternalStore } from 'react';

export interface WidgetModel {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  save_changes(): void;
  // A listener of any arguments (never[]: every function is one), as anywidget's is.
  on(event: string, cb: (...args: never[]) => void): void;
  off(event: string, cb: (...args: never[]) => void): void;
  send(content: unknown, callbacks?: unknown, buffers?: unknown[]): void;
}

/** A `useSyncExternalStore` subscription to one trait's `change:<key>` event. */
function useTraitSubscription(model: WidgetModel, key: string): (cb: () => void) => () => void {
  return useCallback(
    (cb: () => void) => {
      const ev = `change:${key}`;
      model.on(ev, cb);
      return () => model.off(ev, cb);
    },
    [model, key],
  );
}

/** A synced trait as React state (re-renders on `change:<key>`). */
export function useTrait<T>(model: WidgetModel, key: string): T {
  const subscribe = useTraitSubscription(model, key);
  return useSyncExternalStore(subscribe, () => model.get(key) as T);
}

/**
 * One node's entry of a `{node: value}` trait (statuses, previews). The snapshot is the
 * entry's JSON so that a change of one node re-renders that node only.
 */
export function useNodeEntry<T>(model: WidgetModel, key: string, nodeId: string): T | undefined {
  const subscribe = useTraitSubscription(model, key);
  const text = useSyncExternalStore(subscribe, () => {
    const v = ((model.get(key) ?? {}) as Record<string, unknown>)[nodeId];
    return v === undefined ? '' : JSON.stringify(v);
  });
  return text ? (JSON.parse(text) as T) : undefined;
}

/**
 * A string derived from one node's entry of a `{node: value}` trait (`select` gets the
 * entry, or undefined): re-renders only when that string changes, so a node that shows
 * a summary of a large entry (a log's line count) does not copy the entry on each change.
 */
export function useNodeSelect(model: WidgetModel, key: string, nodeId: string,
  select: (entry: unknown) => string): string {
  const subscribe = useTraitSubscription(model, key);
  return useSyncExternalStore(subscribe,
    () => select(((model.get(key) ?? {}) as Record<string, unknown>)[nodeId]));
}
