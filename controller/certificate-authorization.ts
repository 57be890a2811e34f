// Who may obtain which certificate (DESIGN.md §2), decided purely from the caller, the request
// metadata and the current mesh state: the join token grants only a node identity or a waypoint's
// own identity; a node certificate grants only identities of pods scheduled on that node (and its
// own renewal); a workload certificate grants only its own renewal.
import { nodeIdentity, parseSpiffeId } from '../core/identity/spiffe.js';
import type { MeshState } from '../core/model/mesh.js';
import type { Caller } from './caller-identity.js';

export interface CertificateRequestFacts {
  caller: Caller;
  /** metadata.ImpersonatedIdentity */
  impersonatedIdentity?: string | undefined;
  /** metadata.NodeName (join-token bootstrap) */
  nodeName?: string | undefined;
  /** metadata.WaypointFor = <ns>/<gateway> (join-token bootstrap of a waypoint) */
  waypointFor?: string | undefined;
}

export type CertificateDecision =
  | { allow: true; identity: string }
  | { allow: false; status: 'unauthenticated' | 'permission-denied' | 'invalid-argument'; message: string };

const deny = (message: string): CertificateDecision => ({
  allow: false,
  status: 'permission-denied',
  message,
});

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
      if (req.waypointFor) {
        const wp = state.waypoints.find((w) => `${w.namespace}/${w.name}` === req.waypointFor);
        if (!wp)
          return deny(
            `waypoint ${req.waypointFor} does not exist (no Gateway of class ambit-waypoint with that name)`,
          );
        if (!wp.identity) {
          return deny(
            `waypoint ${req.waypointFor} has no pods, so it has no identity yet (its pods' service account)`,
          );
        }
        if (wanted && wanted !== wp.identity) {
          return deny(
            `the join token grants waypoint ${req.waypointFor} only its own identity ${wp.identity}, not ${wanted}`,
          );
        }
        return { allow: true, identity: wp.identity };
      }
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
      return { allow: true, identity: nodeIdentity(td, node) };
    }
    case 'certificate': {
      const own = caller.id.uri;
      if (!wanted || wanted === own) return { allow: true, identity: own };
      if (caller.id.kind !== 'node') {
        return deny(`${own} may only renew its own identity, not obtain ${wanted}`);
      }
      const node = caller.id.node;
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
      return { allow: true, identity: wanted };
    }
    default: {
      const never: never = caller;
      throw new Error(`unknown caller ${JSON.stringify(never)}`);
    }
  }
}
