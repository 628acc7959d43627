// Bundle the canvas into ONE ES module (+ its CSS) for anywidget:
// ../llmos_jupyter/static/canvas.js and canvas.css. `node build.mjs --watch` rebuilds.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const options = {
  entryPoints: { canvas: 'src/widget.tsx' },
  outdir: '../llmos_jupyter/static',
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: !watch,
  sourcemap: watch ? 'inline' : false,
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': watch ? '"development"' : '"production"' },
  legalComments: 'none',
  logLevel: 'info',
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
