// EndpointSlice addresses are checked against the slice's addressType: a cluster's FQDN slices
// (DNS names) are accepted and left out of the mesh; an IPv4 slice with a name or an IPv6
// address is refused at the address's field path.
import { describe, expect, it } from 'vitest';
import { computeMeshState } from './compute-mesh-state.js';
import { formatConfigError } from './config-error.js';
import { validateConfig } from './validate-config.js';

const slice = (addressType: string, address: string): string =>
  [
    'apiVersion: discovery.k8s.io/v1',
    'kind: EndpointSlice',
    'metadata: {name: ext, namespace: shop, labels: {kubernetes.io/service-name: ext}}',
    `addressType: ${addressType}`,
    `endpoints: [{addresses: ["${address}"]}]`,
    'ports: [{name: http, port: 80}]',
  ].join('\n');
const base = [
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}',
  'apiVersion: v1\nkind: Service\nmetadata: {name: ext, namespace: shop}\nspec: {ports: [{name: http, port: 80}]}',
].join('\n---\n');

describe('EndpointSlice addresses by addressType', () => {
  it('accepts an FQDN slice and leaves it out of the mesh', () => {
    const r = validateConfig([
      { path: 'm.yaml', text: `${base}\n---\n${slice('FQDN', 'db.example.internal')}` },
    ]);
    expect(r.valid ? [] : r.errors.map(formatConfigError)).toEqual([]);
    if (r.valid) expect(computeMeshState(r.result, 'cluster.local').workloads).toEqual([]);
  });

  it.each([
    ['IPv4', 'db.example.internal'],
    ['IPv4', 'fd00::1'],
    ['IPv6', '10.1.0.9'],
  ])('refuses an %s slice holding %s, naming the address field', (type, address) => {
    const r = validateConfig([{ path: 'm.yaml', text: `${base}\n---\n${slice(type, address)}` }]);
    expect(r.valid).toBe(false);
    if (!r.valid) {
      expect(r.errors[0]).toMatchObject({
        resource: 'EndpointSlice shop/ext',
        field: 'endpoints[0].addresses[0]',
        message: expect.stringContaining(`must be an ${type} address`),
      });
    }
  });
});
