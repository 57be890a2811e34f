// Writes a large synthetic mesh config for the controller bench: N nodes, pods spread evenly over
// them (one file per node), services each selecting a group of pods, and one waypoint serving every
// WAYPOINT_EVERY-th Service, each of those with an HTTPRoute. Deterministic.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface MeshSize {
  nodes: number;
  pods: number;
  services: number;
}

const ip = (base: number, i: number) => `10.${base + ((i >> 16) & 0xff)}.${(i >> 8) & 0xff}.${i & 0xff}`;

export function nodeName(i: number): string {
  return `node-${String(i).padStart(3, '0')}`;
}

/** Every this many Services, one uses the waypoint and has an HTTPRoute (10% of them). */
export const WAYPOINT_EVERY = 10;

/** The bench's waypoint Gateway, `<namespace>/<name>`. */
export const WAYPOINT = 'bench/waypoint';

/** Services are written 10 to a file (services/group-NNN.yaml), like per-app manifests. */
export const SERVICES_PER_FILE = 10;

export function servicesFile(service: number): string {
  return `services/group-${String(Math.floor(service / SERVICES_PER_FILE)).padStart(3, '0')}.yaml`;
}

function servicesYaml(size: MeshSize, group: number, portOffset: Record<number, number>): string {
  const docs: string[] = [];
  const end = Math.min(size.services, (group + 1) * SERVICES_PER_FILE);
  for (let s = group * SERVICES_PER_FILE; s < end; s++) {
    const port = 80 + (portOffset[s] ?? 0);
    const waypoint = s % WAYPOINT_EVERY === 0;
    docs.push(
      `apiVersion: v1\nkind: Service\nmetadata: {name: svc-${s}, namespace: bench${waypoint ? ', labels: {ambit.dev/use-waypoint: waypoint}' : ''}}\nspec: {selector: {app: app-${s}}, clusterIP: ${ip(96, s + 1)}, ports: [{name: http, port: ${port}, targetPort: 8080}]}`,
    );
    if (waypoint)
      docs.push(
        `apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: route-${s}, namespace: bench}\nspec: {parentRefs: [{group: "", kind: Service, name: svc-${s}}], rules: [{matches: [{path: {type: PathPrefix, value: /api}}], backendRefs: [{name: svc-${s}, port: ${port}}], timeouts: {request: 10s}}]}`,
      );
  }
  return docs.join('\n---\n') + '\n';
}

function podsYaml(size: MeshSize, node: number, ipOverride: Record<number, string>): string {
  const perNode = Math.ceil(size.pods / size.nodes);
  const docs: string[] = [];
  for (let p = node * perNode; p < Math.min(size.pods, (node + 1) * perNode); p++) {
    const app = p % size.services;
    docs.push(
      `apiVersion: v1\nkind: Pod\nmetadata: {name: pod-${p}, namespace: bench, labels: {app: app-${app}, version: v1}, annotations: {ambit.dev/cgroup-path: /sys/fs/cgroup/bench/pod-${p}}}\nspec: {nodeName: ${nodeName(node)}, serviceAccountName: sa-${app % 50}, containers: [{name: main, ports: [{name: http, containerPort: 8080}]}]}\nstatus: {podIP: ${ipOverride[p] ?? ip(1, p + 1)}, conditions: [{type: Ready, status: "True"}]}`,
    );
  }
  return docs.join('\n---\n') + '\n';
}

export function writeMesh(dir: string, size: MeshSize): void {
  mkdirSync(path.join(dir, 'pods'), { recursive: true });
  mkdirSync(path.join(dir, 'services'), { recursive: true });
  const base = [
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: bench, labels: {ambit.dev/dataplane-mode: ambient}}`,
    ...Array.from(
      { length: 50 },
      (_, i) => `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa-${i}, namespace: bench}`,
    ),
    `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: waypoint, namespace: bench}`,
    `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: waypoint, namespace: bench}\nspec: {gatewayClassName: ambit-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}`,
    // the waypoint's pod is one more than --pods, outside the per-node files the rounds rewrite
    `apiVersion: v1\nkind: Pod\nmetadata: {name: waypoint-0, namespace: bench, labels: {gateway.networking.k8s.io/gateway-name: waypoint, ambit.dev/dataplane-mode: none}}\nspec: {nodeName: ${nodeName(0)}, serviceAccountName: waypoint}\nstatus: {podIP: 10.199.0.1, conditions: [{type: Ready, status: "True"}]}`,
    ...Array.from(
      { length: size.nodes },
      (_, i) =>
        `apiVersion: v1\nkind: Node\nmetadata: {name: ${nodeName(i)}}\nstatus: {addresses: [{type: InternalIP, address: ${ip(200, i + 1)}}]}`,
    ),
  ];
  writeFileSync(path.join(dir, 'base.yaml'), base.join('\n---\n') + '\n');
  for (let g = 0; g * SERVICES_PER_FILE < size.services; g++) {
    writeFileSync(path.join(dir, servicesFile(g * SERVICES_PER_FILE)), servicesYaml(size, g, {}));
  }
  for (let n = 0; n < size.nodes; n++)
    writeFileSync(path.join(dir, 'pods', `${nodeName(n)}.yaml`), podsYaml(size, n, {}));
}

/** The text of the services file holding `service`, with that Service's port changed. */
export function servicesWithPortChange(size: MeshSize, service: number, offset: number): string {
  return servicesYaml(size, Math.floor(service / SERVICES_PER_FILE), { [service]: offset });
}

/** The text of one node's pod file with one pod's IP changed. */
export function podsWithIpChange(size: MeshSize, node: number, pod: number, newIp: string): string {
  return podsYaml(size, node, { [pod]: newIp });
}
