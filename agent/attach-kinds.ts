// The programs the agent attaches to every enrolled pod's cgroup, with the names each tool
// uses for them: the object file, the pin, bpftool's load type and attach type, and the attach
// type bpftool prints back in `cgroup tree`. Data only.

export type AttachKind = 'connect4' | 'connect6' | 'sockops' | 'strict_ingress';

export interface ProgramSpec {
  kind: AttachKind;
  /** bpf/build/<object> */
  object: string;
  /** bpftool `prog load ... type <loadType>` */
  loadType: string;
  /** bpftool `cgroup attach <cg> <attachType>` */
  attachType: string;
  /** attach_type as bpftool -j reports it */
  reportedAttachType: string;
}

export const PROGRAMS: readonly ProgramSpec[] = [
  {
    kind: 'connect4',
    object: 'connect4.o',
    loadType: 'cgroup/connect4',
    attachType: 'connect4',
    reportedAttachType: 'cgroup_inet4_connect',
  },
  {
    kind: 'connect6',
    object: 'connect6.o',
    loadType: 'cgroup/connect6',
    attachType: 'connect6',
    reportedAttachType: 'cgroup_inet6_connect',
  },
  {
    kind: 'sockops',
    object: 'sockops.o',
    loadType: 'sockops',
    attachType: 'sock_ops',
    reportedAttachType: 'sock_ops',
  },
  {
    kind: 'strict_ingress',
    object: 'strict_ingress.o',
    loadType: 'cgroup/skb',
    attachType: 'ingress',
    reportedAttachType: 'cgroup_inet_ingress',
  },
];

export const ATTACH_KINDS: readonly AttachKind[] = PROGRAMS.map((p) => p.kind);
