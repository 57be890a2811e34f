// SPDX-License-Identifier: GPL-2.0
/* sockops, attached to each enrolled pod's cgroup: when a redirected connect completes
 * (ACTIVE_ESTABLISHED), moves the original destination recorded by connect4 from the
 * cookie-keyed map to one keyed by the pod's source IP and port, which is the remote address
 * the ztunnel sees on the accepted socket: one map lookup there recovers the destination.
 * The source port is only known once the connect is under way, hence two maps. */
#include <linux/bpf.h>
#include <linux/socket.h>
#include <bpf/bpf_helpers.h>
#include "include/ambit_maps.h"

#define AMBIT_SOCKOPS_OK 1

#ifndef AF_INET
#define AF_INET 2
#endif

static __always_inline void ambit_move_orig_dst(struct bpf_sock_ops *skops)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct ambit_orig_dst *orig = bpf_map_lookup_elem(&ambit_orig_by_cookie, &cookie);
	struct ambit_tuple_key key = {};
	struct ambit_orig_dst value;

	if (!orig)
		return; /* not a redirected connection */
	value = *orig;
	key.src_ip = skops->local_ip4;     /* network order */
	key.src_port = skops->local_port; /* host order (uapi: local_port is host order) */
	if (bpf_map_update_elem(&ambit_orig_by_tuple, &key, &value, BPF_ANY) == 0)
		ambit_count(AMBIT_CTR_RECORDED);
	bpf_map_delete_elem(&ambit_orig_by_cookie, &cookie);
}

SEC("sockops")
int ambit_sockops(struct bpf_sock_ops *skops)
{
	if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB && skops->family == AF_INET)
		ambit_move_orig_dst(skops);
	return AMBIT_SOCKOPS_OK;
}

char _license[] SEC("license") = "GPL";
