// Persisted tables. The head H (operator key, a state directory) restarts as a new host with the
// same directory while the only other host S has the join token only (so nobody else can be head):
// the new head finds the tables, with the FINISHED job of a host L that left before.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostRuntime } from '../host/runtime.js';
import { MemorySignaling } from '../mesh/signaling.js';
import * as ray from '../index.js';
import { startServingHost } from './index.js';
import { until } from '../test-support/until.js';

const dir = mkdtempSync(join(tmpdir(), 'webray-state-'));
const running: HostRuntime[] = [];

afterAll(async () => {
  // A host's last change (its job's end) is saved after its shutdown returns: wait for it.
  for (const h of running) { await h.shutdown(); await h.cluster?.saved(); }
  rmSync(dir, { recursive: true, force: true });
});

describe('a head that restarts with its state directory', () => {
  it('finds its tables and the cluster goes on', async () => {
    const keys = await ray.generateSubmitterKey();
    const operator = await ray.generateSubmitterKey();
    const base = { id: 'persist-cluster', token: 'join-secret', submitterPublicKey: keys.publicKey, operatorPublicKey: operator.publicKey, signaling: new MemorySignaling(), heartbeatMs: 100, deadAfterMs: 2000 };
    const asHead = { ...base, operatorKey: operator.privateKey, stateDir: dir };
    const h = await startServingHost({ numWorkers: 1, cluster: asHead });
    const s = await startServingHost({ numWorkers: 1, cluster: base });
    running.push(s);
    const l = await startServingHost({ numWorkers: 1, cluster: base });
    await l.shutdown();
    await until(async () => (await s.cluster!.listJobs()).some((j) => j.jobId === l.jobId && j.state === 'FINISHED'));
    await h.cluster!.saved();
    await h.shutdown();
    await until(() => s.cluster!.member.headId === '');

    const h2 = await startServingHost({ numWorkers: 1, cluster: asHead });
    running.push(h2);
    expect(h2.cluster!.member.isHead).toBe(true);
    await until(() => s.cluster!.member.headId === h2.hostId);
    const jobs = await s.cluster!.listJobs();
    expect(jobs.find((j) => j.jobId === l.jobId)?.state).toBe('FINISHED');
    expect(jobs.map((j) => j.jobId)).toEqual(expect.arrayContaining([h.jobId, s.jobId, h2.jobId]));
  });
});
