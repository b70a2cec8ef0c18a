/** The task timeline: a Gantt chart per node of the latest run, and the Chrome-trace download. */
import * as ray from 'webray';
import type { TraceEvent } from 'webray';
import { $, fmt, h } from './dom.ts';
import { byHostThenNumber, colourOf, nodeLabel } from './labels.ts';

const taskColours = new Map<string, string>();
const taskPalette = ['#0f766e', '#f59e0b', '#db2777', '#7c3aed', '#65a30d', '#0891b2', '#b45309'];

function taskColour(name: string): string {
  let c = taskColours.get(name);
  if (!c) {
    c = taskPalette[taskColours.size % taskPalette.length]!;
    taskColours.set(name, c);
  }
  return c;
}

/** Draws the tasks that ended after `since` (wall-clock ms): one row per node, one bar per attempt. */
export async function drawGantt(since: number): Promise<void> {
  const events = (await ray.timeline()).filter((e): e is TraceEvent & { dur: number } => e.ph === 'X' && e.dur !== undefined);
  const shown = events.filter((e) => e.ts + e.dur >= since * 1000);
  // A row per node (`tid` numbers a host's rows; `args.nodeId` names the node, as the dashboard does).
  const nodeOf = (e: TraceEvent) => String(e.args?.nodeId ?? e.tid);
  const rows = [...new Set(shown.map(nodeOf))].sort(byHostThenNumber);
  const canvas = $<HTMLCanvasElement>('gantt');
  const rowH = 18;
  const top = 6;
  const axisH = 22;
  const labelW = 150;
  const cssW = canvas.clientWidth || 1000;
  const cssH = top + Math.max(rows.length, 1) * rowH + axisH;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  canvas.style.height = `${cssH}px`;
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, cssW, cssH);
  g.font = '11px system-ui, sans-serif';
  g.textBaseline = 'middle';
  if (shown.length === 0) {
    g.fillStyle = '#6b7385';
    g.fillText('no finished tasks yet', labelW, top + rowH / 2);
    return;
  }
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const e of shown) { t0 = Math.min(t0, e.ts); t1 = Math.max(t1, e.ts + e.dur); }
  const span = Math.max(t1 - t0, 1);
  const plotW = cssW - labelW - 10;
  const x = (ts: number) => labelW + ((ts - t0) / span) * plotW;
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    g.fillStyle = i % 2 ? '#fafbfc' : '#f1f3f6';
    g.fillRect(labelW, y, plotW, rowH);
    g.fillStyle = colourOf(row);
    g.fillRect(4, y + 5, 8, 8);
    g.fillStyle = '#1d2330';
    g.fillText(nodeLabel(row), 16, y + rowH / 2, labelW - 20);
  });
  const rowOf = new Map(rows.map((r, i) => [r, i]));
  for (const e of shown) {
    const y = top + rowOf.get(nodeOf(e))! * rowH;
    g.fillStyle = taskColour(e.name);
    g.fillRect(x(e.ts), y + 3, Math.max(1, (e.dur / span) * plotW - 0.5), rowH - 6);
  }
  const axisY = top + rows.length * rowH;
  g.strokeStyle = '#c9ced8';
  g.beginPath();
  g.moveTo(labelW, axisY + 0.5);
  g.lineTo(labelW + plotW, axisY + 0.5);
  g.stroke();
  const spanMs = span / 1000;
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000, 120000, 300000].find((s) => spanMs / s <= 8) ?? 300000;
  g.fillStyle = '#6b7385';
  g.textAlign = 'center';
  for (let ms = 0; ms <= spanMs; ms += step) {
    const px = x(t0 + ms * 1000);
    g.fillRect(px, axisY, 1, 4);
    g.fillText(ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`, px, axisY + 13);
  }
  g.textAlign = 'start';
  const perName = new Map<string, number>();
  for (const e of shown) perName.set(e.name, (perName.get(e.name) ?? 0) + 1);
  $('gantt-legend').replaceChildren(
    ...[...perName].map(([name, n]) => {
      const s = h('span', { class: 'swatch' });
      s.style.background = taskColour(name);
      return h('span', {}, s, `${name} × ${fmt(n)}`);
    }),
    h('span', {}, `· ${fmt(spanMs / 1000, 1)} s shown`),
  );
}

/** Saves `ray.timeline()` as a Chrome trace file (chrome://tracing, Perfetto). */
export async function downloadTimeline(): Promise<void> {
  const events = await ray.timeline();
  const blob = new Blob([JSON.stringify(events)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `webray-timeline-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
