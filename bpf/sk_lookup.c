// SPDX-License-Identifier: GPL-2.0
/* sk_lookup, attached to each PERMISSIVE-capable enrolled pod's network namespace (a bpf_link on
 * the netns fd, held by the node ztunnel): steers new plaintext TCP connections to the pod into
 * the ztunnel's in-pod 15006 listener, so L4 authorization and telemetry apply to them (DESIGN
 * §5). An sk_lookup program can only pick a socket of its own netns, so the ztunnel makes one
 * listening socket inside each pod's netns and puts it in ambit_inpod_listener under the pod's
 * IPv4 address; the accepted socket's local address is then the original destination.
 * Never steered: pods not PERMISSIVE in ambit_pod_policy (STRICT is dropped by strict_ingress),
 * the mesh address (the ztunnel's own forwarded connections), probe sources (the node's own
 * addresses: kubelet probes), loopback and the pod talking to itself. No listener in the map (the
 * ztunnel is not up yet) means the connection reaches the pod as before: fail open, documented. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "include/ambit_maps.h"

static __always_inline int ambit_steer_source(__u32 saddr, __u32 daddr)
{
	__u32 zero = 0;
	struct ambit_config *cfg = bpf_map_lookup_elem(&ambit_config, &zero);

	if (!cfg || cfg->mesh_ip == 0 || saddr == cfg->mesh_ip)
		return 0; /* not configured, or the ztunnel itself */
	if (saddr == daddr || (bpf_ntohl(saddr) >> 24) == 127)
		return 0; /* the pod talking to itself */
	return bpf_map_lookup_elem(&ambit_probe_src, &saddr) == NULL; /* kubelet probes pass */
}

/* A dual-stack pod's IPv6 address: the same rule with the IPv6 maps (node IPv6 addresses are the
 * probe sources and where the ztunnel dials IPv6 pods from). */
static __always_inline int ambit_sk_lookup6(struct bpf_sk_lookup *ctx)
{
	struct ambit_ip6 dst = {}, src = {};
	struct ambit_pod_policy *policy;
	struct bpf_sock *sk;
	long err;

	dst.ip[0] = ctx->local_ip6[0];
	dst.ip[1] = ctx->local_ip6[1];
	dst.ip[2] = ctx->local_ip6[2];
	dst.ip[3] = ctx->local_ip6[3];
	src.ip[0] = ctx->remote_ip6[0];
	src.ip[1] = ctx->remote_ip6[1];
	src.ip[2] = ctx->remote_ip6[2];
	src.ip[3] = ctx->remote_ip6[3];
	policy = bpf_map_lookup_elem(&ambit_pod_policy6, &dst);
	if (!policy || policy->mode != AMBIT_MODE_PERMISSIVE)
		return SK_PASS;
	if (src.ip[0] == dst.ip[0] && src.ip[1] == dst.ip[1] && src.ip[2] == dst.ip[2] && src.ip[3] == dst.ip[3])
		return SK_PASS;
	if (src.ip[0] == 0 && src.ip[1] == 0 && src.ip[2] == 0 && src.ip[3] == bpf_htonl(1))
		return SK_PASS;
	if (bpf_map_lookup_elem(&ambit_probe_src6, &src))
		return SK_PASS;
	sk = bpf_map_lookup_elem(&ambit_inpod_listener6, &dst);
	if (!sk)
		return SK_PASS;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err == 0)
		ambit_count(AMBIT_CTR_PERMISSIVE_CAPTURED);
	return SK_PASS;
}

SEC("sk_lookup")
int ambit_sk_lookup(struct bpf_sk_lookup *ctx)
{
	struct ambit_pod_policy *policy;
	struct bpf_sock *sk;
	__u32 daddr = ctx->local_ip4;
	long err;

	if (ctx->protocol != IPPROTO_TCP)
		return SK_PASS;
	if (ctx->family == AF_INET6)
		return ambit_sk_lookup6(ctx);
	if (ctx->family != AF_INET)
		return SK_PASS;
	policy = bpf_map_lookup_elem(&ambit_pod_policy, &daddr);
	if (!policy || policy->mode != AMBIT_MODE_PERMISSIVE)
		return SK_PASS;
	if (!ambit_steer_source(ctx->remote_ip4, daddr))
		return SK_PASS;
	sk = bpf_map_lookup_elem(&ambit_inpod_listener, &daddr);
	if (!sk)
		return SK_PASS; /* no ztunnel listener in this pod yet */
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err == 0)
		ambit_count(AMBIT_CTR_PERMISSIVE_CAPTURED);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
