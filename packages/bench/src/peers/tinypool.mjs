import { Tinypool } from 'tinypool';

export async function start({ workers }) {
  const pool = new Tinypool({
    filename: new URL('./tinypool-worker.mjs', import.meta.url).href,
    runtime: 'worker_threads',
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: 60 * 60 * 1000,
    isolateWorkers: false,
  });
  await pool.run(0);
  return {
    name: 'tinypool',
    task: (x) => pool.run(x),
    tasks: (xs) => Promise.all(xs.map((x) => pool.run(x))),
    stop: () => pool.destroy(),
  };
}
