import React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { LogView } from '../src/Panels';
import { appendLog, logFromText } from '../src/nodeLog';

// Rendered to static markup (no DOM here): React says its layout effect (the scroll to the
// end) does not run on a server, which is expected.
const consoleError = console.error;
beforeAll(() => {
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    if (!String(args[0]).includes('useLayoutEffect does nothing on the server')) consoleError(...args);
  });
});
afterAll(() => vi.restoreAllMocks());

describe('LogView', () => {
  it('shows a node\'s lines as text: markup in them is never an element', () => {
    const log = logFromText('ok\n<img src=x onerror=alert(1)> <b>bold</b>\n');
    const html = renderToStaticMarkup(<LogView node="n" log={log} running />);
    expect(html).toContain('data-log="n"');
    expect(html).toContain('role="log"');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; &lt;b&gt;bold&lt;/b&gt;');
    expect(html).not.toMatch(/<img|<b>/);
    expect(html).toContain('2 lines');
    expect(html).toContain('live');
  });

  it('says when early lines were dropped, and shows nothing without output', () => {
    const many = logFromText(Array.from({ length: 250 }, (_, i) => `l${i}\n`).join(''));
    expect(renderToStaticMarkup(<LogView node="n" log={many} running={false} />))
      .toContain('250 lines (the last 200 shown)');
    expect(renderToStaticMarkup(<LogView node="n" log={undefined} running />)).toBe('');
    expect(renderToStaticMarkup(<LogView node="n" log={appendLog(undefined, '')} running />)).toBe('');
  });
});
