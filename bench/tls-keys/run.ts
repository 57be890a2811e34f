// TLS key-type bench: full mutual-TLS 1.3 handshakes on loopback with RSA-2048 and with ECDSA P-256
// mesh certificates (CA, server and client of the same type, issued by core/identity), no session
// resumption. Prints handshakes/s and latency percentiles per type, plus raw sign/verify rates.
//   node dist/bench/tls-keys/run.js [--handshakes 1000] [--concurrency 8]
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import { createCsr } from '../../core/identity/csr.js';
import { generateKey, type KeyType } from '../../core/identity/keys.js';
import { workloadIdentity } from '../../core/identity/spiffe.js';

const { values: args } = parseArgs({
  options: {
    handshakes: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '8' },
  },
});
const N = Number(args.handshakes);
const CONCURRENCY = Number(args.concurrency);

interface Issued {
  key: string;
  cert: string;
}

async function issue(ca: CertificateAuthority, type: KeyType, sa: string): Promise<Issued> {
  const key = await generateKey(type);
  const id = workloadIdentity('cluster.local', 'bench', sa);
  return { key: key.privateKeyPem, cert: await ca.sign(await createCsr(key, id), id) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One full handshake: connect, both sides verify the peer chain, then close. Returns ms. */
function handshake(port: number, client: Issued, ca: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      key: client.key,
      cert: client.cert,
      ca,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ALPNProtocols: ['h2'],
      checkServerIdentity: () => undefined, // SPIFFE SAN is checked by the mesh, not by hostname
    });
    s.once('secureConnect', () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      s.destroy();
      if (!s.authorized) reject(new Error(`server not authorized: ${String(s.authorizationError)}`));
      else resolve(ms);
    });
    s.once('error', reject);
  });
}

async function benchType(
  type: KeyType,
): Promise<{ type: KeyType; rate: number; p50: number; p99: number; sequentialP50: number }> {
  const ca = await CertificateAuthority.generate('cluster.local', type);
  const server = await issue(ca, type, 'server');
  const client = await issue(ca, type, 'client');
  const srv = tls.createServer({
    key: server.key,
    cert: server.cert,
    ca: ca.rootPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
    ALPNProtocols: ['h2'],
  });
  srv.on('secureConnection', (s) => s.end());
  srv.on('tlsClientError', () => undefined);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  // warm-up
  for (let i = 0; i < 20; i++) await handshake(port, client, ca.rootPem);
  // sequential latency (one handshake at a time)
  const seq: number[] = [];
  for (let i = 0; i < Math.min(200, N); i++) seq.push(await handshake(port, client, ca.rootPem));
  seq.sort((a, b) => a - b);
  // throughput with CONCURRENCY handshakes in flight (client and server share this process)
  const lat: number[] = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) lat.push(await handshake(port, client, ca.rootPem));
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  srv.close();
  lat.sort((a, b) => a - b);
  return {
    type,
    rate: N / secs,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    sequentialP50: percentile(seq, 50),
  };
}

async function signRates(type: KeyType): Promise<{ sign: number; verify: number }> {
  const k = await generateKey(type);
  const priv = createPrivateKey(k.privateKeyPem);
  const pub = createPublicKey(priv);
  const data = Buffer.alloc(64, 1);
  const iters = 2000;
  let t = process.hrtime.bigint();
  let sig = Buffer.alloc(0);
  for (let i = 0; i < iters; i++) sig = sign('sha256', data, priv);
  const signRate = iters / (Number(process.hrtime.bigint() - t) / 1e9);
  t = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) verify('sha256', data, pub, sig);
  return { sign: signRate, verify: iters / (Number(process.hrtime.bigint() - t) / 1e9) };
}

const rows = [];
for (const type of ['ec-p256', 'rsa-2048'] as const) {
  process.stderr.write(
    `[bench/tls-keys] ${type}: ${N} mutual-TLS 1.3 handshakes, ${CONCURRENCY} in flight...\n`,
  );
  rows.push({ ...(await benchType(type)), ...(await signRates(type)) });
}
const f = (n: number, d = 0) => n.toFixed(d);
const lines = [
  '',
  `mutual TLS 1.3 handshakes on loopback, client and server in one Node ${process.version} process, no resumption`,
  'key type    handshakes/s   p50 ms   p99 ms   p50 ms (sequential)   sign/s    verify/s',
  ...rows.map(
    (r) =>
      `${r.type.padEnd(10)}${f(r.rate).padStart(14)}${f(r.p50, 2).padStart(9)}${f(r.p99, 2).padStart(9)}${f(r.sequentialP50, 2).padStart(22)}${f(r.sign).padStart(10)}${f(r.verify).padStart(12)}`,
  ),
  '',
];
process.stdout.write(lines.join('\n'));
