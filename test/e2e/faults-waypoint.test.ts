// The waypoint restarted under load (issue 11 item 2), on the local cluster: a Service whose
// HTTPRoute retries 502/503 goes through a waypoint with two instances (one per node); while a
// client pod sends HTTP requests through it at a modest rate, each instance in turn is restarted
// as Kubernetes restarts a pod: marked not Ready (its endpoint leaves discovery), SIGTERMed, started
// again, marked Ready. Every request must come back 200; failures seen are reported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../local-cluster/cluster.js';
import { leftovers } from '../../local-cluster/cleanup.js';
import { signalGroup, type ManagedProcess } from '../../local-cluster/processes.js';
import { HTTP_PORT, type TopologySpec } from '../../local-cluster/topology.js';
import { reportFault } from '../support/fault-load.js';
import { kernelTestsEnabled, until } from './kernel-env.js';

const enabled = kernelTestsEnabled();
const NS = 'wpf';

const spec: TopologySpec = {
  nodes: 2,
  namespaces: [
    { name: NS, labels: { 'ambit.dev/dataplane-mode': 'ambient', 'ambit.dev/use-waypoint': 'waypoint' } },
  ],
  pods: [
    { name: 'client', namespace: NS, node: 1, labels: { app: 'client' }, serviceAccount: 'client' },
    { name: 'api-1', namespace: NS, node: 1, labels: { app: 'api' }, serviceAccount: 'api' },
    { name: 'api-2', namespace: NS, node: 2, labels: { app: 'api' }, serviceAccount: 'api' },
  ],
  services: [
    {
      name: 'api',
      namespace: NS,
      selector: { app: 'api' },
      ports: [{ name: 'http', port: 80, targetPort: HTTP_PORT }],
    },
  ],
  waypoints: [{ name: 'waypoint', namespace: NS, instances: [1, 2] }],
  manifests: [
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'api', namespace: NS },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: 'api', port: 80 }],
        rules: [{ retry: { attempts: 3, codes: [502, 503] }, backendRefs: [{ name: 'api', port: 80 }] }],
      },
    },
  ],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!enabled)('faults: the waypoint restarted under load', () => {
  let cluster: LocalCluster;
  let prefix = '';
  const instances = new Map<string, ManagedProcess>();

  const vip = () => cluster.topology.services.find((s) => s.spec.name === 'api')?.vip ?? '';

  beforeAll(async () => {
    cluster = await LocalCluster.create({ spec, signalHandlers: false });
    prefix = cluster.prefix;
    await cluster.startController();
    for (const n of cluster.topology.nodes) await cluster.startAgent(n.index);
    for (const n of cluster.topology.nodes) await cluster.startZtunnel(n.index);
    for (const pod of ['waypoint-1', 'waypoint-2'])
      instances.set(pod, await cluster.startWaypoint(NS, 'waypoint', { pod }));
    await until(
      'requests through the waypoint',
      async () => {
        const r = await cluster.l7InPod('client', {
          mode: 'http',
          target: `http://${vip()}/`,
          authority: 'api',
          count: 4,
        });
        return r.byStatus['200'] === 4;
      },
      30_000,
      500,
    );
  });

  afterAll(async () => {
    await cluster?.teardown();
    if (prefix) expect(leftovers(prefix)).toEqual([]);
  });

  /** `count` HTTP requests at 60/s through the waypoint's VIP, every answer sampled. */
  const httpLoad = (count: number) =>
    cluster.l7InPod(
      'client',
      {
        mode: 'http',
        target: `http://${vip()}/`,
        authority: 'api',
        count,
        ratePerSec: 60,
        concurrency: 8,
        timeoutMs: 5_000,
        samples: true,
      },
      120_000,
    );

  it('restarting each of two waypoint instances in turn loses no request', async () => {
    const count = 1200;
    const started = Date.now();
    const load = httpLoad(count);
    await sleep(2_000);
    const restarts: { pod: string; downMs: number }[] = [];
    for (const pod of ['waypoint-1', 'waypoint-2']) {
      cluster.setPodReady(pod, false);
      await sleep(2_000); // the endpoint leaves discovery before the process goes
      const t = Date.now();
      await instances.get(pod)?.stop(10_000);
      instances.set(pod, await cluster.startWaypoint(NS, 'waypoint', { pod }));
      cluster.setPodReady(pod, true);
      restarts.push({ pod, downMs: Date.now() - t });
      await sleep(2_000);
    }
    const r = await load;
    const failures = (r.samples ?? []).filter((s) => s.status !== '200');
    reportFault({
      fault: 'waypoint restarted, 2 instances, one at a time',
      bytesLost: 0,
      // a failed request is a reset when the connection was cut, else a refusal (5xx, connect error)
      refused: failures.filter((f) => f.status !== 'ECONNRESET').length,
      reset: failures.filter((f) => f.status === 'ECONNRESET').length,
      recoveryMs: 0,
      notes: {
        requests: r.sent,
        byStatus: r.byStatus,
        byPod: r.byPod,
        restarts,
        seconds: Math.round((Date.now() - started) / 1000),
        latencyMs: r.latencyMs,
        failures: failures.slice(0, 10),
      },
    });
    expect(r.byStatus, JSON.stringify(failures.slice(0, 10))).toEqual({ '200': count });
  });

  it('an instance crashing (SIGKILL while Ready) costs only the requests it held; every request ends', async () => {
    const count = 600;
    const load = httpLoad(count);
    await sleep(2_000);
    const pod = 'waypoint-1';
    const crashed = instances.get(pod);
    if (crashed) signalGroup(crashed.pid, 'SIGKILL');
    await crashed?.wait();
    await sleep(1_000); // a readiness probe's period: then the endpoint leaves discovery
    cluster.setPodReady(pod, false);
    instances.set(pod, await cluster.startWaypoint(NS, 'waypoint', { pod }));
    cluster.setPodReady(pod, true);
    const r = await load;
    const failures = (r.samples ?? []).filter((s) => s.status !== '200');
    reportFault({
      fault: 'waypoint instance SIGKILLed while Ready (1 of 2)',
      bytesLost: 0,
      // a failed request is a reset when the connection was cut, else a refusal (5xx, connect error)
      refused: failures.filter((f) => f.status !== 'ECONNRESET').length,
      reset: failures.filter((f) => f.status === 'ECONNRESET').length,
      recoveryMs: null,
      notes: { requests: r.sent, byStatus: r.byStatus, failures: failures.slice(0, 10) },
    });
    // nothing hangs: every request got an answer or an error within its timeout
    expect(r.sent).toBe(count);
    expect(r.byStatus['200'] ?? 0).toBeGreaterThan(0);
  });
});
