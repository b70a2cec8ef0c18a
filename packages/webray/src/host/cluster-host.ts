/**
 * A host's work in the cluster: where a task goes (this host, or another one for SPREAD, a
 * `{ nodeId }` there, or a resource only it has), shipping signed function entries before the
 * first task that needs them, and turning task/done frames into the runtime's calls. Values
 * cross hosts in the store's value codec.
 */
import type { StateFilter } from '../api/core.js';
import { RayUsageError, serializeError, type SerializedError } from '../shared/errors.js';
import type { Resources } from '../shared/options.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import { ClusterMember, type ClusterOptions, type HeadAuthority } from '../mesh/cluster.js';
import type { Frame, HostInfo, NamedActor, WireValue } from '../mesh/frames.js';
import type { Signaling } from '../mesh/signaling.js';
import type { TablesStore, Timers } from '../platform/types.js';
import { PeerSignaling, type IceServer, type SignalServer } from '../mesh/peer-signaling.js';
import { Signer, Verifier } from '../mesh/signing.js';
import { decodeValue, encodeValue } from '../store/value-codec.js';
import type { ObjectStore } from '../store/object-store.js';
import { FunctionEntries } from './function-entries.js';
import { ObjectPulls } from './object-pulls.js';
import { GcsTables, type GcsChange, type JobRecord } from '../mesh/gcs.js';
import { covers } from '../scheduler/resources.js';
import { GlobalScheduler, type ArgBytes, type LoadReport } from '../scheduler/global.js';
import { LOAD_REPORT_MS, LoadReporter } from '../scheduler/bottom-up.js';

/** A spilled task whose placement the head does not answer within this runs where it was submitted (a busy head may take a while; a gone one answers at once). */
const PLACE_TIMEOUT_MS = 10_000;
/** A request to the head that got no answer (no head now, or it left) is asked again this much later. */
const HEAD_RETRY_MS = 250;
/** The head acknowledges a change once its standby holds it, or after this long without the standby's answer. */
const REPLICA_ACK_MS = 2000;
/** Tasks per 'place' frame: well inside the frame limits even with many argument locations each. */
const PLACE_BATCH = 1000;

export interface ClusterConfig {
  /** Cluster id: hosts with the same id and token form one cluster. */
  id: string;
  /** The join token (a secret; volunteers get it in the URL fragment). */
  token: string;
  /** The submitter key's public half (JWK text, or its compact form: compactPublicKey): only code it signed runs on this host. */
  submitterPublicKey: string;
  /** The private half, for drivers whose tasks may run on other hosts (see generateSubmitterKey). It also lets a host be head. */
  submitterKey?: string;
  /**
   * The operator key's public half (JWK text or compact, a pair from generateSubmitterKey kept apart from the
   * submitter's): a host proving either this key or the submitter key may be the cluster's head.
   */
  operatorPublicKey?: string;
  /** The operator key's private half: this host may hold the cluster's tables (be head) without being able to sign code. */
  operatorKey?: string;
  /** Node: a directory where this host, as head or standby, keeps the cluster's tables (a tab uses IndexedDB). */
  stateDir?: string;
  /** @internal Where the tables are kept (the platform's, from stateDir or IndexedDB; another in tests). */
  tablesStore?: TablesStore;
  /** The PeerJS server hosts meet through (the `peer` package runs one: `{ host: '127.0.0.1', port, path }`). */
  signal?: SignalServer;
  /** ICE servers for WebRTC; `[]` (the default) for one machine or a LAN. STUN/TURN are yours to give. */
  iceServers?: IceServer[];
  /** @internal RTCPeerConnection settings the platform's WebRTC implementation needs (see Platform.prepareSignaling). */
  rtcConfig?: Record<string, unknown>;
  /** @internal Another way for hosts to find each other (in-memory, in tests). */
  signaling?: Signaling;
  heartbeatMs?: number;
  deadAfterMs?: number;
}

/** What the runtime offers the cluster side. */
export interface ClusterRuntime {
  readonly hostId: string;
  readonly jobId: string;
  /** The membership, before it joins: frames (work for this host) may arrive before start returns. */
  attachCluster(cluster: ClusterHost): void;
  registerFunction(fn: FunctionDescriptor): void;
  /** For an actor call whose arguments are being brought here: later frames from that host wait for it. */
  acceptRemoteTask(from: string, f: Extract<Frame, { t: 'task' }>, args: unknown[]): Promise<void> | undefined;
  remoteTaskDone(from: string, id: string, attempt: number, values: unknown[] | undefined, remote: { i: number; size: number }[], error: SerializedError | undefined, start: number, end: number): void;
  hostsChanged(hosts: HostInfo[]): void;
  /** The owner freed an object kept here for it: its bytes go, unless a task here still borrows them (they go when it ends). */
  keptObjectFreed(id: string): void;
  /** Creates an actor another host placed here (its class entry already verified). */
  acceptRemoteActor(from: string, f: Extract<Frame, { t: 'actor-create' }>, args: unknown[]): void;
  killActor(actor: string, noRestart: boolean): Promise<void>;
  /** The host of an actor this host created sent what a restart elsewhere needs (a logged call or a checkpoint). */
  actorLog(from: string, f: Extract<Frame, { t: 'actor-log' }>): void;
  /** A host this one sent a task to handed it back unrun (it is paused): it runs elsewhere, no retry spent. */
  remoteTaskHandedBack(from: string, id: string, attempt: number): void;
  /** The owner of a task it sent here cancelled it (ray.cancel there). */
  remoteTaskCancelled(from: string, id: string, attempt: number, force: boolean, recursive: boolean): Promise<void>;
  /** A host leaving gracefully asks this one to take objects it keeps for it: pull them, then free them there. */
  takeObjects(from: string, ids: string[]): void;
  /** This host's own rows of the state API (for another host listing the cluster). */
  localState(query: 'tasks' | 'actors', filter: StateFilter | undefined): unknown[];
}

/** What placement needs to know of a task. */
export interface Placeable {
  demand: Resources;
  strategy: unknown;
}

export function toWire(v: unknown): WireValue {
  const e = encodeValue(v);
  const bytes = new Uint8Array(e.byteLength);
  e.writeTo(bytes, 0);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromWire(w: WireValue): unknown {
  const s = atob(w);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return decodeValue(bytes.buffer, 0, bytes.byteLength, true);
}

export class ClusterHost {
  readonly member: ClusterMember;
  /** Code sent to other hosts and code received from them (signed, checked). */
  private readonly fns: FunctionEntries;
  private spreadNext = 0;
  /** Moves objects between this host's store and others'. */
  readonly pulls: ObjectPulls | undefined;
  /** Objects kept in this host's store for the host that owns them (results of its tasks), until it frees them. */
  private readonly heldFor = new Map<string, string>();
  /** Members at the last change: who left since. */
  private knownHosts = new Set<string>();
  /** Other members linked to this host, and SPREAD's turn order (a host once per task node, this one first): kept from the last change, read per task. */
  private reachable: HostInfo[] = [];
  private spreadOrder: string[] = [];
  /** The reachable members that take new work (not paused). */
  private takers: HostInfo[] = [];
  /** Is this host paused (takes no new work)? Which members said they are, and which were told this host is. */
  private pausedHere = false;
  private readonly pausedHosts = new Set<string>();
  /** Hosts this one places no work on (caught lying by a task verified with exclude: 'all'). */
  private readonly excluded = new Set<string>();
  private readonly toldPaused = new Set<string>();
  /** Head only: the cluster's tables (named actors, functions, jobs). */
  private readonly gcs = new GcsTables();
  /**
   * This host's part of the head's tables, sent again to every new head (which rebuilds its tables
   * from what its members send): its named actors, the function entries it signed or verified (fns.known), its job.
   */
  private readonly ownNames = new Map<string, { namespace: string; name: string; actor: NamedActor }>();
  private readonly jobStartedAt = Date.now();
  private jobEndedAt: number | undefined;
  /** Questions to other hosts (named actor, jobs, state rows) waiting for their answer frame, by request id. */
  private readonly answers = new Map<number, { host: string; answer: Answer['t']; done: (value: unknown) => void; unanswered: () => void }>();
  private nextReq = 1;
  /** Per sender, frames that run code wait for the signature checks before them: one host's frames take effect in order. */
  private readonly inOrder = new Map<string, Promise<unknown>>();
  /** Places the tasks hosts spill (used on the head; every host tracks membership so a new head has it). */
  private readonly global = new GlobalScheduler();
  private readonly load: LoadReporter;
  private readonly stopLoadTicks: () => void;
  /** Head: changes sent to the standby (numbered), the last it acknowledged, and who waits for an acknowledgement. */
  private replicaSeq = 0;
  private replicaAcked = 0;
  private readonly replicaWaiters = new Set<{ seq: number; done: () => void }>();
  /** Tables restored from the store, not yet outdated by another head's; and a save queued. */
  private restored = false;
  private saving: Promise<void> = Promise.resolve();
  private saveQueued = false;

  private constructor(
    private readonly rt: ClusterRuntime,
    private readonly self: HostInfo,
    options: ClusterOptions,
    verifier: Verifier,
    private readonly signer: Signer | undefined,
    private readonly store: ObjectStore | undefined,
    timers: Timers,
    private readonly tables: TablesStore | undefined,
  ) {
    this.load = new LoadReporter(() => timers.now(), (l) => this.toHead({ t: 'load', free: l.free, queued: l.queued }));
    this.stopLoadTicks = timers.every(LOAD_REPORT_MS, () => this.load.tick());
    this.member = new ClusterMember(options);
    this.fns = new FunctionEntries({
      hostId: self.hostId, verifier, signer, drops: this.member.drops,
      send: (host, f) => this.member.send(host, f),
      toHead: (f) => this.toHead(f),
      accepted: ({ d, sig }) => {
        this.rt.registerFunction(d);
        if (this.member.isHead) this.gcs.addFunction(d, sig);
      },
    });
    this.member.onWork = (from, f) => this.receive(from, f);
    this.pulls = store && new ObjectPulls(store, this.member);
    this.member.onBytes = (from, b) => {
      if (this.pulls) this.pulls.chunk(from, b);
      else this.member.drops.add(`bytes from ${from}, but this host has no object store`);
    };
    this.member.onMembers((hosts) => this.membersChanged(hosts));
    this.member.onHead = (head) => this.restoreTables(head);
    this.gcs.onChange = (c) => { this.replicate([c], this.member.standbyId); this.persist(); };
    this.member.onStandby = (standby) => {
      // A new standby gets the whole tables; what waited for the previous one's acknowledgement waits no more.
      for (const w of this.replicaWaiters) w.done();
      this.replicate(this.gcs.snapshot(), standby);
    };
  }

  /** Head and standby: keeps the tables in the store (one save at a time, the latest tables). */
  private persist(): void {
    const store = this.tables;
    if (!store || this.saveQueued || !(this.member.isHead || this.member.standbyId === this.self.hostId)) return;
    this.saveQueued = true;
    this.saving = this.saving.then(() => {
      this.saveQueued = false;
      return store.save({ epoch: this.member.currentEpoch, changes: this.gcs.snapshot() });
    }).catch((e: unknown) => this.member.drops.add(`could not save the cluster's tables to ${store.where}: ${(e as Error)?.message ?? e}`));
  }

  /** Resolves once the tables changed so far are saved (for tests). */
  saved(): Promise<void> {
    return this.saving;
  }

  /** Head: sends changes to the standby (the head's tables survive it only there and on members). */
  private replicate(changes: GcsChange[], standby: string): void {
    if (!this.member.isHead || standby === '') return;
    try { this.member.send(standby, { t: 'replica', seq: ++this.replicaSeq, changes: toWire(changes) }); } catch { /* it left: the next standby gets a snapshot */ }
  }

  /**
   * Head: resolves once the standby holds every change made so far (at once without a standby; a
   * standby that does not answer within REPLICA_ACK_MS is not waited for longer).
   */
  private replicated(): Promise<void> {
    const seq = this.replicaSeq;
    if (!this.member.isHead || !this.member.linked(this.member.standbyId) || this.replicaAcked >= seq) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { seq, done: () => { clearTimeout(timer); this.replicaWaiters.delete(w); resolve(); } };
      const timer = setTimeout(w.done, REPLICA_ACK_MS);
      this.replicaWaiters.add(w);
    });
  }

  /** A head (new, or this host) gets this host's part of the cluster's tables. */
  private restoreTables(head: string): void {
    if (head !== this.self.hostId && this.restored) {
      // Another head holds the cluster (a later epoch): the tables this host restored are outdated.
      this.restored = false;
      this.gcs.clear();
    } else if (head === this.self.hostId) {
      this.persist();
      // Restored tables name hosts of before the restart (this host's own earlier id among them):
      // once the members are back, those not among them are gone.
      if (this.restored) {
        this.restored = false;
        void this.member.settled().then(() => {
          const live = new Set(this.member.hosts().map((h) => h.hostId));
          for (const id of this.gcs.hostIds()) if (!live.has(id)) this.gcs.hostLeft(id, Date.now());
        });
      }
    }
    const send = (f: Frame) => {
      if (head === this.self.hostId) this.receive(head, f);
      else try { this.member.send(head, f); } catch { /* the link closed: the next head gets them */ }
    };
    send({ t: 'job', jobId: this.rt.jobId, state: 'RUNNING', at: this.jobStartedAt });
    if (this.jobEndedAt !== undefined) send({ t: 'job', jobId: this.rt.jobId, state: 'FINISHED', at: this.jobEndedAt });
    for (const n of this.ownNames.values()) send({ t: 'actor-name', req: 0, ...n });
    for (const e of this.fns.known.values()) {
      if (head === this.self.hostId) this.gcs.addFunction(e.d, e.sig);
      else send({ t: 'fn', d: e.d, sig: e.sig });
    }
  }

  private membersChanged(hosts: HostInfo[]): void {
    const live = new Set(hosts.map((h) => h.hostId));
    for (const h of hosts) if (!this.knownHosts.has(h.hostId)) this.global.hostJoined(h.hostId, h.resources);
    // What we kept for hosts that left is nobody's now; their transfers to us will not finish.
    for (const [id, owner] of this.heldFor) if (!live.has(owner)) { this.heldFor.delete(id); this.store?.delete(id); }
    for (const host of this.knownHosts) {
      if (live.has(host)) continue;
      this.gcs.hostLeft(host, Date.now());
      this.global.hostLeft(host);
      this.pulls?.hostLost(host);
    }
    this.pulls?.linksChanged();
    this.knownHosts = live;
    // A question to a host whose link is gone gets no answer: its asker moves on (a head's, to the next head) now.
    for (const q of [...this.answers.values()]) if (!this.member.linked(q.host)) q.unanswered();
    for (const h of this.pausedHosts) if (!live.has(h)) this.pausedHosts.delete(h);
    this.reachable = hosts.filter((h) => h.hostId !== this.self.hostId && this.member.linked(h.hostId));
    this.placementChanged();
    this.rt.hostsChanged(hosts);
  }

  /**
   * Takes a name for an actor of this host in the cluster's table: register-if-absent at the head,
   * asked until a head answers. Resolves with the actor holding the name if it was taken.
   */
  async registerName(namespace: string, name: string, actor: NamedActor): Promise<NamedActor | undefined> {
    const holder = await this.askHead<NamedActor | undefined>(
      () => this.grantName(namespace, name, actor),
      'named', (req) => ({ t: 'actor-name', req, namespace, name, actor }));
    if (!holder) this.ownNames.set(`${namespace}/${name}`, { namespace, name, actor });
    return holder;
  }

  /**
   * Head: register-if-absent, once every member has resent its names after a head change (a new
   * name must not take one of them), and answered once the standby holds it (a name granted just
   * before the head leaves is not lost). Resolves with the actor holding the name if it was taken.
   */
  private grantName(namespace: string, name: string, actor: NamedActor): Promise<NamedActor | undefined> {
    return this.member.settled().then(async () => {
      const holder = this.gcs.claimName(namespace, name, actor);
      await this.replicated();
      return holder;
    });
  }

  /** A named actor of this host died: its name is free again in the cluster. */
  releaseName(namespace: string, name: string, actorId: string): void {
    const key = `${namespace}/${name}`;
    if (this.ownNames.get(key)?.actor.actorId !== actorId) return;
    this.ownNames.delete(key);
    this.toHead({ t: 'actor-unname', namespace, name, actorId });
  }

  /**
   * Asks the head until a head answers (the head asks itself with `here`), or `until` gives up. A
   * head that leaves before answering is asked again once the next one is known: the requests are
   * idempotent.
   */
  private async askHead<T>(here: () => Promise<T>, answer: Answer['t'], question: (req: number) => Frame, until = () => false): Promise<T | undefined> {
    const none = Symbol('no answer');
    while (!this.closed && !until()) {
      if (this.member.isHead) return here();
      const got = this.member.headId === '' ? none
        : await this.ask<T | typeof none>(this.member.headId, answer, question, none, 2000 + this.member.graceMs);
      if (got !== none) return got as T;
      await new Promise((r) => setTimeout(r, HEAD_RETRY_MS));
    }
    return undefined;
  }

  /**
   * Asks `host` a question whose `answer` frame carries the same request id. Resolves with the answer,
   * or with `otherwise` if the host cannot be reached or (with `ms`) does not answer in time.
   */
  private ask<T>(host: string, answer: Answer['t'], question: (req: number) => Frame, otherwise: T, ms?: number): Promise<T> {
    return new Promise((resolve) => {
      const req = this.nextReq++;
      const timer = ms === undefined ? undefined : setTimeout(() => done(otherwise), ms);
      const done = (v: unknown) => { clearTimeout(timer); this.answers.delete(req); resolve(v as T); };
      this.answers.set(req, { host, answer, done, unanswered: () => done(otherwise) });
      try { this.member.send(host, question(req)); } catch { done(otherwise); }
    });
  }

  /**
   * An answer frame: to the question with its request id, if it was asked of the sender and is
   * answered in kind. Request ids are small counters: any member could guess one and answer first.
   */
  private answered(from: string, f: Answer, value: () => unknown): void {
    const q = this.answers.get(f.req);
    if (!q || q.host !== from || q.answer !== f.t) { this.member.drops.add(`'${f.t}' from ${from} answers no question asked of it`); return; }
    q.done(value());
  }

  /** Finds a named actor anywhere in the cluster (asks the head; while there is none, the next one). */
  lookupName(namespace: string, name: string): Promise<NamedActor | undefined> {
    // A head that just took over answers once its members have sent their parts of the tables.
    return this.askHead(() => this.member.settled().then(() => this.gcs.name(namespace, name)),
      'found', (req) => ({ t: 'lookup', req, namespace, name }));
  }

  /**
   * Every other reachable host's rows for a state query, each its newest `limit` that match (the
   * merge keeps no more); a host that does not answer within 2 s is left out.
   */
  async askState(query: 'tasks' | 'actors', filter: StateFilter | undefined): Promise<unknown[]> {
    const { filters, limit } = filter ?? {};
    const rows = await Promise.all(this.others().map((h) =>
      this.ask<unknown[]>(h.hostId, 'state-resp', (req) => ({ t: 'state-req', req, query, ...(filters ? { filters } : {}), ...(limit !== undefined ? { limit } : {}) }), [], 2000)));
    return rows.flat();
  }

  /** Sends a call to an actor that lives on another host (its calls from here keep their order: one link, in order). */
  sendActorCall(host: string, f: Extract<Frame, { t: 'task' }>): void {
    this.member.send(host, f);
  }

  /** Keeps object `id` (already in this store) for `owner`, which pulls and then frees it. */
  holdFor(id: string, owner: string): void {
    this.heldFor.set(id, owner);
  }

  /** How many objects this host keeps for their owners. */
  get keptCount(): number {
    return this.heldFor.size;
  }

  /** Leaving: asks each owner to take the objects kept here for it (they pull, then free them). */
  handOverKept(): void {
    const byOwner = new Map<string, string[]>();
    for (const [id, owner] of this.heldFor) {
      const ids = byOwner.get(owner) ?? [];
      if (ids.push(id) === 1) byOwner.set(owner, ids);
    }
    for (const [owner, ids] of byOwner) {
      for (let i = 0; i < ids.length; i += 10_000) {
        try { this.member.send(owner, { t: 'take', ids: ids.slice(i, i + 10_000) }); } catch { /* it left: membersChanged drops its objects */ }
      }
    }
  }

  /** Is object `id` kept here for the host that owns it? */
  keepsFor(id: string): boolean {
    return this.heldFor.has(id);
  }

  /** Tells the host that kept objects for us that we are done with them. */
  free(host: string, ids: string[]): void {
    try { this.member.send(host, { t: 'free', ids }); } catch { /* it left: nothing to free */ }
  }

  static async start(rt: ClusterRuntime, self: HostInfo, c: ClusterConfig, store: ObjectStore | undefined, timers: Timers): Promise<ClusterHost> {
    const verifier = await Verifier.fromPublicKey(c.submitterPublicKey);
    const signer = c.submitterKey ? await Signer.fromJwk(c.submitterKey) : undefined;
    const operator = c.operatorPublicKey ? await Verifier.fromPublicKey(c.operatorPublicKey) : undefined;
    const headSigner = c.operatorKey ? await Signer.fromJwk(c.operatorKey) : signer;
    const head: HeadAuthority = {
      ...(headSigner ? { prove: (text: string) => headSigner.signText(text) } : {}),
      check: async (text, sig) => {
        if (operator !== undefined && (await operator.verifyText(text, sig))) return 'operator';
        return (await verifier.verifyText(text, sig)) ? 'submitter' : undefined;
      },
    };
    // checkClusterConfig (host/cluster-config.ts) ran at init: a config without `signaling` has a valid `signal`.
    const signaling = c.signaling ?? (await PeerSignaling.create(c.signal!, c.iceServers ?? [], c.rtcConfig));
    const saved = c.tablesStore ? savedTables(await c.tablesStore.load().catch(() => undefined)) : undefined;
    const h = new ClusterHost(rt, self, {
      cluster: c.id, token: c.token, host: self, signaling, head, heartbeatMs: c.heartbeatMs, deadAfterMs: c.deadAfterMs, timers,
      ...(saved ? { epoch: saved.epoch } : {}),
    }, verifier, signer, store, timers, c.tablesStore);
    if (saved) {
      for (const change of saved.changes) {
        try { h.gcs.apply(change); } catch { h.member.drops.add(`a malformed change in the tables kept at ${c.tablesStore!.where}`); }
      }
      h.restored = true;
    }
    rt.attachCluster(h);
    // Joining sends this host's job to the head (restoreTables).
    await h.member.join();
    return h;
  }

  /** Other hosts this one can reach: members it has a link to (a new member is announced before it links to everyone). */
  others(): HostInfo[] {
    return this.reachable;
  }

  /** Who takes new work, and SPREAD's turn order over them (this host first, unless paused). */
  private placementChanged(): void {
    this.takers = this.reachable.filter((h) => !this.pausedHosts.has(h.hostId) && !this.excluded.has(h.hostId));
    this.spreadOrder = [...(this.pausedHere ? [] : [this.self]), ...this.takers].flatMap((h) => h.nodes.map(() => h.hostId));
    // A member that linked since this host paused hears it now (one that went and came back too).
    for (const h of this.toldPaused) if (!this.reachable.some((r) => r.hostId === h)) this.toldPaused.delete(h);
    if (this.pausedHere) for (const h of this.reachable) if (!this.toldPaused.has(h.hostId)) this.tellPaused(h.hostId, true);
  }

  /** The name of member `host` (its id if it gave none), or null if it is not a member. */
  nameOf(host: string): string | null {
    const h = host === this.self.hostId ? this.self : this.member.hosts().find((x) => x.hostId === host);
    return h ? h.hostName ?? h.hostId : null;
  }

  /** Places no more work on `host`: no task or actor of this host goes there (those pinned to its nodes excepted). */
  exclude(host: string): void {
    this.excluded.add(host);
    this.placementChanged();
  }

  /** Is `host` excluded from this host's work (exclude)? */
  isExcluded(host: string): boolean {
    return this.excluded.has(host);
  }

  /** Did member `host` say it is paused? */
  isPaused(host: string): boolean {
    return this.pausedHosts.has(host);
  }

  /** Is this host paused? (See setPaused.) */
  get paused(): boolean {
    return this.pausedHere;
  }

  /**
   * Pauses (or resumes) taking work from the cluster: every member hears it, so none places work
   * here meanwhile, and the head's global scheduler neither places work here nor counts it free.
   */
  setPaused(on: boolean): void {
    if (this.pausedHere === on) return;
    this.pausedHere = on;
    this.toldPaused.clear();
    for (const h of this.reachable) this.tellPaused(h.hostId, on);
    this.global.hostPaused(this.self.hostId, on);
    this.placementChanged();
  }

  private tellPaused(host: string, on: boolean): void {
    this.toldPaused.add(host);
    try { this.member.send(host, { t: 'pause', on }); } catch { /* it left */ }
  }

  /** Hands a task another host sent back to it, unrun: this host is paused. */
  handBack(owner: string, id: string, attempt: number): void {
    try { this.member.send(owner, { t: 'handback', id, attempt }); } catch { /* the owner left: nobody waits for it */ }
  }

  /** Has this host said that its SPREAD work stays here for want of a submitter key? */
  private warnedUnsigned = false;

  /**
   * The host a ready task should run on, or undefined for this one. Only a host that can sign
   * code sends work elsewhere.
   */
  place(t: Placeable, feasibleHere: boolean): string | undefined {
    if (this.reachable.length === 0) return undefined;
    const others = this.takers;
    if (!this.signer) {
      if (t.strategy === 'SPREAD' && !this.warnedUnsigned) {
        this.warnedUnsigned = true;
        console.warn(`webray: host ${this.self.hostId} has no submitterKey, so it cannot sign code for other hosts: its SPREAD tasks and actors stay on this host. Give init({ cluster: { submitterKey } }) to spread them across the cluster.`);
      }
      return undefined;
    }
    const s = t.strategy;
    if (typeof s === 'object' && s !== null && 'nodeId' in s) {
      // A paused host keeps what is pinned to its nodes for its resume (soft pins go elsewhere).
      const { nodeId, soft } = s as { nodeId: string; soft?: boolean };
      return (soft ? others : this.reachable).find((h) => h.nodes.includes(nodeId))?.hostId;
    }
    if (!feasibleHere) return others.find((h) => covers(h.resources, t.demand))?.hostId;
    if (s === 'SPREAD' && this.spreadOrder.length > 0) {
      // Round robin over every task node of the cluster: hosts get work in proportion to their nodes.
      const pick = this.spreadOrder[this.spreadNext++ % this.spreadOrder.length]!;
      return pick === this.self.hostId ? undefined : pick;
    }
    return undefined;
  }

  /**
   * Why a task pinned by a hard `{ nodeId, soft: false }` to another host's node cannot go there
   * (`sendable`: its arguments can cross hosts), or undefined if it can, or names no such node.
   * It could run nowhere else: its caller must hear at once, not at its timeout.
   */
  pinnedElsewhereRefusal(name: string, strategy: unknown, sendable: boolean): RayUsageError | undefined {
    if (typeof strategy !== 'object' || strategy === null || !('nodeId' in strategy) || (strategy as { soft?: boolean }).soft) return undefined;
    const node = (strategy as { nodeId: string }).nodeId;
    const host = this.others().find((h) => h.nodes.includes(node))?.hostId;
    if (host === undefined) return undefined;
    const pinned = `task ${name} is pinned to node ${node} of host ${host} ({ nodeId, soft: false })`;
    if (!this.signer) {
      return new RayUsageError(`${pinned}, but host ${this.self.hostId} has no submitterKey, so it cannot sign the code other hosts run. ` +
        `Give init({ cluster: { submitterKey } }) on this host, submit the task from a host that has it, or pin it to a node of this host.`);
    }
    if (!sendable) {
      return new RayUsageError(`${pinned}, but its arguments hold ObjectRefs nested inside values, actor handles, remote functions or spilled objects, ` +
        `which do not cross hosts yet. Pass plain values or top-level ObjectRefs, or pin it to a node of this host (or give soft: true).`);
    }
    return undefined;
  }

  /** Can this host send tasks to others? (It signs code, and others are there.) */
  get sendsWork(): boolean {
    return this.signer !== undefined && this.others().length > 0;
  }

  /** This host's load changed: the head hears of it (rate-bounded, see LoadReporter). */
  reportLoad(load: LoadReport): void {
    this.load.update(load);
  }

  /**
   * Asks the global scheduler (the head) where tasks this host cannot run now should go: a host
   * id each, or undefined for this host (it is the best place, or the head did not answer).
   */
  async placeGlobally(tasks: { demand: Resources; args: ArgBytes[] }[]): Promise<(string | undefined)[]> {
    let hosts: string[];
    if (this.member.isHead) hosts = this.placeHere(this.self.hostId, tasks);
    else {
      // Several frames for a large turn: a frame's size and task count are bounded (frames.ts).
      const asks = [];
      for (let i = 0; i < tasks.length; i += PLACE_BATCH) {
        const part = tasks.slice(i, i + PLACE_BATCH);
        // An answer that did not come (or came short) keeps its tasks here, and the others in line.
        asks.push(this.ask<string[]>(this.member.headId, 'placed', (req) => ({ t: 'place', req, tasks: part }), [], PLACE_TIMEOUT_MS)
          .then((h) => part.map((_, k) => h[k] ?? '')));
      }
      hosts = (await Promise.all(asks)).flat();
    }
    return tasks.map((_, i) => {
      const h = hosts[i];
      return h && h !== this.self.hostId && this.member.linked(h) && !this.pausedHosts.has(h) && !this.excluded.has(h) ? h : undefined;
    });
  }

  /** Resources free across the cluster, from the head's view of load (`here` when the head does not answer). */
  availableResources(here: Resources): Promise<Resources> {
    if (this.member.isHead) return Promise.resolve(this.global.available());
    return this.ask<Resources>(this.member.headId, 'avail', (req) => ({ t: 'avail-req', req }), { ...here }, 2000);
  }

  private placeHere(asker: string, tasks: { demand: Resources; args: ArgBytes[] }[]): string[] {
    return tasks.map((t) => this.global.place(t.demand, t.args) ?? asker);
  }

  /** A frame for the head (this host's own tables when it is the head). */
  private toHead(f: Frame): void {
    if (this.member.isHead) { this.receive(this.self.hostId, f); return; }
    try { this.member.send(this.member.headId, f); } catch { /* no head right now */ }
  }

  /** Sends a task (or an actor to create) to another host, its function entry (signed) first if that host lacks it; the head's table gets it too. */
  async sendTask(host: string, fn: FunctionDescriptor, f: Extract<Frame, { t: 'task' | 'actor-create' }>): Promise<void> {
    await this.fns.ship(host, fn);
    if (this.member.headId !== host && this.member.headId !== this.self.hostId) await this.fns.ship(this.member.headId, fn).catch(() => undefined);
    this.member.send(host, f);
  }

  /** The cluster's jobs, from the head. */
  async listJobs(): Promise<JobRecord[]> {
    return (await this.askHead(() => this.member.settled().then(() => this.gcs.listJobs()), 'jobs', (req) => ({ t: 'jobs-req', req }))) ?? [];
  }

  /**
   * This host's driver is done: its job ends in the head's table. Resolves once a head acknowledged
   * it (its standby holds it), asking the next head if this one goes first; or when no head can
   * come (none and no standby) or none took it within the time a failover takes (deadAfterMs, then
   * the new head's grace period).
   */
  async jobFinished(): Promise<void> {
    if (this.closed) return;
    const at = this.jobEndedAt = Date.now();
    const ended = () => { this.gcs.jobEnded(this.rt.jobId, this.self.hostId, 'FINISHED', at); return this.replicated(); };
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.askHead(ended, 'job-ack', (req) => ({ t: 'job', req, jobId: this.rt.jobId, state: 'FINISHED', at }), () => !this.member.headExpected),
      new Promise((r) => { timer = setTimeout(r, this.member.deadAfterMs + this.member.graceMs); }),
    ]);
    clearTimeout(timer);
  }

  /**
   * A result for its owner: values inline, except those listed in `remote`, which stay here to be
   * pulled. `attempt` lets the owner ignore a superseded attempt's late end.
   */
  sendDone(host: string, id: string, attempt: number, values: unknown[] | undefined, remote: { i: number; size: number }[], error: SerializedError | undefined, start: number, end: number): void {
    let f: Frame;
    try {
      f = error ? { t: 'done', id, attempt, error: jsonError(error), start, end } : { t: 'done', id, attempt, values: toWire(values), start, end };
      if (!error && remote.length) f.remote = remote;
    } catch (e) {
      f = { t: 'done', id, attempt, error: serializeError(e), start, end };
    }
    try { this.member.send(host, f); } catch { /* the owner left: nobody waits for this */ }
  }

  private after(from: string, run: () => unknown): void {
    // A frame that fails here (arguments that do not decode, options the runtime refuses) is dropped
    // and counted, as a malformed one is; it must not reject the chain (nobody would handle it).
    const next = (this.inOrder.get(from) ?? Promise.resolve()).then(run)
      .catch((e: unknown) => this.member.drops.add(`frame from ${from} failed: ${(e as Error)?.message ?? e}`));
    this.inOrder.set(from, next);
  }

  private receive(from: string, f: Frame): void {
    switch (f.t) {
      case 'actor-create':
        this.after(from, () => this.fns.refusal(f.fn, `actor class ${f.fn}`).then((refused) => {
          if (refused) this.member.drops.add(`actor class ${f.fn} from ${from}: ${refused.message}`);
          else this.rt.acceptRemoteActor(from, f, fromWire(f.args) as unknown[]);
        }));
        return;
      case 'actor-kill':
        this.after(from, () => this.rt.killActor(f.actor, f.noRestart));
        return;
      case 'actor-log':
        this.rt.actorLog(from, f);
        return;
      case 'fn':
        this.fns.received(from, { d: f.d, sig: f.sig });
        return;
      case 'task':
        // An actor call runs code this host already runs (the actor's class, checked when it was created here).
        if (f.actor !== undefined) { this.after(from, () => this.rt.acceptRemoteTask(from, f, fromWire(f.args) as unknown[])); return; }
        this.after(from, () => this.fns.refusal(f.fn, `function ${f.name}`).then((refused) => {
          if (refused) this.sendDone(from, f.id, f.attempt, undefined, [], serializeError(refused), 0, 0);
          else this.rt.acceptRemoteTask(from, f, fromWire(f.args) as unknown[]);
        }));
        return;
      case 'done':
        this.rt.remoteTaskDone(from, f.id, f.attempt, f.values === undefined ? undefined : (fromWire(f.values) as unknown[]), f.remote ?? [], f.error, f.start, f.end);
        return;
      case 'pause':
        // Said again (a peer repeating itself) it changes nothing, and costs nothing.
        if (f.on === this.pausedHosts.has(from)) return;
        // Every host keeps the global scheduler's view, so that a new head has it.
        this.global.hostPaused(from, f.on);
        if (f.on) { this.pausedHosts.add(from); this.placementChanged(); }
        else {
          this.pausedHosts.delete(from);
          // As when a host joins: work that waits for resources only that host has is placed again.
          this.membersChanged(this.member.hosts());
        }
        return;
      case 'handback':
        this.rt.remoteTaskHandedBack(from, f.id, f.attempt);
        return;
      case 'cancel':
        this.rt.remoteTaskCancelled(from, f.id, f.attempt, f.force, f.recursive).catch((e: unknown) => this.member.drops.add(`a cancel from ${from} failed here: ${String(e)}`));
        return;
      case 'take':
        this.rt.takeObjects(from, f.ids);
        return;
      case 'load':
        if (!this.member.isHead) { this.member.drops.add(`'load' sent to a host that is not the head`); return; }
        this.global.report(from, f);
        return;
      case 'place':
        if (!this.member.isHead) { this.member.drops.add(`'place' sent to a host that is not the head`); return; }
        this.member.send(from, { t: 'placed', req: f.req, hosts: this.placeHere(from, f.tasks) });
        return;
      case 'placed':
        this.answered(from, f, () => f.hosts);
        return;
      case 'avail-req':
        if (this.member.isHead) this.member.send(from, { t: 'avail', req: f.req, free: this.global.available() });
        return;
      case 'avail':
        this.answered(from, f, () => f.free);
        return;
      case 'pull':
        if (this.pulls) void this.pulls.serve(from, f);
        else this.member.send(from, { t: 'pulled', req: f.req, error: 'this host has no object store' });
        return;
      case 'pulled':
        this.pulls?.pulled(from, f);
        return;
      case 'actor-name':
        if (!this.member.isHead || f.actor.hostId !== from) { this.member.drops.add(`'actor-name' from ${from} refused`); return; }
        // A host resending its names to a new head (req 0) takes them back at once; a new name waits
        // until every member has resent theirs, so that it cannot take one of them.
        if (f.req === 0) { this.gcs.claimName(f.namespace, f.name, f.actor); return; }
        void this.grantName(f.namespace, f.name, f.actor).then((holder) => this.reply(from, { t: 'named', req: f.req, ...(holder ? { holder } : {}) }));
        return;
      case 'named':
        this.answered(from, f, () => f.holder);
        return;
      case 'replica': {
        if (this.member.isHead || from !== this.member.headId || this.member.standbyId !== this.self.hostId) {
          this.member.drops.add(`'replica' from ${from}, which is not this standby's head`);
          return;
        }
        const changes = fromWire(f.changes);
        if (!Array.isArray(changes)) { this.member.drops.add(`'replica' from ${from} without a list of changes`); return; }
        for (const c of changes as GcsChange[]) this.gcs.apply(c);
        this.reply(from, { t: 'replica-ack', seq: f.seq });
        return;
      }
      case 'replica-ack':
        if (!this.member.isHead || from !== this.member.standbyId) return;
        this.replicaAcked = Math.max(this.replicaAcked, f.seq);
        for (const w of this.replicaWaiters) if (w.seq <= this.replicaAcked) w.done();
        return;
      case 'actor-unname':
        if (this.member.isHead) this.gcs.releaseName(f.namespace, f.name, f.actorId, from);
        return;
      case 'lookup':
        if (!this.member.isHead) { this.member.drops.add(`'lookup' sent to a host that is not the head`); return; }
        void this.lookupName(f.namespace, f.name).then((actor) => this.reply(from, { t: 'found', req: f.req, actor }));
        return;
      case 'fn-get':
        if (!this.member.isHead) return;
        // An entry the head is still checking is in its table once the check is done (a new head's, once its members sent theirs).
        void this.member.settled().then(() => this.fns.checked(f.id)).then(() => {
          const entry = this.gcs.fn(f.id);
          if (!entry) return;
          // The head asking itself takes the entry as if it had arrived.
          if (from === this.self.hostId) this.receive(from, { t: 'fn', d: entry.d, sig: entry.sig });
          else this.member.send(from, { t: 'fn', d: entry.d, sig: entry.sig });
        });
        return;
      case 'job':
        if (!this.member.isHead) { this.member.drops.add(`'job' sent to a host that is not the head`); return; }
        // `at`: when the job started or ended, as its host tells a new head.
        if (f.state === 'RUNNING') this.gcs.jobStarted(f.jobId, from, f.at ?? Date.now());
        else this.gcs.jobEnded(f.jobId, from, 'FINISHED', f.at ?? Date.now());
        if (f.req) void this.replicated().then(() => this.reply(from, { t: 'job-ack', req: f.req! }));
        return;
      case 'job-ack':
        this.answered(from, f, () => undefined);
        return;
      case 'jobs-req':
        if (this.member.isHead) void this.listJobs().then((jobs) => this.reply(from, { t: 'jobs', req: f.req, jobs: toWire(jobs) }));
        return;
      case 'jobs':
        this.answered(from, f, () => rowsOf(f.jobs));
        return;
      case 'found':
        this.answered(from, f, () => f.actor);
        return;
      case 'state-req':
        this.member.send(from, { t: 'state-resp', req: f.req, rows: toWire(this.rt.localState(f.query, { filters: f.filters, limit: f.limit })) });
        return;
      case 'state-resp':
        this.answered(from, f, () => rowsOf(f.rows));
        return;
      case 'free':
        for (const id of f.ids) {
          if (this.heldFor.get(id) !== from) continue;
          this.heldFor.delete(id);
          this.rt.keptObjectFreed(id);
        }
        return;
      default:
        this.member.drops.add(`unexpected '${f.t}' from ${from}`);
    }
  }

  /** An answer sent later than its question came: the asker may have left meanwhile. */
  private reply(to: string, f: Frame): void {
    try { this.member.send(to, f); } catch { /* it left: nobody waits for this */ }
  }

  private closed = false;

  close(): void {
    this.closed = true;
    this.stopLoadTicks();
    this.member.close();
    for (const q of [...this.answers.values()]) q.unanswered();
  }
}

/** Frames are JSON: an error's own properties JSON cannot carry (a BigInt) are left out, rather than the whole answer. */
function jsonError(e: SerializedError): SerializedError {
  try { JSON.stringify(e); return e; } catch {
    const { props: _dropped, cause, ...rest } = e;
    return cause ? { ...rest, cause: jsonError(cause) } : rest;
  }
}

/** Tables as a store kept them (a file or database anyone on the machine may have edited: checked). */
function savedTables(v: unknown): { epoch: number; changes: GcsChange[] } | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { epoch, changes } = v as { epoch?: unknown; changes?: unknown };
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0 || !Array.isArray(changes)) return undefined;
  return { epoch, changes: changes.filter((c): c is GcsChange => typeof c === 'object' && c !== null) };
}

type Answer = Extract<Frame, { t: 'found' | 'named' | 'job-ack' | 'jobs' | 'state-resp' | 'placed' | 'avail' }>;

/**
 * Rows another host sent (jobs, tasks, actors): the objects among them; the state API reads fields
 * of each. Every row takes bytes, so an array longer than its text is mostly holes (a few bytes
 * say "four billion of them"): walking it would stall this host for minutes.
 */
function rowsOf(w: WireValue): Record<string, unknown>[] {
  const rows = fromWire(w);
  if (!Array.isArray(rows) || rows.length > w.length) return [];
  return rows.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null && !Array.isArray(r));
}
