// The MeshState a controller would compute for a local cluster, built directly from the
// topology. Used by kernel-level tests and `--state-file` runs of the agent that need no
// controller; with a controller, the manifests (manifests.ts) are the source instead. Pure.
import type { MeshPeerAuthentication, MeshState, MtlsMode, Workload } from '../core/model/mesh.js';
import type { PodPlan, Topology } from './topology.js';

const TRUST_DOMAIN = 'cluster.local';
const AMBIENT = 'ambit.dev/dataplane-mode';

export function isEnrolled(t: Topology, pod: PodPlan): boolean {
  const podMode = pod.labels[AMBIENT];
  if (podMode === 'none') return false;
  if (podMode === 'ambient') return true;
  return t.namespaces.find((n) => n.name === pod.spec.namespace)?.labels?.[AMBIENT] === 'ambient';
}

function workload(t: Topology, p: PodPlan): Workload {
  const app = p.labels.app;
  return {
    uid: p.uid,
    namespace: p.spec.namespace,
    name: p.spec.name,
    serviceAccount: p.serviceAccount,
    identity: `spiffe://${TRUST_DOMAIN}/ns/${p.spec.namespace}/sa/${p.serviceAccount}`,
    node: p.node.name,
    ips: [p.ip],
    labels: p.labels,
    enrolled: isEnrolled(t, p),
    ready: true,
    terminating: false,
    cgroupPath: p.cgroupRel,
    workloadName: p.spec.name,
    canonicalService: app ?? p.spec.name,
    canonicalRevision: 'latest',
    app,
  };
}

export interface MeshStateOptions {
  /** namespace -> mode of a namespace-wide PeerAuthentication */
  peerAuthentication?: Record<string, MtlsMode>;
}

export function meshStateFor(t: Topology, o: MeshStateOptions = {}): MeshState {
  const peerAuthentications: MeshPeerAuthentication[] = Object.entries(o.peerAuthentication ?? {}).map(
    ([namespace, mode]) => ({ namespace, name: 'default', mode, portLevelMtls: {}, meshWide: false }),
  );
  return {
    trustDomain: TRUST_DOMAIN,
    workloads: t.pods.map((p) => workload(t, p)),
    nodes: t.nodes.map((n) => ({
      name: n.name,
      address: n.address,
      identity: `spiffe://${TRUST_DOMAIN}/ambit/node/${n.name}`,
    })),
    services: t.services.map((s) => {
      const members = t.pods.filter(
        (p) =>
          p.spec.namespace === s.spec.namespace &&
          Object.entries(s.spec.selector).every(([k, v]) => p.labels[k] === v),
      );
      return {
        namespace: s.spec.namespace,
        name: s.spec.name,
        hostname: `${s.spec.name}.${s.spec.namespace}.svc.cluster.local`,
        vips: [s.vip],
        ports: s.spec.ports.map((x) => ({
          name: x.name,
          port: x.port,
          targetPort: x.targetPort,
          protocol: 'TCP' as const,
        })),
        labels: {},
        endpoints: members.map((p) => ({
          workloadUid: p.uid,
          ip: p.ip,
          node: p.node.name,
          ports: Object.fromEntries(s.spec.ports.map((x) => [String(x.port), x.targetPort])),
          ready: true,
          serving: true,
          terminating: false,
        })),
      };
    }),
    waypoints: [],
    authorizationPolicies: [],
    peerAuthentications,
    routes: [],
  };
}
