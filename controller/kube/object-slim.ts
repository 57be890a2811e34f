// What the Kubernetes store keeps of an API object: the fields the config model reads (the zod
// schemas in core/model/resources/ and compute-mesh-state.ts) and nothing else. managedFields,
// the last-applied annotation, Node images, container specs beyond names and ports, Pod
// timestamps and the status the controller itself writes on routes and Gateways are dropped
// before caching: they are most of an object's bytes, and dropping what the mesh does not read
// also means an update that changes only those fields (a status write, a heartbeat) is no change.
// Pure; kind/apiVersion are set here because built-in lists omit them on their items.
import type { ResourceKind } from '../../core/model/resources/resource-kinds.js';
import { apiVersionOf, type WatchedKind } from './watched-kinds.js';

type Obj = Record<string, unknown>;

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Copies the listed keys that are present (and not undefined/null). */
function pick(o: unknown, keys: readonly string[]): Obj | undefined {
  if (!isObj(o)) return undefined;
  const out: Obj = {};
  for (const k of keys) {
    const v = o[k];
    if (v !== undefined && v !== null) out[k] = v;
  }
  return out;
}

function pickEach(a: unknown, f: (x: unknown) => Obj | undefined): Obj[] | undefined {
  if (!Array.isArray(a)) return undefined;
  return a.map((x) => f(x) ?? {});
}

/** Sets `k` only when `v` is defined and, for objects, not empty. */
function put(out: Obj, k: string, v: unknown): void {
  if (v === undefined) return;
  if (isObj(v) && Object.keys(v).length === 0) return;
  out[k] = v;
}

const META_KEYS = [
  'name',
  'namespace',
  'uid',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'labels',
  'ownerReferences',
] as const;

/** metadata without managedFields, resourceVersion (kept by the reflector) and the last-applied annotation. */
export function slimMetadata(m: unknown): Obj {
  const out = pick(m, META_KEYS) ?? {};
  if (isObj(m) && isObj(m.annotations)) {
    const annotations: Obj = {};
    for (const [k, v] of Object.entries(m.annotations)) if (k !== LAST_APPLIED) annotations[k] = v;
    put(out, 'annotations', annotations);
  }
  return out;
}

function slimPodSpec(spec: unknown): Obj | undefined {
  const out = pick(spec, ['nodeName', 'serviceAccountName', 'serviceAccount', 'hostNetwork']);
  if (!out || !isObj(spec)) return out;
  put(
    out,
    'containers',
    pickEach(spec.containers, (c) => {
      const x = pick(c, ['name']);
      if (x && isObj(c))
        put(
          x,
          'ports',
          pickEach(c.ports, (p) => pick(p, ['name', 'containerPort', 'protocol'])),
        );
      return x;
    }),
  );
  return out;
}

function slimPodStatus(status: unknown): Obj | undefined {
  const out = pick(status, ['phase', 'podIP', 'qosClass']);
  if (!out || !isObj(status)) return out;
  put(
    out,
    'podIPs',
    pickEach(status.podIPs, (p) => pick(p, ['ip'])),
  );
  put(
    out,
    'conditions',
    pickEach(status.conditions, (c) => pick(c, ['type', 'status'])),
  );
  return out;
}

function slimServiceSpec(spec: unknown): Obj | undefined {
  const out = pick(spec, ['type', 'selector', 'clusterIP', 'clusterIPs']);
  if (!out || !isObj(spec)) return out;
  put(
    out,
    'ports',
    pickEach(spec.ports, (p) =>
      pick(p, ['name', 'port', 'targetPort', 'protocol', 'appProtocol', 'nodePort']),
    ),
  );
  return out;
}

function slimEndpoint(e: unknown): Obj | undefined {
  const out = pick(e, ['addresses', 'nodeName']);
  if (!out || !isObj(e)) return out;
  put(out, 'conditions', pick(e.conditions, ['ready', 'serving', 'terminating']));
  put(out, 'targetRef', pick(e.targetRef, ['kind', 'name', 'namespace', 'uid']));
  return out;
}

function slimNodeStatus(status: unknown): Obj | undefined {
  const out: Obj = {};
  if (isObj(status))
    put(
      out,
      'addresses',
      pickEach(status.addresses, (a) => pick(a, ['type', 'address'])),
    );
  return out;
}

/**
 * The cached form of an API object of kind `k`: apiVersion, kind, slim metadata and, per kind,
 * only what the model reads. Custom resources and Gateway API objects keep their whole spec (the
 * model reads most of it) and lose their status (written by controllers, Ambit included).
 */
export function slimObject(k: WatchedKind, raw: unknown): Obj {
  const o = isObj(raw) ? raw : {};
  const out: Obj = { apiVersion: apiVersionOf(k), kind: k.kind, metadata: slimMetadata(o.metadata) };
  const kind: ResourceKind = k.kind;
  switch (kind) {
    case 'Namespace':
    case 'ServiceAccount':
      break;
    case 'Pod':
      put(out, 'spec', slimPodSpec(o.spec));
      put(out, 'status', slimPodStatus(o.status));
      break;
    case 'Service':
      put(out, 'spec', slimServiceSpec(o.spec));
      break;
    case 'Node':
      put(out, 'spec', pick(o.spec, ['podCIDR', 'podCIDRs', 'taints', 'unschedulable']));
      put(out, 'status', slimNodeStatus(o.status));
      break;
    case 'EndpointSlice':
      put(out, 'addressType', o.addressType);
      put(out, 'endpoints', pickEach(o.endpoints, slimEndpoint));
      put(out, 'ports', o.ports);
      break;
    case 'Gateway':
    case 'HTTPRoute':
    case 'GRPCRoute':
    case 'AuthorizationPolicy':
    case 'PeerAuthentication':
    case 'TrafficPolicy':
      put(out, 'spec', o.spec);
      break;
    default: {
      const never: never = kind;
      throw new Error(`slimObject: unhandled kind ${String(never)}`);
    }
  }
  return out;
}

/** The object's metadata.resourceVersion, or '' when it has none. */
export function resourceVersionOf(raw: unknown): string {
  const m = isObj(raw) ? raw.metadata : undefined;
  const rv = isObj(m) ? m.resourceVersion : undefined;
  return typeof rv === 'string' ? rv : '';
}

/** `namespace/name` (or `name` for cluster-scoped objects): the cache key. */
export function objectKeyOf(raw: unknown): string {
  const m = isObj(raw) && isObj(raw.metadata) ? raw.metadata : {};
  const name = typeof m.name === 'string' ? m.name : '';
  return typeof m.namespace === 'string' && m.namespace !== '' ? `${m.namespace}/${name}` : name;
}
