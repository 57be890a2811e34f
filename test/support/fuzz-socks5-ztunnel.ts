// One in-process ztunnel with a SOCKS5 front door for the SOCKS5 and admin fuzz suites: a client pod on its
// node and a plain TCP echo server outside the mesh (reached by passthrough), with a short
// handshake timeout so a handshake the fuzzer leaves unfinished ends in well under a second
// instead of the default 5 s. No second node: the suite fuzzes the listener, not HBONE.
import net from 'node:net';
import pino from 'pino';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import { Ztunnel } from '../../ztunnel/ztunnel.js';
import { StaticOriginalDestinations } from '../../ztunnel/outbound/original-destination.js';
import { meshState, node, workload } from '../../ztunnel/state/mesh-fixture.js';
import { InProcessControlPlane } from './in-process-control-plane.js';

/** An echo server that ends every connection it holds on close (a leaked tunnel must not keep it up). */
async function echoServer(host: string): Promise<{ server: net.Server; close(): Promise<void> }> {
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    open.add(s);
    s.once('close', () => open.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
}

export interface Socks5Ztunnel {
  socks: { host: string; port: number };
  clientIp: string;
  echo: { ip: string; port: number };
  /** 15020 (metrics and debug paths) and 15021 (readiness), both on the loopback node address. */
  admin: { host: string; port: number };
  ready: { host: string; port: number };
  stop(): Promise<void>;
}

export async function startSocks5Ztunnel(o: {
  prefix: string;
  handshakeTimeoutMs: number;
}): Promise<Socks5Ztunnel> {
  const p = o.prefix;
  const ca = await CertificateAuthority.generate('cluster.local');
  const echo = await echoServer(`${p}.50`);
  const cp = new InProcessControlPlane(ca, 'n1');
  await cp.push(
    meshState({
      nodes: [node('n1', `${p}.2`)],
      workloads: [workload({ name: 'client', ip: `${p}.11`, node: 'n1' })],
    }),
  );
  const z = new Ztunnel({
    node: 'n1',
    controlPlane: cp,
    resolver: new StaticOriginalDestinations(),
    meshAddress: `${p}.2`,
    socks5: { host: `${p}.2`, port: 0 },
    ports: { outbound: 0, inboundPlaintext: 0, hbone: 0, admin: 0, ready: 0 },
    limits: { handshakeTimeoutMs: o.handshakeTimeoutMs },
    logger: pino({ level: 'silent' }),
  });
  try {
    await z.start();
  } catch (err) {
    await echo.close();
    throw err;
  }
  const bound = z.bound.socks5;
  const admin = z.bound.admin;
  const ready = z.bound.ready;
  if (!bound || !admin || !ready) throw new Error('the ztunnel bound no SOCKS5, admin or readiness listener');
  return {
    socks: { host: `${p}.2`, port: bound.port },
    clientIp: `${p}.11`,
    admin: { host: `${p}.2`, port: admin.port },
    ready: { host: `${p}.2`, port: ready.port },
    echo: { ip: `${p}.50`, port: (echo.server.address() as net.AddressInfo).port },
    stop: async () => {
      z.destroy();
      await echo.close();
    },
  };
}
