import { describe, expect, it } from 'vitest';
import { isHostName, readableHostName } from './host-name.js';
import { parseFrame } from '../mesh/frames.js';

describe('host names', () => {
  it('are 1–64 characters people can read: no control, format (bidi override) or unpaired surrogate characters, no padding', () => {
    for (const ok of ['tab 3f2a', 'lab laptop ☕', 'Rechner von Jürgen', 'x'.repeat(64), '東京 pid 42']) expect(isHostName(ok), ok).toBe(true);
    for (const bad of ['', 'x'.repeat(65), 'tab\n1', 'tab\u0000', 'a\u202Eb', '\uDC00', ' tab', 'tab ', 7, null]) expect(isHostName(bad), String(bad)).toBe(false);
  });

  it('are checked on the wire where membership carries them', () => {
    const register = (hostName: unknown) => JSON.stringify({ t: 'register', host: { hostId: 'h1', resources: {}, nodes: [], hostName }, epoch: 0 });
    expect(parseFrame(register('tab 1')).ok).toBe(true);
    expect(parseFrame(register('tab\u202E1'))).toEqual({ ok: false, why: "'register' frame with a bad 'host'" });
    expect(parseFrame(JSON.stringify({ t: 'members', epoch: 1, head: 'h1', hosts: [{ hostId: 'h1', resources: {}, nodes: [], hostName: 'y'.repeat(65) }] })).ok).toBe(false);
  });

  it('a default name made from a machine\'s hostname is always one peers accept: odd characters dropped, trimmed, cut, else the fallback', () => {
    expect(readableHostName(' pid 42', 'host ab12')).toBe('pid 42');
    expect(readableHostName('lab\u0007box\u202E pid 7', 'host ab12')).toBe('labbox pid 7');
    expect(readableHostName('x'.repeat(80), 'host ab12')).toBe('x'.repeat(64));
    expect(readableHostName('', 'host ab12')).toBe('host ab12');
    expect(readableHostName('\u0000\u0001', 'host ab12')).toBe('host ab12');
  });
});
