// Test and bench helper: two real `ambit ztunnel` processes, node-1 on <prefix>.2 and node-2 on
// <prefix>.3, against a real `ambit controller` (test/support/controller-harness.ts), as the
// ztunnel integration suites and bench/l4 run them. The mesh YAML is the caller's (usually
// ztunnelMeshYaml from ./controller-mesh-yaml.ts, which puts the same nodes on the same addresses).
//
//   const mesh = await startZtunnelMesh({ prefix: P, meshYaml, socks5Port: 15080 });
//   mesh.ctl / mesh.z1 / mesh.z2; await mesh.stop()   // both ztunnels, then the controller
//
// Callers that need the controller first (to load its CA, or to start several pairs in turn)
// start it themselves and use startZtunnelPair(ctl, ...) or startNodeZtunnel(ctl, n, ...).
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createToken } from '../../core/identity/token-client.js';
import { startControllerHarness, type ControllerHarness } from './controller-harness.js';
import { startZtunnelProcess, type ZtunnelProcess } from './ztunnel-process.js';

export interface ZtunnelNodeOptions {
  /** The first three octets of the loopback addresses, e.g. '127.0.20'. */
  prefix: string;
  /** SOCKS5 front door on <prefix>.<node + 1>:<port>. */
  socks5Port?: number | undefined;
  workers?: number | undefined;
  logLevel?: string | undefined;
  extraArgs?: string[] | undefined;
}

export interface ZtunnelPairOptions {
  prefix: string;
  /** node-1's SOCKS5 front door (<prefix>.2:<port>); node-2 has none. */
  socks5Port?: number | undefined;
  /** Worker processes per ztunnel (both nodes). */
  workers?: number | undefined;
  /** Log level of both ztunnels. */
  logLevel?: string | undefined;
  /** Extra `ambit ztunnel` flags for node-1 only (e.g. --original-destination-map). */
  node1Args?: string[] | undefined;
}

export interface ZtunnelPair {
  z1: ZtunnelProcess;
  z2: ZtunnelProcess;
  /** Stops both ztunnels. */
  stop(): Promise<void>;
}

export interface ZtunnelMesh extends ZtunnelPair {
  ctl: ControllerHarness;
  /** Stops both ztunnels, then the controller. */
  stop(): Promise<void>;
}

type ControllerAddress = Pick<ControllerHarness, 'address' | 'stateDir'>;

/**
 * A scoped token for one node (DESIGN.md §2), created through the controller with the operator's
 * join token and written to <stateDir>/<node>.token (0600); returns the file for --token-file.
 */
export async function nodeTokenFile(ctl: ControllerAddress, node: string): Promise<string> {
  const { token } = await createToken({ controller: ctl.address, stateDir: ctl.stateDir, target: { node } });
  const file = path.join(ctl.stateDir, `${node}.token`);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

/** `ambit ztunnel` for node-<n> on <prefix>.<n + 1>, against the given controller, with its own token. */
export async function startNodeZtunnel(
  ctl: ControllerAddress,
  n: 1 | 2,
  o: ZtunnelNodeOptions,
): Promise<ZtunnelProcess> {
  return startZtunnelProcess({
    node: `node-${n}`,
    controller: ctl.address,
    stateDir: ctl.stateDir,
    tokenFile: await nodeTokenFile(ctl, `node-${n}`),
    address: `${o.prefix}.${n + 1}`,
    socks5Port: o.socks5Port,
    workers: o.workers,
    logLevel: o.logLevel,
    extraArgs: o.extraArgs,
  });
}

/** Both ztunnels at once; if one fails to start, the other is stopped before the error is thrown. */
export async function startZtunnelPair(ctl: ControllerAddress, o: ZtunnelPairOptions): Promise<ZtunnelPair> {
  const shared = { prefix: o.prefix, workers: o.workers, logLevel: o.logLevel };
  const started = await Promise.allSettled([
    startNodeZtunnel(ctl, 1, { ...shared, socks5Port: o.socks5Port, extraArgs: o.node1Args }),
    startNodeZtunnel(ctl, 2, shared),
  ]);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  const [z1, z2] = started.map((r) => (r as PromiseFulfilledResult<ZtunnelProcess>).value) as [
    ZtunnelProcess,
    ZtunnelProcess,
  ];
  return {
    z1,
    z2,
    stop: async () => {
      await Promise.all([z1.stop(), z2.stop()]);
    },
  };
}

/** A controller serving `meshYaml` as mesh.yaml, then the two ztunnels against it. */
export async function startZtunnelMesh(o: ZtunnelPairOptions & { meshYaml: string }): Promise<ZtunnelMesh> {
  const ctl = await startControllerHarness({ files: { 'mesh.yaml': o.meshYaml } });
  let pair: ZtunnelPair;
  try {
    pair = await startZtunnelPair(ctl, o);
  } catch (err) {
    await ctl.stop();
    throw err;
  }
  return {
    ctl,
    z1: pair.z1,
    z2: pair.z2,
    stop: async () => {
      await pair.stop();
      await ctl.stop();
    },
  };
}

/**
 * A server on host:0 that says "hello-from-server" and closes its write side at once, then
 * pushes onto `seen` everything the client sent before its own FIN.
 */
export async function halfCloseServer(host: string, seen: string[]): Promise<net.Server> {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => {
      seen.push(got);
      s.destroy();
    });
    s.end('hello-from-server');
  });
  await new Promise<void>((r) => srv.listen({ host, port: 0 }, r));
  return srv;
}
