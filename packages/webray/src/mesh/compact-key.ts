/**
 * Public keys (ECDSA P-256) short enough for a join link: the compact form is the curve point
 * compressed (its x and the parity of y, 33 bytes) in base64url — 44 characters instead of a
 * JSON Web Key's ~180 — and a fingerprint people can compare to know whose code will run.
 */
import { RayUsageError } from '../shared/errors.js';
import { describeValue } from '../shared/usage.js';

/** P-256's field prime and curve coefficient b (a = -3). */
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const COMPACT = /^[A-Za-z0-9_-]{44}$/;

/** The compact form (44 characters of base64url) of a public key given as JWK text (a compact key is returned as it is). */
export function compactPublicKey(publicKey: string): string {
  const { x, y } = pointOf(publicKey, 'ray.compactPublicKey');
  const out = new Uint8Array(33);
  out[0] = 2 | (y[31]! & 1);
  out.set(x, 1);
  return base64url(out);
}

/**
 * A short fingerprint of a public key (JWK text or compact): the first 8 bytes of the SHA-256 of
 * its raw uncompressed point (0x04 ‖ x ‖ y, as WebCrypto exports it), as four groups of hex digits,
 * e.g. `3f2a 9c01 77de 0b41`. Show it where someone decides to run the key holder's code.
 */
export async function keyFingerprint(publicKey: string): Promise<string> {
  const { x, y } = pointOf(publicKey, 'ray.keyFingerprint');
  const raw = new Uint8Array(65);
  raw[0] = 4;
  raw.set(x, 1);
  raw.set(y, 33);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', raw));
  const hex = [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return hex.match(/.{4}/g)!.join(' ');
}

/** @internal A public key, JWK text or compact, as a JsonWebKey WebCrypto imports. */
export function publicKeyJwk(publicKey: string, what: string): JsonWebKey {
  if (isJwkText(publicKey)) return JSON.parse(publicKey) as JsonWebKey;
  const { x, y } = pointOf(publicKey, what);
  return { kty: 'EC', crv: 'P-256', x: base64url(x), y: base64url(y), ext: true };
}

function isJwkText(s: string): boolean {
  return s.trimStart().startsWith('{');
}

/** @internal Does `s` look like a key itself (JWK text or the compact form), rather than, say, a file's path? */
export function isKeyText(s: string): boolean {
  return isJwkText(s) || COMPACT.test(s);
}

/** The point of a public key (JWK text or compact), checked to be on P-256. */
function pointOf(publicKey: unknown, what: string): { x: Uint8Array; y: Uint8Array } {
  const expected = 'a public key: the JWK text ray.generateSubmitterKey() returns as publicKey, or its compact form from ray.compactPublicKey() (44 characters of base64url)';
  if (typeof publicKey !== 'string') throw new RayUsageError(`${what}: expected ${expected}; got ${describeValue(publicKey)}.`);
  if (isJwkText(publicKey)) {
    let jwk: Record<string, unknown>;
    try { jwk = JSON.parse(publicKey) as Record<string, unknown>; } catch (e) {
      throw new RayUsageError(`${what}: the key starts like JWK text but is not JSON (${(e as Error).message}). Expected ${expected}.`);
    }
    const x = typeof jwk.x === 'string' ? fromBase64url(jwk.x) : undefined;
    const y = typeof jwk.y === 'string' ? fromBase64url(jwk.y) : undefined;
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || x?.length !== 32 || y?.length !== 32) {
      throw new RayUsageError(`${what}: the JWK is not an ECDSA P-256 public key (kty 'EC', crv 'P-256', 32-byte x and y). Expected ${expected}.`);
    }
    return { x, y };
  }
  const bytes = COMPACT.test(publicKey) ? fromBase64url(publicKey) : undefined;
  if (!bytes || (bytes[0] !== 2 && bytes[0] !== 3)) {
    throw new RayUsageError(`${what}: ${describeValue(publicKey.length > 60 ? `${publicKey.slice(0, 60)}…` : publicKey)} is not a compact public key (44 characters of base64url: a compressed P-256 point, first byte 2 or 3). Expected ${expected}; a key cut short in a link is the usual cause.`);
  }
  const x = bytes.subarray(1);
  const xn = toBigInt(x);
  const rhs = mod(xn * xn % P * xn - 3n * xn + B);
  let yn = pow(rhs, (P + 1n) / 4n);
  if (xn >= P || yn * yn % P !== rhs) throw new RayUsageError(`${what}: ${describeValue(publicKey)} is no point of the P-256 curve, so no public key. Expected ${expected}.`);
  if (Number(yn & 1n) !== (bytes[0]! & 1)) yn = P - yn;
  return { x: x.slice(), y: fromBigInt(yn) };
}

function mod(n: bigint): bigint {
  const r = n % P;
  return r < 0n ? r + P : r;
}

function pow(base: bigint, exp: bigint): bigint {
  let r = 1n;
  let b = mod(base);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = r * b % P;
    b = b * b % P;
  }
  return r;
}

function toBigInt(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function fromBigInt(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

function base64url(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined;
  try {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}
