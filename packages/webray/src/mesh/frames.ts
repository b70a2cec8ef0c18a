/**
 * The host ↔ host wire: every control frame is one member of `Frame`, sent as JSON text; object
 * bytes travel as binary chunk frames. Everything from the mesh is untrusted: `parseFrame` checks
 * type, fields, sizes and ids before anything uses a frame, and says why it refused one.
 */

/** A host as the cluster knows it. */
export interface HostInfo {
  hostId: string;
  /** CPU and custom resources it offers. */
  resources: Record<string, number>;
  /** Its task nodes (workers), addressable with { nodeId } scheduling. */
  nodes: string[];
  /** Its name for people (shared/host-name.ts). */
  hostName?: string;
  /** Its JavaScript engine's family (platform/engine.ts); said by the host itself. */
  engine?: string;
}

/** A value as it crosses hosts: the object store's value codec, base64. */
export type WireValue = string;

export type Frame =
  // authentication (challenge–response on the join token; see auth.ts)
  | { t: 'hello'; cluster: string; host: string; nonce: string }
  | { t: 'challenge'; host: string; nonce: string; mac: string }
  | { t: 'answer'; mac: string }
  | { t: 'welcome' }
  | { t: 'refused'; reason: string }
  // membership
  | { t: 'hb'; seq: number }
  /** The sender is leaving (shutdown, its tab closing): drop it now rather than after its silence. */
  | { t: 'bye' }
  /**
   * The sender replaced this link to you with a newer one: nothing more comes on this one.
   * `got`: it has your 'moved' too (then both sides' frames on it have arrived, and it closes).
   */
  | { t: 'moved'; got: boolean }
  /** Before registering with the host on `<cluster>-head`: prove you hold a head credential (sign this nonce). */
  | { t: 'head-proof-req'; nonce: string }
  | { t: 'head-proof'; sig: string }
  | { t: 'register'; host: HostInfo; epoch: number }
  /** Between two heads (one came back after the other took over): the one with the earlier epoch steps down. */
  | { t: 'head-epoch'; epoch: number }
  // after 'register', the member's part of the head's tables, then this: it is fully back
  | { t: 'synced' }
  /** `standby`: the credentialed host that holds a copy of the head's tables and claims the head id first when the head leaves. */
  | { t: 'members'; epoch: number; head: string; hosts: HostInfo[]; standby?: string }
  // the head's tables, replicated to its standby (GcsChange[] in the value codec), and its acknowledgement
  | { t: 'replica'; seq: number; changes: WireValue }
  | { t: 'replica-ack'; seq: number }
  // work: a function entry signed by the submitter key, a task to run here, its result
  | { t: 'fn'; d: FunctionDescriptor; sig: string }
  | { t: 'task'; id: string; fn: string; name: string; args: WireValue; nret: number; attempt: number; demand: Record<string, number>; node?: string; soft?: boolean; spread?: boolean; actor?: string; method?: string; refs?: ArgRef[]; verified?: boolean; parent?: string }
  | { t: 'done'; id: string; attempt: number; values?: WireValue; remote?: { i: number; size: number }[]; error?: SerializedError; start: number; end: number }
  // bottom-up scheduling: hosts report their load to the head, which places the tasks they spill
  // ('' in `placed`: the asking host itself, or no host can run it)
  | { t: 'load'; free: Record<string, number>; queued: number }
  | { t: 'place'; req: number; tasks: { demand: Record<string, number>; args: { host: string; bytes: number }[] }[] }
  | { t: 'placed'; req: number; hosts: string[] }
  | { t: 'avail-req'; req: number }
  | { t: 'avail'; req: number; free: Record<string, number> }
  // a paused host (ray.pause(): a volunteer lending its tab no more for now) takes no new work:
  // it tells every member, and hands back the tasks sent to it that it did not start, unrun
  | { t: 'pause'; on: boolean }
  | { t: 'handback'; id: string; attempt: number }
  /** The owner cancelled a task it sent here (ray.cancel): as a cancel of a task submitted here. */
  | { t: 'cancel'; id: string; attempt: number; force: boolean; recursive: boolean }
  // a host leaving gracefully asks each owner to take the objects it keeps for it (pull, then free)
  | { t: 'take'; ids: string[] }
  // objects: a pull of an object's bytes (answered on the bulk channel: see host/object-pulls.ts, or
  // with `pulled` when it cannot be sent), and the owner's free
  | { t: 'pull'; req: number; id: string }
  | { t: 'pulled'; req: number; error: string }
  | { t: 'free'; ids: string[] }
  // named actors: the head keeps the cluster's table; hosts register theirs and look others up
  // ('actor-name' is answered with 'named', which names the holder when the name was taken; a
  // host resending its names to a new head asks with req 0 and gets no answer)
  | { t: 'actor-name'; req: number; namespace: string; name: string; actor: NamedActor }
  | { t: 'named'; req: number; holder?: NamedActor }
  | { t: 'actor-unname'; namespace: string; name: string; actorId: string }
  | { t: 'lookup'; req: number; namespace: string; name: string }
  | { t: 'found'; req: number; actor?: NamedActor }
  // actors created on another host (placed by their resources or strategy), and their end
  | { t: 'actor-create'; id: string; actor: string; fn: string; args: WireValue; methods: string[]; asyncMethods: string[]; options: Record<string, unknown>; /** A restart: why its earlier instances died. */ deaths?: string[]; /** A restart from the owner's checkpoint: its state and the calls to replay after it. */ restore?: ActorRestore }
  | { t: 'actor-kill'; actor: string; noRestart: boolean }
  /**
   * To an actor's owner, from its host, for an actor with checkpointEvery: a call it sent to the
   * actor (`method`, `args`), the checkpoint taken after call `seq` (`state`), or, with neither, a
   * call whose arguments cannot cross hosts (the owner's log of it is incomplete from then on).
   */
  | { t: 'actor-log'; actor: string; seq: number; method?: string; args?: WireValue; state?: WireValue }
  // the head's function and job tables
  | { t: 'fn-get'; id: string }
  // ('job' with a request id is acknowledged with 'job-ack' once the head's standby holds it; a
  // host resending its job to a new head sends no id and gets no answer)
  | { t: 'job'; jobId: string; state: 'RUNNING' | 'FINISHED'; at?: number; req?: number }
  | { t: 'job-ack'; req: number }
  | { t: 'jobs-req'; req: number }
  | { t: 'jobs'; req: number; jobs: WireValue }
  // the state API, cluster-wide: each host answers for what it knows
  | { t: 'state-req'; req: number; query: 'tasks' | 'actors'; filters?: Record<string, unknown>; limit?: number }
  | { t: 'state-resp'; req: number; rows: WireValue };

/** Argument `i` of a task is object `id`, `size` bytes in the store of host `host` (the target pulls it unless it is there). */
export interface ArgRef {
  i: number;
  id: string;
  host: string;
  size: number;
}

/** What an actor's owner keeps of it off its host: the last checkpoint's state and the calls after it, in the order the actor ran them. */
export interface ActorRestore {
  state?: WireValue;
  calls: { method: string; args: WireValue }[];
}

/** A named actor as the cluster's table holds it: where it lives and what a handle needs. */
export interface NamedActor {
  actorId: string;
  hostId: string;
  className: string;
  methods: string[];
  asyncMethods: string[];
  /** How many times it was restarted on another host (0 for the first): a registration never replaces a later incarnation's. */
  incarnation?: number;
}

/** A binary chunk: [u32 1][u32 req][u32 offset][u32 0] then its bytes. */
export const CHUNK_HEADER = 16;
/** 64 KiB messages: every WebRTC stack here takes them (Chromium's SCTP allows 256 KiB, not all polyfills do). */
export const MAX_CHUNK = 64 * 1024 - CHUNK_HEADER;

export type FrameType = Frame['t'];

import type { SerializedError } from '../shared/errors.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import { isHostName } from '../shared/host-name.js';

/** Control frames larger than this are refused before parsing. */
export const MAX_FRAME_CHARS = 1 << 20;

type Check = (v: unknown) => boolean;
const ID = /^[A-Za-z0-9._:-]{1,64}$/;
const HEX = /^[0-9a-f]{16,128}$/;
const id: Check = (v) => typeof v === 'string' && ID.test(v);
/** Object ids are keys of the store: at most 32 characters (store/wasm-store.ts MAX_ID_LENGTH). */
const objectId: Check = (v) => id(v) && (v as string).length <= 32;
const hex: Check = (v) => typeof v === 'string' && HEX.test(v);
const text = (max: number): Check => (v) => typeof v === 'string' && v.length <= max;
const count: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const bool: Check = (v) => typeof v === 'boolean';
const amount: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const list = (each: Check, max: number): Check => (v) => Array.isArray(v) && v.length <= max && v.every(each);
/** A key of a plain object the runtime reads as `o[k] ?? 0`: not one Object.prototype answers (`constructor`, `toString`, `__proto__`). */
const key = (k: string) => ID.test(k) && !(k in Object.prototype);
const record = (each: Check, max: number): Check => (v) =>
  isPlain(v) && Object.keys(v).length <= max && Object.keys(v).every(key) && Object.values(v).every(each);
const shape = (fields: Record<string, Check>): Check => (v) =>
  isPlain(v) && Object.entries(fields).every(([k, c]) => c((v as Record<string, unknown>)[k]));

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const wire: Check = (v) => typeof v === 'string' && v.length <= MAX_FRAME_CHARS && B64.test(v);
const opt = (c: Check): Check => (v) => v === undefined || c(v);
const isEngine: Check = (v) => typeof v === 'string' && /^[a-z0-9-]{1,32}$/.test(v);
/**
 * A source function's free names and what each is bound to (shared/source.ts). Remote functions
 * and actor classes named in `uses` carry their own descriptors: nesting is bounded, so the
 * signature check (which serialises them) never recurses into a depth the sender chose.
 */
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]{0,199}$/;
const MAX_USES_DEPTH = 8;
const usedOptions: Check = (v) => isPlain(v) && Object.keys(v).length <= 16;
const binding = (depth: number): Check => (v) =>
  v === 'ray' || v === 'name-helper' || v === 'coverage' || v === 'self' ||
  (isPlain(v) && Object.keys(v).length === 1 && text(200)(v.api)) ||
  (depth > 0 && isPlain(v) && Object.keys(v).length === 2 && usedOptions(v.options) && descriptorAt(depth - 1)(v.fn)) ||
  (depth > 0 && isPlain(v) && Object.keys(v).length === 5 && usedOptions(v.options) && descriptorAt(depth - 1)(v.actor) &&
    text(200)(v.className) && list(text(200), 1000)(v.methods) && list(text(200), 1000)(v.asyncMethods));
const bindings = (depth: number): Check => (v) => isPlain(v) && Object.keys(v).length <= 256 && Object.entries(v).every(([k, b]) => IDENT.test(k) && binding(depth)(b));
const descriptorAt = (depth: number): Check => (v) =>
  isPlain(v) && id(v.id) && text(200)(v.name) && (
    (v.kind === 'source' && text(512 * 1024)(v.source) && bindings(depth)(v.bindings)) ||
    (v.kind === 'module' && text(2000)(v.url) && text(200)(v.exportName))
  );
const descriptor: Check = descriptorAt(MAX_USES_DEPTH);
const error: Check = (v) => isPlain(v) && text(200)(v.name) && text(100_000)(v.message) && opt(text(100_000))(v.stack);

const namedActor = shape({ actorId: id, hostId: id, className: text(200), methods: list(text(200), 1000), asyncMethods: list(text(200), 1000), incarnation: opt(count) });

const hostInfo = shape({ hostId: id, resources: record(amount, 64), nodes: list(id, 1024), hostName: opt(isHostName), engine: opt(isEngine) });

const specs: { [T in FrameType]: Record<string, Check> } = {
  hello: { cluster: id, host: id, nonce: hex },
  challenge: { host: id, nonce: hex, mac: hex },
  answer: { mac: hex },
  welcome: {},
  refused: { reason: text(500) },
  hb: { seq: count },
  bye: {},
  moved: { got: bool },
  'head-proof-req': { nonce: hex },
  'head-proof': { sig: hex },
  register: { host: hostInfo, epoch: count },
  'head-epoch': { epoch: count },
  synced: {},
  members: { epoch: count, head: id, hosts: list(hostInfo, 10_000), standby: opt(id) },
  replica: { seq: count, changes: wire },
  'replica-ack': { seq: count },
  fn: { d: descriptor, sig: hex },
  task: { id, fn: id, name: text(200), args: wire, nret: (v) => count(v) && (v as number) <= 1000, attempt: count, demand: record(amount, 64), node: opt(id), soft: opt(bool), spread: opt(bool), actor: opt(id), method: opt(text(200)), refs: opt(list(shape({ i: count, id: objectId, host: id, size: count }), 1000)), verified: opt(bool), parent: opt(id) },
  done: { id, attempt: count, values: opt(wire), remote: opt(list(shape({ i: count, size: count }), 1000)), error: opt(error), start: amount, end: amount },
  load: { free: record(amount, 64), queued: count },
  place: { req: count, tasks: list(shape({ demand: record(amount, 64), args: list(shape({ host: id, bytes: count }), 64) }), 10_000) },
  placed: { req: count, hosts: list((v) => v === '' || id(v), 10_000) },
  'avail-req': { req: count },
  avail: { req: count, free: record(amount, 64) },
  pause: { on: bool },
  handback: { id, attempt: count },
  cancel: { id, attempt: count, force: bool, recursive: bool },
  take: { ids: list(objectId, 10_000) },
  pull: { req: count, id },
  pulled: { req: count, error: text(1000) },
  free: { ids: list(id, 10_000) },
  'actor-name': { req: count, namespace: text(200), name: text(200), actor: namedActor },
  named: { req: count, holder: opt(namedActor) },
  'actor-unname': { namespace: text(200), name: text(200), actorId: id },
  lookup: { req: count, namespace: text(200), name: text(200) },
  found: { req: count, actor: opt(namedActor) },
  'actor-create': { id, actor: id, fn: id, args: wire, methods: list(text(200), 1000), asyncMethods: list(text(200), 1000), options: usedOptions, deaths: opt(list(text(2000), 10_000)), restore: opt(shape({ state: opt(wire), calls: list(shape({ method: text(200), args: wire }), 100_000) })) },
  'actor-kill': { actor: id, noRestart: bool },
  'actor-log': { actor: id, seq: count, method: opt(text(200)), args: opt(wire), state: opt(wire) },
  'fn-get': { id },
  job: { jobId: id, state: (v) => v === 'RUNNING' || v === 'FINISHED', at: opt(amount), req: opt(count) },
  'job-ack': { req: count },
  'jobs-req': { req: count },
  jobs: { req: count, jobs: wire },
  'state-req': { req: count, query: (v) => v === 'tasks' || v === 'actors', filters: opt((v) => isPlain(v) && Object.keys(v).length <= 32), limit: opt(count) },
  'state-resp': { req: count, rows: wire },
};

export type Parsed = { ok: true; frame: Frame } | { ok: false; why: string };

/** Validates one control frame's text. Unknown fields are ignored; missing or wrong ones refuse it. */
export function parseFrame(text: string): Parsed {
  if (text.length > MAX_FRAME_CHARS) return { ok: false, why: `frame of ${text.length} characters (the limit is ${MAX_FRAME_CHARS})` };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, why: 'not JSON' };
  }
  if (!isPlain(v) || typeof v.t !== 'string' || !Object.prototype.hasOwnProperty.call(specs, v.t)) {
    return { ok: false, why: `unknown frame type ${isPlain(v) ? JSON.stringify(v.t)?.slice(0, 40) : typeof v}` };
  }
  const spec = specs[v.t as FrameType];
  for (const [k, check] of Object.entries(spec)) {
    if (!check(v[k])) return { ok: false, why: `'${v.t}' frame with a bad '${k}'` };
  }
  return { ok: true, frame: v as unknown as Frame };
}

export function frameText(f: Frame): string {
  return JSON.stringify(f);
}
