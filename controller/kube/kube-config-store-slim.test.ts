// object-slim.ts keeps everything the model reads: the demo manifests (every kind the store
// watches) fattened the way an API server serves them (managedFields, the last-applied
// annotation, status written by controllers, Pod and Node fields the mesh does not read) give the
// same mesh state whole and slimmed, and the slim objects carry none of that weight.
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { computeMeshState } from '../../core/model/compute-mesh-state.js';
import { formatConfigError } from '../../core/model/config-error.js';
import { validateConfig } from '../../core/model/validate-config.js';
import { manifestFiles } from '../../local-cluster/manifests.js';
import { demoTopologySpec, planTopology } from '../../local-cluster/topology.js';
import { slimObject } from './object-slim.js';
import { WATCHED_KINDS } from './watched-kinds.js';

type Obj = Record<string, unknown> & { kind: string; metadata: Record<string, unknown> };

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** What an API server and the controllers around it add to an object. */
function fatten(o: Obj): Obj {
  const f = structuredClone(o);
  f.metadata = {
    ...f.metadata,
    resourceVersion: '12345',
    managedFields: [
      { manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } },
    ],
    annotations: {
      ...(f.metadata.annotations ?? {}),
      [LAST_APPLIED]: JSON.stringify(o),
    },
    finalizers: ['example.com/keep'],
  };
  const spec = (f.spec ?? {}) as Record<string, unknown>;
  const status = (f.status ?? {}) as Record<string, unknown>;
  switch (f.kind) {
    case 'Pod':
      spec.tolerations = [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }];
      spec.volumes = [{ name: 'token', projected: { sources: [] } }];
      for (const c of (spec.containers as Record<string, unknown>[] | undefined) ?? []) {
        c.env = [{ name: 'A', value: 'b' }];
        c.resources = { requests: { cpu: '100m' } };
      }
      status.containerStatuses = [{ name: 'app', ready: true, restartCount: 0 }];
      status.startTime = '2024-05-01T10:00:00Z';
      status.qosClass = 'Burstable';
      break;
    case 'Node':
      status.images = [{ names: ['registry.example/img:1'], sizeBytes: 1 }];
      status.conditions = [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2024-05-01T10:00:00Z' }];
      status.nodeInfo = { kubeletVersion: 'v1.30.0' };
      break;
    case 'Service':
      spec.sessionAffinity = 'None';
      spec.ipFamilies = ['IPv4'];
      status.loadBalancer = {};
      break;
    case 'EndpointSlice':
      for (const e of (f.endpoints as Record<string, unknown>[] | undefined) ?? []) {
        e.zone = 'zone-a';
        e.hints = { forZones: [{ name: 'zone-a' }] };
      }
      break;
    default:
      // Gateway API objects and Ambit's CRDs: the status their controllers write
      status.conditions = [{ type: 'Accepted', status: 'True', lastTransitionTime: '2024-05-01T10:00:00Z' }];
      status.parents = [{ controllerName: 'ambit.dev/controller', conditions: [] }];
  }
  if (f.spec !== undefined || Object.keys(spec).length > 0) f.spec = spec;
  f.status = status;
  return f;
}

describe('object-slim', () => {
  const docs = manifestFiles(planTopology(demoTopologySpec(), '10.250.9')).flatMap((file) =>
    parseAllDocuments(file.text)
      .map((d) => d.toJS() as Obj | null)
      .filter((o): o is Obj => o !== null),
  );
  const asFiles = (objs: object[]) => objs.map((o, i) => ({ path: `o${i}.json`, text: JSON.stringify(o) }));
  const stateOf = (objs: object[]) => {
    const v = validateConfig(asFiles(objs));
    if (!v.valid) throw new Error(v.errors.map(formatConfigError).join('\n'));
    return computeMeshState(v.result, 'cluster.local');
  };

  it('the demo covers the kinds with specs the model reads', () => {
    const kinds = new Set(docs.map((d) => d.kind));
    for (const k of ['Namespace', 'Node', 'Pod', 'Service', 'ServiceAccount', 'Gateway', 'HTTPRoute']) {
      expect(kinds.has(k), k).toBe(true);
    }
  });

  it('slimmed objects give the same mesh state as whole ones, and drop the weight', () => {
    const whole = docs.map(fatten);
    const slim = whole.map((o) => {
      const k = WATCHED_KINDS.find((x) => x.kind === o.kind);
      if (!k) throw new Error(`not watched: ${o.kind}`);
      return slimObject(k, o);
    });
    expect(stateOf(slim)).toEqual(stateOf(whole));
    const text = JSON.stringify(slim);
    for (const gone of [
      'managedFields',
      LAST_APPLIED,
      'finalizers',
      'tolerations',
      'containerStatuses',
      'images',
      'zone',
      'resourceVersion',
    ]) {
      expect(text, gone).not.toContain(`"${gone}"`);
    }
    expect(text).not.toContain('"parents"'); // status written by controllers (Ambit's included)
    expect(text.length).toBeLessThan(JSON.stringify(whole).length / 2);
  });

  it('built-in list items without kind/apiVersion get them', () => {
    const pod = WATCHED_KINDS.find((x) => x.kind === 'Pod');
    const slice = WATCHED_KINDS.find((x) => x.kind === 'EndpointSlice');
    if (!pod || !slice) throw new Error('kinds missing');
    expect(slimObject(pod, { metadata: { name: 'a', namespace: 'b' } })).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'a', namespace: 'b' },
    });
    expect(slimObject(slice, { metadata: { name: 's' }, addressType: 'IPv4' })).toMatchObject({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
    });
  });
});
