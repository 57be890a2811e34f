// SPDX-License-Identifier: GPL-2.0
/* cgroup/connect4, attached to each enrolled pod's cgroup v2 directory: sends TCP connects to
 * mesh destinations to the node ztunnel's capture listener (mesh address:15001) and remembers
 * where the application really wanted to go, keyed by socket cookie, for sockops to pick up.
 * It never touches loopback, the mesh address itself, UDP, or destinations the agent did not
 * list; the ztunnel's own sockets are not in any pod cgroup, so they never reach this program. */
#include "include/ambit_redirect.h"

SEC("cgroup/connect4")
int ambit_connect4(struct bpf_sock_addr *ctx)
{
	/* user_port: network order in the low 16 bits */
	struct ambit_config *cfg = ambit_redirect_decision(ctx, ctx->user_ip4, (__u16)ctx->user_port);

	if (cfg) {
		ctx->user_ip4 = cfg->mesh_ip;
		ctx->user_port = bpf_htons(cfg->capture_port);
	}
	return AMBIT_CONNECT_ALLOW;
}

char _license[] SEC("license") = "GPL";
