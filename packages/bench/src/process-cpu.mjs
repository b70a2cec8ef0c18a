// CPU time (user + system) used so far by this process and every process below it (Chromium's
// renderers and workers, Node hosts), from /proc. Unlike wall time it does not depend on what
// else the machine runs, so it shows what work costs even on a busy machine. Linux only.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime/stime: 100 on Linux. */
const TICK_MS = 10;

function stats() {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let s;
    try { s = readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; } // exited meanwhile
    // The command name (2nd field) may hold spaces: the fields that matter come after its ')'.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(name), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
  }
  return out;
}

/** Milliseconds of CPU this process tree has used (processes that already exited are not counted). */
export function treeCpuMs(root = process.pid) {
  const all = stats();
  const inTree = new Set([root]);
  // Parents come before children in no particular order: sweep until nothing is added.
  for (let added = true; added;) {
    added = false;
    for (const p of all) if (!inTree.has(p.pid) && inTree.has(p.ppid)) { inTree.add(p.pid); added = true; }
  }
  return all.reduce((sum, p) => sum + (inTree.has(p.pid) ? p.ticks : 0), 0) * TICK_MS;
}
