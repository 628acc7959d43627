/** Built by build.mjs: the two worker bundles as source text (see src/runtime/host.ts). */
declare module 'virtual:llmos-worker-sources' {
  export const JAVASCRIPT_WORKER: string;
  export const THREEJS_WORKER: string;
}
