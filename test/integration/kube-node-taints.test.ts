// Node startup taints against the stand-in API server (issue 10 item 4): an agent that is
// subscribed and has ACKed lifts its own node's `ambit.dev/agent-not-ready` taint, keeps the node's
// other taints, and lifts no other node's; a follower lifts nothing unless told it may
// (onlyWhileLeading: false); a 409 on the patch is reread and retried. The class is tested
// directly, with a fake LeaderGate, config() from manifests (validateConfig) and subscriber
// records as the discovery service keeps them. Loopback only.
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig, type ConfigResources } from '../../core/model/validate-config.js';
import type { SubscriberRecord } from '../../controller/subscriber-session.js';
import { connectKube } from '../../controller/kube/kube-api.js';
import type { LeaderGate } from '../../controller/kube/leader-election.js';
import { ManualLeaderGate } from '../../controller/kube/leader-gate.test-helper.js';
import { AGENT_NOT_READY_TAINT, NodeStartupTaints } from '../../controller/kube/node-taints.js';
import { FakeKubeApiServer, type KubeObject } from '../support/fake-kube-apiserver.js';
import { until } from '../support/until.js';

const logger = pino({ level: 'silent' });
const NOT_READY = { key: AGENT_NOT_READY_TAINT, effect: 'NoSchedule' };
const OTHER = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };

const nodeObject = (name: string, ip: string, taints: object[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: { taints },
  status: { addresses: [{ type: 'InternalIP', address: ip }] },
});

function configOf(fake: FakeKubeApiServer): ConfigResources {
  const text = fake
    .list('Node')
    .map((d) => JSON.stringify(d))
    .join('\n---\n');
  const v = validateConfig([{ path: 'cluster.yaml', text }]);
  if (!v.valid) throw new Error(v.errors.map((e) => `${e.resource} ${e.field}: ${e.message}`).join('; '));
  return v.result;
}

const agent = (node: string, ackedVersion?: string): SubscriberRecord => ({
  subscriber: { kind: 'agent', node, name: '' },
  peer: 'ipv4:10.0.0.1:40000',
  connected: true,
  connectedAt: new Date().toISOString(),
  ...(ackedVersion ? { lastAckedVersion: ackedVersion, lastAckAt: new Date().toISOString() } : {}),
});

describe('node startup taints on the stand-in API server', () => {
  let fake: FakeKubeApiServer;
  let subscribers: SubscriberRecord[];
  let running: NodeStartupTaints[] = [];

  beforeEach(async () => {
    fake = await new FakeKubeApiServer().start();
    fake.apply(nodeObject('node-a', '10.0.0.1', [NOT_READY, OTHER]));
    fake.apply(nodeObject('node-b', '10.0.0.2', [NOT_READY]));
    subscribers = [];
  });
  afterEach(async () => {
    await Promise.all(running.map((t) => t.stop()));
    running = [];
    await fake.close();
  });

  const start = (leader: LeaderGate, onlyWhileLeading?: boolean): NodeStartupTaints => {
    const t = new NodeStartupTaints({
      api: connectKube(fake.writeKubeconfig()),
      leader,
      config: () => configOf(fake),
      subscribers: () => subscribers,
      logger,
      onlyWhileLeading,
      debounceMs: 10,
      resyncMs: 100,
    });
    running.push(t);
    t.start();
    return t;
  };
  const taints = (node: string): unknown =>
    (fake.get('Node', undefined, node)?.spec as { taints?: unknown })?.taints;

  it("an agent that ACKs lifts its own node's taint, keeps the others, and no other node's", async () => {
    subscribers = [agent('node-a', 'v1'), agent('node-b')]; // node-b's agent has not ACKed
    const t = start(new ManualLeaderGate(true));
    t.nudge();
    await until('node-a untainted', () => JSON.stringify(taints('node-a')) === JSON.stringify([OTHER]));
    expect(taints('node-b')).toStrictEqual([NOT_READY]);
    expect(t.lifted).toStrictEqual(['node-a']);
    // node-b's agent ACKs
    subscribers = [agent('node-a', 'v1'), agent('node-b', 'v1')];
    t.nudge();
    await until('node-b untainted', () => JSON.stringify(taints('node-b')) === '[]');
    expect(taints('node-a')).toStrictEqual([OTHER]);
    expect(t.lifted).toStrictEqual(['node-a', 'node-b']);
  });

  it('a follower lifts nothing; told it may lift for its own agents, it does', async () => {
    subscribers = [agent('node-a', 'v1')];
    const follower = start(new ManualLeaderGate(false));
    follower.nudge();
    const anyReplica = start(new ManualLeaderGate(false), false);
    anyReplica.nudge();
    await until('node-a untainted', () => JSON.stringify(taints('node-a')) === JSON.stringify([OTHER]));
    expect(anyReplica.lifted).toStrictEqual(['node-a']);
    expect(follower.lifted).toStrictEqual([]);
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
  });

  it('a patch that meets a concurrent change (409) is reread and retried', async () => {
    subscribers = [agent('node-a', 'v1')];
    let conflicts = 1;
    fake.route('PATCH', /^\/api\/v1\/nodes\/node-a$/, (body) => {
      if (conflicts > 0) {
        conflicts -= 1;
        // someone else changed the node meanwhile: a new taint
        const n = fake.get('Node', undefined, 'node-a');
        if (n)
          fake.apply({ ...n, spec: { taints: [NOT_READY, OTHER, { key: 'late', effect: 'NoSchedule' }] } });
        return { status: 409, body: { kind: 'Status', status: 'Failure', reason: 'Conflict', code: 409 } };
      }
      const n = fake.get('Node', undefined, 'node-a');
      if (!n) return { status: 404, body: { kind: 'Status', reason: 'NotFound', code: 404 } };
      const patch = body as { spec: { taints: unknown } };
      return { status: 200, body: fake.apply({ ...n, spec: { taints: patch.spec.taints } }) };
    });
    const t = start(new ManualLeaderGate(true));
    t.nudge();
    await until('node-a untainted', () => t.lifted.length === 1);
    // the retry read the node again: the taint added meanwhile is kept
    expect(taints('node-a')).toStrictEqual([OTHER, { key: 'late', effect: 'NoSchedule' }]);
  });
});
