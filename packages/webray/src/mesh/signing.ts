/**
 * Function-table entries are signed by the submitter key (ECDSA P-256, WebCrypto) and checked
 * against its public key before any code runs. A host with only the join token can run work
 * others sent, but cannot get its own code executed elsewhere: it cannot sign.
 */
import type { FunctionDescriptor } from '../shared/protocol.js';
import { publicKeyJwk } from './compact-key.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const enc = new TextEncoder();

/** A new submitter key pair, as JSON Web Key text: keep `privateKey` with the drivers; give `publicKey` to every host. */
export async function generateSubmitterKey(): Promise<{ privateKey: string; publicKey: string }> {
  const pair = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  return {
    privateKey: JSON.stringify(await crypto.subtle.exportKey('jwk', pair.privateKey)),
    publicKey: JSON.stringify(await crypto.subtle.exportKey('jwk', pair.publicKey)),
  };
}

/** What is signed: everything that decides which code runs (for a module, its content's digest too). */
function canonical(d: FunctionDescriptor): Uint8Array {
  const what = d.kind === 'source' ? [d.kind, d.id, d.name, d.source, JSON.stringify(d.bindings)] : [d.kind, d.id, d.name, d.url, d.exportName, d.sha256 ?? ''];
  return enc.encode(JSON.stringify(what));
}

function hex(b: ArrayBuffer): string {
  return [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
}

export class Signer {
  private constructor(private readonly key: CryptoKey) {}

  static async fromJwk(privateKey: string): Promise<Signer> {
    return new Signer(await crypto.subtle.importKey('jwk', JSON.parse(privateKey) as JsonWebKey, ALG, false, ['sign']));
  }

  sign(d: FunctionDescriptor): Promise<string> {
    return this.signBytes(canonical(d));
  }

  /** Signs a statement (a head's proof that it holds the operator or submitter key). */
  signText(text: string): Promise<string> {
    return this.signBytes(enc.encode(text));
  }

  private async signBytes(b: Uint8Array): Promise<string> {
    return hex(await crypto.subtle.sign(SIGN, this.key, b as BufferSource));
  }
}

export class Verifier {
  private constructor(private readonly key: CryptoKey) {}

  /** A public key as JWK text or in its compact form (compact-key.ts); `what` names it in an error. */
  static async fromPublicKey(publicKey: string, what = 'public key'): Promise<Verifier> {
    return new Verifier(await crypto.subtle.importKey('jwk', publicKeyJwk(publicKey, what), ALG, false, ['verify']));
  }

  verify(d: FunctionDescriptor, signature: string): Promise<boolean> {
    return this.verifyBytes(canonical(d), signature);
  }

  verifyText(text: string, signature: string): Promise<boolean> {
    return this.verifyBytes(enc.encode(text), signature);
  }

  private async verifyBytes(b: Uint8Array, signature: string): Promise<boolean> {
    if (!/^[0-9a-f]{128}$/.test(signature)) return false;
    const sig = new Uint8Array(64);
    for (let i = 0; i < 64; i++) sig[i] = parseInt(signature.slice(2 * i, 2 * i + 2), 16);
    return crypto.subtle.verify(SIGN, this.key, sig as BufferSource, b as BufferSource);
  }
}
