/**
 * The head's tables (Ray's GCS): the cluster's named actors, its function entries (with their
 * signatures, so any host can fetch and check one), and its jobs. The host table is the
 * membership itself (cluster.ts). Only the head's copy is authoritative; hosts ask it. Every
 * change is also a `GcsChange`, which the head replicates to its standby (`apply` there).
 */
import type { FunctionDescriptor } from '../shared/protocol.js';
import type { NamedActor } from './frames.js';

export interface JobRecord {
  jobId: string;
  /** The host whose driver runs the job. */
  hostId: string;
  state: 'RUNNING' | 'FINISHED' | 'FAILED';
  startedAt: number;
  endedAt: number | null;
}

/** Names are unique per namespace (either may hold any character). */
const nameKey = (namespace: string, name: string) => JSON.stringify([namespace, name]);

/** One change to the tables, as the head sends it to its standby. */
export type GcsChange =
  | { k: 'name'; namespace: string; name: string; actor: NamedActor }
  | { k: 'unname'; namespace: string; name: string; actorId: string; hostId: string }
  | { k: 'fn'; d: FunctionDescriptor; sig: string }
  | { k: 'job'; job: JobRecord }
  | { k: 'left'; hostId: string; at: number };

export class GcsTables {
  /** Each change made (to replicate it). */
  onChange: ((c: GcsChange) => void) | undefined;

  private readonly names = new Map<string, NamedActor>();
  private readonly functions = new Map<string, { d: FunctionDescriptor; sig: string }>();
  private readonly jobs = new Map<string, JobRecord>();

  /**
   * Register-if-absent: takes the name for `actor` unless another actor holds it (the same actor
   * again is fine: hosts resend their names to a new head). Returns the holder when taken.
   */
  claimName(namespace: string, name: string, actor: NamedActor): NamedActor | undefined {
    const key = nameKey(namespace, name);
    const holder = this.names.get(key);
    // A restart's later incarnation takes its own name over; an older one (a thawed original) never does.
    if (holder && (holder.actorId !== actor.actorId || (holder.incarnation ?? 0) > (actor.incarnation ?? 0))) return holder;
    if (holder === undefined || holder.hostId !== actor.hostId || holder.incarnation !== actor.incarnation) this.onChange?.({ k: 'name', namespace, name, actor });
    this.names.set(key, actor);
    return undefined;
  }

  /** The named actor died: its name is free again (only its own host may say so). */
  releaseName(namespace: string, name: string, actorId: string, hostId: string): void {
    const key = nameKey(namespace, name);
    const holder = this.names.get(key);
    if (holder?.actorId !== actorId || holder.hostId !== hostId) return;
    this.names.delete(key);
    this.onChange?.({ k: 'unname', namespace, name, actorId, hostId });
  }

  name(namespace: string, name: string): NamedActor | undefined {
    return this.names.get(nameKey(namespace, name));
  }

  /** Keeps the first entry for an id: ids are content hashes, so a later different one is forged. */
  addFunction(d: FunctionDescriptor, sig: string): void {
    if (this.functions.has(d.id)) return;
    this.functions.set(d.id, { d, sig });
    this.onChange?.({ k: 'fn', d, sig });
  }

  fn(id: string): { d: FunctionDescriptor; sig: string } | undefined {
    return this.functions.get(id);
  }

  jobStarted(jobId: string, hostId: string, at: number): void {
    if (this.jobs.has(jobId)) return;
    const job: JobRecord = { jobId, hostId, state: 'RUNNING', startedAt: at, endedAt: null };
    this.jobs.set(jobId, job);
    this.onChange?.({ k: 'job', job: { ...job } });
  }

  jobEnded(jobId: string, hostId: string, state: 'FINISHED' | 'FAILED', at: number): void {
    const j = this.jobs.get(jobId);
    if (!j || j.hostId !== hostId || j.state !== 'RUNNING') return;
    j.state = state;
    j.endedAt = at;
    this.onChange?.({ k: 'job', job: { ...j } });
  }

  listJobs(): JobRecord[] {
    return [...this.jobs.values()];
  }

  /** A host left: its named actors are gone and its running jobs failed. */
  hostLeft(hostId: string, at: number): void {
    let changed = false;
    for (const [key, a] of this.names) if (a.hostId === hostId) { this.names.delete(key); changed = true; }
    for (const j of this.jobs.values()) if (j.hostId === hostId && j.state === 'RUNNING') { j.state = 'FAILED'; j.endedAt = at; changed = true; }
    if (changed) this.onChange?.({ k: 'left', hostId, at });
  }

  /** The standby takes a change the head made. */
  apply(c: GcsChange): void {
    switch (c.k) {
      case 'name': this.claimName(c.namespace, c.name, c.actor); return;
      case 'unname': this.releaseName(c.namespace, c.name, c.actorId, c.hostId); return;
      case 'fn': this.addFunction(c.d, c.sig); return;
      case 'job': this.jobs.set(c.job.jobId, { ...c.job }); this.onChange?.(c); return;
      case 'left': this.hostLeft(c.hostId, c.at);
    }
  }

  /** Hosts the tables name (named actors' and jobs' hosts). */
  hostIds(): Set<string> {
    return new Set([...[...this.names.values()].map((a) => a.hostId), ...[...this.jobs.values()].map((j) => j.hostId)]);
  }

  /** Forgets everything (tables restored from a store that another head's outdate). */
  clear(): void {
    this.names.clear();
    this.functions.clear();
    this.jobs.clear();
  }

  /** The whole tables as changes: what a new standby gets first. */
  snapshot(): GcsChange[] {
    return [
      ...[...this.names].map(([key, actor]): GcsChange => {
        const [namespace, name] = JSON.parse(key) as [string, string];
        return { k: 'name', namespace, name, actor };
      }),
      ...[...this.functions.values()].map(({ d, sig }): GcsChange => ({ k: 'fn', d, sig })),
      ...[...this.jobs.values()].map((job): GcsChange => ({ k: 'job', job: { ...job } })),
    ];
  }
}
