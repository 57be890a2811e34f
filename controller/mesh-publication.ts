// One published mesh state: the computed MeshState, its keyed wire view and its content version.
// Built once per accepted config change, before it is swapped in (snapshots, not shared state).
import { encodeMeshState, type ResourceView } from '../core/discovery/mesh-resources.js';
import type { MeshState } from '../core/model/mesh.js';

export interface MeshPublication {
  version: string;
  state: MeshState;
  view: ResourceView;
  publishedAt: string;
}

export function publicationOf(state: MeshState): MeshPublication {
  const { view, version } = encodeMeshState(state);
  return { version, state, view, publishedAt: new Date().toISOString() };
}
