// SPDX-License-Identifier: GPL-2.0
/* cgroup/connect6, attached next to connect4. Two cases:
 * - a dual-stack (AF_INET6) socket reaching an IPv4 destination connects to ::ffff:a.b.c.d and
 *   never passes connect4 (Java and many runtimes open such sockets by default): the IPv4 decision
 *   of ambit_redirect.h applies;
 * - a native IPv6 destination listed in ambit_mesh_dst6 (a pod's IPv6 address, any port, or a
 *   Service IPv6 ClusterIP:port): the connect goes to the IPv4-mapped mesh address
 *   ::ffff:<mesh ip>:15001 (the ztunnel listens on IPv4 only) and the original destination is
 *   recorded in ambit_orig6_by_cookie. This needs a socket that is not IPV6_V6ONLY and a pod with
 *   an IPv4 address (the source the kernel then picks); an IPv6-only pod is left alone.
 * Loopback (::1), link-local and destinations not in the map pass untouched. */
#include "include/ambit_redirect.h"

static __always_inline int ambit_is_v4_mapped(struct bpf_sock_addr *ctx)
{
	return ctx->user_ip6[0] == 0 && ctx->user_ip6[1] == 0 && ctx->user_ip6[2] == bpf_htonl(0x0000ffff);
}

static __always_inline int ambit_native6(struct bpf_sock_addr *ctx)
{
	__u32 zero = 0;
	struct ambit_config *cfg;
	struct ambit_dst6_key key = {};
	struct ambit_orig_dst6 orig = {};
	__u64 cookie;

	if (ctx->protocol != IPPROTO_TCP)
		return AMBIT_CONNECT_ALLOW;
	cfg = bpf_map_lookup_elem(&ambit_config, &zero);
	if (!cfg || cfg->mesh_ip == 0)
		return AMBIT_CONNECT_ALLOW;
	key.ip[0] = ctx->user_ip6[0];
	key.ip[1] = ctx->user_ip6[1];
	key.ip[2] = ctx->user_ip6[2];
	key.ip[3] = ctx->user_ip6[3];
	key.port = (__u16)ctx->user_port;
	if (!bpf_map_lookup_elem(&ambit_mesh_dst6, &key)) {
		key.port = 0; /* an enrolled workload: every port */
		if (!bpf_map_lookup_elem(&ambit_mesh_dst6, &key)) {
			ambit_count(AMBIT_CTR_PASSED);
			return AMBIT_CONNECT_ALLOW;
		}
	}
	orig.ip[0] = ctx->user_ip6[0];
	orig.ip[1] = ctx->user_ip6[1];
	orig.ip[2] = ctx->user_ip6[2];
	orig.ip[3] = ctx->user_ip6[3];
	orig.port = (__u16)ctx->user_port;
	cookie = bpf_get_socket_cookie(ctx);
	if (bpf_map_update_elem(&ambit_orig6_by_cookie, &cookie, &orig, BPF_ANY))
		return AMBIT_CONNECT_ALLOW; /* no record, no redirect */
	ctx->user_ip6[0] = 0;
	ctx->user_ip6[1] = 0;
	ctx->user_ip6[2] = bpf_htonl(0x0000ffff);
	ctx->user_ip6[3] = cfg->mesh_ip;
	ctx->user_port = bpf_htons(cfg->capture_port);
	ambit_count(AMBIT_CTR_REDIRECTED6);
	return AMBIT_CONNECT_ALLOW;
}

SEC("cgroup/connect6")
int ambit_connect6(struct bpf_sock_addr *ctx)
{
	struct ambit_config *cfg;

	if (!ambit_is_v4_mapped(ctx))
		return ambit_native6(ctx);
	cfg = ambit_redirect_decision(ctx, ctx->user_ip6[3], (__u16)ctx->user_port);
	if (cfg) {
		ctx->user_ip6[3] = cfg->mesh_ip;
		ctx->user_port = bpf_htons(cfg->capture_port);
	}
	return AMBIT_CONNECT_ALLOW;
}

char _license[] SEC("license") = "GPL";
