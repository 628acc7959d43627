/**
 * A live, orbitable three.js view of a `scene` preview (canvas.py `preview()`):
 * `threejs-json` is `Object3D.toJSON()` output (a `threejs` runtime skill), loaded with
 * `ObjectLoader`; `threejs-scene` is the `threejs-cube` skill's description, built here.
 * Renders on demand (on orbit), not in a loop; without WebGL it says so in text.
 */
import React, { useEffect, useMemo, useRef, useState } from 'react';
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

export interface ScenePreviewData {
  kind: 'scene';
  format: 'threejs-json' | 'threejs-scene';
  /** three.js JSON (`threejs-json`) or a `SceneDescription` (`threejs-scene`). */
  scene: unknown;
}

/** The `threejs-cube` skill's scene description (`format: 'threejs-scene'`). */
interface SceneDescription {
  objects?: DescribedObject[];
  background?: string;
  camera?: { fov?: number; position?: unknown };
}

interface DescribedObject {
  type?: string;
  geometry?: { type?: string; width?: number; height?: number; depth?: number; radius?: number };
  material?: { color?: string; metalness?: number; roughness?: number };
  rotation?: number[];
  rotation_order?: string;
  position?: number[];
}

/** The objects of a `threejs-scene` description as three.js meshes. */
export function buildDescribedScene(desc: { objects?: DescribedObject[]; background?: string }): THREE.Scene {
  const scene = new THREE.Scene();
  if (desc.background) scene.background = new THREE.Color(desc.background);
  for (const o of desc.objects ?? []) {
    const g = o.geometry ?? {};
    const geometry = g.type === 'SphereGeometry'
      ? new THREE.SphereGeometry(g.radius ?? 0.5, 32, 16)
      : new THREE.BoxGeometry(g.width ?? 1, g.height ?? 1, g.depth ?? 1);
    const material = new THREE.MeshStandardMaterial({
      color: o.material?.color ?? '#888888', metalness: o.material?.metalness ?? 0.1,
      roughness: o.material?.roughness ?? 0.6,
    });
    const mesh = new THREE.Mesh(geometry, material);
    const [rx = 0, ry = 0, rz = 0] = o.rotation ?? [];
    mesh.rotation.set(rx, ry, rz, (o.rotation_order ?? 'XYZ') as THREE.EulerOrder);
    const [px = 0, py = 0, pz = 0] = o.position ?? [];
    mesh.position.set(px, py, pz);
    scene.add(mesh);
  }
  return scene;
}

/** The scene to draw, with lights added when it has none (a scene without light is black). */
export function sceneOf(data: ScenePreviewData): THREE.Scene {
  let scene: THREE.Scene;
  if (data.format === 'threejs-scene') {
    scene = buildDescribedScene((data.scene ?? {}) as SceneDescription);
  } else {
    const obj = new THREE.ObjectLoader().parse(data.scene);
    if ((obj as THREE.Scene).isScene) {
      scene = obj as THREE.Scene;
    } else {
      scene = new THREE.Scene();
      scene.add(obj);
    }
  }
  let lit = false;
  scene.traverse((o) => { if ((o as THREE.Light).isLight) lit = true; });
  if (!lit) {
    scene.add(new THREE.AmbientLight(0xffffff, 0.6));
    const sun = new THREE.DirectionalLight(0xffffff, 1.6);
    sun.position.set(3, 5, 4);
    scene.add(sun);
  }
  if (!scene.background) scene.background = new THREE.Color('#f5f5f5');
  return scene;
}

/** Camera distance and target that frame a bounding sphere of `radius` with a `fovDeg` lens. */
export function frameDistance(radius: number, fovDeg: number): number {
  const r = radius > 0 && Number.isFinite(radius) ? radius : 1;
  return (1.15 * r) / Math.sin((fovDeg * Math.PI) / 360);
}

export function ScenePreview({ data, id, width, height }: {
  data: ScenePreviewData; id: string; width: number; height: number;
}) {
  const host = useRef<HTMLDivElement>(null);
  const [failure, setFailure] = useState<string | null>(null);
  // Previews arrive re-parsed on every render: key the WebGL setup on the content, so a
  // node's re-render does not recreate its context.
  const text = JSON.stringify(data);
  const stable = useMemo(() => JSON.parse(text) as ScenePreviewData, [text]);
  useEffect(() => {
    const data = stable;
    const el = host.current;
    if (!el) return;
    let renderer: THREE.WebGLRenderer;
    let scene: THREE.Scene;
    try {
      scene = sceneOf(data);
    } catch (err) {
      setFailure(`could not read the scene: ${String(err)}`);
      return;
    }
    try {
      renderer = new THREE.WebGLRenderer({ antialias: true });
    } catch (err) {
      setFailure(`WebGL is unavailable here (${err instanceof Error ? err.message : String(err)})`);
      return;
    }
    setFailure(null);
    renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    renderer.setSize(width, height);
    renderer.domElement.dataset.sceneCanvas = id;
    el.appendChild(renderer.domElement);

    const described = data.format === 'threejs-scene' ? (data.scene as SceneDescription | null) : null;
    const fov = described?.camera?.fov ?? 45;
    const camera = new THREE.PerspectiveCamera(fov, width / height, 0.01, 1e4);
    const sphere = new THREE.Box3().setFromObject(scene).getBoundingSphere(new THREE.Sphere());
    const target = Number.isFinite(sphere.radius) && sphere.radius > 0 ? sphere.center : new THREE.Vector3();
    const given = described?.camera?.position;
    if (Array.isArray(given) && given.length === 3) {
      camera.position.set(given[0], given[1], given[2]);
    } else {
      const dir = new THREE.Vector3(1, 0.8, 1.2).normalize();
      camera.position.copy(target).addScaledVector(dir, frameDistance(sphere.radius, fov));
    }
    camera.lookAt(target);
    const controls = new OrbitControls(camera, renderer.domElement);
    controls.target.copy(target);
    const draw = () => renderer.render(scene, camera);
    controls.addEventListener('change', draw);
    controls.update();
    draw();
    return () => {
      controls.dispose();
      renderer.dispose();
      renderer.forceContextLoss();
      renderer.domElement.remove();
      scene.traverse((o) => {
        const m = o as THREE.Mesh;
        m.geometry?.dispose?.();
        const mats = Array.isArray(m.material) ? m.material : m.material ? [m.material] : [];
        for (const mat of mats) mat.dispose();
      });
    };
  }, [stable, id, width, height]);
  return (
    // nodrag/nopan/nowheel: React Flow leaves pointer and wheel events to the orbit controls.
    <div className="llmos-scene nodrag nopan nowheel" ref={host} style={{ width, minHeight: height }}
      title="drag to orbit, wheel to zoom">
      {failure && <div className="llmos-scene__fallback" role="note" data-scene-fallback={id}>{failure}</div>}
    </div>
  );
}
