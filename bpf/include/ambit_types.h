/* Shared key/value layouts of every Ambit map. This header is the single source of truth: the
 * TypeScript codecs in core/bpf-maps/ are checked against the BTF of the compiled objects,
 * offset by offset (core/bpf-maps/btf-layout.test.ts). Types only; the maps themselves are
 * declared in ambit_maps.h. Every field names its byte order. */
#ifndef AMBIT_TYPES_H
#define AMBIT_TYPES_H

#include <linux/types.h>

/* Index 0 of the ambit_config array: what this node's programs need to know. */
struct ambit_config {
	__u32 mesh_ip;      /* network order: the node's mesh address (ztunnel capture + source) */
	__u16 capture_port; /* host order: the ztunnel's outbound capture port (15001) */
	__u16 flags;        /* host order: reserved, 0 */
};

/* Key of ambit_mesh_dst: a destination whose connects are sent to the ztunnel.
 * port 0 means every port of ip (an enrolled workload); else one service VIP:port. */
struct ambit_dst_key {
	__u32 ip;   /* network order */
	__u16 port; /* network order; 0 = any port */
	__u16 pad;  /* always 0, so the key hashes the same from C and TypeScript */
};

/* Value of ambit_mesh_dst. */
struct ambit_dst_value {
	__u32 kind; /* host order: AMBIT_DST_WORKLOAD or AMBIT_DST_SERVICE (informational) */
};

#define AMBIT_DST_WORKLOAD 1
#define AMBIT_DST_SERVICE 2

/* An original destination, as the application asked for it before the redirect. */
struct ambit_orig_dst {
	__u32 ip;   /* network order */
	__u16 port; /* network order */
	__u16 pad;  /* always 0 */
};

/* Key of ambit_orig_by_tuple: the client end of a redirected connection, which is exactly what
 * the ztunnel sees as the remote address of the accepted socket. */
struct ambit_tuple_key {
	__u32 src_ip;   /* network order: the pod's address */
	__u32 src_port; /* host order: the pod's ephemeral port */
};

/* Key of ambit_mesh_dst6: a native IPv6 mesh destination (same meaning as ambit_dst_key). */
struct ambit_dst6_key {
	__u32 ip[4]; /* network order, as in struct bpf_sock_addr user_ip6 */
	__u16 port;  /* network order; 0 = any port */
	__u16 pad;   /* always 0 */
};

/* A native IPv6 original destination (connect6 -> sockops -> ztunnel). */
struct ambit_orig_dst6 {
	__u32 ip[4]; /* network order */
	__u16 port;  /* network order */
	__u16 pad;   /* always 0 */
};

/* A bare IPv6 address (key of ambit_pod_policy6 and ambit_probe_src6). */
struct ambit_ip6 {
	__u32 ip[4]; /* network order */
};

/* Value of ambit_pod_policy, keyed by an enrolled local pod's IPv4 (__u32, network order). */
struct ambit_pod_policy {
	__u32 mode; /* host order: AMBIT_MODE_PERMISSIVE or AMBIT_MODE_STRICT */
};

#define AMBIT_MODE_PERMISSIVE 0
#define AMBIT_MODE_STRICT 1

/* Indexes of the ambit_counters array (values __u64, host order). */
#define AMBIT_CTR_REDIRECTED 0    /* connects rewritten to the ztunnel */
#define AMBIT_CTR_PASSED 1        /* connects left alone (not a mesh destination) */
#define AMBIT_CTR_RECORDED 2      /* original destinations moved to the tuple map */
#define AMBIT_CTR_STRICT_DROPPED 3 /* plaintext SYNs dropped for STRICT pods */
#define AMBIT_CTR_PERMISSIVE_CAPTURED 4 /* plaintext connections steered into an in-pod listener */
#define AMBIT_CTR_REDIRECTED6 5    /* native IPv6 connects rewritten to the ztunnel */
#define AMBIT_CTR_MAX 8            /* room for later counters without resizing the pinned map */

#endif
