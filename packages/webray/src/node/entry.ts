/** A node's main: boots the core worker and executor in a Web Worker or a worker_threads thread. */
import * as Comlink from 'comlink';
import { setCurrentCore } from '../api/core.js';
import type { NodeBootData } from '../platform/types.js';
import { fromJsonField, messagesOf, Outbox, type Batch, type JsonField } from '../shared/outbox.js';
import { TASK_FIELDS, type HostToNode, type NodeToHost } from '../shared/protocol.js';
import { Executor } from './executor.js';
import { FunctionTable } from './functions.js';
import { NodeCore } from './node-core.js';
import { ObjectStore } from '../store/object-store.js';
import { WasmStore } from '../store/wasm-store.js';

interface Port {
  post(m: unknown): void;
  listen(r: (m: unknown) => void): void;
  /**
   * Node only: the next batch, waiting up to `ms` in Atomics.wait (no trip through the event
   * loop); with `poll`, it first polls briefly, for request/response loops.
   */
  take?(ms: number, poll: boolean): unknown | undefined;
}

/** How long an idle node waits for more work before it hands control back to its event loop. */
const IDLE_WAIT_MS = 5;
/** Batches of up to this many messages (a JSON run's tasks counted one by one) look like a call-and-wait loop. */
const SMALL_BATCH = 2;
/** How long an idle node polls before it sleeps in Atomics.wait. */
const BUSY_POLL_MS = 0.05;
/** How long it may keep taking work that way before the event loop gets a turn anyway. */
const MAX_SPIN_MS = 50;

/** Starts the node; returns a function that sends what its outbox holds now. */
function start(boot: NodeBootData, port: Port, control: Comlink.Endpoint, gc: (() => void) | undefined, heapUsed: () => number): () => void {
  const out = new Outbox<NodeToHost>((batch) => port.post(batch), 'dones');
  out.onFlushed = () => { core.flushed(); exec.flushed(); };
  const table = new FunctionTable();
  const store = boot.store ? new ObjectStore(WasmStore.attach(boot.store), boot.store) : undefined;
  const core = new NodeCore(boot, out, table, store);
  setCurrentCore(core);
  const exec = new Executor(boot.kind, core, table, out);
  Comlink.expose({
    stats: () => ({ heapUsed: heapUsed(), tasksRun: exec.tasksRun, functions: table.size }),
    gc: () => { if (!gc) return false; gc(); return true; },
  }, control);
  /** Handles a batch; returns how many messages it held, counting each task of a JSON run. */
  const handle = (batch: unknown): number => {
    let count = 0;
    for (const m of messagesOf<HostToNode>(batch as Batch, 'tasks')) {
      count++;
      switch (m.t) {
        case 'fn': table.register(m.d); core.knownToHost(m.d.id); break;
        case 'task': exec.enqueue(m); break;
        case 'tasks': {
          const run = JSON.parse(m.j as string) as unknown[];
          for (let i = 0; i < run.length; i += TASK_FIELDS) {
            const id = run[i] as string, fn = run[i + 1] as string, nret = run[i + 2] as number, attempt = run[i + 3] as number;
            const args = fromJsonField(run[i + 4] as JsonField), method = run[i + 5] as string | null;
            exec.enqueue(method === null ? { t: 'task', id, fn, nret, attempt, args } : { t: 'task', id, fn, nret, attempt, args, method });
            count++;
          }
          break;
        }
        case 'actor': void exec.createActor(m); break;
        case 'objects': core.settle(m.req, true, m.values, undefined); break;
        case 'reply': core.settle(m.req, m.ok, m.value, m.error); break;
        case 'cancel': exec.cancel(m.id); break;
      }
    }
    return count;
  };
  // An idle node waits for the next batch in Atomics.wait rather than sleeping in its event
  // loop: waking from a futex is several times faster, which is what a task's round trip costs.
  let spinQueued = false;
  const spin = () => {
    spinQueued = false;
    const stop = performance.now() + MAX_SPIN_MS;
    let poll = lastBatchSmall;
    while (exec.idle && core.idle && performance.now() < stop) {
      const batch = port.take!(IDLE_WAIT_MS, poll);
      if (batch === undefined) return;
      // Polling pays off only in a call-and-wait loop: after a big batch the driver is busy, and
      // on a small machine a polling worker would take the CPU the driver needs.
      poll = handle(batch) <= SMALL_BATCH;
      out.flush();
    }
    queueSpin();
  };
  const queueSpin = () => {
    if (!port.take || spinQueued) return;
    spinQueued = true;
    setImmediate(spin);
  };
  let lastBatchSmall = false;
  port.listen((batch) => {
    lastBatchSmall = handle(batch) <= SMALL_BATCH;
    queueSpin();
  });
  out.post({ t: 'ready' });
  return () => out.flush();
}

const isNodeThread = typeof process !== 'undefined' && !!process.versions?.node && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'undefined';

/** Node worker_threads: data port, wake counter (+ sleeping flag) and control port come in workerData. */
function bootNodeThread({ workerData, receiveMessageOnPort }: typeof import('node:worker_threads')): void {
  const data = workerData.data as import('node:worker_threads').MessagePort;
  const wake = workerData.wake as Int32Array;
  const gc = (globalThis as { gc?: () => void }).gc;
  const flush = start(workerData.boot, {
    post: (m) => data.postMessage(m),
    listen: (r) => data.on('message', r),
    take: (ms, poll) => {
      // Poll first (the next task of a request/response loop comes within microseconds), then sleep.
      const pollUntil = poll ? performance.now() + BUSY_POLL_MS : 0;
      let seen: number;
      do {
        seen = Atomics.load(wake, 0);
        const m = receiveMessageOnPort(data);
        if (m) return m.message;
      } while (performance.now() < pollUntil);
      // The host notifies only a worker that says it sleeps: a notify is a syscall per batch sent.
      Atomics.store(wake, 1, 1);
      Atomics.wait(wake, 0, seen, ms);
      Atomics.store(wake, 1, 0);
      return receiveMessageOnPort(data)?.message;
    },
  }, workerData.control as Comlink.Endpoint, gc, () => process.memoryUsage().heapUsed);
  // A task's process.exit ends this thread before the outbox's microtask: the results of the
  // tasks that ran before it in the same turn would be lost (and their tasks run again). Send
  // them first: a port delivers what was posted before its thread ended.
  const exit = process.exit.bind(process);
  process.exit = ((code?: number | string | null) => { flush(); return exit(code); }) as typeof process.exit;
}

// No top-level await: bundlers may emit this worker in formats without it (Vite's default 'iife').
if (isNodeThread) {
  const wt = 'node:worker_threads';
  void (import(/* @vite-ignore */ wt) as Promise<typeof import('node:worker_threads')>).then(bootNodeThread);
} else {
  const scope = globalThis as unknown as { postMessage(m: unknown): void; addEventListener(t: 'message', l: (e: MessageEvent) => void, o?: { once: boolean }): void };
  scope.addEventListener('message', (e: MessageEvent) => {
    const { boot, control } = e.data as { boot: NodeBootData; control: MessagePort };
    const begin = () => start(boot, {
      post: (m) => scope.postMessage(m),
      listen: (r) => scope.addEventListener('message', (ev: MessageEvent) => r(ev.data)),
    }, control, undefined, () => (performance as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0);
    // Hold a lock for the worker's whole life: the host learns of our death when it is released.
    if (navigator.locks) {
      void navigator.locks.request(`webray-node-${boot.nodeId}`, () => { begin(); return new Promise<never>(() => undefined); });
    } else {
      begin();
    }
  }, { once: true });
}
