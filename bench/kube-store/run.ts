// Kubernetes store bench: the memory of the controller's Kubernetes store (kube-config-store.ts)
// holding 10,000 Pods, 1,000 Services and 1,000 EndpointSlices on 100 Nodes, listed and watched
// from the stand-in API server (test/support/fake-kube-apiserver.ts) on loopback. The objects look
// like a real cluster's: managedFields, the last-applied annotation, container env, resources,
// volumes, probes, container statuses, Node images. Each variant runs in its own child process
// (node --expose-gc) so its RSS is its own: `slim` caches what object-slim.ts keeps, `whole`
// caches every object as the API server sent it. Prints figures; no pass/fail.
//   node dist/bench/kube-store/run.js [--pods 10000] [--services 1000] [--nodes 100]
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectKube } from '../../controller/kube/kube-api.js';
import { KubeConfigStore } from '../../controller/kube/kube-config-store.js';
import { apiVersionOf, type WatchedKind } from '../../controller/kube/watched-kinds.js';
import { computeMeshState } from '../../core/model/compute-mesh-state.js';
import { FakeKubeApiServer, type KubeObject } from '../../test/support/fake-kube-apiserver.js';

const { values: args } = parseArgs({
  options: {
    pods: { type: 'string', default: '10000' },
    services: { type: 'string', default: '1000' },
    nodes: { type: 'string', default: '100' },
    child: { type: 'string' },
    kubeconfig: { type: 'string' },
  },
});

function log(s: string): void {
  process.stderr.write(`[bench/kube-store] ${s}\n`);
}

function procStatusMb(): { rss: number; peak: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const managedFields = (manager: string) => [
  {
    manager,
    operation: 'Update',
    apiVersion: 'v1',
    time: '2024-05-01T10:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: {
      'f:metadata': {
        'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} },
        'f:ownerReferences': {},
      },
      'f:spec': {
        'f:containers': {
          'k:{"name":"app"}': {
            '.': {},
            'f:env': { 'k:{"name":"LOG_LEVEL"}': { '.': {}, 'f:name': {}, 'f:value': {} } },
            'f:image': {},
            'f:ports': { 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
            'f:resources': { 'f:limits': { 'f:memory': {} }, 'f:requests': { 'f:cpu': {}, 'f:memory': {} } },
          },
        },
      },
      'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:podIP': {}, 'f:podIPs': {} },
    },
  },
];

function podObject(i: number, nodes: number, services: number): KubeObject {
  const ns = `team-${i % 20}`;
  const app = `app-${i % services}`;
  const ip = `10.${64 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${app}-7d9f8c6b5-${i.toString(36).padStart(5, '0')}`,
      namespace: ns,
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      labels: { app, 'pod-template-hash': '7d9f8c6b5' },
      annotations: {
        'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:00:00Z',
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
          spec: { replicas: 3, app },
        }).repeat(4),
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${app}-7d9f8c6b5`,
          uid: 'rs-uid',
          controller: true,
        },
      ],
      managedFields: [...managedFields('kube-controller-manager'), ...managedFields('kubelet')],
    },
    spec: {
      nodeName: `node-${i % nodes}`,
      serviceAccountName: 'default',
      containers: [
        {
          name: 'app',
          image: `registry.example.com/${app}:1.2.3`,
          imagePullPolicy: 'IfNotPresent',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: Array.from({ length: 8 }, (_, e) => ({ name: `ENV_${e}`, value: `value-${e}-${app}` })),
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: '/live', port: 8080 }, periodSeconds: 10 },
          volumeMounts: [
            { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
          ],
          terminationMessagePath: '/dev/termination-log',
        },
      ],
      volumes: [
        {
          name: 'kube-api-access',
          projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] },
        },
      ],
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
      dnsPolicy: 'ClusterFirst',
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
    },
    status: {
      phase: 'Running',
      hostIP: `192.168.0.${i % nodes}`,
      podIP: ip,
      podIPs: [{ ip }],
      qosClass: 'Burstable',
      startTime: '2024-05-01T10:00:00Z',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: '2024-05-01T10:00:05Z',
      })),
      containerStatuses: [
        {
          name: 'app',
          ready: true,
          restartCount: 0,
          started: true,
          image: `registry.example.com/${app}:1.2.3`,
          imageID: `registry.example.com/${app}@sha256:${'a'.repeat(64)}`,
          containerID: `containerd://${'b'.repeat(64)}`,
          state: { running: { startedAt: '2024-05-01T10:00:04Z' } },
        },
      ],
    },
  };
}

function seed(fake: FakeKubeApiServer, pods: number, services: number, nodes: number): void {
  for (let t = 0; t < 20; t++) {
    fake.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `team-${t}` } });
  }
  for (let n = 0; n < nodes; n++) {
    fake.apply({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: `node-${n}`, labels: { 'kubernetes.io/hostname': `node-${n}` } },
      spec: { podCIDR: `10.244.${n}.0/24` },
      status: {
        addresses: [
          { type: 'InternalIP', address: `192.168.0.${n}` },
          { type: 'Hostname', address: `node-${n}` },
        ],
        images: Array.from({ length: 30 }, (_, x) => ({
          names: [
            `registry.example.com/image-${x}@sha256:${'c'.repeat(64)}`,
            `registry.example.com/image-${x}:1`,
          ],
          sizeBytes: 123456789,
        })),
        conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2024-05-01T10:00:00Z' }],
      },
    });
  }
  for (let i = 0; i < pods; i++) fake.apply(podObject(i, nodes, services));
  for (let s = 0; s < services; s++) {
    const ns = `team-${s % 20}`;
    fake.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `app-${s}`, namespace: ns, managedFields: managedFields('kubectl') },
      spec: {
        selector: { app: `app-${s}` },
        clusterIP: `10.96.${Math.floor(s / 256)}.${s % 256}`,
        clusterIPs: [`10.96.${Math.floor(s / 256)}.${s % 256}`],
        ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
        sessionAffinity: 'None',
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        internalTrafficPolicy: 'Cluster',
      },
    });
    const members = Array.from({ length: Math.ceil(pods / services) }, (_, k) => s + k * services).filter(
      (i) => i < pods,
    );
    fake.apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `app-${s}-abcde`,
        namespace: ns,
        labels: { 'kubernetes.io/service-name': `app-${s}`, 'endpointslice.kubernetes.io/managed-by': 'x' },
        managedFields: managedFields('endpointslice-controller'),
      },
      addressType: 'IPv4',
      endpoints: members.map((i) => {
        const p = podObject(i, nodes, services);
        return {
          addresses: [(p.status as { podIP: string }).podIP],
          conditions: { ready: true, serving: true, terminating: false },
          nodeName: `node-${i % nodes}`,
          zone: 'zone-a',
          targetRef: { kind: 'Pod', name: p.metadata.name, namespace: ns, uid: p.metadata.uid },
        };
      }),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
  }
}

interface ChildReport {
  variant: string;
  baselineRssMb: number;
  rssMb: number;
  peakRssMb: number;
  heapUsedMb: number;
  syncMs: number;
  workloads: number;
  services: number;
  cachedBytes: number;
}

/** The child: one store, measured after its first snapshot and a full GC. */
async function child(variant: string, kubeconfig: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baseline = procStatusMb().rss;
  const whole = (k: WatchedKind, raw: unknown): object => ({
    ...(raw as object),
    apiVersion: apiVersionOf(k),
    kind: k.kind,
  });
  const store = new KubeConfigStore({
    api: connectKube(kubeconfig),
    logger: pino({ level: 'warn' }),
    registry: new Registry(),
    reflector: variant === 'whole' ? { slim: whole } : {},
  });
  const started = performance.now();
  await store.start();
  const syncMs = Math.round(performance.now() - started);
  for (let i = 0; i < 3; i++) gc?.();
  const mem = procStatusMb();
  const heapUsedMb = process.memoryUsage().heapUsed / 1048576;
  // after measuring: the mesh state is the controller's, not the store's
  const state = computeMeshState(store.get().resources, 'cluster.local');
  const report: ChildReport = {
    variant,
    baselineRssMb: baseline,
    rssMb: mem.rss,
    peakRssMb: mem.peak,
    heapUsedMb,
    syncMs,
    workloads: state.workloads.length,
    services: state.services.length,
    // the JSON size of what the model holds: what a variant keeps per object
    cachedBytes: Object.values(store.get().resources)
      .flat()
      .reduce((n, o) => n + JSON.stringify(o).length, 0),
  };
  process.send?.(report);
  await store.close();
}

async function main(): Promise<void> {
  if (args.child !== undefined && args.kubeconfig !== undefined) {
    await child(args.child, args.kubeconfig);
    return;
  }
  const pods = Number(args.pods);
  const services = Number(args.services);
  const nodes = Number(args.nodes);
  const fake = await new FakeKubeApiServer({ bookmarkIntervalMs: 60_000 }).start();
  try {
    const t0 = performance.now();
    seed(fake, pods, services, nodes);
    const sample = JSON.stringify(fake.list('Pod').slice(0, 1)[0]);
    log(
      `seeded ${pods} pods, ${services} services + endpoint slices, ${nodes} nodes in ${Math.round(performance.now() - t0)} ms; one Pod as served: ${sample.length} bytes`,
    );
    const kubeconfig = fake.writeKubeconfig();
    const self = fileURLToPath(import.meta.url);
    const reports: ChildReport[] = [];
    for (const variant of ['slim', 'whole']) {
      const report = await new Promise<ChildReport>((resolve, reject) => {
        const c = fork(self, ['--child', variant, '--kubeconfig', kubeconfig], {
          execArgv: [
            '--expose-gc',
            '--max-old-space-size=4096',
            ...(process.env.KUBE_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
          ],
        });
        let got: ChildReport | undefined;
        c.on('message', (m) => (got = m as ChildReport));
        c.on('exit', (code) => (got ? resolve(got) : reject(new Error(`child ${variant} exited ${code}`))));
      });
      reports.push(report);
      log(`${variant}: synced in ${report.syncMs} ms`);
    }
    const f = (n: number) => n.toFixed(0).padStart(7);
    process.stdout.write(
      [
        `Kubernetes store, ${pods} pods, ${services} services + ${services} endpoint slices, ${nodes} nodes (listed from the stand-in API server)`,
        `variant   RSS MB  (process baseline)  store RSS MB  heap used MB  peak RSS MB  first sync ms  workloads  services  model JSON MB`,
        ...reports.map(
          (r) =>
            `${r.variant.padEnd(8)} ${f(r.rssMb)}  ${f(r.baselineRssMb)}            ${f(r.rssMb - r.baselineRssMb)}       ${f(r.heapUsedMb)}      ${f(r.peakRssMb)}        ${f(r.syncMs)}    ${f(r.workloads)}   ${f(r.services)}  ${(r.cachedBytes / 1048576).toFixed(1).padStart(8)}`,
        ),
        '',
      ].join('\n'),
    );
  } finally {
    await fake.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
