// Hostile input: an attacker on the same (in-memory) mesh as a real cluster — a driver's host A
// with the submitter key and a serving host B (the head) with a resource only it has, both with
// real workers — first tries to join without the token, then joins with it and sends thousands of
// random, truncated, oversized and ill-meant frames on every lane of its links to both hosts,
// while the driver keeps working. Seeded: WEBRAY_FUZZ_SEED=<n> replays another run.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromWire, toWire } from '../host/cluster-host.js';
import type { HostRuntime } from '../host/runtime.js';
import { hostPeerId } from '../mesh/cluster.js';
import type { Frame } from '../mesh/frames.js';
import type { LinkData } from '../mesh/link.js';
import { MemorySignaling } from '../mesh/signaling.js';
import { childTaskId, driverTaskId, returnObjectId } from '../shared/ids.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import { shot, type Shot, type Target, type Verdict } from '../test-support/hostile-frames.js';
import { HostilePeer } from '../test-support/hostile-peer.js';
import { prng } from '../shared/prng.js';
import * as ray from '../index.js';
import { currentCore } from './core.js';
import { startServingHost } from './index.js';

const SEED = Number(process.env.WEBRAY_FUZZ_SEED ?? 0x5eed);
/** Shots per host, sent in rounds so the hosts' own work interleaves with them. */
const SHOTS = 2000;
const ROUND = 100;

let a: HostRuntime;
let b: HostRuntime;
let base: Omit<ray.ClusterConfig, 'submitterKey'>;
let signaling: MemorySignaling;
/** What A sent on the link it opened to join (hello, answer), as an eavesdropper records it. */
const eavesdropped: LinkData[] = [];
/** Where unsigned code, if it ever ran, would leave a file. */
const marks = mkdtempSync(join(tmpdir(), 'webray-hostile-'));
const errors: unknown[] = [];
const collect = (e: unknown) => errors.push(e);

const macrotask = () => new Promise((r) => setTimeout(r, 0));
/** Lets frames and heartbeats run until `cond` holds (bounded). */
async function until(cond: () => Promise<boolean> | boolean, rounds = 2000): Promise<void> {
  for (let i = 0; i < rounds && !(await cond()); i++) await macrotask();
  expect(await cond()).toBe(true);
}

const square = ray.remote((x: number) => x * x);
const onB = square.options({ resources: { webgpu: 0.01 } });

beforeAll(async () => {
  process.on('unhandledRejection', collect);
  process.on('uncaughtException', collect);
  const keys = await ray.generateSubmitterKey();
  // The first host holds the operator key: it may be head (a host with only the join token may not).
  const operator = await ray.generateSubmitterKey();
  signaling = new MemorySignaling();
  base = { id: 'fuzzed', token: 'join-secret', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signaling, heartbeatMs: 100, deadAfterMs: 30_000 };
  b = await startServingHost({ numWorkers: 2, resources: { webgpu: 1 }, cluster: { ...base, operatorKey: operator.privateKey } });
  const connect = signaling.connect.bind(signaling);
  signaling.connect = async (id) => {
    const link = await connect(id);
    const send = link.send.bind(link);
    link.send = (d) => { eavesdropped.push(d); send(d); };
    return link;
  };
  await ray.init({ numWorkers: 1, cluster: { ...base, submitterKey: keys.privateKey } });
  signaling.connect = connect;
  a = currentCore() as HostRuntime;
  await until(() => a.cluster!.member.linked(b.hostId) && b.cluster!.member.hosts().length === 2);
  // The function the attacker will know of: shipped to B (and so in the head's table).
  expect(await ray.get(onB.remote(3))).toBe(9);
});

afterAll(async () => {
  await ray.shutdown();
  await b?.shutdown();
  process.off('unhandledRejection', collect);
  process.off('uncaughtException', collect);
  rmSync(marks, { recursive: true, force: true });
});

const members = (h: HostRuntime) => h.cluster!.member.hosts().map((x) => x.hostId).sort();
const drops = (h: HostRuntime) => h.cluster!.member.drops;

describe('a host under hostile input', () => {
  it('admits no peer without the token: garbage first, replayed and forged answers, work frames instead of an answer', async () => {
    const before = drops(b).count;
    const r = prng(SEED);
    const headId = hostPeerId(base.id, b.hostId);
    const attempt = async (steps: (p: HostilePeer) => Promise<void>) => {
      const p = await HostilePeer.connect(signaling, headId);
      await steps(p);
      // Refused: the host says so, then closes the link.
      await expect(p.channel.next(10_000)).resolves.toMatchObject({ t: 'refused' });
      await p.closed;
    };
    const hello = (host: string) => ({ t: 'hello', cluster: base.id, host, nonce: 'ab'.repeat(32) }) as Frame;
    let garbage = 0;
    // Garbage before the handshake is dropped; the first well-formed frame that is not a hello ends it.
    await attempt(async (p) => {
      for (; garbage < 100; garbage++) p.send('main', String.fromCharCode(...Array.from({ length: 1 + Math.floor(r() * 80) }, () => Math.floor(r() * 0x250))));
      p.sendFrame({ t: 'task', id: 'x1', fn: 'f1', name: 'f', args: '', nret: 1, attempt: 0, demand: {} });
    });
    // A's own hello and answer, replayed: the challenge has a fresh nonce, so the old answer fails.
    const [recordedHello, recordedAnswer] = eavesdropped.filter((d): d is string => typeof d === 'string');
    expect(JSON.parse(recordedHello!).t).toBe('hello');
    expect(JSON.parse(recordedAnswer!).t).toBe('answer');
    await attempt(async (p) => {
      p.send('main', recordedHello!);
      await p.channel.next(10_000);
      p.send('main', recordedAnswer!);
    });
    // Forged answers, and frames that skip the answer.
    for (const instead of [{ t: 'answer', mac: 'cd'.repeat(32) }, { t: 'welcome' }, { t: 'fn', d: { kind: 'source', id: 'fx', name: 'x', source: '() => 1', bindings: {} }, sig: '00'.repeat(64) }] as Frame[]) {
      await attempt(async (p) => {
        p.sendFrame(hello('intruder'));
        await p.channel.next(10_000);
        p.sendFrame(instead);
      });
    }
    expect(members(b)).toEqual([a.hostId, b.hostId].sort());
    expect(b.cluster!.member.linked('intruder')).toBe(false);
    expect(a.cluster!.member.linked(b.hostId)).toBe(true);
    const refusals = 5;
    const counted = drops(b).count - before;
    console.table({ 'without the token': { attempts: refusals, 'garbage frames': garbage, 'drops counted': counted, admitted: 0 } });
    expect(counted).toBe(garbage + refusals);
    expect(await ray.get(onB.remote(4))).toBe(16);
  });

  it('keeps serving correct results through thousands of hostile frames from a member, runs no unsigned code, and counts what it drops', async () => {
    const attacker = 'ffffattacker';
    const creds = { cluster: base.id, host: attacker, token: base.token };
    // Even with the token, not under the host's own id.
    const impostor = await HostilePeer.connect(signaling, hostPeerId(base.id, b.hostId));
    await expect(impostor.join({ ...creds, host: b.hostId })).rejects.toThrow(/this host's own/);
    const peers = new Map<HostRuntime, HostilePeer>();
    for (const h of [b, a]) {
      const p = await HostilePeer.connect(signaling, hostPeerId(base.id, h.hostId));
      await p.join(creds);
      peers.set(h, p);
    }
    // A member in good standing, offering nothing (so no work goes to it)...
    peers.get(b)!.sendFrame({ t: 'register', host: { hostId: attacker, resources: {}, nodes: [] }, epoch: 0 });
    await until(() => members(a).includes(attacker));
    // ...which answers what it is asked with rows of every shape, or with four billion holes (in 20 bytes).
    const oddRows = toWire([null, 7, 'row', [1], { taskId: 'forged', actorId: 'forged', attempt: 0 }]);
    const holes = toWire(Object.assign(new Array(4e9), { 0: { actorId: 'forged' } }));
    peers.get(a)!.respond((f) => (f.t === 'state-req' ? { t: 'state-resp', req: f.req, rows: f.query === 'tasks' ? oddRows : holes } : undefined));
    // What a member can learn: a real function entry and its signature, from the head's table...
    const known = [...a.functions.values()].find((d) => d.kind === 'source' && d.source.includes('x * x'))!;
    peers.get(b)!.sendFrame({ t: 'fn-get', id: known.id });
    const entry = await peers.get(b)!.waitFor((f): f is Extract<Frame, { t: 'fn' }> => f.t === 'fn' && f.d.id === known.id);
    // ...and the driver's task and object ids, which derive from its job id.
    const driver = driverTaskId(ray.getRuntimeContext().jobId);
    const taskIds = Array.from({ length: 4000 }, (_, i) => childTaskId(driver, 0, i));
    const objectIds = taskIds.map((t) => returnObjectId(t, 0));
    const mark = (name: string) => JSON.stringify(join(marks, name));
    const unsigned: FunctionDescriptor[] = [
      { kind: 'source', id: 'fevilsource01', name: 'evil', source: `() => import('node:fs').then((fs) => fs.writeFileSync(${mark('source')}, 'ran'))`, bindings: {} },
      { kind: 'module', id: 'fevilmodule01', name: 'evil', url: `data:text/javascript,${encodeURIComponent(`import fs from 'node:fs'; fs.writeFileSync(${mark('module')}, 'ran'); export default () => 1;`)}`, exportName: 'default' },
      // Other code under the real function's id (and its real signature, replayed).
      { kind: 'source', id: known.id, name: 'square', source: `(x) => { import('node:fs').then((fs) => fs.writeFileSync(${mark('shadow')}, 'ran')); return -1; }`, bindings: {} },
    ];
    const targets = new Map<HostRuntime, Target>([b, a].map((h) => [h, {
      attacker, victim: h.hostId, victimIsHead: h.cluster!.member.isHead, knownFnId: known.id, taskIds, objectIds,
      unsigned: unsigned.map((d) => ({ d, replayedSig: entry.sig })),
    }]));
    expect(b.cluster!.member.isHead).toBe(true);

    type Tally = Record<Verdict, number> & { follow: string[]; kinds: Map<string, number> };
    const tallies = new Map<HostRuntime, Tally>([b, a].map((h) => [h, { malformed: 0, refused: 0, hostile: 0, follow: [], kinds: new Map() }]));
    const fire = (h: HostRuntime, s: Shot) => {
      const p = peers.get(h)!;
      const t = tallies.get(h)!;
      p.send(s.lane, s.data);
      t[s.verdict]++;
      t.kinds.set(s.kind, (t.kinds.get(s.kind) ?? 0) + 1);
      if (s.then) { p.send('main', s.then.text); t.follow.push(s.then.id); }
    };
    const dropsBefore = new Map([b, a].map((h) => [h, drops(h).count]));

    // The driver's work, started before the attack and checked after it.
    const during = ray.get(Array.from({ length: 150 }, (_, i) => onB.remote(i)));
    const spread = ray.get(Array.from({ length: 150 }, (_, i) => square.options({ schedulingStrategy: 'SPREAD' }).remote(i)));
    const big = ray.remote((n: number) => new Float64Array(n).map((_, i) => i % 251)).options({ resources: { webgpu: 0.01 } });
    const bigRef = big.remote(200_000); // 1.6 MB: stays on B, pulled over the bulk lane the attacker floods
    expect(objectIds).toContain(bigRef.id);
    class Counter {
      n = 0;
      add(k: number) { return (this.n += k); }
    }
    const counter = ray.remote(Counter).options({ name: 'fuzz-counter', resources: { webgpu: 0.01 } }).remote();
    expect(await ray.get(counter.add.remote(1))).toBe(1);

    const r = prng(SEED + 1);
    // A function entry whose bindings nest deeper than any stack: a checker that recursed into it would throw.
    const depth = 200_000;
    const deep = `{"t":"fn","d":{"kind":"source","id":"fevildeep01","name":"deep","source":"() => 1","bindings":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}},"sig":"${'ab'.repeat(64)}"}`;
    for (const h of [b, a]) fire(h, { lane: 'main', data: deep, kind: 'deeply nested function entry', verdict: 'malformed' });
    for (let sent = 0; sent < SHOTS; sent += ROUND) {
      for (const h of [b, a]) for (let i = 0; i < ROUND; i++) fire(h, shot(r, targets.get(h)!));
      if (sent === SHOTS / 2) {
        // Mid-attack, questions A asks the head, while the attacker answers every request id in use.
        const questions = Promise.all([ray.getActor('fuzz-counter'), ray.state.listJobs()]);
        let settled = false;
        void questions.finally(() => { settled = true; });
        while (!settled) {
          for (let req = 1; req <= 64; req++) {
            fire(a, { lane: 'main', data: JSON.stringify({ t: 'found', req, actor: { actorId: 'forged', hostId: attacker, className: 'Counter', methods: ['add'], asyncMethods: [] } }), kind: 'answer to no question', verdict: 'refused' });
            fire(a, { lane: 'main', data: JSON.stringify({ t: 'jobs', req, jobs: toWire([{ jobId: 'forgedjob', hostId: attacker, state: 'RUNNING', startedAt: 0, endedAt: null }]) }), kind: 'answer to no question', verdict: 'refused' });
          }
          await macrotask();
        }
        const [found, jobs] = await questions;
        expect((found as unknown as { actorId: string }).actorId).toBe((counter as unknown as { actorId: string }).actorId);
        expect(jobs.map((j) => j.jobId)).not.toContain('forgedjob');
        expect(jobs.map((j) => j.jobId)).toContain(ray.getRuntimeContext().jobId);
      }
      await macrotask();
    }

    // Every frame sent before a question has been handled once its answer is back; every task
    // sent after an entry has its reply once the entries before it were checked.
    for (const [h, p] of peers) {
      p.sendFrame({ t: 'state-req', req: 987_654, query: 'actors' });
      await p.waitFor((f) => f.t === 'state-resp' && f.req === 987_654);
      const replies = await Promise.all(tallies.get(h)!.follow.map((id) => p.waitFor((f): f is Extract<Frame, { t: 'done' }> => f.t === 'done' && f.id === id)));
      for (const d of replies) {
        // Refused, or — under the real function's id — the real function ran (7² = 49), not the other code.
        if (d.error) expect(d.error.message).toMatch(/runs only code signed by the cluster's submitter key/);
        else expect(fromWire(d.values!)).toEqual([49]);
      }
    }

    // The driver's results, during and after: all correct.
    expect(await during).toEqual(Array.from({ length: 150 }, (_, i) => i * i));
    expect(await spread).toEqual(Array.from({ length: 150 }, (_, i) => i * i));
    const v = await ray.get(bigRef);
    let right = v.length === 200_000;
    for (let i = 0; i < v.length; i += 997) if (v[i] !== i % 251) right = false;
    expect(right).toBe(true);
    expect(await ray.get(counter.add.remote(2))).toBe(3);
    // The state API, which asks every member (the attacker too), lists what ran and no non-rows.
    const listed = await ray.state.listTasks();
    expect(listed.every((t) => typeof t === 'object' && t !== null)).toBe(true);
    expect(listed.map((t) => t.taskId)).toContain(taskIds[0]);
    expect((await ray.state.listActors()).map((x) => x.actorId)).toContain((counter as unknown as { actorId: string }).actorId);
    expect(Object.values(await ray.clusterResources()).every((n) => typeof n === 'number')).toBe(true);
    expect(await ray.get(Array.from({ length: 50 }, (_, i) => onB.remote(i + 1000)))).toEqual(Array.from({ length: 50 }, (_, i) => (i + 1000) ** 2));
    // Membership and the head are as they were: the attacker announced nothing anyone took.
    for (const h of [a, b]) {
      expect(members(h)).toEqual([a.hostId, b.hostId, attacker].sort());
      expect(h.cluster!.member.headId).toBe(b.hostId);
    }
    // No unsigned code ran anywhere, and nothing crashed.
    expect(readdirSync(marks)).toEqual([]);
    expect(existsSync(join(marks, 'shadow'))).toBe(false);
    expect(errors).toEqual([]);

    // Each malformed or refused frame counted once; hostile but well-formed ones at most once.
    const rows: Record<string, Record<string, number>> = {};
    for (const h of [b, a]) {
      const t = tallies.get(h)!;
      const counted = drops(h).count - dropsBefore.get(h)!;
      rows[h === a ? `A (driver) ${h.hostId}` : `B (head) ${h.hostId}`] = { sent: t.malformed + t.refused + t.hostile, malformed: t.malformed, refused: t.refused, hostile: t.hostile, 'tasks after unsigned entries': t.follow.length, 'drops counted': counted };
      expect(counted).toBeGreaterThanOrEqual(t.malformed + t.refused);
      expect(counted).toBeLessThanOrEqual(t.malformed + t.refused + t.hostile);
    }
    console.table(rows);
    const kinds = new Map<string, number>();
    for (const t of tallies.values()) for (const [k, n] of t.kinds) kinds.set(k, (kinds.get(k) ?? 0) + n);
    console.table(Object.fromEntries([...kinds].sort((x, y) => y[1] - x[1]).map(([k, n]) => [k, { sent: n }])));
    for (const p of peers.values()) p.close();
  });
});
