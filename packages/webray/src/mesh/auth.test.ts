import { describe, expect, it } from 'vitest';
import { ClusterAuthError } from '../shared/errors.js';
import { authenticateInitiator, authenticateResponder, type Credentials } from './auth.js';
import { DropCounter, FrameChannel } from './channel.js';
import type { Frame } from './frames.js';
import { memoryLinkPair, type Link, type LinkData } from './link.js';

const creds = (host: string, token = 'join-secret', cluster = 'c1'): Credentials => ({ cluster, host, token });

function channels(): [FrameChannel, FrameChannel, Link, Link] {
  const [a, b] = memoryLinkPair();
  return [new FrameChannel(a, new DropCounter()), new FrameChannel(b, new DropCounter()), a, b];
}

/** Everything one side sent, as text. */
function tap(link: Link): LinkData[] {
  const sent: LinkData[] = [];
  const send = link.send.bind(link);
  link.send = (d) => { sent.push(d); send(d); };
  return sent;
}

describe('joining a cluster: challenge–response on the join token', () => {
  it('admits two hosts with the same token, each learning the other\'s id, and the token never crosses the wire', async () => {
    const [ca, cb, la, lb] = channels();
    const wire = [...[la, lb].map(tap)];
    const [a, b] = await Promise.all([authenticateInitiator(ca, creds('host-a')), authenticateResponder(cb, creds('host-b'))]);
    expect(a).toBe('host-b');
    expect(b).toBe('host-a');
    const all = wire.flat().join('\n');
    expect(all).not.toContain('join-secret');
    expect(all).toContain('"t":"welcome"');
  });

  it('refuses a host with a wrong token on both sides, and tells it why', async () => {
    const [ca, cb] = channels();
    const [a, b] = await Promise.allSettled([authenticateInitiator(ca, creds('intruder', 'guess')), authenticateResponder(cb, creds('host-b'))]);
    expect(a.status).toBe('rejected');
    expect(b.status).toBe('rejected');
    expect((a as PromiseRejectedResult).reason).toBeInstanceOf(ClusterAuthError);
    expect(String((a as PromiseRejectedResult).reason.message)).toMatch(/does not know this cluster's join token/);
  });

  it('names the refused host (the one with the wrong token), on both sides', async () => {
    const [ca, cb] = channels();
    const [a, b] = await Promise.allSettled([authenticateInitiator(ca, creds('intruder', 'guess')), authenticateResponder(cb, creds('host-b'))]);
    for (const r of [a, b]) {
      const message = String((r as PromiseRejectedResult).reason.message);
      expect(message).toMatch(/host intruder does not know this cluster's join token/);
      expect(message).not.toMatch(/host host-b does not know/);
    }
  });

  it('refuses a host of another cluster', async () => {
    const [ca, cb] = channels();
    const [, b] = await Promise.allSettled([authenticateInitiator(ca, creds('a', 'join-secret', 'other')), authenticateResponder(cb, creds('host-b'))]);
    expect((b as PromiseRejectedResult).reason.message).toMatch(/this is cluster c1, not other/);
  });

  it('refuses a replayed answer: one recorded on an earlier connection does not open a new one', async () => {
    // Record an honest handshake.
    const [ca, cb, la] = channels();
    const sent = tap(la);
    await Promise.all([authenticateInitiator(ca, creds('host-a')), authenticateResponder(cb, creds('host-b'))]);
    const hello = JSON.parse(sent[0] as string) as Frame;
    const answer = JSON.parse(sent[1] as string) as Frame;
    // Replay it, without the token, against a fresh responder.
    const [x, y, lx] = channels();
    const victim = authenticateResponder(y, creds('host-b'));
    x.send(hello);
    await x.next(5000); // its challenge, with a fresh nonce
    x.send(answer);
    await expect(victim).rejects.toThrow(/does not know this cluster's join token/);
    void lx;
  });

  it('drops malformed frames during the handshake without failing it', async () => {
    const [ca, cb, la] = channels();
    la.send('not json');
    la.send(JSON.stringify({ t: 'hello', cluster: 'c1', host: 'x'.repeat(500), nonce: 'zz' }));
    const [a, b] = await Promise.all([authenticateInitiator(ca, creds('host-a')), authenticateResponder(cb, creds('host-b'))]);
    expect([a, b]).toEqual(['host-b', 'host-a']);
    expect(cb.drops.count).toBe(2);
    expect(cb.drops.reasons).toEqual(['not JSON', "'hello' frame with a bad 'host'"]);
  });
});
