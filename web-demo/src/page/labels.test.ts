// Names people read for hosts and nodes: two tabs' "node 1"s apart, and a task another host ran
// (its owner records only that host's id) under that host's name, not as a node named by an id.
import type { NodeState } from 'webray';
import { describe, expect, it } from 'vitest';
import { hostOf, learnNodes, nodeLabel, setSelfHost } from './labels.ts';

const node = (nodeId: string, hostId: string, hostName: string): NodeState => ({
  nodeId, hostId, hostName, kind: 'task', alive: true, resources: { CPU: 1 }, actorId: null, tasksRunning: 0, paused: false,
});

describe('host and node labels', () => {
  setSelfHost('aaaa1111');
  learnNodes([node('aaaa1111.1', 'aaaa1111', 'driver tab'), node('bbbb2222.1', 'bbbb2222', 'volunteer A')]);

  it('names each node by its host and number, this tab as "this tab"', () => {
    expect(nodeLabel('aaaa1111.1')).toBe('this tab · node 1');
    expect(nodeLabel('bbbb2222.1')).toBe('volunteer A · node 1');
    expect(nodeLabel('aaaa1111.driver')).toBe('this tab · driver');
  });

  it('names a bare host id (a task its owner sent to that host) by the host\'s name', () => {
    expect(hostOf('bbbb2222')).toBe('bbbb2222');
    expect(nodeLabel('bbbb2222')).toBe('volunteer A');
  });

  it('finds the host of a node id', () => {
    expect(hostOf('bbbb2222.12')).toBe('bbbb2222');
  });
});
