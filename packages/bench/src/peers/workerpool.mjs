import { fileURLToPath } from 'node:url';
import workerpool from 'workerpool';

export async function start({ workers }) {
  const pool = workerpool.pool(fileURLToPath(new URL('./workerpool-worker.mjs', import.meta.url)), {
    workerType: 'thread',
    minWorkers: workers,
    maxWorkers: workers,
  });
  await pool.exec('noop', [0]);
  return {
    name: 'workerpool',
    task: (x) => pool.exec('noop', [x]),
    tasks: (xs) => Promise.all(xs.map((x) => pool.exec('noop', [x]))),
    stop: () => pool.terminate(),
  };
}
