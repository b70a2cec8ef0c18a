/**
 * The page behind browser-runtime.e2e.test.ts: starts webray with two Web Workers and exposes
 * one function per check on `window.webrayTests`. Each returns plain JSON-able data that the
 * Node side asserts on, so nothing depends on how Playwright serialises Maps or BigInts.
 */
import * as ray from 'webray';

/** Kept on the worker between calls: the actor's state. */
class Counter {
  n = 0;
  seen: number[] = [];
  inc(by = 1) {
    this.n += by;
    this.seen.push(this.n);
    return this.n;
  }
  history() {
    return this.seen;
  }
}

/** A tagged, JSON-able picture of a value, so type and content can be compared in Node. */
function describe(v: unknown): unknown {
  if (typeof v === 'bigint') return { $: 'bigint', v: v.toString() };
  if (typeof v === 'number' && !Number.isFinite(v)) return { $: 'number', v: String(v) };
  if (v === undefined) return { $: 'undefined' };
  if (v instanceof Map) return { $: 'Map', v: [...v].map(([k, x]) => [describe(k), describe(x)]) };
  if (v instanceof Set) return { $: 'Set', v: [...v].map(describe) };
  if (v instanceof Date) return { $: 'Date', v: v.getTime() };
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    return { $: v.constructor.name, v: Array.from(v as unknown as ArrayLike<number | bigint>, (x) => describe(x)) };
  }
  if (Array.isArray(v)) return v.map(describe);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describe(x)]));
  return v;
}

function sample() {
  return {
    map: new Map<unknown, unknown>([[1, 'one'], ['k', { deep: [1, 2] }], [3n, new Set(['x'])]]),
    set: new Set<unknown>([1, 'two', 3n]),
    date: new Date(1_700_000_000_000),
    big: 2n ** 70n + 1n,
    negBig: -(2n ** 65n),
    f64: new Float64Array([1.5, -2, Number.NaN, Number.POSITIVE_INFINITY]),
    u8: new Uint8Array([0, 1, 255]),
    i32: new Int32Array([-7, 2_147_483_647]),
    big64: new BigInt64Array([-1n, 2n ** 62n]),
    nested: { list: [new Map([['a', new Date(0)]]), null, true, 'x'] },
    undef: undefined,
  };
}

const GET_TIMEOUT = 30_000;

const webrayTests = {
  isolation() {
    return { crossOriginIsolated: globalThis.crossOriginIsolated, sharedArrayBuffer: typeof SharedArrayBuffer === 'function' };
  },

  async squares() {
    const square = ray.remote((x: number) => x * x);
    return ray.get(Array.from({ length: 10 }, (_, i) => square.remote(i)), { timeout: GET_TIMEOUT });
  },

  async roundTrip() {
    // The worker reports the types it received, then echoes the value back.
    const inspect = ray.remote((v: Record<string, unknown>) => ({
      kinds: {
        map: v.map instanceof Map,
        set: v.set instanceof Set,
        date: v.date instanceof Date,
        big: typeof v.big,
        f64: v.f64 instanceof Float64Array,
        u8: v.u8 instanceof Uint8Array,
        i32: v.i32 instanceof Int32Array,
        big64: v.big64 instanceof BigInt64Array,
      },
      back: v,
    }));
    const value = sample();
    const { kinds, back } = await ray.get(inspect.remote(value), { timeout: GET_TIMEOUT });
    return { sent: describe(value), received: describe(back), kinds };
  },

  async actor() {
    const C = ray.remote(Counter);
    const c = C.remote();
    // Fire every call before waiting for any: calls from one caller must still run in order.
    const refs = Array.from({ length: 25 }, () => c.inc.remote(1));
    const values = await ray.get(refs, { timeout: GET_TIMEOUT });
    const more = await ray.get(c.inc.remote(100), { timeout: GET_TIMEOUT });
    const history = await ray.get(c.history.remote(), { timeout: GET_TIMEOUT });
    ray.kill(c);
    return { values, more, history };
  },

  async throwing() {
    const boom = ray.remote(function boom(msg: string): number {
      throw new TypeError(msg);
    });
    try {
      await ray.get(boom.remote('kaboom from a worker'), { timeout: GET_TIMEOUT });
      return { threw: false };
    } catch (e) {
      const err = e as Error & { functionName?: string; remoteStack?: string };
      const cause = err.cause as Error | undefined;
      return {
        threw: true,
        name: err.name,
        isRayTaskError: err instanceof ray.RayTaskError,
        message: err.message,
        functionName: err.functionName,
        causeName: cause?.name,
        causeMessage: cause?.message,
        causeIsTypeError: cause instanceof TypeError,
      };
    }
  },

  async nested() {
    const sumOfSquares = ray.remote(async (n: number) => {
      const square = ray.remote((x: number) => x * x);
      const refs = Array.from({ length: n }, (_, i) => square.remote(i + 1));
      const values = await ray.get(refs);
      return { total: values.reduce((a, b) => a + b, 0), nodeId: ray.getRuntimeContext().nodeId };
    });
    return ray.get(sumOfSquares.remote(6), { timeout: GET_TIMEOUT });
  },

  async nodeIds() {
    const where = ray.remote(() => {
      const c = ray.getRuntimeContext();
      return { nodeId: c.nodeId, taskId: c.taskId, jobId: c.jobId };
    });
    const driver = ray.getRuntimeContext();
    const inTask = await ray.get(where.remote(), { timeout: GET_TIMEOUT });
    return { driver: { nodeId: driver.nodeId, jobId: driver.jobId }, inTask };
  },

  /** A 64 MiB Float64Array made by a task on one worker, read by a task on the other and by the page. */
  async bigObject() {
    const [a, b] = (await ray.nodes()).filter((n) => n.kind === 'task' && n.alive).map((n) => n.nodeId);
    const make = ray.remote((n: number) => {
      const arr = new Float64Array(n);
      for (let i = 0; i < n; i++) arr[i] = i % 1000;
      return arr;
    }).options({ schedulingStrategy: { nodeId: a!, soft: false } });
    const read = ray.remote((arr: Float64Array) => {
      let sum = 0;
      for (let i = 0; i < arr.length; i++) sum += arr[i]!;
      const shared = typeof SharedArrayBuffer === 'function' && arr.buffer instanceof SharedArrayBuffer;
      return { sum, length: arr.length, shared, nodeId: ray.getRuntimeContext().nodeId };
    }).options({ schedulingStrategy: { nodeId: b!, soft: false } });
    const ref = make.remote(8 * 1024 * 1024);
    const reader = await ray.get(read.remote(ref), { timeout: GET_TIMEOUT });
    const arr = await ray.get(ref, { timeout: GET_TIMEOUT });
    const store = await ray.state.objectStore();
    return {
      maker: a, reader,
      page: { shared: typeof SharedArrayBuffer === 'function' && arr.buffer instanceof SharedArrayBuffer, length: arr.length, sample: [arr[0], arr[999], arr[1000], arr[arr.length - 1]] },
      location: (await ray.state.listObjects()).find((o) => o.objectId === ref.id)?.location,
      storeObjects: store.objects,
    };
  },

  /** Float16Array (Chromium has it, Node 20 does not) through the shared store and back. */
  async float16() {
    const F16 = (globalThis as unknown as { Float16Array: new (n: number) => ArrayBufferView & ArrayLike<number> & { [i: number]: number } }).Float16Array;
    const a = new F16(200 * 1024);
    a[0] = 0.5;
    a[1] = -2;
    const back = await ray.get(ray.put({ a }), { timeout: GET_TIMEOUT });
    return { kind: back.a.constructor.name, shared: back.a.buffer instanceof SharedArrayBuffer, values: [back.a[0], back.a[1], back.a[2]], length: back.a.length };
  },

  /** A small store spills to the browser's IndexedDB and brings objects back; then the default store again. */
  async spill() {
    await ray.shutdown();
    await ray.init({ numWorkers: 2, objectStoreMemory: 2 * 1024 * 1024, objectStoreMaxMemory: 8 * 1024 * 1024 });
    try {
      const make = ray.remote((k: number) => Int32Array.from({ length: 256 * 1024 }, (_, i) => i * 3 + k));
      const refs = Array.from({ length: 12 }, (_, k) => make.remote(k)); // 12 MiB in an 8 MiB store
      await ray.wait(refs, { numReturns: refs.length, timeout: GET_TIMEOUT });
      const mid = await ray.state.objectStore();
      const databases = (await indexedDB.databases()).map((d) => d.name ?? '');
      const intact: boolean[] = [];
      for (const [k, ref] of refs.entries()) {
        const a = await ray.get(ref, { timeout: GET_TIMEOUT });
        intact.push(a.every((x, i) => x === i * 3 + k));
        ray.release(a);
      }
      const end = await ray.state.objectStore();
      return { spilled: mid.spilled, restored: end.restored, intact, spillDatabase: databases.some((n) => n.startsWith('webray-spill-')) };
    } finally {
      await ray.shutdown();
      await ray.init({ numWorkers: 2 });
    }
  },

  /** A task that closes its own worker on its first attempt: no event reaches the page. */
  async killedWorker() {
    const before = (await ray.nodes()).filter((n) => n.kind === 'task').map((n) => ({ nodeId: n.nodeId, alive: n.alive }));
    const closeOnce = ray.remote(async (x: number) => {
      const c = ray.getRuntimeContext();
      if (c.attempt === 0) {
        (self as unknown as { close(): void }).close();
        // Never answer from the closing worker: only its death can end this attempt.
        await new Promise(() => undefined);
      }
      return { value: x * 2, attempt: c.attempt, nodeId: c.nodeId };
    });
    const started = performance.now();
    const result = await ray.get(closeOnce.remote(21), { timeout: GET_TIMEOUT });
    const ms = Math.round(performance.now() - started);
    const after = (await ray.nodes()).filter((n) => n.kind === 'task').map((n) => ({ nodeId: n.nodeId, alive: n.alive }));
    // The cluster is usable afterwards.
    const square = ray.remote((x: number) => x * x);
    const afterwards = await ray.get([square.remote(3), square.remote(4)], { timeout: GET_TIMEOUT });
    return { result, ms, before, after, afterwards };
  },
};

declare global {
  interface Window {
    webrayTests: typeof webrayTests;
    webrayReady: Promise<void>;
    webrayStatus: 'loading' | 'ready' | 'failed';
    webrayError?: string;
  }
}

window.webrayTests = webrayTests;
window.webrayStatus = 'loading';
const status = document.getElementById('status')!;
window.webrayReady = ray.init({ numWorkers: 2 }).then(
  () => {
    window.webrayStatus = 'ready';
    status.textContent = 'ready';
  },
  (e: unknown) => {
    window.webrayStatus = 'failed';
    window.webrayError = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e);
    status.textContent = `init failed: ${window.webrayError}`;
  },
);
