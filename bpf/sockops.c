// SPDX-License-Identifier: GPL-2.0
/* sockops, attached to each enrolled pod's cgroup: when a redirected connect completes
 * (ACTIVE_ESTABLISHED), moves the original destination recorded by connect4 from the
 * cookie-keyed map to one keyed by the pod's source IP and port, which is the remote address
 * the ztunnel sees on the accepted socket: one map lookup there recovers the destination.
 * The source port is only known once the connect is under way, hence two maps. No race with
 * the ztunnel: ACTIVE_ESTABLISHED runs when the SYN-ACK is processed, before the client's ACK
 * leaves, so the record exists before the ztunnel can accept the connection. */
#include <linux/bpf.h>
#include <linux/socket.h>
#include <bpf/bpf_helpers.h>
#include "include/ambit_maps.h"

#define AMBIT_SOCKOPS_OK 1

/* A native IPv6 destination (connect6): the socket went to the IPv4-mapped mesh address, so its
 * local address is the pod's IPv4 in the last word of local_ip6. */
static __always_inline void ambit_move_orig_dst6(struct bpf_sock_ops *skops, __u64 cookie)
{
	struct ambit_orig_dst6 *orig = bpf_map_lookup_elem(&ambit_orig6_by_cookie, &cookie);
	struct ambit_tuple_key key = {};
	struct ambit_orig_dst6 value;
	__u32 ip6_last;

	if (!orig)
		return; /* not a redirected connection */
	value = *orig;
	ip6_last = skops->local_ip6[3];
	asm volatile("" : "+r"(ip6_last));
	key.src_ip = ip6_last; /* network order */
	key.src_port = skops->local_port;
	if (bpf_map_update_elem(&ambit_orig6_by_tuple, &key, &value, BPF_ANY) == 0)
		ambit_count(AMBIT_CTR_RECORDED);
	bpf_map_delete_elem(&ambit_orig6_by_cookie, &cookie);
}

static __always_inline void ambit_move_orig_dst(struct bpf_sock_ops *skops)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct ambit_orig_dst *orig = bpf_map_lookup_elem(&ambit_orig_by_cookie, &cookie);
	struct ambit_tuple_key key = {};
	struct ambit_orig_dst value;
	__u32 ip4, ip6_last;

	if (!orig) {
		ambit_move_orig_dst6(skops, cookie);
		return;
	}
	value = *orig;
	/* An IPv4-mapped IPv6 socket (connect6) keeps its IPv4 address in the last word. Both
	 * fields are loaded unconditionally and pinned in registers: left to itself clang turns the
	 * choice into a computed context offset, which the verifier rejects. */
	ip4 = skops->local_ip4;
	ip6_last = skops->local_ip6[3];
	asm volatile("" : "+r"(ip4), "+r"(ip6_last));
	key.src_ip = skops->family == AF_INET ? ip4 : ip6_last; /* network order */
	key.src_port = skops->local_port; /* host order (uapi: local_port is host order) */
	if (bpf_map_update_elem(&ambit_orig_by_tuple, &key, &value, BPF_ANY) == 0)
		ambit_count(AMBIT_CTR_RECORDED);
	bpf_map_delete_elem(&ambit_orig_by_cookie, &cookie);
}

SEC("sockops")
int ambit_sockops(struct bpf_sock_ops *skops)
{
	/* only redirected sockets have a record, and every redirected AF_INET6 socket was sent to the
	 * IPv4-mapped mesh address */
	if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB && (skops->family == AF_INET || skops->family == AF_INET6))
		ambit_move_orig_dst(skops);
	return AMBIT_SOCKOPS_OK;
}

char _license[] SEC("license") = "GPL";
