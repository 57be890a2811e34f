import { describe, expect, it } from 'vitest';
import { parseCurlOutput } from './cluster.js';
import { meshStateFor } from './computed-mesh-state.js';
import { manifestFiles } from './manifests.js';
import {
  demoTopologySpec,
  GRPC_PORT,
  HTTP_PORT,
  planTopology,
  waypointPods,
  type TopologySpec,
} from './topology.js';

const spec: TopologySpec = {
  nodes: 2,
  namespaces: [{ name: 'shop', labels: { 'ambit.dev/dataplane-mode': 'ambient' } }],
  pods: [
    { name: 'client', namespace: 'shop', node: 1, labels: { app: 'client' } },
    { name: 'api-v1', namespace: 'shop', node: 1, labels: { app: 'api', version: 'v1' } },
    {
      name: 'api-v2',
      namespace: 'shop',
      node: 2,
      labels: { app: 'api', version: 'v2' },
      env: { AMBIT_ECHO_FAIL_PERCENT: '50' },
    },
  ],
  services: [
    {
      name: 'api',
      namespace: 'shop',
      selector: { app: 'api' },
      labels: { 'ambit.dev/use-waypoint': 'waypoint' },
      ports: [
        { name: 'http', port: 80, targetPort: HTTP_PORT },
        { name: 'grpc', port: GRPC_PORT, targetPort: GRPC_PORT },
      ],
    },
  ],
  waypoints: [{ name: 'waypoint', namespace: 'shop', instances: [2, 1] }],
  manifests: [
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'api', namespace: 'shop' },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: 'api', port: 80 }],
        rules: [{ backendRefs: [{ name: 'api', port: 80 }] }],
      },
    },
  ],
};

describe('local cluster waypoints', () => {
  const t = planTopology(spec, 'tst');

  it('plans one pod per instance, labelled for its Gateway and opted out of capture', () => {
    const pods = waypointPods(t, 'shop', 'waypoint');
    expect(pods.map((p) => [p.spec.name, p.node.index])).toEqual([
      ['waypoint-1', 2],
      ['waypoint-2', 1],
    ]);
    expect(pods[0]?.labels).toEqual({
      'gateway.networking.k8s.io/gateway-name': 'waypoint',
      'ambit.dev/dataplane-mode': 'none',
    });
    expect(pods[0]?.serviceAccount).toBe('waypoint');
  });

  it('the controller computes the waypoint, its instances, the Service using it and the route', () => {
    const state = meshStateFor(t);
    expect(state.waypoints).toEqual([
      expect.objectContaining({
        namespace: 'shop',
        name: 'waypoint',
        identity: 'spiffe://cluster.local/ns/shop/sa/waypoint',
        instances: [expect.objectContaining({ ready: true }), expect.objectContaining({ ready: true })],
      }),
    ]);
    expect(state.services.find((s) => s.name === 'api')?.waypoint).toEqual({
      namespace: 'shop',
      name: 'waypoint',
    });
    const wp = state.workloads.find((w) => w.name === 'waypoint-1');
    expect(wp).toMatchObject({ enrolled: false, waypointFor: { namespace: 'shop', name: 'waypoint' } });
    expect(state.routes.map((r) => `${r.kind}/${r.namespace}/${r.name}`)).toEqual(['HTTPRoute/shop/api']);
  });

  it('a pod written not Ready leaves the waypoint instances and Service endpoints as not ready', () => {
    const state = meshStateFor(t, { notReady: new Set(['shop/waypoint-2', 'shop/api-v2']) });
    expect(state.waypoints[0]?.instances.map((i) => i.ready)).toEqual([true, false]);
    const api = state.services.find((s) => s.name === 'api');
    expect(api?.endpoints.filter((e) => e.ready !== false).length).toBeLessThan(api?.endpoints.length ?? 0);
  });

  it('writes the Gateway and the extra manifests in their own files', () => {
    const names = manifestFiles(t).map((f) => f.path);
    expect(names).toEqual(expect.arrayContaining(['gateways.yaml', 'extra.yaml']));
  });
});

describe('parseCurlOutput', () => {
  it('takes the last response after 100 Continue, joins repeated headers', () => {
    const out =
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 302 Found\r\nLocation: https://example.org/x\r\nSet: a\r\nset: b\r\n\r\nbody\n__AMBIT_CURL_END__ 302\n';
    expect(parseCurlOutput(out, 0)).toEqual({
      status: 302,
      headers: { location: 'https://example.org/x', set: 'a, b' },
      body: 'body',
      curlExit: 0,
    });
  });

  it('a failed curl has status 0 and its error', () => {
    expect(parseCurlOutput('\n__AMBIT_CURL_END__ 000\n', 28, 'curl: (28) timed out')).toMatchObject({
      status: 0,
      curlExit: 28,
      error: 'curl: (28) timed out',
    });
  });
});

describe('the demo topology', () => {
  it('compiles: the waypoint, its Services and both routes (the 90/10 split and the retry)', () => {
    const state = meshStateFor(planTopology(demoTopologySpec(), 'demo'));
    expect(state.waypoints.map((w) => `${w.namespace}/${w.name}`)).toEqual(['demo/waypoint']);
    expect(
      state.services
        .filter((s) => s.waypoint)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['flaky', 'server']);
    expect(state.routes.map((r) => r.name).sort()).toEqual(['flaky', 'server']);
  });
});
