// The ztunnel's side of the redirect: given the remote address of a socket accepted on the
// capture port (the pod's source IP and port), where did the application want to go? One
// bpf(BPF_MAP_LOOKUP_ELEM) through koffi per call (~1 µs), never a bpftool process.
import { BpfMapHandle } from './bpf-syscall.js';
import { ORIG6_BY_TUPLE_MAP, ORIG_BY_TUPLE_MAP, type OriginalDestination } from './map-codecs.js';
import { mapPinPath } from './pin-paths.js';

export interface OriginalDestinationMap {
  /** The original destination of the connection from srcIp:srcPort, or undefined if it was not redirected. */
  lookup(srcIp: string, srcPort: number): OriginalDestination | undefined;
  close(): void;
}

/**
 * Opens `node`'s pinned ambit_orig_by_tuple map (/sys/fs/bpf/ambit/<node>/maps/) with
 * BPF_OBJ_GET. Throws BpfError `BPF_NOT_PINNED` when the agent has not loaded the node yet.
 * Call lookup() with the accepted socket's remoteAddress/remotePort (IPv4 only; an IPv4-mapped
 * `::ffff:a.b.c.d` is accepted). The returned object reuses its buffers: do not share it
 * across worker threads.
 */
export function openOriginalDestinationMap(node: string): OriginalDestinationMap {
  const { key, value } = ORIG_BY_TUPLE_MAP;
  const handle = new BpfMapHandle(mapPinPath(node, ORIG_BY_TUPLE_MAP.name), key.size, value.size);
  // Native IPv6 destinations (connect6) are recorded in a second map under the same key. Opened
  // lazily: a node whose agent predates it has no such pin, and IPv4 lookups must still work.
  let v6: BpfMapHandle | undefined;
  let v6Missing = false;
  const openV6 = (): BpfMapHandle | undefined => {
    if (v6 || v6Missing) return v6;
    try {
      v6 = new BpfMapHandle(
        mapPinPath(node, ORIG6_BY_TUPLE_MAP.name),
        key.size,
        ORIG6_BY_TUPLE_MAP.value.size,
      );
    } catch {
      v6Missing = true;
    }
    return v6;
  };
  return {
    lookup(srcIp, srcPort) {
      const ip = srcIp.startsWith('::ffff:') ? srcIp.slice(7) : srcIp;
      key.encode({ srcIp: ip, srcPort }, handle.key.buf);
      if (handle.lookup()) return value.decode(handle.value.buf);
      const h6 = openV6();
      if (!h6) return undefined;
      handle.key.buf.copy(h6.key.buf);
      return h6.lookup() ? ORIG6_BY_TUPLE_MAP.value.decode(h6.value.buf) : undefined;
    },
    close: () => {
      handle.close();
      v6?.close();
    },
  };
}
