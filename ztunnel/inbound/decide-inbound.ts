// Decides what the destination ztunnel does with one HBONE CONNECT (15008) or one plaintext
// capture (15006): forward to a pod on this node, or refuse with the DESIGN §3 status (400 bad
// request, 401 denied by policy, 503 unknown destination). Pure: inbound-proxy.ts carries it out.
import type { MeshService, Workload } from '../../core/model/mesh.js';
import { effectiveMtlsMode, type EffectiveMtlsMode } from '../../core/model/peer-authentication-mode.js';
import { authorize } from '../policy/authorize.js';
import { parseAuthority, parseForwarded } from '../hbone/hbone-headers.js';
import { policySourceIp } from './source-address.js';
import type { ZtunnelSnapshot } from '../state/ztunnel-snapshot.js';

export interface InboundFacts {
  node: string;
  transport: 'hbone' | 'plaintext';
  method?: string;
  /** HBONE :authority, or for plaintext the original destination formatted the same way. */
  authority: string | undefined;
  /** The client's identity from its certificate (HBONE only). */
  peerPrincipal?: string;
  peerAddress: string;
  forwarded?: string;
}

export type InboundRejectReason =
  | 'not-connect'
  | 'bad-authority'
  | 'unknown-destination'
  | 'not-on-this-node'
  | 'not-from-waypoint'
  | 'mtls-required'
  | 'policy';

export type InboundDecision =
  | {
      kind: 'forward';
      destination: Workload;
      address: { ip: string; port: number };
      /** The Service named by forwarded ;host=, when known. */
      service?: MeshService;
      sourceIp: string;
      sourceWorkload?: Workload;
      policy?: string;
      mode: EffectiveMtlsMode;
    }
  | {
      kind: 'reject';
      status: 400 | 401 | 503;
      reason: InboundRejectReason;
      detail: string;
      destination?: Workload;
      address?: { ip: string; port: number };
      service?: MeshService;
      sourceIp: string;
      sourceWorkload?: Workload;
      policy?: string;
    };

function waypointIdentitiesFor(
  snap: ZtunnelSnapshot,
  w: Workload,
  service: MeshService | undefined,
): string[] {
  const ids: string[] = [];
  const add = (ref: { namespace: string; name: string } | undefined, kinds: string[]) => {
    if (!ref) return;
    const wp = snap.waypointByKey.get(`${ref.namespace}/${ref.name}`);
    if (wp && kinds.includes(wp.for))
      ids.push(wp.identity ?? `(waypoint ${ref.namespace}/${ref.name} without identity)`);
  };
  add(w.waypoint, ['workload', 'all']);
  add(service?.waypoint, ['service', 'all']);
  return ids;
}

export function decideInbound(snap: ZtunnelSnapshot, f: InboundFacts): InboundDecision {
  const fwd = parseForwarded(f.forwarded);
  const sourceIp =
    f.transport === 'hbone' ? policySourceIp(snap, f.peerAddress, f.peerPrincipal, fwd.ip) : f.peerAddress;
  const sourceWorkload =
    (f.peerPrincipal && fwd.ip && snap.workloadByIp.get(fwd.ip)?.identity === f.peerPrincipal
      ? snap.workloadByIp.get(fwd.ip)
      : undefined) ?? (f.transport === 'plaintext' ? snap.workloadByIp.get(f.peerAddress) : undefined);
  const base = { sourceIp, ...(sourceWorkload ? { sourceWorkload } : {}) };
  if (f.transport === 'hbone' && f.method !== 'CONNECT') {
    return {
      kind: 'reject',
      status: 400,
      reason: 'not-connect',
      detail: `method ${f.method ?? '(none)'} is not CONNECT`,
      ...base,
    };
  }
  const address = parseAuthority(f.authority);
  if (!address)
    return {
      kind: 'reject',
      status: 400,
      reason: 'bad-authority',
      // Not quoted here: the access log carries it once, capped, as originalDestination.
      detail: f.authority === undefined ? 'no :authority' : 'bad :authority',
      ...base,
    };
  const destination = snap.workloadByIp.get(address.ip);
  const service = fwd.host ? snap.serviceByHostname.get(fwd.host) : undefined;
  const svc = service ? { service } : {};
  if (!destination || !destination.enrolled) {
    return {
      kind: 'reject',
      status: 503,
      reason: 'unknown-destination',
      detail: `no enrolled workload has IP ${address.ip}`,
      address,
      ...svc,
      ...base,
    };
  }
  const dst = { destination, address, ...svc, ...base };
  if (destination.node !== f.node) {
    return {
      kind: 'reject',
      status: 503,
      reason: 'not-on-this-node',
      detail: `${destination.namespace}/${destination.name} runs on ${destination.node}`,
      ...dst,
    };
  }
  const mode = effectiveMtlsMode(snap.state.peerAuthentications, destination, address.port);
  if (f.transport === 'plaintext' && mode !== 'PERMISSIVE' && mode !== 'DISABLE') {
    return {
      kind: 'reject',
      status: 401,
      reason: 'mtls-required',
      detail: `${destination.namespace}/${destination.name} port ${address.port} is ${mode}`,
      ...dst,
    };
  }
  // A waypoint-enabled target only takes traffic from its waypoint (DESIGN §6). A client outside
  // the mesh (plaintext) skips the waypoint, as in Istio.
  if (f.transport === 'hbone') {
    const required = waypointIdentitiesFor(snap, destination, service);
    if (required.length > 0 && !required.includes(f.peerPrincipal ?? '')) {
      return {
        kind: 'reject',
        status: 401,
        reason: 'not-from-waypoint',
        detail: `${destination.namespace}/${destination.name} is served by a waypoint (${required.join(', ')}); peer is ${f.peerPrincipal}`,
        ...dst,
      };
    }
  }
  const az = authorize(snap.state.authorizationPolicies, {
    destination,
    destinationIp: address.ip,
    destinationPort: address.port,
    ...(f.peerPrincipal ? { sourcePrincipal: f.peerPrincipal } : {}),
    sourceIp,
  });
  switch (az.kind) {
    case 'allow':
      return { kind: 'forward', ...dst, mode, ...(az.policy ? { policy: az.policy } : {}) };
    case 'deny':
      return {
        kind: 'reject',
        status: 401,
        reason: 'policy',
        detail: `${az.reason} by ${az.policy}`,
        policy: az.policy,
        ...dst,
      };
    default: {
      const never: never = az;
      throw new Error(`unknown result ${JSON.stringify(never)}`);
    }
  }
}
