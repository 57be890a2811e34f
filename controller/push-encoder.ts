// Encodes discovery pushes once and shares the bytes between subscribers: the body (version,
// resources, removals) is serialised once per (from view, to view) and each push appends only its
// own nonce field (protobuf concatenation merges messages), so 100 subscribers cost one encode.
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
  private readonly cache = new Map<ResourceView | 'full', EncodedPush>();
  private readonly serialize: Serialize;

  constructor() {
    this.serialize = meshProtos().discoveryDefinition.Stream!.responseSerialize as unknown as Serialize;
  }

  /** The push that takes a subscriber holding `from` (undefined: nothing) to `pub`. */
  encode(pub: MeshPublication, from: ResourceView | undefined): EncodedPush {
    if (this.cacheFor !== pub) {
      this.cache.clear();
      this.cacheFor = pub;
    }
    const cacheKey = from ?? 'full';
    const hit = this.cache.get(cacheKey);
    if (hit) return hit;
    const resource = (k: string): WireResource => {
      const { type, key } = splitViewKey(k);
      return { type, key, value: Buffer.from(pub.view.get(k)!) };
    };
    let push: EncodedPush;
    if (!from) {
      const resources = [...pub.view.keys()].map(resource);
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
      const d = diffViews(from, pub.view);
      push = {
        body: this.serialize({
          versionInfo: pub.version,
          full: false,
          resources: d.upserts.map(resource),
          removed: d.removals.map(splitViewKey),
          trustDomain: pub.state.trustDomain,
        }),
        full: false,
        upserts: d.upserts.length,
        removals: d.removals.length,
      };
    }
    this.cache.set(cacheKey, push);
    return push;
  }

  withNonce(push: EncodedPush, nonce: string): Buffer {
    return Buffer.concat([push.body, this.serialize({ nonce })]);
  }
}
