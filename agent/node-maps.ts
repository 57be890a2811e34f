// This node's pinned maps opened once through core/bpf-maps (bpf(2) via koffi), with the reads
// the reconciler needs turned into plain maps. Closing releases the fds, never the pins.
import { PinnedMap } from '../core/bpf-maps/pinned-map.js';
import {
  CONFIG_MAP,
  COUNTERS_MAP,
  COUNTER_NAMES,
  MESH_DST_MAP,
  MESH_DST6_MAP,
  ORIG_BY_TUPLE_MAP,
  POD_POLICY_MAP,
  POD_POLICY6_MAP,
  PROBE_SRC_MAP,
  PROBE_SRC6_MAP,
  type AmbitConfig,
  type CounterName,
  type KernelMtlsMode,
  type MeshDstKey,
  type MeshDstValue,
  type OriginalDestination,
  type PodPolicy,
  type TupleKey,
} from '../core/bpf-maps/map-codecs.js';
import { dstId } from './reconcile.js';
import { isIpv6 } from '../core/bpf-maps/ipv6.js';

/**
 * An IPv4 map and its IPv6 twin behind one update/delete/lookup/entries: the reconciler's plan
 * keys entries by address whatever the family, and the family of `ipOf(key)` picks the map.
 */
export class FamilyMaps<K, V> {
  constructor(
    readonly v4: PinnedMap<K, V>,
    readonly v6: PinnedMap<K, V>,
    private readonly ipOf: (k: K) => string,
  ) {}
  private of(k: K): PinnedMap<K, V> {
    return isIpv6(this.ipOf(k)) ? this.v6 : this.v4;
  }
  update(k: K, v: V): void {
    this.of(k).update(k, v);
  }
  delete(k: K): boolean {
    return this.of(k).delete(k);
  }
  lookup(k: K): V | undefined {
    return this.of(k).lookup(k);
  }
  entries(): [K, V][] {
    return [...this.v4.entries(), ...this.v6.entries()];
  }
  close(): void {
    this.v4.close();
    this.v6.close();
  }
}

export class NodeMaps {
  readonly config: PinnedMap<number, AmbitConfig>;
  readonly meshDst: FamilyMaps<MeshDstKey, MeshDstValue>;
  readonly podPolicy: FamilyMaps<string, PodPolicy>;
  readonly probeSrc: FamilyMaps<string, number>;
  readonly counters: PinnedMap<number, bigint>;
  readonly origByTuple: PinnedMap<TupleKey, OriginalDestination>;

  constructor(readonly node: string) {
    this.config = PinnedMap.open(node, CONFIG_MAP);
    this.meshDst = new FamilyMaps(
      PinnedMap.open(node, MESH_DST_MAP),
      PinnedMap.open(node, MESH_DST6_MAP),
      (k) => k.ip,
    );
    this.podPolicy = new FamilyMaps(
      PinnedMap.open(node, POD_POLICY_MAP),
      PinnedMap.open(node, POD_POLICY6_MAP),
      (ip) => ip,
    );
    this.probeSrc = new FamilyMaps(
      PinnedMap.open(node, PROBE_SRC_MAP),
      PinnedMap.open(node, PROBE_SRC6_MAP),
      (ip) => ip,
    );
    this.counters = PinnedMap.open(node, COUNTERS_MAP);
    this.origByTuple = PinnedMap.open(node, ORIG_BY_TUPLE_MAP);
  }

  readConfig(): AmbitConfig | undefined {
    const c = this.config.lookup(0);
    return c && c.meshIp !== '0.0.0.0' ? c : undefined;
  }

  readMeshDst(): Map<string, MeshDstValue['kind']> {
    return new Map(this.meshDst.entries().map(([k, v]) => [dstId(k.ip, k.port), v.kind]));
  }

  readPodPolicy(): Map<string, KernelMtlsMode> {
    return new Map(this.podPolicy.entries().map(([ip, v]) => [ip, v.mode]));
  }

  readProbeSources(): Set<string> {
    return new Set(this.probeSrc.entries().map(([ip]) => ip));
  }

  readCounters(): Record<CounterName, bigint> {
    const out = {} as Record<CounterName, bigint>;
    COUNTER_NAMES.forEach((name, i) => (out[name] = this.counters.lookup(i) ?? 0n));
    return out;
  }

  close(): void {
    for (const m of [
      this.config,
      this.meshDst,
      this.podPolicy,
      this.probeSrc,
      this.counters,
      this.origByTuple,
    ]) {
      m.close();
    }
  }
}
