#!/usr/bin/env node
/**
 * `pnpm test`: everything a fresh machine with only Node 20 and npm needs, then every suite.
 *
 *   1. Chromium (Debian's, /usr/bin/chromium) and iproute2: installed with apt-get when missing and root.
 *   2. `pnpm install --frozen-lockfile` when node_modules is missing or older than the lockfile.
 *   3. Build webray (packages/webray/dist: the browser loads its workers from there).
 *   4. Unit tests: `vitest run` with the root vite.config.ts.
 *   5. E2E tests: `vitest run` with e2e/vitest.config.ts, in real Chromium, inside a loopback-only
 *      network namespace (`unshare -n`) so no traffic leaves the machine.
 *
 * Results come from Vitest's JSON reporter (test-results/*.json) beside the default reporter. The
 * last line printed is exactly `N passed, N failed` (`, N skipped` appended when some were). A
 * suite that crashes counts each of its test files that did not report as one failure. Exit code
 * 0 only when nothing failed.
 *
 * Environment: WEBRAY_CHROMIUM (Chromium binary, default /usr/bin/chromium), WEBRAY_NO_NETNS=1
 * (run e2e without the network namespace), WEBRAY_TEST_SUITES=unit,e2e (which suites to run),
 * WEBRAY_TEST_LIMIT_SCALE (multiplies the time limits: install 6, build 3, unit 8, e2e 15 minutes).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = join(ROOT, 'test-results');
const PROGRESS_REPORTER = join(ROOT, 'e2e', 'scripts', 'progress-reporter.mjs');
const CHROMIUM = process.env.WEBRAY_CHROMIUM || '/usr/bin/chromium';
const PNPM_VERSION = '12.4.2';
const STAMP = join(ROOT, 'node_modules', '.webray-test-all-install');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const started = Date.now();

/** Per-step limits (WEBRAY_TEST_LIMIT_SCALE multiplies them); a normal run takes a few minutes. */
const SCALE = Number(process.env.WEBRAY_TEST_LIMIT_SCALE) || 1;
const LIMITS = Object.fromEntries(Object.entries({ install: 6, build: 3, unit: 8, e2e: 15 }).map(([k, min]) => [k, min * 60_000 * SCALE]));

const say = (msg) => console.log(`[test-all] ${msg}`);
const warn = (msg) => console.log(`[test-all] WARNING: ${msg}`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** Children run in their own process group, so a timeout or Ctrl-C ends the whole tree (browsers too). */
const running = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of running) killTree(child);
    process.exit(130);
  });
}

function killTree(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}

/** Runs a command with inherited stdio; resolves to { code, timedOut }. */
function run(cmd, args, { timeout, env, cwd = ROOT, quiet = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    running.add(child);
    let output = '';
    if (quiet) {
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
    }
    let timedOut = false;
    const timer = timeout ? setTimeout(() => { timedOut = true; killTree(child); }, timeout) : undefined;
    child.on('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code: -1, timedOut, output: `${output}${error.message}\n` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      // Anything the command left behind in its group (a browser, a server) goes with it.
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* group already empty */ }
      resolve({ code: code ?? (signal ? 128 : -1), timedOut, output });
    });
  });
}

function commandExists(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// ---------------------------------------------------------------------------------------------
// 1. System packages

async function ensureSystemPackages() {
  const missing = [];
  if (!existsSync(CHROMIUM)) missing.push('chromium');
  if (!commandExists('ip')) missing.push('iproute2');
  if (missing.length === 0) return;
  if (!isRoot || !commandExists('apt-get')) {
    warn(`${missing.join(' and ')} missing and cannot be installed here (needs root and apt-get); ` +
      `install ${missing.join(' ')} yourself${missing.includes('chromium') ? ' or set WEBRAY_CHROMIUM' : ''}.`);
    return;
  }
  say(`installing ${missing.join(', ')} with apt-get (quiet)…`);
  const t = Date.now();
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const update = await run('apt-get', ['update', '-qq'], { env, quiet: true, timeout: LIMITS.install });
  const install = update.code === 0
    ? await run('apt-get', ['install', '-y', '-qq', ...missing], { env, quiet: true, timeout: LIMITS.install })
    : update;
  if (install.code !== 0) {
    warn(`apt-get failed (${install.timedOut ? 'timed out' : `exit ${install.code}`}):\n${install.output.split('\n').slice(-20).join('\n')}`);
  } else {
    say(`installed ${missing.join(', ')} in ${seconds(Date.now() - t)}`);
    if (!existsSync(CHROMIUM)) warn(`still no Chromium at ${CHROMIUM}: point WEBRAY_CHROMIUM at the installed one (/usr/bin/chromium).`);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. pnpm and dependencies

/** pnpm as `[command, ...leadingArgs]`: the one running us (npm_execpath), the one on PATH, or npx. */
function pnpmCommand() {
  const exec = process.env.npm_execpath;
  if (exec && /pnpm/.test(basename(exec)) && existsSync(exec)) {
    return /\.[cm]?js$/.test(exec) ? [process.execPath, exec] : [exec];
  }
  if (commandExists('pnpm')) return ['pnpm'];
  return ['npx', '-y', `pnpm@${PNPM_VERSION}`];
}

function needsInstall() {
  const marker = join(ROOT, 'node_modules', '.modules.yaml');
  if (!existsSync(marker)) return 'node_modules is missing';
  for (const dir of ['e2e', 'packages/webray']) {
    if (!existsSync(join(ROOT, dir, 'node_modules'))) return `${dir}/node_modules is missing`;
  }
  const installed = Math.max(statSync(marker).mtimeMs, existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0);
  if (statSync(join(ROOT, 'pnpm-lock.yaml')).mtimeMs > installed) return 'pnpm-lock.yaml changed since the last install';
  return undefined;
}

async function ensureDependencies(pnpm) {
  const why = needsInstall();
  if (!why) return true;
  say(`${why}: pnpm install --frozen-lockfile`);
  const r = await run(pnpm[0], [...pnpm.slice(1), 'install', '--frozen-lockfile'], { timeout: LIMITS.install });
  if (r.code !== 0) warn(`pnpm install failed (${r.timedOut ? 'timed out' : `exit ${r.code}`})`);
  else writeFileSync(STAMP, `${new Date().toISOString()}\n`); // pnpm leaves node_modules untouched when it is up to date
  return r.code === 0;
}

// ---------------------------------------------------------------------------------------------
// 4./5. Suites

/** The test files a suite would run, for counting a crashed suite. */
function listFiles(dir, test, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) listFiles(path, test, out);
    else if (test(path)) out.push(path);
  }
  return out;
}

const SUITES = {
  unit: {
    title: 'unit tests (vitest, vite.config.ts)',
    vitest: join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
    config: join(ROOT, 'vite.config.ts'),
    files: () => listFiles(join(ROOT, 'packages'), (p) => /^packages\/[^/]+\/src\/.*\.test\.ts$/.test(relative(ROOT, p))),
    netns: false,
  },
  e2e: {
    title: 'e2e tests (vitest, e2e/vitest.config.ts, Chromium)',
    vitest: join(ROOT, 'e2e', 'node_modules', 'vitest', 'vitest.mjs'),
    config: join(ROOT, 'e2e', 'vitest.config.ts'),
    files: () => listFiles(join(ROOT, 'e2e'), (p) => p.endsWith('.e2e.test.ts')),
    netns: true,
    env: { WEBRAY_E2E_SKIP_BUILD: '1', WEBRAY_CHROMIUM: CHROMIUM },
  },
};

/** The loopback-only namespace, or undefined (with a warning) where unshare is not permitted. */
function netnsPrefix() {
  if (process.env.WEBRAY_NO_NETNS === '1') {
    warn('WEBRAY_NO_NETNS=1: running e2e tests WITHOUT a network namespace.');
    return undefined;
  }
  const wrap = ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'];
  const probe = spawnSync(wrap[0], [...wrap.slice(1), 'true'], { encoding: 'utf8' });
  if (probe.status === 0) return wrap;
  const why = (probe.error?.message || probe.stderr || `exit ${probe.status}`).trim();
  warn(`cannot create a loopback-only network namespace (${why}); running e2e tests WITHOUT it: ` +
    'traffic is not confined to loopback.');
  return undefined;
}

async function runSuite(name) {
  const suite = SUITES[name];
  const json = join(RESULTS, `${name}.json`);
  const progress = join(RESULTS, `${name}.progress.jsonl`);
  rmSync(json, { force: true });
  rmSync(progress, { force: true });
  const files = suite.files();
  say(`${suite.title}: ${files.length} file(s)`);
  const vitestArgs = [suite.vitest, 'run', '--config', suite.config,
    '--reporter=default', '--reporter=json', `--outputFile.json=${json}`, `--reporter=${PROGRESS_REPORTER}`];
  const prefix = suite.netns ? netnsPrefix() : undefined;
  const [cmd, ...args] = prefix ? [...prefix, process.execPath, ...vitestArgs] : [process.execPath, ...vitestArgs];
  const t = Date.now();
  const r = await run(cmd, args, { timeout: LIMITS[name], env: { ...suite.env, WEBRAY_PROGRESS_FILE: progress } });
  const result = { name, passed: 0, failed: 0, skipped: 0, failures: [], ms: Date.now() - t };
  if (r.timedOut) result.failures.push(`${name}: the suite was stopped after ${seconds(LIMITS[name])}`);

  let report;
  try {
    report = JSON.parse(readFileSync(json, 'utf8'));
  } catch {
    report = undefined;
  }
  if (!report) return fromProgress(result, progress, files, r);
  result.passed = report.numPassedTests ?? 0;
  result.failed = report.numFailedTests ?? 0;
  result.skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  for (const file of report.testResults ?? []) {
    const rel = relative(ROOT, file.name);
    const failedTests = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failedTests) result.failures.push(`${rel} > ${a.fullName || a.title}`);
    if (file.status === 'failed' && failedTests.length === 0) {
      // The file crashed (import error, failing beforeAll, …): it counts as one failure.
      result.failed += 1;
      const why = (file.message || '').split('\n')[0];
      result.failures.push(`${rel} (the file failed to run${why ? `: ${why}` : ''})`);
    }
  }
  const reported = new Set((report.testResults ?? []).map((f) => f.name));
  for (const f of files) {
    if (!reported.has(f) && r.code !== 0) {
      result.failed += 1;
      result.failures.push(`${relative(ROOT, f)} (no result: the suite ended before it ran)`);
    }
  }
  if (r.code !== 0 && result.failed === 0) {
    // Every test passed, yet vitest failed: unhandled errors, a teardown crash, a timeout.
    result.failed = 1;
    result.failures.push(`${name}: vitest exited with code ${r.code} although no test failed (unhandled error or teardown failure, see above)`);
  }
  return result;
}

/**
 * No JSON report (the suite was killed or crashed): count from the progress log instead. Tests
 * that started without a result, and files that never reported, count as failed.
 */
function fromProgress(result, progress, files, r) {
  const tests = new Map(); // "file > name" -> state
  const ended = new Set();
  const moduleErrors = [];
  let lines = [];
  try {
    lines = readFileSync(progress, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    lines = [];
  }
  for (const ev of lines) {
    const key = `${relative(ROOT, ev.file)} > ${ev.name}`;
    if (ev.e === 'test-start') tests.set(key, 'running');
    if (ev.e === 'test-end') tests.set(key, ev.state);
    if (ev.e === 'module-end') {
      ended.add(ev.file);
      if (ev.state === 'failed' && ![...tests.keys()].some((k) => k.startsWith(`${relative(ROOT, ev.file)} > `) && tests.get(k) === 'failed')) {
        moduleErrors.push(`${relative(ROOT, ev.file)} (the file failed to run${ev.errors?.[0] ? `: ${ev.errors[0].split('\n')[0]}` : ''})`);
      }
    }
  }
  for (const [key, state] of tests) {
    if (state === 'passed') result.passed += 1;
    else if (state === 'skipped') result.skipped += 1;
    else if (state === 'failed') { result.failed += 1; result.failures.push(key); }
    else { result.failed += 1; result.failures.push(`${key} (still running when the suite ${r.timedOut ? 'was stopped' : 'ended'})`); }
  }
  result.failed += moduleErrors.length;
  result.failures.push(...moduleErrors);
  for (const f of files) {
    const rel = `${relative(ROOT, f)} > `;
    if (ended.has(f) || [...tests.keys()].some((k) => k.startsWith(rel))) continue;
    result.failed += 1;
    result.failures.push(`${relative(ROOT, f)} (no result: the suite ended before this file finished)`);
  }
  if (result.failed === 0) result.failed = 1;
  result.failures.push(`${result.name}: vitest ${r.timedOut ? 'was killed' : `crashed (exit ${r.code})`} before writing its JSON report; counted from its progress log`);
  return result;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  mkdirSync(RESULTS, { recursive: true });
  say(`node ${process.version}, root ${ROOT}`);
  await ensureSystemPackages();

  const pnpm = pnpmCommand();
  say(`pnpm: ${pnpm.join(' ')}`);
  const results = [];
  const wanted = (process.env.WEBRAY_TEST_SUITES || 'unit,e2e').split(',').map((s) => s.trim()).filter((s) => s in SUITES);

  const depsOk = await ensureDependencies(pnpm);
  let buildOk = false;
  if (depsOk) {
    say('building webray (pnpm build)');
    const t = Date.now();
    const build = await run(pnpm[0], [...pnpm.slice(1), 'build'], { timeout: LIMITS.build });
    buildOk = build.code === 0;
    say(buildOk ? `built in ${seconds(Date.now() - t)}` : `build FAILED (${build.timedOut ? 'timed out' : `exit ${build.code}`})`);
  }

  for (const name of wanted) {
    if (!buildOk) {
      const files = SUITES[name].files();
      results.push({ name, passed: 0, failed: Math.max(1, files.length), skipped: 0, ms: 0,
        failures: [`${name}: not run, because ${depsOk ? 'the build' : 'pnpm install'} failed (${files.length} file(s) counted as failed)`] });
      continue;
    }
    results.push(await runSuite(name));
  }

  const total = { passed: 0, failed: 0, skipped: 0 };
  console.log('');
  say(`summary (${seconds(Date.now() - started)} in all):`);
  for (const r of results) {
    total.passed += r.passed;
    total.failed += r.failed;
    total.skipped += r.skipped;
    say(`  ${r.name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped (${seconds(r.ms)})`);
    for (const f of r.failures) say(`    FAIL ${f}`);
  }
  say(`  JSON reports: ${relative(ROOT, RESULTS)}/`);
  process.exitCode = total.failed > 0 ? 1 : 0;
  console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
}

main().catch((e) => {
  console.error(e);
  for (const child of running) killTree(child);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
