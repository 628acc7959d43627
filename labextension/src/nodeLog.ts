/**
 * Live node logs on the canvas: what a running node printed (its stdout/stderr, from the
 * engine's `node_log` events, which the processes and Dask executors send at most every
 * 50 ms per node), kept per node as the last `LOG_MAX_LINES` lines. Pure functions (no
 * React, no DOM): test/nodeLog.test.ts. The Canvas widget's Python side keeps the same
 * shape with the same rules (`llmos_jupyter/_widget/node_log.py`); both are checked
 * against the same cases (test/nodeLogCases.json).
 *
 * The text is untrusted (whatever a skill printed): it is only ever rendered as text.
 */

import type { NodeLog } from './contract.gen';

/** Lines kept per node; older ones are dropped (counted in `total`). */
export const LOG_MAX_LINES = 200;
/** Characters kept per line (a longer line is cut and ends with `…`). */
export const LOG_MAX_LINE_CHARS = 2000;

/**
 * One node's log as the `logs` trait holds it (`{node: NodeLog}`; the contract's type):
 * - `lines`: the last lines, oldest first; the last one is still being written when
 *   `open` (its text had no newline yet);
 * - `total`: every line seen so far (`total - lines.length` were dropped).
 */
export type { NodeLog };

// Terminal control sequences (colours, cursor moves) a skill's output may carry: CSI
// (`ESC [ … final`) and OSC (`ESC ] … BEL|ESC \`), then the other C0 controls but tab,
// newline and carriage return. They are noise as plain text.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]?/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

/**
 * A line as kept: a carriage return restarts the line (progress bars: `50%\r60%` is
 * `60%`), one ending a closed line is a CRLF's; a line longer than `LOG_MAX_LINE_CHARS`
 * is cut. An open line keeps a trailing `\r`, so that the next chunk overwrites it (and
 * a CRLF split across two chunks still ends the line).
 */
function keepLine(line: string, open: boolean): string {
  const pending = open && line.endsWith('\r');
  let s = line.endsWith('\r') ? line.slice(0, -1) : line;
  const cr = s.lastIndexOf('\r');
  if (cr >= 0) s = s.slice(cr + 1);
  if (s.length > LOG_MAX_LINE_CHARS) s = `${s.slice(0, LOG_MAX_LINE_CHARS - 1)}…`;
  return pending ? `${s}\r` : s;
}

/**
 * `log` with the new output `text` appended (a new object; `log` is not changed). A
 * chunk continues the open last line; `\r\n` ends a line as `\n` does; the lines beyond
 * `max` are dropped from the front. Terminal escapes and control characters are removed.
 */
export function appendLog(log: NodeLog | undefined, text: string, max = LOG_MAX_LINES): NodeLog {
  const clean = text.replace(ANSI, '').replace(CONTROL, '');
  const lines = log ? [...log.lines] : [];
  let total = log?.total ?? 0;
  let open = (log?.open ?? false) && lines.length > 0;
  if (!clean) return { lines, open, total };
  const pieces = clean.split('\n');
  pieces.forEach((piece, i) => {
    const last = i === pieces.length - 1;
    if (last && piece === '') {  // the text ended with a newline: no line is open
      open = false;
      return;
    }
    if (open) {
      lines[lines.length - 1] = keepLine(lines[lines.length - 1] + piece, last);
    } else {
      lines.push(keepLine(piece, last));
      total += 1;
    }
    open = last;
  });
  const drop = Math.max(0, lines.length - Math.max(1, max));
  return { lines: drop ? lines.slice(drop) : lines, open, total };
}

/** A whole log (a finished node's `NodeResult.log`) as a `NodeLog`. */
export function logFromText(text: string, max = LOG_MAX_LINES): NodeLog {
  return appendLog(undefined, text, max);
}

/** Minimal engine event the reducer reads (`Event.to_dict()`). */
export interface LogEvent {
  kind: string;
  node_id?: string;
  nodes?: string[];
  text?: string;
}

/**
 * The `logs` trait after one engine event: `run_started` clears the logs of the nodes it
 * will run (a new run's output never follows an old one's), `node_log` appends its text to
 * its node's log. Any other event returns `logs` itself (no re-render).
 */
export function applyLogEvent(logs: Record<string, NodeLog>, e: LogEvent, max = LOG_MAX_LINES): Record<string, NodeLog> {
  if (e.kind === 'run_started') {
    const nodes = (e.nodes ?? []).filter((n) => n in logs);
    if (!nodes.length) return logs;
    const next = { ...logs };
    for (const n of nodes) delete next[n];
    return next;
  }
  if (e.kind !== 'node_log' || !e.node_id || typeof e.text !== 'string' || !e.text) return logs;
  return { ...logs, [e.node_id]: appendLog(logs[e.node_id], e.text, max) };
}

/** A log's lines as one text (what the side panel shows). */
export function logText(log: NodeLog | undefined): string {
  return log ? log.lines.map((l) => l.replace(/\r$/, '')).join('\n') : '';
}

/** The last line with something in it ('' when none): what a running node shows. */
export function lastLine(log: NodeLog | undefined): string {
  if (!log) return '';
  for (let i = log.lines.length - 1; i >= 0; i--) {
    const line = log.lines[i].replace(/\r$/, '');
    if (line.trim()) return line;
  }
  return '';
}

/** Whether `v` has the shape of a `NodeLog` (the trait comes from a kernel: never trusted). */
export function isNodeLog(v: unknown): v is NodeLog {
  if (!v || typeof v !== 'object') return false;
  const l = v as NodeLog;
  return Array.isArray(l.lines) && l.lines.every((x) => typeof x === 'string') &&
    typeof l.open === 'boolean' && Number.isInteger(l.total) && l.total >= l.lines.length;
}

/**
 * The Dask dashboard link to show, or '' : an absolute `http:`/`https:` URL, or a path of
 * this server (`/proxy/8787/status`, as jupyter-server-proxy serves it), resolved against
 * `origin`. Anything else (`javascript:`, `data:`, `//host`) is never a link.
 */
export function dashboardHref(url: unknown, origin?: string): string {
  if (typeof url !== 'string') return '';
  const u = url.trim();
  if (!u) return '';
  let parsed: URL;
  try {
    if (u.startsWith('/') && !u.startsWith('//') && origin) parsed = new URL(u, origin);
    else parsed = new URL(u);
  } catch {
    return '';
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : '';
}
