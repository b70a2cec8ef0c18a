import { describe, expect, it } from 'vitest';
import { compactPublicKey, keyFingerprint } from './compact-key.js';
import { generateSubmitterKey, Signer, Verifier } from './signing.js';
import { checkClusterConfig } from '../host/cluster-config.js';
import { RayUsageError } from '../shared/errors.js';
import { MemorySignaling } from './signaling.js';

const keys = await Promise.all(Array.from({ length: 6 }, () => generateSubmitterKey()));

describe('compact public keys', () => {
  it('are 44 characters of base64url, and check the signatures the JWK checks', async () => {
    for (const k of keys) {
      const compact = compactPublicKey(k.publicKey);
      expect(compact).toMatch(/^[A-Za-z0-9_-]{44}$/);
      expect(compactPublicKey(compact)).toBe(compact);
      const sig = await (await Signer.fromJwk(k.privateKey)).signText('statement');
      const verifier = await Verifier.fromPublicKey(compact);
      expect(await verifier.verifyText('statement', sig)).toBe(true);
      expect(await verifier.verifyText('other statement', sig)).toBe(false);
    }
  });

  it('name the other point with the same x when the parity is flipped (a valid key, but not the signer\'s)', async () => {
    const k = keys[0]!;
    const compact = compactPublicKey(k.publicKey);
    const bytes = Uint8Array.from(atob(compact.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    bytes[0] ^= 1;
    const other = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(other).not.toBe(compact);
    const sig = await (await Signer.fromJwk(k.privateKey)).signText('statement');
    expect(await (await Verifier.fromPublicKey(other)).verifyText('statement', sig)).toBe(false);
    expect(await keyFingerprint(other)).not.toBe(await keyFingerprint(compact));
  });

  it('fingerprint a key the same from its JWK and its compact form: SHA-256 of the raw point, 8 bytes in hex groups', async () => {
    const k = keys[1]!;
    const fp = await keyFingerprint(k.publicKey);
    expect(fp).toMatch(/^[0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4}$/);
    expect(await keyFingerprint(compactPublicKey(k.publicKey))).toBe(fp);
    const raw = await crypto.subtle.exportKey('raw', await crypto.subtle.importKey('jwk', JSON.parse(k.publicKey) as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']));
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', raw));
    expect(fp.replace(/ /g, '')).toBe([...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(''));
    expect(await keyFingerprint(keys[2]!.publicKey)).not.toBe(fp);
  });

  it('refuse malformed keys with a typed error saying what is expected', async () => {
    const compact = compactPublicKey(keys[0]!.publicKey);
    const bad = [
      compact.slice(0, 40),
      compact.slice(0, 43) + '+',
      'BB' + compact.slice(2),
      'A'.repeat(44),
      // x = 1: no point of P-256 has it.
      'AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB',
      '{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}',
      '{not json',
    ];
    for (const key of bad) {
      let err: unknown;
      try { compactPublicKey(key); } catch (e) { err = e; }
      expect(err, key).toBeInstanceOf(RayUsageError);
      expect((err as Error).message).toMatch(/ray\.compactPublicKey: .*[Ee]xpected a public key/);
    }
    // x = 5 is on the curve: WebCrypto, which checks the point, imports what the compact form gives.
    await Verifier.fromPublicKey('AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF');
    await expect(keyFingerprint('nope')).rejects.toThrow(/not a compact public key \(44 characters of base64url/);
  });

  it('are taken by init({ cluster }) as submitterPublicKey and operatorPublicKey; a malformed one is refused by name', async () => {
    const base = { id: 'c', token: 't', signaling: new MemorySignaling() };
    await checkClusterConfig({ ...base, submitterPublicKey: compactPublicKey(keys[0]!.publicKey), operatorPublicKey: compactPublicKey(keys[1]!.publicKey) });
    await expect(checkClusterConfig({ ...base, submitterPublicKey: compactPublicKey(keys[0]!.publicKey).slice(1) }))
      .rejects.toThrow(/ray\.init\(\{ cluster \}\): 'submitterPublicKey': .* is not a compact public key/);
  });
});
