/**
 * The head's tables (Ray's GCS): the cluster's named actors, its function entries (with their
 * signatures, so any host can fetch and check one), and its jobs. The host table is the
 * membership itself (cluster.ts). Only the head's copy is authoritative; hosts ask it.
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

export class GcsTables {
  private readonly names = new Map<string, NamedActor>();
  private readonly functions = new Map<string, { d: FunctionDescriptor; sig: string }>();
  private readonly jobs = new Map<string, JobRecord>();

  /**
   * Register-if-absent: takes the name for `actor` unless another actor holds it (the same actor
   * again is fine: hosts resend their names to a new head). Returns the holder when taken.
   */
  claimName(namespace: string, name: string, actor: NamedActor): NamedActor | undefined {
    const key = `${namespace}/${name}`;
    const holder = this.names.get(key);
    // A restart's later incarnation takes its own name over; an older one (a thawed original) never does.
    if (holder && (holder.actorId !== actor.actorId || (holder.incarnation ?? 0) > (actor.incarnation ?? 0))) return holder;
    this.names.set(key, actor);
    return undefined;
  }

  /** The named actor died: its name is free again (only its own host may say so). */
  releaseName(namespace: string, name: string, actorId: string, hostId: string): void {
    const key = `${namespace}/${name}`;
    const holder = this.names.get(key);
    if (holder?.actorId === actorId && holder.hostId === hostId) this.names.delete(key);
  }

  name(namespace: string, name: string): NamedActor | undefined {
    return this.names.get(`${namespace}/${name}`);
  }

  /** Keeps the first entry for an id: ids are content hashes, so a later different one is forged. */
  addFunction(d: FunctionDescriptor, sig: string): void {
    if (!this.functions.has(d.id)) this.functions.set(d.id, { d, sig });
  }

  fn(id: string): { d: FunctionDescriptor; sig: string } | undefined {
    return this.functions.get(id);
  }

  jobStarted(jobId: string, hostId: string, at: number): void {
    if (!this.jobs.has(jobId)) this.jobs.set(jobId, { jobId, hostId, state: 'RUNNING', startedAt: at, endedAt: null });
  }

  jobEnded(jobId: string, hostId: string, state: 'FINISHED' | 'FAILED', at: number): void {
    const j = this.jobs.get(jobId);
    if (!j || j.hostId !== hostId || j.state !== 'RUNNING') return;
    j.state = state;
    j.endedAt = at;
  }

  listJobs(): JobRecord[] {
    return [...this.jobs.values()];
  }

  /** A host left: its named actors are gone and its running jobs failed. */
  hostLeft(hostId: string, at: number): void {
    for (const [key, a] of this.names) if (a.hostId === hostId) this.names.delete(key);
    for (const j of this.jobs.values()) if (j.hostId === hostId && j.state === 'RUNNING') { j.state = 'FAILED'; j.endedAt = at; }
  }
}
