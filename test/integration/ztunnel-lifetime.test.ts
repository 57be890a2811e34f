// Long-lived and quiet connections through two real ztunnels and a real controller (issue 3 item
// 6): a quiet connection is never cut unless an idle timeout is configured (here by a TrafficPolicy
// on the Service, through the controller's config store); a reset on one leg resets the other; and
// every TCP leg the ztunnels own has keepalive on (read back with `ss -o`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import type { ControllerHarness } from '../support/controller-harness.js';
import type { ZtunnelProcess } from '../support/ztunnel-process.js';
import { startZtunnelMesh, type ZtunnelMesh } from '../support/ztunnel-pair.js';
import { ztunnelMeshYaml } from '../support/controller-mesh-yaml.js';
import { echoServer } from '../support/two-node-mesh.js';
import { socks5Connect } from '../support/socks5-client.js';
import { until } from '../support/until.js';

const P = '127.0.83';
const SOCKS = 15080;
const VIP = `${P}.100`;
let mesh: ZtunnelMesh;
let ctl: ControllerHarness;
let z1: ZtunnelProcess;
let echo: net.Server;
/** A pod server that resets its connection when it reads "reset", and records how its peer left. */
let resetter: net.Server;
const resetterSeen: string[] = [];
/** Data chunks the resetter has read, so a test can wait until its bytes reached the pod. */
let resetterReads = 0;

const IDLE_POLICY = `apiVersion: networking.ambit.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: echo-idle, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: echo}]
  connectionPool: {tcp: {idleTimeout: 1s}}
`;

const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
/** A pacing delay (spreads a transfer over time), never a wait for a condition: use until(). */
const pace = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  echo = await echoServer(`${P}.12`);
  resetter = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d: Buffer) => {
      resetterReads++;
      if (d.toString().includes('reset')) s.resetAndDestroy();
    });
    s.on('error', (e: NodeJS.ErrnoException) => resetterSeen.push(e.code ?? e.message));
    s.on('end', () => resetterSeen.push('end'));
  });
  await new Promise<void>((r) => resetter.listen({ host: `${P}.12`, port: 0 }, r));
  mesh = await startZtunnelMesh({
    prefix: P,
    meshYaml: ztunnelMeshYaml(P, { echo: port(echo), halfClose: 1 }),
    socks5Port: SOCKS,
  });
  ({ ctl, z1 } = mesh);
}, 90_000);

afterAll(async () => {
  await mesh?.stop();
  echo?.close();
  resetter?.close();
}, 30_000);

async function open(ip: string, p: number): Promise<net.Socket> {
  const s = await socks5Connect({ host: `${P}.2`, port: SOCKS }, { ip, port: p }, `${P}.11`);
  s.resume();
  return s;
}

function roundTrip(s: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      s.off('error', reject);
      s.off('data', onData);
      resolve(d.toString());
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(text);
  });
}

/** How a socket ended: 'reset' (ECONNRESET), 'end' (clean FIN) or 'open' after `ms`. */
function outcome(s: net.Socket, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('open'), ms);
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve(e.code === 'ECONNRESET' ? 'reset' : (e.code ?? e.message));
    });
    s.once('end', () => {
      clearTimeout(t);
      resolve('end');
    });
  });
}

describe('long-lived and quiet connections', () => {
  it('keeps a quiet connection open when no idle timeout is configured', async () => {
    const s = await open(`${P}.12`, port(echo));
    try {
      expect(await roundTrip(s, 'first')).toBe('first');
      expect(await outcome(s, 3_000)).toBe('open');
      expect(await roundTrip(s, 'after 3 s quiet')).toBe('after 3 s quiet');
    } finally {
      s.destroy();
    }
  }, 20_000);

  it('a TrafficPolicy idleTimeout on the Service closes quiet connections to its VIP, flagged IDLE_TIMEOUT; the pod IP is untouched', async () => {
    ctl.writeFile('idle.yaml', IDLE_POLICY);
    try {
      await until('the policy to reach node-1', async () =>
        (await z1.get('/config_dump')).body.includes('echo-idle'),
      );
      const viaVip = await open(VIP, 80);
      const direct = await open(`${P}.12`, port(echo));
      expect(await roundTrip(viaVip, 'vip')).toBe('vip');
      expect(await roundTrip(direct, 'pod')).toBe('pod');
      const t0 = Date.now();
      expect(await outcome(viaVip, 5_000)).toBe('reset');
      const quiet = Date.now() - t0;
      expect(quiet).toBeGreaterThanOrEqual(900);
      expect(await outcome(direct, 500)).toBe('open');
      expect(await roundTrip(direct, 'still here')).toBe('still here');
      direct.destroy();
      await until('the access-log line', async () =>
        z1.access().some((l) => JSON.stringify(l).includes('IDLE_TIMEOUT')),
      );
      const metrics = (await z1.get('/metrics')).body;
      expect(metrics).toMatch(
        /istio_tcp_connections_closed_total\{[^}]*response_flags="IDLE_TIMEOUT"[^}]*\} 1/,
      );
    } finally {
      ctl.removeFile('idle.yaml');
    }
  }, 40_000);

  it('a reset by the pod resets the client, and a reset by the client resets the pod', async () => {
    const readsA = resetterReads;
    const a = await open(`${P}.12`, port(resetter));
    a.write('hello');
    await until('the pod to read the first hello', () => resetterReads > readsA, 5_000);
    const aEnded = outcome(a, 5_000);
    a.write('reset');
    expect(await aEnded).toBe('reset');

    const before = resetterSeen.length;
    const readsB = resetterReads;
    const b = await open(`${P}.12`, port(resetter));
    b.write('hello');
    await until('the pod to read the second hello', () => resetterReads > readsB, 5_000);
    b.resetAndDestroy();
    await until('the pod to see the reset', async () => resetterSeen.length > before);
    expect(resetterSeen.slice(before)).toEqual(['ECONNRESET']);
  }, 20_000);

  it('config edits during a transfer, rejected or accepted, drop no connection and lose no byte', async () => {
    const s = await open(`${P}.12`, port(echo));
    const chunk = randomBytes(256 * 1024);
    const rounds = 80; // 20 MiB each way, spread over the two edits below
    const sent = createHash('sha256');
    const got = createHash('sha256');
    let received = 0;
    const done = new Promise<void>((resolve, reject) => {
      s.on('data', (d: Buffer) => {
        got.update(d);
        received += d.length;
        if (received === rounds * chunk.length) resolve();
      });
      s.once('error', reject);
      s.once('end', () => reject(new Error(`ended after ${received} bytes`)));
    });
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) {
        sent.update(chunk);
        if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
        await pace(5); // spread the 20 MiB over the two config edits below
      }
    };
    await send(rounds / 4);
    // a broken document: the controller rejects the whole change and keeps the last good config
    ctl.writeFile(
      'broken.yaml',
      'apiVersion: v1\nkind: Service\nmetadata: {name: Bad_Name, namespace: shop}\nspec: {ports: [{port: 99999}]}\n',
    );
    await until('the rejection to show in ambit status', async () => {
      const st = await ctl.cli(['status', '-o', 'json']);
      return st.stdout.includes('broken.yaml');
    });
    await send(rounds / 4);
    ctl.removeFile('broken.yaml');
    // an accepted change (a new Service) pushed to both ztunnels mid-transfer
    ctl.writeFile(
      'extra.yaml',
      `apiVersion: v1\nkind: Service\nmetadata: {name: extra, namespace: shop}\nspec: {selector: {app: echo}, clusterIP: ${P}.101, ports: [{port: 81, targetPort: ${port(echo)}}]}\n`,
    );
    await until('the new Service to reach node-1', async () =>
      (await z1.get('/config_dump')).body.includes(`${P}.101`),
    );
    await send(rounds / 2);
    await done;
    expect(got.digest('hex')).toBe(sent.digest('hex'));
    s.destroy();
    ctl.removeFile('extra.yaml');
  }, 60_000);

  it('every TCP leg the ztunnels own has keepalive on', async () => {
    const s = await open(`${P}.12`, port(echo));
    try {
      expect(await roundTrip(s, 'ka')).toBe('ka');
      const ss = (filter: string) => execFileSync('ss', ['-tnoH', 'state', 'established', filter]).toString();
      const legs = () =>
        [
          // node-1: the accepted client leg (SOCKS5 side) and its HBONE connection to node-2
          ['client leg', ss(`( sport = :${SOCKS} and src ${P}.2 )`)],
          ['HBONE connection', ss(`( dport = :15008 and dst ${P}.3 )`)],
          // node-2: the leg from the mesh address to the pod
          ['pod leg', ss(`( dport = :${port(echo)} and src ${P}.3 )`)],
        ] as const;
      // ss shows one timer per socket: a leg still retransmitting its last bytes shows the
      // retransmit timer instead, so wait (bounded) until every leg shows its keepalive timer.
      const shown = await until(
        'a keepalive timer on the client leg, the HBONE connection and the pod leg',
        () => {
          const now = legs();
          return now.every(([, out]) => out.includes('keepalive')) ? now : undefined;
        },
        5_000,
      );
      for (const [what, out] of shown) {
        expect(out, `${what}: ${out}`).not.toBe('');
        expect(out, what).toContain('keepalive');
      }
    } finally {
      s.destroy();
    }
  }, 20_000);
});
