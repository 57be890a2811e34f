// The agent's decider: from the mesh state, this node's name and what is pinned and attached in
// the kernel now, compute the plan that makes the kernel match (attach/detach per pod cgroup,
// map puts/deletes). Two steps: the desired kernel state (what the restore cache keeps), then its
// diff against the kernel. Pure and idempotent: a plan computed against its own result is empty,
// which is what makes an agent restart attach nothing twice. The plumbing in plan-executor.ts
// carries it out; nothing here touches the kernel.
import { effectiveMtlsMode } from '../core/model/peer-authentication-mode.js';
import type { MeshState, Workload } from '../core/model/mesh.js';
import type { AmbitConfig, KernelMtlsMode, MeshDstKind } from '../core/bpf-maps/map-codecs.js';
import { CAPTURE_PORT } from '../core/bpf-maps/mesh-address.js';
import { isIpv4 } from '../core/bpf-maps/ipv4.js';
import { canonicalIpv6, isIpv6 } from '../core/bpf-maps/ipv6.js';

/** A mesh destination address the kernel can hold: IPv4 as is, IPv6 canonical (ambit_mesh_dst6). */
function meshDstIp(ip: string): string | undefined {
  if (isIpv4(ip)) return ip;
  return isIpv6(ip) ? canonicalIpv6(ip) : undefined;
}
import { ATTACH_KINDS, type AttachKind } from './attach-kinds.js';
import { resolveCgroupPath } from './cgroup-path.js';

/** What the kernel holds for this node now (read from pins, maps and `bpftool cgroup tree`). */
export interface NodeKernelState {
  /** absolute cgroup path -> our programs attached there */
  attachments: ReadonlyMap<string, ReadonlySet<AttachKind>>;
  config?: AmbitConfig | undefined;
  /** `${ip}:${port}` -> kind */
  meshDst: ReadonlyMap<string, MeshDstKind>;
  /** pod ip -> mode */
  podPolicy: ReadonlyMap<string, KernelMtlsMode>;
  probeSources: ReadonlySet<string>;
}

export interface ReconcileInput {
  state: MeshState;
  node: string;
  meshAddress: string;
  /** This node's own addresses: kubelet probes come from them (STRICT lets them through). */
  nodeAddresses: readonly string[];
  /** Mount point of cgroup v2, to resolve relative cgroup paths. */
  cgroupRoot: string;
  /** Pod UID -> cgroup found on disk (kubelet layout) for pods without a cgroupPath. */
  discoveredCgroups?: ReadonlyMap<string, string>;
  current: NodeKernelState;
}

export interface CgroupAttachment {
  cgroup: string;
  kind: AttachKind;
  /** <namespace>/<name> of the pod, for logs ('' when only the kernel knows it). */
  pod: string;
}

export interface MapChanges<K, V> {
  put: [K, V][];
  delete: K[];
}

export interface ReconcilePlan {
  /** Maps are filled before attaching, and emptied after detaching. */
  config?: AmbitConfig | undefined;
  meshDst: MapChanges<{ ip: string; port: number }, MeshDstKind>;
  podPolicy: MapChanges<string, KernelMtlsMode>;
  probeSources: MapChanges<string, true>;
  attach: CgroupAttachment[];
  detach: CgroupAttachment[];
  /** Local enrolled pods that cannot be captured, with why. */
  skipped: { pod: string; reason: string }[];
  /** Local pods enrolled after the plan runs, `<ns>/<name>`. */
  enrolledPods: string[];
}

export function isPlanEmpty(plan: ReconcilePlan): boolean {
  return (
    plan.config === undefined &&
    plan.attach.length === 0 &&
    plan.detach.length === 0 &&
    [plan.meshDst, plan.podPolicy, plan.probeSources].every(
      (c) => c.put.length === 0 && c.delete.length === 0,
    )
  );
}

const podName = (w: Workload): string => `${w.namespace}/${w.name}`;

export function dstId(ip: string, port: number): string {
  return `${ip}:${port}`;
}

function diffMap<V>(
  desired: ReadonlyMap<string, V>,
  current: ReadonlyMap<string, V>,
): { put: [string, V][]; delete: string[] } {
  const put: [string, V][] = [];
  for (const [k, v] of desired) if (current.get(k) !== v) put.push([k, v]);
  const del = [...current.keys()].filter((k) => !desired.has(k));
  return { put, delete: del };
}

/** The mode the kernel enforces for a pod: only STRICT drops; DISABLE and PERMISSIVE pass plaintext. */
export function kernelModeFor(state: MeshState, w: Workload): KernelMtlsMode {
  return effectiveMtlsMode(state.peerAuthentications, w) === 'STRICT' ? 'STRICT' : 'PERMISSIVE';
}

/**
 * What the kernel should hold for this node's pods, apart from what the node itself gives (mesh
 * address, node addresses). It is what the agent last enrolled: the restore cache
 * (restore-cache.ts) stores exactly this, so a rebooted node gets its capture back from it
 * before the controller answers.
 */
export interface DesiredKernelState {
  /** absolute pod cgroup -> `<ns>/<name>` */
  attachments: ReadonlyMap<string, string>;
  /** `${ip}:${port}` -> kind */
  meshDst: ReadonlyMap<string, MeshDstKind>;
  /** pod ip -> mode */
  podPolicy: ReadonlyMap<string, KernelMtlsMode>;
}

export interface DesiredFromState {
  desired: DesiredKernelState;
  skipped: ReconcilePlan['skipped'];
}

/** What the mesh state asks of this node's kernel (pure; see reconcile()). */
export function desiredKernelState(input: Omit<ReconcileInput, 'current'>): DesiredFromState {
  const { state, node } = input;
  const skipped: ReconcilePlan['skipped'] = [];

  // Mesh destinations: every enrolled workload IP (any port) and every service VIP:port. An agent's
  // view (core/discovery/view-for.ts) holds its own node's workloads and the others' IPs as
  // meshDestinations; a whole state (--state-file) holds every workload and no meshDestinations.
  const meshDst = new Map<string, MeshDstKind>();
  for (const w of state.workloads) {
    if (!w.enrolled) continue;
    for (const raw of w.ips) {
      const ip = meshDstIp(raw);
      if (ip) meshDst.set(dstId(ip, 0), 'workload');
    }
  }
  for (const d of state.meshDestinations)
    for (const raw of d.ips) {
      const ip = meshDstIp(raw);
      if (ip) meshDst.set(dstId(ip, 0), 'workload');
    }
  for (const s of state.services) {
    for (const raw of s.vips) {
      const vip = meshDstIp(raw);
      if (!vip) continue;
      for (const p of s.ports) if (p.protocol === 'TCP') meshDst.set(dstId(vip, p.port), 'service');
    }
  }

  // Local enrolled pods: their cgroups get our programs, their IPs a policy entry.
  const attachments = new Map<string, string>(); // cgroup -> pod
  const podPolicy = new Map<string, KernelMtlsMode>();
  for (const w of state.workloads) {
    if (w.node !== node || !w.enrolled) continue;
    const cgroupPath = w.cgroupPath ?? input.discoveredCgroups?.get(w.uid);
    if (!cgroupPath) {
      skipped.push({
        pod: podName(w),
        reason:
          'no cgroup path (annotation ambit.dev/cgroup-path) and no kubelet pod cgroup for its UID' +
          (w.qosClass ? ` and QoS class ${w.qosClass}` : ' (QoS class unknown: probed every class)'),
      });
      continue;
    }
    let cgroup: string;
    try {
      cgroup = resolveCgroupPath(cgroupPath, input.cgroupRoot);
    } catch (err) {
      skipped.push({ pod: podName(w), reason: (err as Error).message });
      continue;
    }
    attachments.set(cgroup, podName(w));
    const mode = kernelModeFor(state, w);
    for (const raw of w.ips) {
      const ip = meshDstIp(raw);
      if (ip) podPolicy.set(ip, mode);
    }
  }
  return { desired: { attachments, meshDst, podPolicy }, skipped };
}

/** What the node itself contributes: the mesh address (config) and its own addresses (probes). */
export interface NodeFacts {
  meshAddress: string;
  nodeAddresses: readonly string[];
}

/** The plan that takes the kernel from `current` to `desired` (pure, idempotent). */
export function planFor(
  desired: DesiredKernelState,
  facts: NodeFacts,
  current: NodeKernelState,
  skipped: ReconcilePlan['skipped'] = [],
): ReconcilePlan {
  const probe = new Map<string, true>();
  for (const raw of facts.nodeAddresses) {
    const a = meshDstIp(raw);
    if (a && a !== facts.meshAddress) probe.set(a, true);
  }
  const currentProbe = new Map<string, true>([...current.probeSources].map((a) => [a, true]));

  const attach: CgroupAttachment[] = [];
  for (const [cgroup, pod] of desired.attachments) {
    const have = current.attachments.get(cgroup);
    for (const kind of ATTACH_KINDS) if (!have?.has(kind)) attach.push({ cgroup, kind, pod });
  }
  const detach: CgroupAttachment[] = [];
  for (const [cgroup, kinds] of current.attachments) {
    if (desired.attachments.has(cgroup)) continue;
    for (const kind of kinds) detach.push({ cgroup, kind, pod: '' });
  }

  const config: AmbitConfig = { meshIp: facts.meshAddress, capturePort: CAPTURE_PORT };
  const configChanged =
    current.config?.meshIp !== config.meshIp || current.config?.capturePort !== config.capturePort;

  const dst = diffMap(desired.meshDst, current.meshDst);
  return {
    config: configChanged ? config : undefined,
    meshDst: { put: dst.put.map(([k, v]) => [parseDstId(k), v]), delete: dst.delete.map(parseDstId) },
    podPolicy: diffMap(desired.podPolicy, current.podPolicy),
    probeSources: diffMap(probe, currentProbe),
    attach,
    detach,
    skipped,
    enrolledPods: [...desired.attachments.values()].sort(),
  };
}

export function parseDstId(id: string): { ip: string; port: number } {
  const i = id.lastIndexOf(':');
  return { ip: id.slice(0, i), port: Number(id.slice(i + 1)) };
}

export function reconcile(input: ReconcileInput): ReconcilePlan {
  const { desired, skipped } = desiredKernelState(input);
  return planFor(desired, input, input.current, skipped);
}
