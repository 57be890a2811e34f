// Pure rendering of what the controller keeps for a waypoint Gateway (class ambit-waypoint) in a
// cluster (DESIGN.md §6, issue 10): its ServiceAccount (the waypoint's identity ns/<ns>/sa/<gateway>),
// Deployment, Service and PodDisruptionBudget, all owned by the Gateway, plus the namespace's copy
// of the trust root (ConfigMap ambit-root-cert) that the pods mount. No I/O here: the reconciler
// (waypoint-deployments.ts) reads the Gateway and writes what this returns.
//
// Choices, with their reasons:
// - replicas: the Gateway annotation ambit.dev/waypoint-replicas, default 2. Istio defaults to 1,
//   but Ambit fails closed when no instance is ready (docs/waypoint.md), so one replica means an
//   outage on every node drain or pod eviction; two survive one.
// - PodDisruptionBudget: minAvailable 1 with two or more replicas; with one (or zero) replicas,
//   maxUnavailable 1, because minAvailable 1 over one pod blocks `kubectl drain` forever.
// - resources, from the waypoint bench (bench/l7, issue 9's closing note): RSS 95 MB idle, 118-123
//   MB at 1,000 req/s up to saturation, 92-96 MB with --max-semi-space-size=2 (set here through
//   NODE_OPTIONS); so request 128Mi and limit 256Mi (twice the measured peak: 1 MiB replay buffers
//   per request in flight and mirrors come on top). CPU: 0.5 vCPU per 1,000 req/s, and one process
//   saturates near one core (~2,800 req/s); request 100m (~200 req/s steady) and no CPU limit, since
//   CFS throttling of a single event loop only adds latency.
// - rolling update maxUnavailable 0 / maxSurge 1: a new pod is ready before an old one drains.
// - terminationGracePeriodSeconds 30: the waypoint drains for 20 s (--drain) and exits hard 5 s later.
// - the pods listen on their own IP (--address $(POD_IP)): without it every replica would take the
//   first instance's address from the mesh state.
import {
  DATAPLANE_MODE_LABEL,
  GATEWAY_NAME_LABEL,
  NO_WAYPOINT,
  USE_WAYPOINT_LABEL,
} from '../../core/model/mesh-labels.js';
import { ROOT_CERT_FILE } from '../../core/identity/controller-endpoint.js';
import { ROOT_CONFIGMAP, ROOT_CONFIGMAP_KEY } from './cluster-credentials.js';
import { TOKEN_AUDIENCE } from './token-review.js';

export const MANAGED_BY_LABEL = 'ambit.dev/managed-by';
export const MANAGED_BY = 'ambit-controller';
export const REPLICAS_ANNOTATION = 'ambit.dev/waypoint-replicas';
export const DEFAULT_WAYPOINT_REPLICAS = 2;
export const MAX_WAYPOINT_REPLICAS = 100;
/** The trust root's ConfigMap, in the controller's namespace and in every waypoint's. */
export const ROOT_CERT_CONFIGMAP = ROOT_CONFIGMAP;
/** Where a waypoint pod finds its projected token and the trust root (its --state-dir). */
export const WAYPOINT_CREDENTIALS_DIR = '/var/run/ambit';
export const WAYPOINT_NODE_OPTIONS = '--max-semi-space-size=2';
/** The user the image's node runtime runs as (as the controller's Deployment). */
const RUN_AS = 1000;
const HBONE_PORT = 15008;
const READY_PORT = 15021;
const METRICS_PORT = 15090;

/** The kinds the controller keeps for waypoints, with their API coordinates. */
export const WAYPOINT_OBJECT_KINDS = {
  ServiceAccount: { apiVersion: 'v1', plural: 'serviceaccounts' },
  ConfigMap: { apiVersion: 'v1', plural: 'configmaps' },
  Deployment: { apiVersion: 'apps/v1', plural: 'deployments' },
  Service: { apiVersion: 'v1', plural: 'services' },
  PodDisruptionBudget: { apiVersion: 'policy/v1', plural: 'poddisruptionbudgets' },
} as const;
export type WaypointObjectKind = keyof typeof WAYPOINT_OBJECT_KINDS;
/** Creation order: the identity and the root before the pods that use them. */
export const WAYPOINT_KIND_ORDER: readonly WaypointObjectKind[] = [
  'ServiceAccount',
  'ConfigMap',
  'Deployment',
  'Service',
  'PodDisruptionBudget',
];

/** `/api/v1/namespaces/<ns>/<plural>[/<name>]` or `/apis/<group>/<version>/...`. */
export function objectPath(kind: WaypointObjectKind, namespace: string | undefined, name?: string): string {
  const t = WAYPOINT_OBJECT_KINDS[kind];
  const base = t.apiVersion.includes('/') ? `/apis/${t.apiVersion}` : `/api/${t.apiVersion}`;
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${base}${ns}/${t.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

export interface OwnedObject {
  apiVersion: string;
  kind: WaypointObjectKind;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: OwnerReference[];
  };
  [field: string]: unknown;
}

/** What rendering needs of a Gateway: read from the API, since the uid is the owner's key. */
export interface WaypointGateway {
  namespace: string;
  name: string;
  uid: string;
  annotations?: Record<string, string> | undefined;
}

export interface WaypointRenderInput {
  gateway: WaypointGateway;
  image: string;
  /** host:port of the controller Service. */
  controllerAddress: string;
}

export type WaypointRender =
  { ok: true; objects: OwnedObject[]; replicas: number; warnings: string[] } | { ok: false; reason: string };

/** The replica count a Gateway asks for, or the default with a warning naming the bad value. */
export function waypointReplicas(annotations: Record<string, string> | undefined): {
  replicas: number;
  warning?: string;
} {
  const raw = annotations?.[REPLICAS_ANNOTATION];
  if (raw === undefined) return { replicas: DEFAULT_WAYPOINT_REPLICAS };
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (Number.isInteger(n) && n >= 0 && n <= MAX_WAYPOINT_REPLICAS) return { replicas: n };
  return {
    replicas: DEFAULT_WAYPOINT_REPLICAS,
    warning: `annotation ${REPLICAS_ANNOTATION}="${raw}" is not a whole number 0-${MAX_WAYPOINT_REPLICAS}; using ${DEFAULT_WAYPOINT_REPLICAS}`,
  };
}

/** A Service name must be an RFC 1035 label, which is stricter than a Gateway name. */
const RFC1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function gatewayOwnerReference(g: WaypointGateway, controller: boolean): OwnerReference {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    name: g.name,
    uid: g.uid,
    controller,
    blockOwnerDeletion: true,
  };
}

function meta(g: WaypointGateway, extraLabels: Record<string, string> = {}): OwnedObject['metadata'] {
  return {
    name: g.name,
    namespace: g.namespace,
    labels: { [GATEWAY_NAME_LABEL]: g.name, [MANAGED_BY_LABEL]: MANAGED_BY, ...extraLabels },
    ownerReferences: [gatewayOwnerReference(g, true)],
  };
}

/** The ServiceAccount, Deployment, Service and PodDisruptionBudget of one waypoint Gateway. */
export function renderWaypointObjects(input: WaypointRenderInput): WaypointRender {
  const g = input.gateway;
  if (!RFC1035_LABEL.test(g.name)) {
    return {
      ok: false,
      reason: `Gateway ${g.namespace}/${g.name}: a waypoint's name must be a DNS label of at most 63 characters starting with a letter (it names its Service)`,
    };
  }
  const { replicas, warning } = waypointReplicas(g.annotations);
  const selector = { [GATEWAY_NAME_LABEL]: g.name };
  const serviceAccount: OwnedObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(g) };
  const deployment: OwnedObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(g),
    spec: {
      replicas,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...selector, [DATAPLANE_MODE_LABEL]: 'none', [MANAGED_BY_LABEL]: MANAGED_BY },
        },
        spec: podSpec(input),
      },
    },
  };
  const service: OwnedObject = {
    apiVersion: 'v1',
    kind: 'Service',
    // the waypoint's own Service never goes through a waypoint (no loop through itself)
    metadata: meta(g, { [USE_WAYPOINT_LABEL]: NO_WAYPOINT }),
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [
        { name: 'hbone', port: HBONE_PORT, targetPort: HBONE_PORT, protocol: 'TCP' },
        { name: 'ready', port: READY_PORT, targetPort: READY_PORT, protocol: 'TCP' },
        { name: 'metrics', port: METRICS_PORT, targetPort: METRICS_PORT, protocol: 'TCP' },
      ],
    },
  };
  const pdb: OwnedObject = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(g),
    spec: {
      ...(replicas >= 2 ? { minAvailable: 1 } : { maxUnavailable: 1 }),
      selector: { matchLabels: selector },
    },
  };
  return {
    ok: true,
    objects: [serviceAccount, deployment, service, pdb],
    replicas,
    warnings: warning ? [warning] : [],
  };
}

function podSpec(input: WaypointRenderInput): Record<string, unknown> {
  const g = input.gateway;
  const selector = { matchLabels: { [GATEWAY_NAME_LABEL]: g.name } };
  return {
    // the pods' service account is the waypoint's identity (core/model/compute-mesh-state.ts)
    serviceAccountName: g.name,
    // the waypoint talks only to the controller, with the projected token below; no API token
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: 30,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUN_AS,
      runAsGroup: RUN_AS,
      // the projected token is readable by this group
      fsGroup: RUN_AS,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    // spread, not required: a one-node cluster still runs every replica
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: selector,
      },
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: selector,
      },
    ],
    containers: [
      {
        name: 'waypoint',
        image: input.image,
        imagePullPolicy: 'IfNotPresent',
        args: [
          'waypoint',
          '--name',
          `${g.namespace}/${g.name}`,
          '--controller',
          input.controllerAddress,
          '--state-dir',
          WAYPOINT_CREDENTIALS_DIR,
          '--token-file',
          `${WAYPOINT_CREDENTIALS_DIR}/token`,
          '--address',
          '$(POD_IP)',
        ],
        env: [
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'NODE_OPTIONS', value: WAYPOINT_NODE_OPTIONS },
        ],
        ports: [
          { name: 'hbone', containerPort: HBONE_PORT, protocol: 'TCP' },
          { name: 'ready', containerPort: READY_PORT, protocol: 'TCP' },
          { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
        ],
        // 200 once it has its certificate and a snapshot and listens; 503 while draining
        readinessProbe: {
          httpGet: { path: '/healthz/ready', port: READY_PORT },
          periodSeconds: 5,
          failureThreshold: 3,
        },
        resources: {
          requests: { cpu: '100m', memory: '128Mi' },
          limits: { memory: '256Mi' },
        },
        securityContext: {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        },
        volumeMounts: [
          { name: 'ambit-credentials', mountPath: WAYPOINT_CREDENTIALS_DIR, readOnly: true },
          { name: 'tmp', mountPath: '/tmp' },
        ],
      },
    ],
    volumes: [
      {
        // one projected volume, so a root rotation reaches running pods (no subPath)
        name: 'ambit-credentials',
        projected: {
          sources: [
            { serviceAccountToken: { audience: TOKEN_AUDIENCE, expirationSeconds: 3600, path: 'token' } },
            {
              configMap: {
                name: ROOT_CERT_CONFIGMAP,
                items: [{ key: ROOT_CONFIGMAP_KEY, path: ROOT_CERT_FILE }],
              },
            },
          ],
        },
      },
      { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } },
    ],
  };
}

/**
 * The trust root's copy in a namespace that has waypoints. It is shared by every waypoint Gateway
 * there, so each is an owner and none is the controller (Kubernetes allows one controller owner):
 * garbage collection removes it with the last of them.
 */
export function renderRootCertConfigMap(
  namespace: string,
  gateways: readonly WaypointGateway[],
  rootCertPem: string,
): OwnedObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: ROOT_CERT_CONFIGMAP,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
      ownerReferences: [...gateways]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((g) => gatewayOwnerReference(g, false)),
    },
    data: { [ROOT_CONFIGMAP_KEY]: rootCertPem },
  };
}
