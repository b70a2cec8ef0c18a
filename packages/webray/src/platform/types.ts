/**
 * The platform layer: the only code that knows whether it runs in Node (worker_threads) or a
 * browser (Web Workers). Everything above talks to an `Endpoint` and a `NodeProcess`.
 */
import type { StoreBoot } from '../shared/protocol.js';

/**
 * What moves to the receiver with a message (ArrayBuffers, MessagePorts). Typed structurally, as
 * is `control` below, so the published declarations need neither DOM nor Node typings.
 */
export type Transfer = object;

/** One end of a message channel: a MessagePort, a Worker, or an in-memory pair in tests. */
export interface Endpoint {
  send(message: unknown, transfer?: Transfer[]): void;
  /** Sets the single receiver of incoming messages. */
  listen(receiver: (message: unknown) => void): void;
  close(): void;
  /** Takes the next message synchronously, if the platform can (Node); used to spin briefly instead of sleeping. */
  poll?(): unknown | undefined;
}

/** A worker the host started: its message endpoint, a control port for comlink, and its death. */
export interface NodeProcess {
  readonly endpoint: Endpoint;
  /** A second channel for control RPC (comlink): stats, gc. A MessagePort. */
  readonly control: object;
  /** Called once when the worker dies for any reason other than `terminate()`. */
  onExit(listener: (reason: string) => void): void;
  terminate(): Promise<void>;
}

/** Where objects go when the store runs short (IndexedDB in browsers): bytes must not be shared memory. */
export interface SpillTarget {
  readonly kind: string;
  write(id: string, bytes: Uint8Array): Promise<void>;
  read(id: string): Promise<Uint8Array | undefined>;
  remove(id: string): Promise<void>;
  /** Removes everything this host spilled (at shutdown). */
  clear(): Promise<void>;
}

/**
 * Limits of a worker's JavaScript engine, in MB: Node's worker_threads `resourceLimits`. A worker
 * that reaches `maxOldGenerationSizeMb` dies as out of memory and its tasks are retried.
 */
export interface WorkerResourceLimits {
  /** The main heap: where a task's long-lived objects live. */
  maxOldGenerationSizeMb?: number;
  /** The heap for new objects. */
  maxYoungGenerationSizeMb?: number;
  /** Compiled code. */
  codeRangeSizeMb?: number;
  /** The thread's stack. */
  stackSizeMb?: number;
}

export const workerResourceLimitKeys = [
  'maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb',
] as const satisfies readonly (keyof WorkerResourceLimits)[];

export interface NodeBootData {
  nodeId: string;
  hostId: string;
  jobId: string;
  namespace: string;
  kind: 'task' | 'actor';
  apiNames: string[];
  /** The host's object store (module + shared memory), when this host has one. */
  store?: StoreBoot;
}

/** Clocks for liveness (heartbeats), which must keep ticking in a hidden tab. */
export interface Timers {
  now(): number;
  /** Runs `run` every `ms` until the returned function is called. */
  every(ms: number, run: () => void): () => void;
}

/** Where a head keeps the cluster's tables across a restart (platform/tables-store.ts, file-tables.ts). */
export interface TablesStore {
  /** Said in errors: the file or database key. */
  readonly where: string;
  load(): Promise<unknown>;
  save(tables: unknown): Promise<void>;
}

export interface Platform {
  readonly name: 'node' | 'browser';
  /** Logical CPUs, the default for numWorkers. */
  readonly cpuCount: number;
  /** The host's name when init gives none: in a tab `tab <first 4 of its id>`, in Node the machine's name and the pid. */
  defaultHostName(hostId: string): string;
  /**
   * The JavaScript engine's family ('v8', 'spidermonkey', 'javascriptcore', else 'unknown'): hosts of
   * one family compute Math functions alike (verify.sameEngine).
   */
  readonly engine: string;
  /** Starts a worker; `limits` only where workers can have them (Node). */
  spawn(boot: NodeBootData, limits?: WorkerResourceLimits): NodeProcess;
  /** Where this host spills objects, namespaced by host id (same-origin tabs share one database). */
  spillTarget(hostId: string): SpillTarget;
  /** Where the head keeps cluster `cluster`'s tables: in a tab, IndexedDB; in Node, a file in `stateDir` if given. */
  tablesStore(cluster: string, stateDir: string | undefined): TablesStore | undefined;
  /** Timers for heartbeats and failure detection. */
  readonly timers: Timers;
  /**
   * Node: keeps the process running until the returned release is called. Idle workers and their
   * ports do not (a script that never calls shutdown() still exits, as Ray's driver does); the
   * host holds the process while tasks, actor calls or waits are pending. Absent in browsers.
   */
  holdProcess?(): () => void;
  /**
   * Calls `done` once the script has ended: in Node, once the process is held by nothing but what
   * the platform cannot see (WebRTC connections); in a browser, when the page goes away
   * (`pagehide`; `atOnce`: nothing after that task may run, so shutdown may wait for no answer).
   * Returns a function that stops watching.
   */
  whenScriptDone?(done: (atOnce: boolean) => void): () => void;
  /**
   * Makes what joining a cluster through a signalling server needs available (Node: WebRTC and
   * WebSocket globals); answers RTCPeerConnection settings that implementation needs here.
   */
  prepareSignaling?(): Promise<Record<string, unknown>>;
}
