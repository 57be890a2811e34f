// Snapshot sizes per subscriber kind for the controller bench: loads the bench's config directory
// with the controller's own store, computes the mesh state, and encodes the full snapshot each
// subscriber kind is sent (controller/push-encoder.ts, without the per-push nonce) next to the
// whole state. Uses only the code the controller runs; measures, asserts nothing.
import { pino } from 'pino';
import { viewCacheKey, type MeshSubscriber } from '../../core/discovery/view-for.js';
import { computeMeshState } from '../../core/model/compute-mesh-state.js';
import { DirectoryConfigStore } from '../../controller/directory-config-store.js';
import { publicationOf } from '../../controller/mesh-publication.js';
import { PushEncoder } from '../../controller/push-encoder.js';

export interface ViewSize {
  /** `full` for the whole state, else the subscriber's view cache key. */
  name: string;
  records: number;
  bytes: number;
}

export async function measureViewSizes(
  configDir: string,
  trustDomain: string,
  subscribers: readonly MeshSubscriber[],
): Promise<ViewSize[]> {
  const store = new DirectoryConfigStore(configDir, pino({ level: 'silent' }));
  await store.start();
  const resources = store.get().resources;
  await store.close();
  const pub = publicationOf(computeMeshState(resources, trustDomain));
  const encoder = new PushEncoder();
  const sizes: ViewSize[] = [
    { name: 'full', records: pub.view.size, bytes: encoder.encode(pub, pub.view, undefined).body.length },
  ];
  for (const s of subscribers) {
    const { view } = pub.viewOf(s);
    sizes.push({
      name: viewCacheKey(s),
      records: view.size,
      bytes: encoder.encode(pub, view, undefined).body.length,
    });
  }
  return sizes;
}
