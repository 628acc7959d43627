/**
 * A SPICE netlist output (`format: spice-netlist`, or a string port named `netlist`): on
 * the node its first card line and size, in the side panel the whole text, monospace and
 * scrollable, with line numbers (ngspice's errors name netlist lines).
 */
import React from 'react';

export function netlistTitle(text: string): string {
  // A SPICE deck's first line is its title (ignored by the simulator), usually a comment.
  const first = text.split('\n', 1)[0].replace(/^\*\s*/, '').trim();
  return first || 'SPICE netlist';
}

export function NetlistView({ nodeId, port, preview, large }: {
  nodeId: string; port: string; large?: boolean;
  preview: { text: string; lines: number; truncated?: boolean };
}) {
  const key = `${nodeId}.${port}`;
  if (!large) {
    return (
      <div className="llmos-preview llmos-preview--netlist" data-preview={key}>
        <span className="llmos-preview__port">{port}</span>{' '}
        <span className="llmos-preview__short">SPICE · {preview.lines} lines · {netlistTitle(preview.text)}</span>
      </div>
    );
  }
  const lines = preview.text.replace(/\n$/, '').split('\n');
  return (
    <div className="llmos-preview llmos-preview--netlist" data-preview={key}>
      <span className="llmos-preview__port">{port} (SPICE netlist, {preview.lines} lines)</span>
      <pre className="llmos-netlist nowheel" data-netlist={key} tabIndex={0}
        aria-label={`SPICE netlist of ${nodeId}`}>
        {lines.map((line, i) => (
          <div key={i} className={`llmos-netlist__line${/^\s*\*/.test(line) ? ' llmos-netlist__comment'
            : /^\s*\./.test(line) ? ' llmos-netlist__control' : ''}`}>
            <span className="llmos-netlist__no" aria-hidden="true">{i + 1}</span>{line}
          </div>
        ))}
        {preview.truncated && <div className="llmos-netlist__more">… (cut at 200,000 characters)</div>}
      </pre>
    </div>
  );
}
