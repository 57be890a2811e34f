// Which address stands for the client in L4 policy (ipBlocks, source.ip) at 15008. Istio uses
// the peer's address, which there is the client pod's own IP (its ztunnel spoofs it). Ambit's
// source ztunnel dials from its node address (DESIGN §9), so the peer address is a node's, not
// a pod's. We take the `forwarded: for=` address instead, but only when discovery says that IP
// belongs to a workload whose identity is exactly the authenticated peer's: the peer holds that
// pod's key, so this adds no trust. Otherwise (waypoints, unknown IPs) the peer address is used.
import type { ZtunnelSnapshot } from '../state/ztunnel-snapshot.js';

export function policySourceIp(
  snap: ZtunnelSnapshot,
  peerAddress: string,
  peerPrincipal: string | undefined,
  forwardedIp: string | undefined,
): string {
  if (!forwardedIp || !peerPrincipal) return peerAddress;
  const w = snap.workloadByIp.get(forwardedIp);
  return w && w.identity === peerPrincipal ? forwardedIp : peerAddress;
}
