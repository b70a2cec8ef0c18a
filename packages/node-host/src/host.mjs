#!/usr/bin/env node
// `pnpm host`: a webray host in this Node.js process. It joins a cluster (of tabs and other
// processes) through a PeerJS server, offers its cores and resources, and runs tasks and hosts
// actors for the others until Ctrl-C (or until stdin ends, when stdin is a pipe).
//
//   pnpm host --signal 127.0.0.1:9000 --cluster my-cluster --public-key key.pub.json \
//             [--token T | WEBRAY_TOKEN=T] [--submitter-key key.json] [--workers N] [--resources '{"gpu":1}']
//   pnpm host --config '<InitOptions as JSON>'          (everything at once; used by the tests)
//
// Prints `ready <hostId>` once joined, or `error <name>: <message>` and exits 1.
// Lines on stdin: `call <actor name> <method> <JSON array of args>` calls a named actor anywhere in
// the cluster and prints `called <JSON result>` (or `called {"error": …}`).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import './webrtc-globals.mjs';

const { values: a } = parseArgs({
  options: {
    config: { type: 'string' },
    signal: { type: 'string' },
    cluster: { type: 'string' },
    token: { type: 'string' },
    'public-key': { type: 'string' },
    'submitter-key': { type: 'string' },
    workers: { type: 'string' },
    resources: { type: 'string' },
  },
});

/** A key given as JSON text, or as the path of a file holding it. */
const key = (v) => (v === undefined ? undefined : v.trim().startsWith('{') ? v : readFileSync(v, 'utf8').trim());

function options() {
  if (a.config) return JSON.parse(a.config);
  const token = a.token ?? process.env.WEBRAY_TOKEN;
  if (!a.signal || !a.cluster || !token || !a['public-key']) {
    throw new Error('give --signal host:port[/path], --cluster, --token (or WEBRAY_TOKEN) and --public-key (or --config)');
  }
  const [hostPort, ...path] = a.signal.split('/');
  const [host, port] = hostPort.split(':');
  return {
    numWorkers: a.workers ? Number(a.workers) : undefined,
    resources: a.resources ? JSON.parse(a.resources) : {},
    cluster: {
      id: a.cluster, token, submitterPublicKey: key(a['public-key']), submitterKey: key(a['submitter-key']),
      signal: { host, port: Number(port), path: `/${path.join('/')}`, secure: false }, iceServers: [],
    },
  };
}

const ray = await import('webray');
try {
  await ray.init(options());
  console.log(`ready ${ray.getRuntimeContext().hostId}`);
} catch (e) {
  console.log(`error ${e.name}: ${e.message}`);
  process.exit(1);
}

const stop = async () => {
  await ray.shutdown();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

/** One command after another, in the order they came. */
let queue = Promise.resolve();
async function command(line) {
  const m = /^call\s+(\S+)\s+(\S+)\s*(.*)$/.exec(line.trim());
  if (!m) return;
  const [, name, method, args] = m;
  try {
    const actor = await ray.getActor(name);
    console.log(`called ${JSON.stringify(await ray.get(actor[method].remote(...JSON.parse(args || '[]'))))}`);
  } catch (e) {
    console.log(`called ${JSON.stringify({ error: `${e.name}: ${e.message}` })}`);
  }
}
let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
    const line = pending.slice(0, i);
    pending = pending.slice(i + 1);
    queue = queue.then(() => command(line));
  }
});
if (!process.stdin.isTTY) process.stdin.on('end', () => void queue.then(stop));
