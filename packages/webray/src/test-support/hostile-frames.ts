/**
 * Hostile traffic for fuzzing a host: random, truncated, oversized and wrongly typed frames, and
 * well-formed ones with hostile intent. Each shot says by construction what the host must do
 * with it, so a test can check the host's drop count against what was sent.
 */
import { toWire } from '../host/cluster-host.js';
import { CHUNK_HEADER, MAX_CHUNK, MAX_FRAME_CHARS, type Frame, type FrameType } from '../mesh/frames.js';

export type Lane = 'main' | 'heartbeat' | 'bulk';

/**
 * What the host must do with a shot: `malformed` fails validation and `refused` is well-formed
 * but not acceptable from this sender or on this lane (both dropped and counted, once each);
 * `hostile` is well-formed and may be answered, ignored or counted.
 */
export type Verdict = 'malformed' | 'refused' | 'hostile';

export interface Shot {
  lane: Lane;
  data: string | Uint8Array;
  kind: string;
  verdict: Verdict;
  /** A task to send right after (on 'main'), running the function this shot's entry offered. */
  then?: { id: string; text: string };
}

export interface Target {
  /** The attacker's own host id, as it authenticated. */
  attacker: string;
  /** The victim's id and whether it is the head. */
  victim: string;
  victimIsHead: boolean;
  /** Ids the attacker can find out: a real function of the cluster, the driver's task and object ids. */
  knownFnId: string;
  taskIds: string[];
  objectIds: string[];
  /** Function entries nobody signed, to push with bad signatures. */
  unsigned: { d: Extract<Frame, { t: 'fn' }>['d']; replayedSig: string }[];
}

type Rand = () => number;

const TYPES: FrameType[] = [
  'hello', 'challenge', 'answer', 'welcome', 'refused', 'hb', 'register', 'members', 'fn', 'task', 'done',
  'pull', 'pulled', 'free', 'actor-name', 'lookup', 'found', 'actor-create', 'actor-kill', 'actor-log', 'fn-get', 'job',
  'jobs-req', 'jobs', 'state-req', 'state-resp', 'load', 'place', 'placed', 'avail-req', 'avail', 'pause', 'handback', 'take',
];

/** Fields that must be ids (1–64 of [A-Za-z0-9._:-]), per frame type. */
const ID_FIELDS: Partial<Record<FrameType, string[]>> = {
  hello: ['cluster', 'host'], challenge: ['host'], task: ['id', 'fn'], done: ['id'], handback: ['id'], pull: ['id'], 'fn-get': ['id'],
  job: ['jobId'], 'actor-create': ['id', 'actor', 'fn'], 'actor-kill': ['actor'], 'actor-log': ['actor'],
};

const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;
const hex = (r: Rand, bytes: number) => Array.from({ length: bytes }, () => int(r, 256).toString(16).padStart(2, '0')).join('');
const idOf = (r: Rand) => hex(r, 1 + int(r, 12));
const b64 = (r: Rand, bytes: number) => btoa(String.fromCharCode(...Array.from({ length: bytes }, () => int(r, 256))));

function randomString(r: Rand, max: number): string {
  const n = int(r, max);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(r() < 0.8 ? 32 + int(r, 95) : int(r, 0x10000));
  return s;
}

/** Any JSON value, up to `depth` levels of arrays and objects. */
function randomJson(r: Rand, depth: number): unknown {
  const k = depth <= 0 ? int(r, 4) : int(r, 6);
  switch (k) {
    case 0: return pick(r, [null, true, false]);
    case 1: return pick(r, [0, -1, 1.5, 2 ** 53, -(2 ** 60), 1e308, int(r, 1000)]);
    case 2: return randomString(r, 40);
    case 3: return pick(r, ['', '__proto__', 'constructor', 'x'.repeat(int(r, 300))]);
    case 4: return Array.from({ length: int(r, 5) }, () => randomJson(r, depth - 1));
    default: return Object.fromEntries(Array.from({ length: int(r, 5) }, () => [randomString(r, 10), randomJson(r, depth - 1)]));
  }
}

/** A well-formed frame of type `t` with only its required fields. */
function validFrame(r: Rand, t: FrameType, g: Target): Frame {
  const host = { hostId: idOf(r), resources: { CPU: int(r, 8) }, nodes: [idOf(r)], hostName: `tab ${int(r, 100)}` };
  const named = { actorId: idOf(r), hostId: g.attacker, className: 'C', methods: ['m'], asyncMethods: [] };
  switch (t) {
    case 'hello': return { t, cluster: idOf(r), host: idOf(r), nonce: hex(r, 32) };
    case 'challenge': return { t, host: idOf(r), nonce: hex(r, 32), mac: hex(r, 32) };
    case 'answer': return { t, mac: hex(r, 32) };
    case 'welcome': return { t };
    case 'refused': return { t, reason: randomString(r, 50) };
    case 'hb': return { t, seq: int(r, 1e9) };
    case 'bye': return { t };
    case 'moved': return { t, got: r() < 0.5 };
    case 'head-proof-req': return { t, nonce: hex(r, 32) };
    case 'head-proof': return { t, sig: hex(r, 64) };
    case 'register': return { t, host, epoch: int(r, 1e9) };
    case 'head-epoch': return { t, epoch: int(r, 1e9) };
    case 'synced': return { t };
    case 'replica': return { t, seq: int(r, 100), changes: b64(r, 8) };
    case 'replica-ack': return { t, seq: int(r, 100) };
    case 'members': return { t, epoch: int(r, 1e9), head: idOf(r), hosts: [host] };
    case 'fn': return { t, d: { kind: 'source', id: idOf(r), name: 'f', source: '() => 1', bindings: {} }, sig: hex(r, 64) };
    case 'task': return { t, id: idOf(r), fn: idOf(r), name: 'f', args: b64(r, 8), nret: 1, attempt: 0, demand: { CPU: 1 } };
    case 'done': return { t, id: idOf(r), attempt: 0, start: 0, end: 1 };
    case 'pull': return { t, req: int(r, 100), id: idOf(r) };
    case 'pulled': return { t, req: int(r, 100), error: 'no' };
    case 'free': return { t, ids: [idOf(r)] };
    case 'actor-name': return { t, req: int(r, 100), namespace: 'ns', name: 'n', actor: named };
    case 'named': return { t, req: int(r, 100) };
    case 'actor-unname': return { t, namespace: 'ns', name: 'n', actorId: idOf(r) };
    case 'lookup': return { t, req: int(r, 100), namespace: 'ns', name: 'n' };
    case 'found': return { t, req: int(r, 100) };
    case 'actor-create': return { t, id: idOf(r), actor: idOf(r), fn: idOf(r), args: b64(r, 8), methods: [], asyncMethods: [], options: {} };
    case 'actor-kill': return { t, actor: idOf(r), noRestart: true };
    case 'actor-log': return { t, actor: idOf(r), seq: int(r, 100), method: 'm', args: b64(r, 8) };
    case 'fn-get': return { t, id: idOf(r) };
    case 'job': return { t, jobId: idOf(r), state: 'RUNNING' };
    case 'job-ack': return { t, req: int(r, 100) };
    case 'jobs-req': return { t, req: int(r, 100) };
    case 'jobs': return { t, req: int(r, 100), jobs: b64(r, 8) };
    case 'state-req': return { t, req: int(r, 100), query: 'tasks' };
    case 'state-resp': return { t, req: int(r, 100), rows: b64(r, 8) };
    case 'load': return { t, free: { CPU: int(r, 8) }, queued: int(r, 100) };
    case 'place': return { t, req: int(r, 100), tasks: [{ demand: { CPU: 1 }, args: [{ host: idOf(r), bytes: int(r, 1e9) }] }] };
    case 'placed': return { t, req: int(r, 100), hosts: [idOf(r)] };
    case 'avail-req': return { t, req: int(r, 100) };
    case 'avail': return { t, req: int(r, 100), free: { CPU: int(r, 8) } };
    case 'pause': return { t, on: r() < 0.5 };
    case 'handback': return { t, id: idOf(r), attempt: 0 };
    case 'cancel': return { t, id: idOf(r), attempt: 0, force: r() < 0.5, recursive: r() < 0.5 };
    case 'take': return { t, ids: [idOf(r)] };
  }
}

const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const OTHERS: unknown[] = [null, 7, -1, 'x', true, [], {}, [1, 2], { a: 1 }];

/** A frame made malformed by construction: one field of the wrong JSON type, missing, too long, or not an id. */
function malformedFrame(r: Rand, g: Target): { text: string; kind: string } {
  const t = pick(r, TYPES.filter((x) => x !== 'welcome'));
  const f = validFrame(r, t, g) as unknown as Record<string, unknown>;
  const key = pick(r, Object.keys(f).filter((k) => k !== 't'));
  const ids = ID_FIELDS[t] ?? [];
  switch (int(r, 4)) {
    case 0: {
      // Every check accepts exactly one JSON type (undefined aside), so another type is wrong.
      const was = jsonType(f[key]);
      f[key] = pick(r, OTHERS.filter((v) => jsonType(v) !== was));
      return { text: JSON.stringify(f), kind: `${t}: wrong type` };
    }
    case 1:
      delete f[key];
      return { text: JSON.stringify(f), kind: `${t}: missing field` };
    case 2:
      if (ids.length) {
        f[pick(r, ids)] = 'a'.repeat(65 + int(r, 2000));
        return { text: JSON.stringify(f), kind: `${t}: id too long` };
      }
      f[key] = 'x'.repeat(MAX_FRAME_CHARS);
      return { text: JSON.stringify(f), kind: 'oversized frame' };
    default:
      if (ids.length) {
        f[pick(r, ids)] = pick(r, ['', '../../etc/passwd', 'a b', 'ü', 'a/b', '<script>', 'x\u0000y']);
        return { text: JSON.stringify(f), kind: `${t}: bad id` };
      }
      // Not an id field: the frame type itself is unknown.
      f.t = pick(r, ['', 'TASK', 'task ', 'constructor', '__proto__', 'toString']);
      return { text: JSON.stringify(f), kind: 'unknown type' };
  }
}

/** Binary frames shaped like transfer chunks (or not at all), for transfers that do not exist. */
function chunkBytes(r: Rand): Uint8Array {
  const size = pick(r, [0, 3, CHUNK_HEADER - 1, CHUNK_HEADER, CHUNK_HEADER + int(r, 4096), CHUNK_HEADER + MAX_CHUNK, 4 * MAX_CHUNK]);
  const b = new Uint8Array(size);
  for (let i = 0; i < Math.min(size, 64); i++) b[i] = int(r, 256);
  if (size >= CHUNK_HEADER && r() < 0.7) {
    const h = new DataView(b.buffer);
    h.setUint32(0, pick(r, [1, 2]), true); // a chunk or a start
    h.setUint32(4, int(r, 64), true); // a request id near the ones in use
    h.setUint32(8, pick(r, [0, int(r, 1 << 20), 0xffffffff]), true);
  }
  return b;
}

const text = (lane: Lane, data: string, kind: string, verdict: Verdict): Shot => ({ lane, data, kind, verdict });

/** One random shot at the host in `g`. */
export function shot(r: Rand, g: Target): Shot {
  const frame = (f: Frame) => JSON.stringify(f);
  const k = int(r, 21);
  switch (k) {
    case 0: {
      // Random JSON of random shape: never a frame (no `t` that names one).
      const v = randomJson(r, 4);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) (v as Record<string, unknown>).t = pick(r, [undefined, 5, 'nope', 'hb2']);
      return text('main', JSON.stringify(v), 'random JSON', 'malformed');
    }
    case 1: return text('main', randomString(r, 200) + '{', 'not JSON', 'malformed');
    case 2: {
      const s = frame(validFrame(r, pick(r, TYPES), g));
      return text('main', s.slice(0, 1 + int(r, s.length - 1)), 'truncated', 'malformed');
    }
    case 3: case 4: case 5: {
      const m = malformedFrame(r, g);
      return text(pick(r, ['main', 'main', 'heartbeat', 'bulk']), m.text, m.kind, 'malformed');
    }
    case 6: return { lane: pick(r, ['main', 'heartbeat']), data: chunkBytes(r), kind: 'bytes on a text lane', verdict: 'refused' };
    case 7: return { lane: 'bulk', data: chunkBytes(r), kind: 'chunk for no transfer', verdict: 'refused' };
    case 8: return text('bulk', frame(validFrame(r, pick(r, TYPES), g)), 'frame on the bulk lane', 'refused');
    case 9: return text('heartbeat', frame(validFrame(r, pick(r, TYPES.filter((t) => t !== 'hb')), g)), 'frame on the heartbeat lane', 'refused');
    case 10: return text('main', frame(validFrame(r, pick(r, ['hello', 'challenge', 'answer', 'welcome', 'refused'] as const), g)), 'handshake frame after joining', 'refused');
    case 11: {
      // Membership is the head's to announce: a member registers only itself, and announces nothing.
      const f = r() < 0.5
        ? { t: 'register' as const, host: { hostId: g.victim, resources: { CPU: 64 }, nodes: [] }, epoch: 0 }
        : { t: 'members' as const, epoch: Date.now() + 1e9, head: g.attacker, hosts: [{ hostId: g.attacker, resources: {}, nodes: [] }] };
      return text('main', frame(f), `forged '${f.t}'`, 'refused');
    }
    case 12: {
      // Answers to questions nobody asked the attacker.
      const req = 1 + int(r, 64);
      const f: Frame = pick(r, [
        { t: 'found', req, actor: { actorId: 'forged', hostId: g.attacker, className: 'Forged', methods: ['m'], asyncMethods: [] } },
        { t: 'jobs', req, jobs: b64(r, 8) },
        { t: 'state-resp', req, rows: b64(r, 8) },
        { t: 'pulled', req, error: 'forged' },
      ] as Frame[]);
      return text('main', frame(f), 'answer to no question', 'refused');
    }
    case 13: case 14: {
      // A function entry nobody signed (or signed for other code), then a task that uses it.
      const u = pick(r, g.unsigned);
      const sig = pick(r, [u.replayedSig, hex(r, 64), '00'.repeat(64)]);
      const id = hex(r, 12);
      return { ...text('main', frame({ t: 'fn', d: u.d, sig }), 'unsigned function entry', 'refused'), then: { id, text: taskOf(id, u.d.id) } };
    }
    case 15: {
      // Results for the driver's real task ids: well-formed values, or bytes that do not decode.
      const values = r() < 0.5 ? toWire([666]) : b64(r, 24);
      return text('main', frame({ t: 'done', id: pick(r, g.taskIds), attempt: 0, values, start: 0, end: 1 }), "'done' for a task it never got", 'hostile');
    }
    case 16: return text('main', frame({ t: 'free', ids: Array.from({ length: 1 + int(r, 8) }, () => pick(r, g.objectIds)) }), "'free' of objects held for others", 'hostile');
    case 17: {
      // Signed code with hostile arguments and options: garbage values, absurd demands, nodes elsewhere.
      const args = pick(r, [b64(r, int(r, 64)), 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', toWire([randomJson(r, 3)]), toWire(randomJson(r, 2))]);
      const demand = pick<Record<string, number>>(r, [{ CPU: 1e300 }, { CPU: 0 }, { webgpu: 0.5 }, { gpu: 1 }]);
      const f: Extract<Frame, { t: 'task' }> = { t: 'task', id: idOf(r), fn: g.knownFnId, name: 'hostile', args, nret: int(r, 1001), attempt: int(r, 5), demand };
      if (r() < 0.3) f.node = idOf(r);
      return text('main', frame(f), 'signed function, hostile task', 'hostile');
    }
    case 18: {
      const f: Frame = pick(r, [
        { t: 'pull', req: int(r, 64), id: pick(r, g.objectIds) },
        { t: 'actor-kill', actor: idOf(r), noRestart: r() < 0.5 },
        { t: 'fn-get', id: idOf(r) },
        { t: 'state-req', req: int(r, 1e6), query: 'tasks', filters: { state: 'RUNNING' } },
        { t: 'jobs-req', req: int(r, 1e6) },
        { t: 'hb', seq: int(r, 1e9) },
        // A hand-back of the driver's real tasks, none of which the attacker was sent.
        { t: 'handback', id: pick(r, g.taskIds), attempt: 0 },
        // Objects of the driver it claims to hold for it: the driver pulls only what it recorded there.
        { t: 'take', ids: Array.from({ length: 1 + int(r, 8) }, () => pick(r, g.objectIds)) },
      ] as Frame[]);
      return text('main', frame(f), `stray '${f.t}'`, 'hostile');
    }
    case 19: {
      // Resource names Object.prototype answers for (`o[k] ?? 0` would read a function), as JSON
      // text: a `__proto__` key must arrive as a key, not as an object literal's prototype.
      const names = `{"${pick(r, ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])}":1}`;
      if (r() < 0.3) {
        // A host name people would be misled or flooded by: control and bidirectional-override characters, too long, empty, padded.
        const hostName = pick(r, ['tab\u0000 1', 'tab \u202Egnp.exe', 'x'.repeat(65), '', ' tab 1', 'tab\n1', '\uDC00']);
        return text('main', `{"t":"register","host":{"hostId":"${g.attacker}","resources":{},"nodes":[],"hostName":${JSON.stringify(hostName)}},"epoch":0}`, 'register: hostile host name', 'malformed');
      }
      return r() < 0.5
        ? text('main', `{"t":"register","host":{"hostId":"${g.attacker}","resources":${names},"nodes":[]}}`, 'register: inherited resource name', 'malformed')
        : text('main', `{"t":"task","id":"${hex(r, 12)}","fn":"${g.knownFnId}","name":"f","args":"${toWire([1])}","nret":1,"attempt":0,"demand":${names}}`, 'task: inherited resource name', 'malformed');
    }
    default: {
      // Frames only the head takes: refused elsewhere.
      const f: Frame = pick(r, [{ t: 'lookup', req: int(r, 1e6), namespace: 'ns', name: randomString(r, 20) }, { t: 'job', jobId: idOf(r), state: 'FINISHED' }] as Frame[]);
      return text('main', frame(f), `'${f.t}' to ${g.victimIsHead ? 'the head' : 'a member'}`, g.victimIsHead ? 'hostile' : 'refused');
    }
  }
}

/** A 'task' frame running `fnId` on 7 (after an unsigned entry): it must come back as an error, or as the signed function's result. */
function taskOf(id: string, fnId: string): string {
  return JSON.stringify({ t: 'task', id, fn: fnId, name: 'unsigned', args: toWire([7]), nret: 1, attempt: 0, demand: { CPU: 1 } } satisfies Frame);
}
