// The controller process: config store -> mesh state -> discovery pushes, plus the CA, all on one
// gRPC server (TLS; client certificates requested, checked per call). Wires the parts together;
// each decision lives in its own file.
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { meshProtos } from '../core/discovery/proto.js';
import { MAX_MESSAGE_BYTES } from '../core/identity/controller-endpoint.js';
import { computeMeshState } from '../core/model/compute-mesh-state.js';
import type { ConfigStore } from './config-store.js';
import { DirectoryConfigStore } from './directory-config-store.js';
import { caServiceHandlers } from './ca-service.js';
import { DiscoveryService } from './discovery-service.js';
import { inspectionHandlers } from './inspection-service.js';
import { publicationOf, type MeshPublication } from './mesh-publication.js';
import { routeStatuses } from './route-status.js';
import { ProgrammedTransitions, waypointStatuses } from './waypoint-status.js';
import { prepareStateDir } from './state-dir.js';
import { ctlError } from './errors.js';
import type { CallerCheck } from './caller-identity.js';
import { callAdmission, oversizedRefusal, RefusalLog } from './call-admission.js';
import { limitDeserializer, receiveLimitOf, SERVER_MAX_RECEIVE_BYTES } from './grpc-receive-limit.js';
import { tokenServiceHandlers } from './token-service.js';
import { TokenStore } from './token-store.js';
import { prepareClusterCredentials } from './kube/cluster-credentials.js';
import { connectKube, inCluster, type KubeApi } from './kube/kube-api.js';
import { KubeConfigStore } from './kube/kube-config-store.js';
import { LeaseLeaderElection } from './kube/leader-election.js';
import { NodeStartupTaints } from './kube/node-taints.js';
import { KubeStatusWriter } from './kube/status-writer.js';
import { ServiceAccountTokenReviewer } from './kube/token-review.js';
import { WaypointDeployments } from './kube/waypoint-deployments.js';

export interface ControllerOptions {
  configDir?: string | undefined;
  kubeconfig?: string | undefined;
  listen: string;
  stateDir: string;
  caCertFile?: string | undefined;
  caKeyFile?: string | undefined;
  trustDomain: string;
  /** HOST:PORT for Prometheus /metrics (watch health per kind, process figures); off when absent. */
  metricsListen?: string | undefined;
  /** The environment, for in-cluster detection and the pod's own name and namespace. */
  env?: NodeJS.ProcessEnv | undefined;
  logger: Logger;
}

/** The controller's namespace in a cluster (the downward API's POD_NAMESPACE). */
export const DEFAULT_NAMESPACE = 'ambit-system';

/**
 * Which config store: `--config DIR` (embedded), `--kubeconfig PATH`, or, with neither inside a
 * pod, the in-cluster service account (DESIGN.md §8; issue 10).
 */
export function configSourceOf(
  o: Pick<ControllerOptions, 'configDir' | 'kubeconfig'>,
  podDetected: boolean,
): { kind: 'dir'; dir: string } | { kind: 'kube'; kubeconfig: string | undefined } {
  if (o.configDir && o.kubeconfig) {
    throw ctlError('CTL_NO_CONFIG_SOURCE', 'give either --config DIR or --kubeconfig PATH, not both');
  }
  if (o.configDir) return { kind: 'dir', dir: o.configDir };
  if (o.kubeconfig) return { kind: 'kube', kubeconfig: o.kubeconfig };
  if (podDetected) return { kind: 'kube', kubeconfig: undefined };
  throw ctlError(
    'CTL_NO_CONFIG_SOURCE',
    'no config source: give --config DIR (embedded store) or --kubeconfig PATH (outside a pod)',
  );
}

async function listenMetrics(listen: string, registry: Registry): Promise<http.Server> {
  const host = hostOf(listen);
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics' || req.method !== 'GET') {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(`${(err as Error).message}\n`),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(ctlError('CTL_METRICS_LISTEN', `cannot listen on ${listen}: ${err.message}`, err)),
    );
    server.listen(port, host.replace(/^\[|\]$/g, ''), resolve);
  });
  return server;
}

/** The image of the fallback waypoint pods (a kustomize `images:` override reaches only containers). */
export const DEFAULT_IMAGE = 'ghcr.io/ambit-mesh/ambit:0.1.0';

/**
 * The image waypoint Deployments run: AMBIT_IMAGE when set, else the controller pod's own image
 * (so an image override of the install reaches the waypoints too), else DEFAULT_IMAGE.
 */
async function waypointImage(
  api: KubeApi,
  env: NodeJS.ProcessEnv,
  namespace: string,
  logger: Logger,
): Promise<string> {
  if (env.AMBIT_IMAGE) return env.AMBIT_IMAGE;
  if (!env.POD_NAME) return DEFAULT_IMAGE;
  try {
    const pod = await api.request<{ spec?: { containers?: { name?: string; image?: string }[] } }>({
      path: `/api/v1/namespaces/${namespace}/pods/${env.POD_NAME}`,
      timeoutMs: 10_000,
    });
    const containers = pod.spec?.containers ?? [];
    const own = containers.find((c) => c.name === 'controller') ?? containers[0];
    if (own?.image) return own.image;
  } catch (err) {
    logger.warn(
      { err: (err as Error).message, image: DEFAULT_IMAGE },
      'cannot read the controller pod for its image; waypoints use the default image',
    );
  }
  return DEFAULT_IMAGE;
}

export interface RunningController {
  /** host:port actually bound (resolves port 0). */
  address: string;
  discovery: DiscoveryService;
  current(): MeshPublication;
  close(): Promise<void>;
}

/**
 * Certificates for grpc-js's certificate-provider credentials, the only server credentials that
 * request a client certificate without requiring one. Listeners are called on the next turn:
 * grpc-js registers its watcher only after adding the listener, so a synchronous call is lost.
 */
function staticCertificateProvider(
  ca: Buffer,
  cert: Buffer,
  key: Buffer,
): grpc.experimental.CertificateProvider {
  return {
    addCaCertificateListener: (l) => setImmediate(() => l({ caCertificate: ca })),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (l) => setImmediate(() => l({ certificate: cert, privateKey: key })),
    removeIdentityCertificateListener: () => undefined,
  };
}

function hostOf(listen: string): string {
  const i = listen.lastIndexOf(':');
  if (i <= 0) throw ctlError('CTL_LISTEN', `--listen ${listen} is not HOST:PORT`);
  return listen.slice(0, i);
}

export async function startController(o: ControllerOptions): Promise<RunningController> {
  const env = o.env ?? process.env;
  const source = configSourceOf(o, inCluster(env));
  const host = hostOf(o.listen);
  const logger = o.logger;
  const namespace = env.POD_NAMESPACE || DEFAULT_NAMESPACE;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ambit_controller_' });
  const kube: KubeApi | undefined = source.kind === 'kube' ? connectKube(source.kubeconfig) : undefined;
  const creds = kube
    ? await prepareClusterCredentials({
        ...o,
        api: kube,
        namespace,
        logger: logger.child({ component: 'credentials' }),
      })
    : await prepareStateDir(o);
  const root = new X509Certificate(creds.ca.rootPem);
  const tokens = await TokenStore.open(o.stateDir);
  const serviceAccountTokens = kube
    ? new ServiceAccountTokenReviewer({
        api: kube,
        namespace,
        logger: logger.child({ component: 'token-review' }),
      })
    : undefined;
  const check: CallerCheck = {
    root,
    joinToken: creds.joinToken,
    tokens,
    trustDomain: o.trustDomain,
    serviceAccountTokens,
  };
  const refusals = new RefusalLog(logger.child({ component: 'admission' }));

  const store: ConfigStore =
    source.kind === 'dir'
      ? new DirectoryConfigStore(source.dir, logger.child({ component: 'config-store' }))
      : new KubeConfigStore({
          api: kube ?? connectKube(source.kubeconfig),
          logger: logger.child({ component: 'config-store' }),
          registry,
        });
  await store.start();
  const metricsServer = o.metricsListen ? await listenMetrics(o.metricsListen, registry) : undefined;
  let generation = store.get().generation;
  let current = publicationOf(computeMeshState(store.get().resources, o.trustDomain));
  logger.info({ version: current.version, workloads: current.state.workloads.length }, 'mesh state computed');

  const discovery = new DiscoveryService({
    ...check,
    current: () => current,
    logger: logger.child({ component: 'discovery' }),
  });
  // a waypoint is Programmed only while an instance is subscribed and has ACKed: recomputed on each
  // status request, and logged whenever a subscriber or the config changes it
  const currentWaypointStatuses = () =>
    waypointStatuses(store.get().resources, current.state, discovery.connectedSubscribers());
  const programmed = new ProgrammedTransitions();
  const logWaypointTransitions = (): void => {
    for (const w of programmed.observe(currentWaypointStatuses().waypoints)) {
      const c = w.conditions.find((x) => x.type === 'Programmed');
      logger.info(
        {
          waypoint: `${w.namespace}/${w.name}`,
          programmed: c?.status,
          reason: c?.reason,
          detail: c?.message,
        },
        'waypoint status',
      );
    }
  };
  // only a waypoint's own streams decide its Programmed condition: a node's ACK (one per node per
  // push) cannot change it, so it does not recompute every waypoint's status
  discovery.subscriptionsChanged.add((changed) => {
    if (changed.subscriber.kind === 'waypoint') logWaypointTransitions();
  });
  logWaypointTransitions();
  store.subscribe((snap) => {
    if (snap.generation === generation) return; // a rejection: the last good state stays
    generation = snap.generation;
    const started = performance.now();
    const state = computeMeshState(snap.resources, o.trustDomain);
    const computeMs = Math.round(performance.now() - started);
    const next = publicationOf(state);
    if (next.version === current.version) return;
    current = next;
    logger.info(
      {
        version: current.version,
        workloads: current.state.workloads.length,
        computeMs,
        publishMs: Math.round(performance.now() - started) - computeMs,
        heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1048576),
      },
      'mesh state published',
    );
    discovery.publish();
    logWaypointTransitions();
  });

  // in a cluster: every replica serves discovery and the CA; the Lease's holder writes status,
  // keeps waypoint Deployments and lifts node startup taints
  const kubeTasks: { nudge(): void; stop(): Promise<void> }[] = [];
  let leader: LeaseLeaderElection | undefined;
  const replicaIdentity = env.POD_NAME || os.hostname();
  if (kube) {
    leader = new LeaseLeaderElection({
      api: kube,
      namespace,
      name: 'ambit-controller',
      identity: replicaIdentity,
      logger: logger.child({ component: 'leader' }),
    });
    const config = () => store.get().resources;
    const statusWriter = new KubeStatusWriter({
      api: kube,
      leader,
      config,
      state: () => current.state,
      subscribers: () => discovery.connectedSubscribers(),
      logger: logger.child({ component: 'status-writer' }),
    });
    const waypointDeployments = new WaypointDeployments({
      api: kube,
      leader,
      config,
      image: await waypointImage(kube, env, namespace, logger),
      controllerAddress: env.AMBIT_CONTROLLER_ADDRESS || `ambit-controller.${namespace}.svc:15010`,
      rootCertPem: creds.ca.rootPem,
      logger: logger.child({ component: 'waypoint-deployments' }),
    });
    const nodeTaints = new NodeStartupTaints({
      api: kube,
      leader,
      config,
      subscribers: () => discovery.connectedSubscribers(),
      // a replica sees only the agents subscribed to it; a taint removal is monotonic and
      // carries the resourceVersion it was computed from, so every replica may lift its own
      onlyWhileLeading: false,
      logger: logger.child({ component: 'node-taints' }),
    });
    kubeTasks.push(statusWriter, waypointDeployments, nodeTaints);
    statusWriter.start();
    waypointDeployments.start();
    nodeTaints.start();
    leader.start();
    store.subscribe(() => {
      for (const t of kubeTasks) t.nudge();
    });
    discovery.subscriptionsChanged.add(() => {
      statusWriter.nudge();
      nodeTaints.nudge();
    });
  }

  const protos = meshProtos();
  const server = new grpc.Server({
    // checked from each message's length prefix before its body is buffered; methods that take
    // less get a lower limit per call (grpc-receive-limit.ts, call-admission.ts)
    'grpc.max_receive_message_length': SERVER_MAX_RECEIVE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    // notice subscribers that vanished without closing (node lost), so status shows them disconnected
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    interceptors: [callAdmission({ check, refusals })],
  });
  /** The backstop per method: refuse an oversized message before protobuf decodes it. */
  const limited = (def: grpc.ServiceDefinition): Record<string, grpc.ServiceDefinition[string]> => {
    const out: Record<string, grpc.ServiceDefinition[string]> = {};
    for (const [name, m] of Object.entries(def)) {
      out[name] = {
        ...m,
        requestDeserialize: limitDeserializer(
          m.path,
          receiveLimitOf(m.path),
          m.requestDeserialize,
          oversizedRefusal(refusals, 'unknown'),
        ),
      };
    }
    return out;
  };
  // pushes are pre-encoded once for all subscribers (push-encoder.ts): the stream sends bytes as they are
  const discoveryDef = limited(protos.discovery.service);
  const streamDef = discoveryDef.Stream;
  if (!streamDef) throw ctlError('CTL_LISTEN', 'proto/ambit/discovery.proto has no Stream method');
  discoveryDef.Stream = { ...streamDef, responseSerialize: (b: Buffer) => b };
  server.addService(discoveryDef, {
    Stream: discovery.handleStream,
    ...inspectionHandlers({
      ...check,
      current: () => current,
      storeStatus: () => store.status(),
      subscribers: () => discovery.subscribers(),
      resourceStatus: () => ({ ...routeStatuses(store.get().resources), ...currentWaypointStatuses() }),
      leader: leader
        ? () => ({
            holder: leader?.holder(),
            identity: replicaIdentity,
            isLeader: leader?.isLeader() ?? false,
          })
        : undefined,
    }),
  });
  server.addService(
    limited(protos.tokens.service),
    tokenServiceHandlers({ ...check, store: tokens, logger: logger.child({ component: 'tokens' }) }),
  );
  server.addService(
    limited(protos.ca.service),
    caServiceHandlers({
      ca: creds.ca,
      ...check,
      state: () => current.state,
      logger: logger.child({ component: 'ca' }),
    }),
  );
  const serverCreds = grpc.experimental.createCertificateProviderServerCredentials(
    staticCertificateProvider(
      Buffer.from(creds.ca.rootPem),
      Buffer.from(creds.serving.certPem),
      Buffer.from(creds.serving.keyPem),
    ),
    staticCertificateProvider(
      Buffer.from(creds.ca.rootPem),
      Buffer.from(creds.serving.certPem),
      Buffer.from(creds.serving.keyPem),
    ),
    false,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(o.listen, serverCreds, (err, p) =>
      err ? reject(ctlError('CTL_LISTEN', `cannot listen on ${o.listen}: ${err.message}`, err)) : resolve(p),
    ),
  ).catch(async (err) => {
    await store.close();
    metricsServer?.close();
    throw err;
  });
  const address = `${host}:${port}`;
  logger.info(
    { address, stateDir: o.stateDir, trustDomain: o.trustDomain, version: current.version },
    'controller listening',
  );

  return {
    address,
    discovery,
    current: () => current,
    close: async () => {
      await Promise.all(kubeTasks.map((t) => t.stop()));
      await leader?.stop();
      serviceAccountTokens?.close();
      await store.close();
      if (metricsServer) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      }
      discovery.closeAll();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
