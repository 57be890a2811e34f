// The MeshState of a local cluster as `ambit controller` computes it: the cluster's own manifests
// (manifests.ts) through the controller's validateConfig and computeMeshState. For `--state-file`
// runs of the agent that need no controller (kernel e2e suites, bench/redirect), so that those
// runs see what the controller really computes. Pure.
import { computeMeshState } from '../core/model/compute-mesh-state.js';
import { formatConfigError } from '../core/model/config-error.js';
import type { MeshState } from '../core/model/mesh.js';
import { validateConfig } from '../core/model/validate-config.js';
import { manifestFiles, type ManifestOptions } from './manifests.js';
import type { Topology } from './topology.js';

/** The trust domain `ambit controller` uses by default (its --trust-domain flag). */
export const LOCAL_TRUST_DOMAIN = 'cluster.local';

export function meshStateFor(t: Topology, o: ManifestOptions = {}): MeshState {
  const v = validateConfig(manifestFiles(t, o));
  if (!v.valid) {
    throw new Error(
      `the local cluster's manifests are invalid:\n${v.errors.map(formatConfigError).join('\n')}`,
    );
  }
  return computeMeshState(v.result, LOCAL_TRUST_DOMAIN);
}
