// Cross-resource checks over structurally valid resources: duplicate names, references to
// objects that do not exist (namespaces, service accounts, nodes, Services, Gateways, waypoints),
// mesh label values and duplicate cluster IPs. Pure; returns every problem found.
import type { ConfigError } from './config-error.js';
import type { LocatedResource } from './validate-config.js';
import type { ResourceKind, ResourcesByKind } from './resources/resource-kinds.js';
import { WAYPOINT_CLASS } from './resources/gateway.js';
import { SERVICE_NAME_LABEL } from './resources/endpoint-slice.js';
import {
  DATAPLANE_MODES,
  DATAPLANE_MODE_LABEL,
  GATEWAY_NAME_LABEL,
  NO_WAYPOINT,
  USE_WAYPOINT_LABEL,
} from './mesh-labels.js';
import { resourceLabel } from './validate-config.js';

/** Namespaces and service accounts Kubernetes always has. */
const IMPLICIT_NAMESPACES = new Set(['default']);
const IMPLICIT_SERVICE_ACCOUNT = 'default';

type Index = Map<string, LocatedResource>;

function key(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function checkReferences(resources: readonly LocatedResource[]): ConfigError[] {
  const errors: ConfigError[] = [];
  const byKind = new Map<ResourceKind, Index>();
  const err = (r: LocatedResource, field: string, message: string): void => {
    errors.push({
      file: r.file,
      document: r.document,
      resource: resourceLabel(r.kind, r.namespace, r.name),
      field,
      message,
    });
  };

  for (const r of resources) {
    let idx = byKind.get(r.kind);
    if (!idx) byKind.set(r.kind, (idx = new Map()));
    const k = key(r.namespace, r.name);
    const first = idx.get(k);
    if (first) {
      err(
        r,
        'metadata.name',
        `duplicate ${r.kind} ${k} (first defined in ${first.file} doc ${first.document})`,
      );
      continue;
    }
    idx.set(k, r);
  }
  const has = (kind: ResourceKind, namespace: string | undefined, name: string): boolean =>
    byKind.get(kind)?.has(key(namespace, name)) ?? false;
  const get = <K extends ResourceKind>(kind: K, namespace: string | undefined, name: string) =>
    byKind.get(kind)?.get(key(namespace, name)) as LocatedResource<K> | undefined;
  const isWaypoint = (namespace: string, name: string): boolean =>
    get('Gateway', namespace, name)?.object.spec.gatewayClassName === WAYPOINT_CLASS;

  const checkMeshLabels = (
    r: LocatedResource,
    labels: Record<string, string> | undefined,
    namespace: string,
  ): void => {
    const mode = labels?.[DATAPLANE_MODE_LABEL];
    if (mode !== undefined && !(DATAPLANE_MODES as readonly string[]).includes(mode)) {
      err(r, `metadata.labels["${DATAPLANE_MODE_LABEL}"]`, `must be one of ${DATAPLANE_MODES.join(', ')}`);
    }
    const wp = labels?.[USE_WAYPOINT_LABEL];
    if (wp !== undefined && wp !== NO_WAYPOINT && !isWaypoint(namespace, wp)) {
      err(
        r,
        `metadata.labels["${USE_WAYPOINT_LABEL}"]`,
        `waypoint ${namespace}/${wp} does not exist (no Gateway of class ${WAYPOINT_CLASS} named ${wp} in namespace ${namespace})`,
      );
    }
  };

  /** Checks a reference to a Service and, when `port` is given (or required), that the Service has it. */
  const checkServiceRef = (
    r: LocatedResource,
    field: string,
    namespace: string,
    name: string,
    port?: { value: number | undefined; required: boolean },
  ): void => {
    const svc = get('Service', namespace, name);
    if (!svc) {
      err(r, field, `Service ${namespace}/${name} does not exist`);
      return;
    }
    if (!port) return;
    if (port.value === undefined) {
      if (port.required) err(r, `${field}.port`, `required when the backend is a Service (Gateway API)`);
      return;
    }
    const ports = svc.object.spec?.ports ?? [];
    if (!ports.some((p) => p.port === port.value)) {
      err(
        r,
        `${field}.port`,
        `Service ${namespace}/${name} has no port ${port.value} (it has ${ports.map((p) => p.port).join(', ') || 'none'})`,
      );
    }
  };

  const clusterIps = new Map<string, LocatedResource>();

  for (const r of resources) {
    if (byKind.get(r.kind)?.get(key(r.namespace, r.name)) !== r) continue; // duplicate, reported
    const ns = r.namespace;
    if (ns !== undefined && !IMPLICIT_NAMESPACES.has(ns) && !has('Namespace', undefined, ns)) {
      err(r, 'metadata.namespace', `namespace "${ns}" does not exist (declare a Namespace ${ns})`);
    }
    // the namespace a namespaced kind's references resolve in: validate-config always sets one
    // (defaulted to "default", as Kubernetes does); cluster-scoped kinds below do not use it
    const inNs = ns ?? 'default';
    switch (r.kind) {
      case 'Namespace': {
        const o = (r as LocatedResource<'Namespace'>).object;
        checkMeshLabels(r, o.metadata.labels, r.name);
        break;
      }
      case 'Pod': {
        const o = (r as LocatedResource<'Pod'>).object;
        const sa = o.spec?.serviceAccountName ?? o.spec?.serviceAccount ?? IMPLICIT_SERVICE_ACCOUNT;
        if (sa !== IMPLICIT_SERVICE_ACCOUNT && !has('ServiceAccount', ns, sa)) {
          err(r, 'spec.serviceAccountName', `ServiceAccount ${ns}/${sa} does not exist`);
        }
        const node = o.spec?.nodeName;
        if (node !== undefined && !has('Node', undefined, node))
          err(r, 'spec.nodeName', `Node ${node} does not exist`);
        checkMeshLabels(r, o.metadata.labels, inNs);
        const gw = o.metadata.labels?.[GATEWAY_NAME_LABEL];
        if (gw !== undefined && !has('Gateway', ns, gw)) {
          err(r, `metadata.labels["${GATEWAY_NAME_LABEL}"]`, `Gateway ${ns}/${gw} does not exist`);
        }
        break;
      }
      case 'Service': {
        const o = (r as LocatedResource<'Service'>).object;
        checkMeshLabels(r, o.metadata.labels, inNs);
        const ips = o.spec?.clusterIPs ?? (o.spec?.clusterIP ? [o.spec.clusterIP] : []);
        ips.forEach((ip, i) => {
          if (ip === 'None' || ip === '') return;
          const other = clusterIps.get(ip);
          const field = o.spec?.clusterIPs ? `spec.clusterIPs[${i}]` : 'spec.clusterIP';
          if (other)
            err(r, field, `cluster IP ${ip} is already used by Service ${other.namespace}/${other.name}`);
          else clusterIps.set(ip, r);
        });
        break;
      }
      case 'EndpointSlice': {
        const o = (r as LocatedResource<'EndpointSlice'>).object;
        const svc = o.metadata.labels?.[SERVICE_NAME_LABEL];
        if (svc) checkServiceRef(r, `metadata.labels["${SERVICE_NAME_LABEL}"]`, inNs, svc);
        break;
      }
      case 'HTTPRoute':
      case 'GRPCRoute': {
        const o = (r as LocatedResource<'HTTPRoute' | 'GRPCRoute'>).object as ResourcesByKind['HTTPRoute'];
        (o.spec.parentRefs ?? []).forEach((p, i) => {
          const pns = p.namespace ?? inNs;
          const kind = p.kind ?? 'Gateway';
          const group = p.group ?? (kind === 'Service' ? '' : 'gateway.networking.k8s.io');
          const field = `spec.parentRefs[${i}]`;
          if (kind === 'Service' && (group === '' || group === 'core'))
            checkServiceRef(r, field, pns, p.name, { value: p.port, required: false });
          else if (kind === 'Gateway' && group === 'gateway.networking.k8s.io') {
            if (!has('Gateway', pns, p.name)) err(r, field, `Gateway ${pns}/${p.name} does not exist`);
          } else
            err(
              r,
              `${field}.kind`,
              `unsupported parent ${group || 'core'}/${kind}: use a Service or a Gateway`,
            );
        });
        (o.spec.rules ?? []).forEach((rule, ri) => {
          const refs: {
            field: string;
            ref: {
              group?: string | undefined;
              kind?: string | undefined;
              name: string;
              namespace?: string | undefined;
              port?: number | undefined;
            };
          }[] = [];
          (rule.backendRefs ?? []).forEach((b, bi) =>
            refs.push({ field: `spec.rules[${ri}].backendRefs[${bi}]`, ref: b }),
          );
          (rule.filters ?? []).forEach((f, fi) => {
            if (f.requestMirror)
              refs.push({
                field: `spec.rules[${ri}].filters[${fi}].requestMirror.backendRef`,
                ref: f.requestMirror.backendRef,
              });
          });
          for (const { field, ref } of refs) {
            const kind = ref.kind ?? 'Service';
            const group = ref.group ?? '';
            if (kind !== 'Service' || (group !== '' && group !== 'core')) {
              err(r, `${field}.kind`, `unsupported backend ${group || 'core'}/${kind}: use a Service`);
            } else
              checkServiceRef(r, field, ref.namespace ?? inNs, ref.name, { value: ref.port, required: true });
          }
        });
        break;
      }
      case 'AuthorizationPolicy': {
        const o = (r as LocatedResource<'AuthorizationPolicy'>).object;
        const refs = o.spec?.targetRefs ?? (o.spec?.targetRef ? [o.spec.targetRef] : []);
        const base = o.spec?.targetRefs ? 'spec.targetRefs' : 'spec.targetRef';
        refs.forEach((t, i) => {
          const field = o.spec?.targetRefs ? `${base}[${i}]` : base;
          const tns = t.namespace ?? inNs;
          if (t.kind === 'Service' && (t.group === '' || t.group === 'core'))
            checkServiceRef(r, field, tns, t.name);
          else if (t.kind === 'Gateway' && t.group === 'gateway.networking.k8s.io') {
            if (!has('Gateway', tns, t.name)) err(r, field, `Gateway ${tns}/${t.name} does not exist`);
          } else if (!(t.kind === 'GatewayClass' && t.group === 'gateway.networking.k8s.io')) {
            err(
              r,
              `${field}.kind`,
              `unsupported target ${t.group || 'core'}/${t.kind}: use a Service, Gateway or GatewayClass`,
            );
          }
        });
        break;
      }
      case 'TrafficPolicy': {
        const o = (r as LocatedResource<'TrafficPolicy'>).object;
        o.spec.targetRefs.forEach((t, i) => checkServiceRef(r, `spec.targetRefs[${i}]`, inNs, t.name));
        break;
      }
      case 'ServiceAccount':
      case 'Node':
      case 'Gateway':
      case 'PeerAuthentication':
        break;
      default: {
        const never: never = r.kind;
        throw new Error(`unhandled kind ${String(never)}`);
      }
    }
  }
  return errors;
}
