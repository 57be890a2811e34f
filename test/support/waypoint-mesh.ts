// A whole L7 path in one process on loopback: two ztunnels (nodes n1 at <p>.2, n2 at <p>.3), a
// waypoint (pod <p>.20 on n1, Gateway default/wp) and HTTP/gRPC backends (pods <p>.12.. on n2),
// with a CA made here. A client at <p>.11 (node n1) reaches a Service VIP through n1's SOCKS5
// front door: client -> ztunnel n1 -> HBONE -> waypoint -> HBONE -> ztunnel n2 -> backend pod.
// Tests push MeshStates with routes and policies and talk plain HTTP through `fetchVia`.
import http from 'node:http';
import type net from 'node:net';
import pino from 'pino';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import { CertificateRotator } from '../../core/identity/certificate-rotator.js';
import type { IssuedCertificate } from '../../core/identity/issued-certificate.js';
import type {
  MeshRoute,
  MeshService,
  MeshState,
  MeshTrafficPolicy,
  Workload,
} from '../../core/model/mesh.js';
import { Ztunnel } from '../../ztunnel/ztunnel.js';
import { StaticOriginalDestinations } from '../../ztunnel/outbound/original-destination.js';
import { endpoint, meshState, node, service, waypoint, workload } from '../../ztunnel/state/mesh-fixture.js';
import { Waypoint } from '../../waypoint/waypoint.js';
import type { WaypointControlPlane } from '../../waypoint/control-plane.js';
import { InProcessControlPlane, issue, StatePublisher } from './in-process-control-plane.js';
import { socks5Connect } from './socks5-client.js';

export const WP_IDENTITY = 'spiffe://cluster.local/ns/default/sa/wp';

class InProcessWaypointControlPlane implements WaypointControlPlane {
  private readonly states = new StatePublisher();
  private rotator: CertificateRotator | undefined;

  constructor(private readonly ca: CertificateAuthority) {}

  identity(onRotate: (c: IssuedCertificate) => void): CertificateRotator {
    this.rotator = new CertificateRotator({
      identity: WP_IDENTITY,
      issue: () => issue(this.ca, WP_IDENTITY),
      onRotate,
    });
    return this.rotator;
  }

  subscribe(onState: (s: MeshState, v: string) => void | Promise<void>) {
    return this.states.subscribe(onState);
  }

  push(state: MeshState): Promise<void> {
    return this.states.push(state);
  }

  close(): void {
    this.rotator?.stop();
  }
}

/** What a backend pod answers, and how it misbehaves when a test asks it to. */
export interface Backend {
  name: string;
  workload: Workload;
  port: number;
  server: http.Server;
  /** Requests it received (method, url, headers). */
  seen: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  /** Decides the answer; default 200 with a JSON echo. */
  behave: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => boolean;
}

export interface WaypointMesh {
  ca: CertificateAuthority;
  z1: Ztunnel;
  z2: Ztunnel;
  waypoint: Waypoint;
  backends: Map<string, Backend>;
  clientIp: string;
  vip: (service: string) => string;
  /** The base state (nodes, workloads, the `echo` Service with every backend); tests add routes. */
  base: () => MeshState;
  services: () => MeshService[];
  push(extra?: {
    routes?: MeshRoute[];
    trafficPolicies?: MeshTrafficPolicy[];
    state?: Partial<MeshState>;
  }): Promise<void>;
  request(
    service: string,
    o?: {
      method?: string;
      path?: string;
      headers?: http.OutgoingHttpHeaders;
      body?: string;
      port?: number;
      agent?: http.Agent;
    },
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>;
  /** A raw connection from the client pod to `ip:port` through the client's SOCKS5 door. */
  connect(ip: string, port: number): Promise<net.Socket>;
  /** A keep-alive agent whose connections go through the client's SOCKS5 door. */
  agent(service: string, port?: number): http.Agent;
  stop(): Promise<void>;
}

function echoBackend(name: string, w: Workload): Promise<Backend> {
  const b: Backend = {
    name,
    workload: w,
    port: 0,
    server: http.createServer(),
    seen: [],
    behave: () => false,
  };
  b.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      b.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      if (b.behave(req, res, body)) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pod: name, path: req.url, method: req.method, headers: req.headers, body }));
    });
  });
  return new Promise((resolve) =>
    b.server.listen({ host: w.ips[0], port: 0 }, () => {
      b.port = (b.server.address() as net.AddressInfo).port;
      resolve(b);
    }),
  );
}

export async function startWaypointMesh(o: {
  prefix: string;
  /** backend name -> the Service it belongs to (default: echo) */
  backends?: Record<string, string>;
  logLevel?: string;
  /** OTLP/HTTP endpoint for the waypoint's spans, traced at 100%. */
  otlpEndpoint?: string;
  /** Receives every log line of the ztunnels and the waypoint (JSON), at info level. */
  logSink?: (line: string) => void;
  /** Extra workloads/services in every pushed state (a gRPC backend, say). */
  extra?: () => Partial<Pick<MeshState, 'workloads' | 'services'>>;
}): Promise<WaypointMesh> {
  const p = o.prefix;
  const ca = await CertificateAuthority.generate('cluster.local');
  const specs = o.backends ?? { 'echo-v1': 'echo', 'echo-v2': 'echo' };
  const client = workload({ name: 'client', ip: `${p}.11`, node: 'n1' });
  const wpPod = workload({
    name: 'wp-pod',
    ip: `${p}.20`,
    node: 'n1',
    serviceAccount: 'wp',
    enrolled: false,
    waypointFor: { namespace: 'default', name: 'wp' },
  });
  const backends = new Map<string, Backend>();
  let i = 0;
  for (const name of Object.keys(specs)) {
    const w = workload({
      name,
      ip: `${p}.${30 + i++}`,
      node: 'n2',
      serviceAccount: 'server',
      labels: { app: name },
    });
    backends.set(name, await echoBackend(name, w));
  }
  const serviceNames = [...new Set(Object.values(specs))];
  const vip = (s: string): string => `${p}.${100 + serviceNames.indexOf(s)}`;
  const services = (): MeshService[] =>
    serviceNames.map((s) =>
      service({
        name: s,
        vip: vip(s),
        port: 80,
        targetPort: 8080,
        waypoint: { namespace: 'default', name: 'wp' },
        endpoints: [...backends.values()]
          .filter((b) => specs[b.name] === s)
          .map((b) => endpoint(b.workload, { '80': b.port })),
      }),
    );
  const base = (): MeshState =>
    meshState({
      nodes: [node('n1', `${p}.2`), node('n2', `${p}.3`)],
      workloads: [
        client,
        wpPod,
        ...[...backends.values()].map((b) => b.workload),
        ...(o.extra?.().workloads ?? []),
      ],
      services: [...services(), ...(o.extra?.().services ?? [])],
      waypoints: [
        waypoint({
          name: 'wp',
          instances: [{ workloadUid: wpPod.uid, ip: `${p}.20`, node: 'n1', ready: true }],
        }),
      ],
    });
  const sink = o.logSink;
  const logger = sink
    ? pino({ level: o.logLevel ?? 'info' }, { write: (line: string) => sink(line) })
    : pino({ level: o.logLevel ?? 'silent' });
  const cp1 = new InProcessControlPlane(ca, 'n1');
  const cp2 = new InProcessControlPlane(ca, 'n2');
  const cpw = new InProcessWaypointControlPlane(ca);
  const push = async (extra: Parameters<WaypointMesh['push']>[0] = {}) => {
    const s: MeshState = {
      ...base(),
      routes: extra.routes ?? [],
      trafficPolicies: extra.trafficPolicies ?? [],
      ...extra.state,
    };
    await cp1.push(s);
    await cp2.push(s);
    await cpw.push(s);
  };
  await push();
  const mk = (name: string, cp: InProcessControlPlane, addr: string) =>
    new Ztunnel({
      node: name,
      controlPlane: cp,
      resolver: new StaticOriginalDestinations(),
      meshAddress: addr,
      socks5: { host: addr, port: 0 },
      ports: { outbound: 0, inboundPlaintext: 0, admin: 0, ready: 0 },
      logger: logger.child({ node: name }),
    });
  const z1 = mk('n1', cp1, `${p}.2`);
  const z2 = mk('n2', cp2, `${p}.3`);
  const wp = new Waypoint({
    name: 'default/wp',
    controlPlane: cpw,
    ports: { ready: 0, metrics: 0 },
    logger: logger.child({ waypoint: 'default/wp' }),
    ...(o.otlpEndpoint ? { otlpEndpoint: o.otlpEndpoint, traceSamplingPercent: 100 } : {}),
  });
  await Promise.all([z1.start(), z2.start(), wp.start()]);
  const socks = { host: `${p}.2`, port: z1.bound.socks5?.port ?? 0 };
  const agentFor = (svc: string, port = 80): http.Agent => {
    const agent = new http.Agent({ keepAlive: true });
    (agent as unknown as { createConnection: unknown }).createConnection = (
      _o: unknown,
      cb: (e: Error | null, s?: net.Socket) => void,
    ) => {
      socks5Connect(socks, { ip: vip(svc), port }, `${p}.11`).then(
        (s) => {
          cb(null, s);
          s.resume(); // socks5Connect hands the socket over paused
        },
        (e: Error) => cb(e),
      );
      return undefined;
    };
    return agent;
  };
  const defaultAgents = new Map<string, http.Agent>();
  return {
    ca,
    z1,
    z2,
    waypoint: wp,
    backends,
    clientIp: `${p}.11`,
    vip,
    base,
    services,
    push,
    agent: agentFor,
    connect: async (ip, port) => {
      const s = await socks5Connect(socks, { ip, port }, `${p}.11`);
      return s;
    },
    request: (svc, r = {}) => {
      const key = `${svc}:${r.port ?? 80}`;
      let agent = r.agent ?? defaultAgents.get(key);
      if (!agent) {
        agent = agentFor(svc, r.port ?? 80);
        defaultAgents.set(key, agent);
      }
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: `${svc}.default.svc.cluster.local`,
            agent,
            method: r.method ?? 'GET',
            path: r.path ?? '/',
            headers: r.headers ?? {},
          },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(r.body);
      });
    },
    stop: async () => {
      for (const a of defaultAgents.values()) a.destroy();
      await wp.stop();
      z1.destroy();
      z2.destroy();
      for (const b of backends.values()) b.server.close();
      cp1.close();
      cp2.close();
    },
  };
}
