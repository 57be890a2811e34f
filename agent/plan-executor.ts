// Carries a ReconcilePlan out on the kernel, in the order that keeps traffic safe: config and
// map entries first (so a freshly attached connect4 finds its destinations), then attaches;
// detaches before the map deletes. A failed attach is reported and retried by the next
// reconcile; it never leaves a program attached twice (we check before attaching).
import { existsSync } from 'node:fs';
import { PROGRAMS, type AttachKind } from './attach-kinds.js';
import type { ProgramIds } from './bpffs.js';
import { bpftool } from './bpftool.js';
import type { NodeMaps } from './node-maps.js';
import type { ReconcilePlan } from './reconcile.js';
import { agentError, type AgentError } from './errors.js';

const specOf = (kind: AttachKind) => {
  const s = PROGRAMS.find((p) => p.kind === kind);
  if (!s) throw new Error(`unknown program ${kind}`);
  return s;
};

export interface ExecutionResult {
  /** Every attach or detach that failed, each with its own code and cause. */
  errors: AgentError[];
}

export async function executePlan(
  plan: ReconcilePlan,
  maps: NodeMaps,
  ids: ProgramIds,
): Promise<ExecutionResult> {
  const errors: AgentError[] = [];
  if (plan.config) maps.config.update(0, plan.config);
  for (const [k, kind] of plan.meshDst.put) maps.meshDst.update(k, { kind });
  for (const [ip, mode] of plan.podPolicy.put) maps.podPolicy.update(ip, { mode });
  for (const [ip] of plan.probeSources.put) maps.probeSrc.update(ip, 1);

  for (const a of plan.attach) {
    if (!existsSync(a.cgroup)) {
      errors.push(
        agentError('AG_NO_CGROUP', `attach ${a.kind} to ${a.pod}: cgroup ${a.cgroup} does not exist`),
      );
      continue;
    }
    try {
      await bpftool([
        'cgroup',
        'attach',
        a.cgroup,
        specOf(a.kind).attachType,
        'id',
        String(ids[a.kind]),
        'multi',
      ]);
    } catch (err) {
      errors.push(
        agentError('AG_ATTACH', `attach ${a.kind} to ${a.pod} (${a.cgroup}): ${(err as Error).message}`, err),
      );
    }
  }
  for (const d of plan.detach) {
    if (!existsSync(d.cgroup)) continue; // removing a cgroup detaches everything from it
    try {
      await bpftool(['cgroup', 'detach', d.cgroup, specOf(d.kind).attachType, 'id', String(ids[d.kind])]);
    } catch (err) {
      if (existsSync(d.cgroup))
        errors.push(
          agentError('AG_DETACH', `detach ${d.kind} from ${d.cgroup}: ${(err as Error).message}`, err),
        );
    }
  }

  for (const k of plan.meshDst.delete) maps.meshDst.delete(k);
  for (const ip of plan.podPolicy.delete) maps.podPolicy.delete(ip);
  for (const ip of plan.probeSources.delete) maps.probeSrc.delete(ip);
  return { errors };
}
