// Who may obtain which certificate (DESIGN.md §2), decided purely from the caller, the request
// metadata and the current mesh state:
// - the operator's join token grants a node identity (of a Node in the config) or a waypoint's own
//   identity; a scoped token grants only the one node or waypoint it is bound to, and only while
//   that Node or Gateway exists;
// - a reviewed service-account token (in a cluster) is scoped the same way: the node its pod runs
//   on, or the waypoint its pod belongs to when its service account is that waypoint's identity;
// - a node certificate grants identities of pods scheduled on that node, and its own renewal while
//   the Node exists;
// - a workload certificate grants only its own renewal, while a pod with that identity is still on
//   the node that obtained it (a waypoint's, while its Gateway still has that identity).
// Every allow names the binding the CA records in the new certificate (certificate-binding.ts).
import { nodeIdentity, parseSpiffeId, workloadIdentity } from '../core/identity/spiffe.js';
import type { MeshState } from '../core/model/mesh.js';
import { serviceAccountBinding, type Caller } from './caller-identity.js';
import type { TokenScope } from './token-scope.js';
import { ADMIN_BINDING, type CertificateBinding } from './certificate-binding.js';
import { isValidNodeName } from './token-scope.js';

export interface CertificateRequestFacts {
  caller: Caller;
  /** metadata.ImpersonatedIdentity */
  impersonatedIdentity?: string | undefined;
  /** metadata.NodeName (token bootstrap of a node) */
  nodeName?: string | undefined;
  /** metadata.WaypointFor = <ns>/<gateway> (token bootstrap of a waypoint) */
  waypointFor?: string | undefined;
}

/** Which lifetime cap applies (ca-service.ts). */
export type CertificateKind = 'node' | 'waypoint' | 'workload';

export type CertificateDecision =
  | { allow: true; identity: string; kind: CertificateKind; binding: CertificateBinding }
  | { allow: false; status: 'unauthenticated' | 'permission-denied' | 'invalid-argument'; message: string };

const deny = (message: string): CertificateDecision => ({
  allow: false,
  status: 'permission-denied',
  message,
});

/** A node name that is well-formed and a Node of the config; else why not. */
function nodeProblem(node: string, state: MeshState): string | undefined {
  if (!isValidNodeName(node)) {
    return `node name ${JSON.stringify(node)} is not a valid Node name (lower-case DNS subdomain)`;
  }
  if (!state.nodes.some((n) => n.name === node)) return `node ${node} is not a Node in the config`;
  return undefined;
}

function waypointGrant(
  waypointFor: string,
  wanted: string | undefined,
  state: MeshState,
  token: string,
  credential: string,
): CertificateDecision {
  const wp = state.waypoints.find((w) => `${w.namespace}/${w.name}` === waypointFor);
  if (!wp)
    return deny(`waypoint ${waypointFor} does not exist (no Gateway of class ambit-waypoint with that name)`);
  if (!wp.identity) {
    return deny(`waypoint ${waypointFor} has no pods, so it has no identity yet (its pods' service account)`);
  }
  if (wanted && wanted !== wp.identity) {
    return deny(
      `${credential} grants waypoint ${waypointFor} only its own identity ${wp.identity}, not ${wanted}`,
    );
  }
  return { allow: true, identity: wp.identity, kind: 'waypoint', binding: { token, waypoint: waypointFor } };
}

/** A credential bound to one node or one waypoint (a scoped token, a reviewed service-account token). */
function scopedGrant(
  req: CertificateRequestFacts,
  state: MeshState,
  scope: TokenScope,
  credential: string,
  bindingToken: string,
): CertificateDecision {
  const wanted = req.impersonatedIdentity || undefined;
  if (scope.kind === 'waypoint') {
    if (req.nodeName)
      return deny(`${credential} is bound to waypoint ${scope.waypoint}, not to node ${req.nodeName}`);
    if (req.waypointFor && req.waypointFor !== scope.waypoint) {
      return deny(`${credential} is bound to waypoint ${scope.waypoint}, not to waypoint ${req.waypointFor}`);
    }
    return waypointGrant(scope.waypoint, wanted, state, bindingToken, credential);
  }
  if (req.waypointFor)
    return deny(`${credential} is bound to node ${scope.node}, not to waypoint ${req.waypointFor}`);
  const own = nodeIdentity(state.trustDomain, scope.node);
  if (req.nodeName && req.nodeName !== scope.node) {
    return deny(`${credential} is bound to node ${scope.node}, not to node ${req.nodeName}`);
  }
  if (wanted && wanted !== own) return deny(`${credential} grants only ${own}, not ${wanted}`);
  const problem = nodeProblem(scope.node, state);
  if (problem) return deny(`${credential} cannot mint node ${scope.node}: ${problem}`);
  return { allow: true, identity: own, kind: 'node', binding: { token: bindingToken } };
}

export function authorizeCertificate(req: CertificateRequestFacts, state: MeshState): CertificateDecision {
  const td = state.trustDomain;
  const wanted = req.impersonatedIdentity || undefined;
  const caller = req.caller;
  switch (caller.kind) {
    case 'anonymous':
      return {
        allow: false,
        status: 'unauthenticated',
        message: `unauthenticated certificate request: ${caller.reason}`,
      };
    case 'join-token': {
      if (req.waypointFor)
        return waypointGrant(req.waypointFor, wanted, state, ADMIN_BINDING, 'the join token');
      const parsed = wanted ? parseSpiffeId(wanted) : undefined;
      if (wanted && (parsed?.kind !== 'node' || parsed.trustDomain !== td)) {
        return deny(
          `the join token only grants a node identity (spiffe://${td}/ambit/node/<node>), not ${wanted}`,
        );
      }
      const node = parsed?.kind === 'node' ? parsed.node : req.nodeName;
      if (!node) {
        return {
          allow: false,
          status: 'invalid-argument',
          message:
            'a join-token request must name the node (metadata NodeName) or a waypoint (metadata WaypointFor)',
        };
      }
      if (req.nodeName && req.nodeName !== node) {
        return deny(`metadata NodeName ${req.nodeName} does not match ImpersonatedIdentity ${wanted}`);
      }
      const problem = nodeProblem(node, state);
      if (problem) return deny(`the join token cannot mint node ${JSON.stringify(node)}: ${problem}`);
      return {
        allow: true,
        identity: nodeIdentity(td, node),
        kind: 'node',
        binding: { token: ADMIN_BINDING },
      };
    }
    case 'scoped-token': {
      const t = caller.token;
      return scopedGrant(req, state, t.scope, `token ${t.id}`, t.id);
    }
    case 'service-account': {
      const a = caller.account;
      const credential = `the token of service account ${a.namespace}/${a.serviceAccount} (pod ${a.namespace}/${a.pod.name})`;
      if (a.scope.kind === 'waypoint') {
        const waypoint = a.scope.waypoint;
        const wp = state.waypoints.find((w) => `${w.namespace}/${w.name}` === waypoint);
        const own = workloadIdentity(td, a.namespace, a.serviceAccount);
        if (wp?.identity && wp.identity !== own) {
          return deny(
            `${credential} cannot bootstrap waypoint ${waypoint}: the waypoint's identity is ${wp.identity}, not ${own}`,
          );
        }
      }
      return scopedGrant(req, state, a.scope, credential, serviceAccountBinding(a));
    }
    case 'certificate': {
      const own = caller.id.uri;
      const id = caller.id;
      if (id.kind === 'node') {
        const problem = nodeProblem(id.node, state);
        if (problem) return deny(`${own} may no longer obtain certificates: ${problem}`);
        if (!wanted || wanted === own) {
          return { allow: true, identity: own, kind: 'node', binding: { token: caller.binding.token } };
        }
        const node = id.node;
        const target = parseSpiffeId(wanted);
        if (target?.kind !== 'workload' || target.trustDomain !== td) {
          return deny(
            `node ${node} may only obtain workload identities (spiffe://${td}/ns/<ns>/sa/<sa>) of its pods, not ${wanted}`,
          );
        }
        const onNode = state.workloads.some(
          (w) =>
            w.node === node && w.namespace === target.namespace && w.serviceAccount === target.serviceAccount,
        );
        if (!onNode) {
          return deny(
            `node ${node} may not obtain ${wanted}: no pod with service account ${target.serviceAccount} in namespace ${target.namespace} is scheduled on node ${node}`,
          );
        }
        return {
          allow: true,
          identity: wanted,
          kind: 'workload',
          binding: { token: caller.binding.token, node },
        };
      }
      if (wanted && wanted !== own)
        return deny(`${own} may only renew its own identity, not obtain ${wanted}`);
      const b = caller.binding;
      if (b.waypoint) {
        const wp = state.waypoints.find((w) => `${w.namespace}/${w.name}` === b.waypoint);
        if (wp?.identity !== own) {
          return deny(`${own} may not renew: waypoint ${b.waypoint} no longer exists with that identity`);
        }
        return { allow: true, identity: own, kind: 'waypoint', binding: b };
      }
      if (b.node) {
        const onNode = state.workloads.some(
          (w) => w.node === b.node && w.namespace === id.namespace && w.serviceAccount === id.serviceAccount,
        );
        if (!onNode) {
          return deny(
            `${own} may not renew: no pod with service account ${id.serviceAccount} in namespace ${id.namespace} is scheduled on node ${b.node} any more`,
          );
        }
        return { allow: true, identity: own, kind: 'workload', binding: b };
      }
      return deny(
        `${own} may not renew: the certificate records no node or waypoint it was issued to (obtain a new one through the node)`,
      );
    }
    default: {
      const never: never = caller;
      throw new Error(`unknown caller ${JSON.stringify(never)}`);
    }
  }
}
