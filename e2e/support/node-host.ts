/** Webray hosts in Node processes for e2e tests, started with the package's bin (`webray host`). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClusterConfig } from 'webray';

const BIN = fileURLToPath(new URL('../../packages/webray/dist/bin/webray.js', import.meta.url));

interface HostConfig { cluster: ClusterConfig; [option: string]: unknown }

/**
 * Starts a host process; `line` resolves with the first line it prints (`ready <id>` or `error ...`).
 * The token goes in WEBRAY_TOKEN, as a user's would; the rest of the config on the command line.
 */
export function startHost(config: HostConfig): { child: ChildProcess; line: Promise<string> } {
  const { token, ...cluster } = config.cluster;
  const child = spawn(process.execPath, [BIN, 'host', '--control-stdin', '--config', JSON.stringify({ ...config, cluster })], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, WEBRAY_TOKEN: token },
  });
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
  // A process killed by a signal has no exit code, only a signal code.
  await new Promise((r) => (child.exitCode === null && child.signalCode === null ? child.once('exit', r) : r(undefined)));
}
