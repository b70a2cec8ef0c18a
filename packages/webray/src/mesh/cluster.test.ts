import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClusterMember, headPeerId, hostPeerId, type Timers } from './cluster.js';
import type { HostInfo } from './frames.js';
import type { Link } from './link.js';
import { MemorySignaling, type Claim, type Signaling } from './signaling.js';
import { HostilePeer } from '../test-support/hostile-peer.js';
import { PartitionableNetwork } from '../test-support/partitionable-network.js';
import { until as waitFor } from '../test-support/until.js';
import { generateSubmitterKey, Signer, Verifier } from './signing.js';

/** A clock the test moves by hand; `tick` runs the heartbeat timers of those still running. */
class ManualTimers implements Timers {
  t = 0;
  private readonly runs = new Set<() => void>();
  now = () => this.t;
  every(_ms: number, run: () => void): () => void {
    this.runs.add(run);
    return () => this.runs.delete(run);
  }
  tick(ms: number): void {
    this.t += ms;
    for (const r of this.runs) r();
  }
}

const info = (hostId: string, resources: Record<string, number> = { CPU: 2 }): HostInfo => ({ hostId, resources, nodes: [`${hostId}.1`] });
/** Lets links deliver what they carry (memory links deliver a macrotask later). */
const settle = async (rounds = 20) => { for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 0)); };
/** Waits until `cond` holds, letting deliveries run, at most 500 rounds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 0));
  expect(cond()).toBe(true);
}

let members: ClusterMember[] = [];
afterEach(() => { for (const m of members) m.close(); members = []; });

/**
 * A signalling service that can be down (a PeerServer restarting): claims and connects fail
 * meanwhile; and one that can forget who holds an id, so that another host claims it.
 */
class FlakySignaling implements Signaling {
  down = false;
  private readonly held = new Map<string, { claim: Claim; lost?: () => void }>();
  constructor(private readonly inner: Signaling) {}
  async claim(peerId: string, accept: (link: Link) => void, lost?: () => void): Promise<Claim | undefined> {
    if (this.down) throw new Error('Lost connection to server.');
    const claim = await this.inner.claim(peerId, accept);
    if (claim) this.held.set(peerId, { claim, lost });
    return claim;
  }
  /** The service forgets who holds `peerId`; the returned function tells that holder it lost the id. */
  forget(peerId: string): () => void {
    const h = this.held.get(peerId)!;
    this.held.delete(peerId);
    h.claim.release();
    return () => h.lost?.();
  }
  /** Peer ids whose next connect fails (a connection that did not open). */
  readonly failOnce = new Set<string>();
  connect(peerId: string): Promise<Link> {
    if (this.failOnce.delete(peerId)) return Promise.reject(new Error(`no connection to ${peerId} within 15000 ms`));
    return this.down ? Promise.reject(new Error('Lost connection to server.')) : this.inner.connect(peerId);
  }
}

/** The operator key (who may be head), and another pair that proves nothing here. */
const operator = await generateSubmitterKey();
const stranger = await generateSubmitterKey();
const operatorCheck = await Verifier.fromPublicKey(operator.publicKey);
const credentials = {
  operator: await Signer.fromJwk(operator.privateKey),
  forged: await Signer.fromJwk(stranger.privateKey),
};

/** `head`: the key this host proves (default the operator key), or none (join token only). */
function member(signaling: Signaling, hostId: string, opts: { token?: string; timers?: Timers; resources?: Record<string, number>; graceMs?: number; deadAfterMs?: number; head?: keyof typeof credentials | 'token-only' } = {}): ClusterMember {
  const key = opts.head === 'token-only' ? undefined : credentials[opts.head ?? 'operator'];
  const m = new ClusterMember({
    cluster: 'c1', token: opts.token ?? 'secret', host: info(hostId, opts.resources), signaling,
    head: { ...(key ? { prove: (text: string) => key.signText(text) } : {}), check: async (text, sig) => ((await operatorCheck.verifyText(text, sig)) ? 'operator' : undefined) },
    timers: opts.timers, heartbeatMs: 100, deadAfterMs: opts.deadAfterMs ?? 1000, graceMs: opts.graceMs,
  });
  members.push(m);
  return m;
}

const ids = (m: ClusterMember) => m.hosts().map((h) => h.hostId).sort();
/** A member that never learnt who the standby is: after the head leaves it can reach a new head only through the head id. */
const forgetStandby = (m: ClusterMember) => { (m as unknown as { standby: string }).standby = ''; };

describe('cluster membership', () => {
  it('elects exactly one head when three hosts start at once, and every host learns all three', async () => {
    const s = new MemorySignaling();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => member(s, id));
    await Promise.all([a!.join(), b!.join(), c!.join()]);
    await until(() => [a, b, c].every((m) => ids(m!).length === 3));
    expect([a, b, c].filter((m) => m!.isHead)).toHaveLength(1);
    const head = [a, b, c].find((m) => m!.isHead)!.hostId;
    expect([a, b, c].map((m) => m!.headId)).toEqual([head, head, head]);
    expect(ids(a!)).toEqual(['a', 'b', 'c']);
  });

  it('refuses a host with a wrong token: it never becomes a member', async () => {
    const s = new MemorySignaling();
    const a = member(s, 'a');
    await a.join();
    const intruder = member(s, 'x', { token: 'wrong' });
    await expect(intruder.join()).rejects.toThrow(/join token/);
    await settle();
    expect(ids(a)).toEqual(['a']);
    expect(a.drops.reasons.some((r) => r.includes('does not know this cluster'))).toBe(true);
  });

  it('drops a host that leaves from every member at once', async () => {
    const s = new MemorySignaling();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => member(s, id));
    for (const m of [a, b, c]) await m!.join();
    await until(() => ids(c!).length === 3);
    b!.close();
    await until(() => ids(a!).length === 2 && ids(c!).length === 2);
    expect(ids(c!)).toEqual(['a', 'c']);
  });

  it('drops a member that says goodbye at once, though its link is still open and no heartbeat is missed', async () => {
    const s = new MemorySignaling();
    // A clock that never moves: silence can never make a member dead here.
    const a = member(s, 'a', { timers: new ManualTimers() });
    await a.join();
    const leaving = await HostilePeer.connect(s, headPeerId('c1'));
    await leaving.join({ cluster: 'c1', host: 'x', token: 'secret' });
    leaving.sendFrame({ t: 'register', host: info('x'), epoch: 0 });
    await until(() => ids(a).length === 2);
    leaving.sendFrame({ t: 'bye' });
    await until(() => ids(a).length === 1);
    await leaving.closed;
  });

  it('marks a silent host dead after deadAfterMs of heartbeats without it (no close event)', async () => {
    const s = new MemorySignaling();
    const clocks = { a: new ManualTimers(), b: new ManualTimers() };
    const a = member(s, 'a', { timers: clocks.a });
    const b = member(s, 'b', { timers: clocks.b });
    await a.join();
    await b.join();
    await until(() => ids(a).length === 2);
    // Both beat for a while: nobody is declared dead.
    for (let i = 0; i < 20; i++) { clocks.a.tick(100); clocks.b.tick(100); await settle(3); }
    expect(ids(a)).toEqual(['a', 'b']);
    // b hangs: its heartbeats stop, its links stay open.
    for (let i = 0; i < 12; i++) { clocks.a.tick(100); await settle(3); }
    expect(ids(a)).toEqual(['a']);
  });

  it('sends heartbeats on a channel of their own, so a busy link does not delay them', async () => {
    const s = new MemorySignaling();
    const seen = { main: [] as string[], beats: [] as string[] };
    const connect = s.connect.bind(s);
    s.connect = async (id) => {
      const link = await connect(id);
      const tap = (l: typeof link, into: string[]) => { const send = l.send.bind(l); l.send = (d) => { if (typeof d === 'string') into.push(JSON.parse(d).t); send(d); }; };
      tap(link, seen.main);
      tap(link.heartbeat!, seen.beats);
      return link;
    };
    const clock = new ManualTimers();
    const a = member(s, 'a');
    const b = member(s, 'b', { timers: clock });
    await a.join();
    await b.join();
    for (let i = 0; i < 5; i++) { clock.tick(100); await settle(3); }
    expect(seen.beats.length).toBeGreaterThan(0);
    expect(new Set(seen.beats)).toEqual(new Set(['hb']));
    expect(seen.main).not.toContain('hb');
  });

  it('elects a new head when the head leaves, and the others re-register with it', async () => {
    const s = new MemorySignaling();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => member(s, id));
    for (const m of [a, b, c]) await m!.join();
    await until(() => ids(c!).length === 3);
    expect(a!.isHead).toBe(true);
    a!.close();
    await until(() => [b, c].some((m) => m!.isHead) && ids(b!).length === 2 && ids(c!).length === 2);
    expect([b, c].filter((m) => m!.isHead)).toHaveLength(1);
    expect(ids(b!)).toEqual(['b', 'c']);
  });

  it('loses no frame in flight when a member opens a second link to a host it is linked to (to reach it as the new head), keeps a transfer on its link, and closes the old link once both sides moved', async () => {
    const s = new MemorySignaling();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => member(s, id, { head: id === 'c' ? 'token-only' : 'operator' }));
    for (const m of [a, b, c]) await m!.join();
    await until(() => ids(c!).length === 3 && c!.standbyId === 'b' && b!.linked('c'));
    // c reaches the new head through the head id, so over a new link to b, while b and c stream work to each other.
    forgetStandby(c!);
    const got = { b: 0, c: 0 };
    b!.onWork = () => { got.b++; };
    c!.onWork = () => { got.c++; };
    const sent = { b: 0, c: 0 };
    let streaming = true;
    const stream = async (from: ClusterMember, to: 'b' | 'c') => {
      while (streaming) {
        try { from.send(to, { t: 'load', free: {}, queued: 0 }); sent[to === 'b' ? 'c' : 'b']++; } catch { /* no link for a moment */ }
        await new Promise((r) => setTimeout(r, 0));
      }
    };
    // And one transfer from b to c, chunk by chunk: it stays on the link it began on, in order.
    const chunks: number[] = [];
    c!.onBytes = (_from, bytes) => { chunks.push(bytes[0]!); };
    const transfer = async () => {
      const link = b!.bulkTo('c');
      for (let i = 0; streaming; i++) { link.send(new Uint8Array([i % 256])); await new Promise((r) => setTimeout(r, 0)); }
      link.done();
    };
    const streams = [stream(b!, 'c'), stream(c!, 'b'), transfer()];
    a!.close();
    await until(() => b!.isHead && c!.headId === 'b');
    await settle();
    streaming = false;
    await Promise.all(streams);
    await settle(40);
    expect(sent.b).toBeGreaterThan(0);
    expect(got).toEqual({ b: sent.c, c: sent.b });
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks).toEqual(chunks.map((_, i) => i % 256));
    // One link between b and c stays: the replaced one closes when both have said 'moved'.
    const retiring = (m: ClusterMember) => (m as unknown as { retiring: Map<unknown, number> }).retiring.size;
    await until(() => retiring(b!) + retiring(c!) === 0);
  });

  it('keeps trying to take over when the head leaves while the signalling server is down, and does once it is back', async () => {
    const s = new FlakySignaling(new MemorySignaling());
    const timers = new ManualTimers();
    const [a, b] = ['a', 'b'].map((id) => member(s, id, { timers }));
    for (const m of [a, b]) await m!.join();
    await until(() => ids(b!).length === 2);
    s.down = true;
    a!.close();
    await until(() => b!.drops.reasons.some((r) => r.startsWith('re-election')));
    timers.tick(100);
    await settle();
    expect(b!.isHead).toBe(false);
    s.down = false;
    timers.tick(100);
    await until(() => b!.isHead);
    expect(ids(b!)).toEqual(['b']);
  });

  it('opens a link to a member again on the next heartbeat when the first attempt failed', async () => {
    const s = new FlakySignaling(new MemorySignaling());
    const timers = new ManualTimers();
    const [a, b] = ['a', 'b'].map((id) => member(s, id, { timers }));
    for (const m of [a, b]) await m!.join();
    // b links to c (the smaller id opens) when the head announces c: that first attempt fails.
    s.failOnce.add(hostPeerId('c1', 'c'));
    const c = member(s, 'c', { timers });
    const joined = c.join();
    await until(() => b!.drops.reasons.some((r) => r.startsWith('could not link to c')));
    expect(b!.linked('c')).toBe(false);
    timers.tick(100);
    await until(() => b!.linked('c') && c.linked('b'));
    await joined;
  });

  it('has one head again when another host took the head id while the server had forgotten it: the old head steps down', async () => {
    const s = new FlakySignaling(new MemorySignaling());
    const [a, b, c] = ['a', 'b', 'c'].map((id) => member(s, id));
    for (const m of [a, b, c]) await m!.join();
    await until(() => ids(c!).length === 3);
    const tellA = s.forget(headPeerId('c1'));
    const d = member(s, 'd');
    await d.join();
    expect(d.isHead).toBe(true);
    expect(a!.isHead).toBe(true);
    // a tries to claim the head id back and is told it is taken.
    tellA();
    const all = ['a', 'b', 'c', 'd'];
    await until(() => [a, b, c, d].every((m) => ids(m!).join() === all.join()));
    expect([a, b, c, d].filter((m) => m!.isHead)).toEqual([d]);
  });

  it('takes no member for gone when the head leaves: the new head keeps the previous table while the others re-register', async () => {
    const s = new MemorySignaling();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => member(s, id));
    for (const m of [a, b, c, d]) await m!.join();
    await until(() => [b, c, d].every((m) => ids(m!).length === 4));
    const seen: string[][] = [];
    for (const m of [b, c, d]) m!.onMembers((hosts) => seen.push(hosts.map((h) => h.hostId).sort()));
    a!.close();
    await until(() => [b, c, d].some((m) => m!.isHead) && [b, c, d].every((m) => ids(m!).join() === 'b,c,d'));
    const head = [b, c, d].find((m) => m!.isHead)!;
    await head.settled();
    // Every view any survivor had since: all three survivors in it (the old head may linger until its loss is seen).
    expect(seen.filter((v) => !['b', 'c', 'd'].every((id) => v.includes(id)))).toEqual([]);
  });

  it('drops after the grace a member of the previous table that does not re-register with the new head', async () => {
    const s = new FlakySignaling(new MemorySignaling());
    const clocks = ['a', 'b', 'c'].map(() => new ManualTimers());
    const [a, b, c] = ['a', 'b', 'c'].map((id, i) => member(s, id, { timers: clocks[i], graceMs: 300 }));
    for (const m of [a, b, c]) await m!.join();
    await until(() => ids(c!).length === 3);
    // c cannot reach the head id after a leaves (and its clock, which would retry, stands still),
    // and does not know the standby (whose announcement it would take over its link).
    s.failOnce.add(headPeerId('c1'));
    forgetStandby(c!);
    a!.close();
    await until(() => b!.isHead && c!.drops.reasons.some((r) => r.startsWith('re-election')));
    expect(ids(b!)).toEqual(['b', 'c']);
    let settled = false;
    void b!.settled().then(() => { settled = true; });
    clocks[1]!.tick(100);
    await settle();
    expect(ids(b!)).toEqual(['b', 'c']);
    expect(settled).toBe(false);
    for (let i = 0; i < 3; i++) { clocks[1]!.tick(100); await settle(); }
    expect(ids(b!)).toEqual(['b']);
    expect(settled).toBe(true);
  });

  it('has the members take the table of a head whose clock is behind theirs: epochs are counted from what members report, not read from a clock', async () => {
    const s = new FlakySignaling(new MemorySignaling());
    const [a, b, c] = ['a', 'b', 'c'].map((id) => member(s, id));
    for (const m of [a, b, c]) await m!.join();
    await until(() => ids(c!).length === 3);
    // d takes the head id while the server has forgotten a's, on a machine whose clock says 1970.
    const tellA = s.forget(headPeerId('c1'));
    const clock = vi.spyOn(Date, 'now').mockReturnValue(1);
    try {
      const d = member(s, 'd');
      await d.join();
      tellA();
      await until(() => [a, b, c, d].every((m) => ids(m!).join() === 'a,b,c,d'));
      expect([a, b, c, d].filter((m) => m!.isHead)).toEqual([d]);
      expect([a, b, c].map((m) => m!.headId)).toEqual(['d', 'd', 'd']);
    } finally {
      clock.mockRestore();
    }
  });

  it('has a member keep, for its grace, a linked host that a new head dropped before it re-registered', async () => {
    const shared = new MemorySignaling();
    const s = new FlakySignaling(shared);
    const sd = new FlakySignaling(shared);
    const clocks = ['a', 'b', 'c', 'd'].map(() => new ManualTimers());
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id, i) => member(id === 'd' ? sd : s, id, { timers: clocks[i], graceMs: id === 'b' ? 300 : undefined }));
    for (const m of [a, b, c, d]) await m!.join();
    await until(() => [b, c, d].every((m) => ids(m!).length === 4));
    // d cannot reach the head id after a leaves and does not know the standby; b, the new head, has
    // a short grace and drops it.
    sd.failOnce.add(headPeerId('c1'));
    forgetStandby(d!);
    a!.close();
    await until(() => b!.isHead && c!.headId === 'b' && d!.drops.reasons.some((r) => r.startsWith('re-election')));
    for (let i = 0; i < 4; i++) { clocks[1]!.tick(100); await settle(); }
    expect(ids(b!)).toEqual(['b', 'c']);
    // c still has its link to d and its own grace (2 × deadAfterMs) running: d stays in for it.
    expect(ids(c!)).toEqual(['b', 'c', 'd']);
    // (The jump also makes c take its links for silent: it links and registers with b again, which
    // takes a head proof, so wait for that rather than a fixed number of deliveries.)
    clocks[2]!.tick(2100);
    await until(() => ids(c!).join() === 'b,c');
  });
});

describe('who may be head', () => {
  it('never makes a host with only the join token head, though it starts first: it waits, and the credentialed host is head', async () => {
    const s = new MemorySignaling();
    const volunteer = member(s, 'v', { head: 'token-only' });
    let joined = false;
    const volunteerJoined = volunteer.join().then(() => { joined = true; });
    await until(() => volunteer.drops.reasons.some((r) => r.includes('no head yet')));
    expect(joined).toBe(false);
    const operatorHost = member(s, 'o');
    await operatorHost.join();
    await volunteerJoined;
    expect(operatorHost.isHead).toBe(true);
    expect(volunteer.isHead).toBe(false);
    expect(volunteer.headId).toBe('o');
    await until(() => ids(volunteer).length === 2 && ids(operatorHost).length === 2);
  });

  it('ignores a host that squats the head id without the credential (a denial of service until it leaves): members register with none, then with the credentialed host', async () => {
    const s = new MemorySignaling();
    const squatter = member(s, 'sq', { head: 'forged' });
    await squatter.join();
    expect(squatter.isHead).toBe(true);
    const volunteer = member(s, 'v', { head: 'token-only' });
    const operatorHost = member(s, 'o');
    const joins = Promise.all([volunteer.join(), operatorHost.join()]);
    await until(() => [volunteer, operatorHost].every((m) => m.drops.reasons.some((r) => r.includes('sq holds c1-head but proves no head credential'))));
    expect([volunteer.headId, operatorHost.headId]).toEqual(['', '']);
    expect(ids(squatter)).toEqual(['sq']);
    squatter.close();
    await joins;
    expect(operatorHost.isHead).toBe(true);
    expect(volunteer.headId).toBe('o');
  });

  it('with no credentialed host left, keeps the members and their links (work goes on) and makes a new host wait for a head', async () => {
    const s = new MemorySignaling();
    const first = member(s, 'a');
    const [b, c] = ['b', 'c'].map((id) => member(s, id, { head: 'token-only' }));
    for (const m of [first, b!, c!]) await m.join();
    await until(() => b!.linked('c') && ids(c!).length === 3);
    first.close();
    await until(() => b!.headId === '' && c!.headId === '' && b!.drops.reasons.some((r) => r.includes('re-election')));
    expect([ids(b!), ids(c!)]).toEqual([['b', 'c'], ['b', 'c']]);
    const got: string[] = [];
    c!.onWork = (from, f) => got.push(`${f.t} from ${from}`);
    b!.send('c', { t: 'free', ids: ['x1'] });
    await until(() => got.length === 1);
    expect(got).toEqual(['free from b']);

    const late = member(s, 'd', { head: 'token-only' });
    let joined = false;
    const lateJoined = late.join().then(() => { joined = true; });
    await until(() => late.drops.reasons.some((r) => r.includes('no head yet')));
    expect(joined).toBe(false);
    const operatorHost = member(s, 'e');
    await operatorHost.join();
    await lateJoined;
    await until(() => [b!, c!, late].every((m) => m.headId === 'e') && ids(operatorHost).length === 4);
  });
});

describe('the head\'s standby', () => {
  /** The same service, where this host's claim of the head id takes `ms` (a slow link to the server). */
  const slowHeadClaim = (inner: Signaling, ms: number): Signaling => ({
    claim: async (peerId, accept, lost) => {
      if (peerId === headPeerId('c1')) await new Promise((r) => setTimeout(r, ms));
      return inner.claim(peerId, accept, lost);
    },
    connect: (peerId) => inner.connect(peerId),
  });

  it('is a credentialed member that the head announces; when the head leaves it claims the head id first, though slower than another credentialed host', async () => {
    const s = new MemorySignaling();
    const head = member(s, 'a');
    const volunteer = member(s, 'v', { head: 'token-only' });
    const standby = member(slowHeadClaim(s, 150), 'b');
    const other = member(s, 'c');
    for (const m of [head, volunteer, standby, other]) await m.join();
    await until(() => [volunteer, standby, other].every((m) => m.standbyId === 'b') && ids(other).length === 4);
    expect(head.standbyId).toBe('b');
    head.close();
    await until(() => [volunteer, other].every((m) => m.headId !== '' && m.headId !== 'a'));
    expect(standby.isHead).toBe(true);
    expect([volunteer.headId, other.headId]).toEqual(['b', 'b']);
  });

  it('has a head that was cut off (or frozen) and comes back step down for the later head, which then holds the head id: a new host finds the one head', async () => {
    const net = new PartitionableNetwork();
    const aSide = net.host();
    const a = member(aSide, 'a');
    const b = member(net.host(), 'b');
    const c = member(net.host(), 'c', { head: 'token-only' });
    for (const m of [a, b, c]) await m.join();
    await until(() => ids(c).length === 3 && c.standbyId === 'b');
    aSide.cutOff();
    await until(() => b.isHead && c.headId === 'b');
    // a still holds the head id on the signalling server, and thinks itself head.
    expect(a.isHead).toBe(true);
    aSide.heal();
    await until(() => !a.isHead && a.headId === 'b' && ids(b).includes('a'));
    const d = member(net.host(), 'd', { head: 'token-only' });
    await d.join();
    expect(d.headId).toBe('b');
    await until(() => ids(b).includes('d') && ids(a).includes('d'));
  });

  it('has the standby take over within deadAfterMs from a silent head that keeps its id, and keeps a credentialed member whose election still waited on that id a member (though it is the new standby by then): one head', async () => {
    const s = new MemorySignaling();
    let headDead = false;
    // A silent head keeps its id: a connection to it never opens; each attempt fails when the test says.
    const waiting = new Map<string, () => void>();
    const serverFor = (who: string): Signaling => ({
      claim: (peerId, accept) => s.claim(peerId, accept),
      connect: (peerId) => (headDead && peerId === headPeerId('c1')
        ? new Promise((_, reject) => waiting.set(who, () => reject(new Error('no connection to c1-head within 15000 ms'))))
        : s.connect(peerId)),
    });
    const frozen = new ManualTimers();
    const t = new ManualTimers();
    const head = member(serverFor('a'), 'a', { timers: frozen });
    const standby = member(serverFor('b'), 'b', { timers: t });
    const other = member(serverFor('c'), 'c', { timers: t });
    for (const m of [head, standby, other]) await m.join();
    await until(() => other.standbyId === 'b' && ids(other).length === 3);
    headDead = true;
    // The standby waits deadAfterMs for an answer on the held id, not the connection's whole timeout,
    // and takes over; c, whose election still waits on the id, registers with it when it announces
    // itself, and becomes its standby.
    for (let i = 0; i < 60 && !(waiting.has('b') && waiting.has('c')); i++) { t.tick(100); await settle(); }
    // (deadAfterMs is measured on the real clock, as a connection's time is: a longer bounded wait.)
    await waitFor(() => standby.isHead && other.headId === 'b' && other.standbyId === 'c');
    // Then c's own attempt fails: it must not take the head from b.
    waiting.get('c')!();
    await settle();
    expect(standby.isHead).toBe(true);
    expect(other.isHead).toBe(false);
    expect(other.headId).toBe('b');
  });

  it('takes the head id as soon as the signalling server frees it after the head left (a connection to the id waits on the server meanwhile), not after deadAfterMs', async () => {
    const s = new MemorySignaling();
    // The PeerJS server frees a closed socket's id a moment after the peers hear the goodbye; a
    // connection to an id whose holder is gone waits in the server's queue (its expire_timeout).
    let freeHeadId: (() => void) | undefined;
    let headGone = false;
    const lateRelease: Signaling = {
      claim: async (peerId, accept) => {
        const claim = await s.claim(peerId, accept);
        return claim && { release: () => { freeHeadId = () => claim.release(); } };
      },
      connect: (peerId) => s.connect(peerId),
    };
    const server: Signaling = {
      claim: (peerId, accept) => s.claim(peerId, accept),
      connect: (peerId) => (headGone && peerId === headPeerId('c1') ? new Promise<never>(() => undefined) : s.connect(peerId)),
    };
    // deadAfterMs far beyond the wait below: the standby must not need it.
    const head = member(lateRelease, 'a', { deadAfterMs: 60_000 });
    const standby = member(server, 'b', { deadAfterMs: 60_000 });
    const volunteer = member(server, 'v', { deadAfterMs: 60_000, head: 'token-only' });
    for (const m of [head, standby, volunteer]) await m.join();
    await until(() => volunteer.standbyId === 'b' && ids(volunteer).length === 3);
    headGone = true;
    head.close();
    await waitFor(() => freeHeadId !== undefined && volunteer.headId === '');
    freeHeadId!();
    await waitFor(() => standby.isHead && volunteer.headId === 'b');
    // b holds the head id: a new host finds it there.
    const d = member(s, 'd', { head: 'token-only' });
    await d.join();
    expect(d.headId).toBe('b');
  });

  it('takes over from a head gone silent whose id the signalling server still holds: members register with the standby over their links', async () => {
    const s = new MemorySignaling();
    // The PeerJS server keeps a dead socket's id for its alive_timeout: the id stays held and a
    // connection to it never opens.
    let headDead = false;
    const server: Signaling = {
      claim: (peerId, accept) => s.claim(peerId, accept),
      connect: (peerId) => (headDead && peerId === headPeerId('c1') ? Promise.reject(new Error('no connection to c1-head within 15000 ms')) : s.connect(peerId)),
    };
    const frozen = new ManualTimers();
    const t = new ManualTimers();
    const head = member(server, 'a', { timers: frozen });
    const standby = member(server, 'b', { timers: t });
    const volunteer = member(server, 'v', { timers: t, head: 'token-only' });
    for (const m of [head, standby, volunteer]) await m.join();
    await until(() => volunteer.standbyId === 'b' && ids(volunteer).length === 3);
    // The head freezes: no heartbeats, its id held.
    headDead = true;
    for (let i = 0; i < 60 && volunteer.headId !== 'b'; i++) { t.tick(100); await settle(); }
    expect(standby.isHead).toBe(true);
    expect(volunteer.headId).toBe('b');
    expect(ids(volunteer)).toEqual(['b', 'v']);
    expect(ids(standby)).toEqual(['b', 'v']);
  });
});
