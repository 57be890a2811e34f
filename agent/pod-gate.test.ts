// The pod start gate's decision, as a table (no kernel, no socket), and PodGate carrying it out
// against a fake agent: "not yet" while no plan is applied, yes once the restore cache's plan is
// in the kernel, an immediate reconcile for a cgroup that exists but is not attached yet.
import { describe, expect, it } from 'vitest';
import { ATTACH_KINDS, type AttachKind } from './attach-kinds.js';
import {
  PodGate,
  decidePodGate,
  gatePlanFrom,
  type CgroupFacts,
  type GatePlan,
  type PodGateAgent,
} from './pod-gate.js';

const CG = '/sys/fs/cgroup/kubepods.slice/kubepods-podabc.slice';
const all = new Set<AttachKind>(ATTACH_KINDS);
const restorePlan = gatePlanFrom('restore', new Map([[CG, 'shop/cart']]), []);
const meshPlan = gatePlanFrom(
  'mesh',
  new Map([[CG, 'shop/cart']]),
  [{ pod: 'shop/new', reason: 'no cgroup path' }],
  ['shop/plain'],
);

describe('decidePodGate', () => {
  const cases: {
    description: string;
    pod: string;
    plan: GatePlan | undefined;
    kernel?: CgroupFacts;
    want: Record<string, unknown>;
  }[] = [
    {
      description: 'no plan applied yet',
      pod: 'shop/cart',
      plan: undefined,
      want: { ready: false, reason: 'no-plan' },
    },
    {
      description: 'restore cache applied, all programs attached',
      pod: 'shop/cart',
      plan: restorePlan,
      kernel: { exists: true, attached: all },
      want: { ready: true, reason: 'captured', source: 'restore', cgroup: CG },
    },
    {
      description: 'restore cache: a pod it does not hold waits for the controller',
      pod: 'shop/other',
      plan: restorePlan,
      want: { ready: false, reason: 'unknown-pod' },
    },
    {
      description: 'a pod the controller view does not list waits (fail closed)',
      pod: 'shop/other',
      plan: meshPlan,
      want: { ready: false, reason: 'unknown-pod' },
    },
    {
      description: 'a pod the mesh state lists as not enrolled passes',
      pod: 'shop/plain',
      plan: meshPlan,
      want: { ready: true, reason: 'not-enrolled', source: 'mesh' },
    },
    {
      description: 'enrolled but not placed (no cgroup found)',
      pod: 'shop/new',
      plan: meshPlan,
      want: { ready: false, reason: 'skipped' },
    },
    {
      description: 'cgroup not created yet',
      pod: 'shop/cart',
      plan: meshPlan,
      kernel: { exists: false, attached: new Set() },
      want: { ready: false, reason: 'cgroup-missing' },
    },
    {
      description: 'attached in part (strict_ingress missing)',
      pod: 'shop/cart',
      plan: meshPlan,
      kernel: { exists: true, attached: new Set<AttachKind>(['connect4', 'connect6', 'sockops']) },
      want: { ready: false, reason: 'not-attached' },
    },
  ];
  it.each(cases)('$description', ({ pod, plan, kernel, want }) => {
    const a = decidePodGate({ pod, plan, kernel });
    expect(a).toMatchObject({ pod, ...want });
    if (!a.ready) expect(a.message).not.toBe('');
  });

  it('names the missing programs', () => {
    const a = decidePodGate({
      pod: 'shop/cart',
      plan: meshPlan,
      kernel: { exists: true, attached: new Set() },
    });
    expect(a).toMatchObject({
      ready: false,
      message: expect.stringMatching(/connect4, connect6, sockops, strict_ingress/),
    });
  });
});

/** A fake agent: a plan slot, a kernel of cgroup -> attached kinds, a reconcile that attaches. */
class FakeAgent implements PodGateAgent {
  plan: GatePlan | undefined;
  kernel = new Map<string, Set<AttachKind>>();
  reconciles = 0;
  gatePlan(): GatePlan | undefined {
    return this.plan;
  }
  cgroupFacts(cgroup: string): Promise<CgroupFacts> {
    const k = this.kernel.get(cgroup);
    return Promise.resolve({ exists: k !== undefined, attached: k ?? new Set() });
  }
  reconcileNow(): Promise<void> {
    this.reconciles++;
    for (const cgroup of this.plan?.captured.values() ?? [])
      if (this.kernel.has(cgroup)) this.kernel.set(cgroup, new Set(all));
    return Promise.resolve();
  }
}

describe('PodGate', () => {
  it('refuses while the agent has no plan, passes once the restore cache is applied', async () => {
    const agent = new FakeAgent();
    agent.kernel.set(CG, new Set());
    const gate = new PodGate(agent);
    expect(await gate.answer('shop/cart')).toMatchObject({ ready: false, reason: 'no-plan' });
    expect(agent.reconciles).toBe(0); // nothing to reconcile yet
    agent.plan = restorePlan;
    agent.kernel.set(CG, new Set(all)); // the restore attached it
    expect(await gate.answer('shop/cart')).toEqual({
      ready: true,
      pod: 'shop/cart',
      reason: 'captured',
      source: 'restore',
      cgroup: CG,
    });
  });

  it('attaches a pod whose cgroup exists but is not attached yet, right away', async () => {
    const agent = new FakeAgent();
    agent.plan = meshPlan;
    agent.kernel.set(CG, new Set<AttachKind>(['connect4']));
    const a = await new PodGate(agent).answer('shop/cart');
    expect(agent.reconciles).toBe(1);
    expect(a).toMatchObject({ ready: true, reason: 'captured', source: 'mesh' });
  });

  it('does not reconcile for a pod it cannot help (cgroup missing, unknown pod)', async () => {
    const agent = new FakeAgent();
    agent.plan = meshPlan;
    const gate = new PodGate(agent);
    expect(await gate.answer('shop/cart')).toMatchObject({ ready: false, reason: 'cgroup-missing' });
    expect(await gate.answer('shop/ghost')).toMatchObject({ ready: false, reason: 'unknown-pod' });
    expect(agent.reconciles).toBe(0);
  });

  it('still says "not yet" when the reconcile did not attach it', async () => {
    const agent = new FakeAgent();
    agent.plan = meshPlan;
    agent.kernel.set(CG, new Set());
    agent.reconcileNow = () => {
      agent.reconciles++;
      return Promise.resolve();
    };
    expect(await new PodGate(agent).answer('shop/cart')).toMatchObject({
      ready: false,
      reason: 'not-attached',
    });
    expect(agent.reconciles).toBe(1);
  });
});
