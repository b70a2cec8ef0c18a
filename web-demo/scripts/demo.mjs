#!/usr/bin/env node
/**
 * `pnpm demo` (on a fresh machine: `npx -y pnpm@12.4.2 demo`): installs the workspace if it is
 * not installed yet, builds webray, starts a local PeerJS server on 127.0.0.1 (port 9000 or the
 * next free one) with a fresh cluster id and join token, and serves the demo page
 * with Vite, cross-origin isolated, on http://127.0.0.1:5173 (or the next free port) until Ctrl-C.
 * It prints the driver link (cluster id, join token and signalling server in the URL fragment).
 * The driver tab makes its own submitter key — a key that signs code never goes in a link — and
 * shows the link more tabs join with (the token and its public key only, as volunteers get).
 *
 *   --check      start the server, fetch the page and its modules once over HTTP, check the
 *                COOP/COEP headers, then exit (0 = served correctly): a quick smoke test.
 *   --port N     first port to try (default 5173; the next free one is used if it is taken).
 *   --no-build   skip `pnpm build` (webray's dist/ must exist).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PNPM_VERSION = '12.4.2';
const here = path.dirname(fileURLToPath(import.meta.url));
const demoDir = path.resolve(here, '..');
const repo = path.resolve(demoDir, '..');

const argv = process.argv.slice(2);
const check = argv.includes('--check');
const build = !argv.includes('--no-build');
const portArg = argv.find((a) => a.startsWith('--port'));
const port = Number(portArg?.includes('=') ? portArg.split('=')[1] : portArg ? argv[argv.indexOf(portArg) + 1] : 5173);
if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`--port wants a port number, got ${portArg}`);
for (const a of argv) {
  if (a.startsWith('--') && !['--check', '--no-build'].includes(a) && !a.startsWith('--port')) fail(`unknown option ${a} (known: --check, --port N, --no-build)`);
}

function log(msg) {
  console.log(`\x1b[36m[demo]\x1b[0m ${msg}`);
}

function fail(msg) {
  console.error(`\x1b[31m[demo] ${msg}\x1b[0m`);
  process.exit(1);
}

/**
 * How to run pnpm: the pnpm that runs this script (`pnpm demo` sets npm_execpath; pnpm 12 is a
 * native executable, older ones a .js/.cjs file), else `pnpm` on PATH, else `npx -y pnpm@…`.
 */
function pnpmCommand() {
  const exec = process.env.npm_execpath;
  if (exec && /pnpm/i.test(path.basename(exec)) && existsSync(exec)) {
    return /\.[cm]?js$/.test(exec) ? [process.execPath, [exec]] : [exec, []];
  }
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8', shell: process.platform === 'win32' });
  if (probe.status === 0) return ['pnpm', []];
  return ['npx', ['-y', `pnpm@${PNPM_VERSION}`]];
}

function pnpm(args) {
  const [cmd, pre] = pnpmCommand();
  log(`$ pnpm ${args.join(' ')}`);
  const r = spawnSync(cmd, [...pre, ...args], { cwd: repo, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.error) fail(`could not run pnpm (${r.error.message}). Install it with: npm install -g pnpm@${PNPM_VERSION}`);
  if (r.status !== 0) fail(`pnpm ${args.join(' ')} failed (exit ${r.status ?? r.signal}).`);
}

// 1. Dependencies.
const installed = existsSync(path.join(repo, 'node_modules', '.modules.yaml')) &&
  existsSync(path.join(demoDir, 'node_modules', 'vite', 'package.json')) &&
  existsSync(path.join(repo, 'packages', 'webray', 'node_modules'));
if (!installed) pnpm(['install', '--frozen-lockfile']);

// 2. webray (the demo imports its dist/, as an app that installed it from npm would).
if (build) pnpm(['build']);
if (!existsSync(path.join(repo, 'packages', 'webray', 'dist', 'index.js'))) fail('packages/webray/dist/index.js is missing: run `pnpm build`.');

// 3. The local PeerJS server tabs meet through, and this run's cluster credentials.
const { PeerServer } = await import(pathToFileURL(path.join(demoDir, 'node_modules', 'peer', 'dist', 'module.mjs')).href);
const net = await import('node:net');
const freeFrom = async (first) => {
  for (let p = first; p < first + 100; p++) {
    const ok = await new Promise((resolve) => { const s = net.createServer().once('error', () => resolve(false)).listen(p, '127.0.0.1', () => s.close(() => resolve(true))); });
    if (ok) return p;
  }
  fail(`no free port from ${first}`);
};
const signalPort = await freeFrom(9000);
const peerHttp = await new Promise((resolve) => { PeerServer({ host: '127.0.0.1', port: signalPort, path: '/' }, resolve); });
const clusterId = `demo-${Math.random().toString(16).slice(2, 8)}`;
const cluster = { id: clusterId, token: crypto.randomUUID(), signal: { host: '127.0.0.1', port: signalPort, path: '/' }, iceServers: [] };
// The token goes in the URL fragment, which the browser never sends to a server.
const driverFragment = `#${encodeURIComponent(JSON.stringify({ cluster, role: 'driver' }))}`;

/**
 * The volunteer link holds the driver tab's public key, which only the tab has: the tab sends the
 * link here (told where by a meta tag this server adds) and the terminal shows it too.
 */
const LINK_PATH = '/__demo/volunteer-link';
const printedLinks = new Set();
const volunteerLinkReport = {
  name: 'demo:volunteer-link',
  transformIndexHtml: (html, ctx) => (ctx.path === '/index.html' || ctx.path === '/' ? html.replace('</head>', `  <meta name="volunteer-link-report" content="${LINK_PATH}" />\n  </head>`) : html),
  configureServer(server) {
    server.middlewares.use(LINK_PATH, (req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; if (body.length > 4096) req.destroy(); });
      req.on('end', () => {
        let link;
        try { link = new URL(body); } catch { /* not a URL */ }
        const ok = req.method === 'POST' && link?.pathname === '/volunteer.html' && link.hash.length > 1 && !/%22d%22|"d"/.test(body);
        res.statusCode = ok ? 204 : 400;
        res.end();
        if (ok && !printedLinks.has(body)) {
          printedLinks.add(body);
          log(`volunteer link (from the driver tab): ${body}`);
        }
      });
    });
  },
};

// 4. The Vite dev server, with the root config (COOP/COEP headers, worker format, …).
process.chdir(repo);
const { createServer } = await import(pathToFileURL(path.join(demoDir, 'node_modules', 'vite', 'dist', 'node', 'index.js')).href)
  .catch(() => import('vite'));
const server = await createServer({
  configFile: path.join(repo, 'vite.config.ts'),
  root: demoDir,
  clearScreen: false,
  logLevel: check ? 'warn' : 'info',
  server: { host: '127.0.0.1', port, strictPort: false },
  plugins: [volunteerLinkReport],
});
await server.listen();
const url = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${server.config.server.port}/`;

if (!check) {
  log(`webray demo running at \x1b[1m${url}\x1b[0m  (Ctrl-C to stop); PeerJS server on 127.0.0.1:${signalPort}`);
  log(`as a cluster — driver tab: ${url}${driverFragment}`);
  log('more tabs join with the volunteer link the driver tab shows, printed here too once that tab is open (it holds the token and the driver\'s public key, never its private key)');
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(130);
    stopping = true;
    log('stopping…');
    await server.close();
    peerHttp.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  const timer = setTimeout(() => { console.error('[demo] --check timed out after 60 s'); process.exit(1); }, 60_000);
  let ok = false;
  try {
    await smokeTest(url);
    // The signalling server answers as a PeerJS server does.
    const info = await (await fetch(`http://127.0.0.1:${signalPort}/`)).json();
    if (info.name !== 'PeerJS Server') throw new Error(`the local PeerJS server answered ${JSON.stringify(info)}`);
    log(`--check: local PeerJS server on 127.0.0.1:${signalPort} answers`);
    ok = true;
  } catch (e) {
    console.error(`\x1b[31m[demo] --check failed: ${e instanceof Error ? e.message : e}\x1b[0m`);
  } finally {
    clearTimeout(timer);
    await server.close();
    peerHttp.close();
  }
  process.exit(ok ? 0 : 1);
}

/** Fetches the page, its entry module and every module that imports statically, over HTTP. */
async function smokeTest(base) {
  const want = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  const fetchOk = async (u) => {
    const res = await fetch(u);
    if (!res.ok) throw new Error(`GET ${u} → ${res.status} ${res.statusText}`);
    for (const [k, v] of Object.entries(want)) {
      if (res.headers.get(k) !== v) throw new Error(`GET ${u}: header ${k} is ${JSON.stringify(res.headers.get(k))}, want ${v} (cross-origin isolation)`);
    }
    return res;
  };
  const page = await fetchOk(base);
  const html = await page.text();
  if (!html.includes('webray')) throw new Error(`GET ${base}: the page does not look like the webray demo`);
  const entries = [...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g)].map((m) => m[1]);
  const entry = entries.find((s) => !s.startsWith('/@vite/'));
  if (!entry) throw new Error(`GET ${base}: no <script type="module" src> for the app in the page`);
  log(`GET ${base} → 200, COOP ${want['cross-origin-opener-policy']}, COEP ${want['cross-origin-embedder-policy']}`);

  const seen = new Set();
  const queue = [new URL(entry, base).href, ...entries.filter((e) => e !== entry).map((e) => new URL(e, base).href)];
  while (queue.length > 0 && seen.size < 300) {
    const u = queue.shift();
    if (seen.has(u)) continue;
    seen.add(u);
    const res = await fetchOk(u);
    const type = res.headers.get('content-type') ?? '';
    if (!/javascript/.test(type)) throw new Error(`GET ${u}: content-type ${type}, want JavaScript`);
    const code = await res.text();
    if (seen.size === 1) log(`GET ${u} → 200 (${type.split(';')[0]}, ${code.length} bytes)`);
    // Vite rewrites every import to a URL: follow static and literal dynamic imports, and workers.
    const specs = [
      ...code.matchAll(/^\s*(?:import|export)\s[^'"`;]*?from\s*["']([^"']+)["']/gm),
      ...code.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
      ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
      ...code.matchAll(/new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g),
    ].map((m) => m[1]);
    for (const s of specs) {
      const next = new URL(s, u);
      if (next.origin === new URL(base).origin) queue.push(next.href);
    }
  }
  log(`--check passed: the page and ${seen.size} modules are served from ${base}, cross-origin isolated.`);
}
