// Aggregation (medians, ratios, targets), the stdout table, and the JSON file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { median, round } from './harness.mjs';

export const TARGETS = [
  { id: 'async_tiny_tasks_vs_piscina', text: 'async tiny tasks: webray >= 5x piscina (ops/s)', caseId: 'tiny_tasks_async', metric: 'opsPerSec', peer: 'piscina', cmp: '>=', threshold: 5 },
  { id: 'task_round_trip_p50_vs_piscina', text: "one task's round trip p50: webray <= 0.5x piscina", caseId: 'tiny_tasks_sync', metric: 'p50Us', peer: 'piscina', cmp: '<=', threshold: 0.5 },
  { id: 'pipelined_actor_calls_vs_comlink', text: 'pipelined actor calls 1:1: webray >= 3x comlink (ops/s)', caseId: 'actor_calls_async_1_1', metric: 'opsPerSec', peer: 'comlink', cmp: '>=', threshold: 3 },
  { id: 'get_64mib_vs_post_message', text: 'get of a 64 MiB array from another worker: webray >= 100x postMessage (ops/s)', caseId: 'get_64mib', metric: 'opsPerSec', peer: 'postMessage', cmp: '>=', threshold: 100 },
  { id: 'put_64mib_vs_set', text: 'put of 64 MiB: webray >= 0.8x TypedArray.set into allocated memory (ops/s)', caseId: 'put_64mib', metric: 'opsPerSec', peer: 'TypedArray.set', cmp: '>=', threshold: 0.8 },
  { id: 'small_puts', text: 'small puts: webray >= 100,000/s', caseId: 'put_calls', metric: 'opsPerSec', cmp: '>=', threshold: 100_000 },
  { id: 'small_gets', text: 'small gets: webray >= 200,000/s', caseId: 'get_calls', metric: 'opsPerSec', cmp: '>=', threshold: 200_000 },
  { id: 'store_two_workers', text: 'store used by two workers at once: total >= one worker (ops/s)', caseId: 'store_churn_2_workers', metric: 'opsPerSec', peerCase: 'store_churn_1_worker', cmp: '>=', threshold: 1 },
];

/** Fills in medians per system of a case result: { systems: { name: { reps, error? } } }. */
export function summarize(caseResult) {
  for (const s of Object.values(caseResult.systems)) {
    const pick = (k) => s.reps.map((r) => r[k]).filter((v) => v !== undefined);
    const ops = pick('opsPerSec');
    s.median = {
      opsPerSec: round(median(ops), 1),
      spreadPct: ops.length ? round(((Math.max(...ops) - Math.min(...ops)) / median(ops)) * 100, 1) : null,
    };
    if (pick('p50Us').length) {
      s.median.p50Us = round(median(pick('p50Us')), 1);
      s.median.p99Us = round(median(pick('p99Us')), 1);
    }
  }
  const w = caseResult.systems.webray?.median?.opsPerSec;
  for (const [name, s] of Object.entries(caseResult.systems)) {
    if (name !== 'webray' && Number.isFinite(w) && Number.isFinite(s.median.opsPerSec)) {
      s.ratioWebrayToPeer = round(w / s.median.opsPerSec, 3);
    }
  }
  return caseResult;
}

/**
 * A target compares webray's median with a peer's in the same case (`peer`), with webray's in
 * another case (`peerCase`), or, with neither, with an absolute `threshold`.
 */
export function evaluateTargets(cases) {
  const median = (caseId, system, metric) => cases.find((x) => x.id === caseId)?.systems[system]?.median?.[metric];
  return TARGETS.map((t) => {
    const w = median(t.caseId, 'webray', t.metric);
    const relative = t.peer !== undefined || t.peerCase !== undefined;
    const p = t.peer !== undefined ? median(t.caseId, t.peer, t.metric) : t.peerCase !== undefined ? median(t.peerCase, 'webray', t.metric) : undefined;
    const ratio = relative ? (Number.isFinite(w) && Number.isFinite(p) && p > 0 ? round(w / p, 3) : null) : Number.isFinite(w) ? w : null;
    const pass = ratio === null ? null : t.cmp === '>=' ? ratio >= t.threshold : ratio <= t.threshold;
    return { ...t, webray: w ?? null, peerValue: p ?? null, ratio, status: pass === null ? 'N/A' : pass ? 'PASS' : 'FAIL' };
  });
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');

function table(rows, header) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function printReport(result, log = console.log) {
  const rows = [];
  for (const c of result.cases) {
    for (const [name, s] of Object.entries(c.systems)) {
      const m = s.median ?? {};
      rows.push([
        c.id,
        name,
        s.error && !s.reps.length ? `ERROR` : fmt(m.opsPerSec),
        s.reps.length ? `${fmt(m.spreadPct, 0)}%` : '-',
        name === 'webray' ? '-' : s.ratioWebrayToPeer !== undefined ? `${fmt(s.ratioWebrayToPeer, 2)}x` : '-',
        fmt(m.p50Us, 1),
        fmt(m.p99Us, 1),
        `${s.reps.length}${s.error ? '!' : ''}`,
      ]);
    }
  }
  log(table(rows, ['case', 'system', 'ops/s (median)', 'spread', 'webray/peer', 'p50 us', 'p99 us', 'reps']));
  const errors = Object.entries(result.startup).filter(([, s]) => s.error).map(([n, s]) => `  start / ${n}: ${s.error}`);
  errors.push(...result.cases.flatMap((c) => Object.entries(c.systems).filter(([, s]) => s.error).map(([n, s]) => `  ${c.id} / ${n}: ${s.error}`)));
  if (errors.length) log(`\nerrors ('!' in reps):\n${errors.join('\n')}`);
  log('\ntargets:');
  for (const t of result.targets) {
    const unit = t.metric === 'p50Us' ? 'us' : 'ops/s';
    const against = t.peer ?? (t.peerCase ? `${t.peerCase}` : undefined);
    const measured = t.ratio === null ? '-' : against ? `${fmt(t.ratio, 2)}x (webray ${fmt(t.webray, 1)} vs ${against} ${fmt(t.peerValue, 1)} ${unit})` : `${fmt(t.ratio, 0)} ${unit}`;
    log(`  ${t.status.padEnd(4)}  ${t.text}: measured ${measured}`);
  }
  const m = result.machine;
  log(`\n${m.cpus} CPUs (${m.cpuModel}), node ${m.node}, load avg ${m.loadAvgAtStart[0]} -> ${m.loadAvgAtEnd[0]}, ${result.config.mode} run, ${result.config.reps} reps x ~${result.config.budgetMs} ms, median shown; ${fmt(result.durationMs / 1000, 1)} s total`);
}

export function writeJson(path, result) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
}
