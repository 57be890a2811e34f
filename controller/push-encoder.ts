// Encodes discovery pushes once and shares the bytes between subscribers: the body (version,
// resources, removals) is serialised once per (from view, to view) and each push appends only its
// own nonce field (protobuf concatenation merges messages), so 100 subscribers holding the same
// view cost one encode. `to` is the subscriber's view of the publication (viewFor).
import { meshProtos } from '../core/discovery/proto.js';
import { diffViews } from '../core/discovery/mesh-delta.js';
import { splitViewKey, type ResourceView } from '../core/discovery/mesh-resources.js';
import type { DiscoveryResponse, WireResource } from '../core/discovery/wire-types.js';
import type { MeshPublication } from './mesh-publication.js';

export interface EncodedPush {
  body: Buffer;
  full: boolean;
  upserts: number;
  removals: number;
}

type Serialize = (m: Partial<DiscoveryResponse>) => Buffer;

export class PushEncoder {
  private cacheFor: MeshPublication | undefined;
  private readonly cache = new Map<ResourceView, Map<ResourceView | 'full', EncodedPush>>();
  private readonly serialize: Serialize;

  constructor() {
    const stream = meshProtos().discoveryDefinition.Stream;
    if (!stream) throw new Error('proto/ambit/discovery.proto defines no Stream method');
    this.serialize = stream.responseSerialize;
  }

  /** The push that takes a subscriber holding `from` (undefined: nothing) to `to`, its view of `pub`. */
  encode(pub: MeshPublication, to: ResourceView, from: ResourceView | undefined): EncodedPush {
    if (this.cacheFor !== pub) {
      this.cache.clear();
      this.cacheFor = pub;
    }
    let byFrom = this.cache.get(to);
    if (!byFrom) this.cache.set(to, (byFrom = new Map()));
    const cacheKey = from ?? 'full';
    const hit = byFrom.get(cacheKey);
    if (hit) return hit;
    const resource = (k: string, json: string): WireResource => {
      const { type, key } = splitViewKey(k);
      return { type, key, value: Buffer.from(json) };
    };
    let push: EncodedPush;
    if (!from) {
      const resources = [...to].map(([k, json]) => resource(k, json));
      push = {
        body: this.serialize({
          versionInfo: pub.version,
          full: true,
          resources,
          trustDomain: pub.state.trustDomain,
        }),
        full: true,
        upserts: resources.length,
        removals: 0,
      };
    } else {
      const d = diffViews(from, to);
      push = {
        body: this.serialize({
          versionInfo: pub.version,
          full: false,
          resources: d.upserts.flatMap((k) => {
            const json = to.get(k);
            return json === undefined ? [] : [resource(k, json)];
          }),
          removed: d.removals.map(splitViewKey),
          trustDomain: pub.state.trustDomain,
        }),
        full: false,
        upserts: d.upserts.length,
        removals: d.removals.length,
      };
    }
    byFrom.set(cacheKey, push);
    return push;
  }

  withNonce(push: EncodedPush, nonce: string): Buffer {
    return Buffer.concat([push.body, this.serialize({ nonce })]);
  }
}
