/** Webray hosts in Node processes for e2e tests, started with `pnpm host`'s script. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HOST_SCRIPT = fileURLToPath(new URL('../../packages/node-host/src/host.mjs', import.meta.url));

/** Starts a host process; `line` resolves with the first line it prints (`ready <id>` or `error ...`). */
export function startHost(config: unknown): { child: ChildProcess; line: Promise<string> } {
  const child = spawn(process.execPath, [HOST_SCRIPT, '--config', JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => { out += String(d); if (out.includes('\n')) resolve(out.split('\n')[0]!); });
    child.once('exit', (code) => reject(new Error(`host process exited with ${code} before saying anything: ${out}`)));
  });
  return { child, line };
}

/** Ends a host process the way its user would (closing its stdin) and waits for it to exit. */
export async function stopHost(child: ChildProcess | undefined): Promise<void> {
  if (!child) return;
  child.stdin?.end();
  await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
}
