// Honest status through a real controller process and the real CLI: a waypoint Gateway is
// Programmed only while a real waypoint discovery subscriber (its own bootstrapped identity) is
// connected and has ACKed, and False again once it disconnects; route conditions are computed
// from the config (a cross-namespace backend is RefNotPermitted, a rule Ambit cannot apply is
// dropped with PartiallyInvalid) and shown by `ambit status` in text and JSON.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscoveryClient } from '../../core/discovery/client.js';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { sampleMeshYaml } from '../support/controller-fixtures.js';
import { until } from '../support/until.js';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}
interface StatusJson {
  resourceStatus: {
    routes: { kind: string; namespace: string; name: string; parents: { conditions: Condition[] }[] }[];
    waypoints: {
      namespace: string;
      name: string;
      subscribedInstances: number;
      ackedInstances: number;
      conditions: Condition[];
    }[];
  };
}

const ROUTES = `apiVersion: v1
kind: Namespace
metadata: {name: pay}
---
apiVersion: v1
kind: Service
metadata: {name: pay, namespace: pay}
spec: {selector: {app: pay}, clusterIP: 10.96.0.20, ports: [{name: http, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart, namespace: shop, generation: 3}
spec:
  parentRefs: [{group: "", kind: Service, name: cart, port: 80}]
  rules:
  - backendRefs: [{name: cart, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /magic}}]
    filters: [{type: ExtensionRef, extensionRef: {group: example.com, kind: Magic, name: m}}]
    backendRefs: [{name: cart, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: to-pay, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: cart}]
  rules:
  - backendRefs: [{name: pay, namespace: pay, port: 80}]
`;

describe('ambit status: computed route and waypoint conditions', () => {
  let ctl: ControllerHarness;

  beforeAll(async () => {
    ctl = await startControllerHarness({
      files: { 'mesh.yaml': sampleMeshYaml({ waypoint: true }), 'routes.yaml': ROUTES },
    });
  }, 60_000);

  afterAll(async () => {
    await ctl?.stop();
  }, 30_000);

  const statusJson = async (): Promise<StatusJson> => {
    const r = await ctl.cli(['status', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as StatusJson;
  };
  const programmed = async (): Promise<Condition | undefined> =>
    (await statusJson()).resourceStatus.waypoints
      .find((w) => w.namespace === 'shop' && w.name === 'waypoint')
      ?.conditions.find((c) => c.type === 'Programmed');

  it('shows each route parent with Accepted, ResolvedRefs and PartiallyInvalid as the config gives them', async () => {
    const routes = (await statusJson()).resourceStatus.routes;
    const summary = routes.map(
      (r) =>
        `${r.kind} ${r.namespace}/${r.name}: ${r.parents.flatMap((p) => p.conditions.map((c) => `${c.type}=${c.status}/${c.reason}@${c.observedGeneration ?? '-'}`)).join(' ')}`,
    );
    expect(summary).toEqual([
      'HTTPRoute shop/cart: Accepted=True/Accepted@3 ResolvedRefs=True/ResolvedRefs@3 PartiallyInvalid=True/UnsupportedValue@3',
      'HTTPRoute shop/to-pay: Accepted=True/Accepted@- ResolvedRefs=False/RefNotPermitted@-',
    ]);
    const text = (await ctl.cli(['status'])).stdout;
    expect(text).toContain(
      'HTTPRoute shop/cart -> Service shop/cart:80: Accepted=True (Accepted), ResolvedRefs=True (ResolvedRefs), PartiallyInvalid=True (UnsupportedValue: Dropped Rule(s) 1: ExtensionRef filters are not supported (example.com/Magic m))',
    );
    expect(text).toContain(
      'HTTPRoute shop/to-pay -> Service shop/cart: Accepted=True (Accepted), ResolvedRefs=False (RefNotPermitted: spec.rules[0].backendRefs[0]: Service pay/pay is in another namespace and no ReferenceGrant permits it)',
    );
  });

  it('is Programmed=False before a waypoint subscribes, True once it ACKed, False again after it disconnects', async () => {
    expect(await programmed()).toEqual({
      type: 'Programmed',
      status: 'False',
      reason: 'Pending',
      message: 'no waypoint instance has subscribed (1/1 waypoint pods ready)',
    });
    expect((await ctl.cli(['status'])).stdout).toContain(
      'shop/waypoint: 1/1 instances ready; Accepted=True (Accepted), Programmed=False (Pending: no waypoint instance has subscribed (1/1 waypoint pods ready)); 0/0 subscribed instances ACKed',
    );

    let applied = '';
    const mark = ctl.logMark();
    const wp = new DiscoveryClient({
      controller: ctl.address,
      stateDir: ctl.stateDir,
      subscriber: { kind: 'waypoint', name: 'shop/waypoint' },
      onState: (_s, version) => void (applied = version),
    });
    try {
      await wp.start();
      expect(applied).not.toBe('');
      const logged = await ctl.waitForLog('waypoint status', { since: mark, timeoutMs: 15_000 });
      expect(logged).toMatchObject({ waypoint: 'shop/waypoint', programmed: 'True', reason: 'Programmed' });
      const on = await until('Programmed=True in ambit status', async () => {
        const c = await programmed();
        return c?.status === 'True' ? c : undefined;
      });
      expect(on).toEqual({
        type: 'Programmed',
        status: 'True',
        reason: 'Programmed',
        message: `1 of 1 subscribed instance ACKed (version ${applied}); 1/1 waypoint pods ready`,
      });
      const text = (await ctl.cli(['status'])).stdout;
      expect(text).toContain(
        'shop/waypoint: 1/1 instances ready; Accepted=True (Accepted), Programmed=True (Programmed); 1/1 subscribed instances ACKed',
      );
    } finally {
      await wp.close();
    }

    const off = await until('Programmed=False after the waypoint disconnected', async () => {
      const c = await programmed();
      return c?.status === 'False' ? c : undefined;
    });
    expect(off).toEqual({
      type: 'Programmed',
      status: 'False',
      reason: 'Pending',
      message: 'no waypoint instance has subscribed (1/1 waypoint pods ready)',
    });
    const json = await statusJson();
    expect(json.resourceStatus.waypoints[0]).toMatchObject({ subscribedInstances: 0, ackedInstances: 0 });
  });
});
