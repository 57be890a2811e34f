// Status writes end to end through startController: two whole controller replicas on the stand-in
// API server, the Kubernetes store feeding the status writer, the Lease choosing which one writes.
// The leader's routes and waypoint Gateway get their conditions; when it shuts down (releasing the
// Lease) the other replica takes over and writes the next change. Loopback only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startController, type RunningController } from '../../controller/controller.js';
import { statusMeshObjects } from '../../controller/kube/status-mesh.test-helper.js';
import { WAYPOINT_CONTROLLER_NAME } from '../../controller/kube/status-targets.js';
import { FakeKubeApiServer, type KubeObject } from '../support/fake-kube-apiserver.js';
import { until } from '../support/until.js';

const NS = 'ambit-system';

interface Condition {
  type: string;
  status: string;
  reason: string;
  observedGeneration?: number;
}
interface ParentStatus {
  controllerName: string;
  conditions: Condition[];
}

describe('status writes through startController (two replicas, one Lease)', () => {
  let fake: FakeKubeApiServer;
  let dir: string;
  const running = new Map<string, RunningController>();

  beforeEach(async () => {
    fake = await new FakeKubeApiServer().start();
    dir = mkdtempSync(path.join(tmpdir(), 'ambit-kube-status-'));
    // the store holds back a route whose backend is missing, so the fixture's ghost route stays out
    for (const o of statusMeshObjects(1)) {
      if ((o.metadata as { name?: string }).name !== 'ghost') fake.apply(o as KubeObject);
    }
  });
  afterEach(async () => {
    await Promise.allSettled([...running.values()].map((c) => c.close()));
    running.clear();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (name: string): Promise<void> => {
    const c = await startController({
      kubeconfig: fake.writeKubeconfig('t', dir),
      listen: '127.0.0.1:0',
      stateDir: path.join(dir, name),
      trustDomain: 'cluster.local',
      logger: pino({ level: 'silent' }),
      env: { POD_NAMESPACE: NS, POD_NAME: name },
    });
    running.set(name, c);
  };
  const holder = () =>
    (fake.get('Lease', NS, 'ambit-controller')?.spec as { holderIdentity?: string } | undefined)
      ?.holderIdentity;
  const ours = (name: string): Condition[] =>
    (
      (fake.get('HTTPRoute', 'shop', name)?.status as { parents?: ParentStatus[] } | undefined)?.parents ?? []
    ).find((p) => p.controllerName === WAYPOINT_CONTROLLER_NAME)?.conditions ?? [];
  const summary = (cs: Condition[]) => cs.map((c) => `${c.type}=${c.status}/${c.reason}`);

  it('the Lease holder writes status; after it shuts down the other replica writes the next change', async () => {
    await Promise.all([start('replica-a'), start('replica-b')]);
    const first = await until('a Lease holder', () => holder() || undefined);
    await until('cart route status', () => ours('cart').length > 0);
    expect(summary(ours('cart'))).toEqual(['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']);
    // the store keeps metadata.generation, so conditions say which generation they judged
    expect(ours('cart').map((c) => c.observedGeneration)).toEqual([1, 1]);
    await until('waypoint Programmed', () =>
      (
        (fake.get('Gateway', 'shop', 'waypoint')?.status as { conditions?: Condition[] } | undefined)
          ?.conditions ?? []
      ).some((c) => c.type === 'Programmed' && c.status === 'True'),
    );

    await running.get(first)?.close();
    running.delete(first);
    const second = await until('the other replica holds the Lease', () => {
      const h = holder();
      return h && h !== first ? h : undefined;
    });
    expect(['replica-a', 'replica-b']).toContain(second);

    const cart = fake.get('HTTPRoute', 'shop', 'cart');
    if (!cart) throw new Error('no cart route');
    const spec = cart.spec as { rules: unknown[] };
    const dropped = {
      filters: [{ type: 'ExtensionRef', extensionRef: { group: 'example.com', kind: 'Magic', name: 'm' } }],
      backendRefs: [{ name: 'cart', port: 8080 }],
    };
    fake.apply({ ...cart, spec: { ...spec, rules: [...spec.rules, dropped] } });
    await until('cart PartiallyInvalid, written by the new leader', () =>
      ours('cart').some((c) => c.type === 'PartiallyInvalid'),
    );
    expect(summary(ours('cart'))).toEqual([
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
      'PartiallyInvalid=True/UnsupportedValue',
    ]);
    expect(ours('cart').map((c) => c.observedGeneration)).toEqual([2, 2, 2]);
  });
});
