// The repository's browser-runtime skills, run through the worker's own job runner
// (test/runtime.test.ts covers the protocol): do they compute what their docs say?
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import * as THREE from 'three';
import { describe, expect, it } from 'vitest';

import { runJob } from '../src/runtime/workerMain';

const scope = globalThis as unknown as Record<string, unknown>;

function skillCode(id: string): { code: string; code_line: number; source: string } {
  const path = fileURLToPath(new URL(`../../skills/${id}.md`, import.meta.url));
  const lines = readFileSync(path, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.trim() === '```javascript');
  const end = lines.findIndex((l, i) => i > start && l.trim() === '```');
  return { code: lines.slice(start + 1, end).join('\n'), code_line: start + 2, source: `${id}.md` };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a worker's JSON answer, read field by field below
async function run(id: string, inputs: Record<string, unknown>): Promise<any> {
  return runJob({ ...skillCode(id), inputs }, scope);
}

describe('moving-average (runtime: javascript)', () => {
  it('matches its documented example', async () => {
    const { outputs } = await run('moving-average', { values: [1, 2, 3, 4, 5, 6], window: 3 });
    expect(outputs.smoothed).toEqual([2, 3, 4, 5]);
    expect(outputs.mean).toBeCloseTo(3.5, 14);
    expect(outputs.std).toBeCloseTo(Math.sqrt(17.5 / 5), 14);
    expect(outputs.rms).toBeCloseTo(Math.sqrt(91 / 6), 14);
    expect([outputs.min, outputs.max, outputs.count]).toEqual([1, 6, 6]);
  });

  it('keeps Welford accurate on a large offset and the running sum accurate on long series', async () => {
    const xs = Array.from({ length: 5000 }, (_, i) => 1e9 + (i % 2));
    const { outputs } = await run('moving-average', { values: xs, window: 2 });
    expect(outputs.std).toBeCloseTo(Math.sqrt((5000 * 0.25) / 4999), 9);
    expect(outputs.smoothed.every((v: number) => Math.abs(v - (1e9 + 0.5)) < 1e-6)).toBe(true);
  });

  it('names the bad element and the line of the throw', async () => {
    const answer = await run('moving-average', { values: [1, 'x'], window: 1 });
    expect(answer.error).toBe('TypeError: values[1] must be a finite number, got "x"');
    const { code_line } = skillCode('moving-average');
    expect(answer.line).toBeGreaterThan(code_line);
    const wide = await run('moving-average', { values: [1, 2], window: 3 });
    expect(wide.error).toContain('window must be an integer from 1 to 2');
  });
});

describe('threejs-surface (runtime: threejs)', () => {
  scope.THREE = THREE;

  it('a flat surface has area 4 and the documented counts', async () => {
    const { outputs } = await run('threejs-surface', { amplitude: 0, frequency_x: 1, frequency_y: 0.5,
      resolution: 4, color_low: '#000000', color_high: '#ffffff' });
    expect(outputs.surface_area).toBeCloseTo(4, 12);
    expect([outputs.vertex_count, outputs.triangle_count, outputs.heights.length]).toEqual([25, 32, 25]);
    expect(outputs.scene.metadata.type).toBe('Object');
    // The JSON loads back into a scene with the mesh.
    const scene = new THREE.ObjectLoader().parse(outputs.scene);
    expect(scene.getObjectByName('surface')).toBeInstanceOf(THREE.Mesh);
  });

  it('the scene JSON keeps the computed heights and vertex colours', async () => {
    const { outputs } = await run('threejs-surface', { amplitude: 0.3, frequency_x: 1, frequency_y: 0.5,
      resolution: 6, color_low: '#000000', color_high: '#ffffff' });
    const mesh = new THREE.ObjectLoader().parse(outputs.scene).getObjectByName('surface') as THREE.Mesh;
    const pos = mesh.geometry.getAttribute('position');
    const zs = Array.from({ length: pos.count }, (_, i) => pos.getZ(i));
    zs.forEach((z, i) => expect(z).toBeCloseTo(outputs.heights[i], 6));
    const color = mesh.geometry.getAttribute('color');
    const top = zs.indexOf(Math.max(...zs));
    expect(color.getX(top)).toBeCloseTo(1, 6); // the highest vertex gets color_high
    expect((mesh.material as THREE.MeshStandardMaterial).vertexColors).toBe(true);
    // The mesh lies in the x–z plane with heights along y (the saved matrix has the rotation).
    expect(mesh.rotation.x).toBeCloseTo(-Math.PI / 2, 9);
  });

  it('the mesh area converges to the integral for a wave (from below)', async () => {
    const params = { amplitude: 0.2, frequency_x: 0.5, frequency_y: 0, color_low: '#000', color_high: '#fff' };
    // z = A sin(πx): area = 2 ∫_{-1}^{1} √(1 + (Aπ cos πx)²) dx, by Simpson's rule on 20,000 panels.
    const f = (x: number) => Math.sqrt(1 + (0.2 * Math.PI * Math.cos(Math.PI * x)) ** 2);
    const n = 20000, h = 2 / n;
    let s = f(-1) + f(1);
    for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(-1 + i * h);
    const exact = 2 * (s * h) / 3;
    const coarse = (await run('threejs-surface', { ...params, resolution: 8 })).outputs.surface_area;
    const fine = (await run('threejs-surface', { ...params, resolution: 128 })).outputs.surface_area;
    expect(coarse).toBeLessThan(fine);
    expect(fine).toBeLessThan(exact + 1e-9);
    expect(Math.abs(fine - exact) / exact).toBeLessThan(1e-4);
  });
});
