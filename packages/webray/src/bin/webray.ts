#!/usr/bin/env node
/**
 * `npx webray host`: a webray host in this Node.js process. It joins a cluster (of tabs and other
 * processes) through a PeerJS server, offers its cores and resources, and runs tasks and hosts
 * actors for the others until SIGINT/SIGTERM. The join token comes from WEBRAY_TOKEN or
 * --token-file, never the command line (which `ps` shows to every user).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as ray from '../index.js';
import type { InitOptions } from '../api/index.js';
import { isKeyText } from '../mesh/compact-key.js';

const USAGE = `usage: webray host --signal HOST:PORT[/PATH] --cluster ID --public-key FILE|JSON|COMPACT
                   [--token-file FILE] [--submitter-key FILE|JSON] [--workers N] [--resources JSON] [--name NAME]
                   [--operator-public-key FILE|JSON [--operator-key FILE|JSON]] [--state-dir DIR]
       webray host --config JSON          (InitOptions without the token)
The join token: the environment variable WEBRAY_TOKEN, or --token-file.
--operator-key: this host may be the cluster's head (hold its tables) without signing code; a host
with only the join token never is. --state-dir: where it keeps the cluster's tables as head or
standby (one directory per host), found again when it restarts.
--control-stdin: lines 'call <actor> <method> <JSON args>' on stdin call a named actor; the host
stops when stdin ends (for scripts and tests).
Prints 'ready <hostId>' once joined, or 'error <name>: <message>' and exits 1.`;

/** A mistake in the command line: said with the usage, exit code 2. */
class UsageError extends Error {}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      signal: { type: 'string' },
      cluster: { type: 'string' },
      'public-key': { type: 'string' },
      'submitter-key': { type: 'string' },
      'operator-public-key': { type: 'string' },
      'operator-key': { type: 'string' },
      'state-dir': { type: 'string' },
      name: { type: 'string' },
      'token-file': { type: 'string' },
      workers: { type: 'string' },
      resources: { type: 'string' },
      'control-stdin': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  return { values, command: positionals[0] };
}

type Args = ReturnType<typeof parse>['values'];

/** A key given as JSON text, a public key in compact form (44 characters of base64url), or the path of a file holding either. */
const key = (v: string | undefined) => (v === undefined ? undefined : isKeyText(v.trim()) ? v.trim() : readFileSync(v, 'utf8').trim());

function token(a: Args): string {
  const t = a['token-file'] !== undefined ? readFileSync(a['token-file'], 'utf8').trim() : process.env.WEBRAY_TOKEN;
  if (!t) throw new UsageError('no join token: set WEBRAY_TOKEN or give --token-file FILE (not on the command line, where ps shows it).');
  return t;
}

function options(a: Args): InitOptions {
  if (a.config !== undefined) {
    const o = JSON.parse(a.config) as InitOptions;
    if (!o.cluster) throw new UsageError('--config: give InitOptions with a cluster.');
    return { ...o, cluster: { ...o.cluster, token: token(a) } };
  }
  if (!a.signal || !a.cluster || !a['public-key']) throw new UsageError('give --signal, --cluster and --public-key (or --config).');
  const [hostPort = '', ...path] = a.signal.split('/');
  const [host = '', port = ''] = hostPort.split(':');
  if (!host || !/^\d+$/.test(port)) throw new UsageError(`--signal: expected HOST:PORT[/PATH], e.g. 127.0.0.1:9000, got '${a.signal}'.`);
  const workers = a.workers === undefined ? undefined : Number(a.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers > 0)) throw new UsageError(`--workers: expected a positive integer, got '${a.workers}'.`);
  return {
    numWorkers: workers,
    hostName: a.name,
    resources: a.resources ? (JSON.parse(a.resources) as Record<string, number>) : {},
    cluster: {
      id: a.cluster, token: token(a), submitterPublicKey: key(a['public-key'])!, submitterKey: key(a['submitter-key']),
      operatorPublicKey: key(a['operator-public-key']), operatorKey: key(a['operator-key']), stateDir: a['state-dir'],
      signal: { host, port: Number(port), path: `/${path.join('/')}`, secure: false }, iceServers: [],
    },
  };
}

/** Calls named actors on command lines from stdin, one after another; stops the host when stdin ends. */
function controlFromStdin(stop: () => Promise<void>): void {
  let queue = Promise.resolve();
  let pending = '';
  const command = async (line: string) => {
    const m = /^call\s+(\S+)\s+(\S+)\s*(.*)$/.exec(line.trim());
    if (!m) return;
    const [, name, method, args] = m;
    try {
      const actor = await ray.getActor(name!);
      console.log(`called ${JSON.stringify(await ray.get(actor[method!].remote(...(JSON.parse(args || '[]') as unknown[]))))}`);
    } catch (e) {
      console.log(`called ${JSON.stringify({ error: `${(e as Error).name}: ${(e as Error).message}` })}`);
    }
  };
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    pending += chunk;
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      queue = queue.then(() => command(line));
    }
  });
  process.stdin.on('end', () => void queue.then(stop));
}

async function host(a: Args): Promise<void> {
  let init: InitOptions;
  try {
    init = options(a);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`webray host: ${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  try {
    await ray.init(init);
    console.log(`ready ${ray.getRuntimeContext().hostId}`);
  } catch (e) {
    console.log(`error ${(e as Error).name}: ${(e as Error).message}`);
    process.exit(1);
  }
  // A host serves until told to stop: idle, webray would let the process end.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const stop = async () => {
    clearInterval(keepAlive);
    await ray.shutdown();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  if (a['control-stdin']) controlFromStdin(stop);
}

let parsed: ReturnType<typeof parse>;
try {
  if (process.argv.some((a) => a === '--token' || a.startsWith('--token='))) {
    throw new Error('--token: the join token is not taken on the command line, where ps shows it to every user; set WEBRAY_TOKEN or give --token-file FILE.');
  }
  parsed = parse(process.argv.slice(2));
} catch (e) {
  // node:util's own message names the option it did not expect, or the value it missed.
  console.error(`webray: ${(e as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
const { values, command } = parsed;
if (values.help || command !== 'host') {
  console.error(values.help ? USAGE : `webray: unknown command '${command ?? ''}'.\n\n${USAGE}`);
  process.exit(values.help ? 0 : 2);
}
await host(values);
