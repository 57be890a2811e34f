/* Every Ambit map, declared once and included by each program so all objects agree on them.
 * The agent loads the first object with `pinmaps` and hands the pinned maps to the others
 * (bpftool `map name X pinned PATH`), so one node has exactly one instance of each map under
 * /sys/fs/bpf/ambit/<node>/maps/. Sizes bound the kernel memory one node can use. */
#ifndef AMBIT_MAPS_H
#define AMBIT_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ambit_types.h"

/* Address families as the sockops and sk_lookup contexts report them (the BPF target has no
 * libc headers to take them from). */
#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* Node settings written by the agent (index 0). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ambit_config);
} ambit_config SEC(".maps");

/* Mesh destinations: enrolled workload IPs (port 0) and service VIP:ports. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ambit_dst_key);
	__type(value, struct ambit_dst_value);
} ambit_mesh_dst SEC(".maps");

/* connect4 -> sockops hand-off, keyed by socket cookie. LRU: a connect that never
 * establishes leaves an entry that ages out instead of filling the map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct ambit_orig_dst);
} ambit_orig_by_cookie SEC(".maps");

/* sockops -> ztunnel: the original destination keyed by what the ztunnel sees. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ambit_tuple_key);
	__type(value, struct ambit_orig_dst);
} ambit_orig_by_tuple SEC(".maps");

/* Enrolled local pods and their peer-authentication mode, keyed by pod IPv4 (network order). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct ambit_pod_policy);
} ambit_pod_policy SEC(".maps");

/* Sources STRICT pods accept plaintext from besides the mesh address: the node's own
 * addresses (kubelet probes). Key IPv4 network order, value unused (1). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} ambit_probe_src SEC(".maps");

/* The ztunnel's in-pod plaintext listener (15006 role) of each local pod, keyed by the pod's IPv4
 * (network order); the value is the socket (userspace writes the listening fd as a __u64). Read
 * by sk_lookup, which may only pick a socket of the pod's own network namespace. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} ambit_inpod_listener SEC(".maps");

/* The same listeners' IPv6 twins (AF_INET6, bound to ::1 in the pod), keyed by the pod's IPv6
 * address: an IPv6 lookup can only be given an IPv6 socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 16384);
	__type(key, struct ambit_ip6);
	__type(value, __u64);
} ambit_inpod_listener6 SEC(".maps");

/* Native IPv6 mesh destinations (pod IPv6 addresses with port 0, Service IPv6 ClusterIP:ports). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ambit_dst6_key);
	__type(value, struct ambit_dst_value);
} ambit_mesh_dst6 SEC(".maps");

/* connect6 -> sockops hand-off of native IPv6 original destinations, keyed by socket cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct ambit_orig_dst6);
} ambit_orig6_by_cookie SEC(".maps");

/* sockops -> ztunnel for native IPv6 destinations. The redirected socket reaches the ztunnel's
 * IPv4 listener through the IPv4-mapped mesh address, so the key is the pod's IPv4 source. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ambit_tuple_key);
	__type(value, struct ambit_orig_dst6);
} ambit_orig6_by_tuple SEC(".maps");

/* The IPv6 addresses of enrolled local pods and their mode (STRICT drop of IPv6 plaintext). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ambit_ip6);
	__type(value, struct ambit_pod_policy);
} ambit_pod_policy6 SEC(".maps");

/* The node's own IPv6 addresses: probe sources, and where the ztunnel dials IPv6 pods from. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct ambit_ip6);
	__type(value, __u32);
} ambit_probe_src6 SEC(".maps");

/* Event counters for `ambit bpf` and tests; shared by all CPUs, updated atomically. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AMBIT_CTR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ambit_counters SEC(".maps");

static __always_inline void ambit_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&ambit_counters, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

#endif
