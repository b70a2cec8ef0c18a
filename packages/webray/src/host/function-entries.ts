/**
 * The code this host runs for others, and the code it sends: function entries signed by the
 * submitter key. Entries it sends are signed once (a module's with the digest of its content) and
 * shipped once per host; entries it receives run only once their signature checks out (an entry
 * a task arrives without is fetched from the head), and a module's only while its URL still serves
 * the content that was signed.
 */
import { ModuleChangedError, RayUsageError } from '../shared/errors.js';
import { moduleDigest } from '../platform/module-digest.js';
import type { FunctionDescriptor } from '../shared/protocol.js';
import type { DropCounter } from '../mesh/channel.js';
import type { Frame } from '../mesh/frames.js';
import type { Signer, Verifier } from '../mesh/signing.js';

/** How long a host waits for the head to send an entry it asked for. */
const FETCH_MS = 5000;

export interface SignedEntry {
  d: FunctionDescriptor;
  sig: string;
}

export interface EntryLinks {
  readonly hostId: string;
  readonly verifier: Verifier;
  /** Set on a host with the submitter key: only it signs. */
  readonly signer: Signer | undefined;
  readonly drops: DropCounter;
  send(host: string, f: Frame): void;
  toHead(f: Frame): void;
  /** An entry whose signature checked out: it may run here. */
  accepted(e: SignedEntry): void;
}

export class FunctionEntries {
  /** Functions each host already has from us. */
  private readonly shipped = new Map<string, Set<string>>();
  /** Signature checks of entries received (frames arrive in order: an entry before its tasks). */
  private readonly verified = new Map<string, Promise<boolean>>();
  /** Entries as signed and shipped (a module's with its content digest), by function id. */
  private readonly signatures = new Map<string, Promise<SignedEntry>>();
  /** Received module entries: whether the module still has the content that was signed (an error if not). */
  private readonly moduleChecks = new Map<string, Promise<ModuleChangedError | undefined>>();
  /** Entries asked of the head, by id: resolved with their signature check when they arrive. */
  private readonly fetching = new Map<string, (ok: boolean) => void>();
  /** Entries this host signed or verified: its part of the head's table, sent again to every new head. */
  readonly known = new Map<string, SignedEntry>();

  constructor(private readonly links: EntryLinks) {}

  /** Sends `host` the signed entry of `fn`, unless it has it from us already. */
  async ship(host: string, fn: FunctionDescriptor): Promise<void> {
    let sent = this.shipped.get(host);
    if (!sent) this.shipped.set(host, (sent = new Set()));
    if (sent.has(fn.id)) return;
    let signed = this.signatures.get(fn.id);
    if (!signed) {
      this.signatures.set(fn.id, (signed = this.seal(fn)));
      signed.catch(() => this.signatures.delete(fn.id));
    }
    const e = await signed;
    this.known.set(e.d.id, e);
    this.links.send(host, { t: 'fn', d: e.d, sig: e.sig });
    sent.add(fn.id);
  }

  /** Signs an entry; a module's entry first gets the digest of the content its URL serves now. */
  private async seal(fn: FunctionDescriptor): Promise<SignedEntry> {
    const d = fn.kind === 'module' ? { ...fn, sha256: await moduleDigest(fn.url) } : fn;
    return { d, sig: await this.links.signer!.sign(d) };
  }

  /** An entry another host sent: checked, then accepted (or dropped, counted, if forged). */
  received(from: string, e: SignedEntry): void {
    const { d } = e;
    const check = this.links.verifier.verify(d, e.sig).then((ok) => {
      if (ok) {
        if (d.kind === 'module' && !this.moduleChecks.has(d.id)) this.moduleChecks.set(d.id, this.checkModule(d));
        this.known.set(d.id, e);
        this.links.accepted(e);
      } else this.links.drops.add(`function ${d.name} from ${from} is not signed by the submitter key`);
      // Only a genuine entry ends a fetch: a forged one arriving meanwhile must not fail the tasks waiting for it.
      if (ok) this.fetching.get(d.id)?.(true);
      return ok;
    });
    if (this.fetching.has(d.id)) return;
    // A forged entry for an id does not shadow a genuine one that comes later.
    const before = this.verified.get(d.id);
    this.verified.set(d.id, before ? before.then((ok) => ok || check) : check);
  }

  /** Resolves once the check of entry `id`, if one runs, is done. */
  checked(id: string): Promise<unknown> {
    return this.verified.get(id) ?? Promise.resolve();
  }

  /** Why this host must not run entry `id` (not signed by the submitter key, or a module whose content changed), or undefined: it may. */
  async refusal(id: string, what: string): Promise<Error | undefined> {
    if (!(await (this.verified.get(id) ?? this.fetch(id)))) {
      return new RayUsageError(`host ${this.links.hostId} runs only code signed by the cluster's submitter key, and ${what} was not`);
    }
    return this.moduleChecks.get(id);
  }

  /** An entry this host lacks, from the head's table (checked like any entry). */
  private fetch(id: string): Promise<boolean> {
    const check = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => { this.fetching.delete(id); resolve(false); }, FETCH_MS);
      this.fetching.set(id, (ok) => { clearTimeout(timer); this.fetching.delete(id); resolve(ok); });
    });
    this.verified.set(id, check);
    this.links.toHead({ t: 'fn-get', id });
    return check;
  }

  /** Does a (signed) module entry's URL still serve the content it was signed with? */
  private async checkModule(d: Extract<FunctionDescriptor, { kind: 'module' }>): Promise<ModuleChangedError | undefined> {
    if (!d.sha256) return new ModuleChangedError(d.url, 'was signed without a digest of its content');
    let now: string;
    try {
      now = await moduleDigest(d.url);
    } catch (e) {
      return new ModuleChangedError(d.url, `cannot be read by host ${this.links.hostId} to check its content (${(e as Error)?.message ?? e})`);
    }
    return now === d.sha256 ? undefined : new ModuleChangedError(d.url, `serves content with SHA-256 ${now}, not ${d.sha256} as when it was signed`);
  }
}
