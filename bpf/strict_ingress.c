// SPDX-License-Identifier: GPL-2.0
/* cgroup_skb/ingress, attached to each enrolled pod's cgroup: for pods whose peer
 * authentication mode is STRICT (IPv4 and, for dual-stack pods, IPv6), drops TCP SYNs (new plaintext connections) that do not come
 * from the node ztunnel's mesh address or a probe source (the node's own addresses, where the
 * kubelet probes from). Only SYN without ACK is dropped, so replies to the pod's own outbound
 * connections and connections opened before STRICT was set keep flowing. PERMISSIVE and
 * unknown pods pass untouched. A dropped SYN is silent: the client sees a connect timeout. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "include/ambit_maps.h"

#define AMBIT_SKB_PASS 1
#define AMBIT_SKB_DROP 0

#define AMBIT_TCP_FLAGS_OFF 13 /* byte of struct tcphdr holding FIN..CWR */
#define AMBIT_TCP_SYN 0x02
#define AMBIT_TCP_ACK 0x10

static __always_inline int ambit_source_allowed(__u32 saddr, __u32 daddr)
{
	__u32 zero = 0;
	struct ambit_config *cfg = bpf_map_lookup_elem(&ambit_config, &zero);

	if (cfg && saddr == cfg->mesh_ip)
		return 1; /* the ztunnel, which has already checked mTLS and policy */
	if (saddr == daddr || (bpf_ntohl(saddr) >> 24) == 127)
		return 1; /* the pod talking to itself */
	return bpf_map_lookup_elem(&ambit_probe_src, &saddr) != NULL;
}

static __always_inline int ambit_strict_check(struct __sk_buff *skb)
{
	struct iphdr iph;
	struct ambit_pod_policy *policy;
	__u8 flags;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return AMBIT_SKB_PASS;
	if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)))
		return AMBIT_SKB_PASS;
	if (iph.protocol != IPPROTO_TCP)
		return AMBIT_SKB_PASS;
	policy = bpf_map_lookup_elem(&ambit_pod_policy, &iph.daddr);
	if (!policy || policy->mode != AMBIT_MODE_STRICT)
		return AMBIT_SKB_PASS;
	if (ambit_source_allowed(iph.saddr, iph.daddr))
		return AMBIT_SKB_PASS;
	if (bpf_skb_load_bytes(skb, iph.ihl * 4 + AMBIT_TCP_FLAGS_OFF, &flags, 1))
		return AMBIT_SKB_PASS;
	if ((flags & AMBIT_TCP_SYN) && !(flags & AMBIT_TCP_ACK)) {
		ambit_count(AMBIT_CTR_STRICT_DROPPED);
		return AMBIT_SKB_DROP;
	}
	return AMBIT_SKB_PASS;
}

/* IPv6: the same rule for a dual-stack pod's IPv6 address (ambit_pod_policy6). The ztunnel
 * dials IPv6 pods from a node address (the mesh address is IPv4), so node addresses are the
 * allowed sources. TCP right after the fixed header only: a SYN behind extension headers passes. */
static __always_inline int ambit_strict_check6(struct __sk_buff *skb)
{
	struct ipv6hdr ip6;
	struct ambit_ip6 dst = {}, src = {};
	struct ambit_pod_policy *policy;
	__u8 flags;

	if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
		return AMBIT_SKB_PASS;
	if (ip6.nexthdr != IPPROTO_TCP)
		return AMBIT_SKB_PASS;
	__builtin_memcpy(dst.ip, ip6.daddr.in6_u.u6_addr32, 16);
	__builtin_memcpy(src.ip, ip6.saddr.in6_u.u6_addr32, 16);
	policy = bpf_map_lookup_elem(&ambit_pod_policy6, &dst);
	if (!policy || policy->mode != AMBIT_MODE_STRICT)
		return AMBIT_SKB_PASS;
	if (src.ip[0] == dst.ip[0] && src.ip[1] == dst.ip[1] && src.ip[2] == dst.ip[2] && src.ip[3] == dst.ip[3])
		return AMBIT_SKB_PASS; /* the pod talking to itself */
	if (src.ip[0] == 0 && src.ip[1] == 0 && src.ip[2] == 0 && src.ip[3] == bpf_htonl(1))
		return AMBIT_SKB_PASS; /* ::1 */
	if (bpf_map_lookup_elem(&ambit_probe_src6, &src))
		return AMBIT_SKB_PASS;
	if (bpf_skb_load_bytes(skb, sizeof(ip6) + AMBIT_TCP_FLAGS_OFF, &flags, 1))
		return AMBIT_SKB_PASS;
	if ((flags & AMBIT_TCP_SYN) && !(flags & AMBIT_TCP_ACK)) {
		ambit_count(AMBIT_CTR_STRICT_DROPPED);
		return AMBIT_SKB_DROP;
	}
	return AMBIT_SKB_PASS;
}

SEC("cgroup_skb/ingress")
int ambit_strict_ingress(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return ambit_strict_check6(skb);
	return ambit_strict_check(skb);
}

char _license[] SEC("license") = "GPL";
