/** A node's main: boots the core worker and executor in a Web Worker or a worker_threads thread. */
import * as Comlink from 'comlink';
import { setCurrentCore } from '../api/core.js';
import type { NodeBootData } from '../platform/types.js';
import { Outbox } from '../shared/outbox.js';
import type { HostToNode, JsonTask, NodeToHost } from '../shared/protocol.js';
import { Executor } from './executor.js';
import { FunctionTable } from './functions.js';
import { NodeCore } from './node-core.js';

interface Port {
  post(m: unknown): void;
  listen(r: (m: unknown) => void): void;
}

function start(boot: NodeBootData, port: Port, control: Comlink.Endpoint, gc: (() => void) | undefined, heapUsed: () => number): void {
  const out = new Outbox<NodeToHost>((batch) => port.post(batch), 'dones');
  out.onFlushed = () => core.flushed();
  const table = new FunctionTable();
  const core = new NodeCore(boot, out, table);
  setCurrentCore(core);
  const exec = new Executor(boot.kind, core, table, out);
  Comlink.expose({
    stats: () => ({ heapUsed: heapUsed(), tasksRun: exec.tasksRun, functions: table.size }),
    gc: () => { if (!gc) return false; gc(); return true; },
  }, control);
  port.listen((batch) => {
    for (const m of batch as HostToNode[]) {
      switch (m.t) {
        case 'fn': table.register(m.d); core.knownToHost(m.d.id); break;
        case 'task': exec.enqueue(m); break;
        case 'tasks':
          for (const [id, fn, nret, attempt, args, actor, method] of JSON.parse(m.j as string) as JsonTask[]) {
            exec.enqueue(actor ? { t: 'task', id, fn, nret, attempt, args, actor, method } : { t: 'task', id, fn, nret, attempt, args });
          }
          break;
        case 'actor': void exec.createActor(m); break;
        case 'objects': core.settle(m.req, true, m.values, undefined); break;
        case 'reply': core.settle(m.req, m.ok, m.value, m.error); break;
        case 'cancel': exec.cancel(m.id); break;
      }
    }
  });
  out.post({ t: 'ready' });
}

const isNodeThread = typeof process !== 'undefined' && !!process.versions?.node && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'undefined';

if (isNodeThread) {
  const wt = 'node:worker_threads';
  const { parentPort, workerData } = (await import(/* @vite-ignore */ wt)) as typeof import('node:worker_threads');
  const gc = (globalThis as { gc?: () => void }).gc;
  start(workerData.boot, {
    post: (m) => parentPort!.postMessage(m),
    listen: (r) => parentPort!.on('message', r),
  }, workerData.control as Comlink.Endpoint, gc, () => process.memoryUsage().heapUsed);
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
