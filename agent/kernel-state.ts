// Reads what the kernel holds for this node (our program attachments from `bpftool cgroup tree`,
// matched by the ids of *this node's* pinned programs, and the map contents) into the
// NodeKernelState the reconciler compares against. Read-only.
import { ATTACH_KINDS, type AttachKind } from './attach-kinds.js';
import type { ProgramIds } from './bpffs.js';
import { cgroupTree } from './bpftool.js';
import type { NodeMaps } from './node-maps.js';
import type { NodeKernelState } from './reconcile.js';

export async function readAttachments(
  cgroupRoot: string,
  ids: ProgramIds,
): Promise<Map<string, Set<AttachKind>>> {
  const byId = new Map<number, AttachKind>(ATTACH_KINDS.map((k) => [ids[k], k]));
  const out = new Map<string, Set<AttachKind>>();
  for (const entry of await cgroupTree(cgroupRoot)) {
    for (const p of entry.programs) {
      const kind = byId.get(p.id);
      if (!kind) continue;
      let set = out.get(entry.cgroup);
      if (!set) out.set(entry.cgroup, (set = new Set()));
      set.add(kind);
    }
  }
  return out;
}

export async function readKernelState(
  cgroupRoot: string,
  ids: ProgramIds,
  maps: NodeMaps,
): Promise<NodeKernelState> {
  return {
    attachments: await readAttachments(cgroupRoot, ids),
    config: maps.readConfig(),
    meshDst: maps.readMeshDst(),
    podPolicy: maps.readPodPolicy(),
    probeSources: maps.readProbeSources(),
  };
}
