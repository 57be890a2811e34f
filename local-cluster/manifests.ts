// Writes a local cluster as Kubernetes YAML (core/v1 Namespace, Node, Pod, Service,
// ServiceAccount, discovery.k8s.io/v1 EndpointSlice, security.ambit.dev/v1 PeerAuthentication and
// AuthorizationPolicy, gateway.networking.k8s.io/v1 Gateway for each waypoint, and the topology's
// free-form extra manifests: routes, TrafficPolicies, targetRefs policies)
// into a config directory for `ambit controller --config DIR`. One file per resource kind so
// tests can rewrite one (e.g. a namespace label) and let the controller pick up the change.
// manifestFiles() is the same set as text, for computing the mesh state without a directory
// (computed-mesh-state.ts).
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { MtlsMode } from '../core/model/mesh.js';
import type { ManifestFile } from '../core/model/parse-manifests.js';
import { ECHO_PORT, GRPC_PORT, HTTP_PORT } from './topology.js';
import { WAYPOINT_CLASS, WAYPOINT_FOR_LABEL } from '../core/model/resources/gateway.js';
import type { AuthorizationPolicySpec, NamespaceSpec, Topology, WaypointSpec } from './topology.js';

type Doc = Record<string, unknown>;

function file(name: string, docs: Doc[]): ManifestFile {
  return { path: name, text: docs.map((d) => YAML.stringify(d)).join('---\n') };
}

function write(dir: string, f: ManifestFile): void {
  // write-then-rename so a watcher never reads half a file
  const tmp = path.join(dir, `.${f.path}.tmp`);
  writeFileSync(tmp, f.text);
  renameSync(tmp, path.join(dir, f.path));
}

export function namespaceDocs(namespaces: NamespaceSpec[]): Doc[] {
  return namespaces.map((n) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: n.name, labels: n.labels ?? {} },
  }));
}

export function writeNamespaces(dir: string, namespaces: NamespaceSpec[]): void {
  write(dir, file('namespaces.yaml', namespaceDocs(namespaces)));
}

function peerAuthenticationsFile(modes: Record<string, MtlsMode>): ManifestFile {
  return file(
    'peer-authentications.yaml',
    Object.entries(modes).map(([namespace, mode]) => ({
      apiVersion: 'security.ambit.dev/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'default', namespace },
      spec: { mtls: { mode } },
    })),
  );
}

export function writePeerAuthentications(dir: string, modes: Record<string, MtlsMode>): void {
  write(dir, peerAuthenticationsFile(modes));
}

function authorizationPoliciesFile(policies: AuthorizationPolicySpec[]): ManifestFile {
  return file(
    'authorization-policies.yaml',
    policies.map((p) => ({
      apiVersion: 'security.ambit.dev/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: p.name, namespace: p.namespace },
      spec: {
        ...(p.selector ? { selector: { matchLabels: p.selector } } : {}),
        action: p.action,
        rules: p.rules,
      },
    })),
  );
}

export function writeAuthorizationPolicies(dir: string, policies: AuthorizationPolicySpec[]): void {
  write(dir, authorizationPoliciesFile(policies));
}

function gatewaysFile(waypoints: WaypointSpec[]): ManifestFile {
  return file(
    'gateways.yaml',
    waypoints.map((w) => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: {
        name: w.name,
        namespace: w.namespace,
        ...(w.for ? { labels: { [WAYPOINT_FOR_LABEL]: w.for } } : {}),
      },
      spec: {
        gatewayClassName: WAYPOINT_CLASS,
        listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
      },
    })),
  );
}

const EXTRA_FILE = 'extra.yaml';

/**
 * Replaces the free-form manifests (routes, TrafficPolicies, ...) at run time: the controller
 * watches the directory and pushes the change. An empty list leaves an empty file (no resources).
 */
export function writeExtraManifests(dir: string, docs: Record<string, unknown>[]): void {
  write(dir, file(EXTRA_FILE, docs));
}

export interface ManifestOptions {
  /** namespace -> mode of a namespace-wide PeerAuthentication named `default`. */
  peerAuthentication?: Record<string, MtlsMode> | undefined;
  /** `<namespace>/<pod>` of pods written with Ready=False (a waypoint instance being rolled) */
  notReady?: ReadonlySet<string> | undefined;
}

/** Every manifest of the cluster, one file per resource kind, as `writeManifests` writes them. */
export function manifestFiles(t: Topology, o: ManifestOptions = {}): ManifestFile[] {
  const files = [file('namespaces.yaml', namespaceDocs(t.namespaces))];
  if (t.authorizationPolicies.length > 0) files.push(authorizationPoliciesFile(t.authorizationPolicies));
  if (o.peerAuthentication && Object.keys(o.peerAuthentication).length > 0) {
    files.push(peerAuthenticationsFile(o.peerAuthentication));
  }
  if (t.waypoints.length > 0) files.push(gatewaysFile(t.waypoints));
  if (t.manifests.length > 0) files.push(file(EXTRA_FILE, t.manifests));
  files.push(
    file(
      'nodes.yaml',
      t.nodes.map((n) => ({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: n.name },
        spec: { podCIDR: n.podCidr },
        status: { addresses: [{ type: 'InternalIP', address: n.address }] },
      })),
    ),
  );
  const accounts = new Set(t.pods.map((p) => `${p.spec.namespace}/${p.serviceAccount}`));
  files.push(
    file(
      'service-accounts.yaml',
      [...accounts].map((a) => {
        const [namespace, name] = a.split('/');
        return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } };
      }),
    ),
  );
  files.push(podsFile(t, o.notReady ?? new Set()));
  files.push(servicesFile(t, o.notReady ?? new Set()));
  return files;
}

function podsFile(t: Topology, notReady: ReadonlySet<string>): ManifestFile {
  return file(
    'pods.yaml',
    t.pods.map((p) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: p.spec.name,
        namespace: p.spec.namespace,
        uid: p.uid,
        labels: p.labels,
        annotations: { 'ambit.dev/cgroup-path': p.cgroupRel },
      },
      spec: {
        nodeName: p.node.name,
        serviceAccountName: p.serviceAccount,
        containers: [
          {
            name: 'app',
            image: 'ambit/local-pod-app',
            ports: p.waypoint
              ? [
                  { name: 'hbone', containerPort: 15008, protocol: 'TCP' },
                  { name: 'status', containerPort: 15021, protocol: 'TCP' },
                  { name: 'metrics', containerPort: 15090, protocol: 'TCP' },
                ]
              : [
                  { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
                  { name: 'echo', containerPort: ECHO_PORT, protocol: 'TCP' },
                  { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
                ],
          },
        ],
      },
      status: {
        phase: 'Running',
        podIP: p.ip,
        podIPs: [{ ip: p.ip }, ...(p.ip6 ? [{ ip: p.ip6 }] : [])],
        hostIP: p.node.address,
        conditions: [
          { type: 'Ready', status: notReady.has(`${p.spec.namespace}/${p.spec.name}`) ? 'False' : 'True' },
        ],
      },
    })),
  );
}

/**
 * Rewrites pods.yaml and services.yaml with the given pods (`<namespace>/<pod>`) not Ready: the
 * controller drops them from Service endpoints and waypoint instances.
 */
export function writePodReadiness(dir: string, t: Topology, notReady: ReadonlySet<string>): void {
  write(dir, podsFile(t, notReady));
  write(dir, servicesFile(t, notReady));
}

function servicesFile(t: Topology, notReady: ReadonlySet<string>): ManifestFile {
  const services: Doc[] = [];
  for (const s of t.services) {
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.spec.name, namespace: s.spec.namespace, labels: s.spec.labels ?? {} },
      spec: {
        clusterIP: s.vip,
        clusterIPs: [s.vip],
        selector: s.spec.selector,
        ports: s.spec.ports.map((x) => ({
          name: x.name,
          port: x.port,
          targetPort: x.targetPort,
          protocol: 'TCP',
        })),
      },
    });
    const members = t.pods.filter(
      (p) =>
        p.spec.namespace === s.spec.namespace &&
        Object.entries(s.spec.selector).every(([k, v]) => p.labels[k] === v),
    );
    services.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${s.spec.name}-local`,
        namespace: s.spec.namespace,
        labels: { 'kubernetes.io/service-name': s.spec.name },
      },
      addressType: 'IPv4',
      ports: s.spec.ports.map((x) => ({ name: x.name, port: x.targetPort, protocol: 'TCP' })),
      endpoints: members.map((p) => ({
        addresses: [p.ip],
        conditions: {
          ready: !notReady.has(`${p.spec.namespace}/${p.spec.name}`),
          serving: true,
          terminating: false,
        },
        nodeName: p.node.name,
        targetRef: { kind: 'Pod', name: p.spec.name, namespace: p.spec.namespace, uid: p.uid },
      })),
    });
  }
  return file('services.yaml', services);
}

/** Writes the cluster's manifests into a config directory for `ambit controller --config DIR`. */
export function writeManifests(dir: string, t: Topology, o: ManifestOptions = {}): void {
  for (const f of manifestFiles(t, o)) write(dir, f);
}
