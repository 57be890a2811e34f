// The kustomize base deploy/daemonset: the real `kubectl kustomize` renders it, every rendered
// object validates against the maintained Kubernetes and Gateway API schemas (kubernetes-models,
// @kubernetes-models/gateway-api), and the base keeps the contract: ports per component (DESIGN.md
// §4), node credentials by projected token, least-privilege RBAC, the DaemonSet's privilege,
// mounts and rollout, the controller's replicas, probes and disruption budget.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { BASE_DIR, field, find, modelFor, renderBase, type K8sObject } from './deploy-render.test-helper.js';

interface Container {
  name: string;
  image?: string;
  args?: string[];
  env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
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
const daemonSet = find(objects, 'DaemonSet', 'ambit-node');
const deployment = find(objects, 'Deployment', 'ambit-controller');
const containers = new Map([...containersOf(daemonSet), ...containersOf(deployment)].map((c) => [c.name, c]));
function container(name: string): Container {
  const c = containers.get(name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
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
    expect([...containers.values()].map((c) => c.image)).toEqual([image, image, image]);
  });

  it('declares the waypoint GatewayClass for the waypoint controller', () => {
    expect(find(objects, 'GatewayClass', 'ambit-waypoint').spec).toMatchObject({
      controllerName: 'ambit.dev/waypoint-controller',
    });
  });
});

describe('deploy/daemonset keeps the contract', () => {
  it('keeps the contract ports, each on the component that owns it', () => {
    // DESIGN.md §4: 15008 HBONE, 15020 metrics, 15021 readiness on the ztunnel; 15010 on the controller.
    expect(container('ztunnel').ports).toEqual([
      { name: 'hbone', containerPort: 15008 },
      { name: 'metrics', containerPort: 15020 },
      { name: 'ready', containerPort: 15021 },
    ]);
    expect(container('ztunnel').readinessProbe?.httpGet).toEqual({ path: '/healthz/ready', port: 15021 });
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
    const volumes = podSpec(daemonSet).volumes as Record<string, unknown>[];
    const volume = (name: string) => volumes.find((v) => v.name === name);
    expect(field(volume('token'), 'projected', 'sources', 0, 'serviceAccountToken')).toEqual({
      audience: 'ambit',
      expirationSeconds: 3600,
      path: 'token',
    });
    expect(field(volume('root-cert'), 'configMap')).toEqual({
      name: 'ambit-root-cert',
      items: [{ key: 'root-cert.pem', path: 'root-cert.pem' }],
    });
    expect(field(volume('state'), 'hostPath')).toEqual({ path: '/var/lib/ambit', type: 'DirectoryOrCreate' });
    for (const name of ['agent', 'ztunnel']) {
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
    // the node ServiceAccount's API token is not mounted at all
    expect(podSpec(daemonSet).automountServiceAccountToken).toBe(false);
    expect(find(objects, 'ServiceAccount', 'ambit-node').automountServiceAccountToken).toBe(false);
  });

  it('the node DaemonSet runs on every node with named capabilities, not privileged', () => {
    const spec = podSpec(daemonSet);
    expect(spec.hostNetwork).toBe(true);
    expect(spec.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(spec.priorityClassName).toBe('system-node-critical');
    expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(field(daemonSet, 'spec', 'updateStrategy')).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    // longer than the ztunnel's 5 s drain
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(5);
    const caps = (name: string) => container(name).securityContext?.capabilities;
    expect(caps('agent')).toEqual({ drop: ['ALL'], add: ['BPF', 'NET_ADMIN', 'SYS_ADMIN'] });
    expect(caps('ztunnel')).toEqual({ drop: ['ALL'], add: ['BPF'] });
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
      (spec.volumes as { name: string; hostPath?: { path: string } }[])
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
