// A pull from a host that cannot send any more fails at once with ObjectLostError (so the owner
// makes the object again), not after the 30 s stall watchdog.
import { describe, expect, it } from 'vitest';
import type { ClusterMember } from '../mesh/cluster.js';
import type { ObjectStore } from '../store/object-store.js';
import { ObjectLostError } from '../shared/errors.js';
import { ObjectPulls } from './object-pulls.js';

/** A member linked to the hosts in `linked`; frames to others throw, as ClusterMember.send does. */
function memberLinkedTo(linked: Set<string>): ClusterMember {
  return {
    linked: (h: string) => linked.has(h),
    send: (h: string) => { if (!linked.has(h)) throw new Error(`no link to host ${h}`); },
    drops: { add: () => undefined },
  } as unknown as ClusterMember;
}

const store = {} as ObjectStore;

describe('pulls from a host that is gone', () => {
  it('fail at once with ObjectLostError when there is no link to the host', async () => {
    const pulls = new ObjectPulls(store, memberLinkedTo(new Set()));
    const err = await pulls.pull('b1', 'obj1').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectLostError);
    expect((err as Error).message).toMatch(/host b1, which had it, is not linked to this host/);
  });

  it('fail when the link to the sending host drops, without waiting for the stall watchdog', async () => {
    const linked = new Set(['b1', 'c1']);
    const pulls = new ObjectPulls(store, memberLinkedTo(linked));
    const fromB = pulls.pull('b1', 'obj1').then(() => 'done', (e: unknown) => e);
    const fromC = pulls.pull('c1', 'obj2').then(() => 'done', (e: unknown) => e);
    linked.delete('b1');
    pulls.linksChanged();
    const err = await fromB;
    expect(err).toBeInstanceOf(ObjectLostError);
    expect((err as Error).message).toMatch(/the link to host b1 dropped during the transfer/);
    // The transfer from a host still linked went on: only its own end fails it.
    pulls.hostLost('c1');
    expect(((await fromC) as Error).message).toMatch(/host c1 left the cluster during the transfer/);
  });
});
