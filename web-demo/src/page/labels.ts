/**
 * Names and colours for hosts and nodes, so a person can tell two tabs' "node 1"s apart: every
 * node is shown as its host's name and its number on that host.
 */
import type { NodeState } from 'webray';
import { h } from './dom.ts';

const palette = ['#2f6fde', '#e0662f', '#2e9e5b', '#a64ad6', '#d4a21a', '#1aa3b8', '#d43f6f', '#6b7a2a', '#7d5a3c', '#4a55a8'];
const colours = new Map<string, string>();
const hostNames = new Map<string, string>();
let selfHost = '';

/** This tab's host id: its nodes read "this tab". */
export function setSelfHost(hostId: string): void {
  selfHost = hostId;
}

/** Learns host names from `nodes()` rows; gives each node a colour in a stable order. */
export function learnNodes(nodes: readonly NodeState[]): void {
  for (const n of nodes) if (n.hostName) hostNames.set(n.hostId, n.hostName);
  for (const id of nodes.map((n) => n.nodeId).sort(byHostThenNumber)) colourOf(id);
}

export function hostLabel(hostId: string): string {
  if (hostId === selfHost) return 'this tab';
  return hostNames.get(hostId) ?? `host ${hostId.slice(0, 6)}`;
}

/**
 * The host a node id belongs to (`3f2a9c1e.3` → `3f2a9c1e`). A bare host id is its own: a task
 * sent to another host is recorded by its owner with that host's id only.
 */
export const hostOf = (nodeId: string) => (nodeId.includes('.') ? nodeId.slice(0, nodeId.lastIndexOf('.')) : nodeId);
const numberOf = (nodeId: string) => nodeId.slice(nodeId.lastIndexOf('.') + 1);

/**
 * `3f2a9c1e.3` → `this tab · node 3` (or the host's name); a driver thread reads `… · driver`;
 * a bare host id, the host's name.
 */
export function nodeLabel(nodeId: string): string {
  if (!nodeId.includes('.')) return hostLabel(nodeId);
  const n = numberOf(nodeId);
  return `${hostLabel(hostOf(nodeId))} · ${n === 'driver' ? 'driver' : `node ${n}`}`;
}

/** Node ids in order: this tab's first, then by host, then by number. */
export function byHostThenNumber(a: string, b: string): number {
  const ha = hostOf(a);
  const hb = hostOf(b);
  if (ha !== hb) return ha === selfHost ? -1 : hb === selfHost ? 1 : ha.localeCompare(hb);
  return (Number(numberOf(a)) || -1) - (Number(numberOf(b)) || -1);
}

export function colourOf(nodeId: string): string {
  let c = colours.get(nodeId);
  if (!c) {
    c = palette[colours.size % palette.length]!;
    colours.set(nodeId, c);
  }
  return c;
}

export function swatch(nodeId: string): HTMLElement {
  const s = h('span', { class: 'swatch', title: nodeId });
  s.style.background = colourOf(nodeId);
  return s;
}

export function nodeCell(nodeId: string | null): HTMLElement {
  return nodeId ? h('span', { title: nodeId }, swatch(nodeId), nodeLabel(nodeId)) : h('span', { class: 'dim' }, '—');
}
