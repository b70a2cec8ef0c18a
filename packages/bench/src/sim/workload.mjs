// The tasks of a sim run: mostly 1-CPU, some 2-CPU (so leases, not node count, bound what runs),
// and a share with an argument object in one host's store (so the locality path runs).

const FN = { id: 'sim-task' };
const TWO_CPU_SHARE = 0.2;
const WITH_DATA_SHARE = 0.2;
const ARG_BYTES = 1 << 20;

/** The scheduling class of a demand, as the runtime keys it (sorted names). */
export function demandKey(d) {
  let k = '';
  for (const name of Object.keys(d).sort()) k += name + ':' + d[name] + ';';
  return k;
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same workload. */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const demands = [{ CPU: 1 }, { CPU: 2 }];
export const MEAN_CPUS = 1 + TWO_CPU_SHARE;

/** Task `i`, owned by host `owner`; `hostIds` are where its argument may live. */
export function makeTask(i, owner, hostIds, rand) {
  const demand = demands[rand() < TWO_CPU_SHARE ? 1 : 0];
  const t = { id: `t${i}`, owner, demand, key: demandKey(demand), fn: FN, strategy: 'DEFAULT', argBytes: [], wireArgs: [], refs: [], dataHost: undefined };
  if (rand() < WITH_DATA_SHARE) {
    const host = hostIds[Math.floor(rand() * hostIds.length)];
    t.dataHost = host;
    t.argBytes = [{ host, bytes: ARG_BYTES }];
    t.wireArgs = [null];
    t.refs = [{ i: 0, id: `o${i}`, host, size: ARG_BYTES }];
  }
  return t;
}
