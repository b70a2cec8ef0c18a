/** Nodes as module Web Workers. */
import { RayUsageError } from '../shared/errors.js';
import { engineOf } from './engine.js';
import { idbSpill } from './idb-spill.js';
import { idbTables } from './tables-store.js';
import type { NodeBootData, NodeProcess, Platform } from './types.js';

/** Held by every worker for its whole life: the host learns of a worker's death when it is released. */
export function lifeLockName(nodeId: string): string {
  return `webray-node-${nodeId}`;
}

/**
 * A hidden tab throttles its main-thread timers (to once a second, later once a minute), which
 * would stop heartbeats and make live hosts look dead. A worker's timers are not throttled: it
 * ticks, and its messages reach the page on time.
 */
const tickerSource = 'const ts = new Map(); onmessage = (e) => { const [op, id, ms] = e.data; if (op === "start") ts.set(id, setInterval(() => postMessage(id), ms)); else { clearInterval(ts.get(id)); ts.delete(id); } };';
let ticker: Worker | undefined;
let nextTicker = 0;
const ticks = new Map<number, () => void>();

const workerTimers = {
  now: () => performance.now(),
  every(ms: number, run: () => void): () => void {
    if (!ticker) {
      try {
        ticker = new Worker(URL.createObjectURL(new Blob([tickerSource], { type: 'text/javascript' })));
      } catch (e) {
        throw new RayUsageError(
          `webray could not start the small blob: worker that drives a cluster's heartbeats (${e instanceof Error ? e.message : String(e)}). ` +
          `A Content Security Policy that forbids blob: workers does this: add blob: to worker-src (README: "Content Security Policy").`,
        );
      }
      ticker.onmessage = (e: MessageEvent<number>) => ticks.get(e.data)?.();
    }
    const id = ++nextTicker;
    ticks.set(id, run);
    ticker.postMessage(['start', id, ms]);
    return () => { ticks.delete(id); ticker?.postMessage(['stop', id]); };
  },
};

export const browserPlatform: Platform = {
  name: 'browser',
  timers: workerTimers,
  cpuCount: globalThis.navigator?.hardwareConcurrency ?? 2,
  defaultHostName: (hostId) => `tab ${hostId.slice(0, 4)}`,
  engine: engineOf(globalThis.navigator?.userAgent ?? ''),
  spillTarget: idbSpill,
  // (A page has both; a worker that runs webray has no sessionStorage, so no per-tab id: nothing is kept.)
  tablesStore: (cluster) => (typeof sessionStorage === 'undefined' || typeof indexedDB === 'undefined' ? undefined : idbTables(cluster)),
  whenScriptDone(done: (atOnce: boolean) => void): () => void {
    // A page that goes away may leave its WebRTC connections open (frozen in the back-forward
    // cache, a renderer ended at once), so peers would wait out the heartbeat timeout: shutting
    // down on pagehide says goodbye to them first. A page in that cache is as gone for the cluster.
    // At once: nothing after this task may run in a page that is going away.
    const gone = () => done(true);
    globalThis.addEventListener?.('pagehide', gone, { once: true });
    return () => globalThis.removeEventListener?.('pagehide', gone);
  },
  spawn(boot: NodeBootData): NodeProcess {
    // Written literally so bundlers (Vite) see and emit the worker chunk.
    const worker = new Worker(new URL('../node/entry.js', import.meta.url), { type: 'module', name: `webray-${boot.kind}-${boot.nodeId}` });
    const control = new MessageChannel();
    let dead = false;
    let exitListener: ((reason: string) => void) | undefined;
    const die = (reason: string) => {
      if (dead) return;
      dead = true;
      exitListener?.(reason);
    };
    worker.addEventListener('error', (e) => {
      // An error event for a module that fails to load means the worker never started.
      if (!started) die(`worker failed to start: ${e.message || 'script error'}`);
    });
    let started = false;
    worker.addEventListener('message', (e) => {
      if (started) return;
      started = true;
      // The worker holds its life lock from before its first message: our request is granted only when it dies.
      navigator.locks?.request(lifeLockName(boot.nodeId), () => die('worker closed or crashed')).catch(() => undefined);
      void e;
    });
    worker.postMessage({ boot, control: control.port2 }, [control.port2]);
    return {
      endpoint: {
        send: (m, t) => worker.postMessage(m, (t ?? []) as Transferable[]),
        listen: (r) => worker.addEventListener('message', (e: MessageEvent) => r(e.data)),
        close: () => worker.terminate(),
      },
      control: control.port1,
      onExit: (l) => { exitListener = l; },
      terminate: async () => { dead = true; control.port1.close(); worker.terminate(); },
    };
  },
};
