// Waypoint Deployments against the stand-in API server (issue 10 item 3): a Gateway of class
// ambit-waypoint gets its ServiceAccount, Deployment, Service, PodDisruptionBudget and the
// namespace's root ConfigMap, each owned by the Gateway; an edit to a field we own is reverted;
// deleting the Gateway removes them (the stand-in's garbage collection), and so does changing its
// class (this loop, since garbage collection cannot see that); a Gateway of another class and an
// object without our label are left alone; a follower writes nothing. The class is tested directly,
// with a fake LeaderGate and config() from manifests (validateConfig). Loopback only; it writes, so
// it is not pointed at a real cluster.
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig, type ConfigResources } from '../../core/model/validate-config.js';
import { FakeClock } from '../../core/policy/fake-clock.test-helper.js';
import { connectKube } from '../../controller/kube/kube-api.js';
import type { LeaderGate } from '../../controller/kube/leader-election.js';
import { ManualLeaderGate } from '../../controller/kube/leader-gate.test-helper.js';
import { WaypointDeployments } from '../../controller/kube/waypoint-deployments.js';
import { FakeKubeApiServer, type KubeObject } from '../support/fake-kube-apiserver.js';
import { until } from '../support/until.js';

const logger = pino({ level: 'silent' });
const ROOT_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KINDS = ['ServiceAccount', 'Deployment', 'Service', 'PodDisruptionBudget'] as const;

const gateway = (name: string, className: string, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name, namespace: 'shop', ...(annotations ? { annotations } : {}) },
  spec: { gatewayClassName: className, listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
});

/** The config model of what the stand-in holds now, as the Kubernetes store would give it. */
function configOf(fake: FakeKubeApiServer): ConfigResources {
  const docs = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    ...fake.list('Gateway', 'shop'),
  ];
  const v = validateConfig([
    { path: 'cluster.yaml', text: docs.map((d) => JSON.stringify(d)).join('\n---\n') },
  ]);
  if (!v.valid) throw new Error(v.errors.map((e) => `${e.resource} ${e.field}: ${e.message}`).join('; '));
  return v.result;
}

describe('waypoint Deployments on the stand-in API server', () => {
  let fake: FakeKubeApiServer;
  let running: WaypointDeployments[] = [];

  beforeEach(async () => {
    fake = await new FakeKubeApiServer().start();
  });
  afterEach(async () => {
    await Promise.all(running.map((w) => w.stop()));
    running = [];
    await fake.close();
  });

  const start = (leader: LeaderGate, extra: { clock?: FakeClock; rootCertPem?: string } = {}) => {
    const w = new WaypointDeployments({
      api: connectKube(fake.writeKubeconfig()),
      leader,
      config: () => configOf(fake),
      image: 'ambit:test',
      controllerAddress: 'ambit-controller.ambit-system.svc:15010',
      rootCertPem: extra.rootCertPem ?? ROOT_PEM,
      logger,
      clock: extra.clock,
      debounceMs: 10,
      resyncMs: 100,
    });
    running.push(w);
    w.start();
    return w;
  };
  const owned = (kind: string, name = 'waypoint'): KubeObject | undefined => fake.get(kind, 'shop', name);
  const allPresent = (name = 'waypoint'): boolean =>
    KINDS.every((k) => owned(k, name) !== undefined) && owned('ConfigMap', 'ambit-root-cert') !== undefined;
  const nonePresent = (name = 'waypoint'): boolean =>
    KINDS.every((k) => owned(k, name) === undefined) && owned('ConfigMap', 'ambit-root-cert') === undefined;

  it('makes the SA, Deployment, Service, PDB and root ConfigMap of a waypoint, owned by its Gateway', async () => {
    const gw = fake.apply(gateway('waypoint', 'ambit-waypoint'));
    fake.apply(gateway('edge', 'istio'));
    start(new ManualLeaderGate(true));
    await until('the waypoint objects', () => allPresent());
    for (const kind of KINDS) {
      expect(owned(kind)?.metadata.ownerReferences, kind).toStrictEqual([
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          name: 'waypoint',
          uid: gw.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(owned(kind)?.metadata.labels?.['ambit.dev/managed-by'], kind).toBe('ambit-controller');
    }
    const cm = owned('ConfigMap', 'ambit-root-cert');
    expect(cm?.data).toStrictEqual({ 'root-cert.pem': ROOT_PEM });
    expect(cm?.metadata.ownerReferences?.map((r) => [r.name, r.uid, r.controller])).toStrictEqual([
      ['waypoint', gw.metadata.uid, false],
    ]);
    expect(owned('Deployment')?.spec).toMatchObject({ replicas: 2 });
    // the Gateway of another class gets nothing
    for (const kind of KINDS) expect(owned(kind, 'edge'), kind).toBeUndefined();
  });

  it('reverts an edit to a field it owns and keeps fields it does not own', async () => {
    fake.apply(gateway('waypoint', 'ambit-waypoint'));
    start(new ManualLeaderGate(true));
    await until('the waypoint objects', () => allPresent());
    const d = owned('Deployment');
    if (!d) throw new Error('no Deployment');
    const spec = structuredClone(d.spec) as {
      replicas: number;
      template: { spec: { containers: { image: string }[] } };
    };
    spec.replicas = 7;
    const c = spec.template.spec.containers[0];
    if (c) c.image = 'someone-else:1';
    fake.apply({ ...d, metadata: { ...d.metadata, annotations: { team: 'shop' } }, spec });
    const svc = owned('Service');
    if (!svc) throw new Error('no Service');
    fake.apply({ ...svc, spec: { ...(svc.spec as object), ports: [{ name: 'http', port: 80 }] } });
    await until('the edits reverted', () => {
      const now = owned('Deployment')?.spec as typeof spec | undefined;
      const ports = (owned('Service')?.spec as { ports?: { port: number }[] } | undefined)?.ports;
      return (
        now?.replicas === 2 &&
        now.template.spec.containers[0]?.image === 'ambit:test' &&
        ports?.[0]?.port === 15008
      );
    });
    expect(owned('Deployment')?.metadata.annotations).toMatchObject({ team: 'shop' });
  });

  it('an update that meets a concurrent change (409) rereads and retries', async () => {
    fake.apply(gateway('waypoint', 'ambit-waypoint'));
    start(new ManualLeaderGate(true));
    await until('the waypoint objects', () => allPresent());
    let conflicts = 1;
    fake.route('PUT', /\/deployments\/waypoint$/, (body) => {
      if (conflicts > 0) {
        conflicts -= 1;
        return { status: 409, body: { kind: 'Status', status: 'Failure', reason: 'Conflict', code: 409 } };
      }
      return { status: 200, body: fake.apply(body as KubeObject) };
    });
    const d = owned('Deployment');
    if (!d) throw new Error('no Deployment');
    fake.apply({ ...d, spec: { ...(d.spec as object), replicas: 9 } });
    await until(
      'the replicas put back',
      () => (owned('Deployment')?.spec as { replicas?: number }).replicas === 2,
    );
    expect(conflicts).toBe(0); // the first PUT met the 409, the retry went through
  });

  it('follows the replicas annotation of the Gateway', async () => {
    fake.apply(gateway('waypoint', 'ambit-waypoint', { 'ambit.dev/waypoint-replicas': '1' }));
    const w = start(new ManualLeaderGate(true));
    await until('the waypoint objects', () => allPresent());
    expect(owned('Deployment')?.spec).toMatchObject({ replicas: 1 });
    expect(owned('PodDisruptionBudget')?.spec).toMatchObject({ maxUnavailable: 1 });
    const gw = fake.get('Gateway', 'shop', 'waypoint');
    if (!gw) throw new Error('no Gateway');
    fake.apply({ ...gw, metadata: { ...gw.metadata, annotations: { 'ambit.dev/waypoint-replicas': '3' } } });
    w.nudge();
    await until(
      'three replicas and their budget (the PDB is written after the Deployment)',
      () =>
        (owned('Deployment')?.spec as { replicas?: number } | undefined)?.replicas === 3 &&
        (owned('PodDisruptionBudget')?.spec as { minAvailable?: number } | undefined)?.minAvailable === 1,
    );
    expect(owned('PodDisruptionBudget')?.spec).toStrictEqual({
      minAvailable: 1,
      selector: { matchLabels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' } },
    });
  });

  it('deleting the Gateway removes what it owned', async () => {
    fake.apply(gateway('waypoint', 'ambit-waypoint'));
    const w = start(new ManualLeaderGate(true));
    await until('the waypoint objects', () => allPresent());
    fake.delete('Gateway', 'shop', 'waypoint');
    w.nudge();
    await until('the waypoint objects gone', () => nonePresent());
  });

  it('a Gateway that stops being a waypoint loses its objects (garbage collection cannot see that)', async () => {
    fake.apply(gateway('waypoint', 'ambit-waypoint'));
    const w = start(new ManualLeaderGate(true));
    await until('the waypoint objects', () => allPresent());
    const gw = fake.get('Gateway', 'shop', 'waypoint');
    if (!gw) throw new Error('no Gateway');
    fake.apply({ ...gw, spec: { ...(gw.spec as object), gatewayClassName: 'istio' } });
    w.nudge();
    await until('the waypoint objects gone', () => nonePresent());
    expect(fake.get('Gateway', 'shop', 'waypoint')).toBeDefined();
  });

  it('leaves an object without its label alone and makes the rest', async () => {
    fake.apply({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'waypoint', namespace: 'shop', labels: { team: 'shop' } },
    });
    fake.apply(gateway('waypoint', 'ambit-waypoint'));
    const w = start(new ManualLeaderGate(true));
    await until(
      'the other waypoint objects',
      () => owned('PodDisruptionBudget') !== undefined && w.lastPass !== undefined,
    );
    expect(w.lastPass?.foreign).toBe(1);
    expect(owned('ServiceAccount')?.metadata.labels).toStrictEqual({ team: 'shop' });
    expect(owned('ServiceAccount')?.metadata.ownerReferences).toBeUndefined();
    // and never deletes it, even once the Gateway is gone
    fake.delete('Gateway', 'shop', 'waypoint');
    w.nudge();
    await until('the waypoint objects gone', () => owned('Deployment') === undefined);
    const passes = w.passes;
    await until('another pass', () => w.passes > passes);
    expect(owned('ServiceAccount')).toBeDefined();
  });

  it('a steady pass only reads; an unlabelled root ConfigMap with the same root is accepted as is', async () => {
    fake.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ambit-root-cert', namespace: 'shop' },
      data: { 'root-cert.pem': ROOT_PEM },
    });
    fake.apply(gateway('waypoint', 'ambit-waypoint'));
    fake.apply(gateway('second', 'ambit-waypoint'));
    const w = start(new ManualLeaderGate(true));
    await until('the waypoint objects', () => KINDS.every((k) => owned(k) && owned(k, 'second')));
    const settled = w.passes;
    await until('a settled pass', () => w.passes > settled && w.lastPass?.created === 0);
    const from = fake.requests.length;
    const before = w.passes;
    await until('one more pass', () => w.passes > before);
    const requests = fake.requests.slice(from);
    expect(requests.filter((r) => r.method !== 'GET')).toStrictEqual([]);
    expect(w.lastPass).toMatchObject({ created: 0, updated: 0, deleted: 0, foreign: 0 });
    expect(owned('ConfigMap', 'ambit-root-cert')?.metadata.labels).toBeUndefined();
  });

  it('a follower writes nothing, and takes over when it leads', async () => {
    fake.apply(gateway('waypoint', 'ambit-waypoint'));
    const clock = new FakeClock();
    const gate = new ManualLeaderGate(false);
    const w = start(gate, { clock });
    w.nudge();
    await clock.advance(10 * 60_000);
    expect(fake.requests).toStrictEqual([]);
    gate.set(true);
    await until('the waypoint objects made by the new leader', async () => {
      await clock.advance(10);
      return allPresent();
    });
  });
});
