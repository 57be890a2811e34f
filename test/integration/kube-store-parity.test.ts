// The same manifests give the same `ambit config dump` in both modes (issue 10): the local
// cluster's demo manifests (local-cluster/manifests.ts: namespaces, nodes, pods with the uid and
// status an API server and kubelet would add, services, endpoint slices, waypoint Gateways,
// routes, policies) are written into a --config directory for one controller and applied to the
// stand-in API server for another started with --kubeconfig; both are real `ambit controller`
// processes and the dumps come from the real CLI. The Kubernetes one also shows a line per
// watched kind in `ambit status`.
import { parseAllDocuments } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { manifestFiles } from '../../local-cluster/manifests.js';
import { demoTopologySpec, planTopology } from '../../local-cluster/topology.js';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { FakeKubeApiServer, type KubeObject } from '../support/fake-kube-apiserver.js';
import { until } from '../support/until.js';

describe('same config dump from --config DIR and --kubeconfig', () => {
  const started: ControllerHarness[] = [];
  let fake: FakeKubeApiServer | undefined;
  afterEach(async () => {
    await Promise.all(started.splice(0).map((c) => c.stop()));
    await fake?.close();
    fake = undefined;
  });

  it('the demo manifests give the same mesh state in both modes', async () => {
    // into the API server first, then into the directory as the API server returns them, so both
    // modes see what the API server adds (uid, creationTimestamp, generation, managedFields)
    fake = await new FakeKubeApiServer().start();
    const files = manifestFiles(planTopology(demoTopologySpec(), '10.250.77'));
    const applied: KubeObject[] = [];
    for (const f of files) {
      for (const doc of parseAllDocuments(f.text)) {
        const o = doc.toJS() as KubeObject | null;
        if (o) applied.push(fake.apply(o));
      }
    }
    expect(applied.length).toBeGreaterThan(20);
    const dirCtl = await startControllerHarness({
      files: { 'cluster.yaml': applied.map((o) => JSON.stringify(o)).join('\n---\n') },
    });
    started.push(dirCtl);
    const kubeCtl = await startControllerHarness({ kubeconfig: fake.writeKubeconfig() });
    started.push(kubeCtl);

    const dump = async (c: ControllerHarness) => {
      const r = await c.cli(['config', 'dump', '-o', 'json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as {
        version: string;
        state: { workloads: unknown[]; services: unknown[] };
      };
    };
    const fromDir = await dump(dirCtl);
    // in a cluster the controller itself creates each waypoint's Service (waypoint-deployments.ts);
    // that object is not one of the manifests, so it is left out of the comparison
    const fromKube = await dump(kubeCtl);
    const controllerMade = (x: unknown) =>
      (x as { labels?: Record<string, string> }).labels?.['ambit.dev/managed-by'] === 'ambit-controller';
    expect(fromKube.state.services.filter(controllerMade).length).toBeLessThanOrEqual(1);
    fromKube.state.services = fromKube.state.services.filter((x) => !controllerMade(x));
    expect(fromDir.state.workloads.length).toBeGreaterThan(3);
    expect(fromDir.state.services.length).toBeGreaterThan(1);
    expect(fromKube.state).toEqual(fromDir.state);

    // a change through the API reaches the dump like an edit of the directory does
    const gone = fake.list('Pod').find((p) => !p.metadata.labels?.['gateway.networking.k8s.io/gateway-name']);
    expect(gone).toBeDefined();
    fake.delete('Pod', gone?.metadata.namespace, gone?.metadata.name ?? '');
    const changed = await until(
      'the Service delete in the dump',
      async () => {
        const d = await dump(kubeCtl);
        return d.state.workloads.length !== fromKube.state.workloads.length ? d : undefined;
      },
      20_000,
    );
    expect(changed.state.workloads.length).toBe(fromKube.state.workloads.length - 1);

    const status = await kubeCtl.cli(['status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`config source:  kube:${fake.url}`);
    expect(status.stdout).toMatch(/watches \(12 kinds\):/);
    expect(status.stdout).toMatch(/ {2}Pod +watching +\d+ objects?, last event/);
    const json = JSON.parse((await kubeCtl.cli(['status', '-o', 'json'])).stdout) as {
      watches: { kind: string; objects: number; state: string }[];
    };
    expect(json.watches.find((w) => w.kind === 'Pod')?.objects).toBeGreaterThan(3);
    expect(json.watches.every((w) => w.state === 'watching')).toBe(true);
    // the only replica takes the Lease and says so
    const leader = await until('this replica to hold the Lease', async () => {
      const j = JSON.parse((await kubeCtl.cli(['status', '-o', 'json'])).stdout) as {
        leader?: { holder?: string; thisReplica: boolean; replica: string };
      };
      return j.leader?.thisReplica ? j.leader : undefined;
    });
    expect(leader.holder).toBe(leader.replica);
    expect((await kubeCtl.cli(['status'])).stdout).toContain(
      `leader:         ${leader.replica} (this replica)`,
    );
    expect(fake.get('Lease', 'ambit-system', 'ambit-controller')?.spec).toMatchObject({
      holderIdentity: leader.replica,
    });
  });
});
