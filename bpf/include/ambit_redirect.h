/* The redirect decision shared by connect4 and connect6 (IPv4-mapped destinations): is this
 * TCP connect to a mesh destination, and if so record the original destination under the socket
 * cookie. The callers only differ in where they read and write the address. */
#ifndef AMBIT_REDIRECT_H
#define AMBIT_REDIRECT_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ambit_maps.h"

#define AMBIT_CONNECT_ALLOW 1 /* cgroup sock_addr programs must return 1 to let connect() proceed */

static __always_inline int ambit_is_mesh_dst(__u32 ip, __u16 port)
{
	struct ambit_dst_key key = { .ip = ip, .port = port, .pad = 0 };

	if (bpf_map_lookup_elem(&ambit_mesh_dst, &key))
		return 1;
	key.port = 0; /* an enrolled workload: every port */
	return bpf_map_lookup_elem(&ambit_mesh_dst, &key) != NULL;
}

/* Returns the node config when the connect must go to the ztunnel (the original destination is
 * then recorded), NULL to leave it alone. dst_ip and dst_port in network order. */
static __always_inline struct ambit_config *ambit_redirect_decision(struct bpf_sock_addr *ctx, __u32 dst_ip,
								     __u16 dst_port)
{
	__u32 zero = 0;
	struct ambit_config *cfg;
	struct ambit_orig_dst orig = {};
	__u64 cookie;

	if (ctx->protocol != IPPROTO_TCP)
		return NULL;
	cfg = bpf_map_lookup_elem(&ambit_config, &zero);
	if (!cfg || cfg->mesh_ip == 0) /* agent has not configured this node yet */
		return NULL;
	/* loopback stays inside the pod; the mesh address is already the ztunnel */
	if ((bpf_ntohl(dst_ip) >> 24) == 127 || dst_ip == cfg->mesh_ip)
		return NULL;
	if (!ambit_is_mesh_dst(dst_ip, dst_port)) {
		ambit_count(AMBIT_CTR_PASSED);
		return NULL;
	}
	orig.ip = dst_ip;
	orig.port = dst_port;
	cookie = bpf_get_socket_cookie(ctx);
	/* Without the record the ztunnel could not tell where to go: leave the connect alone
	 * rather than redirect it blind. */
	if (bpf_map_update_elem(&ambit_orig_by_cookie, &cookie, &orig, BPF_ANY))
		return NULL;
	ambit_count(AMBIT_CTR_REDIRECTED);
	return cfg;
}

#endif
