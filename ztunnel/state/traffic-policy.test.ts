// TrafficPolicy settings reach the ztunnel through the shared model: YAML -> validateConfig ->
// computeMeshState -> buildSnapshot, so a field the ztunnel reads is one the controller accepts.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../core/model/validate-config.js';
import { computeMeshState } from '../../core/model/compute-mesh-state.js';
import { buildSnapshot } from './ztunnel-snapshot.js';
import { pickEndpoint } from '../outbound/endpoint-picker.js';

const service = (name: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: shop}
spec: {clusterIP: 10.96.0.${name.length}, selector: {app: ${name}}, ports: [{port: 80}]}
`;

function snapshotOf(policies: string) {
  const text = [
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n',
    service('a'),
    service('bb'),
    service('ccc'),
    policies,
  ].join('---\n');
  const v = validateConfig([{ path: 'mesh.yaml', text }]);
  if (!v.valid) throw new Error(JSON.stringify(v.errors));
  return buildSnapshot(computeMeshState(v.result, 'cluster.local'), '1');
}

describe('TrafficPolicy at the ztunnel', () => {
  it('maps loadBalancer.simple and connectionPool.tcp.idleTimeout of a validated policy', () => {
    const snap = snapshotOf(`apiVersion: networking.ambit.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: lr, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: a}]
  loadBalancer: {simple: LEAST_REQUEST}
  connectionPool: {tcp: {idleTimeout: 1m30s}}
---
apiVersion: networking.ambit.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: rnd, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: bb}, {group: "", kind: Service, name: ccc}]
  loadBalancer: {simple: RANDOM}
`);
    expect(snap.trafficByService.get('shop/a')).toEqual({
      loadBalancer: 'LEAST_CONNECTIONS',
      idleTimeoutMs: 90_000,
    });
    expect(snap.trafficByService.get('shop/bb')).toEqual({ loadBalancer: 'RANDOM' });
    expect(snap.trafficByService.get('shop/ccc')).toEqual({ loadBalancer: 'RANDOM' });
  });

  it('PASSTHROUGH still picks an endpoint (round robin); the first policy by name wins', () => {
    const snap = snapshotOf(`apiVersion: networking.ambit.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: a-first, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: a}]
  loadBalancer: {simple: PASSTHROUGH}
---
apiVersion: networking.ambit.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: b-second, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: a}]
  loadBalancer: {simple: RANDOM}
`);
    expect(snap.trafficByService.get('shop/a')).toEqual({ loadBalancer: 'ROUND_ROBIN' });
  });

  it('the controller rejects a shape the ztunnel would not understand', () => {
    const v = validateConfig([
      {
        path: 'bad.yaml',
        text: `apiVersion: networking.ambit.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: bad, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: a}]
  loadBalancer: {simple: LEAST_CONNECTIONS}
  idleTimeout: 30s
`,
      },
    ]);
    expect(v.valid).toBe(false);
    const text = v.valid ? '' : v.errors.map((e) => JSON.stringify(e)).join('\n');
    expect(text).toContain('loadBalancer');
    expect(text).toContain('idleTimeout');
  });
});

describe('pickEndpoint RANDOM', () => {
  it('uses the injected random source and leaves the cursor alone', () => {
    const eps = ['a', 'b', 'c', 'd'];
    expect(
      pickEndpoint(
        eps,
        'RANDOM',
        7,
        () => 0,
        () => 0,
      ),
    ).toEqual({ index: 0, nextCursor: 7 });
    expect(
      pickEndpoint(
        eps,
        'RANDOM',
        7,
        () => 0,
        () => 0.6,
      ),
    ).toEqual({ index: 2, nextCursor: 7 });
    expect(
      pickEndpoint(
        eps,
        'RANDOM',
        7,
        () => 0,
        () => 0.999999,
      ),
    ).toEqual({ index: 3, nextCursor: 7 });
    expect(pickEndpoint([], 'RANDOM', 0, () => 0)).toBeUndefined();
  });
});
