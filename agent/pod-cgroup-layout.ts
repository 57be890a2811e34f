// Where the kubelet puts a pod's cgroup on cgroup v2, from the pod UID, its QoS class and the
// kubelet's cgroup driver, computed the way the kubelet names it (pkg/kubelet/cm: the cgroup name
// [...root, "kubepods", qos?, "pod<uid>"], turned into nested systemd slices or plain directories).
// Pure: no file system. Container runtimes nest their container cgroups below this directory
// (cri-containerd-<id>.scope, crio-<id>.scope, crio-conmon-<id>.scope, or <id> dirs); the agent
// attaches to this pod directory and never to one of those.
import type { QosClass } from '../core/model/mesh.js';

export type { QosClass };
export type CgroupDriver = 'systemd' | 'cgroupfs';

export const QOS_CLASSES: readonly QosClass[] = ['Guaranteed', 'Burstable', 'BestEffort'];
export const CGROUP_DRIVERS: readonly CgroupDriver[] = ['systemd', 'cgroupfs'];

/**
 * The kubelet's --cgroup-root as name components: [] for the default `/`, ['kubelet'] for kind
 * and other nested setups (`kubelet.slice/kubelet-kubepods.slice/...` or `kubelet/kubepods/...`).
 */
export type KubeletCgroupRoot = readonly string[];
export const KUBELET_CGROUP_ROOTS: readonly KubeletCgroupRoot[] = [[], ['kubelet']];

/** An API pod UID (UUID) or a static pod's config hash (32 hex digits), nothing else. */
export function isPodUid(uid: string): boolean {
  return (
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uid) || /^[0-9a-f]{32}$/i.test(uid)
  );
}

/** The cgroup name components the kubelet gives a pod (cm.CgroupName). */
function cgroupName(root: KubeletCgroupRoot, uid: string, qos: QosClass): string[] {
  const qosPart = qos === 'Guaranteed' ? [] : [qos.toLowerCase()];
  return [...root, 'kubepods', ...qosPart, `pod${uid}`];
}

/** The kubelet's CgroupName.ToSystemd(): components escaped ('-' -> '_'), expanded into nested slices. */
function toSystemd(name: readonly string[]): string {
  const parts = name.map((p) => p.replace(/-/g, '_'));
  return parts.map((_, i) => `${parts.slice(0, i + 1).join('-')}.slice`).join('/');
}

/** The kubelet's CgroupName.ToCgroupfs(): the components as nested directories. */
function toCgroupfs(name: readonly string[]): string {
  return name.join('/');
}

/** The pod's cgroup directory relative to the cgroup v2 root; undefined for a UID that is not one. */
export function podCgroupRelPath(
  uid: string,
  qos: QosClass,
  driver: CgroupDriver,
  root: KubeletCgroupRoot = [],
): string | undefined {
  if (!isPodUid(uid)) return undefined;
  const name = cgroupName(root, uid, qos);
  return driver === 'systemd' ? toSystemd(name) : toCgroupfs(name);
}

/** The directory holding every pod cgroup for a driver and kubelet root (`kubepods.slice`, `kubepods`, ...). */
export function kubepodsRelPath(driver: CgroupDriver, root: KubeletCgroupRoot = []): string {
  const name = [...root, 'kubepods'];
  return driver === 'systemd' ? toSystemd(name) : toCgroupfs(name);
}

export interface PodCgroupQuery {
  uid: string;
  /** status.qosClass when known: one path per layout instead of three. */
  qos?: QosClass | undefined;
  /** The driver detected from the layout; both when unknown. */
  driver?: CgroupDriver | undefined;
  /** The kubelet cgroup root detected from the layout; every known one when unknown. */
  root?: KubeletCgroupRoot | undefined;
}

/**
 * Every place the pod's cgroup can be for what is known, most likely first (default root,
 * systemd, then the QoS classes by how common they are). With QoS, driver and root known: one.
 */
export function podCgroupCandidates(q: PodCgroupQuery): string[] {
  if (!isPodUid(q.uid)) return [];
  const roots = q.root ? [q.root] : KUBELET_CGROUP_ROOTS;
  const drivers = q.driver ? [q.driver] : CGROUP_DRIVERS;
  const classes: readonly QosClass[] = q.qos ? [q.qos] : ['Burstable', 'BestEffort', 'Guaranteed'];
  const out: string[] = [];
  for (const root of roots)
    for (const driver of drivers)
      for (const qos of classes) {
        const p = podCgroupRelPath(q.uid, qos, driver, root);
        if (p !== undefined) out.push(p);
      }
  return out;
}
