// The agent's plumbing: loads and pins this node's programs once, adds the mesh address, then
// for each mesh state it is given computes a plan with reconcile() and carries it out.
// Reconciles run one at a time; a state that arrives during a run is applied right after
// (only the newest). Stopping the agent leaves everything in place: established and new
// connections keep working without it. uninstall() removes what start() made.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { MeshState } from '../core/model/mesh.js';
import { DEFAULT_MESH_ADDRESS } from '../core/bpf-maps/mesh-address.js';
import { pinRoot } from '../core/bpf-maps/pin-paths.js';
import { PROGRAMS } from './attach-kinds.js';
import { ensureLoaded, removePins, type ProgramIds } from './bpffs.js';
import { bpftool } from './bpftool.js';
import { kubeletPodCgroupCandidates } from './cgroup-path.js';
import { findCgroup2Root } from './cgroup-root.js';
import { readAttachments, readKernelState } from './kernel-state.js';
import { NodeMaps } from './node-maps.js';
import { addMeshAddress, nodeAddresses, removeMeshAddress } from './node-setup.js';
import { executePlan } from './plan-executor.js';
import { isPlanEmpty, reconcile, type ReconcilePlan } from './reconcile.js';
import { agentError } from './errors.js';

export interface NodeAgentOptions {
  node: string;
  meshAddress?: string | undefined;
  objectDir?: string | undefined;
  cgroupRoot?: string | undefined;
  /** Re-reconcile the last state this often, healing drift (a pod cgroup recreated by the
   * runtime, a program detached by hand). 0 disables. Default 10 s. */
  resyncMs?: number | undefined;
  logger: Logger;
}

export const DEFAULT_RESYNC_MS = 10_000;

export class NodeAgent {
  readonly node: string;
  readonly meshAddress: string;
  private readonly cgroupRoot: string;
  private ids?: ProgramIds | undefined;
  private maps?: NodeMaps | undefined;
  private running?: Promise<void> | undefined;
  private pending?: MeshState | undefined;
  private lastError?: Error | undefined;
  private lastState?: MeshState | undefined;
  private retryTimer?: NodeJS.Timeout | undefined;
  private resyncTimer?: NodeJS.Timeout | undefined;

  constructor(private readonly opts: NodeAgentOptions) {
    this.node = opts.node;
    this.meshAddress = opts.meshAddress ?? DEFAULT_MESH_ADDRESS;
    this.cgroupRoot = opts.cgroupRoot ?? findCgroup2Root();
  }

  async start(): Promise<void> {
    const reused = existsSync(pinRoot(this.node));
    this.ids = await ensureLoaded(this.node, this.opts.objectDir);
    this.maps = new NodeMaps(this.node);
    const added = await addMeshAddress(this.meshAddress);
    const resyncMs = this.opts.resyncMs ?? DEFAULT_RESYNC_MS;
    if (resyncMs > 0) {
      this.resyncTimer = setInterval(() => {
        if (this.lastState && !this.running) void this.applyOnce(this.lastState);
      }, resyncMs);
      this.resyncTimer.unref();
    }
    this.opts.logger.info(
      { pins: pinRoot(this.node), reusedPins: reused, meshAddress: this.meshAddress, addedAddress: added },
      'agent ready',
    );
  }

  /**
   * Applies a mesh state; resolves when it (or a newer one) is in the kernel. Kernel-side
   * failures (a pod cgroup not created yet, a failed attach) do not reject: they are logged and
   * the same state is reconciled again a second later, until it converges or a newer one comes.
   */
  async apply(state: MeshState): Promise<void> {
    await this.applyOnce(state);
    clearTimeout(this.retryTimer);
    if (this.lastError && this.lastState === state) {
      this.retryTimer = setTimeout(() => {
        if (this.lastState === state) void this.apply(state);
      }, 1000);
      this.retryTimer.unref();
    }
  }

  private async applyOnce(state: MeshState): Promise<void> {
    this.lastState = state;
    this.pending = state;
    while (this.running) await this.running;
    if (this.pending === undefined) return;
    const next = this.pending;
    this.pending = undefined;
    this.running = this.applyNow(next).finally(() => (this.running = undefined));
    await this.running;
  }

  private async applyNow(state: MeshState): Promise<void> {
    const { ids, maps } = this.started();
    this.lastError = undefined;
    try {
      const current = await readKernelState(this.cgroupRoot, ids, maps);
      const plan = reconcile({
        state,
        discoveredCgroups: discoverPodCgroups(state, this.node, this.cgroupRoot),
        node: this.node,
        meshAddress: this.meshAddress,
        nodeAddresses: nodeAddresses(this.meshAddress),
        cgroupRoot: this.cgroupRoot,
        current,
      });
      for (const s of plan.skipped) this.opts.logger.warn(s, 'pod not enrolled');
      if (isPlanEmpty(plan)) return;
      const { errors } = await executePlan(plan, maps, ids);
      this.opts.logger.info(summarize(plan), 'reconciled');
      if (errors.length > 0) throw agentError.aggregate('AG_RECONCILE', 'reconcile incomplete', errors);
    } catch (err) {
      this.lastError = err as Error;
      this.opts.logger.error({ err }, 'reconcile failed');
    }
  }

  /** Removes every attachment of our programs, the mesh address and the pins. */
  async uninstall(): Promise<void> {
    if (existsSync(pinRoot(this.node))) {
      try {
        this.ids ??= await ensureLoaded(this.node, this.opts.objectDir);
        const attachments = await readAttachments(this.cgroupRoot, this.ids);
        for (const [cgroup, kinds] of attachments) {
          for (const kind of kinds) {
            const spec = PROGRAMS.find((p) => p.kind === kind);
            if (spec)
              await bpftool(['cgroup', 'detach', cgroup, spec.attachType, 'id', String(this.ids[kind])]);
          }
        }
      } catch (err) {
        this.opts.logger.warn({ err }, 'detaching programs failed; removing the pins anyway');
      }
    }
    this.close();
    await removeMeshAddress(this.meshAddress);
    removePins(this.node);
    this.opts.logger.info('agent uninstalled'); // the logger's base names the node
  }

  close(): void {
    clearTimeout(this.retryTimer);
    clearInterval(this.resyncTimer);
    this.maps?.close();
    this.maps = undefined;
  }

  private started(): { ids: ProgramIds; maps: NodeMaps } {
    if (!this.ids || !this.maps) throw new Error('NodeAgent.start() first');
    return { ids: this.ids, maps: this.maps };
  }
}

/** For local enrolled pods without a cgroup path: the kubelet's pod cgroup, if one exists. */
function discoverPodCgroups(state: MeshState, node: string, cgroupRoot: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const w of state.workloads) {
    if (w.node !== node || !w.enrolled || w.cgroupPath) continue;
    const hit = kubeletPodCgroupCandidates(w.uid).find((rel) => existsSync(path.join(cgroupRoot, rel)));
    if (hit) found.set(w.uid, hit);
  }
  return found;
}

function summarize(plan: ReconcilePlan): Record<string, unknown> {
  return {
    attach: plan.attach.map((a) => `${a.pod}:${a.kind}`),
    detach: plan.detach.map((d) => `${d.cgroup}:${d.kind}`),
    meshDst: { put: plan.meshDst.put.length, delete: plan.meshDst.delete.length },
    podPolicy: { put: plan.podPolicy.put, delete: plan.podPolicy.delete },
    probeSources: { put: plan.probeSources.put.map(([a]) => a), delete: plan.probeSources.delete },
    enrolled: plan.enrolledPods,
  };
}
