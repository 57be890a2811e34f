// Drift and update of owned fields: server defaults and others' fields are not drift and survive
// an update; a changed or missing value we set is drift and is put back.
import { describe, expect, it } from 'vitest';
import { renderWaypointObjects, type OwnedObject } from './waypoint-objects.js';
import { containsAll, driftOf, withOwnedFields } from './waypoint-owned-fields.js';

function rendered(kind: string): OwnedObject {
  const r = renderWaypointObjects({
    gateway: { namespace: 'shop', name: 'waypoint', uid: 'uid-1' },
    image: 'ambit:1',
    controllerAddress: 'ambit-controller.ambit-system.svc:15010',
  });
  if (!r.ok) throw new Error(r.reason);
  const o = r.objects.find((x) => x.kind === kind);
  if (!o) throw new Error(kind);
  return o;
}

/** What an API server returns: our object plus metadata, defaults and allocated fields. */
function asStored(o: OwnedObject): Record<string, unknown> {
  const c = structuredClone(o) as Record<string, unknown> & { metadata: Record<string, unknown> };
  c.metadata = {
    ...c.metadata,
    uid: 'u',
    resourceVersion: '7',
    annotations: { 'deployment.kubernetes.io/revision': '1' },
  };
  return c;
}

describe('containsAll', () => {
  it.each([
    { want: { a: 1 }, have: { a: 1, b: 2 }, ok: true },
    { want: { a: 1 }, have: { a: 2 }, ok: false },
    { want: { a: { b: [1, { c: 'x' }] } }, have: { a: { b: [1, { c: 'x', d: 'default' }] } }, ok: true },
    { want: [1, 2], have: [1, 2, 3], ok: false },
    { want: { a: 1 }, have: undefined, ok: false },
    { want: undefined, have: 'anything', ok: true },
    { want: 0, have: '0', ok: false },
  ])('$want in $have: $ok', ({ want, have, ok }) => {
    expect(containsAll(want, have)).toBe(ok);
  });
});

describe('driftOf', () => {
  it('sees no drift in a stored object with server defaults', () => {
    const d = rendered('Deployment');
    const live = asStored(d) as {
      spec: { template: { spec: { containers: Record<string, unknown>[]; dnsPolicy?: string } } };
    };
    live.spec.template.spec.dnsPolicy = 'ClusterFirst';
    const c = live.spec.template.spec.containers[0];
    if (c) c.terminationMessagePath = '/dev/termination-log';
    expect(driftOf(d, live)).toStrictEqual([]);
  });

  it('names the owned fields that changed', () => {
    const d = rendered('Deployment');
    const live = asStored(d) as {
      spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
    };
    live.spec.replicas = 5;
    const c = live.spec.template.spec.containers[0];
    if (c) c.image = 'evil:1';
    expect(driftOf(d, live)).toStrictEqual(['spec.replicas', 'spec.template.spec']);
  });

  it('sees a removed label and a replaced owner', () => {
    const s = rendered('Service');
    const live = asStored(s) as { metadata: { labels: Record<string, string>; ownerReferences: unknown[] } };
    delete live.metadata.labels['ambit.dev/use-waypoint'];
    live.metadata.ownerReferences = [];
    expect(driftOf(s, live)).toStrictEqual(['metadata.labels', 'metadata.ownerReferences']);
  });
});

describe('withOwnedFields', () => {
  it('keeps allocated and foreign fields, the resourceVersion, and puts ours back', () => {
    const s = rendered('Service');
    const live = asStored(s) as {
      metadata: { labels: Record<string, string> };
      spec: Record<string, unknown> & { ports: { port: number }[] };
    };
    live.metadata.labels.team = 'shop';
    live.spec.clusterIP = '10.96.0.12';
    live.spec.ports = [{ port: 1 }];
    const body = withOwnedFields(s, live) as typeof live & { metadata: { resourceVersion: string } };
    expect(body.metadata.resourceVersion).toBe('7');
    expect(body.metadata.labels.team).toBe('shop');
    expect(body.spec.clusterIP).toBe('10.96.0.12');
    expect(body.spec.ports).toStrictEqual((s.spec as { ports: unknown }).ports);
    expect(driftOf(s, body)).toStrictEqual([]);
  });

  it('replaces a PodDisruptionBudget spec whole (minAvailable and maxUnavailable exclude each other)', () => {
    const p = rendered('PodDisruptionBudget');
    const live = asStored(p) as { spec: Record<string, unknown> };
    live.spec = { maxUnavailable: 1, selector: {} };
    const body = withOwnedFields(p, live) as { spec: Record<string, unknown> };
    expect(body.spec).toStrictEqual(p.spec);
  });
});
