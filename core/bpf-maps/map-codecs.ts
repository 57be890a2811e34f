// The TypeScript side of every map in bpf/include/ambit_maps.h: one MapSpec per map with the
// codecs of its key and value. This file mirrors bpf/include/ambit_types.h and is checked
// against the compiled objects' BTF; change both together. Pure: no syscalls here.
import { readIpv4, writeIpv4 } from './ipv4.js';
import { readIpv6, writeIpv6 } from './ipv6.js';
import { type Codec, u32Codec, u64Codec } from './struct-codec.js';

export interface MapSpec<K, V> {
  /** Map name in the object and the pin file name under maps/. */
  name: string;
  key: Codec<K>;
  value: Codec<V>;
}

// ---- struct ambit_config -------------------------------------------------------------------
export interface AmbitConfig {
  meshIp: string;
  capturePort: number;
}
export const configCodec: Codec<AmbitConfig> = {
  cType: 'struct ambit_config',
  size: 8,
  fields: [
    { cName: 'mesh_ip', offset: 0, size: 4, order: 'network' },
    { cName: 'capture_port', offset: 4, size: 2, order: 'host' },
    { cName: 'flags', offset: 6, size: 2, order: 'host' },
  ],
  encode(v, b) {
    writeIpv4(b, 0, v.meshIp);
    b.writeUInt16LE(v.capturePort, 4);
    b.writeUInt16LE(0, 6);
  },
  decode: (b) => ({ meshIp: readIpv4(b, 0), capturePort: b.readUInt16LE(4) }),
};

// ---- { __be32 ip; __be16 port; __u16 pad; }: ambit_dst_key and ambit_orig_dst ----------------
function ipPortCodec(cType: string): Codec<{ ip: string; port: number }> {
  return {
    cType,
    size: 8,
    fields: [
      { cName: 'ip', offset: 0, size: 4, order: 'network' },
      { cName: 'port', offset: 4, size: 2, order: 'network' },
      { cName: 'pad', offset: 6, size: 2, order: 'host' },
    ],
    encode(v, b) {
      writeIpv4(b, 0, v.ip);
      b.writeUInt16BE(v.port, 4);
      b.writeUInt16LE(0, 6);
    },
    decode: (b) => ({ ip: readIpv4(b, 0), port: b.readUInt16BE(4) }),
  };
}

// ---- struct ambit_dst_key / ambit_dst_value --------------------------------------------------
/** port 0: every port of ip (an enrolled workload). */
export interface MeshDstKey {
  ip: string;
  port: number;
}
export const dstKeyCodec: Codec<MeshDstKey> = ipPortCodec('struct ambit_dst_key');

export type MeshDstKind = 'workload' | 'service';
const DST_KIND_CODE: Record<MeshDstKind, number> = { workload: 1, service: 2 };
export interface MeshDstValue {
  kind: MeshDstKind;
}
export const dstValueCodec: Codec<MeshDstValue> = {
  cType: 'struct ambit_dst_value',
  size: 4,
  fields: [{ cName: 'kind', offset: 0, size: 4, order: 'host' }],
  encode: (v, b) => void b.writeUInt32LE(DST_KIND_CODE[v.kind], 0),
  decode: (b) => ({ kind: b.readUInt32LE(0) === 2 ? 'service' : 'workload' }),
};

// ---- struct ambit_orig_dst / ambit_tuple_key -------------------------------------------------
export interface OriginalDestination {
  ip: string;
  port: number;
}
export const origDstCodec: Codec<OriginalDestination> = ipPortCodec('struct ambit_orig_dst');

export interface TupleKey {
  srcIp: string;
  srcPort: number;
}
export const tupleKeyCodec: Codec<TupleKey> = {
  cType: 'struct ambit_tuple_key',
  size: 8,
  fields: [
    { cName: 'src_ip', offset: 0, size: 4, order: 'network' },
    { cName: 'src_port', offset: 4, size: 4, order: 'host' },
  ],
  encode(v, b) {
    writeIpv4(b, 0, v.srcIp);
    b.writeUInt32LE(v.srcPort, 4);
  },
  decode: (b) => ({ srcIp: readIpv4(b, 0), srcPort: b.readUInt32LE(4) }),
};

// ---- { __be32 ip[4]; __be16 port; __u16 pad; }: ambit_dst6_key and ambit_orig_dst6 -----------
function ip6PortCodec(cType: string): Codec<{ ip: string; port: number }> {
  return {
    cType,
    size: 20,
    fields: [
      { cName: 'ip', offset: 0, size: 16, order: 'network' },
      { cName: 'port', offset: 16, size: 2, order: 'network' },
      { cName: 'pad', offset: 18, size: 2, order: 'host' },
    ],
    encode(v, b) {
      writeIpv6(b, 0, v.ip);
      b.writeUInt16BE(v.port, 16);
      b.writeUInt16LE(0, 18);
    },
    decode: (b) => ({ ip: readIpv6(b, 0), port: b.readUInt16BE(16) }),
  };
}
/** A native IPv6 mesh destination; port 0: every port of ip. */
export const dst6KeyCodec: Codec<MeshDstKey> = ip6PortCodec('struct ambit_dst6_key');
export const origDst6Codec: Codec<OriginalDestination> = ip6PortCodec('struct ambit_orig_dst6');

// ---- pod policy / probe sources ------------------------------------------------------------
/** A bare IPv4 key (__u32, network order). */
export const ipv4KeyCodec: Codec<string> = {
  cType: '__u32',
  size: 4,
  fields: [],
  encode: (v, b) => writeIpv4(b, 0, v),
  decode: (b) => readIpv4(b, 0),
};

/** A bare IPv6 key (struct ambit_ip6, network order). */
export const ipv6KeyCodec: Codec<string> = {
  cType: 'struct ambit_ip6',
  size: 16,
  fields: [{ cName: 'ip', offset: 0, size: 16, order: 'network' }],
  encode: (v, b) => writeIpv6(b, 0, v),
  decode: (b) => readIpv6(b, 0),
};

export type KernelMtlsMode = 'PERMISSIVE' | 'STRICT';
export interface PodPolicy {
  mode: KernelMtlsMode;
}
export const podPolicyCodec: Codec<PodPolicy> = {
  cType: 'struct ambit_pod_policy',
  size: 4,
  fields: [{ cName: 'mode', offset: 0, size: 4, order: 'host' }],
  encode: (v, b) => void b.writeUInt32LE(v.mode === 'STRICT' ? 1 : 0, 0),
  decode: (b) => ({ mode: b.readUInt32LE(0) === 1 ? 'STRICT' : 'PERMISSIVE' }),
};

// ---- counters --------------------------------------------------------------------------------
/** Indexes of ambit_counters (AMBIT_CTR_* in ambit_types.h). */
export const COUNTER_NAMES = [
  'redirected',
  'passed',
  'recorded',
  'strictDropped',
  'permissiveCaptured',
  'redirected6',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

// ---- the maps --------------------------------------------------------------------------------
export const CONFIG_MAP: MapSpec<number, AmbitConfig> = {
  name: 'ambit_config',
  key: u32Codec,
  value: configCodec,
};
export const MESH_DST_MAP: MapSpec<MeshDstKey, MeshDstValue> = {
  name: 'ambit_mesh_dst',
  key: dstKeyCodec,
  value: dstValueCodec,
};
export const ORIG_BY_COOKIE_MAP: MapSpec<bigint, OriginalDestination> = {
  name: 'ambit_orig_by_cookie',
  key: u64Codec,
  value: origDstCodec,
};
export const ORIG_BY_TUPLE_MAP: MapSpec<TupleKey, OriginalDestination> = {
  name: 'ambit_orig_by_tuple',
  key: tupleKeyCodec,
  value: origDstCodec,
};
export const POD_POLICY_MAP: MapSpec<string, PodPolicy> = {
  name: 'ambit_pod_policy',
  key: ipv4KeyCodec,
  value: podPolicyCodec,
};
export const PROBE_SRC_MAP: MapSpec<string, number> = {
  name: 'ambit_probe_src',
  key: ipv4KeyCodec,
  value: u32Codec,
};
export const COUNTERS_MAP: MapSpec<number, bigint> = {
  name: 'ambit_counters',
  key: u32Codec,
  value: u64Codec,
};

export const MESH_DST6_MAP: MapSpec<MeshDstKey, MeshDstValue> = {
  name: 'ambit_mesh_dst6',
  key: dst6KeyCodec,
  value: dstValueCodec,
};
export const ORIG6_BY_COOKIE_MAP: MapSpec<bigint, OriginalDestination> = {
  name: 'ambit_orig6_by_cookie',
  key: u64Codec,
  value: origDst6Codec,
};
export const ORIG6_BY_TUPLE_MAP: MapSpec<TupleKey, OriginalDestination> = {
  name: 'ambit_orig6_by_tuple',
  key: tupleKeyCodec,
  value: origDst6Codec,
};

export const POD_POLICY6_MAP: MapSpec<string, PodPolicy> = {
  name: 'ambit_pod_policy6',
  key: ipv6KeyCodec,
  value: podPolicyCodec,
};
export const PROBE_SRC6_MAP: MapSpec<string, number> = {
  name: 'ambit_probe_src6',
  key: ipv6KeyCodec,
  value: u32Codec,
};

/**
 * The ztunnel's in-pod plaintext listener per local pod (SOCKHASH): key the pod IPv4, value the
 * listening socket. Written with the socket's fd (__u64); a lookup from userspace answers the
 * socket cookie instead.
 */
export const INPOD_LISTENER_MAP: MapSpec<string, bigint> = {
  name: 'ambit_inpod_listener',
  key: ipv4KeyCodec,
  value: u64Codec,
};

/** ambit_inpod_listener's IPv6 twin: key a dual-stack pod's IPv6 address, value its IPv6 listener. */
export const INPOD_LISTENER6_MAP: MapSpec<string, bigint> = {
  name: 'ambit_inpod_listener6',
  key: ipv6KeyCodec,
  value: u64Codec,
};

/**
 * Every map, its key and value types forgotten: a codec's encode() is a method (bivariant in its
 * argument) and decode() returns its type, so each MapSpec<K, V> is a MapSpec<unknown, unknown>.
 */
export const ALL_MAPS: readonly MapSpec<unknown, unknown>[] = [
  CONFIG_MAP,
  MESH_DST_MAP,
  ORIG_BY_COOKIE_MAP,
  ORIG_BY_TUPLE_MAP,
  POD_POLICY_MAP,
  PROBE_SRC_MAP,
  COUNTERS_MAP,
  INPOD_LISTENER_MAP,
  MESH_DST6_MAP,
  ORIG6_BY_COOKIE_MAP,
  ORIG6_BY_TUPLE_MAP,
  POD_POLICY6_MAP,
  PROBE_SRC6_MAP,
  INPOD_LISTENER6_MAP,
];
