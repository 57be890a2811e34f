import { describe, expect, it } from 'vitest';
import { parseBaggage, REQUEST_LABEL_NAMES, requestLabels, sourceFromBaggage } from './request-labels.js';
import { baggage } from '../../ztunnel/hbone/hbone-headers.js';
import { service, workload } from '../../ztunnel/state/mesh-fixture.js';

const client = workload({
  name: 'web-7d9f-abcde',
  namespace: 'web',
  ip: '10.0.1.5',
  node: 'node-1',
  serviceAccount: 'frontend',
  workloadName: 'web',
  canonicalService: 'web',
  canonicalRevision: 'v2',
});
const cart = workload({
  name: 'cart-1',
  namespace: 'shop',
  ip: '10.0.2.5',
  node: 'node-2',
  workloadName: 'cart',
  canonicalService: 'cart',
  canonicalRevision: 'v1',
  app: 'cart',
  version: 'v1',
});
const cartSvc = service({ name: 'cart', namespace: 'shop', vip: '10.96.0.10', port: 8080 });

describe('parseBaggage', () => {
  it('reads W3C members, percent-decoded, properties dropped, malformed skipped', () => {
    const m = parseBaggage('a=1, b = x%20y ;prop=1,broken,c=%E0%A4%A,d=');
    expect([...m]).toEqual([
      ['a', '1'],
      ['b', 'x y'],
      ['d', ''],
    ]);
  });

  it('reads what the source ztunnel writes', () => {
    const m = parseBaggage(baggage(client));
    expect(m.get('k8s.namespace.name')).toBe('web');
    expect(m.get('k8s.deployment.name')).toBe('web');
    expect(m.get('service.name')).toBe('web');
    expect(m.get('service.version')).toBe('v2');
  });
});

describe('sourceFromBaggage', () => {
  it('takes the workload, canonical names and namespace from the ztunnel baggage', () => {
    expect(sourceFromBaggage(baggage(client), client.identity)).toEqual({
      principal: 'spiffe://cluster.local/ns/web/sa/frontend',
      namespace: 'web',
      workload: 'web',
      canonicalService: 'web',
      canonicalRevision: 'v2',
    });
  });

  it('the principal namespace wins over the baggage', () => {
    const s = sourceFromBaggage('k8s.namespace.name=liar', 'spiffe://cluster.local/ns/web/sa/x');
    expect(s.namespace).toBe('web');
  });

  it('no baggage, no principal: nothing known', () => {
    expect(sourceFromBaggage(undefined)).toEqual({});
  });

  it('app.name / app.version when the baggage has them', () => {
    expect(sourceFromBaggage('k8s.pod.name=p,app.name=shop,app.version=v3')).toEqual({
      workload: 'p',
      app: 'shop',
      version: 'v3',
    });
  });
});

describe('requestLabels', () => {
  it('fills every label, reporter waypoint', () => {
    const l = requestLabels({
      source: sourceFromBaggage(baggage(client), client.identity),
      destination: { service: cartSvc, workload: cart, principal: cart.identity },
      protocol: 'http',
      responseCode: 200,
      flags: '-',
    });
    expect(Object.keys(l).sort()).toEqual([...REQUEST_LABEL_NAMES].sort());
    expect(l).toEqual({
      reporter: 'waypoint',
      source_workload: 'web',
      source_canonical_service: 'web',
      source_canonical_revision: 'v2',
      source_workload_namespace: 'web',
      source_principal: 'spiffe://cluster.local/ns/web/sa/frontend',
      source_app: 'unknown',
      source_version: 'unknown',
      source_cluster: 'Kubernetes',
      destination_service: 'cart.shop.svc.cluster.local',
      destination_service_namespace: 'shop',
      destination_service_name: 'cart',
      destination_workload: 'cart',
      destination_canonical_service: 'cart',
      destination_canonical_revision: 'v1',
      destination_workload_namespace: 'shop',
      destination_principal: 'spiffe://cluster.local/ns/shop/sa/cart-1',
      destination_app: 'cart',
      destination_version: 'v1',
      destination_cluster: 'Kubernetes',
      request_protocol: 'http',
      response_flags: '-',
      connection_security_policy: 'mutual_tls',
      response_code: '200',
      grpc_response_status: '',
    });
  });

  it('missing values are unknown; gRPC status reported for gRPC', () => {
    const l = requestLabels({ source: {}, destination: {}, protocol: 'grpc', responseCode: 0, flags: '' });
    expect(l.source_workload).toBe('unknown');
    expect(l.source_principal).toBe('unknown');
    expect(l.source_cluster).toBe('unknown');
    expect(l.destination_service).toBe('unknown');
    expect(l.destination_workload).toBe('unknown');
    expect(l.destination_principal).toBe('unknown');
    expect(l.connection_security_policy).toBe('unknown');
    expect(l.response_flags).toBe('-');
    expect(l.response_code).toBe('0');
    expect(l.grpc_response_status).toBe('unknown');
    const ok = requestLabels({
      source: {},
      destination: {},
      protocol: 'grpc',
      responseCode: 200,
      grpcStatus: '14',
      flags: 'URX',
    });
    expect(ok.grpc_response_status).toBe('14');
    expect(ok.response_flags).toBe('URX');
    expect(ok.request_protocol).toBe('grpc');
  });
});
