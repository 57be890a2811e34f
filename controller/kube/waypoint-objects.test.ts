// The rendered waypoint objects: each validates against the maintained Kubernetes schemas
// (kubernetes-models), carries the Gateway as its owner and the managed-by label, and says what
// the contract asks (identity, ports, readiness, credentials, replicas, disruption budget).
import { describe, expect, it } from 'vitest';
import { ServiceAccount, ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  DEFAULT_WAYPOINT_REPLICAS,
  REPLICAS_ANNOTATION,
  objectPath,
  renderRootCertConfigMap,
  renderWaypointObjects,
  waypointReplicas,
  type OwnedObject,
  type WaypointGateway,
} from './waypoint-objects.js';

const gateway: WaypointGateway = { namespace: 'shop', name: 'waypoint', uid: 'uid-1' };
const input = {
  gateway,
  image: 'ghcr.io/ambit-mesh/ambit:0.1.0',
  controllerAddress: 'ambit-controller.ambit-system.svc:15010',
};

function render(g: WaypointGateway = gateway): OwnedObject[] {
  const r = renderWaypointObjects({ ...input, gateway: g });
  if (!r.ok) throw new Error(r.reason);
  return r.objects;
}

function byKind(objects: OwnedObject[], kind: string): Record<string, unknown> {
  const o = objects.find((x) => x.kind === kind);
  if (!o) throw new Error(`no ${kind} rendered`);
  return o;
}

/** The pod template's container, read through JSON so the test asserts on plain data. */
function container(objects: OwnedObject[]): Record<string, unknown> {
  const d = JSON.parse(JSON.stringify(byKind(objects, 'Deployment'))) as {
    spec: { template: { spec: { containers: Record<string, unknown>[] } } };
  };
  const c = d.spec.template.spec.containers[0];
  if (!c) throw new Error('no container');
  return c;
}

describe('renderWaypointObjects', () => {
  it('renders objects that validate against the Kubernetes schemas', () => {
    const objects = [
      ...render(),
      renderRootCertConfigMap('shop', [gateway], '-----BEGIN CERTIFICATE-----\n'),
    ];
    const models: Record<string, new (data: object) => { validate(): void }> = {
      ServiceAccount,
      ConfigMap,
      Service,
      Deployment,
      PodDisruptionBudget,
    };
    expect(objects.map((o) => o.kind).sort()).toStrictEqual([
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
    ]);
    for (const o of objects) {
      const Model = models[o.kind];
      if (!Model) throw new Error(`no model for ${o.kind}`);
      expect(() => new Model(o).validate(), `${o.kind} validates`).not.toThrow();
    }
  });

  it('the schema check is real: a broken Deployment is refused', () => {
    const d = structuredClone(byKind(render(), 'Deployment')) as { spec: Record<string, unknown> };
    d.spec.replicas = 'two';
    const Model: new (data: object) => { validate(): void } = Deployment;
    expect(() => new Model(d).validate()).toThrow();
  });

  it('gives every object the Gateway as its controller owner and the managed-by label', () => {
    for (const o of render()) {
      expect(o.metadata).toMatchObject({
        name: 'waypoint',
        namespace: 'shop',
        labels: {
          'gateway.networking.k8s.io/gateway-name': 'waypoint',
          'ambit.dev/managed-by': 'ambit-controller',
        },
        ownerReferences: [
          {
            apiVersion: 'gateway.networking.k8s.io/v1',
            kind: 'Gateway',
            name: 'waypoint',
            uid: 'uid-1',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      });
    }
  });

  it('runs the pods as the ServiceAccount named after the Gateway (the waypoint identity ns/shop/sa/waypoint)', () => {
    const objects = render();
    const d = byKind(objects, 'Deployment') as {
      spec: { template: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> } };
    };
    expect(byKind(objects, 'ServiceAccount')).toMatchObject({ metadata: { name: 'waypoint' } });
    expect(d.spec.template.spec.serviceAccountName).toBe('waypoint');
    expect(d.spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(d.spec.template.metadata.labels).toMatchObject({
      'gateway.networking.k8s.io/gateway-name': 'waypoint',
      'ambit.dev/dataplane-mode': 'none',
    });
  });

  it('runs `ambit waypoint` with the contract flags, its own pod IP and the bench-derived limits', () => {
    const c = container(render());
    expect(c.args).toStrictEqual([
      'waypoint',
      '--name',
      'shop/waypoint',
      '--controller',
      'ambit-controller.ambit-system.svc:15010',
      '--state-dir',
      '/var/run/ambit',
      '--token-file',
      '/var/run/ambit/token',
      '--address',
      '$(POD_IP)',
    ]);
    expect(c.env).toContainEqual({ name: 'NODE_OPTIONS', value: '--max-semi-space-size=2' });
    expect(c.env).toContainEqual({ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    expect(c.ports).toStrictEqual([
      { name: 'hbone', containerPort: 15008, protocol: 'TCP' },
      { name: 'ready', containerPort: 15021, protocol: 'TCP' },
      { name: 'metrics', containerPort: 15090, protocol: 'TCP' },
    ]);
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/healthz/ready', port: 15021 } });
    expect(c.resources).toStrictEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '256Mi' },
    });
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('mounts a projected token (audience ambit) and the trust root in the state dir', () => {
    const d = byKind(render(), 'Deployment') as {
      spec: { template: { spec: { volumes: { name: string; projected?: { sources: unknown[] } }[] } } };
    };
    const creds = d.spec.template.spec.volumes.find((v) => v.name === 'ambit-credentials');
    expect(creds?.projected?.sources).toStrictEqual([
      { serviceAccountToken: { audience: 'ambit', expirationSeconds: 3600, path: 'token' } },
      { configMap: { name: 'ambit-root-cert', items: [{ key: 'root-cert.pem', path: 'root-cert.pem' }] } },
    ]);
  });

  it('rolls without losing a ready instance and drains within the grace period', () => {
    const d = byKind(render(), 'Deployment') as {
      spec: { strategy: unknown; template: { spec: { terminationGracePeriodSeconds: number } } };
    };
    expect(d.spec.strategy).toStrictEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    // the waypoint drains 20 s (--drain default) and exits hard 5 s later
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(25);
  });

  it('exposes HBONE, readiness and metrics on a ClusterIP Service that never uses a waypoint itself', () => {
    const s = byKind(render(), 'Service');
    expect(s).toMatchObject({
      metadata: { labels: { 'ambit.dev/use-waypoint': 'none' } },
      spec: {
        type: 'ClusterIP',
        selector: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' },
        ports: [
          { name: 'hbone', port: 15008 },
          { name: 'ready', port: 15021 },
          { name: 'metrics', port: 15090 },
        ],
      },
    });
  });

  it.each([
    { annotation: undefined, replicas: DEFAULT_WAYPOINT_REPLICAS, pdb: { minAvailable: 1 } },
    { annotation: '3', replicas: 3, pdb: { minAvailable: 1 } },
    // one replica: minAvailable 1 would block every node drain
    { annotation: '1', replicas: 1, pdb: { maxUnavailable: 1 } },
    { annotation: '0', replicas: 0, pdb: { maxUnavailable: 1 } },
  ])('replicas from the annotation $annotation: $replicas, budget $pdb', ({ annotation, replicas, pdb }) => {
    const objects = render({
      ...gateway,
      annotations: annotation === undefined ? undefined : { [REPLICAS_ANNOTATION]: annotation },
    });
    expect(byKind(objects, 'Deployment')).toMatchObject({ spec: { replicas } });
    expect((byKind(objects, 'PodDisruptionBudget') as { spec: unknown }).spec).toStrictEqual({
      ...pdb,
      selector: { matchLabels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' } },
    });
  });

  it.each(['two', '-1', '1.5', '101', ''])(
    'a bad replicas annotation %j falls back to the default with a warning',
    (v) => {
      const r = waypointReplicas({ [REPLICAS_ANNOTATION]: v });
      expect(r.replicas).toBe(DEFAULT_WAYPOINT_REPLICAS);
      expect(r.warning).toContain(REPLICAS_ANNOTATION);
    },
  );

  it('refuses a Gateway name that cannot name a Service', () => {
    const r = renderWaypointObjects({ ...input, gateway: { ...gateway, name: '1st.waypoint' } });
    expect(r).toMatchObject({ ok: false });
    expect(r.ok ? '' : r.reason).toContain('shop/1st.waypoint');
  });
});

describe('renderRootCertConfigMap', () => {
  it('is owned by every waypoint of the namespace, none as controller', () => {
    const cm = renderRootCertConfigMap(
      'shop',
      [
        { namespace: 'shop', name: 'b', uid: 'uid-b' },
        { namespace: 'shop', name: 'a', uid: 'uid-a' },
      ],
      'PEM',
    );
    expect(cm.data).toStrictEqual({ 'root-cert.pem': 'PEM' });
    expect(cm.metadata.labels).toStrictEqual({ 'ambit.dev/managed-by': 'ambit-controller' });
    expect(cm.metadata.ownerReferences.map((r) => [r.name, r.uid, r.controller])).toStrictEqual([
      ['a', 'uid-a', false],
      ['b', 'uid-b', false],
    ]);
  });
});

describe('objectPath', () => {
  it.each([
    ['ServiceAccount', 'shop', 'w', '/api/v1/namespaces/shop/serviceaccounts/w'],
    ['Deployment', 'shop', 'w', '/apis/apps/v1/namespaces/shop/deployments/w'],
    ['PodDisruptionBudget', 'shop', undefined, '/apis/policy/v1/namespaces/shop/poddisruptionbudgets'],
    ['ConfigMap', undefined, undefined, '/api/v1/configmaps'],
  ] as const)('%s %s/%s -> %s', (kind, ns, name, path) => {
    expect(objectPath(kind, ns, name)).toBe(path);
  });
});
