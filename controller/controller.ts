// The controller process: config store -> mesh state -> discovery pushes, plus the CA, all on one
// gRPC server (TLS; client certificates requested, checked per call). Wires the parts together;
// each decision lives in its own file.
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
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

export interface ControllerOptions {
  configDir?: string | undefined;
  kubeconfig?: string | undefined;
  listen: string;
  stateDir: string;
  caCertFile?: string | undefined;
  caKeyFile?: string | undefined;
  trustDomain: string;
  logger: Logger;
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
  if (o.kubeconfig) {
    throw ctlError('CTL_KUBECONFIG_NOT_BUILT', 'the Kubernetes config store (--kubeconfig) is not built yet');
  }
  if (!o.configDir) {
    throw ctlError('CTL_NO_CONFIG_SOURCE', 'no config source: give --config DIR');
  }
  const host = hostOf(o.listen);
  const logger = o.logger;
  const creds = await prepareStateDir(o);
  const root = new X509Certificate(creds.ca.rootPem);
  const tokens = await TokenStore.open(o.stateDir);
  const check: CallerCheck = { root, joinToken: creds.joinToken, tokens, trustDomain: o.trustDomain };
  const refusals = new RefusalLog(logger.child({ component: 'admission' }));

  const store: ConfigStore = new DirectoryConfigStore(
    o.configDir,
    logger.child({ component: 'config-store' }),
  );
  await store.start();
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
      await store.close();
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
