// The ztunnel's side of the redirect: given the remote address of a socket accepted on the
// capture port (the pod's source IP and port), where did the application want to go? One
// bpf(BPF_MAP_LOOKUP_ELEM) through koffi per call (~1 µs), never a bpftool process.
import { BpfMapHandle } from './bpf-syscall.js';
import { ORIG_BY_TUPLE_MAP, type OriginalDestination } from './map-codecs.js';
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
  return {
    lookup(srcIp, srcPort) {
      const ip = srcIp.startsWith('::ffff:') ? srcIp.slice(7) : srcIp;
      key.encode({ srcIp: ip, srcPort }, handle.key.buf);
      return handle.lookup() ? value.decode(handle.value.buf) : undefined;
    },
    close: () => handle.close(),
  };
}
