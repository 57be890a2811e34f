// Finds a pod's cgroup directory on this node's cgroup v2 tree: detects the kubelet's cgroup
// driver and root from what exists (`kubepods.slice` is systemd, `kubepods` is cgroupfs; kind
// nests them under `kubelet.slice` / `kubelet`), then goes straight to the one path the pod's QoS
// class gives, or probes the three classes when the QoS class is not known. Only ever returns a
// path computed from the pod's own UID (pod-cgroup-layout.ts), so it cannot pick a container
// scope or another pod's directory. Reads the file system (stat only); changes nothing.
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  CGROUP_DRIVERS,
  KUBELET_CGROUP_ROOTS,
  kubepodsRelPath,
  podCgroupCandidates,
  type CgroupDriver,
  type KubeletCgroupRoot,
  type QosClass,
} from './pod-cgroup-layout.js';

export interface KubeletLayout {
  driver: CgroupDriver;
  root: KubeletCgroupRoot;
}

export type PathExists = (absolutePath: string) => boolean;

/**
 * Every kubelet layout present under the cgroup root (normally one; none before the kubelet
 * first ran, or on a host without Kubernetes such as the local cluster).
 */
export function detectKubeletLayouts(cgroupRoot: string, exists: PathExists = existsSync): KubeletLayout[] {
  const found: KubeletLayout[] = [];
  for (const root of KUBELET_CGROUP_ROOTS)
    for (const driver of CGROUP_DRIVERS)
      if (exists(path.join(cgroupRoot, kubepodsRelPath(driver, root)))) found.push({ driver, root });
  return found;
}

export interface PodCgroupHit {
  /** relative to the cgroup root */
  path: string;
  /** direct: the QoS class and layout gave one path; probed: one of several candidates existed */
  how: 'direct' | 'probed';
}

/** The pod's cgroup directory (relative to the cgroup root), or undefined while it does not exist. */
export function findPodCgroup(
  cgroupRoot: string,
  pod: { uid: string; qos?: QosClass | undefined },
  layouts: readonly KubeletLayout[] = detectKubeletLayouts(cgroupRoot),
  exists: PathExists = existsSync,
): PodCgroupHit | undefined {
  // With no kubelet layout detected, every layout is probed (the kubelet may not have run yet).
  const queries = layouts.length > 0 ? layouts : [{ driver: undefined, root: undefined }];
  const candidates = queries.flatMap((l) => podCgroupCandidates({ uid: pod.uid, qos: pod.qos, ...l }));
  const hit = candidates.find((rel) => exists(path.join(cgroupRoot, rel)));
  if (hit === undefined) return undefined;
  return { path: hit, how: candidates.length === 1 ? 'direct' : 'probed' };
}
