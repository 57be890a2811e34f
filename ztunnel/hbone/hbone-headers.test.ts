import { describe, expect, it } from 'vitest';
import {
  baggage,
  formatAuthority,
  formatForwarded,
  parseAuthority,
  parseBaggage,
  parseForwarded,
  traceparent,
} from './hbone-headers.js';
import { workload } from '../state/mesh-fixture.js';

describe('hbone headers', () => {
  it.each([
    ['10.0.0.1', 80, '10.0.0.1:80'],
    ['fd00::1', 443, '[fd00::1]:443'],
  ])('formats authority %s %d', (ip, port, want) => {
    expect(formatAuthority(ip, port)).toBe(want);
    expect(parseAuthority(want)).toEqual({ ip, port });
  });

  it.each([
    '',
    'foo:80',
    '10.0.0.1',
    '10.0.0.1:0',
    '10.0.0.1:70000',
    'fd00::1:80',
    '[10.0.0.1]:80',
    'svc.ns:80',
  ])('rejects bad authority %j', (a) => expect(parseAuthority(a)).toBeUndefined());

  it('formats and parses forwarded', () => {
    expect(formatForwarded('10.0.0.1', 4000)).toBe('for="10.0.0.1:4000"');
    expect(formatForwarded('10.0.0.1', 4000, 'a.b.svc.cluster.local')).toBe(
      'for="10.0.0.1:4000";host=a.b.svc.cluster.local',
    );
    expect(parseForwarded('for="[fd00::1]:5";host=x')).toEqual({ ip: 'fd00::1', port: 5, host: 'x' });
    expect(parseForwarded('for=10.0.0.1')).toEqual({ ip: '10.0.0.1' });
  });

  it('keeps a valid traceparent and replaces an invalid one with a 55-char one', () => {
    const good = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(traceparent(good)).toBe(good);
    const made = traceparent('garbage');
    expect(made).toHaveLength(55);
    expect(made).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('baggage names namespace, workload, service and version', () => {
    const w = workload({
      name: 'cart-7d9f',
      workloadName: 'cart',
      namespace: 'shop',
      ip: '10.0.0.1',
      node: 'n',
      canonicalService: 'cart',
      canonicalRevision: 'v1',
    });
    const b = baggage(w);
    expect(b).toBe('k8s.namespace.name=shop,k8s.deployment.name=cart,service.name=cart,service.version=v1');
    expect(parseBaggage(b)['service.version']).toBe('v1');
  });
});
