import { describe, expect, it } from 'vitest';
import { DropCounter, FrameChannel } from './channel.js';
import { frameText } from './frames.js';
import { memoryLinkPair } from './link.js';

describe('a frame channel', () => {
  it('cuts off a peer that floods it before anything reads its frames, and counts why', async () => {
    const [a, b] = memoryLinkPair();
    const drops = new DropCounter();
    new FrameChannel(b, drops);
    const closed = new Promise<void>((resolve) => b.onClose(resolve));
    for (let seq = 0; seq < 100; seq++) a.send(frameText({ t: 'hb', seq }));
    await closed;
    expect(drops.reasons).toEqual(['more than 64 frames before this host read any: link closed']);
    expect(() => a.send(frameText({ t: 'hb', seq: 100 }))).toThrow();
  });
});
