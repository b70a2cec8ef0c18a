/**
 * A Node script that never calls `ray.shutdown()` ends when its own work does (as Ray's Python
 * driver does), and pending work keeps it running: a get on a slow task, a task nobody waits for.
 * Each script runs in its own process, against the built package.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const WEBRAY = new URL('../../dist/index.js', import.meta.url).href;
/** Far longer than any script needs; only there so a process that never exits fails the test. */
const KILL_AFTER_MS = 60_000;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webray-exit-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs a script (webray imported as `ray`); resolves with its exit code, signal and output. */
function run(name: string, body: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  const file = path.join(tmp, `${name}.mjs`);
  fs.writeFileSync(file, `import * as ray from ${JSON.stringify(WEBRAY)};\n${body}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += String(d); });
    const guard = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    child.on('exit', (code, signal) => { clearTimeout(guard); resolve({ code, signal, out }); });
  });
}

/** Blocks its worker for `ms` without an event loop turn, so only the host's hold keeps the process up. */
const SLOW = `const slow = ray.remote((ms, v) => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); return v; });`;

describe('a Node script without ray.shutdown()', () => {
  it('exits 0 after running tasks and an actor', async () => {
    const r = await run('tasks-and-actor', `
await ray.init({ numWorkers: 2 });
const square = ray.remote((x) => x * x);
console.log(JSON.stringify(await ray.get([1, 2, 3].map((i) => square.remote(i)))));
class Counter { n = 0; inc(by = 1) { return (this.n += by); } }
const counter = ray.remote(Counter).remote();
console.log(await ray.get(counter.inc.remote(5)));
`);
    expect(r).toEqual({ code: 0, signal: null, out: '[1,4,9]\n5\n' });
  }, KILL_AFTER_MS + 10_000);

  it('stays up for a pending get on a slow task, then exits 0 with its result', async () => {
    const r = await run('slow-get', `${SLOW}
await ray.init({ numWorkers: 1 });
const ref = slow.remote(1500, 'slow result');
// Nothing else of the script's keeps the loop busy while the task runs.
ray.get(ref).then((v) => console.log(v));
`);
    expect(r).toEqual({ code: 0, signal: null, out: 'slow result\n' });
  }, KILL_AFTER_MS + 10_000);

  it('runs a task nobody waits for to its end before exiting', async () => {
    const marker = path.join(os.tmpdir(), `webray-exit-marker-${process.pid}`);
    fs.rmSync(marker, { force: true });
    const r = await run('fire-and-forget', `
await ray.init({ numWorkers: 1 });
const write = ray.remote(async (file) => { const fs = await import('node:fs'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000); fs.writeFileSync(file, 'done'); });
write.remote(${JSON.stringify(marker)});
`);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(marker, 'utf8')).toBe('done');
    fs.rmSync(marker, { force: true });
  }, KILL_AFTER_MS + 10_000);

  it('runs code after an awaited shutdown', async () => {
    const r = await run('after-shutdown', `
await ray.init({ numWorkers: 1 });
console.log(await ray.get(ray.remote(() => 'ran').remote()));
await ray.shutdown();
console.log('after shutdown');
`);
    expect(r).toEqual({ code: 0, signal: null, out: 'ran\nafter shutdown\n' });
  }, KILL_AFTER_MS + 10_000);
});
