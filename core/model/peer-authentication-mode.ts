// Effective mTLS mode of a workload (and port) from PeerAuthentication, with Istio's precedence:
// a workload-selector policy beats the namespace-wide one, which beats the mesh-wide one in the
// root namespace; UNSET inherits from the next level; nothing set means PERMISSIVE. Used by the
// ztunnel (15006 plaintext inbound) and the agent (STRICT drop in the kernel). Pure.
import { ROOT_NAMESPACE, type MeshPeerAuthentication, type MtlsMode, type Workload } from './mesh.js';

export type EffectiveMtlsMode = Exclude<MtlsMode, 'UNSET'>;

function selects(pa: MeshPeerAuthentication, w: Pick<Workload, 'labels'>): boolean {
  return Object.entries(pa.selector ?? {}).every(([k, v]) => w.labels[k] === v);
}

/** Oldest-first tie break is not available here; among equals the lexically first name wins (stable). */
function first(list: MeshPeerAuthentication[]): MeshPeerAuthentication | undefined {
  return [...list].sort((a, b) => a.name.localeCompare(b.name))[0];
}

export function effectiveMtlsMode(
  peerAuthentications: readonly MeshPeerAuthentication[],
  workload: Pick<Workload, 'namespace' | 'labels'>,
  port?: number,
): EffectiveMtlsMode {
  const inNs = peerAuthentications.filter((p) => p.namespace === workload.namespace && !p.meshWide);
  const levels = [
    first(inNs.filter((p) => p.selector && Object.keys(p.selector).length > 0 && selects(p, workload))),
    first(inNs.filter((p) => !p.selector || Object.keys(p.selector).length === 0)),
    first(peerAuthentications.filter((p) => p.meshWide || (p.namespace === ROOT_NAMESPACE && !p.selector))),
  ];
  for (const pa of levels) {
    if (!pa) continue;
    // port-level settings only apply on workload-selector policies (Istio), but honouring them on any
    // level is harmless: the controller's validator rejects them elsewhere.
    const portMode = port === undefined ? undefined : pa.portLevelMtls[String(port)];
    if (portMode && portMode !== 'UNSET') return portMode;
    if (pa.mode !== 'UNSET') return pa.mode;
  }
  return 'PERMISSIVE';
}
