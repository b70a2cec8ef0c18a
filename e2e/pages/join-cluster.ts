/**
 * How a cluster test page starts: `ray.init` with its options, the outcome in
 * `window.clusterStatus` (and `clusterError`) for the test, and in the page's #status line.
 */
import * as ray from 'webray';

declare global {
  interface Window {
    clusterStatus: 'loading' | 'ready' | 'failed';
    clusterError?: string;
  }
}

export function joinCluster(options: ray.InitOptions): void {
  window.clusterStatus = 'loading';
  const status = document.getElementById('status')!;
  ray.init(options).then(
    () => {
      window.clusterStatus = 'ready';
      status.textContent = `ready ${ray.getRuntimeContext().hostId}`;
    },
    (e: unknown) => {
      window.clusterStatus = 'failed';
      window.clusterError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      status.textContent = `init failed: ${window.clusterError}`;
    },
  );
}
