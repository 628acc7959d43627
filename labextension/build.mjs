// Bundles from one source tree (`node build.mjs --watch` rebuilds them on save):
//  * the canvas anywidget: ONE ES module (+ CSS), ../llmos_jupyter/static/canvas.js/.css;
//  * the agent system anywidget (`%agents run`): ../llmos_jupyter/static/agents.js/.css;
//  * the JupyterLab extension's entry, lib/index.js (+ lib/index.css): JupyterLab, Lumino
//    and React stay imports (shared singletons of the running JupyterLab); the rest is
//    bundled. `jupyter labextension build .` (npm run build:labextension) then turns
//    lib/ into the prebuilt extension in ../llmos_jupyter/labextension.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: !watch,
  sourcemap: watch ? 'inline' : false,
  define: { 'process.env.NODE_ENV': watch ? '"development"' : '"production"' },
  legalComments: 'none',
  logLevel: 'info',
};
// The skill workers (src/runtime/worker-*.ts) are bundled first, as classic scripts, and
// reach the canvas module as strings (`virtual:llmos-worker-sources`): a worker made from a
// Blob URL keeps the widget one file, with no URL to serve the worker from.
async function workerSources() {
  const out = {};
  for (const [name, entry] of [['JAVASCRIPT_WORKER', 'src/runtime/worker-javascript.ts'],
                               ['THREEJS_WORKER', 'src/runtime/worker-threejs.ts']]) {
    const r = await esbuild.build({ ...common, entryPoints: [entry], format: 'iife', write: false,
                                    sourcemap: false, logLevel: 'warning' });
    out[name] = r.outputFiles[0].text;
  }
  return out;
}
const workerSourcesPlugin = {
  name: 'llmos-worker-sources',
  setup(build) {
    build.onResolve({ filter: /^virtual:llmos-worker-sources$/ }, (args) => ({
      path: args.path, namespace: 'llmos-worker-sources',
    }));
    build.onLoad({ filter: /.*/, namespace: 'llmos-worker-sources' }, async () => {
      const sources = await workerSources();
      return {
        contents: Object.entries(sources)
          .map(([k, v]) => `export const ${k} = ${JSON.stringify(v)};`).join('\n'),
        loader: 'js',
        // Rebuild in watch mode when a worker's source changes.
        watchFiles: ['src/runtime/workerMain.ts', 'src/runtime/protocol.ts',
                     'src/runtime/worker-javascript.ts', 'src/runtime/worker-threejs.ts'],
      };
    });
  },
};
const canvas = {
  ...common,
  // Each entry is a self-contained module (no code splitting): anywidget loads one file.
  entryPoints: { canvas: 'src/widget.tsx', agents: 'src/agentsWidget.tsx' },
  outdir: '../llmos_jupyter/static',
  jsx: 'automatic',
  plugins: [workerSourcesPlugin],
};
// Bundled CommonJS (use-sync-external-store's shim) does `require('react')`: give it the
// shared ES module instead of esbuild's runtime `require`, which webpack cannot resolve.
const requireShared = {
  name: 'require-shared',
  setup(build) {
    build.onResolve({ filter: /^(react|react-dom)$/ }, (args) =>
      args.kind === 'require-call' ? { path: args.path, namespace: 'require-shared' } : undefined);
    build.onLoad({ filter: /.*/, namespace: 'require-shared' }, (args) => ({
      contents: `export * from '${args.path}'; export { default } from '${args.path}';`,
      loader: 'js',
    }));
  },
};
const lab = {
  ...common,
  entryPoints: { index: 'src/lab/index.ts' },
  outdir: 'lib',
  minify: false,  // webpack minifies the federated build
  // React.createElement (React is imported wherever JSX is used): no react/jsx-runtime import.
  jsx: 'transform',
  external: ['@jupyterlab/*', '@lumino/*', 'react', 'react-dom', 'react-dom/*'],
  plugins: [requireShared, workerSourcesPlugin],
};

if (watch) {
  for (const options of [canvas, lab]) await (await esbuild.context(options)).watch();
} else {
  await Promise.all([esbuild.build(canvas), esbuild.build(lab)]);
}
