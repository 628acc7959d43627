/** A Web Worker stand-in for the runtime hosts' unit tests: records posts and terminate. */
import type { WorkerLike } from '../src/runtime/host';

export class FakeWorker implements WorkerLike {
  onmessage: WorkerLike['onmessage'] = null;
  onerror: WorkerLike['onerror'] = null;
  posted: unknown[] = [];
  terminated = false;
  postMessage(data: unknown) { this.posted.push(data); }
  terminate() { this.terminated = true; }
}
