/** Nodes as Node.js worker_threads. */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort as NodeMessagePort } from 'node:worker_threads';
import type { Endpoint, NodeBootData, NodeProcess, Platform } from './types.js';

/** Run from TypeScript sources (tests), the worker still needs JavaScript: use the build. */
function workerEntry(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/node/entry.js', here) : new URL('../node/entry.js', here);
}

export function portEndpoint(port: { postMessage(m: unknown, t?: any[]): void; on(e: 'message', l: (m: unknown) => void): unknown; close(): void; unref?(): void }): Endpoint {
  return {
    send: (m, t) => port.postMessage(m, t as any[]),
    listen: (r) => { port.on('message', r); },
    close: () => port.close(),
  };
}

export const nodePlatform: Platform = {
  name: 'node',
  cpuCount: availableParallelism(),
  spawn(boot: NodeBootData): NodeProcess {
    const control = new MessageChannel();
    const worker = new Worker(workerEntry(), {
      workerData: { boot, control: control.port2 },
      transferList: [control.port2 as unknown as NodeMessagePort],
      name: `webray-${boot.kind}-${boot.nodeId}`,
    });
    let terminating = false;
    let exitListener: ((reason: string) => void) | undefined;
    let lastError: Error | undefined;
    worker.on('error', (e) => { lastError = e; });
    worker.on('exit', (code) => {
      if (terminating) return;
      exitListener?.(lastError ? `uncaught ${lastError.name}: ${lastError.message}` : `worker exited with code ${code}`);
    });
    return {
      endpoint: {
        send: (m, t) => worker.postMessage(m, t as any[]),
        listen: (r) => { worker.on('message', r); },
        close: () => { void worker.terminate(); },
      },
      control: control.port1 as unknown as MessagePort,
      onExit: (l) => { exitListener = l; },
      terminate: async () => { terminating = true; control.port1.close(); await worker.terminate(); },
    };
  },
};
