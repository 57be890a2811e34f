// The agent's plumbing: loads and pins this node's programs once, adds the mesh address,
// re-applies what the restore cache says it last enrolled (a rebooted node gets capture back
// before the controller answers), then for each mesh state it is given computes a plan with
// reconcile() and carries it out, writing the new desired state to the cache first.
// Reconciles run one at a time; a target that arrives during a run is applied right after
// (only the newest). Stopping the agent leaves everything in place: established and new
// connections keep working without it. uninstall() removes what start() made, and the cache.
// It also answers the pod start gate (pod-gate.ts): the plan it last applied and one cgroup's
// attachments, and a reconcile on demand.
import { existsSync } from 'node:fs';
import { ATTACH_KINDS, type AttachKind } from './attach-kinds.js';
import { gatePlanFrom, type CgroupFacts, type GatePlan, type PodGateAgent } from './pod-gate.js';
import type { Logger } from 'pino';
import type { MeshState } from '../core/model/mesh.js';
import { DEFAULT_MESH_ADDRESS } from '../core/bpf-maps/mesh-address.js';
import { pinRoot } from '../core/bpf-maps/pin-paths.js';
import { PROGRAMS } from './attach-kinds.js';
import { ensureLoaded, removePins, type ProgramIds } from './bpffs.js';
import { bpftool, bpftoolJson } from './bpftool.js';
import { findCgroup2Root } from './cgroup-root.js';
import { readAttachments, readKernelState } from './kernel-state.js';
import { NodeMaps } from './node-maps.js';
import { addMeshAddress, nodeAddresses, removeMeshAddress } from './node-setup.js';
import { executePlan } from './plan-executor.js';
import { detectKubeletLayouts, findPodCgroup } from './pod-cgroup-finder.js';
import {
  desiredKernelState,
  isPlanEmpty,
  planFor,
  type DesiredKernelState,
  type ReconcilePlan,
} from './reconcile.js';
import type { RestoreCache } from './restore-cache.js';
import { agentError } from './errors.js';

export interface NodeAgentOptions {
  node: string;
  meshAddress?: string | undefined;
  objectDir?: string | undefined;
  cgroupRoot?: string | undefined;
  /** Re-reconcile the last state this often, healing drift (a pod cgroup recreated by the
   * runtime, a program detached by hand). 0 disables. Default 10 s. */
  resyncMs?: number | undefined;
  /** What the agent last enrolled, re-applied on start before any mesh state arrives. */
  restoreCache?: RestoreCache | undefined;
  logger: Logger;
}

export const DEFAULT_RESYNC_MS = 10_000;

/** What a reconcile aims at: a mesh state, or the restore cache's desired state until one comes. */
type Target = { kind: 'mesh'; state: MeshState } | { kind: 'restore'; desired: DesiredKernelState };

export class NodeAgent implements PodGateAgent {
  readonly node: string;
  readonly meshAddress: string;
  private readonly cgroupRoot: string;
  private ids?: ProgramIds | undefined;
  private maps?: NodeMaps | undefined;
  private running?: Promise<boolean> | undefined;
  private pending?: Target | undefined;
  private lastError?: Error | undefined;
  private lastTarget?: Target | undefined;
  private retryTimer?: NodeJS.Timeout | undefined;
  private resyncTimer?: NodeJS.Timeout | undefined;
  private gate?: GatePlan | undefined;

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
        if (this.lastTarget && !this.running) void this.applyOnce(this.lastTarget);
      }, resyncMs);
      this.resyncTimer.unref();
    }
    this.opts.logger.info(
      { pins: pinRoot(this.node), reusedPins: reused, meshAddress: this.meshAddress, addedAddress: added },
      'agent ready',
    );
    await this.restore(); // before any mesh state: the controller may be down, or on this node
  }

  /**
   * Re-applies what the restore cache holds, if anything: after a reboot the pins and
   * attachments are gone and this brings capture back without the controller. A cache that is
   * missing or refused changes nothing. Pod cgroups the kubelet has not recreated yet are
   * retried every second until they appear or the first mesh state replaces this target.
   */
  async restore(): Promise<void> {
    const cache = this.opts.restoreCache;
    if (!cache) return;
    const loaded = cache.load(this.cgroupRoot);
    switch (loaded.kind) {
      case 'none':
        this.opts.logger.info({ cache: cache.file }, 'no restore cache: waiting for the controller');
        return;
      case 'refused':
        this.opts.logger.warn({ err: loaded.error }, 'restore cache refused: waiting for the controller');
        return;
      case 'loaded': {
        const changed = await this.applyTarget({ kind: 'restore', desired: loaded.desired });
        this.opts.logger.info(
          {
            cache: cache.file,
            pods: [...loaded.desired.attachments.values()].sort(),
            changedKernel: changed,
            complete: this.lastError === undefined,
          },
          'restore cache applied',
        );
        return;
      }
      default: {
        const never: never = loaded;
        throw new Error(`unknown restore cache result ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Applies a mesh state; resolves when it (or a newer one) is in the kernel. Kernel-side
   * failures (a pod cgroup not created yet, a failed attach) do not reject: they are logged and
   * the same state is reconciled again a second later, until it converges or a newer one comes.
   */
  async apply(state: MeshState): Promise<void> {
    await this.applyTarget({ kind: 'mesh', state });
  }

  /** Applies a target; true when it changed the kernel. Retries a failed one every second. */
  private async applyTarget(target: Target): Promise<boolean> {
    const changed = await this.applyOnce(target);
    clearTimeout(this.retryTimer);
    if (this.lastError && this.lastTarget === target) {
      this.retryTimer = setTimeout(() => {
        if (this.lastTarget === target) void this.applyTarget(target);
      }, 1000);
      this.retryTimer.unref();
    }
    return changed;
  }

  private async applyOnce(target: Target): Promise<boolean> {
    this.lastTarget = target;
    this.pending = target;
    while (this.running) await this.running;
    if (this.pending === undefined) return false;
    const next = this.pending;
    this.pending = undefined;
    this.running = this.applyNow(next).finally(() => (this.running = undefined));
    return this.running;
  }

  private async applyNow(target: Target): Promise<boolean> {
    const { ids, maps } = this.started();
    this.lastError = undefined;
    try {
      const current = await readKernelState(this.cgroupRoot, ids, maps);
      const { desired, skipped } =
        target.kind === 'mesh'
          ? desiredKernelState({
              state: target.state,
              discoveredCgroups: discoverPodCgroups(target.state, this.node, this.cgroupRoot),
              node: this.node,
              meshAddress: this.meshAddress,
              nodeAddresses: nodeAddresses(this.meshAddress),
              cgroupRoot: this.cgroupRoot,
            })
          : { desired: target.desired, skipped: [] };
      if (target.kind === 'mesh') this.saveRestoreCache(desired);
      this.gate = gatePlanFrom(
        target.kind,
        desired.attachments,
        skipped,
        target.kind === 'mesh' ? notEnrolledHere(target.state, this.node) : [],
      );
      const facts = { meshAddress: this.meshAddress, nodeAddresses: nodeAddresses(this.meshAddress) };
      const plan = planFor(desired, facts, current, skipped);
      for (const s of plan.skipped) this.opts.logger.warn(s, 'pod not enrolled');
      if (isPlanEmpty(plan)) return false;
      const { errors } = await executePlan(plan, maps, ids);
      this.opts.logger.info({ ...summarize(plan), from: target.kind }, 'reconciled');
      if (errors.length > 0) throw agentError.aggregate('AG_RECONCILE', 'reconcile incomplete', errors);
      return true;
    } catch (err) {
      this.lastError = err as Error;
      this.opts.logger.error({ err }, 'reconcile failed');
      return true;
    }
  }

  /** Written before the plan runs, so a crash mid-plan restores the state it was heading to. */
  private saveRestoreCache(desired: DesiredKernelState): void {
    try {
      if (this.opts.restoreCache?.save(desired))
        this.opts.logger.debug({ cache: this.opts.restoreCache.file }, 'restore cache written');
    } catch (err) {
      this.opts.logger.warn(
        { err },
        'restore cache not written; capture after a reboot waits for the controller',
      );
    }
  }

  /** The plan last carried out (or being carried out), as the pod gate reads it. */
  gatePlan(): GatePlan | undefined {
    return this.gate;
  }

  /** Whether a pod cgroup exists and which of this node's programs are attached to it. */
  async cgroupFacts(cgroup: string): Promise<CgroupFacts> {
    const { ids } = this.started();
    if (!existsSync(cgroup)) return { exists: false, attached: new Set() };
    const byId = new Map<number, AttachKind>(ATTACH_KINDS.map((k) => [ids[k], k]));
    const progs = await bpftoolJson<{ id: number }[]>(['cgroup', 'show', cgroup]);
    const attached = new Set<AttachKind>();
    for (const p of progs) {
      const kind = byId.get(p.id);
      if (kind) attached.add(kind);
    }
    return { exists: true, attached };
  }

  /** Reconciles the last target now (a gate request for a pod not attached yet). */
  async reconcileNow(): Promise<void> {
    if (this.lastTarget) await this.applyTarget(this.lastTarget);
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
    this.opts.restoreCache?.remove();
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

/**
 * For local enrolled pods without a cgroup path: the kubelet's pod cgroup from the pod UID and
 * QoS class (straight to it when the class is known, probing the classes otherwise), if it exists.
 */
function discoverPodCgroups(state: MeshState, node: string, cgroupRoot: string): Map<string, string> {
  const found = new Map<string, string>();
  const pods = state.workloads.filter((w) => w.node === node && w.enrolled && !w.cgroupPath);
  if (pods.length === 0) return found;
  const layouts = detectKubeletLayouts(cgroupRoot);
  for (const w of pods) {
    const hit = findPodCgroup(cgroupRoot, { uid: w.uid, qos: w.qosClass }, layouts);
    if (hit) found.set(w.uid, hit.path);
  }
  return found;
}

/** This node's pods a mesh state lists as outside the mesh (a whole state and an agent's view both do). */
function notEnrolledHere(state: MeshState, node: string): string[] {
  return state.workloads.filter((w) => w.node === node && !w.enrolled).map((w) => `${w.namespace}/${w.name}`);
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
