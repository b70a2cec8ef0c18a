/**
 * The `webray host` bin's command line (the built bin, as npx runs it): the join token never
 * comes from the command line, and mistakes are answered with what to do.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../dist/bin/webray.js', import.meta.url));
const HOST = ['host', '--signal', '127.0.0.1:9', '--cluster', 'c', '--public-key', '{"kty":"EC"}'];

function run(args: string[], env: Record<string, string> = {}) {
  const { WEBRAY_TOKEN: _, ...rest } = process.env;
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...rest, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('webray host', () => {
  it('refuses a token on the command line and says where it goes', () => {
    const r = run([...HOST, '--token', 'secret'], { WEBRAY_TOKEN: 'secret' });
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/--token: .*set WEBRAY_TOKEN or give --token-file/);
  });

  it('says how to give the token when there is none', () => {
    const r = run(HOST);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/no join token: set WEBRAY_TOKEN or give --token-file/);
  });

  it('takes the token from --token-file and goes on to join (here refused: the key is not a key)', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'webray-bin-')), 'token');
    fs.writeFileSync(file, 'secret\n');
    const r = run([...HOST, '--token-file', file]);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/^error /);
  });

  it('takes a compact public key and a host name on the command line, checking both', () => {
    const base = ['host', '--signal', '127.0.0.1:9', '--cluster', 'c'];
    const cut = run([...base, '--public-key', 'AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB'], { WEBRAY_TOKEN: 't' });
    expect(cut.out).toMatch(/'submitterPublicKey': .* is no point of the P-256 curve/);
    const named = run([...base, '--public-key', 'AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF', '--name', ' padded'], { WEBRAY_TOKEN: 't' });
    expect(named.out).toMatch(/hostName must be 1–64 characters/);
  });

  it('answers an unknown command or a malformed --signal with the usage', () => {
    expect(run(['serve']).err).toMatch(/unknown command 'serve'[\s\S]*usage: webray host/);
    const r = run(['host', '--signal', 'nowhere', '--cluster', 'c', '--public-key', '{}'], { WEBRAY_TOKEN: 't' });
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/--signal: expected HOST:PORT/);
  });
});
