// Where a node's eBPF objects live in bpffs: /sys/fs/bpf/ambit/<node>/{progs,maps}/. Every
// simulated node of the local cluster has its own directory, so nodes never share programs or
// maps (DESIGN.md §5). Paths only; creating or removing them is the agent's job.
import path from 'node:path';
import { bpfError } from './errors.js';

export const BPFFS_ROOT = '/sys/fs/bpf';
export const AMBIT_PIN_PARENT = path.join(BPFFS_ROOT, 'ambit');

/** A node name is used as a directory name: keep it to what Kubernetes allows for Node names. */
export function assertNodeName(node: string): void {
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(node)) {
    throw bpfError('BPF_BAD_NODE', `invalid node name for a bpffs pin directory: ${JSON.stringify(node)}`);
  }
}

/** /sys/fs/bpf/ambit/<node> */
export function pinRoot(node: string): string {
  assertNodeName(node);
  return path.join(AMBIT_PIN_PARENT, node);
}

export function mapPinDir(node: string): string {
  return path.join(pinRoot(node), 'maps');
}

export function mapPinPath(node: string, mapName: string): string {
  return path.join(mapPinDir(node), mapName);
}

export function progPinDir(node: string): string {
  return path.join(pinRoot(node), 'progs');
}

export function progPinPath(node: string, progName: string): string {
  return path.join(progPinDir(node), progName);
}
