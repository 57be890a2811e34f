// Writes a local cluster as Kubernetes YAML (core/v1 Namespace, Node, Pod, Service,
// ServiceAccount, discovery.k8s.io/v1 EndpointSlice, security.ambit.dev/v1 PeerAuthentication and
// AuthorizationPolicy)
// into a config directory for `ambit controller --config DIR`. One file per resource kind so
// tests can rewrite one (e.g. a namespace label) and let the controller pick up the change.
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { MtlsMode } from '../core/model/mesh.js';
import type { AuthorizationPolicySpec, NamespaceSpec, Topology } from './topology.js';

type Doc = Record<string, unknown>;

function write(dir: string, file: string, docs: Doc[]): void {
  const text = docs.map((d) => YAML.stringify(d)).join('---\n');
  // write-then-rename so a watcher never reads half a file
  const tmp = path.join(dir, `.${file}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path.join(dir, file));
}

export function namespaceDocs(namespaces: NamespaceSpec[]): Doc[] {
  return namespaces.map((n) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: n.name, labels: n.labels ?? {} },
  }));
}

export function writeNamespaces(dir: string, namespaces: NamespaceSpec[]): void {
  write(dir, 'namespaces.yaml', namespaceDocs(namespaces));
}

export function writePeerAuthentications(dir: string, modes: Record<string, MtlsMode>): void {
  write(
    dir,
    'peer-authentications.yaml',
    Object.entries(modes).map(([namespace, mode]) => ({
      apiVersion: 'security.ambit.dev/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'default', namespace },
      spec: { mtls: { mode } },
    })),
  );
}

export function writeAuthorizationPolicies(dir: string, policies: AuthorizationPolicySpec[]): void {
  write(
    dir,
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

export function writeManifests(dir: string, t: Topology): void {
  writeNamespaces(dir, t.namespaces);
  if (t.authorizationPolicies.length > 0) writeAuthorizationPolicies(dir, t.authorizationPolicies);
  write(
    dir,
    'nodes.yaml',
    t.nodes.map((n) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name },
      spec: { podCIDR: n.podCidr },
      status: { addresses: [{ type: 'InternalIP', address: n.address }] },
    })),
  );
  const accounts = new Set(t.pods.map((p) => `${p.spec.namespace}/${p.serviceAccount}`));
  write(
    dir,
    'service-accounts.yaml',
    [...accounts].map((a) => {
      const [namespace, name] = a.split('/');
      return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } };
    }),
  );
  write(
    dir,
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
            ports: [
              { name: 'http', containerPort: 8080, protocol: 'TCP' },
              { name: 'echo', containerPort: 9000, protocol: 'TCP' },
            ],
          },
        ],
      },
      status: {
        phase: 'Running',
        podIP: p.ip,
        podIPs: [{ ip: p.ip }],
        hostIP: p.node.address,
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    })),
  );
  const services: Doc[] = [];
  for (const s of t.services) {
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.spec.name, namespace: s.spec.namespace },
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
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: p.node.name,
        targetRef: { kind: 'Pod', name: p.spec.name, namespace: p.spec.namespace, uid: p.uid },
      })),
    });
  }
  write(dir, 'services.yaml', services);
}
