/** Nodes as Node.js worker_threads. */
import { availableParallelism, hostname } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort as NodeMessagePort } from 'node:worker_threads';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { idbSpill } from './idb-spill.js';
import { fileTables } from './file-tables.js';
import { prepareWebRtc } from './node-webrtc.js';
import type { NodeBootData, NodeProcess, Platform, SpillTarget, WorkerResourceLimits } from './types.js';
import { readableHostName } from '../shared/host-name.js';

/** Run from TypeScript sources (tests), the worker still needs JavaScript: use the build. */
function workerEntry(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/node/entry.js', here) : new URL('../node/entry.js', here);
}

/** Node has no IndexedDB: spilled objects go to files in the temp directory (IndexedDB if a polyfill installed one). */
function fileSpill(hostId: string): SpillTarget {
  const dir = join(tmpdir(), `webray-spill-${hostId}`);
  let made: Promise<unknown> | undefined;
  const path = (id: string) => join(dir, id);
  return {
    kind: 'files',
    write: async (id, bytes) => { await (made ??= mkdir(dir, { recursive: true })); await writeFile(path(id), bytes); },
    read: async (id) => { try { return new Uint8Array(await readFile(path(id))); } catch { return undefined; } },
    remove: (id) => rm(path(id), { force: true }),
    clear: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Holds of the process (every host in it): while any is held, one timer keeps the event loop
 * running. Workers and their ports are unref'd, so without a hold the process ends when the
 * script's own work does.
 */
let holds = 0;
let holdTimer: ReturnType<typeof setInterval> | undefined;

function holdProcess(): () => void {
  if (holds++ === 0) holdTimer = setInterval(() => {}, 1 << 30);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holds === 0) { clearInterval(holdTimer); holdTimer = undefined; }
  };
}

/**
 * node-datachannel keeps the process alive while a connection is open, and Node lists no
 * resource for it: when no hold is taken and nothing but stdio keeps the event loop running (two
 * checks a second apart), the script has ended.
 */
function whenScriptDone(done: (atOnce: boolean) => void): () => void {
  const isStdio = (r: string) => r === 'PipeWrap' || r === 'TTYWrap';
  // Stdio handles are made on first use and listed as active although they hold nothing: make
  // them now and count them, so only resources beyond them say the script is still busy.
  void process.stdout;
  void process.stderr;
  const stdio = process.getActiveResourcesInfo().filter(isStdio).length;
  let quiet = 0;
  const timer = setInterval(() => {
    const active = process.getActiveResourcesInfo();
    const busy = holds > 0 || active.some((r) => !isStdio(r)) || active.filter(isStdio).length > stdio;
    quiet = busy ? 0 : quiet + 1;
    if (quiet < 2) return;
    clearInterval(timer);
    done(false);
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Why a worker died, as the errors of its tasks say it. */
function deathReason(code: number, error: Error | undefined, limits: WorkerResourceLimits | undefined): string {
  if ((error as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    const limit = limits?.maxOldGenerationSizeMb;
    return limit !== undefined
      ? `it ran out of memory: its heap reached workerResourceLimits.maxOldGenerationSizeMb (${limit} MB) given to ray.init; raise that limit or make the task hold less`
      : `it ran out of memory: its heap reached the engine's default limit; make the task hold less, or give ray.init a larger workerResourceLimits.maxOldGenerationSizeMb`;
  }
  return error ? `uncaught ${error.name}: ${error.message}` : `worker exited with code ${code}`;
}

export const nodePlatform: Platform = {
  name: 'node',
  timers: {
    now: () => performance.now(),
    every: (ms, run) => { const t = setInterval(run, ms); t.unref(); return () => clearInterval(t); },
  },
  cpuCount: availableParallelism(),
  // A machine's hostname can be empty or hold characters a name may not have.
  defaultHostName: (hostId) => readableHostName(`${hostname().slice(0, 40)} pid ${process.pid}`, `host ${hostId.slice(0, 4)}`),
  // Bun runs Node's API on WebKit's engine.
  engine: typeof (process.versions as Record<string, string | undefined>).bun === 'string' ? 'javascriptcore' : 'v8',
  holdProcess,
  whenScriptDone,
  prepareSignaling: prepareWebRtc,
  tablesStore: (cluster, stateDir) => (stateDir === undefined ? undefined : fileTables(stateDir, cluster)),
  spillTarget: (hostId) => ((globalThis as { indexedDB?: unknown }).indexedDB ? idbSpill(hostId) : fileSpill(hostId)),
  spawn(boot: NodeBootData, limits?: WorkerResourceLimits): NodeProcess {
    const control = new MessageChannel();
    // Tasks and results go over their own port, which the host can also read synchronously
    // (receiveMessageOnPort), and a shared counter wakes a worker that waits idle in Atomics.wait.
    const data = new MessageChannel();
    // [0]: bumped per batch sent; [1]: set while the worker sleeps in Atomics.wait.
    const wake = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(workerEntry(), {
      workerData: { boot, control: control.port2, data: data.port2, wake },
      transferList: [control.port2 as unknown as NodeMessagePort, data.port2],
      name: `webray-${boot.kind}-${boot.nodeId}`,
      ...(limits && { resourceLimits: limits }),
    });
    worker.unref();
    // comlink listens on the control port as the host wraps it, just after this returns; a
    // listener refs a port again, so unref it once that is done.
    queueMicrotask(() => control.port1.unref());
    let terminating = false;
    let exitListener: ((reason: string) => void) | undefined;
    let lastError: Error | undefined;
    worker.on('error', (e) => { lastError = e; });
    worker.on('exit', (code) => {
      data.port1.close();
      if (terminating) return;
      exitListener?.(deathReason(code, lastError, limits));
    });
    return {
      endpoint: {
        send: (m, t) => {
          data.port1.postMessage(m, t as NodeMessagePort[]);
          Atomics.add(wake, 0, 1);
          // Sequentially consistent: a worker that set the flag after this load sees the new count and does not sleep.
          if (Atomics.load(wake, 1) !== 0) Atomics.notify(wake, 0);
        },
        listen: (r) => { data.port1.on('message', r); data.port1.unref(); },
        poll: () => receiveMessageOnPort(data.port1)?.message,
        close: () => { void worker.terminate(); },
      },
      control: control.port1,
      onExit: (l) => { exitListener = l; },
      terminate: async () => {
        terminating = true;
        control.port1.close();
        data.port1.close();
        await worker.terminate();
      },
    };
  },
};
