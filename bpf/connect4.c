// SPDX-License-Identifier: GPL-2.0
/* cgroup/connect4, attached to each enrolled pod's cgroup v2 directory: sends TCP connects to
 * mesh destinations to the node ztunnel's capture listener (mesh address:15001) and remembers
 * where the application really wanted to go, keyed by socket cookie, for sockops to pick up.
 * It never touches loopback, the mesh address itself, UDP, or destinations the agent did not
 * list; the ztunnel's own sockets are not in any pod cgroup, so they never reach this program. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "include/ambit_maps.h"

#define AMBIT_CONNECT_ALLOW 1 /* cgroup sock_addr programs must return 1 to let connect() proceed */

static __always_inline int ambit_is_mesh_dst(__u32 ip, __u16 port)
{
	struct ambit_dst_key key = { .ip = ip, .port = port, .pad = 0 };

	if (bpf_map_lookup_elem(&ambit_mesh_dst, &key))
		return 1;
	key.port = 0; /* an enrolled workload: every port */
	return bpf_map_lookup_elem(&ambit_mesh_dst, &key) != NULL;
}

static __always_inline int ambit_redirect4(struct bpf_sock_addr *ctx)
{
	__u32 zero = 0;
	struct ambit_config *cfg;
	struct ambit_orig_dst orig = {};
	__u32 dst_ip = ctx->user_ip4;
	__u16 dst_port = (__u16)ctx->user_port; /* network order in the low 16 bits */
	__u64 cookie;

	if (ctx->protocol != IPPROTO_TCP)
		return AMBIT_CONNECT_ALLOW;
	cfg = bpf_map_lookup_elem(&ambit_config, &zero);
	if (!cfg || cfg->mesh_ip == 0) /* agent has not configured this node yet */
		return AMBIT_CONNECT_ALLOW;
	/* loopback stays inside the pod; the mesh address is already the ztunnel */
	if ((bpf_ntohl(dst_ip) >> 24) == 127 || dst_ip == cfg->mesh_ip)
		return AMBIT_CONNECT_ALLOW;
	if (!ambit_is_mesh_dst(dst_ip, dst_port)) {
		ambit_count(AMBIT_CTR_PASSED);
		return AMBIT_CONNECT_ALLOW;
	}

	orig.ip = dst_ip;
	orig.port = dst_port;
	cookie = bpf_get_socket_cookie(ctx);
	/* Without the record the ztunnel could not tell where to go: leave the connect alone
	 * rather than redirect it blind. */
	if (bpf_map_update_elem(&ambit_orig_by_cookie, &cookie, &orig, BPF_ANY))
		return AMBIT_CONNECT_ALLOW;

	ctx->user_ip4 = cfg->mesh_ip;
	ctx->user_port = bpf_htons(cfg->capture_port);
	ambit_count(AMBIT_CTR_REDIRECTED);
	return AMBIT_CONNECT_ALLOW;
}

SEC("cgroup/connect4")
int ambit_connect4(struct bpf_sock_addr *ctx)
{
	return ambit_redirect4(ctx);
}

char _license[] SEC("license") = "GPL";
