/**
 * Ids as Ray makes them. A job id per driver run; a task id derived from its parent task's id,
 * the parent's attempt and its submit counter (so a retried parent makes new children and never
 * reads its failed attempt's results); a return's object id is the producing task's id plus the
 * return index, the same on every attempt. Ids are hex strings: cheap to hash into Maps and to
 * send between threads.
 */

export type JobId = string;
export type TaskId = string;
export type ObjectId = string;
export type ActorId = string;
export type NodeId = string;
export type HostId = string;

/** 8 hex digits from a random source: new on every driver run, so reloads never collide. */
export function randomHex(bytes: number): string {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  let s = '';
  for (const b of a) s += b.toString(16).padStart(2, '0');
  return s;
}

export function newJobId(): JobId {
  return randomHex(4);
}

/** Two 32-bit lanes of a string hash (FNV-1a style, two multipliers). */
function lanes(s: string): [number, number] {
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return [h1, h2];
}

function fmix(h: number, k: number): number {
  h ^= h >>> 13; h = Math.imul(h, k); h ^= h >>> 16;
  return h >>> 0;
}

/** Nibble → char code of its hex digit. */
const digit = (n: number): number => n + (n < 10 ? 48 : 87);

/** 16 hex digits of two 32-bit lanes, made as one flat string (cheaper than toString + concat). */
function hex(h1: number, h2: number, prefix = ''): string {
  const a = fmix(h1, 0x85ebca6b);
  const b = fmix(h2, 0xc2b2ae35);
  // An 8-character prefix (a job id) goes into the same call: the id is one flat string, which
  // Map lookups hash without flattening a concatenation first.
  if (prefix.length === 8) {
    return String.fromCharCode(
      prefix.charCodeAt(0), prefix.charCodeAt(1), prefix.charCodeAt(2), prefix.charCodeAt(3),
      prefix.charCodeAt(4), prefix.charCodeAt(5), prefix.charCodeAt(6), prefix.charCodeAt(7),
      digit(a >>> 28), digit((a >>> 24) & 15), digit((a >>> 20) & 15), digit((a >>> 16) & 15),
      digit((a >>> 12) & 15), digit((a >>> 8) & 15), digit((a >>> 4) & 15), digit(a & 15),
      digit(b >>> 28), digit((b >>> 24) & 15), digit((b >>> 20) & 15), digit((b >>> 16) & 15),
      digit((b >>> 12) & 15), digit((b >>> 8) & 15), digit((b >>> 4) & 15), digit(b & 15),
    );
  }
  return prefix + String.fromCharCode(
    digit(a >>> 28), digit((a >>> 24) & 15), digit((a >>> 20) & 15), digit((a >>> 16) & 15),
    digit((a >>> 12) & 15), digit((a >>> 8) & 15), digit((a >>> 4) & 15), digit(a & 15),
    digit(b >>> 28), digit((b >>> 24) & 15), digit((b >>> 20) & 15), digit((b >>> 16) & 15),
    digit((b >>> 12) & 15), digit((b >>> 8) & 15), digit((b >>> 4) & 15), digit(b & 15),
  );
}

/** 64-bit hash of a string, as 16 hex digits. */
function hash64(s: string): string {
  const [h1, h2] = lanes(s);
  return hex(h1, h2);
}

/** A parent submits many children in a row: keep its lanes. */
let lastParent = '';
let lastLanes: [number, number] = [0, 0];

/**
 * `job` + hash of (parent, attempt, counter): the parent's lanes, the attempt hashed in as one
 * more character (attempt 0 adds nothing), then the counter mixed in.
 */
function childHash(parent: string, attempt: number, counter: number, job: string): string {
  if (parent !== lastParent) {
    lastParent = parent;
    lastLanes = lanes(parent);
  }
  let l1 = lastLanes[0];
  let l2 = lastLanes[1];
  if (attempt !== 0) {
    l1 = Math.imul(l1 ^ attempt, 0x01000193);
    l2 = Math.imul(l2 ^ attempt, 0x5bd1e995);
    l2 ^= l2 >>> 15;
  }
  const h1 = Math.imul(l1 ^ counter, 0x01000193) ^ 0x3a;
  const h2 = Math.imul(l2 ^ Math.imul(counter, 0x9e3779b1), 0x5bd1e995);
  return hex(h1, h2 ^ (h2 >>> 15), job);
}

/** The root task of a job: the driver's own "task", parent of everything it submits. */
export function driverTaskId(job: JobId): TaskId {
  return job + '0'.repeat(16);
}

export function jobOf(id: TaskId | ObjectId | ActorId): JobId {
  return id.slice(0, 8);
}

/**
 * The id of the `counter`-th child (task or actor call) that attempt `attempt` of `parent`
 * submits: a retry's counter restarts, its attempt does not, so its children are new.
 */
export function childTaskId(parent: TaskId, attempt: number, counter: number): TaskId {
  return childHash(parent, attempt, counter, parent.slice(0, 8));
}

/**
 * The id of replica `k` of attempt `attempt` of a verified task (host/verification.ts): a task id
 * of its own, so each replica's returns are objects of their own until one result is accepted.
 */
export function replicaTaskId(task: TaskId, attempt: number, k: number): TaskId {
  return childHash(task + 'v', attempt, k, task.slice(0, 8));
}

/** An actor id is derived like a task id (from the creating task and its attempt), with its own tag. */
export function actorIdFor(parent: TaskId, attempt: number, counter: number): ActorId {
  return childHash(parent + 'a', attempt, counter, parent.slice(0, 8));
}

/** Object id of return `index` (0-based) of a task: the same on every attempt. */
export function returnObjectId(task: TaskId, index: number): ObjectId {
  return task + 'r' + index.toString(16);
}

/**
 * Object id of the n-th `put` made by attempt `attempt` of a task: the task's id on attempt 0; on
 * a retry, a scope derived from it and the attempt stands in for it, so the retry's puts are new
 * and the id still fits the store's 32 characters.
 */
export function putObjectId(task: TaskId, attempt: number, index: number): ObjectId {
  const scope = attempt === 0 ? task : childHash(task + 'p', attempt, 0, task.slice(0, 8));
  return scope + 'p' + index.toString(16);
}

/** Object id of a large argument a task was given by value (put in the store for it, as Ray does). */
export function argObjectId(task: TaskId, index: number): ObjectId {
  return task + 'a' + index.toString(16);
}

/** The task that created an object: its lineage entry (a retried task's put names a scope of that attempt, not the task). */
export function taskOfObject(id: ObjectId): TaskId {
  return id.slice(0, 24);
}

/** Is this object a return value of its task (not a put, not a large argument passed by value)? */
export function isReturnObject(id: ObjectId): boolean {
  return id.charCodeAt(24) === 114; /* 'r' */
}

export function isPutObject(id: ObjectId): boolean {
  return id.charCodeAt(24) === 112; /* 'p' */
}

/** Content-addressed function id: the same code registered twice gets one entry. */
export function functionIdFor(text: string): string {
  return 'f' + hash64(text) + text.length.toString(16);
}
