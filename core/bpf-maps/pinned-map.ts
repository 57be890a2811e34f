// A typed view of one pinned map: open by pin path (BPF_OBJ_GET), then lookup/update/delete/
// entries through the map's codecs. Used by the agent for its writes and by `ambit bpf`.
import { BpfMapHandle } from './bpf-syscall.js';
import type { MapSpec } from './map-codecs.js';
import { mapPinPath } from './pin-paths.js';

export class PinnedMap<K, V> {
  private readonly handle: BpfMapHandle;

  constructor(
    readonly spec: MapSpec<K, V>,
    pinPath: string,
  ) {
    this.handle = new BpfMapHandle(pinPath, spec.key.size, spec.value.size);
  }

  static open<K, V>(node: string, spec: MapSpec<K, V>): PinnedMap<K, V> {
    return new PinnedMap(spec, mapPinPath(node, spec.name));
  }

  lookup(key: K): V | undefined {
    this.spec.key.encode(key, this.handle.key.buf);
    return this.handle.lookup() ? this.spec.value.decode(this.handle.value.buf) : undefined;
  }

  update(key: K, value: V): void {
    this.spec.key.encode(key, this.handle.key.buf);
    this.spec.value.encode(value, this.handle.value.buf);
    this.handle.update();
  }

  /** false when the key was absent. */
  delete(key: K): boolean {
    this.spec.key.encode(key, this.handle.key.buf);
    return this.handle.delete();
  }

  /** Every entry; bounded by the map's size since the kernel walk ends at the last key. */
  entries(): [K, V][] {
    const out: [K, V][] = [];
    let first = true;
    while (this.handle.advance(first)) {
      first = false;
      const key = this.spec.key.decode(this.handle.key.buf);
      // an entry can vanish between next-key and lookup (LRU eviction); skip it then
      if (this.handle.lookup()) out.push([key, this.spec.value.decode(this.handle.value.buf)]);
    }
    return out;
  }

  close(): void {
    this.handle.close();
  }
}
