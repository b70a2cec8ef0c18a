/**
 * Checks a whole `init({ cluster })` config before any network is touched, so a missing token, a
 * key that is not JWK text or a signal server given as a string is answered at once, by name.
 */
import { RayUsageError } from '../shared/errors.js';
import { checkKeys, describeValue } from '../shared/usage.js';
import { Signer, Verifier } from '../mesh/signing.js';
import type { ClusterConfig } from './cluster-host.js';

const clusterKeys = [
  'id', 'token', 'submitterPublicKey', 'submitterKey', 'operatorPublicKey', 'operatorKey', 'stateDir', 'signal', 'iceServers', 'heartbeatMs', 'deadAfterMs',
] as const satisfies readonly (keyof ClusterConfig)[];
const signalKeys = ['host', 'port', 'path', 'secure'];
const what = 'ray.init({ cluster })';

export async function checkClusterConfig(c: ClusterConfig): Promise<void> {
  checkKeys(what, c, clusterKeys, ['signaling', 'tablesStore']);
  if (c.stateDir !== undefined && (typeof c.stateDir !== 'string' || c.stateDir === '')) {
    throw new RayUsageError(`${what}: 'stateDir' must be a directory path (Node: where a head keeps the cluster's tables), got ${describeValue(c.stateDir)}.`);
  }
  for (const k of ['id', 'token'] as const) {
    if (typeof c[k] !== 'string' || c[k] === '') {
      throw new RayUsageError(`${what}: '${k}' must be a non-empty string, got ${describeValue(c[k])}. Every host of one cluster gives the same id and join token.`);
    }
  }
  await checkKey('submitterPublicKey', c.submitterPublicKey, (key) => Verifier.fromPublicKey(key, `${what}: 'submitterPublicKey'`));
  if (c.submitterKey !== undefined) await checkKey('submitterKey', c.submitterKey, (jwk) => Signer.fromJwk(jwk));
  if (c.operatorPublicKey !== undefined) await checkKey('operatorPublicKey', c.operatorPublicKey, (key) => Verifier.fromPublicKey(key, `${what}: 'operatorPublicKey'`));
  if (c.operatorKey !== undefined) {
    if (c.operatorPublicKey === undefined) {
      throw new RayUsageError(`${what}: 'operatorKey' is given without 'operatorPublicKey': members check a head's proof against the public half, so give every host operatorPublicKey (and operatorKey only to the hosts that may be head).`);
    }
    await checkKey('operatorKey', c.operatorKey, (jwk) => Signer.fromJwk(jwk));
  }
  if (c.signaling === undefined) checkSignal(c.signal);
  if (c.iceServers !== undefined && !Array.isArray(c.iceServers)) {
    throw new RayUsageError(`${what}: 'iceServers' must be an array of RTCIceServer (e.g. [{ urls: 'stun:stun.example.org' }]), got ${describeValue(c.iceServers)}.`);
  }
  for (const k of ['heartbeatMs', 'deadAfterMs'] as const) {
    const v = c[k];
    if (v !== undefined && (typeof v !== 'number' || !(v > 0))) throw new RayUsageError(`${what}: '${k}' must be a positive number of milliseconds, got ${describeValue(v)}.`);
  }
}

async function checkKey(name: string, v: unknown, load: (jwk: string) => Promise<unknown>): Promise<void> {
  const fix = name === 'submitterPublicKey' || name === 'operatorPublicKey'
    ? 'Give every host the publicKey text that ray.generateSubmitterKey() returned (a JSON Web Key, as a string), or its compact form from ray.compactPublicKey().'
    : name === 'operatorKey'
    ? 'Give the privateKey text of the operator key pair (made with ray.generateSubmitterKey(), apart from the submitter\'s), or leave it out on hosts that may not be head.'
    : 'Give the privateKey text that ray.generateSubmitterKey() returned (a JSON Web Key, as a string), or leave it out on hosts that only run others\' work.';
  if (typeof v !== 'string') {
    const hint = typeof v === 'object' && v !== null ? ' (a key object: pass JSON.stringify(key))' : '';
    throw new RayUsageError(`${what}: '${name}' must be ${name.endsWith('PublicKey') ? 'JWK text or a compact key' : 'JWK text'}, got ${describeValue(v)}${hint}. ${fix}`);
  }
  try {
    await load(v);
  } catch (e) {
    // A compact key's own error says what is wrong with it.
    if (e instanceof RayUsageError) throw e;
    throw new RayUsageError(`${what}: '${name}' is not a usable ECDSA P-256 JSON Web Key (${(e as Error).message}). ${fix}`);
  }
}

function checkSignal(s: unknown): void {
  const form = "{ host: '127.0.0.1', port: 9000, path: '/' }";
  if (typeof s === 'string') {
    const m = /^(?:wss?:\/\/)?([^:/]+):(\d+)(\/.*)?$/.exec(s);
    const meant = m ? `{ host: '${m[1]}', port: ${m[2]}, path: '${m[3] ?? '/'}' }` : form;
    throw new RayUsageError(`${what}: 'signal' is the PeerJS server as an object, got ${describeValue(s)}. Write signal: ${meant}.`);
  }
  if (typeof s !== 'object' || s === null) {
    throw new RayUsageError(`${what}: 'signal' is required: the PeerJS server hosts meet through, e.g. ${form} (start one with \`npx -p peer peerjs --port 9000\`), got ${describeValue(s)}.`);
  }
  checkKeys(`${what}: signal`, s, signalKeys);
  const { host, port, path, secure } = s as Record<string, unknown>;
  if (typeof host !== 'string' || host === '') throw new RayUsageError(`${what}: signal.host must be a host name, e.g. ${form}, got ${describeValue(host)}.`);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RayUsageError(`${what}: signal.port must be an integer from 1 to 65535, e.g. ${form}, got ${describeValue(port)}.`);
  }
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) throw new RayUsageError(`${what}: signal.path must be a path starting with '/', got ${describeValue(path)}.`);
  if (secure !== undefined && typeof secure !== 'boolean') throw new RayUsageError(`${what}: signal.secure must be true or false, got ${describeValue(secure)}.`);
}
