// Baseline for reading a large array made on another thread: the worker posts it, structured clone copies it.
import { Worker } from 'node:worker_threads';

const code = `
const { parentPort } = require('node:worker_threads');
let a;
parentPort.on('message', (m) => {
  if (m.make) { a = new Float64Array(m.make / 8).fill(1); parentPort.postMessage(true); return; }
  parentPort.postMessage(a);
});
`;

export async function start() {
  const w = new Worker(code, { eval: true });
  const ask = (m) => new Promise((resolve) => { w.once('message', resolve); w.postMessage(m); });
  return {
    name: 'postMessage',
    async bigGet(bytes) {
      await ask({ make: bytes });
      return async () => {
        const a = await ask({});
        if (a.length !== bytes / 8) throw new Error('postMessage: wrong length');
      };
    },
    stop: () => w.terminate(),
  };
}
