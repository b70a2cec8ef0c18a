/**
 * A host's place in the cluster: it claims its own peer id, becomes the head by claiming
 * `<cluster>-head` (fenced by an epoch) or registers with the head, links to every other member
 * (authenticated both ways), and keeps each link alive with heartbeats. The head keeps the host
 * table and tells everyone who is in; a member that leaves or goes silent is dropped within
 * `deadAfterMs`. Only a host that proves a head credential (the operator or submitter key) claims
 * the head id, and members register only with a head that proves it to them.
 */
import { authenticateInitiator, authenticateResponder, type Credentials } from './auth.js';
import { DropCounter, FrameChannel } from './channel.js';
import { ClusterAuthError } from '../shared/errors.js';
import { randomHex } from '../shared/ids.js';
import type { Frame, HostInfo } from './frames.js';
import type { Link } from './link.js';
import type { Claim, Signaling } from './signaling.js';
import type { Timers } from '../platform/types.js';

export type { Timers };

/** The key a head proof checked against: an operator host is preferred as standby (a submitter-key host is usually the driver). */
export type HeadCredential = 'operator' | 'submitter';

/** Who may be head: the join token lets a host in, but only a head credential lets it hold the cluster's tables. */
export interface HeadAuthority {
  /** Signs a head proof with the operator (or submitter) key; absent on a host with only the join token, which never claims the head id. */
  prove?: (statement: string) => Promise<string>;
  /** Checks a head's proof against the operator and submitter public keys: which one it proves, if any. */
  check: (statement: string, signature: string) => Promise<HeadCredential | undefined>;
}

export interface ClusterOptions {
  cluster: string;
  token: string;
  host: HostInfo;
  signaling: Signaling;
  head: HeadAuthority;
  /** How often each link carries a heartbeat. Default 500 ms. */
  heartbeatMs?: number;
  /** Silence after which a peer counts as dead. Default 5 s (a loaded tab may stall its main thread for a second or two). */
  deadAfterMs?: number;
  /** Timers for heartbeats (a browser passes a worker-driven one: hidden tabs throttle main-thread timers). */
  timers?: Timers;
  /** The epoch of tables restored from a store: a head that takes over with them announces past it. */
  epoch?: number;
  /**
   * After a head change, how long members absent from the new head's table are still taken as in
   * (they re-register once they notice the change, which takes up to `deadAfterMs`). Default 2 × deadAfterMs.
   */
  graceMs?: number;
}

const defaultTimers: Timers = {
  now: () => performance.now(),
  every: (ms, run) => { const t = setInterval(run, ms); return () => clearInterval(t); },
};

interface Peer {
  channel: FrameChannel;
  /** Heartbeats travel here when the link has a channel of their own. */
  beats: FrameChannel;
  /** Object bytes travel here when the link has a channel for them. */
  bulk: FrameChannel;
  lastSeen: number;
  /** Transfers this host sends on this link now (bulkTo). */
  sending: number;
  /** This side, and the other, said 'moved' on this link (it replaced it): nothing more comes from there. */
  movedHere?: boolean;
  movedThere?: boolean;
}

/** Sends one transfer's binary chunks on one link (see ClusterMember.bulkTo). */
export interface BulkSender {
  send(bytes: Uint8Array): void;
  /** Resolves once at most `bytes` are queued on the link (back-pressure). */
  drained(bytes: number): Promise<void>;
  done(): void;
}

/** How often each link carries a heartbeat (ClusterOptions.heartbeatMs). */
const DEFAULT_HEARTBEAT_MS = 500;
/** A host silent this long is dead (ClusterOptions.deadAfterMs). */
const DEFAULT_DEAD_AFTER_MS = 5000;
/** How long `join` waits for links to the members it learns of before it returns anyway. */
const JOIN_SETTLE_MS = 5000;

/** When the head leaves, other credentialed hosts wait this many heartbeats before claiming its id: the standby, which holds the tables, goes first. */
const STANDBY_FIRST_BEATS = 3;
/** How long a member waits for the host on the head id to prove its head credential. */
const HEAD_PROOF_MS = 10_000;

export const headPeerId = (cluster: string) => `${cluster}-head`;
const freshNonce = () => randomHex(32);
/** What a head signs for a member: its nonce binds the proof to this registration. */
const headStatement = (cluster: string, head: string, member: string, nonce: string) => `webray-head|${cluster}|${head}|${member}|${nonce}`;
export const hostPeerId = (cluster: string, host: string) => `${cluster}-${host}`;

export class ClusterMember {
  readonly drops = new DropCounter();
  /** Authenticated links by host id. */
  private readonly peers = new Map<string, Peer>();
  /**
   * Links replaced by a newer one to the same host, with when they close at the latest. Closing one
   * at once would lose the frames in flight on it (a task's result, a transfer's chunks): it stays
   * open until both sides said 'moved', or the other side fails to within `deadAfterMs`.
   */
  private readonly retiring = new Map<Peer, number>();
  /** Members as the head announced them (the head's own table when this host is the head). */
  private members = new Map<string, HostInfo>();
  private epoch = 0;
  private head = '';
  /**
   * The host that answered on `<cluster>-head` when this one registered: the only one whose
   * 'members' it takes. Any member may send one, with any epoch; only the head holds that id.
   */
  private registeredWith = '';
  /** The head left and no election has succeeded since: heartbeats retry it. */
  private headless = false;
  private electing = false;
  /** Members this host is opening a link to now. */
  private readonly opening = new Set<string>();
  private claims: Claim[] = [];
  private stopTimers: (() => void) | undefined;
  private closed = false;
  private readonly creds: Credentials;
  private readonly timers: Timers;
  private readonly listeners = new Set<(hosts: HostInfo[]) => void>();
  /**
   * Head after a failover: members of the previous head's table that have not re-registered yet
   * (they are kept in the table until `graceUntil`, then dropped).
   */
  private readonly awaiting = new Set<string>();
  /** Member: the membership the head last announced (the table may hold more during a grace), and that head. */
  private announced: HostInfo[] = [];
  private announcedBy = '';
  /** Until when (timers' clock) a head change's grace lasts; 0 when none does. */
  private graceUntil = 0;
  private readonly settledWaiters: (() => void)[] = [];
  /** `join` waits here until this host is head or registered with one. */
  private readonly headWaiters: (() => void)[] = [];
  /** The head proof this host waits for from the host on the head id. */
  private proving: { host: string; done: (signature: string | undefined) => void } | undefined;
  /** The head's standby (as the head announced it, or chose it): it claims the head id first. */
  private standby = '';
  /** Head: members that proved a head credential (standby candidates), and the proofs asked of others. */
  private readonly credentialed = new Map<string, HeadCredential>();
  private readonly standbyChecks = new Map<string, string>();
  /** Until when (timers' clock) this host leaves the head id to the standby, which holds the tables. */
  private claimAfter = 0;
  /** Head: its claim on `<cluster>-head` on the signalling server (a standby that took over may not hold it yet). */
  private headClaim: Claim | undefined;
  private claimingHeadId = false;
  /** Head without the head id: when (timers' clock) it last met whoever holds it. */
  private metHeadIdAt = -Infinity;
  /** Head: a standby was chosen; it gets the whole tables now. */
  onStandby: ((hostId: string) => void) | undefined;
  /**
   * This host registered with a head (or became it): the cluster's tables there are rebuilt from
   * what each member sends now, before the 'synced' that ends its part of the grace.
   */
  onHead: ((headId: string) => void) | undefined;
  /** Work frames from an authenticated member: the runtime's business. */
  onWork: ((from: string, f: Frame) => void) | undefined;
  /** Binary chunks from a member (object transfers). */
  onBytes: ((from: string, bytes: Uint8Array) => void) | undefined;

  constructor(private readonly o: ClusterOptions) {
    this.creds = { cluster: o.cluster, host: o.host.hostId, token: o.token };
    this.epoch = o.epoch ?? 0;
    this.timers = o.timers ?? defaultTimers;
  }

  get hostId(): string {
    return this.o.host.hostId;
  }

  get isHead(): boolean {
    return this.head === this.hostId;
  }

  get headId(): string {
    return this.head;
  }

  /** The head's epoch as this host knows it (its own when head). */
  get currentEpoch(): number {
    return this.epoch;
  }

  get standbyId(): string {
    return this.standby;
  }

  /** Is there a head, or can one come: a standby this host is linked to, or this host, which can prove a head credential? */
  get headExpected(): boolean {
    return this.head !== '' || (this.standby !== '' && this.peers.has(this.standby)) || this.o.head.prove !== undefined;
  }

  /** Every live member, this host included. */
  hosts(): HostInfo[] {
    return [...this.members.values()];
  }

  onMembers(listener: (hosts: HostInfo[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async join(): Promise<void> {
    const own = await this.o.signaling.claim(hostPeerId(this.o.cluster, this.hostId), (l) => void this.accept(l));
    if (!own) throw new Error(`host id ${this.hostId} is already in cluster ${this.o.cluster}`);
    this.claims.push(own);
    const hb = this.heartbeatMs;
    this.stopTimers = this.timers.every(hb, () => this.beat());
    try {
      await this.electOrRegister();
    } catch (e) {
      // A wrong join token is the user's to fix. No head (no credentialed host in the cluster, or a
      // squatter on the head id) is waited out: the election is tried again on every heartbeat.
      if (e instanceof ClusterAuthError) throw e;
      this.drops.add(`no head yet: ${(e as Error).message}`);
      this.headless = true;
      await new Promise<void>((resolve) => this.headWaiters.push(resolve));
    }
    await this.linkedToAll(JOIN_SETTLE_MS);
  }

  /** Resolves once this host knows the members and has a link to each (or after `ms`): work can go anywhere. */
  private linkedToAll(ms: number): Promise<void> {
    const done = () => this.head !== '' && [...this.members.keys()].every((id) => id === this.hostId || this.peers.has(id));
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      const off = this.onMembers(() => { if (done()) finish(); });
      function finish() { clearTimeout(timer); off(); resolve(); }
    });
  }

  /** Claims the head id, or registers with whoever holds it. */
  private async electOrRegister(): Promise<void> {
    const claim = this.o.head.prove && this.timers.now() >= this.claimAfter ? await this.claimHeadId() : undefined;
    // A head found while this election waited (the standby took over and said so) stands: this
    // host, which may be that head's standby by now, must not take over from it.
    if (this.head !== '') { if (claim) this.releaseHeadClaim(claim); return; }
    if (claim) { this.takeHead(); return; }
    const standby = this.standby === this.hostId && this.o.head.prove !== undefined;
    let opened: [string, FrameChannel] | Claim;
    try {
      const opening = this.open(headPeerId(this.o.cluster));
      // A silent head keeps its id on the PeerJS server for its alive_timeout, and a connection to it
      // never opens: the standby, which saw it go silent, waits deadAfterMs for an answer, not the
      // connection's whole timeout. (A head that answers later meets the new one: meetHeadIdHolder.)
      opened = standby ? await Promise.race([opening, this.within(this.deadAfterMs, opening), this.reclaim(opening)]) : await opening;
    } catch (e) {
      if (this.head !== '') return;
      // Nobody answers on the head id: the standby takes over (the members reach it over the links
      // they have, and it claims the head id for new hosts once the server frees it).
      if (!standby) throw e;
      this.takeHead();
      return;
    }
    if (!Array.isArray(opened)) { this.takeHead(); return; }
    const [head, ch] = opened;
    if (!(await this.headProven(head))) {
      // A host with only the join token (or none that matches the public keys) squats the head id:
      // it gets no registration, so none of its membership, placement, lookup or job answers count.
      this.drops.add(`host ${head} holds ${headPeerId(this.o.cluster)} but proves no head credential: ignored`);
      ch.link.close();
      throw new Error(`host ${head} on the head id proves no head credential`);
    }
    this.registerWith(head, ch);
  }

  /** Claims `<cluster>-head` for this host; resolves with the claim, or undefined if another holds it. */
  private async claimHeadId(): Promise<Claim | undefined> {
    const claim = await this.o.signaling.claim(headPeerId(this.o.cluster), (l) => void this.accept(l), () => this.stepDown(claim!));
    if (claim) { this.claims.push(claim); this.headClaim = claim; }
    return claim;
  }

  /**
   * The standby, while it waits for an answer on a held head id: claims the id again every
   * heartbeat, and resolves with the claim. A head that left (said bye, or was killed) frees its
   * id once the PeerJS server sees its socket close, a moment after the standby first tried, while
   * a connection to the id waits on the server's queue (its expire_timeout) for a head that is gone.
   * Never resolves once `settles` did.
   */
  private reclaim(settles: Promise<unknown>): Promise<Claim> {
    let settled = false;
    void settles.catch(() => undefined).finally(() => { settled = true; });
    return new Promise((resolve) => {
      const again = async () => {
        if (settled || this.closed || this.head !== '') return;
        const claim = await this.claimHeadId();
        if (claim && settled) this.releaseHeadClaim(claim);
        else if (claim) resolve(claim);
        else setTimeout(() => void again(), this.heartbeatMs);
      };
      setTimeout(() => void again(), this.heartbeatMs);
    });
  }

  /** Rejects after `ms` (by the real clock: a connection's time); `settles` ends the wait early. */
  private within(ms: number, settles: Promise<unknown>): Promise<never> {
    return new Promise((_, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer on the head id within ${ms} ms`)), ms);
      void settles.catch(() => undefined).finally(() => clearTimeout(timer));
    });
  }

  private releaseHeadClaim(claim: Claim): void {
    this.claims = this.claims.filter((c) => c !== claim);
    claim.release();
    if (this.headClaim === claim) this.headClaim = undefined;
  }

  /**
   * Head without the head id: whoever holds it may be a head of before that came back (thawed, or
   * back on the network) and lets new hosts join it. Each says its epoch; the earlier steps down.
   */
  private async meetHeadIdHolder(): Promise<void> {
    const now = this.timers.now();
    if (now - this.metHeadIdAt < this.deadAfterMs) return;
    this.metHeadIdAt = now;
    const [holder] = await this.open(headPeerId(this.o.cluster));
    this.send(holder, { t: 'head-epoch', epoch: this.epoch });
  }

  /** Another head said its epoch: the one with the earlier epoch (or, at the same, the larger id) steps down once the other proves a head credential. */
  private otherHead(from: string, peer: Peer, epoch: number): void {
    if (!this.isHead) return;
    if (epoch < this.epoch || (epoch === this.epoch && from > this.hostId)) { this.trySend(peer, { t: 'head-epoch', epoch: this.epoch }); return; }
    void this.headProven(from).then((ok) => {
      if (!ok) { this.drops.add(`host ${from} said it heads a later epoch but proves no head credential: ignored`); return; }
      // The later head claims the head id first.
      this.claimAfter = this.timers.now() + STANDBY_FIRST_BEATS * this.heartbeatMs;
      this.stepDown(this.headClaim);
    });
  }

  /** This host is the head now (with the member table it had). */
  private takeHead(): void {
    this.head = this.hostId;
    this.registeredWith = '';
    this.standby = '';
    this.credentialed.clear();
    // A later head's epoch is larger: members ignore announcements from a deposed one. Epochs
    // are counted, not read from a clock: each member registers with the epoch it knows, and a
    // head that knew less (it never had a table) moves past it before announcing.
    this.epoch++;
    // Taking over: the previous head's members stay in until they re-register or the grace ends,
    // so no one is taken for gone (their objects freed, their jobs' actors stopped) meanwhile.
    this.members.set(this.hostId, this.o.host);
    this.awaiting.clear();
    for (const id of this.members.keys()) if (id !== this.hostId) this.awaiting.add(id);
    if (this.awaiting.size > 0) this.graceUntil = this.timers.now() + this.graceMs;
    this.onHead?.(this.hostId);
    this.announce();
    this.checkSettled();
  }

  /** Registers with a head that proved its credential, and sends it this host's part of the tables. */
  private registerWith(head: string, ch: FrameChannel): void {
    this.registeredWith = head;
    ch.send({ t: 'register', host: this.o.host, epoch: this.epoch });
    this.onHead?.(head);
    ch.send({ t: 'synced' });
  }

  /** Asks the host on the head id to sign a fresh nonce with a head credential; resolves with whether it did. */
  private headProven(head: string): Promise<boolean> {
    const nonce = freshNonce();
    const statement = headStatement(this.o.cluster, head, this.hostId, nonce);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), HEAD_PROOF_MS);
      const done = (signature: string | undefined) => {
        clearTimeout(timer);
        this.proving = undefined;
        resolve(signature === undefined ? false : this.o.head.check(statement, signature).then(Boolean, () => false));
      };
      this.proving = { host: head, done };
      try { this.send(head, { t: 'head-proof-req', nonce }); } catch { done(undefined); }
    });
  }

  get heartbeatMs(): number {
    return this.o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  get deadAfterMs(): number {
    return this.o.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS;
  }

  /** How long a head change's grace lasts at most. */
  get graceMs(): number {
    return this.o.graceMs ?? 2 * this.deadAfterMs;
  }

  /**
   * Resolves when no head change's grace is running: on the head, every member of the previous
   * head's table has re-registered and sent its part of the tables (or the grace ended).
   */
  settled(): Promise<void> {
    if (this.graceUntil === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private checkSettled(): void {
    if (this.graceUntil === 0 || (this.isHead && this.awaiting.size > 0)) return;
    this.graceUntil = 0;
    for (const w of this.settledWaiters.splice(0)) w();
  }

  /** The grace of a head change ran out: who has not re-registered is gone. */
  private graceOver(): void {
    if (this.isHead) {
      for (const id of this.awaiting) this.members.delete(id);
      this.awaiting.clear();
      this.announce();
    } else if (this.announcedBy === this.head) {
      // (A host that was head and stepped down keeps its table until the next head's comes.)
      this.members = new Map(this.announced.map((h) => [h.hostId, h]));
      this.notify();
    }
    this.checkSettled();
  }

  /** Opens and authenticates a link to a peer id; resolves with the host there once the link is usable. */
  private async open(peerId: string): Promise<[string, FrameChannel]> {
    const link = await this.o.signaling.connect(peerId);
    const ch = new FrameChannel(link, this.drops);
    const other = await authenticateInitiator(ch, this.creds);
    this.adopt(other, ch);
    return [other, ch];
  }

  /** A link another host opened to us: usable only once it proves it knows the token. */
  private async accept(link: Link): Promise<void> {
    if (this.closed) { link.close(); return; }
    const ch = new FrameChannel(link, this.drops);
    try {
      this.adopt(await authenticateResponder(ch, this.creds), ch);
    } catch (e) {
      this.drops.add(`refused a host: ${(e as Error).message}`);
    }
  }

  private adopt(hostId: string, ch: FrameChannel): void {
    const old = this.peers.get(hostId);
    if (old && old.channel !== ch) this.retire(old);
    const beats = ch.link.heartbeat ? new FrameChannel(ch.link.heartbeat, this.drops) : ch;
    const bulk = ch.link.bulk ? new FrameChannel(ch.link.bulk, this.drops) : ch;
    const peer: Peer = { channel: ch, beats, bulk, lastSeen: this.timers.now(), sending: 0 };
    if (bulk !== ch) bulk.onFrame((f) => this.drops.add(`'${f.t}' on the bulk channel of ${hostId}`));
    this.peers.set(hostId, peer);
    if (beats !== ch) {
      beats.onFrame((f) => {
        if (f.t === 'hb') peer.lastSeen = this.timers.now();
        else this.drops.add(`'${f.t}' on the heartbeat channel of ${hostId}`);
      });
    }
    ch.onFrame((f) => this.receive(hostId, peer, f));
    bulk.onBytes((b) => { peer.lastSeen = this.timers.now(); this.onBytes?.(hostId, b); });
    ch.link.onClose(() => this.lost(hostId, peer));
    // A new link makes a member reachable: listeners re-place what waits for it.
    this.notify();
  }

  /** A newer link to the same host replaces this one: say so on it, and close it once the other side has too. */
  private retire(p: Peer): void {
    this.retiring.set(p, Infinity);
    this.sayMoved(p);
  }

  /** Says 'moved' on a replaced link once no transfer of this host's runs on it; it closes by `deadAfterMs` after at the latest. */
  private sayMoved(p: Peer): void {
    if (p.sending > 0 || p.movedHere) return;
    p.movedHere = true;
    this.retiring.set(p, this.timers.now() + this.deadAfterMs);
    this.trySend(p, { t: 'moved', got: p.movedThere === true });
  }

  private retired(p: Peer): void {
    this.retiring.delete(p);
    p.channel.link.close();
  }

  private receive(from: string, peer: Peer, f: Frame): void {
    peer.lastSeen = this.timers.now();
    switch (f.t) {
      case 'hb':
        return;
      case 'bye':
        this.farewell(from, peer);
        return;
      case 'head-epoch':
        this.otherHead(from, peer, f.epoch);
        return;
      case 'moved':
        peer.movedThere = true;
        // This host answers when it has moved too (it still uses the link, or sends a transfer on it).
        if (!peer.movedHere) return;
        if (f.got) this.retired(peer);
        else this.trySend(peer, { t: 'moved', got: true });
        return;
      case 'head-proof-req': {
        const prove = this.o.head.prove;
        // Asked by a member of the host on the head id, or by the head of a standby candidate: the
        // statement names both hosts, so a proof is worthless relayed to a third.
        if (!prove) {
          // The head asks every member (a standby must prove it); only other askers are out of place.
          if (from !== this.head) this.drops.add(`'head-proof-req' from ${from}, but this host has no head credential`);
          return;
        }
        void prove(headStatement(this.o.cluster, this.hostId, from, f.nonce)).then((sig) => this.trySend(peer, { t: 'head-proof', sig }));
        return;
      }
      case 'head-proof': {
        if (this.proving?.host === from) { this.proving.done(f.sig); return; }
        const statement = this.standbyChecks.get(from);
        if (statement === undefined) { this.drops.add(`'head-proof' from ${from} answers nothing asked`); return; }
        this.standbyChecks.delete(from);
        void this.o.head.check(statement, f.sig).catch(() => undefined).then((key) => {
          if (!key) { this.drops.add(`host ${from} did not prove a head credential: not a standby`); return; }
          this.credentialed.set(from, key);
          this.chooseStandby();
        });
        return;
      }
      case 'register':
        if (!this.isHead || f.host.hostId !== from) { this.drops.add(`'register' from ${from} refused`); return; }
        if (f.epoch >= this.epoch && f.epoch < Number.MAX_SAFE_INTEGER) this.epoch = f.epoch + 1;
        this.members.set(from, f.host);
        this.announce();
        this.askCredential(from);
        return;
      case 'synced':
        if (this.isHead && this.awaiting.delete(from)) this.checkSettled();
        return;
      case 'members': {
        // The standby (named by the head this host registered with) took over: register with it over this link.
        const fromStandby = this.head === '' && from === this.standby && f.head === from && f.epoch > this.epoch;
        if (!fromStandby && (f.epoch < this.epoch || f.head !== from || from !== this.registeredWith)) { this.drops.add(`stale or forged 'members' from ${from}`); return; }
        if (fromStandby) {
          this.registerWith(from, peer.channel);
          this.headFound();
        }
        const previous = this.announcedBy;
        this.announcedBy = f.head;
        this.epoch = f.epoch;
        this.head = f.head;
        this.standby = f.standby ?? '';
        this.announced = f.hosts;
        const next = new Map(f.hosts.map((h) => [h.hostId, h]));
        // A new head's first tables may lack members that have not re-registered with it yet:
        // those still linked to this host stay in for the grace (the head drops who does not come).
        if (previous !== f.head && previous !== '') this.graceUntil = this.timers.now() + this.graceMs;
        if (this.graceUntil !== 0) {
          for (const [id, h] of this.members) if (!next.has(id) && id !== previous && this.peers.has(id)) next.set(id, h);
        }
        this.members = next;
        this.linkToMembers();
        this.notify();
        return;
      }
      default:
        if (f.t === 'hello' || f.t === 'challenge' || f.t === 'answer' || f.t === 'welcome' || f.t === 'refused') {
          this.drops.add(`handshake frame '${f.t}' on an open link`);
          return;
        }
        this.onWork?.(from, f);
    }
  }

  /** Members link pairwise; the smaller id opens the link, so each pair gets one. */
  private linkToMembers(): void {
    for (const id of this.members.keys()) {
      if (id === this.hostId || this.peers.has(id) || this.hostId > id || this.opening.has(id)) continue;
      this.opening.add(id);
      this.open(hostPeerId(this.o.cluster, id))
        .catch((e) => this.drops.add(`could not link to ${id}: ${(e as Error).message}`))
        .finally(() => this.opening.delete(id));
    }
  }

  /** Head: asks a member that registered whether it holds a head credential (it may be the standby). */
  private askCredential(hostId: string): void {
    if (this.credentialed.has(hostId) || this.standbyChecks.has(hostId)) return;
    const nonce = freshNonce();
    this.standbyChecks.set(hostId, headStatement(this.o.cluster, hostId, this.hostId, nonce));
    const p = this.peers.get(hostId);
    if (p) this.trySend(p, { t: 'head-proof-req', nonce });
  }

  /**
   * Head: a standby when there is none, from the members that proved a head credential; an operator
   * host rather than one with the submitter key (usually the driver), also in place of one.
   */
  private chooseStandby(): void {
    if (!this.isHead) return;
    const candidates = [...this.credentialed].filter(([id]) => this.members.has(id) && this.peers.has(id));
    const best = candidates.find(([, key]) => key === 'operator') ?? candidates[0];
    if (!best || best[0] === this.standby) return;
    const current = this.members.has(this.standby) ? this.credentialed.get(this.standby) : undefined;
    if (current === 'operator' || (current === 'submitter' && best[1] === 'submitter')) return;
    this.standby = best[0];
    // Announced first: the standby takes the tables only from its head once it knows it is the standby.
    this.announce();
    this.onStandby?.(this.standby);
  }

  /** Head only: tells every member who is in. */
  private announce(): void {
    const f: Frame = { t: 'members', epoch: this.epoch, head: this.hostId, hosts: [...this.members.values()], ...(this.standby ? { standby: this.standby } : {}) };
    for (const [id, p] of this.peers) if (this.members.has(id)) this.trySend(p, f);
    this.notify();
  }

  private notify(): void {
    const hosts = this.hosts();
    for (const l of this.listeners) l(hosts);
  }

  private beat(): void {
    // Elections and links that failed (signalling server away, a connection that did not open) are tried again.
    const now = this.timers.now();
    if (this.headless) this.reelect();
    else this.linkToMembers();
    if (this.isHead && !this.headClaim && !this.claimingHeadId) {
      this.claimingHeadId = true;
      void this.claimHeadId().then((claim) => (claim ? undefined : this.meetHeadIdHolder())).catch(() => undefined).finally(() => { this.claimingHeadId = false; });
    }
    if (this.graceUntil !== 0 && now >= this.graceUntil) this.graceOver();
    for (const [p, until] of this.retiring) if (now >= until) this.retired(p);
    const dead = this.deadAfterMs;
    for (const [id, p] of this.peers) {
      if (now - p.lastSeen > dead) { p.channel.link.close(); this.lost(id, p); continue; }
      try { p.beats.send({ t: 'hb', seq: Math.floor(now) }); } catch { /* closing: noticed by its close event */ }
    }
  }

  private trySend(p: Peer, f: Frame): void {
    try { p.channel.send(f); } catch { /* closing: noticed by its close event */ }
  }

  /** Sends a work frame to a member. */
  send(hostId: string, f: Frame): void {
    this.peer(hostId).channel.send(f);
  }

  private peer(hostId: string): Peer {
    const p = this.peers.get(hostId);
    if (!p) throw new Error(`no link to host ${hostId}`);
    return p;
  }

  /** Is there an authenticated link to this host now? */
  linked(hostId: string): boolean {
    return this.peers.has(hostId);
  }

  /**
   * The bulk channel of the link to `hostId` now, for one transfer: its chunks stay on this link
   * (in order) even if a newer link replaces it meanwhile; `done` when the transfer ends.
   */
  bulkTo(hostId: string): BulkSender {
    const p = this.peer(hostId);
    p.sending++;
    let open = true;
    return {
      send: (bytes) => p.bulk.sendBytes(bytes),
      drained: (bytes) => p.bulk.link.drained(bytes),
      done: () => {
        if (!open) return;
        open = false;
        p.sending--;
        if (this.retiring.has(p)) this.sayMoved(p);
      },
    };
  }

  private lost(hostId: string, peer: Peer): void {
    this.retiring.delete(peer);
    if (this.peers.get(hostId) !== peer) return;
    this.peers.delete(hostId);
    if (this.proving?.host === hostId) this.proving.done(undefined);
    if (this.closed) return;
    // The head tells everyone (itself included) who is in; others learn a link is gone.
    if (this.isHead && this.members.delete(hostId)) {
      this.awaiting.delete(hostId);
      this.credentialed.delete(hostId);
      this.standbyChecks.delete(hostId);
      if (hostId === this.standby) { this.standby = ''; this.chooseStandby(); }
      this.announce();
      this.checkSettled();
      return;
    }
    if (!this.isHead && hostId === this.head) this.members.delete(hostId);
    this.notify();
    if (this.isHead) return;
    if (hostId === this.head) {
      // The head is gone: the first member to claim its id takes over (with the table it had from it).
      this.head = '';
      this.headless = true;
      // The standby goes first; other credentialed hosts wait a few heartbeats before claiming the id.
      if (this.standby !== this.hostId && this.standby !== '') this.claimAfter = this.timers.now() + STANDBY_FIRST_BEATS * this.heartbeatMs;
      this.reelect();
    }
  }

  /** A member said it is leaving: it is gone now, as if its link had closed (its links may stay open a while). */
  private farewell(hostId: string, peer: Peer): void {
    peer.channel.link.close();
    this.lost(hostId, peer);
  }

  /**
   * Another host holds the head id now (it claimed it while the signalling server had forgotten
   * this one's), or another head has a later epoch: two heads would split the cluster. Step down;
   * every link is closed, so this host's members, like this host, elect again and find the one head.
   */
  private stepDown(claim: Claim | undefined): void {
    if (this.closed || !this.isHead) return;
    if (claim) this.releaseHeadClaim(claim);
    this.headClaim = undefined;
    // Members stay as they were until the new head announces its own (no one is taken for gone).
    this.head = '';
    for (const p of this.peers.values()) p.channel.link.close();
    this.headless = true;
    this.reelect();
  }

  /** One election at a time; a failed one (signalling server down) is tried again on the next heartbeat. */
  private reelect(): void {
    if (this.electing || this.closed) return;
    this.electing = true;
    this.electOrRegister()
      .then(() => this.headFound())
      .catch((e) => this.drops.add(`re-election: ${(e as Error).message}`))
      .finally(() => { this.electing = false; });
  }

  /** A head is known again: who waited for one goes on. */
  private headFound(): void {
    this.headless = false;
    for (const w of this.headWaiters.splice(0)) w();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers?.();
    for (const w of this.headWaiters.splice(0)) w();
    for (const c of this.claims) c.release();
    // Said before the links close: a tab that is closing may be gone before they finish closing.
    for (const p of this.peers.values()) { this.trySend(p, { t: 'bye' }); p.channel.link.close(); }
    for (const p of this.retiring.keys()) p.channel.link.close();
    this.peers.clear();
    this.retiring.clear();
  }
}
