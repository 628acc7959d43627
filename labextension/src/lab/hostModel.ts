/**
 * A stand-in for anywidget's model, so the canvas component (`../App`) runs outside a
 * widget: traits are plain values with `change:<key>` events, `send()` goes to a
 * callback, and `custom()` delivers a `msg:custom` message (fit, layout).
 */
import type { WidgetModel } from '../model';

/** A listener of any arguments (never[]: every function is one). */
type Listener = (...args: never[]) => void;

export class HostModel implements WidgetModel {
  constructor(initial: Record<string, unknown>, private onSend: (content: unknown) => void = () => {}) {
    this.values = { ...initial };
  }

  private values: Record<string, unknown>;
  private listeners = new Map<string, Set<Listener>>();
  /** Called with the key after the canvas itself changed a trait (`set` + `save_changes`). */
  onLocalChange: (key: string, value: unknown) => void = () => {};
  private pending = new Set<string>();

  get(key: string): unknown {
    return this.values[key];
  }

  /** Set by the canvas: remembered, reported on `save_changes()`. */
  set(key: string, value: unknown): void {
    this.values[key] = value;
    this.pending.add(key);
  }

  save_changes(): void {
    const keys = [...this.pending];
    this.pending.clear();
    for (const k of keys) this.onLocalChange(k, this.values[k]);
  }

  /** Set by the host: the canvas re-renders (`change:<key>`). */
  update(key: string, value: unknown): void {
    this.values[key] = value;
    this.emit(`change:${key}`, value);
  }

  custom(content: unknown): void {
    this.emit('msg:custom', content);
  }

  on(event: string, cb: Listener): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(cb);
  }

  off(event: string, cb: Listener): void {
    this.listeners.get(event)?.delete(cb);
  }

  send(content: unknown): void {
    this.onSend(content);
  }

  private emit(event: string, ...args: unknown[]) {
    // Each listener takes what its event carries (a trait's value, a message).
    for (const cb of [...(this.listeners.get(event) ?? [])]) (cb as (...a: unknown[]) => void)(...args);
  }
}
