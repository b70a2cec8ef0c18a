import { Piscina } from 'piscina';

export async function start({ workers }) {
  const pool = new Piscina({
    filename: new URL('./piscina-worker.mjs', import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: 60 * 60 * 1000, // keep threads alive between interleaved repetitions
  });
  await pool.run(0);
  return {
    name: 'piscina',
    task: (x) => pool.run(x),
    tasks: (xs) => Promise.all(xs.map((x) => pool.run(x))),
    stop: () => pool.destroy(),
  };
}
