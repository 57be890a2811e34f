// Which nodes lose the startup taint: a table over taints and subscriber records (pure).
import { describe, expect, it } from 'vitest';
import { emptyConfig, type ConfigResources } from '../../core/model/validate-config.js';
import type { SubscriberRecord } from '../subscriber-session.js';
import { AGENT_NOT_READY_TAINT, agentReady, nodesToUntaint } from './node-taints.js';

function node(
  name: string,
  taints: { key: string; effect: string }[] | undefined,
): ConfigResources['Node'][number] {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    ...(taints ? { spec: { taints } } : {}),
    status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] },
  };
}

function sub(kind: string, nodeName: string, extra: Partial<SubscriberRecord> = {}): SubscriberRecord {
  return {
    subscriber: { kind, node: nodeName, name: '' },
    peer: 'ipv4:10.0.0.1:5000',
    connected: true,
    connectedAt: '2026-12-01T00:00:00Z',
    ...extra,
  };
}

const NOT_READY = { key: AGENT_NOT_READY_TAINT, effect: 'NoSchedule' };
const acked = { lastAckedVersion: 'v1' };

describe('agentReady', () => {
  it.each([
    { what: 'connected and ACKed', subs: [sub('agent', 'n1', acked)], ready: true },
    { what: 'connected, nothing ACKed yet', subs: [sub('agent', 'n1')], ready: false },
    { what: 'only a NACK', subs: [sub('agent', 'n1', { lastNackVersion: 'v1' })], ready: false },
    {
      what: 'ACKed, then disconnected',
      subs: [sub('agent', 'n1', { ...acked, connected: false })],
      ready: false,
    },
    { what: "the ztunnel's ACK is not the agent's", subs: [sub('ztunnel', 'n1', acked)], ready: false },
    { what: "another node's agent", subs: [sub('agent', 'n2', acked)], ready: false },
    {
      what: 'an old stream gone, a new one ACKed',
      subs: [sub('agent', 'n1', { connected: false }), sub('agent', 'n1', acked)],
      ready: true,
    },
  ])('$what: $ready', ({ subs, ready }) => {
    expect(agentReady('n1', subs)).toBe(ready);
  });
});

describe('nodesToUntaint', () => {
  it('lists the tainted nodes whose agent is ready, whatever the effect, and no other', () => {
    const config = emptyConfig();
    config.Node = [
      node('a', [NOT_READY]),
      node('b', [
        { key: AGENT_NOT_READY_TAINT, effect: 'NoExecute' },
        { key: 'other', effect: 'NoSchedule' },
      ]),
      node('c', [NOT_READY]), // agent not ACKed
      node('d', [{ key: 'other', effect: 'NoSchedule' }]), // no startup taint
      node('e', undefined),
    ];
    const subs = [
      sub('agent', 'b', acked),
      sub('agent', 'a', acked),
      sub('agent', 'c'),
      sub('agent', 'd', acked),
    ];
    expect(nodesToUntaint(config, subs)).toStrictEqual(['a', 'b']);
  });
});
