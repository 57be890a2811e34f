// The kustomize base deploy/daemonset: the real `kubectl kustomize` renders it, every rendered
// object validates against the maintained Kubernetes and Gateway API schemas (kubernetes-models,
// @kubernetes-models/gateway-api), and the base keeps the contract: ports per component (DESIGN.md
// §4), node credentials by projected token, least-privilege RBAC, the DaemonSets' privilege,
// mounts and rollouts, the controller's replicas, probes and disruption budget, and what lets a
// ztunnel upgrade hand its listeners over with no connection refused (issue 11): a surge rollout
// with no hostPorts, a readiness probe only the new process answers, tcp_migrate_req on the node.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { BASE_DIR, field, find, modelFor, renderBase, type K8sObject } from './deploy-render.test-helper.js';
import { NODE_SERVICE_ACCOUNT } from '../../controller/kube/token-review-decision.js';
import { durationToMs } from '../../core/model/resources/values.js';

interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name: string; containerPort: number; hostPort?: number }[];
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  lifecycle?: Record<string, unknown>;
  securityContext?: {
    runAsUser?: number;
    privileged?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
    allowPrivilegeEscalation?: boolean;
  };
  volumeMounts?: {
    name: string;
    mountPath: string;
    subPath?: string;
    readOnly?: boolean;
    mountPropagation?: string;
  }[];
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const objects = renderBase();
const podSpec = (o: K8sObject) => field(o, 'spec', 'template', 'spec') as Record<string, unknown>;
const containersOf = (o: K8sObject) => (podSpec(o).containers ?? []) as Container[];
const initContainersOf = (o: K8sObject) => (podSpec(o).initContainers ?? []) as Container[];
const daemonSet = find(objects, 'DaemonSet', 'ambit-node');
const ztunnelSet = find(objects, 'DaemonSet', 'ambit-ztunnel');
const deployment = find(objects, 'Deployment', 'ambit-controller');
const workloads = [daemonSet, ztunnelSet, deployment];
/** Every container and init container of the base by name (names are unique across workloads). */
const containers = new Map(
  workloads.flatMap((w) => [...initContainersOf(w), ...containersOf(w)]).map((c) => [c.name, c]),
);
function container(name: string): Container {
  const c = containers.get(name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}
/** The workload (DaemonSet or Deployment) whose pod template holds container `name`. */
function ownerOf(name: string): K8sObject {
  const w = workloads.find((o) => [...initContainersOf(o), ...containersOf(o)].some((c) => c.name === name));
  if (!w) throw new Error(`no workload runs container ${name}`);
  return w;
}
interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  emptyDir?: Record<string, unknown>;
  [source: string]: unknown;
}
const volumesOf = (o: K8sObject) => (podSpec(o).volumes ?? []) as Volume[];
/** The volume behind a container's mount, from the pod spec of the workload that runs it. */
function volumeOf(containerName: string, mountName: string): Volume | undefined {
  return volumesOf(ownerOf(containerName)).find((v) => v.name === mountName);
}
const argAfter = (c: Container, flag: string) => c.args?.[(c.args?.indexOf(flag) ?? -2) + 1];
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'GatewayClass',
]);

describe('deploy/daemonset renders and validates', () => {
  it('renders every manifest the base lists, and only those kinds', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole/ambit-controller',
        'ClusterRoleBinding/ambit-controller',
        'CustomResourceDefinition/authorizationpolicies.security.ambit.dev',
        'CustomResourceDefinition/peerauthentications.security.ambit.dev',
        'CustomResourceDefinition/trafficpolicies.networking.ambit.dev',
        'DaemonSet/ambit-node',
        'DaemonSet/ambit-ztunnel',
        'Deployment/ambit-controller',
        'GatewayClass/ambit-waypoint',
        'Namespace/ambit-system',
        'PodDisruptionBudget/ambit-controller',
        'Role/ambit-controller',
        'RoleBinding/ambit-controller',
        'Service/ambit-controller',
        'ServiceAccount/ambit-controller',
        'ServiceAccount/ambit-node',
      ].sort(),
    );
  });

  it.each(objects.map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))(
    '%s validates against its maintained schema',
    (_label, obj) => {
      const Model = modelFor(obj);
      expect(Model, `no kubernetes-models model covers ${obj.apiVersion} ${obj.kind}`).toBeDefined();
      if (Model) expect(() => new Model(obj).validate()).not.toThrow();
    },
  );

  it('a broken object fails the same validation (the check has teeth)', () => {
    const broken = structuredClone(deployment);
    (broken.spec as Record<string, unknown>).replicas = 'two';
    const Model = modelFor(broken);
    expect(Model).toBeDefined();
    if (Model) expect(() => new Model(broken).validate()).toThrow(/replicas/);
  });

  it('namespaced objects live in ambit-system; cluster-scoped ones carry no namespace', () => {
    for (const o of objects) {
      const ns = o.metadata.namespace;
      expect(ns, `${o.kind} ${o.metadata.name}`).toBe(
        CLUSTER_SCOPED.has(o.kind) ? undefined : 'ambit-system',
      );
    }
  });

  it('runs one image for every container, set by the kustomization', () => {
    const k = parse(readFileSync(path.join(BASE_DIR, 'kustomization.yaml'), 'utf8')) as {
      images: { name: string; newName: string; newTag: string }[];
    };
    expect(k.images.map((i) => i.name)).toEqual(['ambit']);
    const image = `${k.images[0]?.newName}:${k.images[0]?.newTag}`;
    expect(containers.size).toBe(4); // agent, tcp-migrate-req, ztunnel, controller
    for (const c of containers.values()) expect(c.image, c.name).toBe(image);
  });

  it('declares the waypoint GatewayClass for the waypoint controller', () => {
    expect(find(objects, 'GatewayClass', 'ambit-waypoint').spec).toMatchObject({
      controllerName: 'ambit.dev/waypoint-controller',
    });
  });
});

describe('deploy/daemonset keeps the contract', () => {
  it('keeps the contract ports, each on the component that owns it', () => {
    // DESIGN.md §4: the ztunnel listens on 15001/15006/15008/15020/15021 by its own defaults and
    // declares none of them (they would be hostPorts; see the upgrade tests below); 15010 on the
    // controller.
    expect(container('ztunnel').args).not.toContain('--address');
    expect(container('ztunnel').ports).toBeUndefined();
    expect(container('controller').ports).toEqual([
      { name: 'grpc', containerPort: 15010 },
      { name: 'metrics', containerPort: 15014 },
    ]);
    expect(argAfter(container('controller'), '--metrics-listen')).toBe('0.0.0.0:15014');
    expect(argAfter(container('controller'), '--listen')).toBe('0.0.0.0:15010');
    expect(find(objects, 'Service', 'ambit-controller').spec).toMatchObject({
      ports: [{ name: 'grpc', port: 15010, targetPort: 15010 }],
    });
  });

  it('nodes bootstrap with a projected service-account token, never the join-token', () => {
    for (const name of ['agent', 'ztunnel']) {
      const volume = (v: string) => volumeOf(name, v);
      expect(field(volume('token'), 'projected', 'sources', 0, 'serviceAccountToken'), name).toEqual({
        audience: 'ambit',
        expirationSeconds: 3600,
        path: 'token',
      });
      expect(field(volume('root-cert'), 'configMap'), name).toEqual({
        name: 'ambit-root-cert',
        items: [{ key: 'root-cert.pem', path: 'root-cert.pem' }],
      });
      expect(field(volume('state'), 'hostPath'), name).toEqual({
        path: '/var/lib/ambit',
        type: 'DirectoryOrCreate',
      });
      const c = container(name);
      expect(argAfter(c, '--controller'), name).toBe('ambit-controller.ambit-system.svc:15010');
      expect(argAfter(c, '--token-file'), name).toBe('/var/run/secrets/ambit/token');
      expect(argAfter(c, '--state-dir'), name).toBe('/var/lib/ambit');
      expect(c.args?.join(' '), name).not.toMatch(/join-token/);
      const mounts = c.volumeMounts ?? [];
      expect(mounts.find((m) => m.name === 'token')?.mountPath, name).toBe('/var/run/secrets/ambit');
      // the trust root sits at <state-dir>/root-cert.pem (DESIGN.md §2)
      expect(
        mounts.find((m) => m.name === 'root-cert'),
        name,
      ).toEqual({
        name: 'root-cert',
        mountPath: '/var/lib/ambit/root-cert.pem',
        subPath: 'root-cert.pem',
        readOnly: true,
      });
    }
    // both node DaemonSets run as the node ServiceAccount, the one TokenReview maps to the pod's
    // node (controller/kube/token-review-decision.ts); its API token is not mounted at all
    for (const ds of [daemonSet, ztunnelSet]) {
      expect(podSpec(ds).serviceAccountName, ds.metadata.name).toBe(NODE_SERVICE_ACCOUNT);
      expect(podSpec(ds).automountServiceAccountToken, ds.metadata.name).toBe(false);
    }
    expect(find(objects, 'ServiceAccount', NODE_SERVICE_ACCOUNT).automountServiceAccountToken).toBe(false);
  });

  it('the node DaemonSets run on every node with named capabilities, not privileged', () => {
    for (const ds of [daemonSet, ztunnelSet]) {
      const spec = podSpec(ds);
      const name = ds.metadata.name;
      expect(spec.hostNetwork, name).toBe(true);
      expect(spec.dnsPolicy, name).toBe('ClusterFirstWithHostNet');
      expect(spec.priorityClassName, name).toBe('system-node-critical');
      expect(spec.tolerations, name).toEqual([{ operator: 'Exists' }]);
    }
    const caps = (name: string) => container(name).securityContext?.capabilities;
    expect(caps('agent')).toEqual({ drop: ['ALL'], add: ['BPF', 'NET_ADMIN', 'SYS_ADMIN'] });
    expect(caps('ztunnel')).toEqual({ drop: ['ALL'], add: ['BPF'] });
    expect(caps('tcp-migrate-req')).toEqual({ drop: ['ALL'] });
    for (const c of containers.values()) {
      expect(c.securityContext?.privileged, c.name).toBeUndefined();
      expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
      expect(c.resources?.requests?.cpu, c.name).toBeTruthy();
      expect(c.resources?.requests?.memory, c.name).toBeTruthy();
      expect(c.resources?.limits?.memory, c.name).toBeTruthy();
      // Bidirectional propagation would need privileged
      for (const m of c.volumeMounts ?? [])
        expect(m.mountPropagation, `${c.name} ${m.name}`).not.toBe('Bidirectional');
    }
    const hostPaths = Object.fromEntries(
      volumesOf(daemonSet)
        .filter((v) => v.hostPath)
        .map((v) => [v.name, v.hostPath?.path]),
    );
    const agentMounts = Object.fromEntries(
      (container('agent').volumeMounts ?? []).map((m) => [hostPaths[m.name] ?? m.name, m]),
    );
    expect(agentMounts['/sys/fs/bpf']).toMatchObject({
      mountPath: '/sys/fs/bpf',
      mountPropagation: 'HostToContainer',
    });
    expect(agentMounts['/sys/fs/cgroup']).toMatchObject({ mountPath: '/sys/fs/cgroup', readOnly: true });
    expect(agentMounts['/proc']).toMatchObject({ mountPath: '/host/proc', readOnly: true });
    expect(agentMounts['/var/lib/ambit']?.readOnly).toBeUndefined();
    expect(container('agent').readinessProbe?.exec).toBeDefined();
  });

  it('the controller runs 2 replicas in the cluster, probed over TCP, with a disruption budget', () => {
    const spec = deployment.spec as Record<string, unknown>;
    expect(spec.replicas).toBe(2);
    const c = container('controller');
    // in a pod with neither --config nor --kubeconfig the controller uses its service account
    expect(c.args).not.toContain('--kubeconfig');
    expect(c.args).not.toContain('--config');
    expect(c.env?.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath])).toEqual([
      ['POD_NAME', 'metadata.name'],
      ['POD_NAMESPACE', 'metadata.namespace'],
    ]);
    expect(c.readinessProbe?.tcpSocket).toEqual({ port: 15010 });
    expect(c.livenessProbe?.tcpSocket).toEqual({ port: 15010 });
    expect(c.securityContext?.capabilities).toEqual({ drop: ['ALL'] });
    expect(field(podSpec(deployment), 'securityContext', 'runAsNonRoot')).toBe(true);
    expect(
      field(
        podSpec(deployment),
        'affinity',
        'podAntiAffinity',
        'preferredDuringSchedulingIgnoredDuringExecution',
        0,
      ),
    ).toMatchObject({ podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } });
    const pdb = find(objects, 'PodDisruptionBudget', 'ambit-controller');
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: field(deployment, 'spec', 'selector') });
  });
});

describe('a ztunnel upgrade hands the listeners over (issue 11)', () => {
  const ztunnel = container('ztunnel');
  const sysctl = container('tcp-migrate-req');
  const MIGRATE_REQ = '/proc/sys/net/ipv4/tcp_migrate_req';

  it('the ztunnel surges (new pod beside the old), the agent never does', () => {
    expect(field(ztunnelSet, 'spec', 'updateStrategy')).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    // two agents on a node would fight over the pins: the old one goes first
    expect(field(daemonSet, 'spec', 'updateStrategy')).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    expect(containersOf(daemonSet).map((c) => c.name)).toEqual(['agent']);
    expect(containersOf(ztunnelSet).map((c) => c.name)).toEqual(['ztunnel']);
  });

  it('the surge pod asks for no hostPort, so the scheduler places it beside the old one', () => {
    // with hostNetwork every containerPort is a hostPort, which the NodePorts filter lets one pod hold
    expect(podSpec(ztunnelSet).hostNetwork).toBe(true);
    for (const c of [...initContainersOf(ztunnelSet), ...containersOf(ztunnelSet)]) {
      expect(c.ports, c.name).toBeUndefined();
    }
  });

  it("readiness is the new process's own: an exec of its ready file in the pod's emptyDir", () => {
    const readyFile = argAfter(ztunnel, '--ready-file');
    expect(readyFile).toMatch(/^\//);
    expect(ztunnel.readinessProbe).toMatchObject({ exec: { command: ['test', '-e', readyFile] } });
    // an httpGet or tcpSocket to 15021 may be answered by the old process through SO_REUSEPORT
    expect(ztunnel.readinessProbe?.httpGet).toBeUndefined();
    expect(ztunnel.readinessProbe?.tcpSocket).toBeUndefined();
    expect(ztunnel.livenessProbe).toBeUndefined();
    // the file's directory is this pod's own (an emptyDir), not a hostPath both pods would share
    const mount = (ztunnel.volumeMounts ?? []).find((m) => path.dirname(readyFile ?? '') === m.mountPath);
    expect(mount, "the ready file's directory is a mount").toBeDefined();
    const volume = volumeOf('ztunnel', mount?.name ?? '');
    expect(volume?.emptyDir).toBeDefined();
    expect(volume?.hostPath).toBeUndefined();
    expect(mount?.readOnly).toBeUndefined();
  });

  it('old and new run as the same user (the kernel groups SO_REUSEPORT sockets per effective UID)', () => {
    // one pod template makes both, so a fixed runAsUser is the same in both; the pod level sets none
    expect(ztunnel.securityContext?.runAsUser).toBe(0);
    expect(field(podSpec(ztunnelSet), 'securityContext', 'runAsUser')).toBeUndefined();
  });

  it('the old pod drains on SIGTERM within its grace period, with no preStop hook', () => {
    const drain = argAfter(ztunnel, '--drain-limit');
    expect(drain).toBeDefined();
    const drainMs = durationToMs(drain ?? '');
    expect(drainMs).toBeGreaterThan(5_000);
    const grace = podSpec(ztunnelSet).terminationGracePeriodSeconds as number;
    // the margin: the process's own hard exit is at the drain limit, the kubelet's SIGKILL after
    expect(grace * 1000).toBeGreaterThanOrEqual(drainMs + 5_000);
    expect(ztunnel.lifecycle?.preStop).toBeUndefined();
  });

  it("tcp_migrate_req: an init container with no capability, as the owner (uid 0) of the host's net.ipv4 sysctls", () => {
    expect(initContainersOf(ztunnelSet).map((c) => c.name)).toEqual(['tcp-migrate-req']);
    // uid 0 owns a netns's sysctl files; CAP_NET_ADMIN would only extend that to other uids, and
    // in the host's network namespace it would also allow routes, addresses and netfilter
    expect(sysctl.securityContext).toEqual({
      runAsUser: 0,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(sysctl.securityContext?.privileged).toBeUndefined();
    // one mount, the host's /proc/sys/net/ipv4; a net sysctl acts on the writer's network
    // namespace, the host's since the pod is hostNetwork (checked above)
    expect(
      sysctl.volumeMounts?.map((m) => [volumeOf('tcp-migrate-req', m.name)?.hostPath?.path, m.readOnly]),
    ).toEqual([['/proc/sys/net/ipv4', undefined]]);
  });

  /** Runs the init container's script with its mount at `dir`; returns the files there after. */
  function runSysctlScript(dir: string): { out: string; files: Record<string, string> } {
    const mountPath = sysctl.volumeMounts?.[0]?.mountPath ?? '';
    expect(sysctl.command?.slice(0, 2)).toEqual(['sh', '-c']);
    const script = (sysctl.command?.[2] ?? '').replaceAll(mountPath, dir);
    expect(script).not.toContain('/host/');
    const out = execFileSync('sh', ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const files = Object.fromEntries(
      readdirSync(dir, { withFileTypes: true })
        .filter((f) => f.isFile())
        .map((f) => [f.name, readFileSync(path.join(dir, f.name), 'utf8')]),
    );
    return { out, files };
  }

  it('the init container writes 1 to tcp_migrate_req and touches no other sysctl', () => {
    const mountPath = sysctl.volumeMounts?.[0]?.mountPath ?? '';
    expect(`${mountPath}/tcp_migrate_req`).toBe(`/host${MIGRATE_REQ}`);
    const dir = mkdtempSync(path.join(tmpdir(), 'ambit-sysctl-'));
    try {
      writeFileSync(path.join(dir, 'tcp_migrate_req'), '0\n');
      writeFileSync(path.join(dir, 'ip_forward'), '0\n');
      const { out, files } = runSysctlScript(dir);
      expect(files).toEqual({ tcp_migrate_req: '1\n', ip_forward: '0\n' });
      expect(out).toContain('net.ipv4.tcp_migrate_req=1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on a kernel without tcp_migrate_req (< 5.14) it says so and lets the pod start', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ambit-sysctl-'));
    try {
      const { out, files } = runSysctlScript(dir); // throws on a non-zero exit
      expect(files).toEqual({});
      expect(out).toMatch(/tcp_migrate_req is missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the write is refused it says so and lets the pod start (a fresh node must get a ztunnel)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ambit-sysctl-'));
    try {
      // a directory in the sysctl's place: the write fails whatever the test's privileges
      mkdirSync(path.join(dir, 'tcp_migrate_req'));
      const { out } = runSysctlScript(dir); // throws on a non-zero exit
      expect(out).toMatch(/cannot set net.ipv4.tcp_migrate_req/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/daemonset RBAC is least privilege', () => {
  const clusterRules = find(objects, 'ClusterRole', 'ambit-controller').rules as Rule[];
  const roleRules = find(objects, 'Role', 'ambit-controller').rules as Rule[];
  /** group/resource -> verbs (with resourceNames when narrowed) */
  const grants = (rules: Rule[]) => {
    const out: Record<string, string[]> = {};
    for (const r of rules) {
      for (const g of r.apiGroups) {
        for (const res of r.resources) {
          const key = `${g || 'core'}/${res}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''}`;
          out[key] = [...(out[key] ?? []), ...r.verbs].sort();
        }
      }
    }
    return out;
  };
  const read = ['get', 'list', 'watch'];
  const manage = ['create', 'delete', 'get', 'list', 'update', 'watch'];

  it('the controller ClusterRole grants exactly what the controller does', () => {
    expect(grants(clusterRules)).toEqual({
      'core/namespaces': read,
      'core/pods': read,
      'core/nodes': ['get', 'list', 'patch', 'watch'],
      'core/services': manage,
      // ambit-root-cert in ambit-system and in each waypoint namespace; listed, never watched
      'core/configmaps': ['create', 'delete', 'get', 'list', 'update'],
      'core/serviceaccounts': manage,
      'discovery.k8s.io/endpointslices': read,
      'apps/deployments': manage,
      'policy/poddisruptionbudgets': manage,
      'gateway.networking.k8s.io/gatewayclasses': read,
      'gateway.networking.k8s.io/gateways': read,
      'gateway.networking.k8s.io/httproutes': read,
      'gateway.networking.k8s.io/grpcroutes': read,
      'gateway.networking.k8s.io/gateways/status': ['patch', 'update'],
      'gateway.networking.k8s.io/httproutes/status': ['patch', 'update'],
      'gateway.networking.k8s.io/grpcroutes/status': ['patch', 'update'],
      'gateway.networking.k8s.io/gateways/finalizers': ['update'],
      'security.ambit.dev/authorizationpolicies': read,
      'security.ambit.dev/peerauthentications': read,
      'networking.ambit.dev/trafficpolicies': read,
      'authentication.k8s.io/tokenreviews': ['create'],
    });
  });

  it('Leases and the CA Secret only in ambit-system, the Secret narrowed by name', () => {
    expect(grants(roleRules)).toEqual({
      'coordination.k8s.io/leases': ['create', 'get', 'update'],
      'core/secrets[ambit-ca]': ['get', 'update'],
      // create cannot be narrowed by name in RBAC
      'core/secrets': ['create'],
    });
  });

  it('no wildcard anywhere, and the node ServiceAccount is bound to nothing', () => {
    for (const r of [...clusterRules, ...roleRules]) {
      expect([...r.apiGroups, ...r.resources, ...r.verbs]).not.toContain('*');
    }
    const bindings = objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
    expect(bindings.flatMap((b) => b.subjects as { name: string; namespace: string }[])).toEqual([
      { kind: 'ServiceAccount', name: 'ambit-controller', namespace: 'ambit-system' },
      { kind: 'ServiceAccount', name: 'ambit-controller', namespace: 'ambit-system' },
    ]);
  });

  it('every Ambit CRD kind is one the controller may watch', () => {
    const g = grants(clusterRules);
    for (const crd of objects.filter((o) => o.kind === 'CustomResourceDefinition')) {
      const key = `${String(field(crd, 'spec', 'group'))}/${String(field(crd, 'spec', 'names', 'plural'))}`;
      expect(g[key], key).toEqual(read);
    }
  });
});
