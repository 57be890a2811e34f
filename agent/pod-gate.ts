// The pod start gate (the agent's side of a CNI ADD, as istio-cni asks its node agent): "is
// capture for this pod in place?". decidePodGate() is the pure decision from the plan the agent
// last applied and what the kernel holds for the pod's cgroup; PodGate carries a request out,
// reading the kernel and, for a pod whose cgroup exists but is not (fully) attached, asking the
// agent to reconcile right away instead of at the next retry. No sockets here (pod-gate-server.ts).
import { ATTACH_KINDS, type AttachKind } from './attach-kinds.js';
import type { GateAnswer } from './pod-gate-protocol.js';

/** What the gate reads of the plan the agent last applied. */
export interface GatePlan {
  /** a mesh state (the controller or a state file), or the restore cache before the first one */
  source: 'mesh' | 'restore';
  /** `<ns>/<name>` -> absolute cgroup: the pods this plan captures */
  captured: ReadonlyMap<string, string>;
  /** `<ns>/<name>` -> why the plan could not place it (no cgroup found, bad path) */
  skipped: ReadonlyMap<string, string>;
  /**
   * Pods of this node the plan knows to be outside the mesh: a whole mesh state (--state-file)
   * and an agent's view from the controller (view-for.ts) both list them. A pod in neither list
   * is "unknown" and waits: fail closed.
   */
  notEnrolled: ReadonlySet<string>;
}

/** The kernel facts for one pod cgroup. */
export interface CgroupFacts {
  exists: boolean;
  attached: ReadonlySet<AttachKind>;
}

export interface GateDecisionInput {
  pod: string;
  plan: GatePlan | undefined;
  /** read only when the plan captures the pod */
  kernel?: CgroupFacts | undefined;
}

/** The answer for one pod (pure). */
export function decidePodGate({ pod, plan, kernel }: GateDecisionInput): GateAnswer {
  if (!plan)
    return {
      ready: false,
      pod,
      reason: 'no-plan',
      message: 'the agent has applied no plan yet (loading its programs or its restore cache)',
    };
  const cgroup = plan.captured.get(pod);
  if (cgroup === undefined) {
    if (plan.notEnrolled.has(pod)) return { ready: true, pod, reason: 'not-enrolled', source: plan.source };
    const skipped = plan.skipped.get(pod);
    if (skipped !== undefined)
      return {
        ready: false,
        pod,
        reason: 'skipped',
        message: `${pod} is enrolled but not placed: ${skipped}`,
      };
    return {
      ready: false,
      pod,
      reason: 'unknown-pod',
      message:
        plan.source === 'restore'
          ? `${pod} is not in the restore cache; waiting for the controller's view`
          : `${pod} is not in the controller's view of this node (not scheduled here yet, or not enrolled)`,
    };
  }
  if (!kernel?.exists)
    return {
      ready: false,
      pod,
      reason: 'cgroup-missing',
      message: `${pod}: cgroup ${cgroup} does not exist yet`,
    };
  const missing = ATTACH_KINDS.filter((k) => !kernel.attached.has(k));
  if (missing.length > 0)
    return {
      ready: false,
      pod,
      reason: 'not-attached',
      message: `${pod}: ${missing.join(', ')} not attached to ${cgroup} yet`,
    };
  return { ready: true, pod, reason: 'captured', source: plan.source, cgroup };
}

/** What the gate needs from the agent (NodeAgent implements it; tests give a fake). */
export interface PodGateAgent {
  gatePlan(): GatePlan | undefined;
  cgroupFacts(cgroup: string): Promise<CgroupFacts>;
  /** Reconcile the last target now (coalesced with one already running). */
  reconcileNow(): Promise<void>;
}

export class PodGate {
  constructor(private readonly agent: PodGateAgent) {}

  async answer(pod: string): Promise<GateAnswer> {
    const first = await this.evaluate(pod);
    if (first.ready || (first.reason !== 'not-attached' && first.reason !== 'skipped')) return first;
    // As istio-cni's ADD: set the pod up now rather than let it wait for the next retry.
    await this.agent.reconcileNow();
    return this.evaluate(pod);
  }

  private async evaluate(pod: string): Promise<GateAnswer> {
    const plan = this.agent.gatePlan();
    const cgroup = plan?.captured.get(pod);
    const kernel = cgroup === undefined ? undefined : await this.agent.cgroupFacts(cgroup);
    return decidePodGate({ pod, plan, kernel });
  }
}

/** The gate's view of a plan: the desired state inverted to pod -> cgroup, plus what it skipped. */
export function gatePlanFrom(
  source: GatePlan['source'],
  attachments: ReadonlyMap<string, string>,
  skipped: readonly { pod: string; reason: string }[],
  notEnrolled: Iterable<string> = [],
): GatePlan {
  const captured = new Map<string, string>();
  for (const [cgroup, pod] of attachments) if (pod) captured.set(pod, cgroup);
  return {
    source,
    captured,
    skipped: new Map(skipped.map((s) => [s.pod, s.reason])),
    notEnrolled: new Set(notEnrolled),
  };
}
