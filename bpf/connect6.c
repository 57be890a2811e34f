// SPDX-License-Identifier: GPL-2.0
/* cgroup/connect6, attached next to connect4: a dual-stack (AF_INET6) socket reaching an IPv4
 * destination connects to ::ffff:a.b.c.d and never passes connect4 (Java and many runtimes
 * open such sockets by default), so without this program those apps would bypass the mesh.
 * Only IPv4-mapped destinations are handled; the mesh is IPv4-only for now, native IPv6
 * destinations pass untouched. */
#include "include/ambit_redirect.h"

static __always_inline int ambit_is_v4_mapped(struct bpf_sock_addr *ctx)
{
	return ctx->user_ip6[0] == 0 && ctx->user_ip6[1] == 0 && ctx->user_ip6[2] == bpf_htonl(0x0000ffff);
}

SEC("cgroup/connect6")
int ambit_connect6(struct bpf_sock_addr *ctx)
{
	struct ambit_config *cfg;

	if (!ambit_is_v4_mapped(ctx))
		return AMBIT_CONNECT_ALLOW;
	cfg = ambit_redirect_decision(ctx, ctx->user_ip6[3], (__u16)ctx->user_port);
	if (cfg) {
		ctx->user_ip6[3] = cfg->mesh_ip;
		ctx->user_port = bpf_htons(cfg->capture_port);
	}
	return AMBIT_CONNECT_ALLOW;
}

char _license[] SEC("license") = "GPL";
