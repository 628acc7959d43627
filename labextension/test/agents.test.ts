import { describe, expect, it } from 'vitest';

import {
  EMPTY_RUN,
  LOG_LIMIT,
  applyAgentEvent,
  curvedEdge,
  edgeLabel,
  finalState,
  inputError,
  previewOf,
  routeKey,
  problemText,
  viewGraph,
  type AgentGraph,
  type RunState,
} from '../src/lab/agentsLogic';

const graph: AgentGraph = {
  nodes: [
    { id: 'scope:000000', type: 'scope', position: { x: 0, y: 0 }, style: { width: 260, height: 216 },
      data: { scope: '000000', strategy: 'one_for_one' } },
    { id: 'ping', type: 'actor', parentId: 'scope:000000', position: { x: 20, y: 36 }, data: { skill: 'actor-ping' } },
    { id: 'pong', type: 'actor', parentId: 'scope:000000', position: { x: 20, y: 116 }, data: { skill: 'actor-pong' } },
  ],
  edges: [
    { id: 'ping->pong:ping', source: 'ping', target: 'pong', label: 'ping' },
    { id: 'pong->ping:pong', source: 'pong', target: 'ping', label: 'pong' },
  ],
};

const msg = (id: string, type: string, sender: string, receiver: string, status = 'handled') =>
  ({ kind: 'agent-message', id, type, sender, receiver, scope: '000000', status, payload_preview: '{"n":1}' });

function play(events: Record<string, unknown>[]): RunState {
  return events.reduce<RunState>((s, e) => applyAgentEvent(s, e as never), EMPTY_RUN);
}

describe('agent run state', () => {
  it('counts delivered messages on their receiver and keeps the log in order', () => {
    const s = play([
      { kind: 'agent-actor', id: 'ping', status: 'ready', restarts: 0, handled: 0 },
      msg('m1', 'start', 'system', 'ping'),
      msg('m2', 'ping', 'ping', 'pong'),
      msg('m3', 'pong', 'pong', 'ping', 'failed'),
      { kind: 'agent-actor', id: 'ping', status: 'starting', restarts: 1, handled: 2 },
    ]);
    expect(s.log.map((e) => e.id)).toEqual(['m1', 'm2', 'm3']);
    expect(s.live).toBe(3);
    // a failed handler call counts as handled (the runtime's counter), and as failed
    expect(s.actors.ping).toMatchObject({ handled: 2, failed: 1, restarts: 1, status: 'starting' });
    expect(s.actors.pong).toMatchObject({ handled: 1, failed: 0 });
  });

  it('an actor event never lowers a counter and unknown kinds change nothing', () => {
    const s = play([msg('m1', 'start', 'system', 'ping'), msg('m2', 'x', 'a', 'ping'),
      { kind: 'agent-actor', id: 'ping', status: 'ready', restarts: 0, handled: 1 }]);
    expect(s.actors.ping.handled).toBe(2);
    expect(applyAgentEvent(s, { kind: 'cancelling' })).toBe(s);
  });

  it('keeps only the newest LOG_LIMIT entries', () => {
    let s = EMPTY_RUN;
    for (let i = 0; i < LOG_LIMIT + 5; i++) s = applyAgentEvent(s, msg(`m${i}`, 't', 'a', 'b'));
    expect(s.log).toHaveLength(LOG_LIMIT);
    expect(s.log[0].id).toBe('m5');
    expect(s.actors.b.handled).toBe(LOG_LIMIT + 5);
  });

  it('the final reply replaces the log and counters with the runtime record', () => {
    const live = play([msg('m1', 'start', 'system', 'ping')]);
    const s = finalState(live, {
      status: 'exited',
      message: 'exited in 12 ms',
      messages: [
        { id: 'm1', type: 'start', sender: 'system', receiver: 'ping', status: 'handled', payload: { x: '<b>' } },
        { id: 'm2', type: 'ping', sender: 'ping', receiver: 'pong', status: 'handled', payload: null },
      ],
      actors: { ping: { status: 'stopped', handled: 1, restarts: 0 }, pong: { status: 'stopped', handled: 1, restarts: 0 } },
    });
    expect(s.log.map((e) => [e.id, e.preview])).toEqual([['m1', '{"x":"<b>"}'], ['m2', 'null']]);
    expect(s.live).toBe(1);
    expect(s.actors.pong).toMatchObject({ status: 'stopped', handled: 1 });
  });
});

describe('agent graph view', () => {
  it('labels edges with the message type and count, adds observed edges', () => {
    const run = play([msg('m2', 'ping', 'ping', 'pong'), msg('m4', 'ping', 'ping', 'pong'),
      msg('m5', 'note', 'pong', 'ping'), msg('m1', 'start', 'system', 'ping')]);
    const g = viewGraph(graph, run);
    const byId = Object.fromEntries(g.edges.map((e) => [e.id, e]));
    expect(byId['ping->pong:ping'].count).toBe(2);
    expect(edgeLabel('ping', 2)).toBe('ping ×2');
    expect(edgeLabel('pong', 0)).toBe('pong');
    // seen in the log, not in the file: a dashed edge; messages from `system` draw none
    expect(byId[`observed:${routeKey('pong', 'ping', 'note')}`]).toMatchObject({ observed: true, count: 1, label: 'note' });
    expect(g.edges).toHaveLength(3);
  });

  it('puts actors spawned at run time in their scope, or a box of their own', () => {
    const run = play([
      { kind: 'agent-actor', id: 'worker-1', skill: 'w', scope: '000000', status: 'ready' },
      { kind: 'agent-actor', id: 'worker-2', skill: 'w', scope: '000000', status: 'ready' },
      { kind: 'agent-actor', id: 'sub-1', skill: 's', scope: 'a1b2c3', status: 'ready' },
    ]);
    const g = viewGraph(graph, run);
    const n = Object.fromEntries(g.nodes.map((x) => [x.id, x]));
    expect(n['worker-1']).toMatchObject({ parentId: 'scope:000000', position: { x: 260, y: 36 } });
    expect(n['worker-2'].position).toEqual({ x: 260, y: 156 });
    expect(n['scope:000000'].style!.width).toBe(260 + 240);
    expect(graph.nodes[0].style!.width).toBe(260);  // the file's graph is not changed
    // a scope the file does not know: a box of its own below the file's boxes
    expect(n['scope:a1b2c3']).toMatchObject({ position: { x: 0, y: 216 + 40 }, data: { dynamic: true } });
    expect(n['sub-1'].position).toEqual({ x: 20, y: 36 });
    expect(n['sub-1'].parentId).toBe('scope:a1b2c3');
    // parents come before their children (React Flow requires it)
    const order = g.nodes.map((x) => x.id);
    for (const x of g.nodes) if (x.parentId) expect(order.indexOf(x.parentId)).toBeLessThan(order.indexOf(x.id));
  });

  it('lays boxes of new scopes out in a grid of three columns', () => {
    const events = [1, 2, 3, 4].map((i) => ({ kind: 'agent-actor', id: `w-${i}`, skill: 'w', scope: `00000${i}`, status: 'ready' }));
    const n = Object.fromEntries(viewGraph(graph, play(events)).nodes.map((x) => [x.id, x]));
    expect([1, 2, 3, 4].map((i) => n[`scope:00000${i}`].position)).toEqual([
      { x: 0, y: 256 }, { x: 300, y: 256 }, { x: 600, y: 256 }, { x: 0, y: 256 + 176 + 40 }]);
  });

  it('bows the two directions of a pair to opposite sides, from border to border', () => {
    const a = { x: 0, y: 0, width: 100, height: 50 };
    const b = { x: 0, y: 200, width: 100, height: 50 };
    const ab = curvedEdge(a, b, 30);
    const ba = curvedEdge(b, a, 30);
    // going down the screen, "left of the direction" is the viewer's right
    expect(ab.labelX).toBeGreaterThan(50);
    expect(ba.labelX).toBeLessThan(50);
    expect(ab.labelY).toBeCloseTo(125, 0);
    // starts on a's bottom border and ends on b's top border
    expect(ab.path).toMatch(/^M [\d.]+,50 Q /);
    expect(ab.path).toMatch(/ [\d.]+,200$/);
  });
});

describe('agent texts', () => {
  it('says where a problem is and cuts long payloads', () => {
    expect(problemText({ where: 'actors[2] (pong).skill', code: 'unknown-skill', message: "no skill 'x'", severity: 'error', line: 19 }))
      .toBe("line 19: actors[2] (pong).skill: no skill 'x'");
    expect(problemText({ where: 'actors[1]', code: 'w', message: 'm', severity: 'warning', line: null }))
      .toBe('actors[1]: warning: m');
    const long = previewOf({ s: 'x'.repeat(1000) });
    expect(long).toHaveLength(240);
    expect(long.endsWith('…')).toBe(true);
    expect(inputError('')).toBeNull();
    expect(inputError('{"a": 1}')).toBeNull();
    expect(inputError('{a')).toMatch(/not JSON/);
  });
});
