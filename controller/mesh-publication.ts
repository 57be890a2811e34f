// One published mesh state: the computed MeshState, its keyed wire view and its content version,
// and the view each subscriber receives (core/discovery/view-for.ts). The whole state is encoded
// once per accepted config change, before it is swapped in; each distinct subscriber view is
// built once, the first time a subscriber of its cache key asks (100 ztunnels share one view).
import { encodeMeshState, meshStateToView, type ResourceView } from '../core/discovery/mesh-resources.js';
import { viewCacheKey, viewFor, type MeshSubscriber } from '../core/discovery/view-for.js';
import type { MeshState } from '../core/model/mesh.js';

/** What one kind of subscriber receives of a publication. */
export interface PublishedView {
  state: MeshState;
  view: ResourceView;
}

export interface MeshPublication {
  /** Content version of the whole state; every view of it is pushed under this version. */
  version: string;
  state: MeshState;
  view: ResourceView;
  publishedAt: string;
  /** The view `subscriber` receives, built on first use and shared by equal cache keys. */
  viewOf(subscriber: MeshSubscriber): PublishedView;
}

export function publicationOf(state: MeshState): MeshPublication {
  const { view, version } = encodeMeshState(state);
  const views = new Map<string, PublishedView>();
  return {
    version,
    state,
    view,
    publishedAt: new Date().toISOString(),
    viewOf(subscriber) {
      const key = viewCacheKey(subscriber);
      let v = views.get(key);
      if (!v) {
        const s = viewFor(subscriber, state);
        v = { state: s, view: meshStateToView(s) };
        views.set(key, v);
      }
      return v;
    },
  };
}
