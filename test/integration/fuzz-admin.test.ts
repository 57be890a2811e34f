// Fuzzing the admin paths (issue 11 item 3) of a real in-process ztunnel: HTTP/1.1 requests with
// near-valid and hostile methods, request targets (the known paths bent: case, slashes, encoding,
// dot segments, absolute form, queries) and headers, plus raw bytes, sent to 15020 and 15021.
// The invariant: every request is answered (never a hang, never a 5xx), a known path with its
// exact spelling gets 200 and anything else 404 (or 400 when node:http cannot parse it), and
// both listeners keep answering /metrics and /healthz/ready after each input.
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSocks5Ztunnel, type Socks5Ztunnel } from '../support/fuzz-socks5-ztunnel.js';
import { fuzzAssertAsync, HOSTILE_STRINGS } from '../support/fuzz-mutate.js';

const P = '127.0.152';
const ADMIN_PATHS = ['/metrics', '/config_dump', '/workloads', '/healthz/ready'];
const READY_PATHS = ['/healthz/ready'];

/** Sends `bytes` and reads until the server closes (Connection: close); rejects after `ms`. */
function rawHttp(to: { host: string; port: number }, bytes: Buffer, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(to);
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        new Error(`no answer within ${ms} ms to ${JSON.stringify(bytes.toString('latin1').slice(0, 80))}`),
      );
    }, ms);
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', () => undefined);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got).toString('latin1'));
    });
    s.once('connect', () => s.end(bytes));
  });
}

const statusOf = (response: string): number | undefined => {
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(response);
  return m?.[1] ? Number(m[1]) : undefined;
};

describe('fuzz: the admin paths of a real ztunnel (15020, 15021)', () => {
  let z: Socks5Ztunnel;
  beforeAll(async () => {
    z = await startSocks5Ztunnel({ prefix: P, handshakeTimeoutMs: 1_000 });
  });
  afterAll(async () => z?.stop());

  const target = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...ADMIN_PATHS) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...ADMIN_PATHS),
          fc.constantFrom(
            (p: string) => p.toUpperCase(),
            (p: string) => `/${p}`,
            (p: string) => `${p}/`,
            (p: string) => `${p}?x=1&y`,
            (p: string) => `${p}?`,
            (p: string) => `${p}#frag`,
            (p: string) => `/./${p.slice(1)}`,
            (p: string) => `/x/..${p}`,
            (p: string) => p.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`),
            (p: string) => `http://127.0.0.1${p}`,
            (p: string) => p.slice(0, -1),
            (p: string) => `${p}%00`,
            (p: string) => `${p};x`,
            (p: string) => p + 'A'.repeat(9_000),
          ),
        )
        .map(([p, f]) => f(p)),
    },
    fc.constantFrom('*', '', '/', '//', '/..', 'metrics'),
    fc.constantFrom(...HOSTILE_STRINGS),
    fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).map((s) => `/${s}`),
  );
  const method = fc.oneof(
    { weight: 4, arbitrary: fc.constant('GET') },
    fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'get', 'BREW', ''),
  );
  const header = fc.tuple(
    fc.oneof(
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/),
      fc.constantFrom('Content-Length', 'Transfer-Encoding', 'Host'),
    ),
    fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ unit: 'grapheme-ascii', maxLength: 20 })),
  );
  const request = fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .record({
          method,
          target,
          headers: fc.array(header, { maxLength: 4 }),
          version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9'),
        })
        .map(({ method: m, target: t, headers, version }) => ({
          parsed: { method: m, target: t, version },
          bytes: Buffer.from(
            `${m} ${t} ${version}\r\nHost: admin\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}Connection: close\r\n\r\n`,
            'latin1',
          ),
        })),
    },
    fc
      .uint8Array({ minLength: 1, maxLength: 200 })
      .map((b) => ({ parsed: undefined, bytes: Buffer.from(b) })),
  );

  /** The status a cleanly parsed request must get: 200 for a known path spelt exactly, else 404. */
  function expected(paths: readonly string[], target: string): number {
    return paths.includes(target.split('?')[0] ?? '') ? 200 : 404;
  }

  async function expectServing(): Promise<void> {
    const ok = 'Connection: close\r\n\r\n';
    expect(statusOf(await rawHttp(z.admin, Buffer.from(`GET /metrics HTTP/1.1\r\nHost: a\r\n${ok}`)))).toBe(
      200,
    );
    expect(
      statusOf(await rawHttp(z.ready, Buffer.from(`GET /healthz/ready HTTP/1.1\r\nHost: a\r\n${ok}`))),
    ).toBe(200);
  }

  for (const [name, listener, paths, seed] of [
    ['admin (15020)', () => z.admin, ADMIN_PATHS, 0xad01],
    ['readiness (15021)', () => z.ready, READY_PATHS, 0xad02],
  ] as const) {
    it(`${name}: answers every request without a 5xx, by the exact path, and keeps serving`, async () => {
      const statuses = new Map<string, number>();
      await fuzzAssertAsync(
        `admin: HTTP requests to ${name}`,
        request,
        async ({ parsed, bytes }) => {
          const response = await rawHttp(listener(), bytes);
          const status = statusOf(response);
          statuses.set(String(status ?? 'closed'), (statuses.get(String(status ?? 'closed')) ?? 0) + 1);
          // node:http answers what it cannot parse with 400 (or closes); it never answers 5xx here
          if (status !== undefined) expect(status).toBeLessThan(500);
          if (status !== undefined && status !== 400 && parsed) {
            const want = expected(paths, parsed.target);
            // HTTP/1.0 and HEAD are answered like GET; a version node:http refuses is a 400 (above)
            expect(status).toBe(want);
          }
          if (status === undefined) expect(parsed === undefined || response === '').toBe(true);
          await expectServing();
        },
        { seed, numRuns: 1_000 },
      );
      console.log(`[fuzz] admin ${name}: statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    });
  }
});
