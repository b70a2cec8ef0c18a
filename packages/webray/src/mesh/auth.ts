/**
 * Joining is challenge–response on the join token, both ways, with WebCrypto HMAC-SHA-256: each
 * side proves it knows the token by signing the other's fresh nonce. The token never crosses the
 * wire, and an answer recorded on one connection is worthless on the next (new nonces).
 */
import { ClusterAuthError } from '../shared/errors.js';
import type { FrameChannel } from './channel.js';
import type { Frame } from './frames.js';

export interface Credentials {
  cluster: string;
  /** This host's id. */
  host: string;
  token: string;
}

const HANDSHAKE_MS = 10_000;
const enc = new TextEncoder();

function hex(bytes: ArrayBuffer | Uint8Array): string {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += b.toString(16).padStart(2, '0');
  return s;
}

function unhex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function nonce(): string {
  return hex(crypto.getRandomValues(new Uint8Array(32)));
}

const keys = new Map<string, Promise<CryptoKey>>();

function keyOf(token: string): Promise<CryptoKey> {
  let k = keys.get(token);
  if (!k) {
    k = crypto.subtle.importKey('raw', enc.encode(token), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(token, k);
  }
  return k;
}

/** What a side signs: its role, both nonces (theirs first) and both host ids, in one string. */
const statement = (role: 'initiator' | 'responder', theirs: string, mine: string, me: string, them: string, cluster: string) =>
  `webray-join|${cluster}|${role}|${theirs}|${mine}|${me}|${them}`;

async function mac(token: string, text: string): Promise<string> {
  return hex(await crypto.subtle.sign('HMAC', await keyOf(token), enc.encode(text)));
}

async function verify(token: string, text: string, m: string): Promise<boolean> {
  return crypto.subtle.verify('HMAC', await keyOf(token), unhex(m) as BufferSource, enc.encode(text));
}

async function refuse(ch: FrameChannel, reason: string): Promise<never> {
  try { ch.send({ t: 'refused', reason }); } catch { /* closed already */ }
  ch.link.close();
  throw new ClusterAuthError(reason);
}

/**
 * The next handshake frame, which must be a `t`. Anything else ends the handshake and closes the
 * link: a peer that is not admitted must not keep a half-open link whose frames would queue unread.
 */
async function step<T extends Frame['t']>(ch: FrameChannel, t: T, ms: number): Promise<Extract<Frame, { t: T }>> {
  const f = await ch.next(ms).catch((e: Error) => refuse(ch, `no ${t}: ${e.message}`));
  if (f.t === 'refused') {
    ch.link.close();
    throw new ClusterAuthError(`the other host refused: ${f.reason}`);
  }
  if (f.t !== t) return refuse(ch, `expected '${t}' during the handshake, got '${f.t}'`);
  return f as Extract<Frame, { t: T }>;
}

/** Why `joining` is refused: its join token is not the one `member` holds. */
const tokensDiffer = (joining: string, member: string) =>
  `host ${joining} does not know this cluster's join token (it differs from host ${member}'s): give host ${joining} the cluster's token`;

/** The side that opened the link. Resolves with the other host's id once both are proven. */
export async function authenticateInitiator(ch: FrameChannel, c: Credentials, ms = HANDSHAKE_MS): Promise<string> {
  const mine = nonce();
  ch.send({ t: 'hello', cluster: c.cluster, host: c.host, nonce: mine });
  const ch1 = await step(ch, 'challenge', ms);
  if (!(await verify(c.token, statement('responder', mine, ch1.nonce, ch1.host, c.host, c.cluster), ch1.mac))) {
    // This host asked to join: it is the one refused, whichever token is the cluster's.
    return refuse(ch, tokensDiffer(c.host, ch1.host));
  }
  ch.send({ t: 'answer', mac: await mac(c.token, statement('initiator', ch1.nonce, mine, c.host, ch1.host, c.cluster)) });
  await step(ch, 'welcome', ms);
  return ch1.host;
}

/** The side that accepted the link. Resolves with the other host's id once both are proven. */
export async function authenticateResponder(ch: FrameChannel, c: Credentials, ms = HANDSHAKE_MS): Promise<string> {
  const hello = await step(ch, 'hello', ms);
  if (hello.cluster !== c.cluster) return refuse(ch, `this is cluster ${c.cluster}, not ${hello.cluster}`);
  // A peer under this host's own id would take the place of the host itself in its peer and member tables.
  if (hello.host === c.host) return refuse(ch, `host id ${hello.host} is this host's own`);
  const mine = nonce();
  ch.send({ t: 'challenge', host: c.host, nonce: mine, mac: await mac(c.token, statement('responder', hello.nonce, mine, c.host, hello.host, c.cluster)) });
  const answer = await step(ch, 'answer', ms);
  if (!(await verify(c.token, statement('initiator', mine, hello.nonce, hello.host, c.host, c.cluster), answer.mac))) {
    return refuse(ch, tokensDiffer(hello.host, c.host));
  }
  ch.send({ t: 'welcome' });
  return hello.host;
}
