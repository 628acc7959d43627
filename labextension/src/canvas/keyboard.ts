/**
 * The canvas' keys (undo/redo, delete, F fit, L layout, Enter on a palette item) and
 * their isolation: inside a notebook or JupyterLab, no key meant for the canvas may
 * reach a notebook or JupyterLab shortcut, except Save and the command palette.
 */
import React, { useCallback, useEffect, useRef, type RefObject } from 'react';

import type { Action } from '../logic';

/** Keys let through to JupyterLab from inside the canvas: Save, the command palette. */
export function passesThrough(e: { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean }): boolean {
  const key = e.key.toLowerCase();
  return (e.ctrlKey || e.metaKey) && !e.altKey && (key === 's' || (e.shiftKey && key === 'c'));
}
const MODIFIERS = new Set(['Shift', 'Control', 'Meta', 'Alt', 'AltGraph', 'CapsLock']);

export interface KeyActions {
  dispatch: (a: Action) => void;
  addSkill: (skill: string) => void;
  remove: (nodes: string[], edges?: string[]) => void;
  fit: () => void;
  layout: () => void;
  selected: string[];
  selectedEdges: Set<string>;
}

/**
 * Installs the window/document listeners for as long as the canvas element `root` lives;
 * returns the handler for the canvas body's `onKeyDown`.
 */
export function useCanvasKeys(root: RefObject<HTMLDivElement>, actions: KeyActions): (e: React.KeyboardEvent) => void {
  const onKeyDown = (e: KeyboardEvent) => {
    const { dispatch, addSkill, remove, fit, layout, selected, selectedEdges } = actions;
    const t = e.target as HTMLElement;
    if (t.closest('input, textarea, select, [contenteditable="true"]')) return;
    const item = t.closest<HTMLElement>('[data-skill-id]');
    if (item && e.key === 'Enter') {  // a palette item: add its skill
      addSkill(item.dataset.skillId!);
      e.preventDefault();
      return;
    }
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    if (mod && key === 'z') {
      dispatch({ type: e.shiftKey ? 'redo' : 'undo' });
    } else if (mod && key === 'y') {
      dispatch({ type: 'redo' });
    } else if (!mod && (e.key === 'Delete' || e.key === 'Backspace')) {
      // React Flow's own delete key listens on the document, which the canvas' keys never
      // reach (they stop at the canvas so the notebook's shortcuts never see them).
      const edges = [...selectedEdges];
      if (selected.length || edges.length) remove(selected, edges);
    } else if (!mod && !e.altKey && key === 'f') {
      fit();
    } else if (!mod && !e.altKey && key === 'l') {
      layout();
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation();
  };
  // The listeners below are installed once; they call this render's handler.
  const keyHandler = useRef(onKeyDown);
  keyHandler.current = onKeyDown;
  useEffect(() => {
    // The canvas is "active" from a pointer press inside it until one outside. Keys go to
    // a capturing window listener while it is active, so they still work when the focused
    // node was deleted and JupyterLab moved the focus to an ancestor of the canvas.
    //
    // Inside a notebook, a press in an output makes the notebook focus the cell (its
    // `_ensureFocus`): the focus is moved back into the canvas afterwards, so keys have a
    // target inside it (`data-lm-suppress-shortcuts`: no command-mode shortcut fires) and
    // stop there (the body's onKeyDown).
    let active = false;
    const onPointer = (e: PointerEvent) => {
      const el = root.current;
      active = !!el && el.contains(e.target as Node);
      if (!active) return;
      window.setTimeout(() => {
        if (el && !el.contains(document.activeElement)) el.focus({ preventScroll: true });
      }, 0);
    };
    const onFocus = (e: FocusEvent) => {
      const el = root.current;
      const t = e.target as HTMLElement | null;
      if (el && t && !el.contains(t) && !t.contains(el)) active = false;  // e.g. Tab to a cell
    };
    const onKey = (e: KeyboardEvent) => {
      const el = root.current;
      const t = e.target as HTMLElement | null;
      if (!el || !t) return;
      if (el.contains(t)) {
        // Save and the command palette still reach JupyterLab from inside the canvas.
        if (passesThrough(e)) {
          el.removeAttribute('data-lm-suppress-shortcuts');
          window.setTimeout(() => el.setAttribute('data-lm-suppress-shortcuts', 'true'), 0);
          return;
        }
        // Form fields (parameters, rename, search) keep their keys and React handlers;
        // modifiers alone pass (React Flow tracks Shift), Escape too (closes a large view).
        if (MODIFIERS.has(e.key) || e.key === 'Escape') return;
        if (t.closest('input, textarea, select, [contenteditable="true"]')) return;
        // Every other key is the canvas' alone, handled and stopped here, in the window's
        // capture phase: Notebook 7's notebook listens for keys in the capture phase of
        // its node (and moves the focus to the cell), before any handler in the canvas.
        keyHandler.current(e);
        e.stopPropagation();
        return;
      }
      if (!(active && (t === document.body || t.contains(el)))) return;
      // The focus fell out of the canvas onto an ancestor (a deleted node, the notebook's
      // cell): the key is the canvas' still, and no notebook shortcut may see it.
      if (MODIFIERS.has(e.key) || passesThrough(e)) return;
      keyHandler.current(e);
      e.stopPropagation();
      el.focus({ preventScroll: true });
    };
    document.addEventListener('pointerdown', onPointer, true);
    document.addEventListener('focusin', onFocus, true);
    window.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('pointerdown', onPointer, true);
      document.removeEventListener('focusin', onFocus, true);
      window.removeEventListener('keydown', onKey, true);
    };
  }, [root]);
  // Every key pressed in the canvas stops here (React's stopPropagation stops the native
  // event too): the notebook around a canvas widget never sees it (its keydown handler
  // would move the focus to the cell). Modifiers alone pass (React Flow tracks Shift for
  // multi-selection), and so do Save and the command palette.
  return useCallback((e: React.KeyboardEvent) => {
    if (MODIFIERS.has(e.key) || passesThrough(e)) return;
    e.stopPropagation();
    keyHandler.current(e.nativeEvent);
  }, []);
}
