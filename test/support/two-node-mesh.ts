// Two in-process ztunnels on two loopback "node" addresses (<prefix>.2 and <prefix>.3) with one
// client pod (<prefix>.11, node 1) and one echo server pod (<prefix>.12, node 2), a CA made here
// and SOCKS5 front doors. For unit tests and the L4 bench.
import net from 'node:net';
import pino from 'pino';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import type { MeshState } from '../../core/model/mesh.js';
import { Ztunnel } from '../../ztunnel/ztunnel.js';
import { InProcessControlPlane } from './in-process-control-plane.js';
import {
  StaticBySourceResolver,
  StaticOriginalDestinations,
} from '../../ztunnel/outbound/original-destination.js';
import { meshState, node, workload, service, endpoint } from '../../ztunnel/state/mesh-fixture.js';

export interface TwoNodeMesh {
  ca: CertificateAuthority;
  z1: Ztunnel;
  z2: Ztunnel;
  cp1: InProcessControlPlane;
  cp2: InProcessControlPlane;
  clientIp: string;
  serverIp: string;
  serverPort: number;
  vip: string;
  socks1: { host: string; port: number };
  /** node-1's capture listener (15001); connections from the client IP go to the echo pod. */
  capture1: { host: string; port: number };
  state: MeshState;
  push(state: MeshState): Promise<void>;
  echo: net.Server;
  stop(): Promise<void>;
}

export function echoServer(host: string): Promise<net.Server> {
  const srv = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  return new Promise((resolve) => srv.listen({ host, port: 0 }, () => resolve(srv)));
}

export async function startTwoNodeMesh(o: {
  prefix: string;
  ttlMs?: number;
  logLevel?: string;
  idleTimeoutMs?: number;
}): Promise<TwoNodeMesh> {
  const p = o.prefix;
  const ca = await CertificateAuthority.generate('cluster.local');
  const echo = await echoServer(`${p}.12`);
  const serverPort = (echo.address() as net.AddressInfo).port;
  const client = workload({ name: 'client', ip: `${p}.11`, node: 'n1' });
  const server = workload({ name: 'server', ip: `${p}.12`, node: 'n2' });
  const vip = `${p}.100`;
  const state = meshState({
    nodes: [node('n1', `${p}.2`), node('n2', `${p}.3`)],
    workloads: [client, server],
    services: [
      service({
        name: 'echo',
        vip,
        port: 80,
        targetPort: serverPort,
        endpoints: [endpoint(server, { '80': serverPort })],
      }),
    ],
  });
  const logger = pino({ level: o.logLevel ?? 'silent' });
  const cp1 = new InProcessControlPlane(ca, 'n1', o.ttlMs ? { ttlMs: o.ttlMs } : {});
  const cp2 = new InProcessControlPlane(ca, 'n2', o.ttlMs ? { ttlMs: o.ttlMs } : {});
  await cp1.push(state);
  await cp2.push(state);
  const mk = (name: string, cp: InProcessControlPlane, addr: string) =>
    new Ztunnel({
      node: name,
      controlPlane: cp,
      resolver:
        name === 'n1'
          ? new StaticBySourceResolver(new Map([[`${p}.11`, { ip: `${p}.12`, port: serverPort }]]))
          : new StaticOriginalDestinations(),
      meshAddress: addr,
      socks5: { host: addr, port: 0 },
      ports: { outbound: 0, inboundPlaintext: 0, admin: 0, ready: 0 },
      logger: logger.child({ node: name }),
      ...(o.idleTimeoutMs ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
    });
  const z1 = mk('n1', cp1, `${p}.2`);
  const z2 = mk('n2', cp2, `${p}.3`);
  await Promise.all([z1.start(), z2.start()]);
  return {
    ca,
    z1,
    z2,
    cp1,
    cp2,
    clientIp: `${p}.11`,
    serverIp: `${p}.12`,
    serverPort,
    vip,
    socks1: { host: `${p}.2`, port: z1.bound.socks5!.port },
    capture1: { host: `${p}.2`, port: z1.bound.outbound!.port },
    state,
    push: async (s) => {
      await cp1.push(s);
      await cp2.push(s);
    },
    echo,
    stop: async () => {
      z1.destroy();
      z2.destroy();
      echo.close();
    },
  };
}
